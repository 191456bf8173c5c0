"""Metrics of binary predictions, and the conventions every evaluation module follows.

Pure NumPy and scikit-learn on arrays of predictions; no model code, no TensorFlow.

Conventions:

* ``y_true`` holds labels in {0, 1}, 1 being the positive class (e.g. pneumonia),
  with shape (n,) or (n, 1) (what Keras's ``predict`` returns).
* ``y_prob`` holds predicted probabilities of the positive class in [0, 1].
  The kit's models output **logits** (``from_logits=True``); convert them with
  :func:`crossdomain_kit.theory.losses.sigmoid` first. Every threshold here lives on
  this probability scale.
* An example is predicted positive when ``y_prob >= threshold``
  (scikit-learn's ``roc_curve`` convention).

Choosing the threshold is :mod:`crossdomain_kit.evaluation.thresholds`; intervals,
calibration and the whole validation → test report are in the sibling modules.

Introduced in ``notebooks/05_medical_imaging_finetune.ipynb``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
from sklearn import metrics as skmetrics

from .. import _checks
from . import _core

METRICS = ("auc", "accuracy", "balanced_accuracy", "sensitivity", "specificity", "ppv", "npv", "f1")
"""Named metrics of :class:`BinaryMetrics` that :func:`bootstrap_ci` computes vectorised."""

DEFAULT_CLASS_NAMES = ("negative", "positive")


# ---------------------------------------------------------------- argument checks


def _vector(array: np.ndarray, name: str) -> np.ndarray:
    if array.ndim == 2 and array.shape[1] == 1:
        array = array[:, 0]
    if array.ndim != 1:
        raise _checks.fail(f"`{name}` must have shape (n,) or (n, 1).", name, array)
    return array


def check_predictions(y_true, y_prob, y_name: str = "y_true", p_name: str = "y_prob",
                      both_classes: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Validate labels and probabilities the way every function here does.

    Args:
        y_true: labels in {0, 1}, shape (n,) or (n, 1).
        y_prob: probabilities of the positive class in [0, 1], same length.
        y_name, p_name: argument names used in error messages.
        both_classes: if given, the quantity that needs both classes (e.g.
            ``"ROC AUC"``); a single-class ``y_true`` then raises.

    Returns:
        ``(y, p)``: int64 labels and float64 probabilities, both of shape (n,).

    Raises:
        ValueError: on empty or non-finite input, labels outside {0, 1},
            probabilities outside [0, 1] (logits passed by mistake), a length
            mismatch, or a single class when ``both_classes`` is set.

    Introduced in ``notebooks/05_medical_imaging_finetune.ipynb``.
    """
    y = _vector(_checks.binary_labels(y_true, y_name), y_name)
    p = _vector(_checks.probabilities(y_prob, p_name), p_name)
    _checks.same_shape(y, p, y_name, p_name)
    if both_classes is not None:
        _core.require_both_classes(y, y_name, both_classes)
    return y.astype(np.int64), p


# ---------------------------------------------------------------- metrics


@dataclass(frozen=True)
class BinaryMetrics:
    """Metrics of thresholded binary predictions (one split).

    Attributes:
        threshold: the cut; ``p >= threshold`` is predicted positive.
        n, n_positive: number of examples and of positives.
        tn, fp, fn, tp: confusion counts.
        auc: ROC AUC (threshold-free).
        accuracy, balanced_accuracy: (tp + tn) / n and (sensitivity + specificity) / 2.
        sensitivity, specificity: tp / (tp + fn) (recall, TPR) and tn / (tn + fp) (TNR).
        ppv, npv: tp / (tp + fp) (precision) and tn / (tn + fn); NaN when nothing
            is predicted positive (resp. negative).
        f1: 2·tp / (2·tp + fp + fn).
    """

    threshold: float
    n: int
    n_positive: int
    tn: int
    fp: int
    fn: int
    tp: int
    auc: float
    accuracy: float
    balanced_accuracy: float
    sensitivity: float
    specificity: float
    ppv: float
    npv: float
    f1: float

    @property
    def positive_fraction(self) -> float:
        """Share of examples labelled 1 (the split's prior)."""
        return self.n_positive / self.n

    @property
    def confusion_matrix(self) -> np.ndarray:
        """``[[tn, fp], [fn, tp]]``: rows are true classes, columns predictions (scikit-learn's layout)."""
        return np.array([[self.tn, self.fp], [self.fn, self.tp]], dtype=np.int64)

    def as_dict(self) -> dict:
        """JSON-serialisable dict of every field plus ``positive_fraction`` and ``confusion_matrix``."""
        out = {name: _core.json_number(getattr(self, name)) for name in self.__dataclass_fields__}
        out["positive_fraction"] = self.positive_fraction
        out["confusion_matrix"] = self.confusion_matrix.tolist()
        return out


