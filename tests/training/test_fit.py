"""Tests for crossdomain_kit.training: fine-tuning, the tape loop, the LR finder, joint training.

Tiny small-CNN classifiers on 8-pixel synthetic images keep every test to
seconds. Tests that seed the global generators (op determinism stays on for
the rest of a process) or need two logical CPU devices (configured before
TensorFlow initialises its devices) run in one subprocess.
"""

import json
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

from crossdomain_kit.theory import risk
from crossdomain_kit import training
from crossdomain_kit.models.freezing import GradualUnfreezing, freeze
from crossdomain_kit.theory.losses import binary_cross_entropy_from_logits
from crossdomain_kit.models.classifier import DiscriminativeOptimizer, base_of, build_classifier, compile_classifier
from crossdomain_kit.data.pipeline import make_pipeline

SIZE = 8


def _scale(images):
    return images / 127.5 - 1.0


def _arrays(n, seed, shift=0.0):
    """Balanced labels; positives carry a brighter square. ``shift`` moves the brightness (a domain)."""
    rng = np.random.default_rng(seed)
    y = rng.permutation(np.arange(n) % 2)
    x = rng.normal(100 + shift, 40, (n, SIZE, SIZE, 1))
    x[y == 1, 2:6, 2:6, 0] += 40
    return np.clip(x, 0, 255).astype("float32"), y


def _ds(n=32, seed=0, training_=False, batch_size=8, shift=0.0):
    return make_pipeline(_arrays(n, seed, shift), backbone=None, preprocess=_scale, image_size=SIZE,
                         channels=1, batch_size=batch_size, training=training_, augment=False, seed=seed)


def _model(seed=0, dropout=0.2, l2=0.0):
    return build_classifier("small_cnn", (SIZE, SIZE, 1), seed=seed, dropout=dropout, l2=l2)


def _same(a, b):
    return all(np.array_equal(x, y) for x, y in zip(a, b))


class _EpochWeights(keras.callbacks.Callback):
    """Records the weights and logs at the end of every epoch."""

    def __init__(self):
        super().__init__()
        self.weights, self.logs = [], []

    def on_epoch_end(self, epoch, logs=None):
        self.weights.append(self.model.get_weights())
        self.logs.append(dict(logs))


class _CtrlC(keras.callbacks.Callback):
    """Raises KeyboardInterrupt, as Ctrl-C in Jupyter does, at a given (epoch, batch)."""

    def __init__(self, epoch, batch):
        super().__init__()
        self.at, self.epoch = (epoch, batch), None

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_begin(self, batch, logs=None):
        if (self.epoch, batch) == self.at:
            raise KeyboardInterrupt


# --- fine_tune --------------------------------------------------------------------------------------

def test_fine_tune_trains_the_head_then_the_backbone_and_keeps_the_best_epoch():
    model = _model()
    start = base_of(model).get_weights()
    spy = _EpochWeights()
    result = training.fine_tune(model, _ds(training_=True), _ds(seed=1), head_epochs=1, finetune_epochs=2,
                                patience=5, seed=None, verbose=0, callbacks=[spy])
    assert isinstance(result, training.FineTuneResult) and not result.interrupted
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


# --- The GradientTape loop --------------------------------------------------------------------------

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
    history = fit_model.fit(mixed(), validation_data=_ds(seed=1), epochs=2, shuffle=False, verbose=0).history
    assert result.phases == ["tape", "tape"]
    for name, values in history.items():
        np.testing.assert_allclose(result.history[name], values, rtol=1e-6, atol=1e-6, err_msg=name)
    for a, b in zip(tape_model.get_weights(), fit_model.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6)


def test_evaluate_reports_what_keras_evaluate_reports():
    model = _model(dropout=0.0)
    loss_fn = keras.losses.BinaryCrossentropy(from_logits=True)
    metrics = training.classifier_metrics()
    test_step = training.make_test_step(model, loss_fn, metrics)
    ours = training.evaluate(_ds(n=20), test_step, metrics)  # batches of 8, 8 and 4
    compile_classifier(model)
    keras_logs = model.evaluate(_ds(n=20), verbose=0, return_dict=True)
    assert ours == pytest.approx(keras_logs, rel=1e-6)


def test_ctrl_c_in_the_tape_loop_keeps_the_best_weights(monkeypatch, capsys):
    model = _model()
    evaluate, calls, after_first = training.evaluate, [], []

    def interrupted_second_time(*args):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        after_first.append(model.get_weights())
        return evaluate(*args)

    monkeypatch.setattr(training.fit, "evaluate", interrupted_second_time)
    result = training.train_with_tape(model, _ds(), _ds(seed=1), 3, keras.optimizers.Adam(1e-3),
                                      seed=None, verbose=False)
    assert result.interrupted and result.epochs == 1 and result.best_epoch == 0
    assert _same(model.get_weights(), after_first[0])
    assert "epoch 2 of phase 'tape'" in capsys.readouterr().out


