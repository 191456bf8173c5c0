"""Tests for crossdomain_kit.training.batchnorm: moving statistics recomputed as the mean of batch statistics."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from crossdomain_kit import training
from crossdomain_kit.training.batchnorm import RecomputeBatchNormStatistics, recompute_batchnorm_statistics


def _batches(seed=0, n=3, size=16, width=4):
    rng = np.random.default_rng(seed)
    return [rng.normal(2.0, 3.0, (size, width)).astype("float32") for _ in range(n)]


def _model(frozen_inner=False):
    """Input -> BatchNorm -> Dense -> (nested Sequential: BatchNorm) -> Dropout -> Dense."""
    inputs = keras.Input((4,))
    x = keras.layers.BatchNormalization(name="outer_bn")(inputs)
    x = keras.layers.Dense(3, kernel_initializer=keras.initializers.GlorotUniform(0), name="dense")(x)
    inner = keras.Sequential([keras.layers.BatchNormalization(name="inner_bn")], name="inner")
    inner.trainable = not frozen_inner
    x = keras.layers.Dropout(0.5, seed=1)(inner(x))
    return keras.Model(inputs, keras.layers.Dense(1, name="logit")(x))


def _stats(layer):
    return layer.moving_mean.numpy(), layer.moving_variance.numpy()


def test_statistics_are_the_mean_of_the_batches_statistics_with_the_current_weights():
    model, batches = _model(), _batches()
    assert recompute_batchnorm_statistics(model, batches) == 3
    mean, variance = _stats(model.get_layer("outer_bn"))
    np.testing.assert_allclose(mean, np.mean([b.mean(0) for b in batches], 0), rtol=1e-5)
    np.testing.assert_allclose(variance, np.mean([b.var(0) for b in batches], 0), rtol=1e-5)
    # The nested layer sees what training feeds it: the outer layer normalising with each batch's own statistics.
    kernel, bias = model.get_layer("dense").get_weights()
    hidden = [((b - b.mean(0)) / np.sqrt(b.var(0) + 1e-3)) @ kernel + bias for b in batches]
    mean, variance = _stats(model.get_layer("inner").get_layer("inner_bn"))
    np.testing.assert_allclose(mean, np.mean([h.mean(0) for h in hidden], 0), rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(variance, np.mean([h.var(0) for h in hidden], 0), rtol=1e-4)


def test_whatever_the_averages_held_before_the_result_is_the_same():
    model, batches = _model(), _batches()
    recompute_batchnorm_statistics(model, batches)
    first = _stats(model.get_layer("outer_bn"))
    model(_batches(seed=5, size=64)[0] * 10, training=True)  # moves the averages elsewhere
    recompute_batchnorm_statistics(model, tf.data.Dataset.from_tensor_slices(np.concatenate(batches)).batch(16))
    np.testing.assert_allclose(_stats(model.get_layer("outer_bn")), first, rtol=1e-5)


def test_weights_momenta_dropout_state_and_frozen_layers_are_left_as_they_were():
    model = _model(frozen_inner=True)
    inner = model.get_layer("inner").get_layer("inner_bn")
    trainable = [w.numpy() for w in model.trainable_weights]
    frozen_stats = _stats(inner)
    random_states = [v.numpy() for v in model.variables if v.name == "seed_generator_state"]
    assert random_states  # the dropout's
    labels = np.zeros((16, 1), "float32")
    recompute_batchnorm_statistics(model, [(b, labels) for b in _batches()])  # (inputs, labels) tuples too
    for before, after in zip(trainable, model.trainable_weights):
        np.testing.assert_array_equal(before, after.numpy())
    np.testing.assert_array_equal(frozen_stats, _stats(inner))
    assert [v.numpy().tolist() for v in model.variables if v.name == "seed_generator_state"] == \
        [s.tolist() for s in random_states]
    assert model.get_layer("outer_bn").momentum == 0.99


def test_a_model_without_batchnorm_runs_nothing_and_empty_batches_are_refused():
    plain = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    assert recompute_batchnorm_statistics(plain, _batches()) == 0
    with pytest.raises(ValueError, match="at least one batch.*Received: batches="):
        recompute_batchnorm_statistics(_model(), [])


def test_the_callback_recomputes_before_every_validation_pass_of_fit():
    model, batches = _model(), _batches()
    model.compile(optimizer=keras.optimizers.SGD(0.5), loss=keras.losses.BinaryCrossentropy(from_logits=True))
    x = np.concatenate(_batches(seed=2, n=4))
    y = (x[:, :1] > 2).astype("float32")
    seen = []

    class Spy(keras.callbacks.Callback):
        def on_test_begin(self, logs=None):
            seen.append(_stats(self.model.get_layer("outer_bn")))

    history = model.fit(x, y, batch_size=16, epochs=2, validation_data=(x, y), verbose=0,
                        callbacks=[RecomputeBatchNormStatistics(batches), Spy()])
    recomputed = _stats(model.get_layer("outer_bn"))
    assert len(seen) == 2
    np.testing.assert_allclose(seen[-1], recomputed)  # validation ran on the recomputed statistics
    recompute_batchnorm_statistics(model, batches)
    np.testing.assert_allclose(_stats(model.get_layer("outer_bn")), recomputed, rtol=1e-6)
    assert history.history["val_loss"][-1] == pytest.approx(model.evaluate(x, y, verbose=0), rel=1e-5)


def test_the_callback_is_importable_from_the_training_package():
    assert training.RecomputeBatchNormStatistics is RecomputeBatchNormStatistics
    assert training.recompute_batchnorm_statistics is recompute_batchnorm_statistics
