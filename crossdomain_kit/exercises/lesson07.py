"""Checkers for the exercises of ``notebooks/07_beyond_fine_tuning.ipynb``.

Each checker runs the learner's function on fresh inputs, compares the result
with the kit (:func:`crossdomain_kit.methods.adaptation.coral_loss`,
:func:`crossdomain_kit.methods.adaptation.proxy_a_distance`, the backward pass of
:class:`crossdomain_kit.methods.adaptation.GradientReversal`) and, when it is wrong,
recognises the usual mistakes: the biased covariance (÷n), features not
centred, the norm not squared, ÷d or no scaling instead of ÷4d², the PAD
without its factor 2 or with the error's sign flipped, a gradient passed
through unreversed or without λ.

Pure NumPy: importing this module does not import TensorFlow.
"""

from __future__ import annotations

import numpy as np

from ._feedback import Feedback, learner_floats, learner_number


def _match(result, candidates, otherwise: str) -> Feedback:
    for candidate, message in candidates:
        if np.allclose(result, candidate, rtol=1e-6, atol=1e-12):
            return Feedback(False, message)
    return Feedback(False, otherwise)


def _coral(source, target, *, ddof=1, centre=True, power=2, scale=None):
    def cov(x):
        centred = x - x.mean(axis=0) if centre else x
        return centred.T @ centred / (len(x) - ddof)

    d = source.shape[1]
    norm = np.sqrt(np.sum((cov(source) - cov(target)) ** 2))
    return norm ** power / (4 * d * d if scale is None else scale)


def check_coral_loss(fn, seed: int = 0) -> Feedback:
    """Check ``fn(source_features, target_features)`` returns ``‖C_S − C_T‖²_F / (4d²)``.

    ``C`` are the unbiased covariances (÷(n − 1)) of the centred features.

    Args:
        fn: the learner's function of two arrays (n_S, d) and (n_T, d).
        seed: seed of the made-up features.

    Returns:
        :class:`Feedback`: passed, or what is wrong and how to fix it.
    """
    rng = np.random.default_rng(seed)
    source = rng.normal(size=(9, 3)) + 1.0
    target = rng.normal(size=(6, 3)) * 2.0 - 0.5
    result, failure = learner_number(fn, (source.copy(), target.copy()))
    if failure is not None:
        return failure
    right = _coral(source, target)
    if np.isclose(result, right, rtol=1e-6, atol=1e-12):
        return Feedback(True, "Correct: ‖C_S − C_T‖²_F / (4d²) with unbiased covariances "
                        "(`crossdomain_kit.methods.adaptation.coral_loss`).")
    d = source.shape[1]
    return _match(result, [
        (_coral(source, target, ddof=0), "You divided the covariance by n; the unbiased covariance "
         "divides by n − 1 (as np.cov does)."),
        (_coral(source, target, centre=False), "The features are not centred: subtract each "
         "column's mean before X̄ᵀX̄."),
        (_coral(source, target, power=1), "The Frobenius norm is not squared: the loss is "
         "‖C_S − C_T‖²_F, the sum of the squared entries."),
        (_coral(source, target, scale=1.0), "The 1/(4d²) is missing."),
        (_coral(source, target, scale=4.0 * d), "You divided by 4d; CORAL divides by 4d²."),
        (_coral(source, target, scale=float(d * d)), "You divided by d²; CORAL divides by 4d²."),
    ], f"Not quite: the loss is {right:.6g}, your function returned {result:.6g}. Centre each "
       "domain's features, take X̄ᵀX̄/(n − 1), subtract, square, sum, divide by 4d².")


def check_proxy_a_distance(fn) -> Feedback:
    """Check ``fn(error)`` returns the proxy A-distance ``2(1 − 2·error)``.

    Args:
        fn: the learner's function of a domain classifier's held-out error in [0, 1].

    Returns:
        :class:`Feedback`: passed, or what is wrong and how to fix it.
    """
    for error in (0.1, 0.35, 0.5):
        result, failure = learner_number(fn, (error,))
        if failure is not None:
            return failure
        right = 2 * (1 - 2 * error)
        if np.isclose(result, right):
            continue
        return _match(result, [
            (1 - 2 * error, "The factor 2 is missing: PAD = 2(1 − 2·err) runs from 0 (chance) to 2 "
             "(perfectly separable)."),
            (2 * (2 * error - 1), "Sign flipped: a small error means the domains are easy to tell "
             "apart, so the distance must be large: 2(1 − 2·err)."),
            (2 * (1 - error), "Use 2·err: PAD = 2(1 − 2·err), so that chance (err = ½) gives 0."),
            (1 - error, "That is the accuracy; PAD = 2(1 − 2·err)."),
        ], f"Not quite: for err = {error} the proxy A-distance is {right:g}, your function "
           f"returned {result:g}.")
    return Feedback(True, "Correct: PAD = 2(1 − 2·err): 0 at chance, 2 when the domains separate "
                    "perfectly (`crossdomain_kit.methods.adaptation.proxy_a_distance`).")


def check_reversed_gradient(fn, seed: int = 0) -> Feedback:
    """Check ``fn(upstream_gradient, strength)`` returns the gradient-reversal layer's backward pass.

    The layer is the identity forward, so its backward pass would pass the
    gradient through unchanged; reversal multiplies it by ``−λ``.

    Args:
        fn: the learner's function of an array (the gradient arriving from the
            domain head) and λ >= 0, returning an array of the same shape.
        seed: seed of the made-up gradient.

    Returns:
        :class:`Feedback`: passed, or what is wrong and how to fix it.
    """
    upstream = np.random.default_rng(seed).normal(size=(4, 3))
    strength = 0.3
    result, failure = learner_floats(fn, (upstream.copy(), strength), "an array")
    if failure is not None:
        return failure
    if result.shape != upstream.shape:
        return Feedback(False, f"Return an array of the gradient's shape {upstream.shape}; got {result.shape}.")
    right = -strength * upstream
    if np.allclose(result, right):
        return Feedback(True, "Correct: the features receive −λ times the domain head's gradient, so "
                        "descending it makes the domains harder to tell apart "
                        "(`crossdomain_kit.methods.adaptation.GradientReversal`).")
    return _match(result, [
        (upstream, "This is the identity's gradient: nothing is reversed. Multiply by −λ."),
        (strength * upstream, "The sign is missing: the features must climb the domain loss, −λ·g."),
        (-upstream, "λ is missing: the reversed gradient is −λ·g."),
        (-upstream / strength, "Multiply by λ, do not divide: −λ·g."),
    ], "Not quite: the backward pass of gradient reversal is −λ·g.")
