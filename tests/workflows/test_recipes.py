"""The kit's recipes on tiny synthetic domains (fast profile: one or two epochs)."""

import keras
import numpy as np
import pytest

from crossdomain_kit.data.domains import Domain
from crossdomain_kit.evaluation import BinaryMetrics
from crossdomain_kit.models.classifier import base_of, build_classifier
from crossdomain_kit.workflows.finetune import FineTuneResult
from crossdomain_kit.workflows.recipes import (pretrain, scratch_baseline, train_small_cnn, transfer,
                                              transfer_lower_layers)
from crossdomain_kit.data.synthetic import make_synthetic_task

SIZE = 16


@pytest.fixture(scope="module")
def task():
    return make_synthetic_task(1.0, n_source_train=96, n_target_train=48, n_val=48, n_test=32,
                               image_size=SIZE, seed=0, progress=False)


@pytest.fixture(scope="module")
def source(task):
    return pretrain(task.source, seed=0, epochs=2)


def test_pretrain_returns_a_trained_model_a_validation_threshold_and_timings(source, task):
    assert isinstance(source, FineTuneResult)
    assert source.model.input_shape == (None, SIZE, SIZE, 1)
    assert 0.0 <= source.threshold <= 1.0
    assert source.training.phases == ["joint", "joint"]
    assert source.training.best_epoch in (0, 1)
    assert source.val_auc == source.training.best_value
    assert source.train_seconds > 0 and source.cpu_seconds > 0
    assert source.settings["recipe"] == "pretrain" and source.settings["epochs"] == 2
    p = source.predict(task.source.val)
    assert p.shape == (len(task.source.val),) and np.all((p >= 0) & (p <= 1))
    metrics = source.evaluate(task.source.val)
    assert isinstance(metrics, BinaryMetrics) and metrics.threshold == source.threshold


def test_transfer_fine_tunes_a_copy_in_two_phases(source, task):
    before = [w.copy() for w in source.model.get_weights()]
    result = transfer(source, task.target, seed=0, head_epochs=1, finetune_epochs=1)
    assert result.training.phases == ["head", "finetune"]
    assert result.model is not source.model
    assert all(np.array_equal(a, b) for a, b in zip(before, source.model.get_weights()))
    assert not all(np.array_equal(a, b) for a, b in zip(before, result.model.get_weights()))
    assert base_of(result.model).trainable
    assert result.settings["head_epochs"] == 1 and result.settings["finetune_epochs"] == 1


def test_scratch_baseline_gets_the_transfer_budget(task):
    result = scratch_baseline(task.target, seed=0, head_epochs=1, finetune_epochs=1)
    assert result.training.epochs == 2
    assert result.settings["epochs"] == 2 and result.settings["recipe"] == "scratch_baseline"


def test_fast_profile_budget_is_small(task):
    result = train_small_cnn(task.target, seed=1)
    assert result.settings["epochs"] == 2


def test_transfer_accepts_a_plain_classifier(task):
    model = build_classifier("small_cnn", (SIZE, SIZE, 1), seed=0)
    result = transfer(model, task.target, seed=0, head_epochs=1, finetune_epochs=1)
    assert result.training.epochs == 2


class _StartingWeights(keras.callbacks.Callback):
    """Records the backbone's weights, by layer, when the first fit begins."""

    def __init__(self):
        super().__init__()
        self.layers = None

    def on_train_begin(self, logs=None):
        if self.layers is None:
            self.layers = {layer.name: layer.get_weights() for layer in base_of(self.model).layers if layer.weights}


def _same(a, b) -> bool:
    return len(a) == len(b) and all(np.array_equal(x, y) for x, y in zip(a, b))


@pytest.mark.parametrize("reset_from, copied", [("block2", {"block1_conv", "block1_bn"}), (None, None)])
def test_transfer_lower_layers_starts_from_the_lower_pretrained_layers_and_a_scratch_top(source, task, reset_from,
                                                                                         copied):
    start = _StartingWeights()
    result = transfer_lower_layers(source, task.target, reset_from=reset_from, seed=3, head_epochs=1,
                                   finetune_epochs=1, callbacks=[start])
    pretrained = base_of(source.model)
    scratch = base_of(build_classifier("small_cnn", (SIZE, SIZE, 1), seed=3))  # scratch_baseline's start
    copied = set(start.layers) if copied is None else copied
    assert copied <= set(start.layers)
    for name, weights in start.layers.items():
        origin = pretrained if name in copied else scratch
        assert _same(weights, origin.get_layer(name).get_weights()), name
    assert result.training.phases == ["joint", "joint"] and base_of(result.model).trainable
    assert result.settings["recipe"] == "transfer_lower_layers" and result.settings["reset_from"] == reset_from
    assert result.settings["epochs"] == 2


def test_transfer_lower_layers_names_the_blocks_it_knows(source, task):
    with pytest.raises(ValueError, match=r"Did you mean 'block2'.*Received: reset_from='blok2'"):
        transfer_lower_layers(source, task.target, reset_from="blok2")
    with pytest.raises(ValueError, match="Received: reset_from=2"):
        transfer_lower_layers(source, task.target, reset_from=2)


@pytest.mark.parametrize("call, name", [
    (lambda t: train_small_cnn(t.source.train, seed=0), "domain"),
    (lambda t: train_small_cnn(Domain("x", t.source.train), seed=0), "domain"),
    (lambda t: train_small_cnn(t.source, seed=-1), "seed"),
    (lambda t: train_small_cnn(t.source, seed=0, epochs=0), "epochs"),
    (lambda t: transfer("model.keras", t.target, seed=0), "pretrained"),
    (lambda t: transfer(build_classifier("small_cnn", (SIZE, SIZE, 1)), t.target.train), "target_domain"),
    (lambda t: scratch_baseline(t.target, seed=0, finetune_epochs=0), "finetune_epochs"),
    (lambda t: transfer_lower_layers("model.keras", t.target, reset_from="block2"), "pretrained"),
    (lambda t: transfer_lower_layers(build_classifier("small_cnn", (SIZE, SIZE, 1)), t.target.train,
                                     reset_from="block2"), "target_domain"),
])
def test_bad_input_names_the_argument(task, call, name):
    with pytest.raises(ValueError, match=f"Received: {name}="):
        call(task)
