"""Tests for crossdomain_kit.training.loop: the GradientTape loop equals fit; its extension points.

Tiny small-CNN classifiers on 8-pixel synthetic images (``_data``) keep every test to
seconds.
"""

import keras
import numpy as np
import pytest

from crossdomain_kit import training
from crossdomain_kit.models.compiling import compile_classifier
from tests.training._data import SIZE, _ds, _model

def test_the_tape_loop_gives_the_same_weights_and_metrics_as_fit():
    """Same initial weights (same build seed), same batches, same Adam: bit-identical on CPU.

    The logit carries an L2 penalty, and the batches are joint_datasets'
    mixed, sample-weighted ones, cached so that every epoch repeats the first:
    fit makes one dataset iterator more per epoch than it uses, so a dataset
    that reshuffles on every iteration would show it other batches from the
    second epoch on. Both loops run the same
    ops in a tf.function on one device, and the dropout layers draw from
    identically seeded generators. We compare to 1e-6 anyway, the rounding a
    different op order (another device, XLA) may bring.
    """
    def mixed():
        return training.joint_datasets(_ds(24), _ds(8, seed=2, shift=30), alpha=0.3, batch_size=8,
                                       seed=4).cache()

    tape_model, fit_model = _model(l2=0.01), _model(l2=0.01)
    result = training.train_with_tape(tape_model, mixed(), _ds(seed=1), 2, keras.optimizers.Adam(1e-3),
                                      seed=None, verbose=False)
    compile_classifier(fit_model, 1e-3)
    history = fit_model.fit(mixed(), validation_data=_ds(seed=1), epochs=2, shuffle=False, verbose=0,
                            callbacks=[training.ExactValidationAUC(_ds(seed=1))]).history
    assert result.phases == ["tape", "tape"]
    for name, values in history.items():
        np.testing.assert_allclose(result.history[name], values, rtol=1e-6, atol=1e-6, err_msg=name)
    for a, b in zip(tape_model.get_weights(), fit_model.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6)


def test_evaluate_reports_what_keras_evaluate_reports():
    model = _model(dropout=0.0)
    loss_fn = keras.losses.BinaryCrossentropy(from_logits=True)
    metrics = training.loop_metrics()
    test_step = training.make_test_step(model, loss_fn, metrics)
    ours = training.evaluate(_ds(n=20), test_step, metrics)  # batches of 8, 8 and 4
    compile_classifier(model)
    keras_logs = model.evaluate(_ds(n=20), verbose=0, return_dict=True)
    assert ours == pytest.approx(keras_logs, rel=1e-6)

# --- Extension points: any objective, the epoch loop (lesson 07) -------------------------------------

def test_make_objective_step_with_the_supervised_objective_is_make_train_step():
    loss_fn = keras.losses.BinaryCrossentropy(from_logits=True)
    models = [_model(l2=0.01), _model(l2=0.01)]
    optimizers = [keras.optimizers.Adam(1e-3) for _ in models]
    for model, optimizer in zip(models, optimizers):
        optimizer.build(model.trainable_variables)

    def supervised(batch):
        x, y = batch
        logits = models[1](x, training=True)
        return loss_fn(y, logits), y, logits

    steps = [training.make_train_step(models[0], optimizers[0], loss_fn),
             training.make_objective_step(models[1], optimizers[1], supervised)]
    for batch in _ds(16).take(2):
        assert float(steps[0](batch)) == pytest.approx(float(steps[1](batch)), rel=1e-6)
    for a, b in zip(*(m.get_weights() for m in models)):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


def test_run_epochs_records_its_phase_and_can_end_with_the_best_epoch():
    model = _model()
    optimizer = keras.optimizers.Adam(1e-3)
    optimizer.build(model.trainable_variables)
    loss_fn = keras.losses.BinaryCrossentropy(from_logits=True)
    metrics = training.loop_metrics()
    steps = (training.make_train_step(model, optimizer, loss_fn, metrics),
             training.make_test_step(model, loss_fn, metrics))
    result = training.run_epochs(model, _ds(), _ds(seed=1), 3, *steps, metrics, optimizer=optimizer,
                                 phase="custom", restore_best=True, verbose=False)
    assert result.phases == ["custom"] * 3 and result.history["learning_rate"] == [pytest.approx(1e-3)] * 3
    best = result.history["val_auc"][result.best_epoch]
    assert best == max(result.history["val_auc"])
    logs = training.evaluate(_ds(seed=1), steps[1], metrics)
    assert logs["auc"] == pytest.approx(best, abs=1e-6)       # the best epoch's weights are back
    with pytest.raises(ValueError, match="Received: monitor='auc'"):
        training.run_epochs(model, _ds(), _ds(seed=1), 1, *steps, metrics, optimizer=optimizer,
                            monitor="auc")


def _frozen_logistic():
    """Flatten → Dense(1): no BatchNormalization, so at learning rate 0 nothing changes between epochs."""
    return keras.Sequential([keras.Input((SIZE, SIZE, 1)), keras.layers.Flatten(), keras.layers.Dense(1)])


def test_patience_stops_the_loop_after_that_many_epochs_without_improvement():
    model = _frozen_logistic()
    result = training.train_with_tape(model, _ds(), _ds(seed=1), 10, keras.optimizers.SGD(0.0),
                                      monitor="val_loss", patience=2, verbose=False)
    assert result.epochs == 3 and result.best_epoch == 0     # val_loss never improves after epoch 1
    assert not result.interrupted
    with pytest.raises(ValueError, match="Received: patience=0$"):
        training.train_with_tape(model, _ds(), _ds(seed=1), 1, keras.optimizers.SGD(0.0), patience=0)


def test_train_with_tape_with_patience_and_restore_best_is_early_stopping():
    model = _model()
    result = training.train_with_tape(model, _ds(training_=True), _ds(seed=1), 6,
                                      keras.optimizers.Adam(1e-2), monitor="val_loss", patience=2,
                                      restore_best=True, verbose=False)
    losses = result.history["val_loss"]
    assert result.best_epoch == int(np.argmin(losses))
    assert result.epochs == 6 or result.epochs == result.best_epoch + 3
    metrics = training.loop_metrics()
    test_step = training.make_test_step(model, keras.losses.BinaryCrossentropy(from_logits=True), metrics)
    assert training.evaluate(_ds(seed=1), test_step, metrics)["loss"] == pytest.approx(min(losses), rel=1e-5)
