"""Checkers for the exercises of ``notebooks/06_overfitting_controls.ipynb``.

Each checker runs the learner's function on fresh inputs, compares the
result with the kit (:func:`crossdomain_kit.methods.adversarial.fgsm_step`,
:func:`crossdomain_kit.methods.adversarial.logistic_input_gradient`, the patience
rule of :func:`crossdomain_kit.training.run_epochs`) and, when it is wrong,
recognises the usual mistakes: the raw gradient instead of its sign, a step
down the loss instead of up, no clipping, ``y − σ(z)`` instead of ``σ(z) − y``,
the weight gradient ``(σ(z) − y)·x`` instead of the input gradient, a
missing sigmoid, early stopping one epoch late or keeping the last epoch.

Pure NumPy: importing this module does not import TensorFlow.
"""

from __future__ import annotations

import numpy as np

from ..theory.losses import sigmoid
from ._feedback import Feedback, call_learner, learner_array


def _match(result, candidates, otherwise: str) -> Feedback:
    for candidate, message in candidates:
        if np.shape(candidate) == result.shape and np.allclose(result, candidate, rtol=1e-6, atol=1e-9):
            return Feedback(False, message)
    return Feedback(False, otherwise)


def check_fgsm_step(fn, seed: int = 0) -> Feedback:
    """Check ``fn(x, gradient, epsilon, low, high)`` returns ``clip(x + ε·sign(gradient), low, high)``.

    Args:
        fn: the learner's function of two arrays of one shape and three numbers.
        seed: seed of the made-up inputs.

    Returns:
        :class:`Feedback`: passed, or what is wrong and how to fix it.
    """
    rng = np.random.default_rng(seed)
    x = rng.uniform(0, 1, (3, 4, 4, 1))
    x[0, 0, 0, 0], x[0, 0, 1, 0] = 0.99, 0.01          # near the edges: clipping matters
    gradient = rng.normal(0, 0.02, x.shape)
    gradient[0, 0, 0, 0], gradient[0, 0, 1, 0] = 1.0, -1.0
    epsilon, low, high = 0.05, 0.0, 1.0
    result, failure = learner_array(fn, (x.copy(), gradient.copy(), epsilon, low, high), x.shape)
    if failure is not None:
        return failure
    right = np.clip(x + epsilon * np.sign(gradient), low, high)
    if np.allclose(result, right, rtol=1e-6, atol=1e-9):
        return Feedback(True, "Correct: every value moves by ε in the direction that raises its loss, "
                        "then stays in the valid range (`crossdomain_kit.methods.adversarial.fgsm_step`).")
    return _match(result, [
        (np.clip(x + epsilon * gradient, low, high), "You used the gradient itself; FGSM uses its "
         "sign, so every value moves by exactly ε (an L∞ step)."),
        (np.clip(x - epsilon * np.sign(gradient), low, high), "Wrong direction: x − ε·sign(g) "
         "lowers the loss (that is a descent step). The attack climbs: x + ε·sign(g)."),
        (x + epsilon * np.sign(gradient), "Clip the result to [low, high]: an image cannot leave "
         "the range its pixels come from."),
        (np.clip(x, low, high) + epsilon * np.sign(gradient), "Clip after the step, not before."),
    ], "Not quite: return np.clip(x + epsilon * np.sign(gradient), low, high).")


def check_logistic_input_gradient(fn, seed: int = 0) -> Feedback:
    """Check ``fn(x, y, w, b)`` returns ``∂ℓ_i/∂x_i = (σ(x_i·w + b) − y_i)·w``, one row per example.

    Args:
        fn: the learner's function of x (n, d), y (n,), w (d,) and a number b.
        seed: seed of the made-up inputs.

    Returns:
        :class:`Feedback`: passed, or what is wrong and how to fix it.
    """
    rng = np.random.default_rng(seed)
    x, y, w, b = rng.normal(size=(5, 3)), np.array([1.0, 0.0, 1.0, 1.0, 0.0]), rng.normal(size=3), 0.4
    result, failure = learner_array(fn, (x.copy(), y.copy(), w.copy(), b), x.shape)
    if failure is not None:
        return failure
    z = x @ w + b
    right = (sigmoid(z) - y)[:, None] * w
    if np.allclose(result, right, rtol=1e-6, atol=1e-12):
        return Feedback(True, "Correct: ∂ℓ/∂z = σ(z) − y times ∂z/∂x = w "
                        "(`crossdomain_kit.methods.adversarial.logistic_input_gradient`).")
    return _match(result, [
        (-right, "Sign flipped: ∂ℓ/∂z = σ(z) − y, not y − σ(z)."),
        ((sigmoid(z) - y)[:, None] * x, "That is the gradient with respect to the weights, "
         "(σ(z) − y)·x. With respect to the input it is (σ(z) − y)·w."),
        ((z - y)[:, None] * w, "The sigmoid is missing: ∂ℓ/∂z = σ(z) − y, with σ(z) the probability."),
        (right / len(y), "Each row is one example's own loss gradient: do not divide by n (the "
         "mean's gradient, divided by n, has the same sign but not the same size)."),
    ], "Not quite: compute z = x @ w + b, then (sigmoid(z) − y)[:, None] * w.")