# --- Learning-rate finder ---------------------------------------------------------------------------

def test_smooth_losses_is_a_bias_corrected_moving_average():
    np.testing.assert_allclose(training.smooth_losses([2.0, 2.0, 2.0]), [2.0, 2.0, 2.0])
    np.testing.assert_allclose(training.smooth_losses([1.0, 4.0], beta=0.0), [1.0, 4.0])
    beta = 0.9
    np.testing.assert_allclose(training.smooth_losses([1.0, 4.0], beta=beta), [1.0, (beta + 4) / (1 + beta)])
    with pytest.raises(ValueError, match=r"Received: beta=1"):
        training.smooth_losses([1.0], beta=1)


def test_suggest_learning_rate_finds_the_steepest_point_and_the_minimum():
    lrs = np.geomspace(1e-6, 1, 61)
    x = np.log10(lrs)
    loss = 1 - 0.8 / (1 + np.exp(-3 * (x + 3.5))) + np.where(x > -1.5, (x + 1.5) ** 2, 0)
    found = training.suggest_learning_rate(lrs, loss)
    assert found.steepest_lr == pytest.approx(10 ** -3.5, rel=0.05)
    assert found.min_loss_lr == lrs[np.argmin(loss)]
    assert found.suggestion == pytest.approx(found.min_loss_lr / 10)
    with pytest.raises(ValueError, match=r"increasing.*Received: learning_rates="):
        training.suggest_learning_rate(lrs[::-1], loss)
    # a noisy start, steeper than the real descent, is skipped (a tenth of the points by default)
    noisy = loss + np.where(np.arange(lrs.size) < 3, [1.0, 0.5, 0.0] + [0.0] * (lrs.size - 3), 0.0)
    assert training.suggest_learning_rate(lrs, noisy).steepest_lr == pytest.approx(10 ** -3.5, rel=0.05)
    assert training.suggest_learning_rate(lrs, noisy, skip_start=0).steepest_lr < 1e-5
    with pytest.raises(ValueError, match=r"Received: skip_start=-1"):
        training.suggest_learning_rate(lrs, loss, skip_start=-1)


def test_find_learning_rate_sweeps_then_restores_the_model_and_optimizer():
    model = _model()
    compile_classifier(model, 3e-4, base_learning_rate=3e-5)
    model.fit(_ds(n=16), epochs=1, shuffle=False, verbose=0)  # moments and iterations now non-zero
    weights = model.get_weights()
    state = [v.numpy() for v in model.optimizer.variables]
    result = training.find_learning_rate(model, _ds(n=16, training_=True), min_learning_rate=1e-5,
                                         max_learning_rate=10.0, steps=24, seed=None, verbose=False)
    assert _same(model.get_weights(), weights)
    assert _same([v.numpy() for v in model.optimizer.variables], state)
    assert float(model.optimizer.learning_rate.numpy()) == pytest.approx(3e-4)
    assert float(model.optimizer.base_learning_rate.numpy()) == pytest.approx(3e-5)
    n = len(result.learning_rates)
    assert 5 <= n <= 24 and result.learning_rates[0] == pytest.approx(1e-5)
    np.testing.assert_allclose(result.learning_rates, np.geomspace(1e-5, 10.0, 24)[:n])
    np.testing.assert_allclose(result.losses, training.smooth_losses(result.raw_losses))
    assert result.diverged == (n < 24)
    assert result.suggestion == pytest.approx(result.min_loss_lr / 10)


# --- Joint and multi-source training -----------------------------------------------------------------

@pytest.fixture(scope="module")
def fixed_model():
    model = _model(seed=3)
    return compile_classifier(model)


def _per_example_losses(model, dataset):
    y = np.concatenate([labels for _, labels in dataset.as_numpy_iterator()]).ravel()
    return binary_cross_entropy_from_logits(y, model.predict(dataset, verbose=0).ravel())


@pytest.mark.parametrize("alpha", [None, 0.0, 0.3, 0.9])
def test_the_joint_epoch_loss_is_lesson_01s_risk(fixed_model, alpha):
    source, target = _ds(40), _ds(12, seed=2, shift=30)
    joint = training.joint_datasets(source, target, alpha, batch_size=16)  # last batch: 4 of 16
    keras_loss = fixed_model.evaluate(joint, verbose=0, return_dict=True)["loss"]
    ls, lt = _per_example_losses(fixed_model, source), _per_example_losses(fixed_model, target)
    expected = risk.joint_empirical_risk(ls, lt) if alpha is None else risk.weighted_risk(ls, lt, alpha)
    assert keras_loss == pytest.approx(expected, rel=1e-5)


