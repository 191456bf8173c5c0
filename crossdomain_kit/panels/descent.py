"""A panel for gradient descent on the logistic loss surface.

Sliders choose the learning rate, the start point (w₀, b₀) and the number of
steps; the output shows the risk surface with its downhill arrows, the path
taken and the loss at each step, and one line that says whether the run
converged, oscillated or diverged.

Introduced in ``notebooks/02_bce_gradient.ipynb``.
"""

from __future__ import annotations

from dataclasses import dataclass

import ipywidgets as widgets
import numpy as np
from matplotlib.figure import Figure

from .. import _checks
from ..plots import plot_descent_path, plot_loss_surface
from ..theory.surface import DescentRun, descend_logistic_risk
from ._output import show_figure

LEARNING_RATE_EXPONENTS = (-3, 3)
"""The learning-rate slider spans 10⁻³ … 10³: from crawling to diverging."""
MAX_STEPS = 200


@dataclass
class DescentPanelState:
    """What the panel shows now; read it in tests or after playing with the sliders.

    Attributes:
        X, y: the 1-feature dataset.
        w_range, b_range: the extent of the surface plot.
        run: the latest :class:`crossdomain_kit.theory.surface.DescentRun`.
        n_redraws: how many times the output was redrawn.
    """

    X: np.ndarray
    y: np.ndarray
    w_range: tuple[float, float]
    b_range: tuple[float, float]
    run: DescentRun | None = None
    n_redraws: int = 0


def _check_range(value, name):
    try:
        low, high = (float(v) for v in value)
    except (TypeError, ValueError):
        raise _checks.fail(f"`{name}` must be a pair (low, high).", name, value) from None
    if not (np.isfinite(low) and np.isfinite(high) and low < high):
        raise _checks.fail(f"`{name}` must be (low, high) with low < high.", name, value)
    return low, high


def descent_panel(X, y, learning_rate: float = 1.0, start=(-2.0, 3.0), n_steps: int = 30,
                  w_range=(-3.0, 5.0), b_range=(-5.0, 4.0)) -> widgets.VBox:
    """Interactive gradient descent on the logistic risk of a 1-feature dataset.

    Args:
        X: inputs, shape (n, 1), e.g. from
            :func:`crossdomain_kit.theory.surface.toy_1d_dataset`.
        y: labels in {0, 1}, shape (n,).
        learning_rate: initial η, within 10⁻³ … 10³.
        start: initial start point (w₀, b₀), inside the ranges.
        n_steps: initial number of steps, 1 … 200.
        w_range: (low, high) of the weight axis and of the w₀ slider.
        b_range: (low, high) of the bias axis and of the b₀ slider.

    Returns:
        An ``ipywidgets.VBox``. It also carries ``.state`` (a
        :class:`DescentPanelState`), ``.controls`` (a dict of the sliders
        ``learning_rate``, ``w0``, ``b0`` and ``n_steps``) and ``.output``.

    Raises:
        ValueError: on invalid data, ranges, start point, learning rate or
            step count (before any widget is built).
    """
    w_range = _check_range(w_range, "w_range")
    b_range = _check_range(b_range, "b_range")
    start = _checks.float_array(start, "start", ndim=1)
    if start.shape != (2,) or not (w_range[0] <= start[0] <= w_range[1]
                                   and b_range[0] <= start[1] <= b_range[1]):
        raise _checks.fail("`start` must be (w0, b0) inside `w_range` and `b_range`.", "start", start)
    learning_rate = _checks.positive(learning_rate, "learning_rate")
    low, high = (10.0 ** e for e in LEARNING_RATE_EXPONENTS)
    if not low <= learning_rate <= high:
        raise _checks.fail(f"`learning_rate` must be between {low:g} and {high:g}.",
                           "learning_rate", learning_rate)
    if _checks.positive_int(n_steps, "n_steps") > MAX_STEPS:
        raise _checks.fail(f"`n_steps` must be at most {MAX_STEPS}.", "n_steps", n_steps)
    # Validates X and y before any widget exists.
    first_run = descend_logistic_risk(X, y, start, learning_rate, n_steps)
    state = DescentPanelState(X=np.asarray(X, dtype=np.float64), y=np.asarray(y, dtype=np.float64),
                              w_range=w_range, b_range=b_range)

    style = {"description_width": "initial"}
    controls = {
        "learning_rate": widgets.FloatLogSlider(
            value=learning_rate, base=10, min=LEARNING_RATE_EXPONENTS[0],
            max=LEARNING_RATE_EXPONENTS[1], step=0.05, description="learning rate η",
            readout_format=".3g", continuous_update=False, style=style),
        "w0": widgets.FloatSlider(value=float(start[0]), min=w_range[0], max=w_range[1], step=0.1,
                                  description="start w₀", continuous_update=False, style=style),
        "b0": widgets.FloatSlider(value=float(start[1]), min=b_range[0], max=b_range[1], step=0.1,
                                  description="start b₀", continuous_update=False, style=style),
        "n_steps": widgets.IntSlider(value=n_steps, min=1, max=MAX_STEPS, description="steps",
                                     continuous_update=False, style=style),
    }
    output = widgets.Output()

    def show(run):
        fig = Figure(figsize=(11, 4), layout="constrained")
        surface_ax, loss_ax = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1.35, 1]})
        plot_loss_surface(state.X, state.y, state.w_range, state.b_range, resolution=60, ax=surface_ax)
        plot_descent_path(run.path, ax=surface_ax, label=f"η = {controls['learning_rate'].value:.3g}")
        loss_ax.semilogy(np.arange(len(run.losses)), run.losses, "o-", color="tab:red", markersize=3)
        loss_ax.set(xlabel="step", ylabel="risk (log scale)", title=f"loss per step: {run.status}")
        state.run = run
        state.n_redraws += 1
        show_figure(output, fig, run.message)

    def rerun(_change):
        show(descend_logistic_risk(state.X, state.y, [controls["w0"].value, controls["b0"].value],
                                   controls["learning_rate"].value, controls["n_steps"].value))

    for control in controls.values():
        control.observe(rerun, names="value")
    show(first_run)

    panel = widgets.VBox([widgets.HBox([controls["learning_rate"], controls["n_steps"]]),
                          widgets.HBox([controls["w0"], controls["b0"]]),
                          output])
    panel.state = state
    panel.controls = controls
    panel.output = output
    return panel
