"""Tests for the lesson-01 plot helpers in crossdomain_kit.plots (two domains, decision boundaries)."""

import numpy as np
import pytest
from matplotlib.collections import PathCollection
from matplotlib.colors import to_rgba
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from crossdomain_kit import plots
from crossdomain_kit.theory.logistic import LogisticRegressionGD
from crossdomain_kit.theory.toy_domains import make_toy_domains


@pytest.fixture(scope="module")
def domains():
    return make_toy_domains(n_source=40, n_target=6, n_target_test=30, seed=0)


def _domain_args(d):
    return d.X_source, d.y_source, d.X_target, d.y_target


def test_plot_domains_draws_each_domain_coloured_by_class(domains):
    ax = Figure().subplots()
    drawn = plots.plot_domains(*_domain_args(domains), ax=ax)
    assert isinstance(drawn["source"], PathCollection) and isinstance(drawn["target"], PathCollection)
    assert drawn["target_test"] is None
    np.testing.assert_array_equal(drawn["source"].get_offsets(), domains.X_source)
    np.testing.assert_array_equal(drawn["target"].get_offsets(), domains.X_target)
    colors = drawn["target"].get_facecolors()
    for color, label in zip(colors, domains.y_target):
        assert tuple(color[:3]) == pytest.approx(to_rgba(plots.CLASS_COLORS[label])[:3])
    labels = [t.get_text() for t in drawn["legend"].get_texts()]
    assert labels == ["class 0", "class 1", "source D_S (N = 40)", "target D_T (M = 6)"]


def test_plot_domains_with_test_points_and_a_later_boundary_legend(domains):
    ax = Figure().subplots()
    drawn = plots.plot_domains(*_domain_args(domains), ax=ax, X_target_test=domains.X_target_test,
                               y_target_test=domains.y_target_test)
    assert len(drawn["target_test"].get_offsets()) == 30
    assert "target test (30)" in [t.get_text() for t in drawn["legend"].get_texts()]
    plots.plot_decision_boundary([1.0, 0.0, 0.0], ax=ax, label="x₁ = 0")
    ax.legend(loc="lower right")
    assert drawn["legend"] in ax.artists or drawn["legend"] in ax.get_children()
    assert ax.get_legend() is not drawn["legend"]


def test_plot_domains_makes_its_own_figure_when_no_axes_given(domains):
    import matplotlib.pyplot as plt

    drawn = plots.plot_domains(*_domain_args(domains))
    assert drawn["source"].axes.figure is not None
    plt.close(drawn["source"].axes.figure)


@pytest.mark.parametrize("change, match", [
    ({"X_source": np.zeros((4, 3))}, "Received: X_source="),
    ({"y_target": [0, 1, 2, 0, 1, 0]}, "Received: y_target="),
    ({"y_source": [0, 1]}, "y_source.shape="),
    ({"X_target_test": np.zeros((3, 2))}, "Pass both"),
])
def test_plot_domains_rejects_bad_input(domains, change, match):
    args = dict(zip(("X_source", "y_source", "X_target", "y_target"), _domain_args(domains)))
    args.update(change)
    with pytest.raises(ValueError, match=match):
        plots.plot_domains(**args, ax=Figure().subplots())


def _on_boundary(line, theta):
    x, y = line.get_data()
    return np.allclose(theta[0] * np.asarray(x) + theta[1] * np.asarray(y) + theta[2], 0.0)


@pytest.mark.parametrize("theta", [[1.0, 2.0, -0.5], [3.0, 0.2, 1.0], [0.0, 1.0, 0.3], [1.0, 0.0, -1.0]])
def test_boundary_lies_on_w_x_plus_b_equal_zero_across_the_box(theta):
    ax = Figure().subplots()
    line = plots.plot_decision_boundary(theta, ax=ax, xlim=(-3, 3), ylim=(-2, 2), label="model",
                                        color="tab:red", linestyle="--")
    assert isinstance(line, Line2D) and _on_boundary(line, theta)
    assert line.get_label() == "model" and line.get_linestyle() == "--"
    assert ax.get_xlim() == (-3, 3) and ax.get_ylim() == (-2, 2)
    x, y = line.get_data()
    # The line spans the box along the axis it is solved over.
    assert (sorted(x) == [-3, 3]) or (sorted(y) == [-2, 2])


def test_boundary_of_a_fitted_model_uses_current_limits(domains):
    model = LogisticRegressionGD().fit(domains.X_source, domains.y_source)
    ax = Figure().subplots()
    plots.plot_domains(*_domain_args(domains), ax=ax)
    limits = ax.get_xlim(), ax.get_ylim()
    line = plots.plot_decision_boundary(model, ax=ax)
    assert _on_boundary(line, model.theta_)
    assert (ax.get_xlim(), ax.get_ylim()) == limits


@pytest.mark.parametrize("bad, match", [
    ([0.0, 0.0, 1.0], "no boundary"),
    ([1.0, 2.0], "2 features"),
    ([1.0, np.inf, 0.0], "NaN or infinity"),
    (LogisticRegressionGD(), "fitted model"),
])
def test_boundary_rejects_bad_parameters(bad, match):
    with pytest.raises(ValueError, match=match):
        plots.plot_decision_boundary(bad, ax=Figure().subplots())


def test_boundary_rejects_bad_limits():
    with pytest.raises(ValueError, match="Received: ylim="):
        plots.plot_decision_boundary([1.0, 1.0, 0.0], ax=Figure().subplots(), ylim=(2, 1))