def test_the_multi_source_epoch_loss_is_the_weighted_sum_of_domain_risks(fixed_model):
    domains = [_ds(16), _ds(24, seed=2, shift=-20), _ds(8, seed=3, shift=30)]
    weights = [0.2, 0.3, 0.5]
    mixed = training.mix_domains(domains, weights, batch_size=8)
    keras_loss = fixed_model.evaluate(mixed, verbose=0, return_dict=True)["loss"]
    expected = sum(w * _per_example_losses(fixed_model, d).mean() for w, d in zip(weights, domains))
    assert keras_loss == pytest.approx(expected, rel=1e-5)


def _id_domain(ids):
    """A dataset whose images are filled with the example's id, to follow each example."""
    x = np.repeat(np.asarray(ids, "float32"), SIZE * SIZE).reshape(-1, SIZE, SIZE, 1)
    return tf.data.Dataset.from_tensor_slices((x, (np.asarray(ids) % 2)[:, None].astype("float32"))).batch(5)


def test_mix_domains_shows_every_example_once_per_epoch_in_mixed_reshuffled_batches():
    source, target = range(0, 30), range(100, 110)
    mixed = training.mix_domains([_id_domain(source), _id_domain(target)], [0.25, 0.75], batch_size=8, seed=1)
    assert int(mixed.cardinality()) == 5

    def epoch(dataset):
        batches = [(x[:, 0, 0, 0].astype(int), w) for x, _, w in dataset.as_numpy_iterator()]
        ids = [b[0] for b in batches]
        return ids, np.concatenate(ids), np.concatenate([b[1] for b in batches])

    batches, ids, weights = epoch(mixed)
    assert sorted(ids) == [*source, *target]
    np.testing.assert_allclose(weights, np.where(ids < 100, 0.25 * 40 / 30, 0.75 * 40 / 10))
    assert weights.sum() == pytest.approx(40)  # mean weight 1: Keras's batch-size average stays a mean
    assert any((b < 100).any() and (b >= 100).any() for b in batches)
    second_epoch = epoch(mixed)[1]
    same_seed = epoch(training.mix_domains([_id_domain(source), _id_domain(target)], [0.25, 0.75],
                                           batch_size=8, seed=1))[1]
    assert not np.array_equal(ids, second_epoch) and np.array_equal(ids, same_seed)


def test_train_joint_trains_on_the_mixture_and_keeps_the_best_epoch():
    model = _model()
    spy = _EpochWeights()
    result = training.train_joint(model, [_ds(24, training_=True), _ds(8, seed=2, shift=30, training_=True)],
                                  _ds(seed=1), weights=[0.4, 0.6], epochs=2, seed=None, verbose=0,
                                  callbacks=[spy])
    assert result.phases == ["joint", "joint"] and not result.interrupted
    best = int(np.argmax(result.history["val_auc"]))
    assert _same(model.get_weights(), spy.weights[best])


# --- Mixed precision ----------------------------------------------------------------------------------

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


# --- Bad input ----------------------------------------------------------------------------------------

def _fine_tune(model=None, train=None, val=None, **overrides):
    kwargs = dict(head_epochs=1, finetune_epochs=1, seed=None, verbose=0)
    kwargs.update(overrides)
    return training.fine_tune(_model() if model is None else model, _ds(n=16) if train is None else train,
                              _ds(n=16, seed=1) if val is None else val, **kwargs)


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


def test_single_class_validation_data_is_a_clear_error():
    x, _ = _arrays(16, 1)
    only_positive = tf.data.Dataset.from_tensor_slices((x, np.ones((16, 1), "float32"))).batch(8)
    message = r"both classes.*AUC.*undefined.*Received: val_ds='dataset of 16 examples, all labelled 1'"
    with pytest.raises(ValueError, match=message):
        _fine_tune(val=only_positive)
    with pytest.raises(ValueError, match=message):
        training.train_with_tape(_model(), _ds(), only_positive, 1, keras.optimizers.Adam(), verbose=False)
    with pytest.raises(ValueError, match=message):
        training.train_joint(_model(), [_ds()], only_positive, epochs=1)


def test_datasets_must_be_finite_batched_tf_data():
    with pytest.raises(ValueError, match=r"tf.data.Dataset.*Received: train_ds="):
        _fine_tune(train=_arrays(16, 0))
    with pytest.raises(ValueError, match=r"finite.*Received: train_ds="):
        _fine_tune(train=_ds(n=16).repeat())
    with pytest.raises(ValueError, match=r"same shape.*Received: datasets\[1\]="):
        training.mix_domains([_ds(8), _ds(8).map(lambda x, y: (x[:, :4], y))])
    with pytest.raises(ValueError, match=r"\(images, labels\)\.? Received: datasets\[0\]="):
        training.mix_domains([training.joint_datasets(_ds(8), _ds(8))])


