"""Plot helpers. Each takes ``ax=None`` (a new figure when None) and returns what it drew.

Nothing here changes matplotlib's global settings.
"""

from __future__ import annotations


# --- Loss surface and gradient descent (lesson 02) ----------------------------------------

def _axes_or_new(ax):
    """``ax``, or the axes of a new pyplot figure (shown inline by Jupyter) when None.

    Shared by every plot helper here: ``ax=None`` means "make me a figure"."""
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
            :func:`crossdomain_kit.theory.surface.risk_surface` rejects.

    Introduced in ``notebooks/02_bce_gradient.ipynb``.
    """
    import numpy as np

    from .. import _checks
    from ..theory.surface import risk_surface

    for name, (low, high) in (("w_range", w_range), ("b_range", b_range)):
        if not (np.isfinite(low) and np.isfinite(high) and low < high):
            raise _checks.fail(f"`{name}` must be (low, high) with low < high.", name, (low, high))
    if _checks.positive_int(resolution, "resolution") < 2:
        raise _checks.fail("`resolution` must be at least 2.", "resolution", resolution)
    if n_arrows != 0 and _checks.positive_int(n_arrows, "n_arrows") < 2:
        raise _checks.fail("`n_arrows` must be 0 or an integer >= 2.", "n_arrows", n_arrows)
    surface = risk_surface(X, y, np.linspace(*w_range, resolution), np.linspace(*b_range, resolution))
    ax = _axes_or_new(ax)
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
            :func:`crossdomain_kit.theory.optim.gradient_descent`.
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
    from .. import _checks

    path = _checks.float_array(path, "path", ndim=2)
    if path.shape[1] != 2:
        raise _checks.fail("`path` must have shape (n, 2): one [w, b] per step.", "path", path)
    ax = _axes_or_new(ax)
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

    Introduced in ``notebooks/05_medical_imaging_finetune.ipynb``.
    """
    from sklearn.metrics import auc, roc_curve

    from .. import evaluation

    y, p = evaluation.check_predictions(y_true, y_prob, both_classes="ROC AUC")
    operating = None if threshold is None else evaluation.binary_metrics(y, p, threshold)
    fpr, tpr, _ = roc_curve(y, p)
    ax = _axes_or_new(ax)
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
    ax = _axes_or_new(ax)
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
    ax = _axes_or_new(ax)
    (diagonal,) = ax.plot([0, 1], [0, 1], "--", color="grey", linewidth=1, label="perfectly calibrated")
    kept = curve.nonempty
    (line,) = ax.plot(curve.mean_predicted[kept], curve.fraction_positive[kept], "o-", color="tab:blue",
                      label=f"{label} (ECE {curve.ece:.3f}, {curve.strategy} bins)")
    ax.set(xlim=(0, 1), ylim=(0, 1), xlabel="mean predicted probability",
           ylabel="observed share of positives", title="reliability diagram")
    legend = ax.legend(loc="upper left")
    return {"curve": line, "diagonal": diagonal, "legend": legend}


# --- Two domains of 2-D points and linear decision boundaries (lesson 01) -----------------

CLASS_COLORS = ("tab:blue", "tab:orange")
"""Colour of class 0 and class 1 in the domain plots."""


def _points_2d(X, y, x_name: str, y_name: str):
    """Check a labelled 2-D point set: X of shape (n, 2), y of n labels in {0, 1}."""
    import numpy as np

    from .. import _checks

    X = _checks.float_array(X, x_name, ndim=2)
    if X.shape[1] != 2:
        raise _checks.fail(f"`{x_name}` must have shape (n, 2): one row per 2-D point.", x_name, X)
    y = _checks.binary_labels(y, y_name)
    if y.shape != (X.shape[0],):
        raise ValueError(f"`{y_name}` must have one label per row of `{x_name}`. "
                         f"Received: {x_name}.shape={X.shape}, {y_name}.shape={y.shape}")
    return X, np.asarray(CLASS_COLORS)[y.astype(int)]


