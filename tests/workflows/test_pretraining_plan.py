"""The pretraining plan and its defaults (workflows.pretraining_plan); no training."""

import json

import pytest

from crossdomain_kit import config
from crossdomain_kit.models.backbones import backbone_names, get_backbone
from crossdomain_kit.workflows.pretraining_plan import (EPOCHS, FAST_EPOCHS, FAST_TRAIN_IMAGES, PretrainingPlan,
                                                        pretrainable_backbones)


def test_pretraining_plan_defaults_follow_the_profile(monkeypatch):
    fast = PretrainingPlan()
    assert (fast.backbone, fast.image_size, fast.epochs) == ("small_cnn", 32, FAST_EPOCHS)
    assert (fast.max_train_images, fast.max_val_images) == (FAST_TRAIN_IMAGES, 512)
    monkeypatch.setenv(config.FAST_ENV, "0")
    full = PretrainingPlan()
    assert full.epochs == EPOCHS and full.max_train_images is None and full.max_val_images is None
    assert PretrainingPlan(**json.loads(json.dumps(full.as_dict()))) == full
    assert PretrainingPlan(learning_rate=1, weight_decay=0) == PretrainingPlan(learning_rate=1.0, weight_decay=0.0)
    assert "SGD (Nesterov momentum 0.9)" in full.describe() and "horizontal flip" in full.describe()


def test_pretraining_plan_accepts_every_kit_built_backbone():
    names = pretrainable_backbones()
    assert "small_cnn" in names and "resnet50" not in names
    assert set(names) == {n for n in backbone_names() if get_backbone(n).application is None}
    assert all(PretrainingPlan(backbone=n).backbone == n for n in names)
    assert PretrainingPlan(backbone="SMALL_CNN").backbone == "small_cnn"


BAD_PLANS = {
    "backbone": ("resnet50", "starts from ImageNet weights"),
    "image_size": (4, "at least 8 px"),
    "epochs": (0, "an integer >= 1"),
    "batch_size": (2.5, "an integer >= 1"),
    "learning_rate": (0.0, "a finite number > 0"),
    "momentum": (1.0, "[0, 1)"),
    "weight_decay": (-1e-4, "a finite number >= 0"),
    "warmup_epochs": (float("nan"), "a finite number >= 0"),
    "label_smoothing": (1, "[0, 1)"),
    "dropout": (True, "[0, 1)"),
    "flip": ("yes", "True or False"),
    "translation": (0.5, "[0, 0.5)"),
    "contrast": (-0.1, "[0, 1)"),
    "brightness": ("0.1", "[0, 1)"),
    "batchnorm_images": (-1, "an integer >= 0"),
    "max_train_images": (0, "an integer >= 1"),
    "max_val_images": (-3, "an integer >= 1"),
}


@pytest.mark.parametrize("name", list(BAD_PLANS))
def test_pretraining_plan_refuses_bad_settings_with_received(name):
    value, expected = BAD_PLANS[name]
    with pytest.raises(ValueError, match=r"Received: " + name + "=") as error:
        PretrainingPlan(**{name: value})
    assert expected in str(error.value)


def test_an_unknown_backbone_is_refused_listing_the_known_ones_for_pretraining():
    with pytest.raises(ValueError, match=r"choose one of .*Received: backbone='vgg16'"):
        PretrainingPlan(backbone="vgg16")
