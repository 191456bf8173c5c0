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
