"""Binary cross-entropy, its gradients and the logistic model, in NumPy.

Conventions: ``y_true`` holds labels in {0, 1}; ``logits`` are the raw scores
z (before the sigmoid); ``y_prob`` are probabilities σ(z). Loss functions
return one loss per example, like Keras losses with ``reduction=None``.

The logistic model has parameters θ = [w_1, …, w_d, b] in one flat vector, so
that gradient descent and finite differences work on θ directly:
z = X·w + b.

Introduced in ``notebooks/02_bce_gradient.ipynb``; TensorFlow twins are in
:mod:`crossdomain_kit.theory.tf_math`.
"""

from __future__ import annotations

import numpy as np

from .. import _checks

KERAS_EPSILON = 1e-7
"""Keras's ``backend.epsilon()``: probabilities are clipped to [ε, 1 − ε]."""


def sigmoid(logits) -> np.ndarray:
    """Numerically stable logistic function σ(z) = 1 / (1 + e^(−z)).

    Never evaluates ``exp`` of a large positive number, so ``sigmoid(-1e4)``
    is 0.0 with no overflow warning.

    Args:
        logits: array-like of real numbers.

    Returns:
        Array of the same shape with values in [0, 1].
    """
    z = np.asarray(logits, dtype=np.float64)
    e = np.exp(-np.abs(z))  # in (0, 1]: cannot overflow
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def logit(y_prob) -> np.ndarray:
    """The inverse of :func:`sigmoid`: logit(p) = log(p / (1 − p)), the log-odds.

    Args:
        y_prob: array-like of probabilities strictly between 0 and 1 (0 and 1
            map to −inf and +inf).

    Returns:
        Array of the same shape (a NumPy scalar for a scalar) of real numbers.
    """
    p = np.asarray(y_prob, dtype=np.float64)
    with np.errstate(divide="ignore"):
        return np.log(p / (1 - p))


def binary_cross_entropy(y_true, y_prob, epsilon: float = KERAS_EPSILON) -> np.ndarray:
    """ℓ = −[y log ŷ + (1 − y) log(1 − ŷ)] on probabilities.

    Args:
        y_true: labels in {0, 1}.
        y_prob: predicted probabilities ŷ in [0, 1], same shape.
        epsilon: ŷ is clipped to [ε, 1 − ε] as Keras does. With ``epsilon=0``
            a confident wrong prediction gives ``inf`` (the log(0) trap).

    Returns:
        Per-example losses, same shape as ``y_true``.

    Raises:
        ValueError: on shape mismatch, labels outside {0, 1}, probabilities
            outside [0, 1], empty or non-finite input, or ε outside [0, 0.5).
    """
    y = _checks.binary_labels(y_true, "y_true")
    p = _checks.probabilities(y_prob, "y_prob")
    _checks.same_shape(y, p, "y_true", "y_prob")
    if not 0 <= epsilon < 0.5:
        raise _checks.fail("`epsilon` must be in [0, 0.5).", "epsilon", epsilon)
    p = np.clip(p, epsilon, 1 - epsilon)
    with np.errstate(divide="ignore"):  # log(0) = -inf is the documented trap
        return -(y * np.log(p) + (1 - y) * np.log1p(-p))


def binary_cross_entropy_from_logits(y_true, logits) -> np.ndarray:
    """The same loss computed from logits in the stable form.

    ℓ(z, y) = max(z, 0) − z·y + log(1 + e^(−|z|)), algebraically equal to
    −[y log σ(z) + (1 − y) log(1 − σ(z))] but finite for every finite z
    (this is what ``from_logits=True`` does in Keras).

    Args:
        y_true: labels in {0, 1}.
        logits: raw scores z, same shape.

    Returns:
        Per-example losses, same shape as ``y_true``.

    Raises:
        ValueError: on shape mismatch, bad labels, empty or non-finite input.
    """
    y = _checks.binary_labels(y_true, "y_true")
    z = _checks.float_array(logits, "logits")
    _checks.same_shape(y, z, "y_true", "logits")
    return np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z)))


