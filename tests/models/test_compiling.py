import os
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest

from crossdomain_kit.models.checkpoints import load_classifier, save_classifier
from crossdomain_kit.models.classifier import base_of, build_classifier
from crossdomain_kit.models.compiling import DiscriminativeOptimizer, compile_classifier
from tests.models._data import _cnn, _data, _values


# --- Compiling ------------------------------------------------------------------------------------

def test_compile_uses_a_from_logits_loss_and_auc_accuracy_metrics():
    model = compile_classifier(_cnn(), 3e-4, optimizer="sgd")
    assert isinstance(model.loss, keras.losses.BinaryCrossentropy) and model.loss.get_config()["from_logits"]
    assert isinstance(model.optimizer, keras.optimizers.SGD)
    assert float(model.optimizer.learning_rate.numpy()) == pytest.approx(3e-4)
    assert model.optimizer.built
    logs = model.evaluate(*_data(), verbose=0, return_dict=True)
    assert set(logs) == {"loss", "auc", "accuracy"}
    x, y = _data()
    logits = model.predict(x, verbose=0)
    assert logs["accuracy"] == pytest.approx(np.mean((logits > 0) == (y > 0.5)))


def test_an_optimizer_instance_is_a_template():
    template = keras.optimizers.SGD(learning_rate=0.5, momentum=0.9)
    model = compile_classifier(build_classifier("small_cnn", (16, 16, 1)), 1e-3, optimizer=template)
    assert model.optimizer is not template and model.optimizer.momentum == 0.9
    assert float(model.optimizer.learning_rate.numpy()) == pytest.approx(1e-3)


@pytest.mark.parametrize("kwargs, match", [
    (dict(learning_rate=0.0), r"Received: learning_rate=0.0"),
    (dict(learning_rate=1e-3, base_learning_rate=-1.0), r"Received: base_learning_rate=-1.0"),
    (dict(learning_rate=1e-3, optimizer="adamm"), r"optimizer name.*Received: optimizer='adamm'"),
    (dict(learning_rate=1e-3, jit_compile="yes"), r"Received: jit_compile='yes'"),
])
def test_bad_compile_arguments_are_rejected(kwargs, match):
    with pytest.raises(ValueError, match=match):
        compile_classifier(build_classifier("small_cnn", (8, 8, 1)), **kwargs)


# --- Discriminative learning rates ------------------------------------------------------------------

def _one_fit_step(optimizer, base_learning_rate, learning_rate=1e-2):
    """Weight changes of backbone and head after one full-batch fit step from a fixed start."""
    model = build_classifier("small_cnn", (16, 16, 1), seed=2, dropout=0.0)
    compile_classifier(model, learning_rate, optimizer=optimizer, base_learning_rate=base_learning_rate)
    base, head = base_of(model).trainable_weights, model.get_layer("logit").trainable_weights
    before = _values(base), _values(head)
    x, y = _data(seed=3)
    model.fit(x, y, batch_size=len(x), epochs=1, shuffle=False, verbose=0)
    return [[w.numpy() - b for w, b in zip(weights, values)] for weights, values in zip((base, head), before)]


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_the_backbone_learns_at_its_own_rate_under_fit(optimizer):
    plain_base, plain_head = _one_fit_step(optimizer, None)
    frozen_base, frozen_head = _one_fit_step(optimizer, 0.0)
    slow_base, slow_head = _one_fit_step(optimizer, 1e-3)
    assert all(np.abs(d).max() > 0 for d in plain_base)
    assert all(not d.any() for d in frozen_base)
    for plain, slow in zip(plain_base, slow_base):  # atol: float32 rounding of w + delta
        np.testing.assert_allclose(slow, 0.1 * plain, rtol=1e-3, atol=2e-7)
        assert np.linalg.norm(slow) == pytest.approx(0.1 * np.linalg.norm(plain), rel=1e-3)
    for plain, frozen, slow in zip(plain_head, frozen_head, slow_head):
        np.testing.assert_allclose(frozen, plain, rtol=1e-6)
        np.testing.assert_allclose(slow, plain, rtol=1e-6)


def test_setting_the_learning_rate_keeps_the_ratio_as_reduce_lr_on_plateau_does():
    model = compile_classifier(_cnn(), 1e-2, base_learning_rate=1e-3)
    reduce = keras.callbacks.ReduceLROnPlateau(monitor="loss", factor=0.5, patience=0, min_delta=1e9)
    model.fit(*_data(), epochs=2, verbose=0, callbacks=[reduce])
    optimizer = model.optimizer  # epoch 1 sets the best loss, epoch 2 halves both rates
    assert float(optimizer.learning_rate.numpy()) == pytest.approx(5e-3)
    assert float(optimizer.base_learning_rate.numpy()) == pytest.approx(5e-4)


