"""Checkers for the exercises of ``notebooks/04_freezing_hyperparameters_lab.ipynb``.

Each checker runs the learner's function on made-up inputs, compares the
result with the kit's rule (the ``"last_k"`` policy of
:func:`crossdomain_kit.models.freezing.freeze` and its parameter count,
:func:`crossdomain_kit.models.freezing.needs_recompile`, the steepest descent of
:func:`crossdomain_kit.training.suggest_learning_rate`, Keras's
BatchNormalization moving averages) and, when it is wrong, recognises the
usual mistakes: BatchNorm counted as trainable, the head forgotten, the first
k layers instead of the last, sizes compared instead of variables, only
unfreezing noticed, the slope taken against the rate instead of its
logarithm, the minimum instead of the steepest descent, the momentum on the
wrong side, the unbiased (PyTorch) variance, the wrong axes.

Pure NumPy: importing this module does not import TensorFlow.
"""

from __future__ import annotations

import numbers

import numpy as np

from ._feedback import Feedback, call_learner

BATCHNORM = "BatchNormalization"

# The backbone layers that hold weights, bottom to top: (name, type, weight values).
# BatchNormalization holds 4 vectors per channel (gamma, beta, moving mean, moving variance).
_LAYERS = [("block1_conv", "Conv2D", 288), ("block1_bn", BATCHNORM, 128),
           ("block2_conv", "Conv2D", 18_432), ("block2_bn", BATCHNORM, 256),
           ("block3_conv", "Conv2D", 73_728), ("block3_bn", BATCHNORM, 512),
           ("block4_conv", "Conv2D", 147_456), ("block4_bn", BATCHNORM, 512)]
_HEAD = 129
_KS = (1, 3, 4, 8)


def _count(layers, head, k, *, batchnorm=0.0, with_head=True, first=False, skip_bn_in_k=False):
    """The trainable count under ``last_k``; the keywords make the usual mistakes."""
    if skip_bn_in_k:
        chosen = [layer for layer in layers if layer[1] != BATCHNORM][-k:]
    else:
        chosen = layers[:k] if first else layers[-k:]
    total = sum(p if t != BATCHNORM else batchnorm * p for _, t, p in chosen)
    return int(round(total)) + (head if with_head else 0)


def check_trainable_count(fn) -> Feedback:
    """Check ``fn(backbone_layers, head_params, k)`` counts what trains under ``freeze(model, "last_k", k=k)``.

    ``backbone_layers`` lists the backbone's layers that hold weights, bottom
    to top, as ``(name, type, params)``; ``k`` counts them BatchNorm included;
    BatchNormalization layers stay frozen (the kit's default); the head
    (``head_params`` values) always trains.

    Args:
        fn: the learner's function of a list of tuples and two integers.

    Returns:
        :class:`Feedback`: passed, or what is wrong and how to fix it.
    """
    answers = []
    for k in _KS:
        result, failure = call_learner(fn, (list(_LAYERS), _HEAD, k))
        if failure is not None:
            return failure
        if isinstance(result, bool) or not isinstance(result, (numbers.Integral, numbers.Real)):
            return Feedback(False, f"Return one number; your function returned a {type(result).__name__}.")
        answers.append(float(result))

    def rule(**mistake):
        return [float(_count(_LAYERS, _HEAD, k, **mistake)) for k in _KS]

    if answers == rule():
        return Feedback(True, "Correct: the head plus the convolutions among the last k layers; "
                        "BatchNorm stays frozen (`freezing.trainable_parameter_count` agrees).")
    for mistake, message in [
        ({"batchnorm": 1.0}, "You counted the BatchNormalization layers: under the kit's policies they "
         "stay frozen (inference mode) unless train_batchnorm=True."),
        ({"batchnorm": 0.5}, "You counted BatchNorm's gamma and beta: they train only with "
         "train_batchnorm=True. By default BatchNorm stays frozen."),
        ({"with_head": False}, "The head is missing: the logit (head_params values) trains under every "
         "policy except 'none'."),
        ({"first": True}, "You counted the first k layers: 'last_k' trains the k layers at the TOP of "
         "the backbone (the end of the list), nearest the head."),
        ({"skip_bn_in_k": True}, "k counts every backbone layer that holds weights, BatchNorm included "
         "(they then stay frozen): take layers[-k:], then skip the BatchNorm ones."),
    ]:
        if answers == rule(**mistake):
            return Feedback(False, message)
    for k, answer, right in zip(_KS, answers, rule()):
        if answer != right:
            return Feedback(False, f"Not quite: for k={k} the count is {right:,.0f}, your function "
                            f"returned {answer:,.0f}.")
    raise AssertionError("unreachable")  # pragma: no cover


# --- Recompile or not -----------------------------------------------------------------------------

