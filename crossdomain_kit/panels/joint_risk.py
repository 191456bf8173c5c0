"""A panel for the domain weight α of the α-weighted risk α·R_S + (1 − α)·R_T.

A slider sets α (a button jumps to the plain joint risk's α = N/(N+M)). The
output shows both domains with four decision boundaries, the fixed
source-only, target-only and joint-risk ones and the one trained at α, next
to the target test accuracy as a function of α, and one line of text with
the accuracies.

Introduced in ``notebooks/01_joint_empirical_risk.ipynb``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import ipywidgets as widgets
import numpy as np
from matplotlib.figure import Figure

from .. import _checks
from ..theory.logistic import LogisticRegressionGD
from ..plots import plot_decision_boundary, plot_domains
from ..theory.risk import alpha_from_sizes
from ..theory.toy_domains import ToyDomains, fit_on_domains, target_accuracy_by_alpha
from ._output import show_figure

REFERENCE_STYLES = {
    "source only": {"color": "black", "linestyle": "--"},
    "target only": {"color": "black", "linestyle": ":"},
    "joint": {"color": "tab:green", "linestyle": "-."},
}
"""How the three fixed boundaries are drawn; the α boundary is solid red."""


@dataclass
class JointRiskPanelState:
    """What the panel shows now; read it in tests or after moving the slider.

    Attributes:
        domains: the :class:`crossdomain_kit.theory.toy_domains.ToyDomains` shown.
        references: the fixed models ``"source only"``, ``"target only"`` and
            ``"joint"`` (the joint risk, α = N/(N+M)).
        reference_accuracy: their target test accuracies, by the same names.
        joint_alpha: N/(N+M).
        alpha_grid, accuracy_by_alpha: the accuracy curve of the right-hand plot.
        alpha: the slider's α of the latest redraw.
        model: the model trained at ``alpha``.
        accuracy: its target test accuracy.
        text: the line printed under the figure.
        n_redraws: how many times the output was redrawn.
    """

    domains: ToyDomains
    references: dict[str, LogisticRegressionGD]
    reference_accuracy: dict[str, float]
    joint_alpha: float
    alpha_grid: np.ndarray
    accuracy_by_alpha: np.ndarray
    alpha: float = float("nan")
    model: LogisticRegressionGD | None = field(default=None, repr=False)
    accuracy: float = float("nan")
    text: str = ""
    n_redraws: int = 0


def joint_risk_panel(domains: ToyDomains, alpha: float = 0.5, learning_rate: float = 0.5,
                     n_steps: int = 300, n_grid: int = 21) -> widgets.VBox:
    """Interactive α: how the weight of the source domain moves the boundary and the target accuracy.

    Args:
        domains: a :class:`crossdomain_kit.theory.toy_domains.ToyDomains`, e.g. from
            :func:`crossdomain_kit.theory.toy_domains.make_toy_domains`.
        alpha: initial source weight, in [0, 1].
        learning_rate, n_steps: the gradient descent of every model, as in
            :func:`crossdomain_kit.theory.toy_domains.fit_on_domains`.
        n_grid: number of α values, from 0 to 1, of the accuracy curve (>= 2).

    Returns:
        An ``ipywidgets.VBox``. It also carries ``.state`` (a
        :class:`JointRiskPanelState`), ``.controls`` (a dict with the
        ``alpha`` slider and the ``joint`` button that sets α = N/(N+M)) and
        ``.output``.

    Raises:
        ValueError: on an invalid ``domains``, ``alpha``, ``learning_rate``,
            ``n_steps`` or ``n_grid`` (before any widget is built).

    Introduced in ``notebooks/01_joint_empirical_risk.ipynb``.
    """
    alpha = _checks.fraction(alpha, "alpha")
    if _checks.positive_int(n_grid, "n_grid") < 2:
        raise _checks.fail("`n_grid` must be at least 2.", "n_grid", n_grid)
    joint = fit_on_domains(domains, None, learning_rate, n_steps)  # validates all the rest first
    d = domains
    references = {
        "source only": LogisticRegressionGD(learning_rate, n_steps).fit(d.X_source, d.y_source),
        "target only": LogisticRegressionGD(learning_rate, n_steps).fit(d.X_target, d.y_target),
        "joint": joint,
    }
    alpha_grid = np.linspace(0.0, 1.0, n_grid)
    state = JointRiskPanelState(
        domains=d, references=references,
        reference_accuracy={name: m.score(d.X_target_test, d.y_target_test)
                            for name, m in references.items()},
        joint_alpha=alpha_from_sizes(d.n_source, d.n_target), alpha_grid=alpha_grid,
        accuracy_by_alpha=target_accuracy_by_alpha(d, alpha_grid, learning_rate, n_steps))

    controls = {
        "alpha": widgets.FloatSlider(value=alpha, min=0.0, max=1.0, step=0.01,
                                     description="source weight α", readout_format=".3f",
                                     continuous_update=False, style={"description_width": "initial"},
                                     layout=widgets.Layout(width="420px")),
        "joint": widgets.Button(description=f"joint risk: α = N/(N+M) = {state.joint_alpha:.3f}",
                                layout=widgets.Layout(width="auto")),
    }
    output = widgets.Output()

    def show(alpha_now: float):
        model = fit_on_domains(d, alpha_now, learning_rate, n_steps)
        accuracy = model.score(d.X_target_test, d.y_target_test)
        ref = state.reference_accuracy
        text = (f"α = {alpha_now:.3f}: target accuracy {accuracy:.3f}   |   source only "
                f"{ref['source only']:.3f}, target only {ref['target only']:.3f}, joint risk "
                f"(α = {state.joint_alpha:.3f}) {ref['joint']:.3f}")

        fig = Figure(figsize=(11.5, 4.8), layout="constrained")
        points_ax, curve_ax = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1.25, 1]})
        plot_domains(d.X_source, d.y_source, d.X_target, d.y_target, ax=points_ax,
                     X_target_test=d.X_target_test, y_target_test=d.y_target_test)
        for name, reference in references.items():
            plot_decision_boundary(reference, ax=points_ax, label=name, **REFERENCE_STYLES[name])
        plot_decision_boundary(model, ax=points_ax, label=f"α = {alpha_now:.2f}", color="tab:red")
        points_ax.legend(loc="lower right", fontsize="small")
        points_ax.set_title("decision boundaries (probability ½)")

        curve_ax.plot(state.alpha_grid, state.accuracy_by_alpha, "o-", color="grey", markersize=3,
                      label="trained at each α")
        for name, at, marker in (("target only", 0.0, "^"), ("source only", 1.0, "s"),
                                 ("joint", state.joint_alpha, "D")):
            curve_ax.plot(at, ref[name], marker, color=REFERENCE_STYLES[name]["color"], markersize=7,
                          label=f"{name} (α = {at:.3g})")
        curve_ax.axvline(alpha_now, color="tab:red", linewidth=1)
        curve_ax.plot(alpha_now, accuracy, "o", color="tab:red", markersize=9, label=f"α = {alpha_now:.2f}")
        curve_ax.set(xlim=(-0.02, 1.02), xlabel="α, the weight of the source domain",
                     ylabel="target test accuracy", title="target accuracy vs α")
        curve_ax.legend(loc="lower center", fontsize="small")

        state.alpha, state.model, state.accuracy, state.text = alpha_now, model, accuracy, text
        state.n_redraws += 1
        show_figure(output, fig, text)

    controls["alpha"].observe(lambda change: show(float(change["new"])), names="value")
    controls["joint"].on_click(lambda _button: setattr(controls["alpha"], "value", state.joint_alpha))
    show(alpha)

    panel = widgets.VBox([widgets.HBox([controls["alpha"], controls["joint"]]), output])
    panel.state = state
    panel.controls = controls
    panel.output = output
    return panel
