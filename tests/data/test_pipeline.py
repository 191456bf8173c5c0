import keras
import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from crossdomain_kit.models.backbones import imagenet_caffe
from crossdomain_kit.data.domains import DomainSplit
from crossdomain_kit.data.pipeline import class_weights, default_augmentation, make_pipeline

IDENTITY = dict(preprocess=lambda x: x)


def _grey_arrays(n=10, size=6, seed=0):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (n, size, size), dtype=np.uint8), np.arange(n) % 2


def _collect(dataset):
    batches = list(dataset.as_numpy_iterator())
    return np.concatenate([x for x, _ in batches]), np.concatenate([y for _, y in batches])


def _png_files(images, labels, folder) -> DomainSplit:
    """``images`` (uint8 arrays) saved as PNG files in ``folder``, as a split of files."""
    files = []
    for i, image in enumerate(images):
        files.append(folder / f"{i}.png")
        Image.fromarray(image).save(files[-1])
    return DomainSplit(labels=labels, files=files, class_names=("a", "b"))


@pytest.fixture
def file_split(tmp_path) -> DomainSplit:
    """Files of mixed modes and sizes, pixel value i*20 so order can be checked."""
    files = []
    for i, (mode, size) in enumerate([("L", (10, 8)), ("RGB", (16, 16)), ("RGBA", (8, 12)),
                                      ("P", (20, 5)), ("LA", (16, 16)), ("RGB", (16, 16))]):
        path = tmp_path / f"{i}.png"
        Image.new("L", size, i * 20).convert(mode).save(path)
        files.append(path)
    return DomainSplit(labels=[0, 1, 0, 1, 1, 0], files=files, class_names=("a", "b"))


def test_grey_arrays_become_resnet_batches_in_order():
    images, labels = _grey_arrays()
    x, y = _collect(make_pipeline((images, labels), backbone="resnet50", image_size=6, batch_size=4))
    assert x.shape == (10, 6, 6, 3) and x.dtype == np.float32 and y.shape == (10, 1) and y.dtype == np.float32
    expected = keras.applications.resnet50.preprocess_input(np.repeat(images[..., None], 3, -1).astype(np.float32))
    np.testing.assert_allclose(x, expected, atol=1e-4)
    np.testing.assert_array_equal(y[:, 0], labels)


def test_arrays_are_resized_and_converted_to_grey():
    rgba = np.random.default_rng(1).integers(0, 256, (5, 4, 4, 4), dtype=np.uint8)
    split = DomainSplit(labels=[0, 1, 0, 1, 1], images=rgba)
    x, _ = _collect(make_pipeline(split, backbone="small_cnn", image_size=(8, 12), batch_size=2))
    assert x.shape == (5, 8, 12, 1) and 0 <= x.min() and x.max() <= 1
    grey = tf.image.rgb_to_grayscale(rgba[:, :, :, :3].astype(np.float32)).numpy() / 255
    np.testing.assert_allclose(x.mean(axis=(1, 2)), grey.mean(axis=(1, 2)), atol=0.02)


def test_files_of_any_mode_and_size_decode_in_order(file_split):
    x, y = _collect(make_pipeline(file_split, image_size=12, channels=1, batch_size=4, **IDENTITY))
    assert x.shape == (6, 12, 12, 1)
    np.testing.assert_allclose(x.mean(axis=(1, 2, 3)), [i * 20 for i in range(6)], atol=1)
    np.testing.assert_array_equal(y[:, 0], file_split.labels)


def test_cache_does_not_change_what_comes_out(file_split):
    kwargs = dict(image_size=12, batch_size=4, backbone="resnet50")
    cached = _collect(make_pipeline(file_split, cache=True, **kwargs))[0]
    np.testing.assert_array_equal(cached, _collect(make_pipeline(file_split, cache=False, **kwargs))[0])
    decoded = _collect(make_pipeline(file_split, image_size=12, batch_size=4, **IDENTITY))[0]
    np.testing.assert_array_equal(cached, imagenet_caffe(decoded))


