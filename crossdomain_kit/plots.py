"""Plot helpers. Each takes ``ax=None`` (a new figure when None) and returns what it drew.

Nothing here changes matplotlib's global settings.
"""

from __future__ import annotations


# --- Loss surface and gradient descent (lesson 02) ----------------------------------------

def _surface_axes(ax):
    """``ax``, or the axes of a new pyplot figure (shown inline by Jupyter) when None."""
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    return plt.subplots(figsize=(6, 4.5))[1]


def plot_loss_surface(X, y, w_range=(-3.0, 5.0), b_range=(-5.0, 4.0), resolution: int = 80,
                      n_arrows: int = 13, ax=None):
    """Contours of the logistic risk R(w, b) of a 1-feature dataset, with −∇R arrows.

    The arrows point downhill (the direction a gradient-descent step moves)
    and are longer where the surface is steeper.

    Args:
        X: inputs, shape (n, 1).
        y: labels in {0, 1}, shape (n,).
        w_range: (low, high) of the weight axis.
        b_range: (low, high) of the bias axis.
        resolution: contour grid points per axis (>= 2).
        n_arrows: arrows per axis (>= 2), or 0 for none.
        ax: matplotlib Axes to draw on; a new figure when None.

    Returns:
        ``(contours, arrows)``: the filled ``ContourSet`` and the ``Quiver``
        (None when ``n_arrows`` is 0).

    Raises:
        ValueError: on a bad range, resolution or arrow count, or data that
            :func:`crossdomain_kit.surface.risk_surface` rejects.

    Introduced in ``notebooks/02_bce_gradient.ipynb``.
    """
    import numpy as np

    from . import _checks
    from .surface import risk_surface

    for name, (low, high) in (("w_range", w_range), ("b_range", b_range)):
        if not (np.isfinite(low) and np.isfinite(high) and low < high):
            raise _checks.fail(f"`{name}` must be (low, high) with low < high.", name, (low, high))
    if _checks.positive_int(resolution, "resolution") < 2:
        raise _checks.fail("`resolution` must be at least 2.", "resolution", resolution)
    if n_arrows != 0 and _checks.positive_int(n_arrows, "n_arrows") < 2:
        raise _checks.fail("`n_arrows` must be 0 or an integer >= 2.", "n_arrows", n_arrows)
    surface = risk_surface(X, y, np.linspace(*w_range, resolution), np.linspace(*b_range, resolution))
    ax = _surface_axes(ax)
    # Log-spaced levels: the bowl's floor is flat and would otherwise get a single level.
    levels = np.geomspace(surface.risk.min(), surface.risk.max(), 18)
    contours = ax.contourf(surface.w, surface.b, surface.risk, levels=levels, cmap="viridis")
    ax.contour(surface.w, surface.b, surface.risk, levels=levels, colors="white",
               linewidths=0.4, alpha=0.6)
    ax.figure.colorbar(contours, ax=ax, label="risk R(w, b)", format="%.2f")
    arrows = None
    if n_arrows:
        coarse = risk_surface(X, y, np.linspace(*w_range, n_arrows + 2)[1:-1],
                              np.linspace(*b_range, n_arrows + 2)[1:-1])
        arrows = ax.quiver(coarse.w, coarse.b, -coarse.grad_w, -coarse.grad_b, color="white",
                           angles="xy", pivot="mid", width=0.004)
    ax.set(xlim=w_range, ylim=b_range, xlabel="weight w", ylabel="bias b",
           title="logistic risk; arrows: −∇R (downhill)")
    return contours, arrows


def plot_descent_path(path, ax=None, color: str = "tab:red", label: str | None = "gradient descent"):
    """Draw the parameters visited by gradient descent on (w, b) axes.

    Args:
        path: θ = [w, b] at every step, shape (n_visited, 2), θ₀ first, e.g.
            ``DescentRun.path`` or the ``path`` of
            :func:`crossdomain_kit.optim.gradient_descent`.
        ax: matplotlib Axes to draw on (typically the one of
            :func:`plot_loss_surface`); a new figure when None.
        color: line and marker colour.
        label: legend label, or None for no legend entry.

    Returns:
        The ``Line2D`` of the path (the start is an extra, larger marker).

    Raises:
        ValueError: if ``path`` is not an array of shape (n, 2) of finite numbers.

    Introduced in ``notebooks/02_bce_gradient.ipynb``.
    """
    from . import _checks

    path = _checks.float_array(path, "path", ndim=2)
    if path.shape[1] != 2:
        raise _checks.fail("`path` must have shape (n, 2): one [w, b] per step.", "path", path)
    ax = _surface_axes(ax)
    (line,) = ax.plot(path[:, 0], path[:, 1], "o-", color=color, markersize=3, linewidth=1.2,
                      label=label)
    ax.plot(path[0, 0], path[0, 1], "s", color=color, markersize=8, markeredgecolor="white")
    if label is not None:
        ax.legend(loc="best")
    return line


# --- Evaluation: ROC, confusion matrix, reliability (lesson 05) ----------------------------

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

    Introduced in ``notebooks/05_evaluation.ipynb``.
    """
    from sklearn.metrics import auc, roc_curve

    from . import evaluation

    y, p = evaluation.check_predictions(y_true, y_prob, both_classes="ROC AUC")
    operating = None if threshold is None else evaluation.binary_metrics(y, p, threshold)
    fpr, tpr, _ = roc_curve(y, p)
    ax = _surface_axes(ax)
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

    Introduced in ``notebooks/05_evaluation.ipynb``.
    """
    import numpy as np

    from . import _checks

    cm = _checks.float_array(cm, "cm", ndim=2)
    if cm.shape[0] != cm.shape[1] or np.any(cm < 0) or np.any(cm != np.round(cm)):
        raise _checks.fail("`cm` must be a square array of non-negative counts.", "cm", cm)
    names = list(class_names) if isinstance(class_names, (list, tuple)) else []
    if len(names) != cm.shape[0] or not all(isinstance(n, str) for n in names):
        raise _checks.fail(f"`class_names` must be {cm.shape[0]} strings, one per row of `cm`.",
                           "class_names", class_names)
    ax = _surface_axes(ax)
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

    Introduced in ``notebooks/05_evaluation.ipynb``.
    """
    from . import _checks
    from .evaluation import ReliabilityCurve

    if not isinstance(curve, ReliabilityCurve):
        raise _checks.fail("`curve` must be a ReliabilityCurve from "
                           "`crossdomain_kit.evaluation.reliability_curve`.", "curve", curve)
    ax = _surface_axes(ax)
    (diagonal,) = ax.plot([0, 1], [0, 1], "--", color="grey", linewidth=1, label="perfectly calibrated")
    kept = curve.nonempty
    (line,) = ax.plot(curve.mean_predicted[kept], curve.fraction_positive[kept], "o-", color="tab:blue",
                      label=f"{label} (ECE {curve.ece:.3f}, {curve.strategy} bins)")
    ax.set(xlim=(0, 1), ylim=(0, 1), xlabel="mean predicted probability",
           ylabel="observed share of positives", title="reliability diagram")
    legend = ax.legend(loc="upper left")
    return {"curve": line, "diagonal": diagonal, "legend": legend}
