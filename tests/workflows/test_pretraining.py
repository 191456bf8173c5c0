"""Multi-class pretraining of the kit's backbones (workflows.pretraining) on small generated images."""

import hashlib
import json
import types

import keras
import numpy as np
import pytest

from crossdomain_kit import config
from crossdomain_kit.models.backbones import backbone_names, get_backbone
from crossdomain_kit.models.classifier import base_of, build_classifier
from crossdomain_kit.workflows.pretraining import (EPOCHS, FAST_EPOCHS, FAST_TRAIN_IMAGES, PROGRESS_FILE, TERMS,
                                                   PretrainingPlan, PretrainingResult, augmentation, model_card,
                                                   pretrain_backbone, pretrainable_backbones)

CLASSES = ("top band", "bottom band", "central column", "side columns")  # all four survive a horizontal flip


def make_data(n_train=192, n_val=64, seed=0):
    """Grey 32 px noise with a bright band whose place is the class (4 classes, balanced)."""
    rng = np.random.default_rng(seed)

    def split(n):
        labels = np.arange(n) % 4
        rng.shuffle(labels)
        images = rng.integers(0, 60, (n, 32, 32), dtype=np.uint8)
        for image, label in zip(images, labels):
            if label == 0:
                image[2:10] = 230
            elif label == 1:
                image[22:30] = 230
            elif label == 2:
                image[:, 12:20] = 230
            else:
                image[:, :6] = image[:, 26:] = 230
        return images, labels.astype(np.int16)

    (train_x, train_y), (val_x, val_y) = split(n_train), split(n_val)
    return types.SimpleNamespace(train_images=train_x, train_labels=train_y, val_images=val_x, val_labels=val_y,
                                 class_names=CLASSES, n_classes=4)


def small_plan(**settings):
    return PretrainingPlan(**{"epochs": 3, "batch_size": 32, "warmup_epochs": 0.5, "max_train_images": None,
                              "max_val_images": None, **settings})


class InterruptAt(keras.callbacks.Callback):
    """Ctrl-C at the start of one epoch (0-based)."""

    def __init__(self, epoch):
        super().__init__()
        self.epoch = epoch

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == self.epoch:
            raise KeyboardInterrupt


@pytest.fixture(scope="module")
def data():
    return make_data()


@pytest.fixture(scope="module")
def uninterrupted(data):
    return pretrain_backbone(data, small_plan(), seed=0, progress=False)


@pytest.fixture(scope="module")
def resumed(data, tmp_path_factory):
    """2 epochs, Ctrl-C at the start of the third, then the same call again: (first, second, folder)."""
    folder = tmp_path_factory.mktemp("pretraining") / "checkpoint"
    first = pretrain_backbone(data, small_plan(), seed=0, checkpoint_dir=folder, callbacks=[InterruptAt(2)],
                              progress=False)
    second = pretrain_backbone(data, small_plan(), seed=0, checkpoint_dir=folder, progress=False)
    return first, second, folder


# --- The plan ----------------------------------------------------------------------------------------

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


def test_pretraining_augmentation_flips_horizontally_only_and_is_seeded():
    plan = PretrainingPlan()
    layers = augmentation(plan, seed=3).layers
    assert [type(layer).__name__ for layer in layers] == ["RandomFlip", "RandomTranslation", "RandomContrast",
                                                          "RandomBrightness"]
    assert layers[0].mode == "horizontal"
    batch = np.random.default_rng(0).integers(0, 256, (8, 32, 32, 1)).astype("float32")
    a, b = (keras.ops.convert_to_numpy(augmentation(plan, seed=3)(batch, training=True)) for _ in range(2))
    np.testing.assert_array_equal(a, b)
    assert a.min() >= 0 and a.max() <= 255 and not np.array_equal(a, batch)
    assert augmentation(PretrainingPlan(flip=False, translation=0, contrast=0, brightness=0)) is None


# --- Training -------------------------------------------------------------------------------------------