@pytest.mark.parametrize("call, received", [
    (lambda: training.train_with_tape(_model(), _ds(), _ds(), 0, keras.optimizers.Adam()), "epochs=0"),
    (lambda: training.train_with_tape(_model(), _ds(), _ds(), 1, "adam"), "optimizer='adam'"),
    (lambda: training.train_joint(_model(), [_ds()], _ds(), epochs=0), "epochs=0"),
    (lambda: training.train_joint(_model(), [_ds()], _ds(), epochs=1, learning_rate=0), "learning_rate=0"),
    (lambda: training.joint_datasets(_ds(), _ds(), alpha=1.5), "alpha=1.5"),
    (lambda: training.mix_domains([_ds(), _ds()], [0.5, 0.6]), "weights=[0.5, 0.6]"),
    (lambda: training.mix_domains(_ds()), "datasets="),
    (lambda: training.find_learning_rate(_model(), _ds()), "model="),
    (lambda: training.find_learning_rate(compile_classifier(_model()), _ds(), min_learning_rate=1.0,
                                         max_learning_rate=0.1), "max_learning_rate=0.1"),
    (lambda: training.find_learning_rate(compile_classifier(_model()), _ds(), steps=3), "steps=3"),
    (lambda: training.make_test_step(_model(), keras.losses.BinaryCrossentropy(), jit_compile="yes"),
     "jit_compile='yes'"),
    (lambda: training.set_global_seed(1.5), "seed=1.5"),
    (lambda: training.set_global_seed(0, deterministic="yes"), "deterministic='yes'"),
])
def test_other_bad_arguments_name_the_argument_and_value(call, received):
    with pytest.raises(ValueError, match="Received: " + re.escape(received)):
        call()


# --- Seeds and tf.distribute, in a fresh process ------------------------------------------------------

_SUBPROCESS = textwrap.dedent("""
    import json
    import numpy as np
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)

    import keras
    from crossdomain_kit import training
    from crossdomain_kit.models.classifier import build_classifier, compile_classifier
    from tests.training.test_fit import _ds

    def model(seed=None):
        return build_classifier("small_cnn", (8, 8, 1), seed=seed)

    def seeded_run():
        training.set_global_seed(0)  # as a notebook's first cell would, before building
        result = training.fine_tune(model(), _ds(training_=True), _ds(seed=1), head_epochs=1,
                                    finetune_epochs=1, seed=0, verbose=0)
        return result.history

    out = {"runs": [seeded_run(), seeded_run()]}

    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    with strategy.scope():
        tuned, tape_model, fit_model = model(0), model(0), model(0)
    result = training.fine_tune(tuned, _ds(training_=True), _ds(seed=1), head_epochs=1, finetune_epochs=1,
                                base_learning_rate=1e-5, seed=None, verbose=0)
    out["replicas"] = tuned.distribute_strategy.num_replicas_in_sync
    out["fine_tune"] = result.history
    # an optimizer made outside the scope is re-created inside it
    tape = training.train_with_tape(tape_model, _ds(), _ds(seed=1), 1, keras.optimizers.Adam(1e-3),
                                    seed=None, verbose=False)
    with strategy.scope():
        compile_classifier(fit_model, 1e-3)
    out["tape"] = tape.history
    out["fit"] = fit_model.fit(_ds(), validation_data=_ds(seed=1), epochs=1, shuffle=False, verbose=0).history
    out["weight_gap"] = max(float(np.abs(a - b).max())
                            for a, b in zip(tape_model.get_weights(), fit_model.get_weights()))
    print("RESULT " + json.dumps(out))
""")


@pytest.fixture(scope="module", autouse=True)
def _fresh_process_started(request):
    """Starts the fresh process at the module's first test, so that it runs alongside the others."""
    if not any("fresh_process" in item.fixturenames for item in request.session.items):
        yield None
        return
    root = Path(__file__).resolve().parents[2]
    process = subprocess.Popen([sys.executable, "-c", _SUBPROCESS], cwd=root, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    yield process
    if process.poll() is None:
        process.kill()
        process.communicate()


@pytest.fixture(scope="module")
def fresh_process(_fresh_process_started):
    stdout, stderr = _fresh_process_started.communicate(timeout=300)
    lines = [line for line in stdout.splitlines() if line.startswith("RESULT ")]
    assert _fresh_process_started.returncode == 0 and lines, stderr[-3000:]
    return json.loads(lines[-1][len("RESULT "):])


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
    metrics = training.classifier_metrics()
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
    metrics = training.classifier_metrics()
    test_step = training.make_test_step(model, keras.losses.BinaryCrossentropy(from_logits=True), metrics)
    assert training.evaluate(_ds(seed=1), test_step, metrics)["loss"] == pytest.approx(min(losses), rel=1e-5)
