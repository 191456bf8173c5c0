"""Tests of the lesson-04 exercise checkers: correct answers pass, typical mistakes get their diagnosis."""

import numpy as np
import pytest

from tests._exercise_checks import COMMON_FAILURES, assert_fails_with, assert_passes

from crossdomain_kit.exercises.lesson04 import (_LAYERS, _sweep, check_batchnorm_update,
                                                check_needs_recompile, check_steepest_descent,
                                                check_trainable_count)


# --- Trainable parameter count under last_k ---------------------------------------------------------

def _count(layers, head, k):
    return head + sum(p for _, t, p in layers[-k:] if t != "BatchNormalization")


def test_checker_layers_are_the_small_cnns():
    """The made-up table is the kit's small CNN on one grey channel, so the rule is the kit's."""
    from crossdomain_kit.models.freezing import freeze, freeze_report, trainable_parameter_count
    from crossdomain_kit.models.classifier import build_classifier

    model = build_classifier("small_cnn", (16, 16, 1), seed=0)
    rows = [(r.name, r.type, r.params) for r in freeze_report(model) if r.part == "backbone"]
    assert rows == _LAYERS
    for k in (1, 3, 4, 8):
        freeze(model, "last_k", k=k)
        assert trainable_parameter_count(model) == _count(_LAYERS, 129, k)


@pytest.mark.parametrize("fn", [_count, lambda layers, head, k: float(_count(layers, head, k))])
def test_correct_count_passes(fn):
    assert_passes(check_trainable_count(fn))


def _bn(share):
    return lambda layers, head, k: head + sum(p * (share if t == "BatchNormalization" else 1)
                                              for _, t, p in layers[-k:])


@pytest.mark.parametrize("fn, diagnosis", COMMON_FAILURES + [
    (_bn(1.0), "You counted the BatchNormalization layers"),
    (_bn(0.5), "You counted BatchNorm's gamma and beta"),
    (lambda layers, head, k: _count(layers, 0, k), "The head is missing"),
    (lambda layers, head, k: head + sum(p for _, t, p in layers[:k] if t != "BatchNormalization"),
     "first k layers"),
    (lambda layers, head, k: head + sum(p for _, t, p in [r for r in layers if r[1] != "BatchNormalization"][-k:]),
     "k counts every backbone layer"),
    (lambda layers, head, k: "many", "Return one number"),
    (lambda layers, head, k: 7, "Not quite: for k=1"),
])
def test_count_mistakes_are_diagnosed(fn, diagnosis):
    assert_fails_with(check_trainable_count(fn), diagnosis)


# --- Recompile or not ------------------------------------------------------------------------------

@pytest.mark.parametrize("fn", [
    lambda built, now: built is not None and set(built) != set(now),
    lambda built, now: np.bool_(built is not None and sorted(built) != sorted(now)),
])
def test_correct_recompile_rule_passes(fn):
    assert_passes(check_needs_recompile(fn))


@pytest.mark.parametrize("fn, diagnosis", COMMON_FAILURES[:1] + COMMON_FAILURES[3:] + [
    (lambda built, now: set(built) != set(now), "never compiled"),
    (lambda built, now: True, "never compiled"),
    (lambda built, now: built is not None and built != now, "compare them as sets"),
    (lambda built, now: built is not None and len(built) != len(now), "not how many there are"),
    (lambda built, now: built is not None and bool(set(now) - set(built)), "Freezing after compile"),
    (lambda built, now: built is not None and bool(set(built) - set(now)), "Unfreezing after compile"),
    (lambda built, now: "yes", "Return True or False"),
])
def test_recompile_mistakes_are_diagnosed(fn, diagnosis):
    assert_fails_with(check_needs_recompile(fn), diagnosis)


def test_recompile_rule_crashing_on_none_is_told_what_none_means():
    assert_fails_with(check_needs_recompile(lambda built, now: len(built) != len(now) or set(built) != set(now)),
                "never compiled")


# --- Steepest descent of the LR finder ------------------------------------------------------------------

def _steepest(lrs, losses):
    stop = int(np.argmin(losses)) + 1
    return lrs[int(np.argmin(np.gradient(losses[:stop], np.log10(lrs[:stop]))))]