def plot_domains(X_source, y_source, X_target, y_target, ax=None, X_target_test=None,
                 y_target_test=None):
    """Scatter a source and a target domain of 2-D points: colour = class, marker = domain.

    Source points are small circles, the labelled target points large stars
    with a black edge, and the optional target test points faint dots.

    Args:
        X_source, y_source: source points (N, 2) and labels (N,) in {0, 1}.
        X_target, y_target: labelled target points (M, 2) and labels (M,).
        ax: matplotlib Axes to draw on; a new figure when None.
        X_target_test, y_target_test: optional held-out target points and labels
            (both or neither).

    Returns:
        dict with ``"source"``, ``"target"`` and ``"target_test"`` (the
        ``PathCollection`` of each scatter; the last None without test points)
        and ``"legend"`` (kept on the axes when you later call ``ax.legend()``
        for decision boundaries).

    Raises:
        ValueError: if a point array is not of shape (n, 2), labels are not in
            {0, 1} or do not match their points, or only one of the test
            arguments is given.

    Introduced in ``notebooks/01_joint_empirical_risk.ipynb``.
    """
    from matplotlib.lines import Line2D

    Xs, source_colors = _points_2d(X_source, y_source, "X_source", "y_source")
    Xt, target_colors = _points_2d(X_target, y_target, "X_target", "y_target")
    if (X_target_test is None) != (y_target_test is None):
        raise ValueError("Pass both `X_target_test` and `y_target_test`, or neither. "
                         f"Received: X_target_test={'set' if X_target_test is not None else None}, "
                         f"y_target_test={'set' if y_target_test is not None else None}")
    test = None
    if X_target_test is not None:
        test = _points_2d(X_target_test, y_target_test, "X_target_test", "y_target_test")
    ax = _axes_or_new(ax)
    drawn = {"target_test": None}
    if test is not None:
        drawn["target_test"] = ax.scatter(test[0][:, 0], test[0][:, 1], c=test[1], s=6, alpha=0.15,
                                          linewidths=0, zorder=1)
    drawn["source"] = ax.scatter(Xs[:, 0], Xs[:, 1], c=source_colors, s=18, alpha=0.55,
                                 linewidths=0, zorder=2)
    drawn["target"] = ax.scatter(Xt[:, 0], Xt[:, 1], c=target_colors, s=190, marker="*",
                                 edgecolors="black", linewidths=1.0, zorder=4)
    handles = [
        Line2D([], [], linestyle="", marker="s", color=CLASS_COLORS[0], label="class 0"),
        Line2D([], [], linestyle="", marker="s", color=CLASS_COLORS[1], label="class 1"),
        Line2D([], [], linestyle="", marker="o", color="grey", alpha=0.6,
               label=f"source D_S (N = {len(Xs)})"),
        Line2D([], [], linestyle="", marker="*", markersize=12, color="grey",
               markeredgecolor="black", label=f"target D_T (M = {len(Xt)})"),
    ]
    if test is not None:
        handles.append(Line2D([], [], linestyle="", marker=".", color="grey", alpha=0.4,
                              label=f"target test ({len(test[0])})"))
    ax.set(xlabel="x₁", ylabel="x₂", aspect="equal")
    drawn["legend"] = ax.legend(handles=handles, loc="upper left", fontsize="small")
    ax.add_artist(drawn["legend"])  # stays when the caller adds a legend for boundaries
    return drawn


