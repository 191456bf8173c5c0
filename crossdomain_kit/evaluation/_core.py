"""Helpers shared by the evaluation modules: argument checks and the vectorised metric core.

Private to :mod:`crossdomain_kit.evaluation`; the public names are re-exported there.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from .. import _checks


# ---------------------------------------------------------------- argument checks


def _class_counts(y: np.ndarray) -> str:
    return f"{{0: {int(np.sum(y == 0))}, 1: {int(np.sum(y == 1))}}}"


def require_both_classes(y: np.ndarray, name: str, what: str) -> None:
    """Raise if the labels ``y`` hold a single class (``what`` is undefined then)."""
    if np.all(y == y[0]):
        raise _checks.fail(
            f"`{name}` must contain both classes (0 and 1): {what} is undefined with a single "
            f"class. Class counts: {_class_counts(y)}.", name, y)


def check_threshold(value) -> float:
    """A decision threshold: a number in [0, 1]."""
    return _checks.fraction(value, "threshold")


def choice(value, name: str, choices: Sequence[str]) -> str:
    """``value`` if it is one of the strings ``choices``; otherwise raise."""
    if not isinstance(value, str) or value not in choices:
        raise _checks.fail(f"`{name}` must be one of {tuple(choices)}.", name, value)
    return value


def json_number(value):
    """Python float/int for JSON; NaN (an undefined metric) becomes None."""
    if isinstance(value, (int, np.integer)):
        return int(value)
    value = float(value)
    return None if math.isnan(value) else value


def generator(seed) -> np.random.Generator:
    """``np.random.default_rng(seed)``, raising the kit's error for a bad seed."""
    try:
        return np.random.default_rng(seed)
    except (TypeError, ValueError):
        raise _checks.fail("`seed` must be an int >= 0, None or a np.random.Generator.",
                           "seed", seed) from None


# ---------------------------------------------------------------- vectorised metric core
# `weights` has one row per (re)sample and one column per example: how many
# times each example is counted. The plain evaluation is the single row of ones;
# a bootstrap resample is a row of counts summing to n. One implementation
# therefore serves binary_metrics and bootstrap_ci.


def _auc_rows(y: np.ndarray, p: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """ROC AUC of every row of ``weights``; NaN where a row lacks a class.

    AUC = P(a random positive scores above a random negative) + ½ P(tie): the
    Mann–Whitney statistic, summed per tied score level after one sort.
    """
    order = np.argsort(p, kind="stable")
    p_sorted, positive = p[order], y[order] == 1
    level_starts = np.flatnonzero(np.r_[True, p_sorted[1:] != p_sorted[:-1]])
    w = weights[:, order]
    pos = np.add.reduceat(w * positive, level_starts, axis=1)
    neg = np.add.reduceat(w * ~positive, level_starts, axis=1)
    neg_below = np.cumsum(neg, axis=1) - neg
    with np.errstate(invalid="ignore", divide="ignore"):
        return (pos * (neg_below + 0.5 * neg)).sum(axis=1) / (pos.sum(axis=1) * neg.sum(axis=1))


def confusion_rows(y, p, threshold, weights) -> tuple[np.ndarray, ...]:
    """(tn, fp, fn, tp) of every row of ``weights`` at ``threshold``."""
    predicted, positive = p >= threshold, y == 1
    cells = [~positive & ~predicted, ~positive & predicted, positive & ~predicted, positive & predicted]
    return tuple(weights @ cell.astype(np.float64) for cell in cells)


def _rates(tn, fp, fn, tp) -> dict[str, np.ndarray]:
    """Thresholded metrics from confusion counts (arrays); NaN where a ratio is 0/0."""
    with np.errstate(invalid="ignore", divide="ignore"):
        sensitivity, specificity = tp / (tp + fn), tn / (tn + fp)
        return {
            "accuracy": (tp + tn) / (tn + fp + fn + tp),
            "balanced_accuracy": (sensitivity + specificity) / 2,
            "sensitivity": sensitivity,
            "specificity": specificity,
            "ppv": tp / (tp + fp),
            "npv": tn / (tn + fn),
            "f1": 2 * tp / (2 * tp + fp + fn),
        }


def metric_rows(y, p, threshold, weights, names: Sequence[str]) -> dict[str, np.ndarray]:
    """The named metrics (from ``METRICS``) of every row of ``weights`` at ``threshold``."""
    values = {}
    if "auc" in names:
        values["auc"] = _auc_rows(y, p, weights)
    if any(name != "auc" for name in names):
        values.update(_rates(*confusion_rows(y, p, threshold, weights)))
    return {name: values[name] for name in names}