def bce_gradient_logits(y_true, logits) -> np.ndarray:
    """∂ℓ/∂z = σ(z) − y, one entry per example.

    Args:
        y_true: labels in {0, 1}.
        logits: raw scores z, same shape.

    Returns:
        Per-example derivative of the from-logits loss, in [−1, 1].

    Raises:
        ValueError: on shape mismatch, bad labels, empty or non-finite input.
    """
    y = _checks.binary_labels(y_true, "y_true")
    z = _checks.float_array(logits, "logits")
    _checks.same_shape(y, z, "y_true", "logits")
    return sigmoid(z) - y


def _logistic_inputs(theta, X, y_true, sample_weight):
    theta = _checks.float_array(theta, "theta", ndim=1)
    X = _checks.float_array(X, "X", ndim=2)
    y = _checks.binary_labels(y_true, "y_true")
    if y.shape != (X.shape[0],):
        raise ValueError(
            "`y_true` must have one label per row of `X`. "
            f"Received: X.shape={X.shape}, y_true.shape={y.shape}"
        )
    if theta.shape != (X.shape[1] + 1,):
        raise ValueError(
            "`theta` must hold one weight per feature of `X` plus the bias "
            f"(length {X.shape[1] + 1}). Received: theta.shape={theta.shape}"
        )
    if sample_weight is None:
        s = np.full(X.shape[0], 1.0 / X.shape[0])
    else:
        s = _checks.float_array(sample_weight, "sample_weight", ndim=1)
        if s.shape != y.shape or np.any(s < 0) or s.sum() <= 0:
            raise _checks.fail(
                "`sample_weight` must be one non-negative weight per example, not all zero.",
                "sample_weight", s)
        s = s / s.sum()
    return theta, X, y, s


def logistic_logits(theta, X) -> np.ndarray:
    """z = X·w + b for θ = [w, b].

    Args:
        theta: parameters, shape (d + 1,).
        X: inputs, shape (n, d).

    Returns:
        Logits, shape (n,).
    """
    theta = _checks.float_array(theta, "theta", ndim=1)
    X = _checks.float_array(X, "X", ndim=2)
    if theta.shape != (X.shape[1] + 1,):
        raise ValueError(
            f"`theta` must have length {X.shape[1] + 1} for X with {X.shape[1]} features. "
            f"Received: theta.shape={theta.shape}"
        )
    return X @ theta[:-1] + theta[-1]


def logistic_risk(theta, X, y_true, sample_weight=None) -> float:
    """Empirical risk Σ_i s_i ℓ(z_i, y_i) of the logistic model.

    Args:
        theta: parameters [w, b], shape (d + 1,).
        X: inputs, shape (n, d).
        y_true: labels in {0, 1}, shape (n,).
        sample_weight: non-negative weights, shape (n,); normalised to sum to
            one. ``None`` gives the plain mean (s_i = 1/n). Use
            :func:`crossdomain_kit.theory.risk.domain_sample_weights` for the joint
            and α-weighted risks of lesson 01.

    Returns:
        The weighted mean loss, a float.
    """
    theta, X, y, s = _logistic_inputs(theta, X, y_true, sample_weight)
    z = X @ theta[:-1] + theta[-1]
    return float(s @ binary_cross_entropy_from_logits(y, z))


def logistic_risk_gradient(theta, X, y_true, sample_weight=None) -> np.ndarray:
    """∇θ of :func:`logistic_risk`: the chain rule through z = X·w + b.

    ∂R/∂w = Σ_i s_i (σ(z_i) − y_i) x_i  and  ∂R/∂b = Σ_i s_i (σ(z_i) − y_i).

    Args:
        theta, X, y_true, sample_weight: as in :func:`logistic_risk`.

    Returns:
        Gradient, shape (d + 1,): the weights' entries, then the bias's.
    """
    theta, X, y, s = _logistic_inputs(theta, X, y_true, sample_weight)
    residual = s * (sigmoid(X @ theta[:-1] + theta[-1]) - y)
    return np.append(X.T @ residual, residual.sum())