def plot_decision_boundary(model_or_theta, ax=None, xlim=None, ylim=None, label: str | None = None,
                           color: str = "black", linestyle: str = "-"):
    """Draw the line w₁x₁ + w₂x₂ + b = 0 where a 2-feature logistic model's probability is ½.

    Args:
        model_or_theta: a fitted :class:`crossdomain_kit.theory.logistic.LogisticRegressionGD`
            (or anything with ``theta_``) on 2 features, or θ = [w₁, w₂, b].
        ax: matplotlib Axes to draw on; a new figure when None.
        xlim, ylim: (low, high) of the box the line is drawn across; default:
            the axes' current limits (so draw the points first). The axes keep
            these limits afterwards.
        label: legend label, or None for no legend entry.
        color, linestyle: line style.

    Returns:
        The ``Line2D`` of the boundary.

    Raises:
        ValueError: if θ does not have 3 entries, is not finite, or w = 0
            (the model has no boundary), or a limit is not (low, high).

    Introduced in ``notebooks/01_joint_empirical_risk.ipynb``.
    """
    import numpy as np

    from .. import _checks

    theta = getattr(model_or_theta, "theta_", model_or_theta)
    if not hasattr(theta, "__len__"):
        raise _checks.fail("`model_or_theta` must be a fitted model or θ = [w1, w2, b].",
                           "model_or_theta", model_or_theta)
    theta = _checks.float_array(theta, "model_or_theta", ndim=1)
    if theta.shape != (3,):
        raise _checks.fail("`model_or_theta` must have 2 features: θ = [w1, w2, b].",
                           "model_or_theta", theta)
    (w1, w2), b = theta[:2], theta[2]
    if w1 == 0 and w2 == 0:
        raise _checks.fail("The weights are zero, so the model predicts ½ everywhere and has "
                           "no boundary (is it trained?).", "model_or_theta", theta)
    ax = _axes_or_new(ax)
    limits = []
    for name, value, current in (("xlim", xlim, ax.get_xlim()), ("ylim", ylim, ax.get_ylim())):
        low, high = current if value is None else value
        if not (np.isfinite(low) and np.isfinite(high) and low < high):
            raise _checks.fail(f"`{name}` must be (low, high) with low < high.", name, value)
        limits.append((float(low), float(high)))
    (x_low, x_high), (y_low, y_high) = limits
    # Solve for the coordinate with the larger weight, so a steep line stays exact.
    if abs(w2) >= abs(w1):
        xs = np.array([x_low, x_high])
        ys = -(w1 * xs + b) / w2
    else:
        ys = np.array([y_low, y_high])
        xs = -(w2 * ys + b) / w1
    (line,) = ax.plot(xs, ys, color=color, linestyle=linestyle, linewidth=2, label=label, zorder=3)
    ax.set(xlim=(x_low, x_high), ylim=(y_low, y_high))
    return line


# --- Image grids (synthetic and real image domains, lesson 03) ------------------------------

