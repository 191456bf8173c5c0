import time

import keras
import numpy as np
import pytest
from keras.src.backend import config as keras_config
from keras.src.utils import file_utils

from crossdomain_kit.models import weights
from crossdomain_kit.models.backbones import get_backbone
from crossdomain_kit.models.classifier import base_of, build_classifier
from crossdomain_kit.models.weights import imagenet_weights_location, keras_weights_cache


@pytest.fixture
def keras_home(tmp_path, monkeypatch):
    """A private Keras cache: keras.utils.get_file and the kit both read keras_home()."""
    monkeypatch.setattr(keras_config, "keras_home", lambda: str(tmp_path))
    return tmp_path


@pytest.mark.parametrize("name, shape, alpha", [
    ("resnet50", (32, 32, 3), 1.0), ("efficientnetb0", (40, 32, 3), 1.0),
    ("mobilenetv2", (32, 32, 3), 0.35), ("mobilenetv2", (96, 96, 3), 1.0)])
def test_the_weights_file_is_the_one_keras_asks_for(monkeypatch, keras_home, name, shape, alpha):
    asked = {}

    def record(fname, origin, **kwargs):
        asked.update(fname=fname, origin=origin, cache_subdir=kwargs.get("cache_subdir"),
                     file_hash=kwargs.get("file_hash"))
        raise RuntimeError("recorded")

    monkeypatch.setattr(file_utils, "get_file", record)
    kwargs = {"alpha": alpha} if get_backbone(name).takes_alpha else {}
    with pytest.raises(RuntimeError, match="recorded"):
        getattr(keras.applications, get_backbone(name).application)(
            include_top=False, weights="imagenet", input_shape=shape, **kwargs)
    location = imagenet_weights_location(name, shape, alpha=alpha)
    assert (location.file_name, location.url) == (asked["fname"], asked["origin"])
    assert asked["cache_subdir"] == "models"
    assert asked["file_hash"] == get_backbone(name).weights_spec("imagenet").file_hash
    assert location.folder == keras_home / "models" == keras_weights_cache()


def test_imagenet_offline_fails_in_seconds_naming_file_url_and_folder(keras_home):
    location = imagenet_weights_location("mobilenetv2", (32, 32, 3), alpha=0.35)
    start = time.monotonic()
    try:
        build_classifier("mobilenetv2", (32, 32, 3), "imagenet", alpha=0.35)
    except FileNotFoundError as error:
        message = str(error)
    else:
        pytest.skip("the weights could be downloaded here, so the offline path cannot be exercised")
    assert time.monotonic() - start < 30
    for part in (location.file_name, location.url, str(keras_home / "models"), "weights=None", ".keras"):
        assert part in message
    assert message.endswith("Received: weights='imagenet'")


def test_a_probe_timeout_fails_fast_with_the_same_message(monkeypatch, keras_home):
    def hang(request, timeout):
        assert timeout <= 10
        raise TimeoutError("timed out")

    monkeypatch.setattr(weights.urllib.request, "urlopen", hang)
    with pytest.raises(FileNotFoundError, match=r"\(timed out\).*efficientnetb0_notop.h5"):
        build_classifier("efficientnetb0", (32, 32, 3), "imagenet")


def test_a_failed_keras_download_is_reported_with_the_same_message(monkeypatch, keras_home):
    monkeypatch.setattr(weights, "_check_download_possible", lambda backbone, location: None)

    def fail(*args, **kwargs):
        raise Exception("URL fetch failure on https://example.invalid: None -- unreachable")

    monkeypatch.setattr(file_utils, "get_file", fail)
    with pytest.raises(FileNotFoundError, match=r"URL fetch failure.*mobilenet_v2_weights.*weights=None"):
        build_classifier("mobilenetv2", (32, 32, 3), "imagenet", alpha=0.35)


@pytest.mark.filterwarnings("ignore:`input_shape` is undefined")
def test_imagenet_weights_come_from_the_keras_cache(keras_home):
    """A file placed in the cache under Keras's name is what the backbone gets (no network used)."""
    reference = keras.applications.MobileNetV2(include_top=False, weights=None, input_shape=(32, 32, 3),
                                               alpha=0.35)
    location = imagenet_weights_location("mobilenetv2", (32, 32, 3), alpha=0.35)
    location.folder.mkdir(parents=True)
    reference.save(location.path)  # Keras's legacy .h5: the format the applications load
    model = build_classifier("mobilenetv2", (32, 32, 3), "imagenet", alpha=0.35)
    for expected, loaded in zip(reference.weights, base_of(model).weights):
        np.testing.assert_array_equal(expected.numpy(), loaded.numpy())


