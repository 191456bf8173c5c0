"""Multi-class pretraining of the kit's backbones (workflows.pretraining) on small generated images."""

import json
import types

import keras
import numpy as np
import pytest

from crossdomain_kit.models.classifier import base_of, build_classifier
from crossdomain_kit.workflows import pretraining, pretraining_plan, pretraining_result
from crossdomain_kit.workflows.pretraining import (PROGRESS_FILE, PretrainingPlan, PretrainingResult, augmentation,
                                                   pretrain_backbone, pretrainable_backbones)
from tests.workflows._pretraining_data import CLASSES, InterruptAt, small_plan


def test_the_plan_result_card_and_constants_stay_importable_from_pretraining():
    for module, names in ((pretraining_plan, ("PretrainingPlan", "pretrainable_backbones", "EPOCHS", "FAST_EPOCHS",
                                              "FAST_TRAIN_IMAGES", "FAST_VAL_IMAGES")),
                          (pretraining_result, ("PretrainingResult", "model_card", "TERMS"))):
        assert all(getattr(pretraining, name) is getattr(module, name) for name in names)


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

def test_pretraining_learns_the_classes_and_reports_top1_top5(uninterrupted_run, pretraining_data):
    result = uninterrupted_run
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


def test_pretraining_validates_with_batchnorm_statistics_recomputed_for_the_final_weights(uninterrupted_run,
                                                                                          pretraining_data):
    from crossdomain_kit.training import recompute_batchnorm_statistics

    model, plan = uninterrupted_run.model, small_plan()
    assert plan.batchnorm_images == 12_800  # more than the 192 training images: all of them
    batchnorm = [layer for layer in uninterrupted_run.base.layers if isinstance(layer, keras.layers.BatchNormalization)]
    kept = [layer.moving_mean.numpy() for layer in batchnorm]
    arrays = pretraining._planned_arrays(pretraining_data, plan, 0)
    recompute_batchnorm_statistics(model, pretraining._batchnorm_dataset(arrays, plan, 0))
    for before, layer in zip(kept, batchnorm):  # the run's statistics are already the recomputed ones
        np.testing.assert_allclose(before, layer.moving_mean.numpy(), rtol=1e-5, atol=1e-6)
    assert pretraining._batchnorm_dataset(arrays, small_plan(batchnorm_images=0), 0) is None
    plain = pretrain_backbone(pretraining_data, small_plan(batchnorm_images=0), seed=0, progress=False)
    for mine, other in zip(uninterrupted_run.base.trainable_weights, plain.base.trainable_weights):
        np.testing.assert_array_equal(mine.numpy(), other.numpy())  # the same training, other statistics only
    assert not np.allclose(kept[-1], plain.base.get_layer(batchnorm[-1].name).moving_mean.numpy(), atol=1e-3)


def test_pretraining_order_depends_on_the_seed_and_epoch_only(pretraining_data):
    import tensorflow as tf

    arrays = pretraining._planned_arrays(pretraining_data, small_plan(), 0)
    plan = small_plan(flip=False, translation=0, contrast=0, brightness=0)

    def first_labels(global_seed):
        tf.random.set_seed(global_seed)
        return np.concatenate([y.numpy().argmax(1) for _, y in pretraining._train_dataset(arrays, plan, 0, 1)])

    order = first_labels(1)
    np.testing.assert_array_equal(order, first_labels(2))
    assert not np.array_equal(order, np.concatenate(
        [y.numpy().argmax(1) for _, y in pretraining._train_dataset(arrays, plan, 0, 2)]))


def test_pretraining_ctrl_c_keeps_the_finished_epochs_and_says_how_to_resume(pretraining_data, tmp_path, capsys):
    result = pretrain_backbone(pretraining_data, small_plan(epochs=2), seed=0, checkpoint_dir=tmp_path,
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


def test_pretraining_takes_a_subset_and_refuses_bad_data(pretraining_data):
    plan = small_plan(epochs=1, max_train_images=64, max_val_images=32)
    result = pretrain_backbone(pretraining_data, plan, progress=False)
    assert (result.data["n_train"], result.data["n_val"]) == (64, 32)
    missing = types.SimpleNamespace(train_images=pretraining_data.train_images,
                                    train_labels=pretraining_data.train_labels)
    with pytest.raises(ValueError, match="it has no val_images, val_labels"):
        pretrain_backbone(missing, small_plan(), progress=False)
    wrong = types.SimpleNamespace(**{**vars(pretraining_data), "val_labels": pretraining_data.val_labels + 4})
    with pytest.raises(ValueError, match=r"must lie in \[0, 4\)\. Received: val_labels="):
        pretrain_backbone(wrong, small_plan(), progress=False)
    rgb = types.SimpleNamespace(**{**vars(pretraining_data), "train_images": np.zeros((192, 32, 32, 3), np.uint8)})
    with pytest.raises(ValueError, match="must be grey images"):
        pretrain_backbone(rgb, small_plan(), progress=False)


@pytest.mark.parametrize("backbone", [b for b in pretrainable_backbones() if b != "small_cnn"])
def test_every_kit_built_backbone_pretrains_and_loads_into_a_classifier(backbone, pretraining_data, tmp_path):
    plan = small_plan(backbone=backbone, epochs=1, max_train_images=64, max_val_images=32)
    result = pretrain_backbone(pretraining_data, plan, progress=False)
    result.save_backbone(tmp_path / f"{backbone}.weights.h5")
    classifier = build_classifier(backbone, (28, 28, 1), weights=tmp_path / f"{backbone}.weights.h5")
    for mine, theirs in zip(base_of(classifier).get_weights(), result.base.get_weights()):
        np.testing.assert_array_equal(mine, theirs)
