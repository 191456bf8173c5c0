"""Plain gradient descent: θ ← θ − η ∇L(θ).

Introduced in ``notebooks/01_joint_empirical_risk.ipynb``.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from .. import _checks


def gradient_descent_step(theta, gradient, learning_rate: float) -> np.ndarray:
    """One update θ ← θ − η ∇L(θ); returns a new array, ``theta`` is untouched.

    Args:
        theta: current parameters.
        gradient: ∇L(θ), same shape.
        learning_rate: η > 0.

    Returns:
        The updated parameters.

    Raises:
        ValueError: on shape mismatch, non-finite input or η <= 0.
    """
    theta = _checks.float_array(theta, "theta")
    gradient = _checks.float_array(gradient, "gradient")
    _checks.same_shape(theta, gradient, "theta", "gradient")
    return theta - _checks.positive(learning_rate, "learning_rate") * gradient


def gradient_descent(
    loss: Callable[[np.ndarray], float],
    gradient: Callable[[np.ndarray], np.ndarray],
    theta0,
    learning_rate: float,
    n_steps: int,
):
    """Run ``n_steps`` of :func:`gradient_descent_step` and record the path.

    Args:
        loss: L(θ), used only to record the loss curve.
        gradient: ∇L(θ).
        theta0: starting parameters.
        learning_rate: η > 0.
        n_steps: number of updates (>= 1).

    Returns:
        ``(theta, path, losses)``: the final parameters, the array of all
        n_steps + 1 parameter vectors visited (θ₀ first) and their losses.

    Raises:
        ValueError: on invalid arguments, or if the loss becomes NaN or
            infinite (the learning rate is too large: lower it).
    """
    theta = _checks.float_array(theta0, "theta0")
    learning_rate = _checks.positive(learning_rate, "learning_rate")
    n_steps = _checks.positive_int(n_steps, "n_steps")
    path, losses = [theta], [float(loss(theta))]
    for step in range(n_steps):
        theta = gradient_descent_step(theta, gradient(theta), learning_rate)
        value = float(loss(theta))
        if not np.isfinite(value):
            raise _checks.fail(f"Gradient descent diverged at step {step + 1} (loss={value}); "
                               "lower the learning rate.", "learning_rate", learning_rate)
        path.append(theta)
        losses.append(value)
    return theta, np.stack(path), np.asarray(losses)
