"""Choosing and building the classifier to fine-tune (crossdomain_kit.workflows.model_choice)."""

import pytest
from keras.src.backend import config as keras_config

from crossdomain_kit.data.synthetic import make_synthetic_domain
from crossdomain_kit.models import weights
from crossdomain_kit.models.classifier import build_classifier
from crossdomain_kit.workflows.model_choice import (FALLBACK_BACKBONE, ModelChoice, build_with_fallback,
                                                    choose_model, source_model_choice)


@pytest.fixture(scope="module")
def domain():
    return make_synthetic_domain(0.0, n_train=16, n_val=8, n_test=8, image_size=20, seed=0)


@pytest.fixture
def offline(tmp_path, monkeypatch):
    """An empty Keras cache and no way to download: ImageNet weights cannot be had."""
    monkeypatch.setattr(keras_config, "keras_home", lambda: str(tmp_path))

    def no_network(request, timeout):
        raise OSError("network is unreachable")

    monkeypatch.setattr(weights.urllib.request, "urlopen", no_network)


def test_defaults_on_a_cpu_are_the_small_cnn_at_the_images_size(domain):
    choice = choose_model(domain)
    assert (choice.backbone, choice.image_size, choice.weights, choice.pretrained) == ("small_cnn", 20, None, False)
    assert "images of about 20 px on a CPU" in choice.notes[0]
    assert choice.describe() == "Model: small_cnn at 20 px, random start."
    assert choice.as_dict() == {"backbone": "small_cnn", "image_size": 20, "weights": "none", "pretrained": False}


def test_an_imagenet_backbone_defaults_to_its_size_and_imagenet_weights(domain):
    choice = choose_model(domain, backbone="resnet50")
    assert (choice.image_size, choice.weights, choice.pretrained, choice.notes) == (224, "imagenet", True, [])
    assert choose_model(domain, backbone="resnet50", weights="none", image_size=32).weights is None


def test_the_shipped_tiny_imagenet_weights_pick_the_small_cnn_at_the_size_they_were_trained_at(domain):
    choice = choose_model(domain, weights="tinyimagenet")
    assert (choice.backbone, choice.image_size, choice.weights, choice.pretrained) == ("small_cnn", 32, "tinyimagenet",
                                                                                       True)
    assert choice.notes == ["backbone small_cnn: Tiny ImageNet (grey, 32 px) weights were asked for",
                            "32 px: the size the Tiny ImageNet (grey, 32 px) weights were trained at"]
    assert choice.describe() == "Model: small_cnn at 32 px, Tiny ImageNet (grey, 32 px) weights."
    built, model = build_with_fallback(choice, domain, seed=0, weights_given=True)
    assert built is choice and model.input_shape == (None, 32, 32, 1)
    assert choose_model(domain, weights="tinyimagenet", image_size=24).image_size == 24  # asked for: kept
    assert choose_model(domain, weights="imagenet").describe().endswith("ImageNet weights.")


def test_a_source_model_brings_its_backbone_and_size():
    model = build_classifier("small_cnn", (24, 24, 1), seed=0)
    choice = source_model_choice(model, "source model m.keras")
    assert (choice.backbone, choice.image_size, choice.pretrained) == ("small_cnn", 24, True)
    with pytest.raises(ValueError, match="--image-size 32 differs from the source model's input size 24"):
        source_model_choice(model, "m", image_size=32)
    with pytest.raises(ValueError, match="--backbone resnet50 differs"):
        source_model_choice(model, "m", backbone="resnet50")


def test_default_imagenet_weights_that_cannot_be_had_give_way_to_the_small_cnn(domain, offline):
    choice = ModelChoice("mobilenetv2", 32, "imagenet", True)
    built, model = build_with_fallback(choice, domain, seed=0)
    assert built is not choice and built.backbone == FALLBACK_BACKBONE and not built.pretrained
    assert "random start instead" in built.notes[-1] and model.name == "small_cnn_classifier"


def test_an_asked_for_backbone_falls_back_to_its_own_random_start(domain, offline):
    choice = ModelChoice("mobilenetv2", 32, "imagenet", True)
    built, model = build_with_fallback(choice, domain, backbone_given=True)
    assert (built.backbone, built.weights, built.pretrained) == ("mobilenetv2", None, False)
    assert model.name == "mobilenetv2_classifier"


def test_asked_for_weights_that_cannot_be_had_stay_an_error(domain, offline):
    with pytest.raises(FileNotFoundError, match="mobilenet"):
        build_with_fallback(ModelChoice("mobilenetv2", 32, "imagenet", True), domain, weights_given=True)


def test_a_choice_that_builds_is_returned_as_it_is(domain):
    choice = choose_model(domain)
    built, model = build_with_fallback(choice, domain, seed=0)
    assert built is choice and model.input_shape == (None, 20, 20, 1)
