"""Evaluating binary classifiers: metrics, validation-chosen thresholds, bootstrap intervals, calibration, tables.

One module per concept: :mod:`~crossdomain_kit.evaluation.metrics` (checks and
metrics), :mod:`~crossdomain_kit.evaluation.thresholds` (choosing and moving
the threshold), :mod:`~crossdomain_kit.evaluation.bootstrap` (intervals),
:mod:`~crossdomain_kit.evaluation.calibration`, :mod:`~crossdomain_kit.evaluation.tables`
and :mod:`~crossdomain_kit.evaluation.evaluate` (the validation → test report).
Their public names are all importable from here.

The report folders (:mod:`crossdomain_kit.evaluation.reports`) are imported on their own: they need matplotlib."""

from .metrics import (
    METRICS,
    DEFAULT_CLASS_NAMES,
    check_predictions,
    BinaryMetrics,
    binary_metrics,
    roc_auc,
    classification_report_text,
)
from .thresholds import (
    THRESHOLD_METHODS,
    choose_threshold,
    bayes_threshold,
    synthetic_predictions,
)
from .bootstrap import ConfidenceInterval, bootstrap_ci
from .calibration import (
    BIN_STRATEGIES,
    ReliabilityCurve,
    reliability_curve,
    expected_calibration_error,
)
from .tables import Table, compare_thresholds
from .evaluate import EvaluationReport, evaluate_predictions, compare_before_after, compare_evaluations