def roc_auc(y_true, y_prob) -> float:
    """The exact ROC AUC: P(a random positive scores above a random negative) + ½ P(tie).

    The same number as ``sklearn.metrics.roc_auc_score`` and as
    :func:`binary_metrics`' ``auc``; unlike Keras's ``AUC`` metric, which
    interpolates over a fixed grid of thresholds, it is not an approximation.

    Args:
        y_true: labels in {0, 1}; both classes needed.
        y_prob: scores of the positive class: probabilities in [0, 1].

    Returns:
        The AUC, a float in [0, 1].

    Raises:
        ValueError: on invalid predictions or a single-class ``y_true``.

    Introduced in ``notebooks/04_freezing_hyperparameters_lab.ipynb``.
    """
    y, p = check_predictions(y_true, y_prob, both_classes="ROC AUC")
    return float(_core.metric_rows(y, p, 0.5, np.ones((1, y.size)), ("auc",))["auc"][0])


def binary_metrics(y_true, y_prob, threshold: float) -> BinaryMetrics:
    """AUC and the thresholded metrics of one split.

    Args:
        y_true: labels in {0, 1}; both classes needed.
        y_prob: probabilities of the positive class in [0, 1].
        threshold: cut in [0, 1] (choose it with :func:`choose_threshold` on
            validation); ``y_prob >= threshold`` is predicted positive.

    Returns:
        A frozen :class:`BinaryMetrics`.

    Raises:
        ValueError: on invalid predictions, a single-class ``y_true`` (AUC,
            sensitivity or specificity would be undefined) or a threshold
            outside [0, 1].

    Introduced in ``notebooks/05_medical_imaging_finetune.ipynb``.
    """
    y, p = check_predictions(y_true, y_prob, both_classes="ROC AUC")
    threshold = _core.check_threshold(threshold)
    ones = np.ones((1, y.size))
    values = _core.metric_rows(y, p, threshold, ones, METRICS)
    tn, fp, fn, tp = (int(c[0]) for c in _core.confusion_rows(y, p, threshold, ones))
    return BinaryMetrics(threshold=threshold, n=int(y.size), n_positive=int(y.sum()),
                         tn=tn, fp=fp, fn=fn, tp=tp, **{k: float(v[0]) for k, v in values.items()})


def classification_report_text(y_true, y_prob, threshold: float,
                               class_names: Sequence[str] = DEFAULT_CLASS_NAMES, digits: int = 3) -> str:
    """scikit-learn's ``classification_report`` at ``threshold``, with the class names.

    Args:
        y_true, y_prob, threshold: as in :func:`binary_metrics`.
        class_names: (negative, positive) names, e.g. ``("normal", "pneumonia")``.
        digits: decimals shown.

    Returns:
        The report text; an undefined precision prints as ``nan``.

    Raises:
        ValueError: on invalid predictions, threshold or class names.

    Introduced in ``notebooks/05_medical_imaging_finetune.ipynb``.
    """
    y, p = check_predictions(y_true, y_prob)
    predicted = (p >= _core.check_threshold(threshold)).astype(np.int64)
    return skmetrics.classification_report(
        y, predicted, labels=[0, 1], target_names=list(_checks.class_names(class_names)),
        digits=_checks.positive_int(digits, "digits"), zero_division=np.nan)
