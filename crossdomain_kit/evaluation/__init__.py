"""Evaluating binary classifiers: metrics, validation-chosen thresholds, bootstrap intervals, calibration, tables.

The report folders (:mod:`crossdomain_kit.evaluation.reports`) are imported on their own: they need matplotlib."""

from .metrics import (
    METRICS,
    THRESHOLD_METHODS,
    BIN_STRATEGIES,
    DEFAULT_CLASS_NAMES,
    check_predictions,
    choose_threshold,
    BinaryMetrics,
    binary_metrics,
    classification_report_text,
    ConfidenceInterval,
    bootstrap_ci,
    ReliabilityCurve,
    reliability_curve,
    expected_calibration_error,
    Table,
    compare_thresholds,
    EvaluationReport,
    evaluate_predictions,
    compare_before_after,
    bayes_threshold,
    synthetic_predictions,
)