def plot_image_grid(images, labels=None, class_names=None, ax=None, n_cols: int | None = None,
                    max_images: int = 32, title: str | None = None):
    """Show the first images of a set as one tiled mosaic, each tile captioned with its class.

    The tiles are joined into a single picture on one Axes (white gaps between
    them), so the helper takes ``ax`` like every other plot here. Grey images
    are drawn on a fixed scale (0-255 for ``uint8``, 0-1 for values in [0, 1];
    any other range is stretched), so brightness and contrast shifts stay
    visible from one grid to the next.

    Args:
        images: array of shape (n, h, w), (n, h, w, 1) or (n, h, w, 3), e.g.
            ``DomainSplit.images``; ``uint8`` or real numbers.
        labels: optional labels in {0, 1}, one per image, for the captions.
        class_names: optional (negative, positive) names for the captions;
            without them the captions are "0" and "1".
        ax: matplotlib Axes to draw on; a new figure when None.
        n_cols: tiles per row; default about square.
        max_images: show at most this many (the first ones).
        title: Axes title; default says how many images are shown.

    Returns:
        dict with ``"image"`` (the ``AxesImage`` of the mosaic) and ``"texts"``
        (one caption ``Text`` per shown image; empty without labels).

    Raises:
        ValueError: on a bad image array, labels that are not one 0/1 per
            image, bad class names, or a non-positive ``n_cols``/``max_images``.

    Introduced in ``notebooks/03_transfer_shifted_domains.ipynb``.
    """
    import numpy as np

    from .. import _checks

    array = np.asarray(images)
    if array.ndim == 4 and array.shape[-1] == 1:
        array = array[..., 0]
    if not (array.ndim == 3 or (array.ndim == 4 and array.shape[-1] == 3)) or array.size == 0 \
            or not (np.issubdtype(array.dtype, np.integer) or np.issubdtype(array.dtype, np.floating)):
        raise _checks.fail("`images` must be a non-empty numeric array of shape (n, h, w), "
                           "(n, h, w, 1) or (n, h, w, 3).", "images", images)
    if labels is not None:
        labels = _checks.binary_labels(labels, "labels").astype(int).reshape(-1)
        if labels.size != len(array):
            raise ValueError("`labels` must have one entry per image. "
                             f"Received: {labels.size} labels for {len(array)} images")
    names = ("0", "1") if class_names is None else _checks.class_names(class_names)
    total = len(array)
    shown = min(total, _checks.positive_int(max_images, "max_images"))
    cols = int(np.ceil(np.sqrt(shown))) if n_cols is None else _checks.positive_int(n_cols, "n_cols")
    cols = min(cols, shown)
    rows = int(np.ceil(shown / cols))

    array = array[:shown]
    finite = array[np.isfinite(array)]
    if array.dtype == np.uint8:
        bottom, top = 0.0, 255.0
    elif finite.size == 0 or (finite.min() >= 0 and finite.max() <= 1):
        bottom, top = 0.0, 1.0
    else:  # any other range: stretch it
        bottom, top = float(finite.min()), float(max(finite.max(), finite.min() + 1e-12))
    height, width = array.shape[1:3]
    gap = max(1, min(height, width) // 16)
    mosaic = np.full((rows * (height + gap) - gap, cols * (width + gap) - gap) + array.shape[3:], top)
    for k in range(shown):
        r, c = divmod(k, cols)
        mosaic[r * (height + gap): r * (height + gap) + height,
               c * (width + gap): c * (width + gap) + width] = array[k]
    if array.ndim == 4:  # RGB: imshow wants floats in [0, 1]
        mosaic = np.clip((mosaic - bottom) / (top - bottom), 0.0, 1.0)

    created = ax is None
    ax = _axes_or_new(ax)
    if created:
        ax.figure.set_size_inches(min(1.3 * cols, 12), min(1.3 * rows, 12) + 0.4)
    image = ax.imshow(mosaic, cmap="gray", vmin=bottom, vmax=top, interpolation="nearest")
    texts = []
    if labels is not None:
        for k in range(shown):
            r, c = divmod(k, cols)
            texts.append(ax.text(c * (width + gap) - 0.5, r * (height + gap) - 0.5, names[labels[k]],
                                 ha="left", va="top", fontsize="x-small", color="white",
                                 bbox={"facecolor": "black", "alpha": 0.55, "pad": 1, "linewidth": 0}))
    ax.set_axis_off()
    ax.set_title(title if title is not None else f"{shown} of {total} images")
    return {"image": image, "texts": texts}


# --- Learning-rate finder (lesson 04) ------------------------------------------------------

def plot_lr_finder(result, ax=None):
    """A learning-rate sweep: loss against learning rate (log scale), with the suggestion marked.

    The raw batch losses are drawn faintly behind the smoothed curve; a
    vertical line marks the suggested rate and a dot the steepest descent.
    The y-axis stops at twice the first smoothed loss, so a diverging tail
    does not flatten the interesting part.

    Args:
        result: a :class:`crossdomain_kit.training.LRFinderResult`.
        ax: matplotlib Axes to draw on; a new figure when None.

    Returns:
        dict with ``"raw"`` and ``"smoothed"`` (``Line2D``), ``"suggestion"``
        (the vertical ``Line2D``), ``"steepest"`` (``Line2D`` marker, None if
        undefined) and ``"legend"``.

    Raises:
        ValueError: if ``result`` is not an ``LRFinderResult``.

    Introduced in ``notebooks/04_freezing_hyperparameters_lab.ipynb``.
    """
    import numpy as np

    from .. import _checks
    from ..training import LRFinderResult

    if not isinstance(result, LRFinderResult):
        raise _checks.fail("`result` must be an LRFinderResult from "
                           "`crossdomain_kit.training.find_learning_rate`.", "result", result)
    ax = _axes_or_new(ax)
    lrs, smoothed = result.learning_rates, result.losses
    (raw,) = ax.plot(lrs, result.raw_losses, color="tab:blue", alpha=0.25, linewidth=1,
                     label="batch loss")
    (smooth,) = ax.plot(lrs, smoothed, color="tab:blue", linewidth=1.8, label="smoothed loss")
    suggestion = ax.axvline(result.suggestion, color="tab:red", linestyle="--",
                            label=f"suggested {result.suggestion:.1e} (minimum / 10)")
    steepest = None
    if result.steepest_lr is not None:
        at = int(np.argmin(np.abs(lrs - result.steepest_lr)))
        (steepest,) = ax.plot(lrs[at], smoothed[at], "o", color="tab:orange", markersize=7,
                              label=f"steepest descent {result.steepest_lr:.1e}")
    ax.set_xscale("log")
    finite = smoothed[np.isfinite(smoothed)]
    if finite.size:
        low, high = float(finite.min()), float(min(finite.max(), 2 * abs(finite[0])))
        pad = 0.05 * max(high - low, 1e-12)
        ax.set_ylim(low - pad, high + pad)
    ax.set(xlabel="learning rate (log scale)", ylabel="training loss",
           title="learning-rate finder" + (" (stopped: loss diverged)" if result.diverged else ""))
    legend = ax.legend(loc="best")
    return {"raw": raw, "smoothed": smooth, "suggestion": suggestion, "steepest": steepest,
            "legend": legend}


# --- Learning curves (lesson 04, the dashboard, report folders) ----------------------------

def plot_learning_curves(history, axes=None, *, label: str | None = None, epoch_offset: int = 0,
                         phases=None, best_epoch: int | None = None):
    """Loss and AUC per epoch: training solid, validation dashed.

    Call it once per run on the same two axes to draw runs one after the other.

    Args:
        history: ``{name: [value per epoch]}`` with ``loss``/``val_loss`` and
            ``auc``/``val_auc`` (``TrainingResult.history`` or Keras's
            ``History.history``); missing keys are skipped.
        axes: two Axes (loss, AUC), or None for a new pyplot figure.
        label: prefix of the legend entries (to tell runs apart).
        epoch_offset: epochs already drawn on these axes; a solid grey line
            marks where this run starts when it is > 0.
        phases: one phase name per epoch; phase changes get dotted lines.
        best_epoch: index of the epoch whose weights were kept; marked and
            annotated on the validation curves.

    Returns:
        ``{"loss": [Line2D, ...], "auc": [Line2D, ...]}``.

    Introduced in ``notebooks/04_freezing_hyperparameters_lab.ipynb``.
    """
    import numpy as np
    from matplotlib.ticker import MaxNLocator

    if axes is None:
        import matplotlib.pyplot as plt

        axes = plt.subplots(1, 2, figsize=(10, 3.5), layout="constrained")[1]
    loss_ax, auc_ax = axes
    drawn = {"loss": [], "auc": []}
    for ax, metric in ((loss_ax, "loss"), (auc_ax, "auc")):
        for key, style, kind in ((metric, "-", "training"), (f"val_{metric}", "--", "validation")):
            values = history.get(key)
            if values:
                epochs = np.arange(epoch_offset + 1, epoch_offset + len(values) + 1)
                name = f"{label}: {kind}" if label else kind
                drawn[metric] += ax.plot(epochs, values, style, marker="o", markersize=3, label=name)
        validation = history.get(f"val_{metric}")
        if best_epoch is not None and validation:
            x, y = epoch_offset + best_epoch + 1, validation[best_epoch]
            ax.plot(x, y, "o", color="black", markersize=6)
            ax.annotate(f"kept {y:.3f}", (x, y), textcoords="offset points", xytext=(4, -12),
                        fontsize="small")
        if epoch_offset:
            ax.axvline(epoch_offset + 0.5, color="grey", linewidth=1)
        for i in range(1, len(phases or ())):
            if phases[i] != phases[i - 1]:
                ax.axvline(epoch_offset + i + 0.5, color="grey", linestyle=":", linewidth=1)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.legend(loc="best", fontsize="small")
    loss_ax.set(xlabel="epoch", ylabel="binary cross-entropy", title="loss")
    auc_ax.set(xlabel="epoch", ylabel="ROC AUC", title="AUC")
    return drawn


# --- Grad-CAM overlays (lesson 05) -----------------------------------------------------------

def plot_grad_cam(images, heatmaps, axes=None, *, labels=None, probabilities=None, class_names=None,
                  alpha: float = 0.4, cmap: str = "jet"):
    """Each image in grey with its Grad-CAM heat map laid over it, one Axes per image.

    Args:
        images: array (n, h, w), (n, h, w, 1) or (n, h, w, 3) in any value
            range, e.g. the preprocessed batch given to
            :func:`crossdomain_kit.models.gradcam.grad_cam`. Each is shown in grey
            (the mean of its channels), stretched from its own minimum to
            maximum, so ImageNet-preprocessed X-rays display as they look.
        heatmaps: non-negative array (n, h', w'), e.g. from ``grad_cam``; each
            is stretched over its whole image (any resolution) and scaled by
            its maximum.
        axes: n Axes, or None for a new pyplot figure (up to 4 per row).
        labels: optional true labels in {0, 1}, one per image, for the titles.
        probabilities: optional predicted probabilities of the positive class,
            one per image, for the titles.
        class_names: optional (negative, positive) names for the titles.
        alpha: opacity of the heat map in (0, 1].
        cmap: matplotlib colour map of the heat map.

    Returns:
        dict with ``"images"`` and ``"heatmaps"`` (one ``AxesImage`` each per
        image) and ``"titles"`` (the title ``Text`` of each Axes).

    Raises:
        ValueError: on images or heat maps of the wrong shape, a negative or
            non-finite heat map, labels or probabilities that are not one per
            image, bad class names, too few axes or a bad ``alpha``.

    Introduced in ``notebooks/05_medical_imaging_finetune.ipynb``.
    """
    import numpy as np

    from .. import _checks

    pictures = _checks.float_array(images, "images")
    if pictures.ndim == 4 and pictures.shape[-1] in (1, 3):
        pictures = pictures.mean(axis=-1)
    if pictures.ndim != 3:
        raise _checks.fail("`images` must have shape (n, h, w), (n, h, w, 1) or (n, h, w, 3).",
                           "images", images)
    n = len(pictures)
    heat = _checks.float_array(heatmaps, "heatmaps", ndim=3)
    if len(heat) != n or np.any(heat < 0):
        raise _checks.fail(f"`heatmaps` must hold {n} non-negative maps, one per image.",
                           "heatmaps", heat)
    alpha = _checks.real_in(alpha, "alpha", 0.0, 1.0, low_open=True)
    captions = [[] for _ in range(n)]
    names = ("0", "1") if class_names is None else _checks.class_names(class_names)
    if labels is not None:
        labels = _checks.binary_labels(labels, "labels").astype(int).reshape(-1)
        if labels.size != n:
            raise _checks.fail(f"`labels` must have one entry per image ({n}).", "labels", labels)
        for caption, label in zip(captions, labels):
            caption.append(names[label])
    if probabilities is not None:
        probabilities = _checks.probabilities(probabilities, "probabilities").reshape(-1)
        if probabilities.size != n:
            raise _checks.fail(f"`probabilities` must have one entry per image ({n}).",
                               "probabilities", probabilities)
        for caption, p in zip(captions, probabilities):
            caption.append(f"p({names[1]}) {p:.2f}")
    if axes is None:
        import matplotlib.pyplot as plt

        cols = min(n, 4)
        rows = -(-n // cols)
        axes = plt.subplots(rows, cols, figsize=(2.6 * cols, 2.8 * rows), squeeze=False)[1].ravel()
    axes = list(np.ravel(axes))
    if len(axes) < n:
        raise _checks.fail(f"`axes` must hold at least one Axes per image ({n}).", "axes", axes)
    drawn = {"images": [], "heatmaps": [], "titles": []}
    for ax, picture, heat_map, caption in zip(axes, pictures, heat, captions):
        height, width = picture.shape
        low, high = float(picture.min()), float(picture.max())
        drawn["images"].append(ax.imshow(picture, cmap="gray", vmin=low, vmax=max(high, low + 1e-12)))
        peak = heat_map.max()
        drawn["heatmaps"].append(ax.imshow(heat_map / peak if peak > 0 else heat_map, cmap=cmap,
                                           alpha=alpha, vmin=0.0, vmax=1.0, interpolation="bilinear",
                                           extent=(-0.5, width - 0.5, height - 0.5, -0.5)))
        drawn["titles"].append(ax.set_title(" · ".join(caption), fontsize="small"))
        ax.set_axis_off()
    for ax in axes[n:]:
        ax.set_axis_off()
    return drawn


# --- Domain maps (lesson 07) ------------------------------------------------------------------

DOMAIN_COLORS = ("tab:blue", "tab:orange")


def plot_domain_map(source_points, target_points, ax=None, *, source_labels=None, target_labels=None,
                    names=("source", "target"), title: str | None = None):
    """Scatter two domains' 2-D feature maps in one plot: colour = domain, marker = class.

    Args:
        source_points: array (n_S, 2), e.g. the first output of
            :func:`crossdomain_kit.methods.adaptation.embed_domains`.
        target_points: array (n_T, 2).
        ax: matplotlib Axes to draw on; a new figure when None.
        source_labels, target_labels: optional labels in {0, 1} (both or
            neither): class 0 is drawn as circles, class 1 as triangles.
        names: the two domains' names for the legend.
        title: the Axes title (None: none).

    Returns:
        dict with ``"source"`` and ``"target"`` (lists of ``PathCollection``,
        one per class drawn) and ``"legend"``.

    Raises:
        ValueError: for point arrays not of shape (n, 2), labels not in {0, 1}
            or not one per point, one label array without the other, or
            names that are not two strings.

    Introduced in ``notebooks/07_beyond_fine_tuning.ipynb``.
    """
    import numpy as np

    from .. import _checks

    if (source_labels is None) != (target_labels is None):
        raise ValueError("Pass both `source_labels` and `target_labels`, or neither. "
                         f"Received: source_labels={'set' if source_labels is not None else None}, "
                         f"target_labels={'set' if target_labels is not None else None}")
    names = _checks.class_names(names, "names")
    layers = []
    for which, points, labels in (("source", source_points, source_labels),
                                  ("target", target_points, target_labels)):
        name = f"{which}_points"
        if labels is None:
            points = _checks.float_array(points, name, ndim=2)
            if points.shape[1] != 2:
                raise _checks.fail(f"`{name}` must have shape (n, 2): one row per point.", name, points)
            labels = np.zeros(len(points))
        else:
            points, _ = _points_2d(points, labels, name, f"{which}_labels")
            labels = np.asarray(labels, dtype=np.float64).ravel()
        layers.append((which, points, labels))
    with_classes = source_labels is not None
    ax = _axes_or_new(ax)
    drawn = {}
    for (which, points, labels), color, name in zip(layers, DOMAIN_COLORS, names):
        drawn[which] = []
        for label, marker in ((0, "o"), (1, "^")):
            chosen = points[labels == label]
            if len(chosen):
                text = f"{name}, class {label}" if with_classes else f"{name} (n = {len(points)})"
                drawn[which].append(ax.scatter(chosen[:, 0], chosen[:, 1], s=12, marker=marker,
                                               color=color, alpha=0.5, linewidths=0, label=text))
    ax.set(xticks=[], yticks=[])
    if title is not None:
        ax.set_title(title)
    drawn["legend"] = ax.legend(loc="best", fontsize="small", markerscale=1.5)
    return drawn


# --- Data-efficiency curves (lesson 03) ------------------------------------------------------

def plot_data_efficiency(label_counts, curves, ax=None, *, ylabel: str = "target test AUC",
                         title: str | None = None):
    """Mean over seeds against the number of labels, one line per method, its min–max range as a band.

    Args:
        label_counts: increasing positive integers (the x axis, drawn on a log-2 scale).
        curves: ``{name: values}``, values of shape (n_counts, n_seeds), e.g.
            :meth:`crossdomain_kit.workflows.data_efficiency.DataEfficiency.curves`; one
            seed draws no band.
        ax: matplotlib Axes to draw on; a new figure when None.
        ylabel: the y axis's label.
        title: the Axes title (None: none).

    Returns:
        dict with ``"lines"`` and ``"bands"`` (``{name: Line2D}`` and
        ``{name: PolyCollection}``, no band for one seed) and ``"legend"``.

    Raises:
        ValueError: for counts that are not increasing positive integers, no
            curves, or values that are not finite with one row per count.

    Introduced in ``notebooks/03_transfer_shifted_domains.ipynb``.
    """
    import numpy as np

    from .. import _checks

    counts = np.asarray(label_counts)
    if (counts.ndim != 1 or counts.size == 0 or not np.issubdtype(counts.dtype, np.integer)
            or np.any(counts < 1) or np.any(np.diff(counts) <= 0)):
        raise _checks.fail("`label_counts` must be increasing positive integers.", "label_counts",
                           label_counts)
    if not isinstance(curves, dict) or not curves:
        raise _checks.fail("`curves` must be a non-empty dict {name: values (n_counts, n_seeds)}.",
                           "curves", curves)
    checked = {}
    for name, values in curves.items():
        array = _checks.float_array(values, f"curves[{name!r}]", ndim=2)
        if array.shape[0] != counts.size:
            raise _checks.fail(f"`curves[{name!r}]` must have one row per label count ({counts.size}).",
                               f"curves[{name!r}]", array)
        checked[str(name)] = array
    ax = _axes_or_new(ax)
    drawn = {"lines": {}, "bands": {}}
    for name, array in checked.items():
        (line,) = ax.plot(counts, array.mean(axis=1), marker="o", label=name)
        drawn["lines"][name] = line
        if array.shape[1] > 1:
            drawn["bands"][name] = ax.fill_between(counts, array.min(axis=1), array.max(axis=1),
                                                   color=line.get_color(), alpha=0.2, linewidth=0)
    ax.set_xscale("log", base=2)
    ax.set_xticks(counts, [str(int(n)) for n in counts])
    ax.minorticks_off()
    ax.set(xlabel="target training labels", ylabel=ylabel)
    if title is not None:
        ax.set_title(title)
    most_seeds = max(a.shape[1] for a in checked.values())
    drawn["legend"] = ax.legend(loc="best", fontsize="small", title_fontsize="small",
                                title=f"mean; band: min–max over {most_seeds} seeds" if most_seeds > 1 else None)
    ax.grid(alpha=0.3)
    return drawn


# --- Overfitting controls and adversarial robustness (lesson 06) ---------------------------

def plot_seed_comparison(values, ax=None, *, ylabel: str, title: str | None = None, reference: str | None = None):
    """One bar per setting at its mean over seeds, each seed's value as a dot on it.

    Showing the seeds, not only the mean, lets a reader see whether two
    settings differ by more than the seeds do.

    Args:
        values: ``{setting: per-seed values}`` (one or more finite numbers each).
        ax: matplotlib Axes to draw on; a new figure when None.
        ylabel: the y axis's label.
        title: the Axes title (None: none).
        reference: a setting whose mean is drawn across the plot as a dashed
            line (e.g. the baseline); None draws none.

    Returns:
        dict with ``"bars"`` (``{setting: Rectangle}``), ``"dots"``
        (``{setting: PathCollection}``) and ``"reference"`` (a Line2D or None).

    Raises:
        ValueError: for no settings, values that are not finite numbers, or a
            ``reference`` that is not one of the settings.

    Introduced in ``notebooks/06_overfitting_controls.ipynb``.
    """
    import numpy as np

    from .. import _checks

    if not isinstance(values, dict) or not values:
        raise _checks.fail("`values` must be a non-empty dict {setting: per-seed values}.", "values", values)
    checked = {str(name): _checks.float_array(np.ravel(v), f"values[{name!r}]", ndim=1)
               for name, v in values.items()}
    if reference is not None and reference not in checked:
        raise _checks.fail(f"`reference` must be one of {list(checked)}.", "reference", reference)
    ax = _axes_or_new(ax)
    drawn = {"bars": {}, "dots": {}, "reference": None}
    for position, (name, seeds) in enumerate(checked.items()):
        drawn["bars"][name] = ax.bar(position, seeds.mean(), width=0.6, color="tab:blue", alpha=0.35)[0]
        offsets = np.linspace(-0.15, 0.15, seeds.size) if seeds.size > 1 else np.zeros(1)
        drawn["dots"][name] = ax.scatter(position + offsets, seeds, color="tab:blue", s=18, zorder=3)
    if reference is not None:
        drawn["reference"] = ax.axhline(checked[reference].mean(), color="grey", linestyle="--", linewidth=1)
    ax.set_xticks(range(len(checked)), list(checked), rotation=30, ha="right")
    ax.set_ylabel(ylabel)
    if title is not None:
        ax.set_title(title)
    ax.grid(axis="y", alpha=0.3)
    return drawn


def plot_robustness(scores, ax=None, *, title: str | None = None):
    """AUC against the FGSM attack's ε in grey levels (ε·255), one line per model.

    Args:
        scores: ``{name: scores}``, each a list of objects with ``epsilon`` and
            ``auc`` (:func:`crossdomain_kit.methods.adversarial.robust_scores`' result),
            ε in the units of inputs scaled to [0, 1].
        ax: matplotlib Axes to draw on; a new figure when None.
        title: the Axes title (None: none).

    Returns:
        ``{name: Line2D}``.

    Raises:
        ValueError: for no models, or a model without scores.

    Introduced in ``notebooks/06_overfitting_controls.ipynb``.
    """
    from .. import _checks

    if not isinstance(scores, dict) or not scores or not all(len(s) for s in scores.values()):
        raise _checks.fail("`scores` must be a non-empty dict {name: robust scores}, each non-empty.",
                           "scores", scores)
    ax = _axes_or_new(ax)
    lines = {}
    for name, curve in scores.items():
        (lines[name],) = ax.plot([s.epsilon * 255 for s in curve], [s.auc for s in curve], marker="o",
                                 label=str(name))
    ax.axhline(0.5, color="grey", linestyle=":", linewidth=1)
    ax.set(xlabel="FGSM ε (grey levels of 255)", ylabel="test AUC under attack", ylim=(0, 1))
    if title is not None:
        ax.set_title(title)
    ax.legend(loc="best", fontsize="small")
    ax.grid(alpha=0.3)
    return lines