_RECOMPILE_CASES = [
    (None, ["logit/kernel", "logit/bias"], False),                         # never compiled
    (["logit/kernel", "logit/bias"], ["logit/kernel", "logit/bias"], False),
    (["a", "b", "c"], ["c", "a", "b"], False),                               # same variables, other order
    (["a", "b", "c"], ["a", "b"], True),                                     # frozen after compile
    (["a", "b"], ["a", "b", "c"], True),                                     # unfrozen after compile
    (["a", "b"], ["a", "c"], True),                                          # same size, other variables
]


def check_needs_recompile(fn) -> Feedback:
    """Check ``fn(built_on, trainable_now)`` says whether the model must be compiled again.

    ``built_on`` is the list of variable names the optimizer was built on
    (None if the model was never compiled), ``trainable_now`` the model's
    trainable variables now, as :func:`crossdomain_kit.models.freezing.needs_recompile` sees them.

    Args:
        fn: the learner's function of two lists of names (the first may be None).

    Returns:
        :class:`Feedback`: passed, or what is wrong and how to fix it.
    """
    for built_on, now, right in _RECOMPILE_CASES:
        args = (None if built_on is None else list(built_on), list(now))
        result, failure = call_learner(fn, args)
        if failure is not None:
            if built_on is None and "raised" in failure.message:
                return Feedback(False, "built_on=None means the model was never compiled: nothing to "
                                f"redo, return False (your function raised: {failure.message}).")
            return failure
        if not isinstance(result, (bool, np.bool_)):
            return Feedback(False, f"Return True or False; your function returned a {type(result).__name__}.")
        if bool(result) == right:
            continue
        if built_on is None:
            return Feedback(False, "A model that was never compiled needs no recompile: compile (or the "
                            "first fit after it) sees the current trainable variables.")
        if not right and sorted(built_on) == sorted(now):
            return Feedback(False, "Same variables in another order need no recompile: compare them as "
                            "sets, set(built_on) != set(trainable_now).")
        if len(built_on) == len(now):
            return Feedback(False, "Same number of variables, different ones: compare the variables "
                            "themselves (as sets), not how many there are.")
        if len(now) < len(built_on):
            return Feedback(False, "Freezing after compile needs a recompile too: a model that has "
                            "trained keeps its compiled train step and goes on updating the old "
                            "variables.")
        return Feedback(False, "Unfreezing after compile needs a recompile: the optimizer does not know "
                        "the new variables, and the compiled train step ignores them.")
    return Feedback(True, "Correct: recompile exactly when the set of trainable variables differs from "
                    "the one the optimizer was built on (`freezing.needs_recompile`).")


# --- The LR finder's steepest descent ---------------------------------------------------------------

def _steepest(lrs, losses, *, against="log", whole=False):
    stop = len(losses) if whole else int(np.argmin(losses)) + 1
    x = np.log10(lrs[:stop]) if against == "log" else lrs[:stop]
    return float(lrs[int(np.argmin(np.gradient(losses[:stop], x)))])


def _sweep():
    """A made-up smoothed sweep: flat, a steep fall, the minimum, a climb with a late dip, divergence."""
    lrs = np.geomspace(1e-6, 1.0, 61)
    t = np.log10(lrs)
    losses = 0.70 - 0.30 / (1 + np.exp(-3.0 * (t + 4.2))) + 0.6 * np.exp(2.2 * (t + 0.6))
    losses[-5:] = [1.9, 1.2, 0.8, 0.9, 1.3]  # a fall after the minimum (still above it): noise
    return lrs, losses


def check_steepest_descent(fn) -> Feedback:
    """Check ``fn(learning_rates, smoothed_losses)`` returns the rate where the loss falls fastest.

    The rule of :func:`crossdomain_kit.training.suggest_learning_rate`
    (``steepest_lr`` with ``skip_start=0``): up to the lowest loss, the slope
    of the loss against ``log10(learning rate)`` (``np.gradient``), and the rate
    where it is most negative. A neighbouring point of the sweep is accepted
    (forward differences).

    Args:
        fn: the learner's function of two 1-D arrays of the same length.

    Returns:
        :class:`Feedback`: passed, or what is wrong and how to fix it.
    """
    lrs, losses = _sweep()
    result, failure = call_learner(fn, (lrs.copy(), losses.copy()))
    if failure is not None:
        return failure
    try:
        rate = float(np.asarray(result, dtype=np.float64).reshape(()))
    except (TypeError, ValueError):
        return Feedback(False, f"Return one learning rate (a number); your function returned {result!r}.")
    index = int(np.argmin(np.abs(np.log(lrs) - np.log(rate)))) if rate > 0 else -1
    right = int(np.argmin(np.abs(lrs - _steepest(lrs, losses))))
    if rate > 0 and abs(index - right) <= 1 and np.isclose(rate, lrs[index], rtol=1e-6):
        return Feedback(True, f"Correct: the loss falls fastest per decade at {lrs[right]:.1e} "
                        "(`suggest_learning_rate(...).steepest_lr`).")
    best = float(lrs[int(np.argmin(losses))])
    for candidate, message in [
        (best, "That is the rate at the LOWEST loss: there the loss has stopped falling, and the step "
         "is already too large. Look for where it falls fastest (most negative slope)."),
        (best / 10, "That is the other rule of thumb (the minimum's rate / 10, the kit's `suggestion`). "
         "This exercise asks for the steepest descent: the most negative slope."),
        (_steepest(lrs, losses, against="lr"), "Take the slope against log10(learning rate): the rates "
         "are spaced geometrically, and per unit of rate the small rates' slopes blow up."),
        (_steepest(lrs, losses, whole=True), "Search only up to the lowest loss: after it the sweep "
         "diverges, and a fall there is noise on the way up, not a good rate."),
    ]:
        if np.isclose(rate, candidate, rtol=1e-6):
            return Feedback(False, message)
    return Feedback(False, f"Not quite: up to the minimum, the slope np.gradient(losses, np.log10(rates)) "
                    f"is most negative at {lrs[right]:.1e}; you returned {rate:.3g}.")


