"""Tests for crossdomain_kit.training.runtime: mixed precision, seeds and tf.distribute.

Tiny small-CNN classifiers on 8-pixel synthetic images (``_data``) keep every test to
seconds. Tests that seed the global generators (op determinism stays on
for the rest of a process) or need two logical CPU devices (configured
before TensorFlow initialises its devices) run in one subprocess, started by
``conftest.py`` (fixture ``fresh_process``).
"""

import keras
import numpy as np
import pytest

from crossdomain_kit import training
from crossdomain_kit.models.freezing import freeze
from crossdomain_kit.models.classifier import base_of
from crossdomain_kit.models.compiling import compile_classifier
from tests.training._data import _ds, _model, _same

def test_mixed_precision_is_off_on_a_cpu_and_trains_when_forced():
    assert not training.gpu_available() and training.enable_mixed_precision() == "float32"
    try:
        assert training.enable_mixed_precision(True) == "mixed_float16"
        model = _model()
        assert model.get_layer("logit").compute_dtype == "float32"
        assert base_of(model).get_layer("block1_conv").compute_dtype == "float16"
        result = training.train_with_tape(model, _ds(n=16), _ds(n=16, seed=1), 1, keras.optimizers.Adam(1e-3),
                                          seed=None, verbose=False)
        assert np.isfinite(result.history["loss"]).all()
        freeze(model, "all")
        compile_classifier(model)
        assert isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer)
        weights, state = model.get_weights(), [v.numpy() for v in model.optimizer.variables]
        sweep = training.find_learning_rate(model, _ds(n=16), steps=6, seed=None, verbose=False)
        assert np.isfinite(sweep.raw_losses).all()
        assert _same(model.get_weights(), weights)
        assert _same([v.numpy() for v in model.optimizer.variables], state)
    finally:
        assert training.enable_mixed_precision(False) == "float32"
    with pytest.raises(ValueError, match=r"Received: enabled='yes'"):
        training.enable_mixed_precision("yes")

# --- Seeds and tf.distribute, in a fresh process ------------------------------------------------------

def test_same_seed_same_history_on_cpu(fresh_process):
    first, again = fresh_process["runs"]
    assert first == again and len(first["val_auc"]) == 2


def test_training_runs_under_a_mirrored_strategy_and_the_tape_loop_still_equals_fit(fresh_process):
    assert fresh_process["replicas"] == 2
    assert len(fresh_process["fine_tune"]["loss"]) == 2
    assert np.isfinite(fresh_process["fine_tune"]["val_auc"]).all()
    for name, values in fresh_process["fit"].items():
        np.testing.assert_allclose(fresh_process["tape"][name], values, rtol=1e-5, atol=1e-6, err_msg=name)
    assert fresh_process["weight_gap"] < 1e-5
