"""Plots of the theory lessons: risk surfaces and descent paths, two domains of 2-D points, decision boundaries.

Each takes ``ax=None`` (a new figure when None) and returns what it drew.
Nothing here changes matplotlib's global settings.
"""

from __future__ import annotations

from ._common import axes_or_new, labelled_points


# --- Loss surface and gradient descent (lesson 02) ----------------------------------------

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
    ax = axes_or_new(ax)
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
    ax = axes_or_new(ax)
    (line,) = ax.plot(path[:, 0], path[:, 1], "o-", color=color, markersize=3, linewidth=1.2,
                      label=label)
    ax.plot(path[0, 0], path[0, 1], "s", color=color, markersize=8, markeredgecolor="white")
    if label is not None:
        ax.legend(loc="best")
    return line


# --- Two domains of 2-D points and linear decision boundaries (lesson 01) -----------------

CLASS_COLORS = ("tab:blue", "tab:orange")
"""Colour of class 0 and class 1 in the domain plots."""


def _points_2d(X, y, x_name: str, y_name: str):
    """Check a labelled 2-D point set and colour each point by its class (:data:`CLASS_COLORS`)."""
    import numpy as np

    X, y = labelled_points(X, y, x_name, y_name)
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
    ax = axes_or_new(ax)
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
    ax = axes_or_new(ax)
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
