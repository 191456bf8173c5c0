"""Two related 2-D labelled domains, small enough to see every point and boundary.

The source domain holds two Gaussian class clouds, class 0 around (−1.25, 0)
and class 1 around (+1.25, 0), with unit spread. The target domain is the same
pair of clouds moved by a rigid shift: rotated by ``10° × shift`` about the
origin, then translated by ``shift × (1.0, 0.5)``. The best target boundary is
therefore tilted and displaced with respect to the source one:

* a model trained on the source only puts its boundary in the wrong place;
* a model trained on a handful of target points finds roughly the right place
  but swings from one draw of those points to the next;
* training on both, with a chosen weight per domain, combines the source's many
  points with the target's location.

Both classes are equally frequent in every split (exact halves, the odd point
going to class 1), so even a target set of two points holds both classes.

Introduced in ``notebooks/01_joint_empirical_risk.ipynb``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import _checks
from .logistic import LogisticRegressionGD
from .risk import stack_domains

CLASS_MEAN_DISTANCE = 1.25
"""Each class mean sits this far from the origin along the first axis (source domain)."""

DEGREES_PER_SHIFT = 10.0
"""Rotation of the target clouds, in degrees, per unit of ``shift``."""

TRANSLATION_PER_SHIFT = (1.0, 0.5)
"""Translation of the target clouds per unit of ``shift``."""


@dataclass(frozen=True, eq=False)
class ToyDomains:
    """A labelled source domain, a small labelled target set and a target test set.

    Attributes:
        X_source, y_source: source inputs (N, 2) and labels (N,) in {0, 1}.
        X_target, y_target: the few labelled target inputs (M, 2) and labels (M,).
        X_target_test, y_target_test: held-out target points for measuring accuracy.
        shift: how far the target is moved (0 means the same distribution).
        rotation_deg: rotation of the target clouds, degrees.
        translation: translation of the target clouds, (dx, dy).
        seed: the seed that drew every point.

    Introduced in ``notebooks/01_joint_empirical_risk.ipynb``.
    """

    X_source: np.ndarray
    y_source: np.ndarray
    X_target: np.ndarray
    y_target: np.ndarray
    X_target_test: np.ndarray
    y_target_test: np.ndarray
    shift: float
    rotation_deg: float
    translation: tuple[float, float]
    seed: int

    @property
    def n_source(self) -> int:
        """N, the number of labelled source points."""
        return int(self.y_source.size)

    @property
    def n_target(self) -> int:
        """M, the number of labelled target points used for training."""
        return int(self.y_target.size)

    def __repr__(self) -> str:
        return (f"ToyDomains(n_source={self.n_source}, n_target={self.n_target}, "
                f"n_target_test={self.y_target_test.size}, shift={self.shift}, seed={self.seed})")


def _count(value, name: str) -> int:
    count = _checks.positive_int(value, name)
    if count < 2:
        raise _checks.fail(f"`{name}` must be at least 2 so that both classes appear.", name, value)
    return count


def _rotation(degrees: float) -> np.ndarray:
    angle = np.deg2rad(degrees)
    return np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])


def _balanced_clouds(n: int, rng: np.random.Generator, rotation: np.ndarray, translation: np.ndarray):
    labels = np.repeat([0, 1], [n // 2, n - n // 2])
    rng.shuffle(labels)
    means = np.where(labels[:, None] == 1, 1.0, -1.0) * np.array([CLASS_MEAN_DISTANCE, 0.0])
    points = means + rng.standard_normal((n, 2))
    return points @ rotation.T + translation, labels


def make_toy_domains(n_source: int = 200, n_target: int = 6, n_target_test: int = 1000,
                     shift: float = 1.0, seed: int = 0) -> ToyDomains:
    """Draw a source domain and a shifted target domain of 2-D labelled points.

    Args:
        n_source: N, labelled source points (>= 2).
        n_target: M, labelled target points for training (>= 2); keep it small.
        n_target_test: held-out target points for accuracy (>= 2).
        shift: size of the domain shift; the target clouds are rotated by
            ``10° × shift`` and translated by ``shift × (1.0, 0.5)``. 0 gives
            two samples of the same distribution.
        seed: non-negative integer; the same arguments always give the same points.

    Returns:
        A :class:`ToyDomains`.

    Raises:
        ValueError: if a count is not an integer >= 2, ``shift`` is not a
            finite number or ``seed`` is not a non-negative integer.

    Introduced in ``notebooks/01_joint_empirical_risk.ipynb``.
    """
    n_source = _count(n_source, "n_source")
    n_target = _count(n_target, "n_target")
    n_target_test = _count(n_target_test, "n_target_test")
    shift = _checks.real_in(shift, "shift")
    rng = np.random.default_rng(_checks.seed(seed))
    rotation_deg = DEGREES_PER_SHIFT * shift
    translation = shift * np.array(TRANSLATION_PER_SHIFT)
    target_rotation = _rotation(rotation_deg)
    X_source, y_source = _balanced_clouds(n_source, rng, np.eye(2), np.zeros(2))
    X_target, y_target = _balanced_clouds(n_target, rng, target_rotation, translation)
    X_test, y_test = _balanced_clouds(n_target_test, rng, target_rotation, translation)
    for array in (X_source, y_source, X_target, y_target, X_test, y_test):
        array.setflags(write=False)  # the dataclass is frozen; so are its points
    return ToyDomains(X_source, y_source, X_target, y_target, X_test, y_test,
                      shift=shift, rotation_deg=rotation_deg,
                      translation=(float(translation[0]), float(translation[1])), seed=int(seed))


def fit_on_domains(domains: ToyDomains, alpha: float | None = None, learning_rate: float = 0.5,
                   n_steps: int = 300) -> LogisticRegressionGD:
    """Train a :class:`LogisticRegressionGD` on D_S ∪ D_T with the joint or the α-weighted risk.

    ``alpha=None`` minimises the joint risk 1/(N+M)(Σ_S ℓ + Σ_T ℓ);
    a number minimises α·R_S + (1 − α)·R_T, so ``alpha=1`` is the source only,
    ``alpha=0`` the target only and ``alpha=N/(N+M)`` the joint risk again.

    Args:
        domains: a :class:`ToyDomains`.
        alpha: weight of the source domain in [0, 1], or None for the joint risk.
        learning_rate: step size η of the gradient descent (> 0).
        n_steps: number of gradient-descent steps (>= 1).

    Returns:
        The fitted model.

    Raises:
        ValueError: if ``domains`` is not a ToyDomains, or on an invalid
            ``alpha``, ``learning_rate`` or ``n_steps``.

    Introduced in ``notebooks/01_joint_empirical_risk.ipynb``.
    """
    if not isinstance(domains, ToyDomains):
        raise _checks.fail("`domains` must be a ToyDomains from `make_toy_domains`.", "domains", domains)
    X, y, sample_weight = stack_domains(domains.X_source, domains.y_source,
                                        domains.X_target, domains.y_target, alpha)
    return LogisticRegressionGD(learning_rate, n_steps).fit(X, y, sample_weight)


def target_accuracy_by_alpha(domains: ToyDomains, alphas, learning_rate: float = 0.5,
                             n_steps: int = 300) -> np.ndarray:
    """Target test accuracy of :func:`fit_on_domains` for each α in ``alphas``.

    Args:
        domains: a :class:`ToyDomains`.
        alphas: 1-D array of source weights, each in [0, 1].
        learning_rate, n_steps: as in :func:`fit_on_domains`.

    Returns:
        Array of accuracies on ``domains.X_target_test``, one per α.

    Raises:
        ValueError: if ``alphas`` is empty, not 1-D or holds a value outside [0, 1].

    Introduced in ``notebooks/01_joint_empirical_risk.ipynb``.
    """
    alphas = _checks.float_array(alphas, "alphas", ndim=1)
    if np.any((alphas < 0) | (alphas > 1)):
        raise _checks.fail("Every entry of `alphas` must be in [0, 1].", "alphas", alphas)
    return np.array([
        fit_on_domains(domains, float(alpha), learning_rate, n_steps)
        .score(domains.X_target_test, domains.y_target_test)
        for alpha in alphas])