@pytest.mark.parametrize("shape", [(5, 28, 28), (5, 28, 28, 3)], ids=["grey", "rgb"])
def test_resized_arrays_match_the_same_images_read_from_files(tmp_path, shape):
    images = np.random.default_rng(2).integers(0, 256, shape, dtype=np.uint8)
    labels = np.arange(len(images)) % 2
    kwargs = dict(image_size=32, channels=1, batch_size=2, **IDENTITY)
    from_arrays = _collect(make_pipeline((images, labels), **kwargs))[0]
    from_files = _collect(make_pipeline(_png_files(images, labels, tmp_path), **kwargs))[0]
    np.testing.assert_array_equal(from_arrays, from_files)
    np.testing.assert_array_equal(from_arrays, np.round(from_arrays))  # whole grey levels, as a cached file


@pytest.mark.parametrize("cache", [True, False])
def test_training_shuffles_reproducibly_by_seed(file_split, cache):
    def order(seed):
        dataset = make_pipeline(file_split, training=True, augment=False, seed=seed, cache=cache,
                                image_size=4, channels=1, batch_size=6, **IDENTITY).repeat(2)
        return [tuple(np.round(x.mean(axis=(1, 2, 3)) / 20).astype(int)) for x, _ in dataset.as_numpy_iterator()]

    first = order(0)
    assert first == order(0) and first != order(1)
    assert sorted(first[0]) == list(range(6)) and first[0] != first[1]  # every epoch is reshuffled


@pytest.fixture
def unset_global_seed():
    """TensorFlow's global seed unset, as in a fresh process, before and after the test."""
    tf.random.set_seed(None)
    yield
    tf.random.set_seed(None)


def _numbered(source, tmp_path):
    """Twelve 4x4 grey images, image i of pixel value 20 i and label i % 2, as arrays or files."""
    images, labels = np.stack([np.full((4, 4), 20 * i, np.uint8) for i in range(12)]), np.arange(12) % 2
    return (images, labels) if source == "arrays" else _png_files(images, labels, tmp_path)


def _epoch_orders(dataset, n_epochs=3):
    """The image numbers of each of ``n_epochs`` passes over ``dataset``; checks the labels follow."""
    orders = []
    for _ in range(n_epochs):
        x, y = _collect(dataset)
        index = np.round(x.mean(axis=(1, 2, 3)) / 20).astype(int)
        np.testing.assert_array_equal(y[:, 0], index % 2)
        orders.append(tuple(index))
    return orders


SOURCES = [("arrays", True), ("files", True), ("files", False)]


@pytest.mark.usefixtures("unset_global_seed")
@pytest.mark.parametrize("source, cache", SOURCES)
def test_a_seeded_order_ignores_the_global_seed(tmp_path, source, cache):
    data = _numbered(source, tmp_path)

    def orders(seed, global_seed):
        if global_seed is not None:
            keras.utils.set_random_seed(global_seed)  # as the kit's trainers do
        dataset = make_pipeline(data, training=True, augment=False, seed=seed, cache=cache, image_size=4,
                                channels=1, batch_size=5, **IDENTITY)
        assert dataset.cardinality() == 3
        tf.random.set_seed(None if global_seed is None else global_seed + 1)  # after construction too
        return _epoch_orders(dataset)

    first = orders(3, None)
    assert all(sorted(order) == list(range(12)) for order in first)
    assert len(set(first)) == 3  # every epoch is reshuffled
    assert orders(3, 123) == first == orders(3, 7)
    assert all(a != b for a, b in zip(orders(4, 123), first))


@pytest.mark.usefixtures("unset_global_seed")
def test_the_order_does_not_depend_on_where_the_images_are(tmp_path):
    kwargs = dict(training=True, augment=False, seed=5, image_size=4, channels=1, batch_size=5, **IDENTITY)
    orders = {tuple(_epoch_orders(make_pipeline(_numbered(source, tmp_path), cache=cache, **kwargs), 2))
              for source, cache in SOURCES}
    assert len(orders) == 1


@pytest.mark.usefixtures("unset_global_seed")
def test_without_a_seed_the_order_is_random_or_follows_the_global_seed(tmp_path):
    data = _numbered("arrays", tmp_path)

    def orders(global_seed=None):
        if global_seed is not None:
            tf.random.set_seed(global_seed)
        return _epoch_orders(make_pipeline(data, training=True, augment=False, seed=None, image_size=4,
                                           channels=1, batch_size=5, **IDENTITY), 2)

    unseeded = orders()
    assert all(sorted(order) == list(range(12)) for order in unseeded) and unseeded[0] != unseeded[1]
    assert orders() != unseeded
    assert orders(11) == orders(11)


