import dataclasses

import numpy as np
import pytest

from crossdomain_kit.data import synthetic as syn
from crossdomain_kit.data.domains import Domain, DomainSplit, TransferTask

QUIET = dataclasses.replace(syn.SOURCE, noise_std=0.0)


def _images(scanner, n=32, size=32, seed=0, **kw):
    return syn.make_synthetic_split(n, scanner, image_size=size, seed=seed, **kw).images.astype(np.float64)


def _high_frequency_energy(images):
    """Mean squared difference between neighbouring pixels (rows and columns)."""
    return np.mean(np.diff(images, axis=1) ** 2) + np.mean(np.diff(images, axis=2) ** 2)


# --- Scanner settings and interpolation ---------------------------------------------------

def test_presets_are_valid_and_differ_in_every_knob():
    for field in dataclasses.fields(syn.ScannerSettings):
        assert getattr(syn.SOURCE, field.name) != getattr(syn.TARGET, field.name), field.name
    assert "contrast=0.5" in str(syn.TARGET)


@pytest.mark.parametrize("knob, value", [
    ("contrast", 0), ("contrast", -1.0), ("contrast", True), ("contrast", "1"),
    ("brightness", 1.5), ("brightness", float("nan")), ("noise_std", -0.01),
    ("noise_std", float("inf")), ("blur_sigma", -0.1), ("resolution", 0.0), ("resolution", 1.2),
    ("positive_fraction", 1.01), ("positive_fraction", -0.1),
])
def test_bad_knobs_are_rejected_naming_the_knob(knob, value):
    with pytest.raises(ValueError, match=rf"Received: {knob}="):
        syn.ScannerSettings(**{knob: value})


def test_shift_zero_and_one_give_exactly_the_presets():
    assert syn.interpolate_scanner(syn.SOURCE, syn.TARGET, 0.0) == syn.SOURCE
    assert syn.interpolate_scanner(syn.SOURCE, syn.TARGET, 1) == syn.TARGET
    half = syn.interpolate_scanner(syn.SOURCE, syn.TARGET, 0.5)
    assert half.contrast == pytest.approx((syn.SOURCE.contrast + syn.TARGET.contrast) / 2)


def test_every_knob_moves_monotonically_with_shift():
    shifts = np.linspace(0, 1, 21)
    scanners = [syn.interpolate_scanner(syn.SOURCE, syn.TARGET, s) for s in shifts]
    for field in dataclasses.fields(syn.ScannerSettings):
        values = np.array([getattr(s, field.name) for s in scanners])
        direction = np.sign(values[-1] - values[0])
        assert np.all(direction * np.diff(values) >= -1e-12), field.name


@pytest.mark.parametrize("kwargs, match", [
    (dict(shift=1.5), r"Received: shift=1.5"),
    (dict(shift=-0.1), r"Received: shift=-0.1"),
    (dict(source="SOURCE"), r"ScannerSettings.*Received: source='SOURCE'"),
])
def test_bad_interpolation_arguments_are_rejected(kwargs, match):
    args = dict(source=syn.SOURCE, target=syn.TARGET, shift=0.5) | kwargs
    with pytest.raises(ValueError, match=match):
        syn.interpolate_scanner(**args)


# --- Splits: shapes, determinism, labels --------------------------------------------------

@pytest.mark.parametrize("size", [8, 28, 33, 64])
@pytest.mark.parametrize("scanner", [syn.SOURCE, syn.TARGET], ids=["source", "target"])
def test_split_shapes_dtypes_and_metadata(size, scanner):
    split = syn.make_synthetic_split(70, scanner, image_size=size, seed=3, split="val", domain="scanner-b")
    assert isinstance(split, DomainSplit)
    assert split.images.shape == (70, size, size, 1) and split.images.dtype == np.uint8
    assert split.labels.shape == (70,) and split.labels.dtype == np.int64
    assert split.class_names == syn.CLASS_NAMES and split.domain == "scanner-b" and split.split == "val"
    assert split.images.std() > 5  # not a blank picture


def test_same_arguments_give_byte_identical_images():
    a = syn.make_synthetic_split(150, syn.TARGET, image_size=28, seed=7, split="test", domain="d")
    b = syn.make_synthetic_split(150, syn.TARGET, image_size=28, seed=7, split="test", domain="d")
    assert a.images.tobytes() == b.images.tobytes() and np.array_equal(a.labels, b.labels)


