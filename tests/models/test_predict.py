import numpy as np
import pytest
from PIL import Image

keras = pytest.importorskip("keras")

from crossdomain_kit.data.domains import DomainSplit  # noqa: E402
from crossdomain_kit.evaluation import binary_metrics, choose_threshold  # noqa: E402
from crossdomain_kit.models.predict import (backbone_of, predict_labels, predict_proba,  # noqa: E402
                                       scores_at_validation_threshold)
from crossdomain_kit.models.classifier import build_classifier  # noqa: E402
from crossdomain_kit.models.checkpoints import load_classifier, save_classifier  # noqa: E402


@pytest.fixture(scope="module")
def model():
    return build_classifier("small_cnn", (16, 16, 1), seed=0)


@pytest.fixture
def image_files(tmp_path):
    rng = np.random.default_rng(0)
    paths = []
    for i, mode in enumerate(["L", "RGB", "RGBA", "P"]):
        array = rng.integers(0, 255, (20 + i, 24, 3), dtype=np.uint8)
        path = tmp_path / f"img{i}.png"
        Image.fromarray(array).convert(mode).save(path)
        paths.append(path)
    return paths


def test_backbone_is_read_from_the_model_name(model):
    assert backbone_of(model) == "small_cnn"
    assert backbone_of(keras.Sequential(name="mine")) is None


def test_arrays_and_files_give_probabilities_that_match_the_model(model, image_files):
    images = np.random.default_rng(1).integers(0, 255, (5, 16, 16, 1)).astype(np.uint8)
    p = predict_proba(model, images)
    expected = 1 / (1 + np.exp(-model.predict(images / 255.0, verbose=0).ravel()))
    np.testing.assert_allclose(p, expected, rtol=1e-5)
    p_files = predict_proba(model, image_files)
    assert p_files.shape == (4,) and np.all((p_files >= 0) & (p_files <= 1))
    folder = predict_proba(model, image_files[0].parent)   # a folder: its files in sorted order
    np.testing.assert_allclose(folder, p_files, rtol=1e-6)


def test_a_reloaded_model_predicts_the_same(model, image_files, tmp_path):
    path = save_classifier(model, tmp_path / "model.keras")
    np.testing.assert_array_equal(predict_proba(load_classifier(path), image_files),
                                  predict_proba(model, image_files))


def test_labels_use_the_given_threshold(model):
    images = np.zeros((3, 16, 16), np.uint8)
    p, labels = predict_labels(model, images, threshold=0.0)
    assert np.all(labels == 1) and p.shape == (3,)


def test_bad_inputs_are_named(model, tmp_path):
    with pytest.raises(ValueError, match=r"existing image file or folder.*Received: inputs='.*missing.png'"):
        predict_proba(model, tmp_path / "missing.png")
    fake = tmp_path / "notes.jpg"
    fake.write_text("not an image")
    with pytest.raises(ValueError, match=r"cannot be read as images.*notes.jpg"):
        predict_proba(model, fake)
    with pytest.raises(ValueError, match=r"Received: backbone=None"):
        predict_proba(keras.Sequential([keras.Input((16, 16, 1)), keras.layers.Flatten(),
                                        keras.layers.Dense(1)], name="mine"), np.zeros((1, 16, 16)))
    with pytest.raises(ValueError, match=r"Received: threshold=2"):
        predict_labels(model, np.zeros((1, 16, 16)), threshold=2)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_pixels_are_refused_naming_how_many_and_which_images(model, bad):
    images = np.full((5, 16, 16), 100.0)
    images[1, 2, 3] = bad
    images[4, :, 0] = bad
    with pytest.raises(ValueError, match=r"`inputs` must hold finite pixel values; 17 value\(s\) are NaN or "
                                         r"infinite, in 2 image\(s\) \(indices 1, 4\).*Received: inputs="):
        predict_proba(model, images)
    with pytest.raises(ValueError, match=r"1 value\(s\).*\(indices 0\)"):
        predict_labels(model, images[1], threshold=0.5)  # one grey image
    split = DomainSplit(labels=np.arange(5) % 2, images=images, split="test")
    with pytest.raises(ValueError, match=r"in 2 image\(s\) \(indices 1, 4\)"):
        scores_at_validation_threshold(model, split)


@pytest.mark.parametrize("inputs", [42, [np.zeros((16, 16))], np.array([["a"]])])
def test_inputs_that_are_neither_paths_nor_images_are_a_value_error(model, inputs):
    with pytest.raises(ValueError, match=r"`inputs`.*Received: inputs="):
        predict_proba(model, inputs)


def _split(seed, n, split):
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % 2
    return DomainSplit(labels=labels, images=rng.integers(0, 255, (n, 16, 16, 1)).astype(np.uint8),
                       class_names=("normal", "pneumonia"), domain="random", split=split)


def test_scores_use_the_validation_threshold_for_both_splits(model):
    val, test = _split(2, 12, "val"), _split(3, 10, "test")
    scores = scores_at_validation_threshold(model, val, test, method="youden")
    p_val, p_test = predict_proba(model, val), predict_proba(model, test)
    assert scores.threshold == choose_threshold(val.labels, p_val, "youden")
    assert scores.validation == binary_metrics(val.labels, p_val, scores.threshold)
    assert scores.test == binary_metrics(test.labels, p_test, scores.threshold)
    assert scores_at_validation_threshold(model, val).test is None


def test_scores_refuse_one_class_validation(model):
    val = _split(2, 6, "val")
    one_class = DomainSplit(labels=np.ones(6, np.int64), images=val.images, class_names=val.class_names,
                            domain="random", split="val")
    with pytest.raises(ValueError):
        scores_at_validation_threshold(model, one_class)