def test_labels_follow_their_images_when_shuffled():
    images = np.stack([np.full((4, 4), 10 * i, np.uint8) for i in range(20)])
    labels = (np.arange(20) % 3 == 0).astype(int)
    x, y = _collect(make_pipeline((images, labels), training=True, augment=False, batch_size=7,
                                  channels=1, image_size=4, **IDENTITY))
    index = np.round(x[:, 0, 0, 0] / 10).astype(int)
    assert sorted(index) == list(range(20)) and list(index) != list(range(20))
    np.testing.assert_array_equal(y[:, 0], labels[index])


def test_augmentation_is_training_only_and_seeded():
    one = np.random.default_rng(2).integers(0, 256, (16, 16, 3), dtype=np.uint8)
    images, labels = np.stack([one] * 8), np.arange(8) % 2  # identical images: order does not matter

    def run(training, seed=0):
        return _collect(make_pipeline((images, labels), training=training, seed=seed, batch_size=8,
                                      image_size=16, **IDENTITY))[0]

    np.testing.assert_array_equal(run(False), images)
    augmented = run(True)
    assert not np.allclose(augmented[0], one) and not np.allclose(augmented[0], augmented[1])
    assert 0 <= augmented.min() and augmented.max() <= 255
    np.testing.assert_array_equal(augmented, run(True))
    assert not np.array_equal(augmented, run(True, seed=5))


@pytest.mark.usefixtures("unset_global_seed")
def test_augmentation_ignores_the_global_seed():
    one = np.random.default_rng(3).integers(0, 256, (16, 16, 3), dtype=np.uint8)
    images, labels = np.stack([one] * 8), np.arange(8) % 2

    def epochs(global_seed):
        if global_seed is not None:
            keras.utils.set_random_seed(global_seed)
        dataset = make_pipeline((images, labels), training=True, seed=2, batch_size=8, image_size=16, **IDENTITY)
        tf.random.set_seed(None if global_seed is None else global_seed + 1)
        return [_collect(dataset)[0] for _ in range(2)]

    first = epochs(None)
    assert not np.allclose(first[0], first[1])  # each epoch is augmented afresh
    for other in (epochs(123), epochs(7)):
        np.testing.assert_array_equal(other[0], first[0])
        np.testing.assert_array_equal(other[1], first[1])


def test_a_custom_augmentation_is_used():
    images, labels = _grey_arrays()
    x, _ = _collect(make_pipeline((images, labels), training=True, augment=lambda b: b * 0 + 7,
                                  channels=1, image_size=6, **IDENTITY))
    np.testing.assert_array_equal(x, 7)


def test_default_augmentation_is_mild_and_never_flips():
    layers = default_augmentation(seed=0).layers
    assert not any(isinstance(layer, keras.layers.RandomFlip) for layer in layers)
    assert [type(layer).__name__ for layer in layers] == [
        "RandomRotation", "RandomZoom", "RandomTranslation", "RandomContrast"]


def test_a_model_fits_on_the_pipeline_with_class_weights():
    images, labels = _grey_arrays(n=16, size=8)
    dataset = make_pipeline((images, labels), backbone="small_cnn", image_size=8, training=True, batch_size=8)
    model = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Flatten(), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss=keras.losses.BinaryCrossentropy(from_logits=True))
    history = model.fit(dataset, epochs=1, verbose=0, shuffle=False,
                        class_weight=class_weights(labels))
    assert np.isfinite(history.history["loss"][0])