def test_pretraining_learns_the_classes_and_reports_top1_top5(uninterrupted, data):
    result = uninterrupted
    assert isinstance(result, PretrainingResult) and not result.interrupted and result.epochs == 3
    assert result.model.output_shape == (None, 4) and result.model.input_shape == (None, 32, 32, 1)
    assert result.base is base_of(result.model) and result.model.get_layer("logits").dtype == "float32"
    assert set(result.history) == {"loss", "top1", "top5", "val_loss", "val_top1", "val_top5", "learning_rate"}
    assert all(len(values) == 3 for values in result.history.values())
    assert result.history["val_top1"][1] > 0.5  # chance is 0.25; two epochs suffice
    assert all(t5 >= t1 for t1, t5 in zip(result.history["val_top1"], result.history["val_top5"]))
    assert (result.val_top1, result.val_top5) == (result.history["val_top1"][-1], result.history["val_top5"][-1])
    assert result.history["learning_rate"][-1] == pytest.approx(0.0, abs=1e-9)  # cosine to 0
    assert result.history["learning_rate"][0] > result.history["learning_rate"][1]
    assert result.seconds > 0 and result.cpu_seconds > 0 and result.seed == 0
    assert result.data["n_train"] == 192 and result.data["n_val"] == 64 and result.data["n_classes"] == 4
    assert result.class_names == CLASSES


def test_pretraining_resumed_run_equals_an_uninterrupted_one(resumed, uninterrupted, capsys):
    first, second, folder = resumed
    assert first.interrupted and first.epochs == 2 and not second.interrupted and second.resumed_epochs == 2
    assert sorted(p.name for p in folder.iterdir()) == ["epoch_0003.state.npz", "epoch_0003.weights.h5",
                                                        PROGRESS_FILE]  # older epochs and temp files gone
    assert set(second.history) == set(uninterrupted.history)
    for name, values in uninterrupted.history.items():
        np.testing.assert_allclose(second.history[name], values, rtol=1e-6, atol=1e-7, err_msg=name)
    for mine, theirs in zip(second.model.get_weights(), uninterrupted.model.get_weights()):
        np.testing.assert_allclose(mine, theirs, rtol=1e-5, atol=1e-6)
    for mine, theirs in zip(second.model.optimizer.variables, uninterrupted.model.optimizer.variables):
        np.testing.assert_allclose(mine.numpy(), theirs.numpy(), rtol=1e-5, atol=1e-6, err_msg=mine.path)
    assert int(second.model.optimizer.iterations.numpy()) == 3 * 6  # 192 images in batches of 32
    assert second.seconds >= first.seconds > 0


def test_pretraining_ctrl_c_keeps_the_finished_epochs_and_says_how_to_resume(data, tmp_path, capsys):
    result = pretrain_backbone(data, small_plan(epochs=2), seed=0, checkpoint_dir=tmp_path,
                               callbacks=[InterruptAt(1)], progress=False)
    said = capsys.readouterr().out
    assert result.interrupted and result.epochs == 1 and result.val_top1 == result.history["val_top1"][0]
    assert f"the checkpoint in {tmp_path} keeps 1 finished epoch(s)" in said and "same plan, seed" in said
    progress = json.loads((tmp_path / PROGRESS_FILE).read_text())
    assert len(progress["history"]["loss"]) == 1 and progress["seed"] == 0
    reloaded = keras.models.clone_model(result.model)  # the model holds the finished epoch's weights
    reloaded.load_weights(tmp_path / progress["weights"])
    for mine, theirs in zip(reloaded.get_weights(), result.model.get_weights()):
        np.testing.assert_array_equal(mine, theirs)


def test_a_finished_pretraining_checkpoint_is_read_back_without_training(resumed, uninterrupted):
    _, second, folder = resumed
    again = pretrain_backbone(make_data(), small_plan(), seed=0, checkpoint_dir=folder, progress=False)
    assert again.resumed_epochs == 3 and again.history == second.history and again.seconds == second.seconds
    for mine, theirs in zip(again.model.get_weights(), second.model.get_weights()):
        np.testing.assert_array_equal(mine, theirs)


