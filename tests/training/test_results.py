"""Tests for crossdomain_kit.training.results: the best epoch's weights and Ctrl-C, in fit and the tape loop.

Tiny small-CNN classifiers on 8-pixel synthetic images (``_data``) keep every test to
seconds.
"""

import keras
import numpy as np

from crossdomain_kit import training
from tests.training._data import _CtrlC, _EpochWeights, _ds, _model, _same

def test_ctrl_c_during_fine_tuning_keeps_the_best_weights_and_the_history(capsys):
    model = _model()
    spy = _EpochWeights()
    result = training.fine_tune(model, _ds(training_=True), _ds(seed=1), head_epochs=2, finetune_epochs=2,
                                patience=5, seed=None, verbose=0, callbacks=[spy, _CtrlC(epoch=2, batch=1)])
    assert result.interrupted and result.epochs == 2 and result.phases == ["head", "head"]
    best = int(np.argmax(result.history["val_auc"]))
    assert result.best_epoch == best
    assert _same(model.get_weights(), spy.weights[best])
    out = capsys.readouterr().out
    assert "interrupted (Ctrl-C) in epoch 3, batch 2 of phase 'finetune'" in out
    assert f"restored the weights of epoch {best + 1}" in out and "2 finished epoch(s)" in out


def test_ctrl_c_before_any_epoch_restores_the_starting_weights(capsys):
    model = _model()
    start = model.get_weights()
    result = training.train_joint(model, [_ds(training_=True)], _ds(seed=1), epochs=2, batch_size=8,
                                  seed=None, verbose=0, callbacks=[_CtrlC(epoch=0, batch=2)])
    assert result.interrupted and result.epochs == 0 and result.best_epoch is None
    assert result.history == {} and _same(model.get_weights(), start)
    assert "restored the weights from before training" in capsys.readouterr().out

def test_ctrl_c_in_the_tape_loop_keeps_the_best_weights(monkeypatch, capsys):
    model = _model()
    evaluate, calls, after_first = training.evaluate, [], []

    def interrupted_second_time(*args):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        after_first.append(model.get_weights())
        return evaluate(*args)

    monkeypatch.setattr(training.loop, "evaluate", interrupted_second_time)
    result = training.train_with_tape(model, _ds(), _ds(seed=1), 3, keras.optimizers.Adam(1e-3),
                                      seed=None, verbose=False)
    assert result.interrupted and result.epochs == 1 and result.best_epoch == 0
    assert _same(model.get_weights(), after_first[0])
    assert "epoch 2 of phase 'tape'" in capsys.readouterr().out