@pytest.mark.parametrize("kwargs, match", [
    (dict(backbone="vgg16"), r"Received: backbone='vgg16'"),
    (dict(backbone=None), r"`backbone` name or a `preprocess`.*Received: backbone=None"),
    (dict(preprocess="resnet"), r"Received: preprocess='resnet'"),
    (dict(image_size=0), r"Received: image_size=0"),
    (dict(image_size=(8, 8, 3)), r"Received: image_size=\(8, 8, 3\)"),
    (dict(channels=2), r"Received: channels=2"),
    (dict(channels=1), r"'resnet50' expects 3 channel\(s\).*Received: channels=1"),
    (dict(batch_size=0), r"Received: batch_size=0"),
    (dict(seed=-1), r"Received: seed=-1"),
    (dict(training=True, augment="yes"), r"Received: augment='yes'"),
])
def test_bad_arguments_are_named(kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_pipeline(_grey_arrays(), **kwargs)


def test_bad_data_is_named():
    with pytest.raises(ValueError, match=r"DomainSplit or a tuple.*Received: data="):
        make_pipeline([1, 2, 3])
    with pytest.raises(ValueError, match=r"Received: images=\(4, 2, 2, 2\)"):
        make_pipeline((np.zeros((4, 2, 2, 2)), [0, 1, 0, 1]))


def test_class_weights_match_scikit_learn():
    from sklearn.utils.class_weight import compute_class_weight

    labels = np.array([0] * 3 + [1] * 9)
    expected = compute_class_weight("balanced", classes=np.array([0, 1]), y=labels)
    weights = class_weights(labels[:, None])
    assert weights == pytest.approx({0: expected[0], 1: expected[1]}) == {0: 2.0, 1: 2 / 3}
    assert weights[0] * 3 + weights[1] * 9 == pytest.approx(12)  # the total weight is unchanged


@pytest.mark.parametrize("labels, match", [([1, 1, 1], "both classes"), ([0, 2], "only 0 and 1")])
def test_class_weights_reject_bad_labels(labels, match):
    with pytest.raises(ValueError, match=match):
        class_weights(labels)


# --- EXIF orientation: applied as a viewer (and PIL.ImageOps.exif_transpose) shows the image ---------

def _tagged(path, orientation: int):
    """An asymmetric 5x5 RGB image (no two pixels alike) saved with the EXIF orientation tag ``orientation``."""
    pixels = (np.arange(5 * 5 * 3, dtype=np.uint8).reshape(5, 5, 3) * 3)
    exif = Image.Exif()
    exif[0x0112] = orientation
    Image.fromarray(pixels).save(path, exif=exif.tobytes())
    return str(path)


def test_exif_orientations_reads_the_tag_and_defaults_to_1(tmp_path):
    from crossdomain_kit.data.pipeline import exif_orientations

    files = [_tagged(tmp_path / f"o{k}.png", k) for k in range(1, 9)]
    Image.new("L", (4, 4)).save(plain := tmp_path / "plain.png")
    (tmp_path / "broken.jpg").write_bytes(b"not an image")
    orientations = exif_orientations([*files, str(plain), str(tmp_path / "broken.jpg")])
    assert orientations.tolist() == [1, 2, 3, 4, 5, 6, 7, 8, 1, 1] and orientations.dtype == np.int32


@pytest.mark.parametrize("training", [False, True], ids=["in order", "training, cached"])
def test_every_exif_orientation_is_applied_as_pillow_applies_it(tmp_path, training):
    from PIL import ImageOps

    files = [_tagged(tmp_path / f"o{k}.png", k) for k in range(1, 9)]
    upright = []
    for path in files:
        with Image.open(path) as image:
            upright.append(np.asarray(ImageOps.exif_transpose(image)))
    assert len({u.tobytes() for u in upright}) == 8  # eight different pictures of one stored array
    split = DomainSplit(labels=np.arange(8) % 2, files=files, domain="d", split="train")
    dataset = make_pipeline(split, preprocess=tf.identity, backbone=None, image_size=5, channels=3, batch_size=8,
                            training=training, augment=False, seed=0, cache=training)
    images = np.concatenate([x for x, _ in dataset.as_numpy_iterator()]).astype(np.uint8)
    if training:  # shuffled: the same eight pictures, in some order
        assert sorted(i.tobytes() for i in images) == sorted(u.tobytes() for u in upright)
    else:
        np.testing.assert_array_equal(images, np.stack(upright))


def test_a_sideways_photo_is_resized_after_it_is_turned(tmp_path):
    exif = Image.Exif()
    exif[0x0112] = 6  # stored 8 wide x 4 high, displayed 4 wide x 8 high
    stored = np.zeros((4, 8), np.uint8)
    stored[:, :4] = 255  # the left half of the stored image: the top half once turned clockwise
    Image.fromarray(stored).save(path := tmp_path / "photo.jpg", exif=exif.tobytes(), quality=100)
    split = DomainSplit(labels=np.array([1]), files=[str(path)], domain="d", split="test")
    image = next(iter(make_pipeline(split, backbone=None, preprocess=tf.identity, image_size=(8, 4), channels=1,
                                    batch_size=1)))[0][0]
    assert image.shape == (8, 4, 1)
    assert float(tf.reduce_mean(image[:4])) > 200 and float(tf.reduce_mean(image[4:])) < 50
