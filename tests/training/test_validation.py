"""Tests for crossdomain_kit.training.validation: every trainer records the exact validation AUC.

Tiny small-CNN classifiers on 8-pixel synthetic images (``_data``) keep every test to
seconds.
"""

import keras
import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from crossdomain_kit import training
from crossdomain_kit.models.compiling import compile_classifier
from tests.training._data import _EpochWeights, _arrays, _ds, _model


def _sklearn_auc(model, n=32, seed=1):
    images, labels = _arrays(n, seed)
    logits = model.predict(_ds(n, seed=seed).map(lambda x, _: x), verbose=0).reshape(-1)
    return roc_auc_score(labels, logits.astype(np.float64))


def test_the_score_is_scikit_learns_auc_and_keras_metric_is_not_always():
    model = _model()
    exact = training.ExactValidationAUC(_ds(seed=1))
    exact.set_model(model)
    assert exact.score() == pytest.approx(_sklearn_auc(model), abs=1e-12)
    compile_classifier(model)
    keras_auc = model.evaluate(_ds(seed=1), verbose=0, return_dict=True)["auc"]
    assert abs(keras_auc - exact.score()) < 0.05  # close, but from 200 thresholds: not the same number


def test_the_model_is_traced_once_whatever_the_batch_sizes():
    model = _model()
    exact = training.ExactValidationAUC(_ds(n=20, seed=1))  # batches of 8, 8 and 4
    exact.set_model(model)
    exact.score(), exact.score()
    assert exact._logits.experimental_get_tracing_count() == 1


def test_fit_callbacks_after_it_read_the_exact_value():
    model = compile_classifier(_model())
    spy = _EpochWeights()
    stop = keras.callbacks.EarlyStopping(monitor="val_auc", mode="max", patience=5)
    history = model.fit(_ds(training_=True), validation_data=_ds(seed=1), epochs=2, shuffle=False, verbose=0,
                        callbacks=[training.ExactValidationAUC(_ds(seed=1)), spy, stop]).history
    model.set_weights(spy.weights[-1])
    assert spy.logs[-1]["val_auc"] == pytest.approx(_sklearn_auc(model), abs=1e-12)
    assert history["val_auc"] == [logs["val_auc"] for logs in spy.logs]
    assert stop.best == max(history["val_auc"])


@pytest.mark.parametrize("weighted", [False, True])
def test_one_pass_writes_the_validation_logs_kerass_own_pass_would(weighted):
    def val():
        ds = _ds(n=20, seed=1)  # batches of 8, 8 and 4
        return ds.map(lambda x, y: (x, y, 0.5 + 2.0 * y[:, 0])) if weighted else ds

    histories = []
    for one_pass in (False, True):
        model = compile_classifier(_model(l2=1e-3))  # an L2 penalty: the model's own losses count too
        callback = training.ExactValidationAUC(val(), with_loss_and_accuracy=one_pass)
        histories.append(model.fit(_ds(training_=True), validation_data=None if one_pass else val(), epochs=2,
                                   shuffle=False, verbose=0, callbacks=[callback]).history)
    assert histories[1] == histories[0]
    assert list(histories[1]) == ["accuracy", "auc", "loss", "val_accuracy", "val_auc", "val_loss"]


@pytest.mark.parametrize("trainer", ["fine_tune", "train_with_tape", "train_joint"])
def test_every_trainer_keeps_the_epoch_whose_exact_auc_the_tables_print(trainer):
    model = _model()
    val = _ds(seed=1)
    if trainer == "fine_tune":
        result = training.fine_tune(model, _ds(training_=True), val, head_epochs=1, finetune_epochs=2,
                                    patience=5, seed=0, verbose=0)
    elif trainer == "train_with_tape":
        result = training.train_with_tape(model, _ds(training_=True), val, 3, keras.optimizers.Adam(1e-3),
                                          restore_best=True, seed=0, verbose=False)
    else:
        result = training.train_joint(model, [_ds(training_=True), _ds(seed=2, training_=True)], val,
                                      epochs=3, batch_size=8, seed=0, verbose=0)
    assert result.history["val_auc"][result.best_epoch] == pytest.approx(_sklearn_auc(model), abs=1e-12)