def test_checker_sweep_agrees_with_the_kit():
    from crossdomain_kit.training import suggest_learning_rate

    lrs, losses = _sweep()
    assert suggest_learning_rate(lrs, losses, skip_start=0).steepest_lr == pytest.approx(_steepest(lrs, losses))


@pytest.mark.parametrize("fn", [
    _steepest,
    lambda lrs, losses: lrs[int(np.argmin(np.diff(losses[:int(np.argmin(losses)) + 1])))],  # forward differences
    lambda lrs, losses: np.array([_steepest(lrs, losses)]),
])
def test_correct_steepest_descent_passes(fn):
    assert_passes(check_steepest_descent(fn))


@pytest.mark.parametrize("fn, diagnosis", COMMON_FAILURES + [
    (lambda lrs, losses: lrs[int(np.argmin(losses))], "LOWEST loss"),
    (lambda lrs, losses: lrs[int(np.argmin(losses))] / 10, "other rule of thumb"),
    (lambda lrs, losses: lrs[int(np.argmin(np.gradient(losses[:int(np.argmin(losses)) + 1],
                                                       lrs[:int(np.argmin(losses)) + 1])))],
     "against log10"),
    (lambda lrs, losses: lrs[int(np.argmin(np.gradient(losses, np.log10(lrs))))], "only up to the lowest"),
    (lambda lrs, losses: "fast", "Return one learning rate"),
    (lambda lrs, losses: 1.0, "Not quite"),
    (lambda lrs, losses: -1.0, "Not quite"),
])
def test_steepest_descent_mistakes_are_diagnosed(fn, diagnosis):
    assert_fails_with(check_steepest_descent(fn), diagnosis)


# --- BatchNorm's moving averages -------------------------------------------------------------------------

def _update(mean, var, batch, momentum):
    return (momentum * mean + (1 - momentum) * batch.mean(axis=(0, 1, 2)),
            momentum * var + (1 - momentum) * batch.var(axis=(0, 1, 2)))


def test_checker_rule_is_keras_batchnorm():
    import keras

    rng = np.random.default_rng(1)
    batch = rng.normal(1.0, 2.0, (4, 3, 3, 5)).astype("float32")
    layer = keras.layers.BatchNormalization(momentum=0.9)
    layer.build(batch.shape)
    mean, var = layer.moving_mean.numpy().copy(), layer.moving_variance.numpy().copy()
    layer(batch, training=True)
    expected = _update(mean.astype(float), var.astype(float), batch.astype(float), 0.9)
    np.testing.assert_allclose(layer.moving_mean.numpy(), expected[0], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(layer.moving_variance.numpy(), expected[1], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("fn", [_update, lambda m, v, b, mu: [list(x) for x in _update(m, v, b, mu)]])
def test_correct_batchnorm_update_passes(fn):
    assert_passes(check_batchnorm_update(fn))


@pytest.mark.parametrize("fn, diagnosis", COMMON_FAILURES + [
    (lambda m, v, b, mu: ((1 - mu) * m + mu * b.mean(axis=(0, 1, 2)), (1 - mu) * v + mu * b.var(axis=(0, 1, 2))),
     "wrong side"),
    (lambda m, v, b, mu: (_update(m, v, b, mu)[0], mu * v + (1 - mu) * b.var(axis=(0, 1, 2), ddof=1)),
     "biased batch variance"),
    (lambda m, v, b, mu: (_update(m, v, b, mu)[0], mu * v + (1 - mu) * b.std(axis=(0, 1, 2))),
     "standard deviation"),
    (lambda m, v, b, mu: (_update(m, v, b, mu)[0], v), "The mean is right"),
    (lambda m, v, b, mu: (mu * m + (1 - mu) * b.mean(axis=0), v), "per channel"),
    (lambda m, v, b, mu: (m, v), "Not quite"),
    (lambda m, v, b, mu: 3, "Return a pair"),
])
def test_batchnorm_mistakes_are_diagnosed(fn, diagnosis):
    assert_fails_with(check_batchnorm_update(fn), diagnosis)


def test_the_checkers_do_not_import_tensorflow():
    import subprocess
    import sys

    code = ("import sys, crossdomain_kit.exercises.lesson04; "
            "print('tensorflow' in sys.modules, 'keras' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]