@pytest.mark.filterwarnings("ignore:`input_shape` is undefined")
def test_a_corrupt_cached_file_says_to_delete_it(keras_home):
    location = imagenet_weights_location("mobilenetv2", (32, 32, 3), alpha=0.35)
    location.folder.mkdir(parents=True)
    location.path.write_bytes(b"not an hdf5 file")
    with pytest.raises(ValueError, match=r"could not be loaded.*delete the file.*Received: weights="):
        build_classifier("mobilenetv2", (32, 32, 3), "imagenet", alpha=0.35)


# --- Weights the kit ships, loaded by name -------------------------------------------------------------

@pytest.fixture
def shipped(tmp_path, monkeypatch):
    """A 'testset' entry of packaged weights for small_cnn, its file in a private pretrained folder."""
    from dataclasses import replace

    from crossdomain_kit.models import backbones

    source = build_classifier("small_cnn", (16, 16, 1), seed=3)
    path = tmp_path / "small_cnn_testset.weights.h5"
    base_of(source).save_weights(path)
    entry = backbones.WeightsSpec("testset", "a test set", path.name, file_hash=weights.sha256_of(path),
                                  packaged=True)
    spec = backbones.BACKBONES["small_cnn"]
    monkeypatch.setitem(backbones.BACKBONES, "small_cnn", replace(spec, weights=spec.weights + (entry,)))
    monkeypatch.setattr(weights, "PRETRAINED_DIR", tmp_path)
    return source, path


def test_shipped_weights_load_by_name_into_the_backbone_and_a_fresh_head(shipped):
    source, _ = shipped
    model = build_classifier("small_cnn", (28, 28, 1), "testset", seed=0)  # any size: fully convolutional
    assert all(np.array_equal(a, b) for a, b in zip(base_of(model).get_weights(), base_of(source).get_weights()))
    fresh = build_classifier("small_cnn", (28, 28, 1), seed=0)
    assert np.array_equal(model.get_layer("logit").get_weights()[0], fresh.get_layer("logit").get_weights()[0])


def test_a_damaged_or_missing_shipped_file_is_refused(shipped):
    _, path = shipped
    path.write_bytes(path.read_bytes()[:-1] + b"x")
    with pytest.raises(ValueError, match="is damaged .*reinstall crossdomain-kit.*Received: weights='testset'"):
        build_classifier("small_cnn", (28, 28, 1), "testset")
    path.unlink()
    with pytest.raises(FileNotFoundError, match="missing from this installation"):
        build_classifier("small_cnn", (28, 28, 1), "testset")


def test_a_name_a_backbone_has_no_weights_for_is_refused_naming_what_it_has():
    with pytest.raises(ValueError, match=r"named weights of resnet50: 'imagenet'.*Received: weights='testset'"):
        build_classifier("resnet50", (32, 32, 3), "testset")


def test_the_wide_small_cnn_doubles_the_filters():
    narrow, wide = (build_classifier(name, (16, 16, 1), seed=0) for name in ("small_cnn", "small_cnn_wide"))
    assert [base_of(m).get_layer(f"block{i}_conv").filters for m in (narrow, wide) for i in (1, 4)] == \
        [32, 128, 64, 256]
    assert wide.name == "small_cnn_wide_classifier"


@pytest.mark.parametrize("backbone, n_params", [("small_cnn", 241_312), ("small_cnn_wide", 961_856)])
def test_the_shipped_tiny_imagenet_backbones_load_by_name_and_their_cards_name_their_hash(backbone, n_params):
    from crossdomain_kit.models.backbones import get_backbone

    spec = get_backbone(backbone).weights_spec("tinyimagenet")
    assert spec.packaged and weights.sha256_of(weights.packaged_weights_file(backbone, "tinyimagenet")) \
        == spec.file_hash
    model = build_classifier(backbone, (28, 28, 1), "tinyimagenet", seed=0)
    assert base_of(model).count_params() == n_params
    card = (weights.PRETRAINED_DIR / f"{backbone}_tinyimagenet.md").read_text(encoding="utf-8")
    assert spec.file_hash in card and "crossdomain-kit pretrain --out runs/tinyimagenet" in card
    assert f"--backbone {backbone} " in card and "non-commercial" in card
