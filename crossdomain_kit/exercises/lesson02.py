"""Checkers for the exercises of ``notebooks/02_bce_gradient.ipynb``.

Each checker runs the learner's function on fresh random inputs, compares the
result with the kit and, when it is wrong, recognises the usual mistakes: a
flipped sign, a sum where a mean belongs (or a mean too many), a sigmoid
applied twice, a forgotten bias, ∂ℓ/∂ŷ instead of ∂ℓ/∂z, a wrong shape, and a
function that is not written yet.
"""

from __future__ import annotations

import numpy as np

from ..theory.losses import bce_gradient_logits, logistic_risk_gradient, sigmoid
from ._feedback import Feedback, call_learner

_RTOL, _ATOL = 1e-5, 1e-7  # loose enough for float32 (TensorFlow) answers


def _run(fn, args, expected_shape):
    """Call the learner's function; return (array, None) or (None, Feedback)."""
    result, failure = call_learner(fn, [np.array(a, copy=True) for a in args])
    if failure is not None:
        return None, failure
    try:
        with np.errstate(all="ignore"):
            array = np.asarray(result, dtype=np.float64)
    except (TypeError, ValueError):
        return None, Feedback(False, "Your function must return one array of numbers; "
                              f"it returned a {type(result).__name__}.")
    if array.shape != expected_shape and array.size == int(np.prod(expected_shape)):
        return None, Feedback(False, f"Wrong shape: expected {expected_shape}, got {array.shape}. "
                              "The values may be right: return a flat array (e.g. `.ravel()`).")
    return array, None


def _matches(result, candidate) -> bool:
    return result.shape == candidate.shape and np.allclose(result, candidate, rtol=_RTOL, atol=_ATOL)


def _diagnose(result, expected, mistakes, what: str) -> Feedback | None:
    """None when ``result`` is right; otherwise the Feedback of the mistake it matches."""
    if _matches(result, expected):
        return None
    for candidate, message in mistakes:
        if _matches(result, candidate):
            return Feedback(False, message)
    if result.shape != expected.shape:
        return Feedback(False, f"Wrong shape: expected {what} of shape {expected.shape}, "
                        f"got shape {result.shape}.")
    if not np.all(np.isfinite(result)):
        return Feedback(False, "Your result contains NaN or infinity on ordinary inputs.")
    i = int(np.argmax(np.abs(result - expected)))
    return Feedback(False, f"Not quite: entry {i} should be {expected.flat[i]:.6g} but is "
                    f"{result.flat[i]:.6g}. Go back to the chain rule, one factor at a time.")


def _labels(rng, n):
    y = rng.integers(0, 2, n).astype(np.float64)
    y[:2] = [0.0, 1.0]  # both classes, always
    return rng.permutation(y)


def check_bce_gradient(fn, seed: int = 0) -> Feedback:
    """Check ``fn(y_true, logits)`` returns the per-example ∂ℓ/∂z = σ(z) − y.

    Args:
        fn: the learner's function of labels (n,) and logits (n,), returning
            an array of shape (n,).
        seed: seed of the fresh random inputs.

    Returns:
        :class:`Feedback`: passed, or what is wrong and how to fix it.
    """
    rng = np.random.default_rng(seed)
    n = 9
    y = _labels(rng, n)
    z = rng.normal(0.0, 2.0, n)
    result, failure = _run(fn, (y, z), (n,))
    if failure is not None:
        return failure
    s = sigmoid(z)
    right = s - y
    mean_hint = ("This function returns one derivative per example, ∂ℓᵢ/∂zᵢ = σ(zᵢ) − yᵢ: "
                 "no mean and no sum here (the mean belongs to the risk, in the next exercise).")
    mistakes = [
        (y - s, "Flipped sign: you returned y − σ(z). ∂ℓ/∂z = σ(z) − y (it is positive when the "
                "prediction is too high, so a descent step lowers z)."),
        (sigmoid(s) - y, "Sigmoid applied twice: the inputs are logits z, and you squashed σ(z) "
                         "through σ again. Apply σ once: σ(z) − y."),
        (z - y, "The sigmoid is missing: you returned z − y. The prediction is ŷ = σ(z), so the "
                "gradient is σ(z) − y."),
        (s - (1 - y), "The labels are swapped: you returned σ(z) − (1 − y). Use σ(z) − y."),
        (right * s * (1 - s), "Extra factor σ(z)(1 − σ(z)): in the chain rule dℓ/dŷ · dŷ/dz this "
                              "factor cancels against the denominator of dℓ/dŷ. The product is "
                              "simply σ(z) − y."),
        (right / (s * (1 - s)), "You returned dℓ/dŷ, the derivative with respect to the "
                                "probability. Multiply by dŷ/dz = σ(z)(1 − σ(z)) to get "
                                "dℓ/dz = σ(z) − y."),
        (right / n, "Extra mean: you divided by n. " + mean_hint),
        (np.array(right.mean()), "You returned the mean gradient, a single number. " + mean_hint),
        (np.array(right.sum()), "You returned the summed gradient, a single number. " + mean_hint),
    ]
    feedback = _diagnose(result, right, mistakes, "one derivative per example")
    if feedback is not None:
        return feedback
    extreme_y = np.array([1.0, 0.0, 0.0, 1.0])
    extreme_z = np.array([-1000.0, -1000.0, 1000.0, 1000.0])
    with np.errstate(all="ignore"):  # a naive σ overflows here; only its result matters
        result, failure = _run(fn, (extreme_y, extreme_z), (4,))
    if failure is not None or not _matches(result, bce_gradient_logits(extreme_y, extreme_z)):
        return Feedback(False, "Right on ordinary logits, but not at z = ±1000 (expected "
                        "[−1, 0, 1, 0]). Compute σ without overflow, e.g. with "
                        "`crossdomain_kit.theory.losses.sigmoid`.")
    return Feedback(True, "Correct: ∂ℓ/∂z = σ(z) − y for every example, and it stays finite "
                    "at z = ±1000.")


