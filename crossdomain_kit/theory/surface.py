"""The logistic risk as a surface over (w, b), and gradient descent across it.

For one input feature the logistic model z = w·x + b has two parameters, so
its empirical risk R(w, b) can be drawn as a landscape: this module makes a
small seeded 1-feature dataset, evaluates R and ∇R on a grid, and records a
gradient-descent run that says whether it converged, oscillated or diverged.

Introduced in ``notebooks/02_bce_gradient.ipynb``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import _checks
from .losses import (binary_cross_entropy_from_logits, bce_gradient_logits, logistic_risk,
                     logistic_risk_gradient)
from .optim import gradient_descent


def toy_1d_dataset(n_samples: int = 60, shift: float = 2.0, seed: int = 0):
    """Two overlapping classes on a line: x ~ N(0, 1) for y = 0, N(shift, 1) for y = 1.

    The classes overlap, so the logistic risk has a finite minimiser (near
    w ≈ shift, b ≈ −shift²/2) and the surface is a bowl rather than a valley
    running off to infinity.

    Args:
        n_samples: number of examples (>= 2); the classes alternate, so they
            are balanced to within one example.
        shift: distance between the class means, > 0.
        seed: seed of the NumPy generator; the same seed gives the same data.

    Returns:
        ``(X, y)``: inputs of shape (n_samples, 1) and labels in {0, 1} of
        shape (n_samples,).

    Raises:
        ValueError: if ``n_samples`` < 2 or ``shift`` <= 0.
    """
    n_samples = _checks.positive_int(n_samples, "n_samples")
    if n_samples < 2:
        raise _checks.fail("`n_samples` must be at least 2 (one per class).", "n_samples", n_samples)
    shift = _checks.positive(shift, "shift")
    rng = np.random.default_rng(seed)
    y = (np.arange(n_samples) % 2).astype(np.float64)
    rng.shuffle(y)
    x = rng.normal(0.0, 1.0, n_samples) + shift * y
    return x[:, None], y


@dataclass(frozen=True)
class RiskSurface:
    """The logistic risk and its gradient on a (w, b) grid.

    Arrays ``risk``, ``grad_w`` and ``grad_b`` have shape ``(len(b), len(w))``:
    row i, column j holds the value at (w[j], b[i]), the layout that
    ``Axes.contour(w, b, risk)`` expects.

    Attributes:
        w: grid values of the weight, shape (n_w,).
        b: grid values of the bias, shape (n_b,).
        risk: R(w, b), the mean BCE.
        grad_w: ∂R/∂w.
        grad_b: ∂R/∂b.
    """

    w: np.ndarray
    b: np.ndarray
    risk: np.ndarray
    grad_w: np.ndarray
    grad_b: np.ndarray


def _one_feature(X, y_true):
    X = _checks.float_array(X, "X", ndim=2)
    if X.shape[1] != 1:
        raise _checks.fail("The risk surface needs exactly one feature: `X` must have shape (n, 1).",
                           "X", X)
    y = _checks.binary_labels(y_true, "y_true")
    if y.shape != (X.shape[0],):
        raise ValueError("`y_true` must have one label per row of `X`. "
                         f"Received: X.shape={X.shape}, y_true.shape={y.shape}")
    return X, y


def risk_surface(X, y_true, w_values, b_values) -> RiskSurface:
    """Evaluate the logistic risk and its gradient at every (w, b) of a grid.

    Equal, point by point, to :func:`crossdomain_kit.theory.losses.logistic_risk` and
    :func:`crossdomain_kit.theory.losses.logistic_risk_gradient` at θ = [w, b], but
    computed for the whole grid at once.

    Args:
        X: inputs, shape (n, 1).
        y_true: labels in {0, 1}, shape (n,).
        w_values: grid of weights, 1-D.
        b_values: grid of biases, 1-D.

    Returns:
        A :class:`RiskSurface`.

    Raises:
        ValueError: if ``X`` has more than one feature, the labels do not match
            ``X``, or a grid is empty, not 1-D or not finite.
    """
    X, y = _one_feature(X, y_true)
    w = _checks.float_array(w_values, "w_values", ndim=1)
    b = _checks.float_array(b_values, "b_values", ndim=1)
    x = X[:, 0]
    labels = np.broadcast_to(y, (w.size, x.size))
    risk, grad_w, grad_b = (np.empty((b.size, w.size)) for _ in range(3))
    for i, bias in enumerate(b):  # one grid row at a time keeps memory at n_w × n
        z = w[:, None] * x + bias
        residual = bce_gradient_logits(labels, z)
        risk[i] = binary_cross_entropy_from_logits(labels, z).mean(axis=1)
        grad_w[i] = (residual * x).mean(axis=1)
        grad_b[i] = residual.mean(axis=1)
    return RiskSurface(w=w, b=b, risk=risk, grad_w=grad_w, grad_b=grad_b)


@dataclass(frozen=True)
class DescentRun:
    """A recorded gradient descent on the logistic risk.

    Attributes:
        path: every θ = [w, b] visited, θ₀ first, shape (n_visited, 2).
        losses: the risk at each θ of ``path``.
        status: ``"converging"`` (the risk fell at every step),
            ``"oscillating"`` (it rose at some steps but never above where it
            started) or ``"diverged"`` (at some step it rose above its start,
            or the parameters overflowed).
        message: one sentence for a learner: the final loss and what to do.
    """

    path: np.ndarray
    losses: np.ndarray
    status: str
    message: str

    @property
    def diverged(self) -> bool:
        """True when the run made the risk worse (lower the learning rate)."""
        return self.status == "diverged"


def descend_logistic_risk(X, y_true, theta0, learning_rate: float, n_steps: int) -> DescentRun:
    """Run :func:`crossdomain_kit.theory.optim.gradient_descent` on the 1-feature logistic risk.

    A learning rate that is too large does not raise: the run comes back with
    ``status="diverged"`` and a message, so a widget can show it.

    Args:
        X: inputs, shape (n, 1).
        y_true: labels in {0, 1}, shape (n,).
        theta0: start point [w₀, b₀].
        learning_rate: η > 0.
        n_steps: number of steps (>= 1).

    Returns:
        A :class:`DescentRun`.

    Raises:
        ValueError: on invalid data, start point, learning rate or step count.
    """
    X, y = _one_feature(X, y_true)
    theta0 = _checks.float_array(theta0, "theta0", ndim=1)
    if theta0.shape != (2,):
        raise _checks.fail("`theta0` must be the start point [w0, b0].", "theta0", theta0)
    learning_rate = _checks.positive(learning_rate, "learning_rate")
    n_steps = _checks.positive_int(n_steps, "n_steps")
    try:
        with np.errstate(over="ignore", invalid="ignore"):  # overflow is reported below
            _, path, losses = gradient_descent(lambda t: logistic_risk(t, X, y),
                                               lambda t: logistic_risk_gradient(t, X, y),
                                               theta0, learning_rate, n_steps)
    except ValueError:
        # The arguments were checked above, so this is θ or the loss overflowing.
        loss0 = logistic_risk(theta0, X, y)
        return DescentRun(path=theta0[None, :], losses=np.array([loss0]), status="diverged",
                          message=(f"Diverged: with learning rate {learning_rate:g} the parameters "
                                   "overflowed. Lower the learning rate."))
    # Rounding can move a loss at the minimum by a few ulps; that is not a rise.
    tolerance = 1e-12 * max(1.0, losses[0])
    rises = int(np.sum(np.diff(losses) > tolerance))
    summary = f"loss {losses[0]:.4f} → {losses[-1]:.4f} after {n_steps} steps"
    peak = int(np.argmax(losses))
    if losses[peak] > losses[0] + tolerance:
        return DescentRun(path, losses, "diverged",
                          f"Diverged: the loss jumped from {losses[0]:.4f} to {losses[peak]:.4g} "
                          f"at step {peak}; the steps overshoot. Lower the learning rate.")
    if rises:
        return DescentRun(path, losses, "oscillating",
                          f"Oscillating: {summary}, but the loss rose at {rises} step(s); "
                          "the learning rate is near its limit.")
    return DescentRun(path, losses, "converging", f"Converging: {summary}.")
