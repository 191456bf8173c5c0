"""Central-difference gradients, the ground truth for every analytic gradient.

Introduced in ``notebooks/02_bce_gradient.ipynb``.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from .. import _checks


def numerical_gradient(f: Callable[[np.ndarray], float], theta, eps: float = 1e-6) -> np.ndarray:
    """∂f/∂θ_i ≈ (f(θ + ε e_i) − f(θ − ε e_i)) / (2ε) for every entry of θ.

    The error is O(ε²) plus rounding of order (machine ε)/ε, so ε ≈ 1e-6
    gives about 1e-9 absolute accuracy in float64 for well-scaled f.

    Args:
        f: scalar function of an array shaped like ``theta``.
        theta: point at which to differentiate (any shape).
        eps: step size, > 0.

    Returns:
        Array shaped like ``theta``.

    Raises:
        ValueError: if ``theta`` is empty or not finite, or ``eps`` <= 0.
    """
    theta = _checks.float_array(theta, "theta")
    eps = _checks.positive(eps, "eps")
    grad = np.empty_like(theta)
    step = np.zeros_like(theta)
    for i in np.ndindex(theta.shape):
        step[i] = eps
        grad[i] = (float(f(theta + step)) - float(f(theta - step))) / (2 * eps)
        step[i] = 0.0
    return grad


def relative_error(a, b) -> float:
    """max |a − b| / max(1, |a|, |b|): the scale-aware gap between two gradients."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    return float(np.max(np.abs(a - b)) / max(1.0, np.max(np.abs(a)), np.max(np.abs(b))))