def test_the_discriminative_optimizer_survives_recompiling_and_saving(tmp_path):
    model = compile_classifier(_cnn(), 1e-2, base_learning_rate=1e-3)
    x, y = _data()
    model.fit(x, y, epochs=1, verbose=0)
    model.compile_from_config(model.get_compile_config())
    assert isinstance(model.optimizer, DiscriminativeOptimizer)
    assert float(model.optimizer.base_learning_rate.numpy()) == pytest.approx(1e-3)
    model.fit(x, y, epochs=1, verbose=0)
    loaded = load_classifier(save_classifier(model, tmp_path / "m.keras"))
    assert isinstance(loaded.optimizer, DiscriminativeOptimizer)
    assert loaded.optimizer.head_paths == ("logit/kernel", "logit/bias")
    for saved, restored in zip(model.optimizer.variables, loaded.optimizer.variables):
        np.testing.assert_array_equal(saved.numpy(), restored.numpy())
    base, logit = base_of(loaded), loaded.get_layer("logit")
    loaded.optimizer.base_optimizer.learning_rate = 0.0
    before, head_before = _values(base.trainable_weights), _values(logit.weights)
    loaded.fit(x, y, epochs=1, verbose=0)  # the head is still routed to the head's optimizer
    for b, w in zip(before, base.trainable_weights):
        np.testing.assert_array_equal(b, w.numpy())
    assert not np.array_equal(head_before[0], logit.kernel.numpy())


def test_the_head_optimizer_cannot_use_a_schedule():
    schedule = keras.optimizers.schedules.ExponentialDecay(1e-2, 10, 0.9)
    with pytest.raises(ValueError, match="not a schedule"):
        DiscriminativeOptimizer(keras.optimizers.Adam(schedule), 1e-3, ["logit/kernel"])


@pytest.fixture
def without_op_determinism():
    """Keras turns XLA off while op determinism is on, which earlier seeded tests may leave on."""
    from tensorflow.python.framework import config as tf_config

    was_on = tf_config.is_op_determinism_enabled()
    tf_config.disable_op_determinism()
    yield
    if was_on:
        tf_config.enable_op_determinism()


def test_discriminative_rates_under_xla(without_op_determinism):
    model = compile_classifier(_cnn(), 1e-2, base_learning_rate=0.0, jit_compile=True)
    base, logit = base_of(model).trainable_weights, model.get_layer("logit")
    before, head_before = _values(base), logit.kernel.numpy().copy()
    model.fit(*_data(), batch_size=8, epochs=1, verbose=0)
    assert model.jit_compile
    assert all(np.array_equal(b, w.numpy()) for b, w in zip(before, base))
    assert not np.array_equal(head_before, logit.kernel.numpy())


def test_discriminative_rates_under_mixed_precision():
    keras.config.set_dtype_policy("mixed_float16")
    try:
        model = build_classifier("small_cnn", (16, 16, 1), seed=0, dropout=0.0)
        compile_classifier(model, 1e-2, base_learning_rate=0.0)
    finally:
        keras.config.set_dtype_policy("float32")
    assert isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer)
    base = base_of(model).trainable_weights
    before, head_before = _values(base), _values(model.get_layer("logit").weights)
    model.fit(*_data(), epochs=1, verbose=0)
    assert model.output.dtype == "float32"
    assert all(np.array_equal(b, w.numpy()) for b, w in zip(before, base))
    assert not np.array_equal(head_before[0], model.get_layer("logit").kernel.numpy())


def test_discriminative_rates_under_a_mirrored_strategy():
    code = textwrap.dedent("""
        import numpy as np, tensorflow as tf
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
        from crossdomain_kit.models.classifier import base_of, build_classifier
        from crossdomain_kit.models.compiling import compile_classifier
        strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
        with strategy.scope():
            model = build_classifier("small_cnn", (16, 16, 1), seed=0, dropout=0.0)
            compile_classifier(model, 1e-2, base_learning_rate=0.0)
        x = np.random.default_rng(0).random((16, 16, 16, 1)).astype("float32")
        y = (x.mean(axis=(1, 2, 3)) > 0.5).astype("float32")[:, None]
        base = [w.numpy().copy() for w in base_of(model).trainable_weights]
        head = model.get_layer("logit").kernel.numpy().copy()
        model.fit(x, y, batch_size=8, epochs=1, verbose=0)
        assert all(np.array_equal(b, w.numpy()) for b, w in zip(base, base_of(model).trainable_weights))
        assert not np.array_equal(head, model.get_layer("logit").kernel.numpy())
        print("ok")
    """)
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                            timeout=300)
    assert result.returncode == 0 and result.stdout.strip().endswith("ok"), result.stderr[-3000:]
