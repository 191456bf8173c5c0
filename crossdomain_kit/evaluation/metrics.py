"""Evaluate a binary classifier from its predictions: threshold, metrics, intervals, calibration.

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

**Choose the threshold on validation, report on test once.** A threshold tuned
on the test split makes the test metrics optimistic: they stop estimating how
the model does on new data.

**Why not always 0.5?** 0.5 is the Bayes (minimum-error) threshold only when
the probabilities are calibrated, false positives and false negatives cost the
same, *and* the deployment prior (share of positives) equals the prior the
probabilities are calibrated to. PneumoniaMNIST breaks the last condition:
train and val are 74 % pneumonia, test is 62.5 %. A model calibrated to the
training prior and cut at 0.5 favours "pneumonia" more than the test prior
warrants: it trades specificity for sensitivity and the minimum-error
threshold for test is ``bayes_threshold(0.74, 0.625)`` ≈ 0.63. A
class-weighted or rebalanced model is calibrated to a 50 % prior instead, which
matches no deployment prior either. Sensitivity and specificity are rates
within one class, so a pure change of prior does not move them: a threshold
chosen on validation by sensitivity and specificity (Youden's J, a target
sensitivity) keeps its operating point on a test split with another prior,
while accuracy, PPV and NPV move with the prior.

Introduced in ``notebooks/05_medical_imaging_finetune.ipynb``.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Callable, Mapping, Sequence

import numpy as np
from sklearn import metrics as skmetrics
from tqdm.auto import tqdm

from .. import _checks
from ..theory.losses import sigmoid

METRICS = ("auc", "accuracy", "balanced_accuracy", "sensitivity", "specificity", "ppv", "npv", "f1")
"""Named metrics of :class:`BinaryMetrics` that :func:`bootstrap_ci` computes vectorised."""

THRESHOLD_METHODS = ("youden", "target_sensitivity", "target_specificity")
BIN_STRATEGIES = ("uniform", "quantile")
DEFAULT_CLASS_NAMES = ("negative", "positive")

_RESAMPLE_CHUNK = 1_000_000  # index entries per chunk of resamples: bounds memory for large n_boot * n
_TOLERANCE = 1e-12  # rates are ratios of counts; compare targets with a hair of slack


# ---------------------------------------------------------------- argument checks


def _vector(array: np.ndarray, name: str) -> np.ndarray:
    if array.ndim == 2 and array.shape[1] == 1:
        array = array[:, 0]
    if array.ndim != 1:
        raise _checks.fail(f"`{name}` must have shape (n,) or (n, 1).", name, array)
    return array


def _class_counts(y: np.ndarray) -> str:
    return f"{{0: {int(np.sum(y == 0))}, 1: {int(np.sum(y == 1))}}}"


def _require_both_classes(y: np.ndarray, name: str, what: str) -> None:
    if np.all(y == y[0]):
        raise _checks.fail(
            f"`{name}` must contain both classes (0 and 1): {what} is undefined with a single "
            f"class. Class counts: {_class_counts(y)}.", name, y)


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
        _require_both_classes(y, y_name, both_classes)
    return y.astype(np.int64), p


def _threshold(value) -> float:
    return _checks.fraction(value, "threshold")


def _choice(value, name: str, choices: Sequence[str]) -> str:
    if not isinstance(value, str) or value not in choices:
        raise _checks.fail(f"`{name}` must be one of {tuple(choices)}.", name, value)
    return value


def _open_fraction(value, name: str) -> float:
    """A number strictly between 0 and 1 (a confidence level, a prior)."""
    if not (0.0 < _checks.fraction(value, name) < 1.0):
        raise _checks.fail(f"`{name}` must be strictly between 0 and 1.", name, value)
    return float(value)


def _json_number(value):
    """Python float/int for JSON; NaN (an undefined metric) becomes None."""
    if isinstance(value, (int, np.integer)):
        return int(value)
    value = float(value)
    return None if math.isnan(value) else value


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


def _confusion_rows(y, p, threshold, weights) -> tuple[np.ndarray, ...]:
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


def _metric_rows(y, p, threshold, weights, names: Sequence[str]) -> dict[str, np.ndarray]:
    values = {}
    if "auc" in names:
        values["auc"] = _auc_rows(y, p, weights)
    if any(name != "auc" for name in names):
        values.update(_rates(*_confusion_rows(y, p, threshold, weights)))
    return {name: values[name] for name in names}


# ---------------------------------------------------------------- threshold and metrics


def choose_threshold(y_val, p_val, method: str = "youden", target: float | None = None) -> float:
    """Choose a decision threshold on **validation** predictions.

    Never pass the test split: a threshold tuned on test makes every test
    metric optimistic. The returned threshold is one of the validation
    probabilities; examples with ``p >= threshold`` are predicted positive.

    Args:
        y_val: validation labels in {0, 1}; both classes needed.
        p_val: validation probabilities of the positive class (apply
            ``losses.sigmoid`` to logits first).
        method: ``"youden"`` maximises Youden's J = sensitivity + specificity − 1
            (ties: the highest threshold); ``"target_sensitivity"`` gives the
            highest threshold whose sensitivity is at least ``target`` (the best
            specificity for that sensitivity, e.g. a screening test);
            ``"target_specificity"`` gives the lowest threshold whose
            specificity is at least ``target``.
        target: the required rate in (0, 1] for the two target methods; must be
            None for ``"youden"``.

    Returns:
        The threshold, a float in [0, 1].

    Raises:
        ValueError: on invalid predictions, a single-class ``y_val``, an unknown
            ``method``, a missing/extra/out-of-range ``target``, or a specificity
            target no threshold in [0, 1] reaches.

    Introduced in ``notebooks/05_medical_imaging_finetune.ipynb``.
    """
    y, p = check_predictions(y_val, p_val, "y_val", "p_val", both_classes="choosing a threshold by ROC")
    _choice(method, "method", THRESHOLD_METHODS)
    if method == "youden":
        if target is not None:
            raise _checks.fail("`target` is only used by the target_* methods; leave it None for "
                               "method='youden'.", "target", target)
    elif target is None or _checks.fraction(target, "target") == 0:
        raise _checks.fail(f"method={method!r} needs a `target` rate in (0, 1].", "target", target)
    # thresholds[0] is +inf (nothing predicted positive); then every distinct score, decreasing.
    fpr, tpr, thresholds = skmetrics.roc_curve(y, p, drop_intermediate=False)
    if method == "youden":
        best = 1 + int(np.argmax((tpr - fpr)[1:]))
    elif method == "target_sensitivity":
        best = int(np.argmax(tpr >= target - _TOLERANCE))
    else:
        best = int(np.flatnonzero(1 - fpr >= target - _TOLERANCE)[-1])
    if best > 0:
        return float(thresholds[best])
    above_all = float(np.nextafter(p.max(), np.inf))  # predict nothing positive
    if above_all > 1:
        raise _checks.fail("No threshold in [0, 1] reaches this specificity: a negative validation "
                           "example has probability 1. Lower `target`.", "target", target)
    return above_all


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
        out = {name: _json_number(getattr(self, name)) for name in self.__dataclass_fields__}
        out["positive_fraction"] = self.positive_fraction
        out["confusion_matrix"] = self.confusion_matrix.tolist()
        return out


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
    threshold = _threshold(threshold)
    ones = np.ones((1, y.size))
    values = _metric_rows(y, p, threshold, ones, METRICS)
    tn, fp, fn, tp = (int(c[0]) for c in _confusion_rows(y, p, threshold, ones))
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
    predicted = (p >= _threshold(threshold)).astype(np.int64)
    return skmetrics.classification_report(
        y, predicted, labels=[0, 1], target_names=list(_checks.class_names(class_names)),
        digits=_checks.positive_int(digits, "digits"), zero_division=np.nan)


# ---------------------------------------------------------------- bootstrap


@dataclass(frozen=True)
class ConfidenceInterval:
    """A percentile-bootstrap interval for one metric.

    Unpacks as ``low, high = interval``.

    Attributes:
        metric: the metric's name.
        estimate: the metric on all the data.
        low, high: the interval's ends.
        level: its nominal coverage, e.g. 0.95.
        n_boot: resamples drawn.
        n_skipped: resamples on which the metric was undefined (e.g. a single
            class for AUC) and that were left out.
        stratified: whether each class was resampled separately.
    """

    metric: str
    estimate: float
    low: float
    high: float
    level: float
    n_boot: int
    n_skipped: int
    stratified: bool

    def __iter__(self):
        return iter((self.low, self.high))

    def as_dict(self) -> dict:
        """JSON-serialisable dict of the fields."""
        return {name: _json_number(value) if isinstance(value, (float, int)) and not isinstance(value, bool)
                else value for name, value in vars(self).items()}


def _generator(seed) -> np.random.Generator:
    try:
        return np.random.default_rng(seed)
    except (TypeError, ValueError):
        raise _checks.fail("`seed` must be an int >= 0, None or a np.random.Generator.",
                           "seed", seed) from None


def _resample_indices(y: np.ndarray, n_boot: int, stratified: bool, rng: np.random.Generator):
    """Yield (b, n) arrays of resampled indices, in chunks that bound memory."""
    groups = [np.flatnonzero(y == c) for c in (0, 1)] if stratified else [np.arange(y.size)]
    groups = [g for g in groups if g.size]
    chunk = max(1, _RESAMPLE_CHUNK // y.size)
    for start in range(0, n_boot, chunk):
        size = min(chunk, n_boot - start)
        yield np.concatenate([g[rng.integers(0, g.size, size=(size, g.size))] for g in groups], axis=1)


def _index_counts(indices: np.ndarray, n: int) -> np.ndarray:
    """(b, n) counts of how often each example appears in each resample."""
    b = indices.shape[0]
    flat = (indices + n * np.arange(b)[:, None]).ravel()
    return np.bincount(flat, minlength=b * n).reshape(b, n).astype(np.float64)


def _interval(name, estimate, values, level, n_boot, stratified,
              allow_undefined: bool = False) -> ConfidenceInterval:
    if math.isnan(estimate) and allow_undefined:  # e.g. NPV when nothing is called negative
        return ConfidenceInterval(metric=name, estimate=math.nan, low=math.nan, high=math.nan,
                                  level=level, n_boot=n_boot, n_skipped=n_boot, stratified=stratified)
    if math.isnan(estimate):
        raise _checks.fail(f"Metric {name!r} is undefined on the full data, so it has no interval.",
                           "metric", name)
    defined = values[~np.isnan(values)]
    n_skipped = n_boot - defined.size
    if defined.size == 0:
        raise _checks.fail(f"Metric {name!r} was undefined on every resample; use stratified=True "
                           "or more data.", "metric", name)
    if n_skipped:
        warnings.warn(f"bootstrap_ci: {n_skipped} of {n_boot} resamples skipped because {name} is "
                      f"undefined on them; the interval uses the other {defined.size}.", stacklevel=3)
    low, high = np.quantile(defined, [(1 - level) / 2, (1 + level) / 2])
    return ConfidenceInterval(metric=name, estimate=float(estimate), low=float(low), high=float(high),
                              level=level, n_boot=n_boot, n_skipped=int(n_skipped), stratified=stratified)


def _bootstrap_named(y, p, names, threshold, n_boot, level, stratified,
                     seed, allow_undefined: bool = False) -> dict[str, ConfidenceInterval]:
    """Intervals for several named metrics from the same resamples.

    With ``allow_undefined``, a metric undefined on the full data (NPV when no
    example is called negative, say) gets an all-NaN interval instead of an error.
    """
    estimates = _metric_rows(y, p, threshold, np.ones((1, y.size)), names)
    rows = [_metric_rows(y, p, threshold, _index_counts(idx, y.size), names)
            for idx in _resample_indices(y, n_boot, stratified, _generator(seed))]
    return {name: _interval(name, estimates[name][0], np.concatenate([r[name] for r in rows]),
                            level, n_boot, stratified, allow_undefined) for name in names}


def bootstrap_ci(y_true, y_prob, metric: str | Callable = "auc", threshold: float | None = None,
                 n_boot: int = 1000, level: float = 0.95, stratified: bool = True, seed=0,
                 progress: bool | None = None) -> ConfidenceInterval:
    """Percentile-bootstrap confidence interval of a metric.

    Each resample draws n examples with replacement. ``stratified=True``
    (default) resamples positives and negatives separately, keeping the split's
    class counts fixed, as they are in a curated test split such as
    PneumoniaMNIST's; it never produces a single-class resample.
    ``stratified=False`` is the plain bootstrap. Resamples where the metric is
    undefined (AUC on one class, PPV with no predicted positive) are skipped;
    the count is in ``n_skipped`` and a warning says it.

    Named metrics are computed for all resamples at once (1000 resamples of 624
    predictions take about 30 ms); a callable runs once per resample.

    Args:
        y_true, y_prob: labels in {0, 1} and probabilities in [0, 1].
        metric: a name from :data:`METRICS`, or a callable
            ``metric(y_true, y_prob) -> float`` (NaN = undefined).
        threshold: the cut for thresholded named metrics; unused by ``"auc"``
            and by callables (close over it instead).
        n_boot: number of resamples.
        level: nominal coverage in (0, 1).
        stratified: resample each class separately (see above).
        seed: int, None or ``np.random.Generator``; the same seed gives the
            same interval.
        progress: tqdm bar; None shows one only for a callable metric.

    Returns:
        A :class:`ConfidenceInterval` (``low, high = bootstrap_ci(...)`` works).

    Raises:
        ValueError: on invalid predictions or arguments, an unknown metric, a
            thresholded metric without ``threshold``, or a metric undefined on
            the full data or on every resample.

    Introduced in ``notebooks/05_medical_imaging_finetune.ipynb``.
    """
    y, p = check_predictions(y_true, y_prob)
    n_boot = _checks.positive_int(n_boot, "n_boot")
    level = _open_fraction(level, "level")
    if not callable(metric):
        name = _choice(metric, "metric", METRICS)
        if name == "auc":
            _require_both_classes(y, "y_true", "ROC AUC")
        else:
            if threshold is None:
                raise _checks.fail(f"Metric {name!r} needs a `threshold` in [0, 1].", "threshold", threshold)
            threshold = _threshold(threshold)
        return _bootstrap_named(y, p, (name,), threshold, n_boot, level, bool(stratified), seed)[name]
    name = getattr(metric, "__name__", "metric")
    values = np.empty(n_boot)
    show = True if progress is None else bool(progress)
    with tqdm(total=n_boot, desc=f"bootstrap {name}", leave=False, disable=not show) as bar:
        done = 0
        for indices in _resample_indices(y, n_boot, bool(stratified), _generator(seed)):
            for row in indices:
                values[done] = metric(y[row], p[row])
                done += 1
            bar.update(indices.shape[0])
    return _interval(name, float(metric(y, p)), values, level, n_boot, bool(stratified))


# ---------------------------------------------------------------- calibration


@dataclass(frozen=True, eq=False)
class ReliabilityCurve:
    """Binned calibration of positive-class probabilities.

    Bin k holds the probabilities in (edge_k, edge_k+1] (the first bin also
    holds edge_0), as in ``sklearn.calibration.calibration_curve``.

    Attributes:
        bin_edges: n_bins + 1 increasing edges.
        counts: examples per bin.
        mean_predicted: mean probability per bin (NaN for an empty bin).
        fraction_positive: share of positives per bin (NaN for an empty bin).
        strategy: ``"uniform"`` or ``"quantile"``.
    """

    bin_edges: np.ndarray
    counts: np.ndarray
    mean_predicted: np.ndarray
    fraction_positive: np.ndarray
    strategy: str

    @property
    def n_bins(self) -> int:
        """Number of bins, empty ones included."""
        return int(self.counts.size)

    @property
    def nonempty(self) -> np.ndarray:
        """Boolean mask of the bins holding at least one example."""
        return self.counts > 0

    @property
    def ece(self) -> float:
        """Expected calibration error: Σ_k (n_k / n)·|fraction_positive_k − mean_predicted_k|."""
        k = self.nonempty
        gaps = np.abs(self.fraction_positive[k] - self.mean_predicted[k])
        return float(np.sum(self.counts[k] * gaps) / self.counts.sum())

    def as_dict(self) -> dict:
        """JSON-serialisable dict (empty bins' means are None) with the ECE."""
        return {"strategy": self.strategy, "ece": self.ece,
                "bin_edges": [float(e) for e in self.bin_edges],
                "counts": [int(c) for c in self.counts],
                "mean_predicted": [_json_number(v) for v in self.mean_predicted],
                "fraction_positive": [_json_number(v) for v in self.fraction_positive]}


def reliability_curve(y_true, y_prob, n_bins: int = 10, strategy: str = "uniform") -> ReliabilityCurve:
    """Reliability (calibration) curve: observed share of positives against mean probability, per bin.

    A calibrated model's points lie on the diagonal: of the examples given
    probability about 0.8, about 80 % are positive. Calibration depends on the
    prior: probabilities calibrated on a 74 %-positive split sit above the
    diagonal's truth on a 62.5 %-positive one.

    Args:
        y_true, y_prob: labels in {0, 1} and probabilities in [0, 1].
        n_bins: number of bins, >= 1.
        strategy: ``"uniform"`` (equal-width bins on [0, 1]) or ``"quantile"``
            (edges at the quantiles of ``y_prob``: about equal counts per bin).

    Returns:
        A :class:`ReliabilityCurve`; its non-empty bins equal scikit-learn's
        ``calibration_curve`` output.

    Raises:
        ValueError: on invalid predictions, ``n_bins`` < 1 or an unknown strategy.

    Introduced in ``notebooks/05_medical_imaging_finetune.ipynb``.
    """
    y, p = check_predictions(y_true, y_prob)
    n_bins = _checks.positive_int(n_bins, "n_bins")
    _choice(strategy, "strategy", BIN_STRATEGIES)
    if strategy == "uniform":
        edges = np.linspace(0.0, 1.0, n_bins + 1)
    else:
        edges = np.percentile(p, np.linspace(0, 100, n_bins + 1))
    bins = np.searchsorted(edges[1:-1], p)
    counts = np.bincount(bins, minlength=n_bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_predicted = np.bincount(bins, weights=p, minlength=n_bins) / counts
        fraction_positive = np.bincount(bins, weights=y, minlength=n_bins) / counts
    return ReliabilityCurve(bin_edges=edges, counts=counts, mean_predicted=mean_predicted,
                            fraction_positive=fraction_positive, strategy=strategy)


def expected_calibration_error(y_true, y_prob, n_bins: int = 10, strategy: str = "uniform") -> float:
    """Expected calibration error (ECE) of positive-class probabilities.

    ECE = Σ_k (n_k / n)·|observed share of positives in bin k − mean probability in bin k|,
    over the bins of :func:`reliability_curve`. This is the binary form on the
    positive class's probability; the multi-class "confidence" ECE of Guo et al.
    (2017) bins max(p, 1 − p) against accuracy instead and gives other numbers.

    Args:
        y_true, y_prob, n_bins, strategy: as in :func:`reliability_curve`.

    Returns:
        ECE in [0, 1]; 0 for perfectly calibrated bins.

    Raises:
        ValueError: as :func:`reliability_curve`.

    Introduced in ``notebooks/05_medical_imaging_finetune.ipynb``.
    """
    return reliability_curve(y_true, y_prob, n_bins, strategy).ece


# ---------------------------------------------------------------- tables


def _cell(value, spec: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    if isinstance(value, str):
        return value
    return format(value, spec)


@dataclass(frozen=True)
class Table:
    """A small table: rows of values under named columns, printable as text or markdown.

    Attributes:
        columns: column names.
        rows: one tuple of values per row (str, int or float; NaN prints ``n/a``).
        formats: one format spec per column for numbers (e.g. ``".3f"``, ``"+.3f"``).
    """

    columns: tuple[str, ...]
    rows: tuple[tuple, ...]
    formats: tuple[str, ...]

    def cells(self) -> list[list[str]]:
        """The rows formatted as strings."""
        return [[_cell(v, f) for v, f in zip(row, self.formats)] for row in self.rows]

    def as_dicts(self) -> list[dict]:
        """One dict per row (column name → value), NaN as None: JSON-serialisable."""
        return [{c: (v if isinstance(v, str) else _json_number(v)) for c, v in zip(self.columns, row)}
                for row in self.rows]

    def to_markdown(self) -> str:
        """GitHub-flavoured markdown table."""
        lines = ["| " + " | ".join(self.columns) + " |",
                 "|" + "|".join("---" if i == 0 else "---:" for i in range(len(self.columns))) + "|"]
        lines += ["| " + " | ".join(row) + " |" for row in self.cells()]
        return "\n".join(lines)

    def _repr_markdown_(self) -> str:
        return self.to_markdown()

    def __str__(self) -> str:
        cells = [list(self.columns)] + self.cells()
        widths = [max(len(row[i]) for row in cells) for i in range(len(self.columns))]
        return "\n".join("  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                                   for i, (c, w) in enumerate(zip(row, widths))) for row in cells)


def compare_thresholds(y_true, y_prob, thresholds: Mapping[str, float],
                       metrics: Sequence[str] = ("accuracy", "sensitivity", "specificity",
                                                 "balanced_accuracy", "ppv", "npv")) -> Table:
    """The same predictions cut at several thresholds, one row per threshold.

    Use it to show what a threshold costs, e.g. on test:
    ``compare_thresholds(y_test, p_test, {"0.5": 0.5, "chosen on val": t})``.

    Args:
        y_true, y_prob: labels and probabilities (both classes needed).
        thresholds: name → threshold in [0, 1].
        metrics: thresholded names from :data:`METRICS`.

    Returns:
        A :class:`Table` with columns ``rule``, ``threshold`` and the metrics.

    Raises:
        ValueError: on invalid predictions, an empty or invalid ``thresholds``
            mapping, or an unknown metric.

    Introduced in ``notebooks/05_medical_imaging_finetune.ipynb``.
    """
    if not isinstance(thresholds, Mapping) or not thresholds:
        raise _checks.fail("`thresholds` must be a non-empty dict of name -> threshold.",
                           "thresholds", thresholds)
    for name in metrics:
        _choice(name, "metrics", METRICS[1:])
    rows = []
    for rule, threshold in thresholds.items():
        m = binary_metrics(y_true, y_prob, threshold)
        rows.append((str(rule), m.threshold, *(getattr(m, name) for name in metrics)))
    return Table(columns=("rule", "threshold", *metrics), rows=tuple(rows),
                 formats=("", ".3f") + (".3f",) * len(metrics))


# ---------------------------------------------------------------- the report


@dataclass(frozen=True, eq=False)
class EvaluationReport:
    """Validation-chosen threshold, test metrics with intervals, and test calibration.

    Attributes:
        class_names: (negative, positive).
        threshold: chosen on validation by ``method``.
        method, target: how it was chosen (see :func:`choose_threshold`).
        validation: :class:`BinaryMetrics` on validation at ``threshold``.
        test: :class:`BinaryMetrics` on test at ``threshold``.
        intervals: metric name → :class:`ConfidenceInterval` on test.
        calibration: :class:`ReliabilityCurve` of the test probabilities.
        classification_report: scikit-learn's report on test at ``threshold``.
    """

    class_names: tuple[str, str]
    threshold: float
    method: str
    target: float | None
    validation: BinaryMetrics
    test: BinaryMetrics
    intervals: Mapping[str, ConfidenceInterval]
    calibration: ReliabilityCurve
    classification_report: str

    @property
    def ece(self) -> float:
        """Expected calibration error on test."""
        return self.calibration.ece

    def summary(self) -> dict[str, float]:
        """Flat test metrics plus ``ece`` and ``threshold`` (what :func:`compare_before_after` compares)."""
        out = {name: getattr(self.test, name) for name in METRICS}
        out.update(ece=self.ece, threshold=self.threshold)
        return out

    def to_dict(self) -> dict:
        """JSON-serialisable dict (for metrics.json); NaN becomes None.

        Top-level keys ``test_auc``, ``test_acc``, ``sensitivity``,
        ``specificity``, ``threshold`` and ``test_ece`` (test split), then the
        details: ``validation``, ``test``, ``ci``, ``calibration``.
        """
        return {
            "test_auc": _json_number(self.test.auc),
            "test_acc": _json_number(self.test.accuracy),
            "sensitivity": _json_number(self.test.sensitivity),
            "specificity": _json_number(self.test.specificity),
            "threshold": self.threshold,
            "test_ece": self.ece,
            "threshold_method": self.method,
            "threshold_target": self.target,
            "class_names": list(self.class_names),
            "validation": self.validation.as_dict(),
            "test": self.test.as_dict(),
            "ci": {name: ci.as_dict() for name, ci in self.intervals.items()},
            "calibration": self.calibration.as_dict(),
        }

    def table(self) -> Table:
        """Metric, validation, test and the test interval, one row per metric."""
        rows = []
        for name in METRICS:
            ci = self.intervals.get(name)
            interval = f"[{ci.low:.3f}, {ci.high:.3f}]" if ci else ""
            rows.append((name, getattr(self.validation, name), getattr(self.test, name), interval))
        level = next(iter(self.intervals.values())).level if self.intervals else 0.95
        return Table(columns=("metric", "validation", "test", f"test {level:.0%} CI"), rows=tuple(rows),
                     formats=("", ".3f", ".3f", ""))

    def _header(self) -> str:
        target = "" if self.target is None else f", target {self.target:g}"
        return (f"Threshold {self.threshold:.3f} ({self.method}{target}, chosen on validation: "
                f"n={self.validation.n}, {self.validation.positive_fraction:.1%} {self.class_names[1]}). "
                f"Test: n={self.test.n}, {self.test.positive_fraction:.1%} {self.class_names[1]}, "
                f"ECE {self.ece:.3f} ({self.calibration.n_bins} {self.calibration.strategy} bins).")

    def __str__(self) -> str:
        return f"{self._header()}\n\n{self.table()}\n\n{self.classification_report}"

    def _repr_markdown_(self) -> str:
        return f"{self._header()}\n\n{self.table().to_markdown()}\n\n```\n{self.classification_report}```"


def evaluate_predictions(y_val, p_val, y_test, p_test, class_names: Sequence[str] = DEFAULT_CLASS_NAMES, *,
                         method: str = "youden", target: float | None = None, n_boot: int = 1000,
                         level: float = 0.95, stratified: bool = True, n_bins: int = 10,
                         strategy: str = "uniform", seed=0) -> EvaluationReport:
    """Choose the threshold on validation, then report on test with intervals and calibration.

    Args:
        y_val, p_val: validation labels and probabilities (threshold only).
        y_test, p_test: test labels and probabilities (reported once).
        class_names: (negative, positive), e.g. ``("normal", "pneumonia")``.
        method, target: threshold rule, see :func:`choose_threshold`.
        n_boot, level, stratified, seed: bootstrap of every metric in
            :data:`METRICS` on test, all from the same resamples (see
            :func:`bootstrap_ci`).
        n_bins, strategy: test reliability curve (see :func:`reliability_curve`).

    Returns:
        An :class:`EvaluationReport`; ``report.to_dict()`` is JSON-ready.

    Raises:
        ValueError: on any invalid argument, including single-class validation
            or test labels.

    Introduced in ``notebooks/05_medical_imaging_finetune.ipynb``.
    """
    names = _checks.class_names(class_names)
    y_v, p_v = check_predictions(y_val, p_val, "y_val", "p_val", both_classes="choosing a threshold by ROC")
    y_t, p_t = check_predictions(y_test, p_test, "y_test", "p_test", both_classes="test ROC AUC")
    n_boot = _checks.positive_int(n_boot, "n_boot")
    level = _open_fraction(level, "level")
    threshold = choose_threshold(y_v, p_v, method, target)
    calibration = reliability_curve(y_t, p_t, n_bins, strategy)
    intervals = _bootstrap_named(y_t, p_t, METRICS, threshold, n_boot, level, bool(stratified), seed,
                                 allow_undefined=True)
    return EvaluationReport(
        class_names=names, threshold=threshold, method=method, target=target,
        validation=binary_metrics(y_v, p_v, threshold), test=binary_metrics(y_t, p_t, threshold),
        intervals=intervals, calibration=calibration,
        classification_report=classification_report_text(y_t, p_t, threshold, names))


def compare_before_after(before: EvaluationReport | BinaryMetrics, after: EvaluationReport | BinaryMetrics,
                         labels: Sequence[str] = ("before", "after"),
                         metrics: Sequence[str] = (*METRICS, "ece", "threshold")) -> Table:
    """Side-by-side test metrics of two evaluations, e.g. before and after fine-tuning.

    Args:
        before, after: :class:`EvaluationReport` (or :class:`BinaryMetrics`, which
            has no ``ece``: shown as n/a).
        labels: the two column names, e.g. ``("frozen base", "fine-tuned")``.
        metrics: rows; names from :data:`METRICS` plus ``"ece"`` and ``"threshold"``.

    Returns:
        A :class:`Table` with columns metric, before, after and change (after − before).

    Raises:
        ValueError: if an argument is not a report, a metric is unknown or
            ``labels`` is not two strings.

    Introduced in ``notebooks/05_medical_imaging_finetune.ipynb``.
    """
    known = (*METRICS, "ece", "threshold")
    for name in metrics:
        _choice(name, "metrics", known)
    labels = tuple(labels) if isinstance(labels, (tuple, list)) else ()
    if len(labels) != 2 or not all(isinstance(label, str) for label in labels):
        raise _checks.fail("`labels` must be two strings.", "labels", labels)
    flat = []
    for name, report in (("before", before), ("after", after)):
        if isinstance(report, EvaluationReport):
            flat.append(report.summary())
        elif isinstance(report, BinaryMetrics):
            flat.append({m: getattr(report, m) for m in (*METRICS, "threshold")})
        else:
            raise _checks.fail(f"`{name}` must be an EvaluationReport or BinaryMetrics.", name, report)
    rows = []
    for name in metrics:
        b, a = flat[0].get(name, math.nan), flat[1].get(name, math.nan)
        rows.append((name, b, a, a - b))
    return Table(columns=("metric", *labels, "change"), rows=tuple(rows), formats=("", ".3f", ".3f", "+.3f"))


# ---------------------------------------------------------------- prior shift


def _logit(q: float) -> float:
    return math.log(q / (1 - q))


def bayes_threshold(calibrated_prior: float = 0.5, deploy_prior: float = 0.5,
                    cost_fp: float = 1.0, cost_fn: float = 1.0) -> float:
    """Minimum-expected-cost threshold for probabilities calibrated to another prior.

    If the probabilities are calibrated on data with ``calibrated_prior``
    positives and only the prior changes at deployment (label shift), the
    best cut satisfies
    logit(t) = logit(cost_fp / (cost_fp + cost_fn)) + logit(calibrated_prior) − logit(deploy_prior).
    It is 0.5 only with equal costs and equal priors.
    ``bayes_threshold(0.74, 0.625)`` ≈ 0.63 is PneumoniaMNIST's train → test
    case; a class-weighted model is calibrated to a 50 % prior, so use
    ``calibrated_prior=0.5`` for it.

    Args:
        calibrated_prior: share of positives the probabilities are calibrated to, in (0, 1).
        deploy_prior: share of positives where the threshold is used, in (0, 1).
        cost_fp, cost_fn: costs of a false positive and a false negative, > 0.

    Returns:
        The threshold in (0, 1).

    Raises:
        ValueError: on a prior outside (0, 1) or a cost <= 0.

    Introduced in ``notebooks/05_medical_imaging_finetune.ipynb``.
    """
    calibrated_prior = _open_fraction(calibrated_prior, "calibrated_prior")
    deploy_prior = _open_fraction(deploy_prior, "deploy_prior")
    cost_fp, cost_fn = _checks.positive(cost_fp, "cost_fp"), _checks.positive(cost_fn, "cost_fn")
    z = _logit(cost_fp / (cost_fp + cost_fn)) + _logit(calibrated_prior) - _logit(deploy_prior)
    return float(sigmoid(z))


def synthetic_predictions(n: int, positive_fraction: float, separation: float = 2.0,
                          calibrated_prior: float | None = None, seed=0) -> tuple[np.ndarray, np.ndarray]:
    """Labels and probabilities of a known model, for demonstrating thresholds without training.

    The score is x ~ N(+separation/2, 1) for positives and N(−separation/2, 1)
    for negatives, so the log-likelihood ratio is ``separation · x`` and the
    probability p = σ(separation · x + logit(calibrated_prior)) is exactly
    calibrated for a split with ``calibrated_prior`` positives. Changing
    ``positive_fraction`` while keeping ``calibrated_prior`` is a pure label
    shift, e.g. PneumoniaMNIST's val (0.74) and test (0.625).

    Args:
        n: number of examples.
        positive_fraction: share of positives in (0, 1); exactly
            round(n · positive_fraction) positives are drawn.
        separation: distance between the class means in standard deviations,
            > 0 (AUC = Φ(separation / √2); 2.0 gives 0.92).
        calibrated_prior: prior the probabilities are calibrated to; default
            ``positive_fraction``.
        seed: int, None or ``np.random.Generator``.

    Returns:
        ``(y, p)``: int64 labels and float64 probabilities, shuffled.

    Raises:
        ValueError: on invalid arguments.

    Introduced in ``notebooks/05_medical_imaging_finetune.ipynb``.
    """
    n = _checks.positive_int(n, "n")
    positive_fraction = _open_fraction(positive_fraction, "positive_fraction")
    separation = _checks.positive(separation, "separation")
    prior = (positive_fraction if calibrated_prior is None
             else _open_fraction(calibrated_prior, "calibrated_prior"))
    rng = _generator(seed)
    y = np.zeros(n, dtype=np.int64)
    y[: round(n * positive_fraction)] = 1
    rng.shuffle(y)
    x = rng.normal(size=n) + separation * (y - 0.5)
    return y, sigmoid(separation * x + _logit(prior))
