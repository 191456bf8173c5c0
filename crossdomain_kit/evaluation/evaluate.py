"""The whole evaluation of a binary classifier: threshold on validation, report on test once.

Introduced in ``notebooks/05_medical_imaging_finetune.ipynb``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Mapping, Sequence

from .. import _checks
from . import _core
from .bootstrap import ConfidenceInterval, bootstrap_intervals
from .calibration import ReliabilityCurve, reliability_curve
from .metrics import (DEFAULT_CLASS_NAMES, METRICS, BinaryMetrics, binary_metrics, check_predictions,
                      classification_report_text)
from .tables import Table
from .thresholds import choose_threshold


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
            "test_auc": _core.json_number(self.test.auc),
            "test_acc": _core.json_number(self.test.accuracy),
            "sensitivity": _core.json_number(self.test.sensitivity),
            "specificity": _core.json_number(self.test.specificity),
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
    level = _checks.open_fraction(level, "level")
    threshold = choose_threshold(y_v, p_v, method, target)
    calibration = reliability_curve(y_t, p_t, n_bins, strategy)
    intervals = bootstrap_intervals(y_t, p_t, METRICS, threshold, n_boot, level, bool(stratified), seed,
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
    _check_metrics(metrics)
    labels = tuple(labels) if isinstance(labels, (tuple, list)) else ()
    if len(labels) != 2 or not all(isinstance(label, str) for label in labels):
        raise _checks.fail("`labels` must be two strings.", "labels", labels)
    flat = [_summary(before, "before"), _summary(after, "after")]
    rows = []
    for name in metrics:
        b, a = flat[0].get(name, math.nan), flat[1].get(name, math.nan)
        rows.append((name, b, a, a - b))
    return Table(columns=("metric", *labels, "change"), rows=tuple(rows), formats=("", ".3f", ".3f", "+.3f"))


def compare_evaluations(reports: Mapping[str, EvaluationReport | BinaryMetrics],
                        metrics: Sequence[str] = (*METRICS, "ece", "threshold")) -> Table:
    """Test metrics of several evaluations side by side, one column per model.

    Args:
        reports: column name → :class:`EvaluationReport` (or :class:`BinaryMetrics`,
            whose ``ece`` is shown as n/a), in the order to show them; at least one.
        metrics: rows; names from :data:`METRICS` plus ``"ece"`` and ``"threshold"``.

    Returns:
        A :class:`Table` with a column metric and one column per report.

    Raises:
        ValueError: if ``reports`` is empty or not a mapping of names to
            reports, or a metric is unknown.

    Introduced in ``notebooks/05_medical_imaging_finetune.ipynb``.
    """
    _check_metrics(metrics)
    if not isinstance(reports, Mapping) or not reports or not all(isinstance(k, str) for k in reports):
        raise _checks.fail("`reports` must map column names to evaluation reports (at least one).",
                           "reports", reports)
    flat = [_summary(report, name) for name, report in reports.items()]
    rows = tuple((name, *(f.get(name, math.nan) for f in flat)) for name in metrics)
    return Table(columns=("metric", *reports), rows=rows, formats=("", *[".3f"] * len(flat)))


def _check_metrics(metrics) -> None:
    for name in metrics:
        _core.choice(name, "metrics", (*METRICS, "ece", "threshold"))


def _summary(report, name: str) -> dict:
    if isinstance(report, EvaluationReport):
        return report.summary()
    if isinstance(report, BinaryMetrics):
        return {m: getattr(report, m) for m in (*METRICS, "threshold")}
    raise _checks.fail(f"`{name}` must be an EvaluationReport or BinaryMetrics.", name, report)
