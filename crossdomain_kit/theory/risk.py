"""The joint empirical risk over a source and a target domain.

With N labelled source examples D_S and M labelled target examples D_T,
lesson 01 trains on

    L(θ) = 1/(N+M) (Σ_{D_S} ℓ + Σ_{D_T} ℓ)                      (joint risk)

or, with a chosen weight α on the source domain,

    L_α(θ) = α · R_S(θ) + (1 − α) · R_T(θ),   R_D = mean loss on D.

The two agree exactly when α = N/(N+M) (:func:`alpha_from_sizes`): the joint
risk weights each domain by its share of the data, so a large source domain
drowns a small target one; choosing α yourself decouples the two.

Introduced in ``notebooks/01_joint_empirical_risk.ipynb``.
"""

from __future__ import annotations

import numpy as np

from .. import _checks


def joint_empirical_risk(source_losses, target_losses) -> float:
    """L = 1/(N+M) (Σ_S ℓ + Σ_T ℓ) from per-example losses.

    Args:
        source_losses: the N losses on the source domain.
        target_losses: the M losses on the target domain.

    Returns:
        The joint empirical risk, a float.

    Raises:
        ValueError: if either is empty, not 1-D or not finite.
    """
    s = _checks.float_array(source_losses, "source_losses", ndim=1)
    t = _checks.float_array(target_losses, "target_losses", ndim=1)
    return float((s.sum() + t.sum()) / (s.size + t.size))


def weighted_risk(source_losses, target_losses, alpha: float) -> float:
    """L_α = α · mean(source losses) + (1 − α) · mean(target losses).

    Args:
        source_losses: the N losses on the source domain.
        target_losses: the M losses on the target domain.
        alpha: weight of the source domain, in [0, 1].

    Returns:
        The α-weighted risk; equals :func:`joint_empirical_risk` when
        ``alpha == alpha_from_sizes(N, M)``.

    Raises:
        ValueError: if α is outside [0, 1] or a loss array is invalid.
    """
    alpha = _checks.fraction(alpha, "alpha")
    s = _checks.float_array(source_losses, "source_losses", ndim=1)
    t = _checks.float_array(target_losses, "target_losses", ndim=1)
    return float(alpha * s.mean() + (1 - alpha) * t.mean())


def alpha_from_sizes(n_source: int, n_target: int) -> float:
    """The α for which the weighted risk equals the joint risk: N/(N+M).

    Args:
        n_source: N, the number of source examples (>= 1).
        n_target: M, the number of target examples (>= 1).

    Returns:
        N / (N + M).
    """
    n_source = _checks.positive_int(n_source, "n_source")
    n_target = _checks.positive_int(n_target, "n_target")
    return n_source / (n_source + n_target)


def domain_sample_weights(n_source: int, n_target: int, alpha: float | None = None) -> np.ndarray:
    """Per-example weights that turn a plain weighted mean into the domain risk.

    For the stacked data [D_S; D_T], ``Σ_i w_i ℓ_i`` equals the joint risk
    (``alpha=None``: every example weighs 1/(N+M)) or the α-weighted risk
    (source examples weigh α/N, target examples (1 − α)/M).

    Args:
        n_source: N (>= 1).
        n_target: M (>= 1).
        alpha: source weight in [0, 1], or None for the joint risk.

    Returns:
        Array of N + M non-negative weights summing to one.
    """
    n_source = _checks.positive_int(n_source, "n_source")
    n_target = _checks.positive_int(n_target, "n_target")
    if alpha is None:
        return np.full(n_source + n_target, 1.0 / (n_source + n_target))
    alpha = _checks.fraction(alpha, "alpha")
    return np.concatenate([np.full(n_source, alpha / n_source),
                           np.full(n_target, (1 - alpha) / n_target)])


def stack_domains(X_source, y_source, X_target, y_target, alpha: float | None = None):
    """Stack two labelled domains into one training set with domain weights.

    Args:
        X_source, y_source: source inputs (N, d) and labels (N,).
        X_target, y_target: target inputs (M, d) and labels (M,).
        alpha: source weight in [0, 1], or None for the joint risk.

    Returns:
        ``(X, y, sample_weight)`` ready for
        :meth:`crossdomain_kit.theory.logistic.LogisticRegressionGD.fit`.

    Raises:
        ValueError: if the domains have different feature counts or a label
            array does not match its inputs.
    """
    Xs = _checks.float_array(X_source, "X_source", ndim=2)
    Xt = _checks.float_array(X_target, "X_target", ndim=2)
    ys = _checks.binary_labels(y_source, "y_source")
    yt = _checks.binary_labels(y_target, "y_target")
    if Xs.shape[1] != Xt.shape[1]:
        raise ValueError("Both domains must have the same number of features. "
                         f"Received: X_source.shape={Xs.shape}, X_target.shape={Xt.shape}")
    for X, y, name in ((Xs, ys, "source"), (Xt, yt, "target")):
        if y.shape != (X.shape[0],):
            raise ValueError(f"`y_{name}` must have one label per row of `X_{name}`. "
                             f"Received: X_{name}.shape={X.shape}, y_{name}.shape={y.shape}")
    weights = domain_sample_weights(len(ys), len(yt), alpha)
    return np.vstack([Xs, Xt]), np.concatenate([ys, yt]), weights
