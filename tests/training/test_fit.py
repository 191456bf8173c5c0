"""Tests for crossdomain_kit.training.fit: two-phase fine-tuning and its argument checks.

Tiny small-CNN classifiers on 8-pixel synthetic images (``_data``) keep every test to
seconds.
"""

import re

import keras
import numpy as np
import pytest

from crossdomain_kit import training
from crossdomain_kit.models.freezing import GradualUnfreezing
from crossdomain_kit.models.classifier import base_of
from crossdomain_kit.models.compiling import DiscriminativeOptimizer
from tests.training._data import _EpochWeights, _ds, _fine_tune, _model, _same

def test_fine_tune_trains_the_head_then_the_backbone_and_keeps_the_best_epoch():
    model = _model()
    start = base_of(model).get_weights()
    spy = _EpochWeights()
    result = training.fine_tune(model, _ds(training_=True), _ds(seed=1), head_epochs=1, finetune_epochs=2,
                                patience=5, seed=None, verbose=0, callbacks=[spy])
    assert isinstance(result, training.TrainingResult) and not result.interrupted
    assert result.phases == ["head", "finetune", "finetune"]
    assert result.phase_epochs("finetune") == [1, 2]
    assert set(result.history) == {"loss", "auc", "accuracy", "val_loss", "val_auc", "val_accuracy",
                                   "learning_rate"}
    np.testing.assert_allclose(result.history["learning_rate"], [1e-3, 1e-4, 1e-4], rtol=1e-6)
    assert [logs["val_auc"] for logs in spy.logs] == pytest.approx(result.history["val_auc"])
    # phase 1 leaves the backbone alone (frozen, BatchNorm statistics included); phase 2 changes it
    base_weights = [w[:len(start)] for w in spy.weights]
    assert _same(base_weights[0], start) and not _same(base_weights[2], start)
    # the model ends with the best epoch's weights, across both phases
    best = int(np.argmax(result.history["val_auc"]))
    assert result.best_epoch == best and result.best_value == pytest.approx(max(result.history["val_auc"]))
    assert _same(model.get_weights(), spy.weights[best])
    assert base_of(model).trainable and not base_of(model).get_layer("block1_bn").trainable


def test_fine_tune_configures_fit_as_documented(monkeypatch):
    model = _model()
    calls = []
    monkeypatch.setattr(model, "fit", lambda data, **kwargs: calls.append((data, kwargs)))
    train = _ds(n=24, training_=True)  # 12 of each class
    training.fine_tune(model, train, _ds(seed=1), head_epochs=3, finetune_epochs=4,
                       head_learning_rate=2e-3, finetune_learning_rate=2e-4, base_learning_rate=2e-5,
                       unfreeze={"policy": "last_k", "k": 2}, class_weight="balanced", patience=2,
                       lr_patience=1, lr_factor=0.3, seed=None, verbose=0)
    (_, head), (_, tune) = calls
    assert (head["initial_epoch"], head["epochs"]) == (0, 3)
    assert (tune["initial_epoch"], tune["epochs"]) == (0, 4)  # the fake fit finished no epoch
    assert head["class_weight"] == {0: 1.0, 1: 1.0}
    stop = next(c for c in head["callbacks"] if isinstance(c, keras.callbacks.EarlyStopping))
    assert (stop.monitor, stop.mode, stop.patience, stop.restore_best_weights) == ("val_auc", "max", 2, True)
    plateau = next(c for c in tune["callbacks"] if isinstance(c, keras.callbacks.ReduceLROnPlateau))
    assert (plateau.monitor, plateau.mode, plateau.patience, plateau.factor) == ("val_auc", "max", 1, 0.3)
    # phase 2: the last two weighted backbone layers train (BatchNorm stays frozen), two learning rates
    optimizer = model.optimizer
    assert isinstance(optimizer, DiscriminativeOptimizer)
    assert float(optimizer.learning_rate.numpy()) == pytest.approx(2e-4)
    assert float(optimizer.base_learning_rate.numpy()) == pytest.approx(2e-5)
    trained = [layer.name for layer in base_of(model).layers if layer.trainable_weights]
    assert trained == ["block4_conv"]


def test_fine_tune_follows_a_gradual_unfreezing_schedule_one_fit_per_stage():
    model = _model()
    seen = []

    class Trainable(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            seen.append([layer.name for layer in base_of(self.model).layers if layer.trainable_weights])

    schedule = GradualUnfreezing({0: {"policy": "last_k", "k": 2}, 1: "all"})
    result = training.fine_tune(model, _ds(n=16, training_=True), _ds(n=16, seed=1), head_epochs=1,
                                finetune_epochs=2, unfreeze=schedule, seed=None, verbose=0,
                                callbacks=[Trainable()])
    assert result.phases == ["head", "finetune 1", "finetune 2"]
    assert seen == [[], ["block4_conv"], [f"block{i}_conv" for i in range(1, 5)]]

@pytest.mark.parametrize("overrides, received", [
    ({"head_learning_rate": 0.0}, "head_learning_rate=0.0"),
    ({"finetune_learning_rate": -1e-4}, "finetune_learning_rate=-0.0001"),
    ({"base_learning_rate": 0}, "base_learning_rate=0"),
    ({"head_epochs": 0}, "head_epochs=0"),
    ({"finetune_epochs": 2.5}, "finetune_epochs=2.5"),
    ({"unfreeze": "none"}, "unfreeze='none'"),
    ({"unfreeze": {"policy": "last_k", "k": 99}}, "k=99"),
    ({"unfreeze": GradualUnfreezing({0: "all", 1: {"policy": "from_layer", "from_layer": "blok3"}}),
      "finetune_epochs": 2}, "from_layer='blok3'"),
    ({"class_weight": {0: 1.0}}, "class_weight={0: 1.0}"),
    ({"monitor": "auc"}, "monitor='auc'"),
    ({"lr_factor": 1.0}, "lr_factor=1.0"),
    ({"patience": 0}, "patience=0"),
    ({"seed": -1}, "seed=-1"),
    ({"callbacks": [print]}, "callbacks="),
])
def test_fine_tune_rejects_bad_arguments_before_training(overrides, received):
    model = _model()
    start = model.get_weights()
    trainable = [layer.trainable for layer in base_of(model).layers]
    with pytest.raises(ValueError, match="Received: " + re.escape(received)):
        _fine_tune(model, **overrides)
    assert not model.compiled and _same(model.get_weights(), start)
    assert [layer.trainable for layer in base_of(model).layers] == trainable
