"""Plots of a binary classifier's evaluation: ROC curve, confusion matrix, reliability diagram.

Each takes ``ax=None`` (a new figure when None) and returns what it drew.
Nothing here changes matplotlib's global settings.
"""

from __future__ import annotations

from ._common import axes_or_new


def plot_roc(y_true, y_prob, ax=None, threshold: float | None = None, label: str = "model"):
    """ROC curve with its AUC, the chance diagonal and, optionally, the operating point.

    Args:
        y_true: labels in {0, 1}; both classes needed.
        y_prob: probabilities of the positive class in [0, 1] (``losses.sigmoid`` of logits).
        ax: matplotlib Axes to draw on; a new figure when None.
        threshold: if given, marks (1 − specificity, sensitivity) at this cut,
            e.g. the one :func:`crossdomain_kit.evaluation.choose_threshold`
            chose on validation.
        label: legend name of the curve (the AUC is appended).

    Returns:
        dict with ``"curve"``, ``"chance"`` and ``"operating_point"`` (``Line2D``;
        the last None without ``threshold``) and ``"legend"``.

    Raises:
        ValueError: as :func:`crossdomain_kit.evaluation.binary_metrics`.

    Introduced in ``notebooks/05_medical_imaging_finetune.ipynb``.
    """
    from sklearn.metrics import auc, roc_curve

    from .. import evaluation

    y, p = evaluation.check_predictions(y_true, y_prob, both_classes="ROC AUC")
    operating = None if threshold is None else evaluation.binary_metrics(y, p, threshold)
    fpr, tpr, _ = roc_curve(y, p)
    ax = axes_or_new(ax)
    (curve,) = ax.plot(fpr, tpr, color="tab:blue", linewidth=1.8, label=f"{label} (AUC {auc(fpr, tpr):.3f})")
    (chance,) = ax.plot([0, 1], [0, 1], "--", color="grey", linewidth=1, label="chance")
    point = None
    if operating is not None:
        (point,) = ax.plot(1 - operating.specificity, operating.sensitivity, "o", color="tab:red",
                           markersize=8, label=f"threshold {operating.threshold:.3f}: sens "
                           f"{operating.sensitivity:.2f}, spec {operating.specificity:.2f}")
    ax.set(xlim=(-0.01, 1.01), ylim=(-0.01, 1.01), xlabel="false positive rate (1 − specificity)",
           ylabel="true positive rate (sensitivity)", title="ROC curve")
    legend = ax.legend(loc="lower right")
    return {"curve": curve, "chance": chance, "operating_point": point, "legend": legend}


def plot_confusion_matrix(cm, class_names, ax=None):
    """Confusion matrix as a heat map, each cell showing its count and its share of the true class.

    Args:
        cm: square array of counts, rows = true class, columns = predicted class
            (``BinaryMetrics.confusion_matrix``, scikit-learn's layout).
        class_names: one name per class, in label order.
        ax: matplotlib Axes to draw on; a new figure when None.

    Returns:
        dict with ``"image"`` (the ``AxesImage``) and ``"texts"`` (the cell ``Text``
        objects, row by row).

    Raises:
        ValueError: if ``cm`` is not a square array of non-negative whole counts
            or ``class_names`` does not name each row.

    Introduced in ``notebooks/05_medical_imaging_finetune.ipynb``.
    """
    import numpy as np

    from .. import _checks

    cm = _checks.float_array(cm, "cm", ndim=2)
    if cm.shape[0] != cm.shape[1] or np.any(cm < 0) or np.any(cm != np.round(cm)):
        raise _checks.fail("`cm` must be a square array of non-negative counts.", "cm", cm)
    names = list(class_names) if isinstance(class_names, (list, tuple)) else []
    if len(names) != cm.shape[0] or not all(isinstance(n, str) for n in names):
        raise _checks.fail(f"`class_names` must be {cm.shape[0]} strings, one per row of `cm`.",
                           "class_names", class_names)
    ax = axes_or_new(ax)
    image = ax.imshow(cm, cmap="Blues", vmin=0)
    row_totals = cm.sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        shares = np.where(row_totals > 0, cm / row_totals, np.nan)
    texts = []
    for i, j in np.ndindex(cm.shape):
        dark = cm[i, j] > cm.max() / 2
        share = "" if np.isnan(shares[i, j]) else f"\n{shares[i, j]:.1%}"
        texts.append(ax.text(j, i, f"{int(cm[i, j])}{share}", ha="center", va="center",
                             color="white" if dark else "black"))
    ticks = range(len(names))
    ax.set(xticks=ticks, yticks=ticks, xticklabels=names, yticklabels=names,
           xlabel="predicted", ylabel="true", title="confusion matrix (share of true class)")
    return {"image": image, "texts": texts}


def plot_reliability(curve, ax=None, label: str = "model"):
    """Reliability diagram: observed share of positives against mean probability per bin.

    Args:
        curve: a :class:`crossdomain_kit.evaluation.ReliabilityCurve`.
        ax: matplotlib Axes to draw on; a new figure when None.
        label: legend name of the curve (the ECE is appended).

    Returns:
        dict with ``"curve"`` and ``"diagonal"`` (``Line2D``) and ``"legend"``.

    Raises:
        ValueError: if ``curve`` is not a ``ReliabilityCurve``.

    Introduced in ``notebooks/05_medical_imaging_finetune.ipynb``.
    """
    from .. import _checks
    from ..evaluation import ReliabilityCurve

    if not isinstance(curve, ReliabilityCurve):
        raise _checks.fail("`curve` must be a ReliabilityCurve from "
                           "`crossdomain_kit.evaluation.reliability_curve`.", "curve", curve)
    ax = axes_or_new(ax)
    (diagonal,) = ax.plot([0, 1], [0, 1], "--", color="grey", linewidth=1, label="perfectly calibrated")
    kept = curve.nonempty
    (line,) = ax.plot(curve.mean_predicted[kept], curve.fraction_positive[kept], "o-", color="tab:blue",
                      label=f"{label} (ECE {curve.ece:.3f}, {curve.strategy} bins)")
    ax.set(xlim=(0, 1), ylim=(0, 1), xlabel="mean predicted probability",
           ylabel="observed share of positives", title="reliability diagram")
    legend = ax.legend(loc="upper left")
    return {"curve": line, "diagonal": diagonal, "legend": legend}