@pytest.mark.parametrize("change", [dict(seed=1), dict(split="val"), dict(domain="other")])
def test_seed_split_and_domain_each_give_other_patients(change):
    base = dict(image_size=28, seed=0, split="train", domain="d")
    a = syn.make_synthetic_split(100, syn.SOURCE, **base).images
    b = syn.make_synthetic_split(100, syn.SOURCE, **(base | change)).images
    flat_a, flat_b = a.reshape(100, -1), b.reshape(100, -1)
    shared = {row.tobytes() for row in flat_a} & {row.tobytes() for row in flat_b}
    assert not shared  # no image appears in both (e.g. no train/test overlap)


@pytest.mark.parametrize("n, fraction", [(100, 0.5), (101, 0.3), (7, 0.0), (9, 1.0), (400, 0.137)])
def test_label_prior_is_exactly_the_positive_fraction(n, fraction):
    scanner = dataclasses.replace(syn.SOURCE, positive_fraction=fraction)
    labels = syn.make_synthetic_split(n, scanner, image_size=8).labels
    assert labels.sum() == int(np.floor(n * fraction + 0.5))
    if 0 < fraction < 1:
        assert 0 < labels[: n // 2].sum() < labels.sum()  # shuffled, not sorted


def test_patients_do_not_depend_on_the_scanner():
    few = dataclasses.replace(syn.SOURCE, positive_fraction=0.2)
    a = syn.make_synthetic_split(200, syn.SOURCE, image_size=28)
    b = syn.make_synthetic_split(200, few, image_size=28)
    assert np.all(b.labels <= a.labels)  # a lower prior keeps a subset of the positives
    both_negative = (a.labels == 0) & (b.labels == 0)
    assert np.array_equal(a.images[both_negative], b.images[both_negative])
    quiet = _images(QUIET, n=50)
    blurred = _images(dataclasses.replace(QUIET, blur_sigma=0.02), n=50)
    assert np.corrcoef(quiet.ravel(), blurred.ravel())[0, 1] > 0.95  # same anatomy, softer


def test_findings_make_positives_brighter_inside_the_lungs():
    with_findings = _images(dataclasses.replace(QUIET, positive_fraction=1.0), n=64)
    without = _images(dataclasses.replace(QUIET, positive_fraction=0.0), n=64)
    difference = (with_findings - without).reshape(64, -1)
    assert np.all(difference >= 0) and np.all(difference.max(axis=1) > 30)
    assert np.all((difference > 10).mean(axis=1) < 0.15)  # a local opacity, not a global change


# --- Each knob moves the images the expected way ------------------------------------------

def _knob_series(knob, values, base=QUIET, measure=np.mean):
    return [measure(_images(dataclasses.replace(base, **{knob: v}), n=48)) for v in values]


def test_brightness_raises_the_mean():
    assert np.all(np.diff(_knob_series("brightness", [-0.2, 0.0, 0.1, 0.2])) > 0)


def test_contrast_raises_the_spread():
    assert np.all(np.diff(_knob_series("contrast", [0.3, 0.6, 1.0, 1.3], measure=np.std)) > 0)


def test_noise_raises_high_frequency_energy():
    energy = _knob_series("noise_std", [0.0, 0.03, 0.06, 0.12], measure=_high_frequency_energy)
    assert np.all(np.diff(energy) > 0) and energy[-1] > 5 * energy[0]


def test_blur_lowers_high_frequency_energy():
    noisy = syn.SOURCE
    energy = _knob_series("blur_sigma", [0.0, 0.01, 0.02, 0.04], base=noisy, measure=_high_frequency_energy)
    assert np.all(np.diff(energy) < 0) and energy[-1] < 0.5 * energy[0]


def test_lower_resolution_loses_detail():
    energy = _knob_series("resolution", [1.0, 0.75, 0.5, 0.25], measure=_high_frequency_energy)
    assert np.all(np.diff(energy) < 0) and energy[-1] < 0.5 * energy[0]


# --- Bad arguments -------------------------------------------------------------------------

@pytest.mark.parametrize("kwargs, match", [
    (dict(n=0), r"Received: n=0"),
    (dict(scanner="target"), r"Received: scanner='target'"),
    (dict(image_size=4), r">= 8.*Received: image_size=4"),
    (dict(image_size=32.0), r"Received: image_size=32.0"),
    (dict(seed=-1), r"Received: seed=-1"),
    (dict(split="validation"), r"Received: split='validation'"),
    (dict(domain=""), r"Received: domain=''"),
])
def test_bad_split_arguments_are_rejected(kwargs, match):
    args = dict(n=10, scanner=syn.SOURCE) | kwargs
    with pytest.raises(ValueError, match=match):
        syn.make_synthetic_split(**args)


def test_progress_bar_only_when_asked_or_large(capsys):
    syn.make_synthetic_split(10, image_size=8, domain="quiet")
    assert "quiet/train" not in capsys.readouterr().err
    syn.make_synthetic_split(10, image_size=8, domain="loud", progress=True)
    assert "loud/train" in capsys.readouterr().err


# --- Domains and transfer tasks ------------------------------------------------------------

def test_domain_at_a_shift_holds_splits_imaged_by_the_interpolated_scanner():
    domain = syn.make_synthetic_domain(0.25, n_train=20, n_val=0, n_test=10, image_size=16, seed=2)
    assert isinstance(domain, Domain) and domain.name == "synthetic-shift0.25"
    assert domain.val is None and len(domain.train) == 20 and len(domain.test) == 10
    expected = syn.make_synthetic_split(10, syn.interpolate_scanner(syn.SOURCE, syn.TARGET, 0.25),
                                        image_size=16, seed=2, split="test", domain=domain.name)
    assert domain.test.images.tobytes() == expected.images.tobytes()


def test_the_same_domain_name_images_the_same_patients_at_every_shift():
    def train(shift, **kw):
        return syn.make_synthetic_domain(shift, n_train=60, n_val=0, n_test=0, image_size=32, **kw).train

    near, far, elsewhere = train(0.0, name="ward"), train(1.0, name="ward"), train(1.0)
    assert elsewhere.domain == "synthetic-shift1.00"
    assert np.all(far.labels <= near.labels)  # the target's lower prior keeps a subset of the positives

    def mean_correlation(a, b):
        a, b = a.reshape(len(a), -1).astype(float), b.reshape(len(b), -1).astype(float)
        a, b = a - a.mean(axis=1, keepdims=True), b - b.mean(axis=1, keepdims=True)
        return np.mean(np.sum(a * b, axis=1) / np.sqrt(np.sum(a * a, axis=1) * np.sum(b * b, axis=1)))

    same_patients = mean_correlation(near.images, far.images)
    assert same_patients > mean_correlation(near.images, elsewhere.images) + 0.05


@pytest.mark.parametrize("kwargs, match", [
    (dict(shift=2), r"Received: shift=2"),
    (dict(n_train=0), r"Received: n_train=0"),
    (dict(n_val=-1), r"Received: n_val=-1"),
    (dict(name=""), r"Received: name=''"),
])
def test_bad_domain_arguments_are_rejected(kwargs, match):
    args = dict(shift=0.5, n_train=4, n_val=0, n_test=0, image_size=8) | kwargs
    with pytest.raises(ValueError, match=match):
        syn.make_synthetic_domain(**args)


def test_task_pairs_a_source_domain_with_a_shifted_target_of_other_patients():
    task = syn.make_synthetic_task(0.6, n_source_train=30, n_target_train=12, n_val=8, n_test=10,
                                   image_size=16, seed=1)
    assert isinstance(task, TransferTask) and len(task.sources) == 1
    assert (task.source.name, task.target.name) == ("synthetic-source", "synthetic-target")
    assert [len(task.source.train), len(task.target.train), len(task.target.val)] == [30, 12, 8]
    scanner = syn.interpolate_scanner(syn.SOURCE, syn.TARGET, 0.6)
    assert "shift=0.6" in task.notes and str(scanner) in task.notes
    assert task.target.class_names == task.source.class_names == syn.CLASS_NAMES
    at_zero = syn.make_synthetic_task(0.0, n_source_train=30, n_target_train=12, n_val=8, n_test=10,
                                      image_size=16, seed=1)
    assert at_zero.source.train.images.tobytes() == task.source.train.images.tobytes()
    assert at_zero.target.test.images.tobytes() != at_zero.source.test.images.tobytes()
    with pytest.raises(ValueError, match=r"Received: n_target_train=0"):
        syn.make_synthetic_task(n_target_train=0)


# --- A small CNN learns the source and degrades under shift -------------------------------

def _small_cnn(keras, size, seed):
    keras.utils.set_random_seed(seed)
    layers = keras.layers

    def block(filters):
        return [layers.Conv2D(filters, 3, padding="same", use_bias=False),
                layers.BatchNormalization(momentum=0.9), layers.ReLU()]

    model = keras.Sequential([keras.Input((size, size, 1)), layers.Rescaling(1 / 255), *block(16),
                              layers.MaxPooling2D(), *block(32), layers.MaxPooling2D(), *block(32),
                              layers.GlobalMaxPooling2D(), layers.Dense(1)])
    model.compile(keras.optimizers.Adam(3e-3), keras.losses.BinaryCrossentropy(from_logits=True))
    return model


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_small_cnn_learns_the_source_and_degrades_with_shift(seed):
    keras = pytest.importorskip("keras")
    from sklearn.metrics import roc_auc_score

    size = 32
    task = syn.make_synthetic_task(1.0, n_source_train=600, n_target_train=1, n_val=0, n_test=400,
                                   image_size=size, seed=seed)
    halfway = syn.make_synthetic_domain(0.5, n_train=1, n_val=0, n_test=400, image_size=size, seed=seed,
                                        name=task.target.name).test  # the target's patients, half-shifted
    model = _small_cnn(keras, size, seed)
    model.fit(task.source.train.images, task.source.train.labels, epochs=3, batch_size=32, verbose=0)

    def auc(split):
        return roc_auc_score(split.labels, model.predict(split.images, batch_size=400, verbose=0)[:, 0])

    source, middle, target = auc(task.source.test), auc(halfway), auc(task.target.test)
    assert source >= 0.85, (source, middle, target)
    assert middle <= source + 0.03 and target <= middle + 0.03, (source, middle, target)
    assert target <= source - 0.10, (source, middle, target)


# --- Inverted polarity ----------------------------------------------------------------------------

def test_invert_polarity_flips_grey_levels_and_keeps_everything_else():
    domain = syn.make_synthetic_domain(0.5, n_train=12, n_val=6, n_test=0, image_size=16, seed=2, progress=False)
    inverted = syn.invert_polarity(domain)
    assert isinstance(inverted, Domain) and inverted.name == domain.name and inverted.test is None
    for before, after in ((domain.train, inverted.train), (domain.val, inverted.val)):
        assert after.images.dtype == np.uint8
        np.testing.assert_array_equal(after.images.astype(int), 255 - before.images.astype(int))
        np.testing.assert_array_equal(after.labels, before.labels)
        assert (after.class_names, after.domain, after.split) == (before.class_names, before.domain, before.split)
    again = syn.invert_polarity(inverted.train)
    assert isinstance(again, DomainSplit) and again.images.tobytes() == domain.train.images.tobytes()


def test_inverted_findings_are_dark():
    quiet = dataclasses.replace(QUIET, positive_fraction=1.0)
    positives = syn.make_synthetic_split(16, quiet, image_size=32, seed=0).images.astype(float)
    negatives = syn.make_synthetic_split(16, dataclasses.replace(quiet, positive_fraction=0.0), image_size=32,
                                         seed=0).images.astype(float)
    finding = positives - negatives                       # same patients: only the finding differs
    inverted = (syn.invert_polarity(syn.make_synthetic_split(16, quiet, image_size=32, seed=0)).images.astype(float)
                - (255 - negatives))
    assert finding.max() > 20 and inverted.min() < -20
    np.testing.assert_allclose(inverted, -finding)


@pytest.mark.parametrize("data", [
    "domain", np.zeros((2, 8, 8, 1), np.uint8),
    DomainSplit(labels=[0, 1], images=np.zeros((2, 8, 8, 1), np.float32)),
    DomainSplit(labels=[0, 1], files=("a.png", "b.png")),
])
def test_invert_polarity_rejects_other_data(data):
    with pytest.raises(ValueError, match="Received: data="):
        syn.invert_polarity(data)