def check_logistic_gradient(fn, seed: int = 0) -> Feedback:
    """Check ``fn(theta, X, y_true)`` returns ∇θ of the mean BCE of the logistic model.

    θ = [w_1, …, w_d, b] (bias last), z = X·w + b, and
    ∇θ R = (1/n) Σᵢ (σ(zᵢ) − yᵢ) [xᵢ, 1].

    Args:
        fn: the learner's function of θ (d + 1,), X (n, d) and labels (n,),
            returning an array of shape (d + 1,).
        seed: seed of the fresh random inputs.

    Returns:
        :class:`Feedback`: passed, or what is wrong and how to fix it.
    """
    rng = np.random.default_rng(seed)
    n, d = 11, 3
    X = rng.normal(0.0, 1.0, (n, d))
    y = _labels(rng, n)
    theta = rng.normal(0.0, 1.0, d + 1)
    result, failure = _run(fn, (theta, X, y), (d + 1,))
    if failure is not None:
        return failure
    right = logistic_risk_gradient(theta, X, y)
    z = X @ theta[:-1] + theta[-1]

    def gradient_from(residual):
        return np.append(X.T @ residual, residual.sum()) / n

    mistakes = [
        (-right, "Flipped sign: the gradient is (1/n) Σ (σ(zᵢ) − yᵢ)[xᵢ, 1], not (yᵢ − σ(zᵢ)). "
                 "With the wrong sign, gradient descent climbs the loss."),
        (right * n, "Missing mean: you summed over the examples. The risk is the mean loss, so "
                    "divide the sum by n."),
        (right / n, "Extra mean: you divided by n twice (e.g. `np.mean` of terms already divided "
                    "by n). Divide once."),
        (right[:-1], "The bias is missing: θ = [w_1, …, w_d, b] has d + 1 entries, so return the "
                     "weights' gradient followed by ∂R/∂b = mean(σ(z) − y)."),
        (np.append(right[:-1], 0.0), "∂R/∂b is zero in your answer: the bias gets gradient "
                                     "mean(σ(z) − y), the same residuals with x replaced by 1."),
        (np.roll(right, 1), "The bias entry is first: the kit puts the bias last, "
                            "θ = [w_1, …, w_d, b]."),
        (logistic_risk_gradient(np.append(theta[:-1], 0.0), X, y),
         "Your logits ignore the bias: use z = X·w + b with b = theta[-1]."),
        (gradient_from(sigmoid(sigmoid(z)) - y),
         "Sigmoid applied twice: X·w + b are logits; apply σ once to get ŷ."),
        (gradient_from(z - y), "The sigmoid is missing: the residual is σ(z) − y, not z − y."),
        (gradient_from((sigmoid(z) - y) * sigmoid(z) * (1 - sigmoid(z))),
         "Extra factor σ(z)(1 − σ(z)): it cancels in the chain rule; the residual is σ(z) − y."),
    ]
    feedback = _diagnose(result, right, mistakes, "the gradient [∂R/∂w_1, …, ∂R/∂w_d, ∂R/∂b]")
    if feedback is not None:
        return feedback
    big_theta = theta * 500.0  # logits in the hundreds
    with np.errstate(all="ignore"):
        result, failure = _run(fn, (big_theta, X, y), (d + 1,))
    if failure is not None or not _matches(result, logistic_risk_gradient(big_theta, X, y)):
        return Feedback(False, "Right for moderate θ, but wrong or not finite when the logits "
                        "are in the hundreds. Compute σ without overflow, e.g. with "
                        "`crossdomain_kit.theory.losses.sigmoid`.")
    return Feedback(True, "Correct: (1/n) Σ (σ(zᵢ) − yᵢ)[xᵢ, 1] with the bias last, and it "
                    "stays finite for large logits.")