# --- BatchNorm's moving averages --------------------------------------------------------------------

def _bn_update(mean, variance, batch, momentum, *, swap=False, ddof=0, axes=(0, 1, 2), std=False):
    batch_mean = batch.mean(axis=axes)
    batch_var = batch.std(axis=axes, ddof=ddof) if std else batch.var(axis=axes, ddof=ddof)
    keep = 1 - momentum if swap else momentum
    return keep * mean + (1 - keep) * batch_mean, keep * variance + (1 - keep) * batch_var


def check_batchnorm_update(fn, seed: int = 0) -> Feedback:
    """Check ``fn(moving_mean, moving_variance, batch, momentum)`` is Keras's BatchNorm update in ``fit``.

    ``m ← μ·m + (1 − μ)·mean(batch)`` and ``v ← μ·v + (1 − μ)·var(batch)`` per
    channel: the batch is ``(n, height, width, channels)``, the statistics
    are over the first three axes, the variance is the biased one (÷n, as
    Keras computes it).

    Args:
        fn: the learner's function of two arrays (channels,), an array
            (n, height, width, channels) and a number; returns ``(mean, variance)``.
        seed: seed of the made-up batch.

    Returns:
        :class:`Feedback`: passed, or what is wrong and how to fix it.
    """
    rng = np.random.default_rng(seed)
    batch = rng.normal(2.0, 3.0, (4, 3, 3, 5))
    mean, variance, momentum = rng.normal(0, 1, 5), rng.uniform(0.5, 2.0, 5), 0.9
    result, failure = call_learner(fn, (mean.copy(), variance.copy(), batch.copy(), momentum))
    if failure is not None:
        return failure
    try:
        new_mean, new_var = (np.asarray(part, dtype=np.float64) for part in result)
    except (TypeError, ValueError):
        return Feedback(False, "Return a pair (new_mean, new_variance) of arrays.")
    if new_mean.shape != (5,) or new_var.shape != (5,):
        return Feedback(False, f"Return one mean and one variance per channel, shape (5,) each; yours have "
                        f"shapes {new_mean.shape} and {new_var.shape}. Average over axes (0, 1, 2).")
    right_mean, right_var = _bn_update(mean, variance, batch, momentum)
    mean_ok = np.allclose(new_mean, right_mean, rtol=1e-6, atol=1e-9)
    var_ok = np.allclose(new_var, right_var, rtol=1e-6, atol=1e-9)
    if mean_ok and var_ok:
        return Feedback(True, "Correct: each moving statistic keeps μ of itself and takes 1 − μ of the "
                        "batch's, per channel, with the biased variance (what Keras's BatchNormalization does).")
    swapped = _bn_update(mean, variance, batch, momentum, swap=True)
    if np.allclose(new_mean, swapped[0], rtol=1e-6):
        return Feedback(False, "The momentum is on the wrong side: μ multiplies the OLD moving value "
                        "(μ = 0.9 keeps 90 % of it), 1 − μ the batch's statistic.")
    if mean_ok and np.allclose(new_var, _bn_update(mean, variance, batch, momentum, ddof=1)[1], rtol=1e-6):
        return Feedback(False, "Keras uses the biased batch variance (÷n, np.var's default), not the "
                        "unbiased one (÷(n − 1), PyTorch's choice for its running variance).")
    if mean_ok and np.allclose(new_var, _bn_update(mean, variance, batch, momentum, std=True)[1], rtol=1e-6):
        return Feedback(False, "That is the standard deviation: the moving statistic is the VARIANCE.")
    if mean_ok:
        return Feedback(False, "The mean is right, the variance is not: v ← μ·v + (1 − μ)·batch.var(axis=(0, 1, 2)).")
    return Feedback(False, "Not quite: per channel, batch_mean = batch.mean(axis=(0, 1, 2)), then "
                    "m ← μ·m + (1 − μ)·batch_mean (and the same for the variance).")