def _early_stopping(losses, patience, *, slack: int = 0, keep: str = "best"):
    """``(epochs_run, kept_epoch)``; ``slack`` and ``keep`` make the usual mistakes."""
    best = 0
    ran = len(losses)
    for epoch in range(1, len(losses)):
        if losses[epoch] < losses[best]:
            best = epoch
        elif epoch - best >= patience + slack:
            ran = epoch + 1
            break
    kept = {"best": best, "last": ran - 1, "overall": int(np.argmin(losses))}[keep]
    return ran, kept


_STOPPING_CASES = [([0.9, 0.7, 0.6, 0.62, 0.65, 0.5, 0.4], 2),
                   ([0.9, 0.7, 0.6, 0.62, 0.65, 0.5, 0.4], 3),
                   ([0.5, 0.4, 0.3, 0.25], 2),
                   ([0.5, 0.6, 0.7, 0.8, 0.9], 1)]


def check_early_stopping(fn) -> Feedback:
    """Check ``fn(val_losses, patience)`` returns ``(epochs_run, kept_epoch)`` of early stopping.

    Training stops after ``patience`` epochs in a row without a lower
    validation loss (0-based epochs; ``epochs_run`` counts the epochs that
    ran) and keeps the weights of the lowest-loss epoch seen so far, as
    ``run_epochs(patience=..., restore_best=True)`` does.

    Args:
        fn: the learner's function of a list of validation losses and an int.

    Returns:
        :class:`Feedback`: passed, or what is wrong and how to fix it.
    """
    answers = []
    for losses, patience in _STOPPING_CASES:
        result, failure = call_learner(fn, (list(losses), patience))
        if failure is not None:
            return failure
        if not isinstance(result, tuple) or len(result) != 2:
            return Feedback(False, "Return a pair (epochs_run, kept_epoch).")
        try:
            answers.append(tuple(int(v) for v in result))
        except (TypeError, ValueError):
            return Feedback(False, "Return two integers (epochs_run, kept_epoch).")

    def rule(**mistake):
        return [_early_stopping(losses, patience, **mistake) for losses, patience in _STOPPING_CASES]

    if answers == rule():
        return Feedback(True, "Correct: stop after `patience` epochs without improvement and keep the "
                        "best epoch (`run_epochs(patience=..., restore_best=True)`).")
    for mistake, message in [
        ({"keep": "last"}, "You kept the last epoch that ran: keep the one with the lowest validation "
         "loss (restore_best), or the overfitted weights stay."),
        ({"keep": "overall"}, "You kept the lowest loss of the whole list, including epochs after "
         "training stopped: only the epochs that ran can be kept."),
        ({"slack": 1}, "Off by one: you stop one epoch late. Stop as soon as `patience` epochs in "
         "a row have not improved on the best (epoch − best_epoch >= patience)."),
        ({"slack": -1}, "Off by one: you stop one epoch early. Stop once `patience` epochs in a row "
         "have not improved on the best (epoch − best_epoch >= patience)."),
    ]:
        if answers == rule(**mistake):
            return Feedback(False, message)
    for (losses, patience), answer, right in zip(_STOPPING_CASES, answers, rule()):
        if answer != right:
            return Feedback(False, f"Not quite: for losses {losses} with patience {patience} the answer "
                            f"is {right}, your function returned {answer}.")
    raise AssertionError("unreachable")  # pragma: no cover