@pytest.mark.parametrize("change, message", [
    ({"plan": small_plan(epochs=4)}, "epochs 3 there, 4 here"),
    ({"plan": small_plan(label_smoothing=0.0)}, "label_smoothing 0.1 there, 0.0 here"),
    ({"seed": 1}, "seed 0 there, 1 here"),
    ({"data": make_data(seed=5)}, "sha256"),
])
def test_pretraining_refuses_a_checkpoint_of_another_run(resumed, change, message):
    _, _, folder = resumed
    arguments = {"data": make_data(), "plan": small_plan(), "seed": 0, **change}
    with pytest.raises(ValueError, match="is of another run") as error:
        pretrain_backbone(arguments.pop("data"), arguments.pop("plan"), checkpoint_dir=folder, progress=False,
                          **arguments)
    assert message in str(error.value) and f"Received: checkpoint_dir='{folder}'" in str(error.value)


def test_pretraining_takes_a_subset_and_refuses_bad_data(data):
    result = pretrain_backbone(data, small_plan(epochs=1, max_train_images=64, max_val_images=32), progress=False)
    assert (result.data["n_train"], result.data["n_val"]) == (64, 32)
    missing = types.SimpleNamespace(train_images=data.train_images, train_labels=data.train_labels)
    with pytest.raises(ValueError, match="it has no val_images, val_labels"):
        pretrain_backbone(missing, small_plan(), progress=False)
    wrong = types.SimpleNamespace(**{**vars(data), "val_labels": data.val_labels + 4})
    with pytest.raises(ValueError, match=r"must lie in \[0, 4\)\. Received: val_labels="):
        pretrain_backbone(wrong, small_plan(), progress=False)
    rgb = types.SimpleNamespace(**{**vars(data), "train_images": np.zeros((192, 32, 32, 3), np.uint8)})
    with pytest.raises(ValueError, match="must be grey images"):
        pretrain_backbone(rgb, small_plan(), progress=False)


@pytest.mark.parametrize("backbone", [b for b in pretrainable_backbones() if b != "small_cnn"])
def test_every_kit_built_backbone_pretrains_and_loads_into_a_classifier(backbone, data, tmp_path):
    plan = small_plan(backbone=backbone, epochs=1, max_train_images=64, max_val_images=32)
    result = pretrain_backbone(data, plan, progress=False)
    result.save_backbone(tmp_path / f"{backbone}.weights.h5")
    classifier = build_classifier(backbone, (28, 28, 1), weights=tmp_path / f"{backbone}.weights.h5")
    for mine, theirs in zip(base_of(classifier).get_weights(), result.base.get_weights()):
        np.testing.assert_array_equal(mine, theirs)


# --- Saving the backbone and the model card ------------------------------------------------------------------

def test_saved_backbone_loads_into_a_28px_classifier(uninterrupted, tmp_path):
    path = tmp_path / "weights" / "small_cnn_test.weights.h5"
    sha = uninterrupted.save_backbone(path)
    assert sha == hashlib.sha256(path.read_bytes()).hexdigest() == uninterrupted.sha256
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary file left
    classifier = build_classifier("small_cnn", (28, 28, 1), weights=path)
    for mine, theirs in zip(base_of(classifier).get_weights(), uninterrupted.base.get_weights()):
        np.testing.assert_array_equal(mine, theirs)
    with pytest.raises(ValueError, match="Received: path="):
        uninterrupted.save_backbone(tmp_path / "backbone.h5")


def test_pretraining_model_card_names_sha256_command_and_terms(data, tmp_path):
    result = pretrain_backbone(data, small_plan(epochs=1), seed=2, progress=False)
    with pytest.raises(ValueError, match="save_backbone"):
        model_card(result, data_description="bands", command="x")
    command = "crossdomain-kit pretrain --out runs/bands --epochs 1 --seed 2"
    weights = result.save(tmp_path, name="small_cnn_bands", data_description="Four bands, grey 32 px",
                          command=command)
    assert weights == tmp_path / "small_cnn_bands.weights.h5"
    card = (tmp_path / "model_card.md").read_text()
    assert result.sha256 in card and command in card and TERMS in card and "Four bands, grey 32 px" in card
    assert "non-commercial research and educational use only" in card and "ImageNet" in card
    assert f"{result.val_top1:.4f}" in card and f"{result.val_top5:.4f}" in card and "1 of 1" in card
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["sha256"] == result.sha256 == hashlib.sha256(weights.read_bytes()).hexdigest()
    assert metrics["val_top1"] == result.val_top1 and metrics["command"] == command
    assert metrics["plan"] == result.plan.as_dict() and metrics["seed"] == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["metrics.json", "model_card.md", weights.name]
