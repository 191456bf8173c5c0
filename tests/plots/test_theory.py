"""crossdomain_kit.plots.theory: loss surface and descent path (lesson 02), domains and boundaries (lesson 01)."""

import numpy as np
import pytest
from matplotlib.collections import PathCollection
from matplotlib.colors import to_rgba
from matplotlib.contour import ContourSet
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.quiver import Quiver

from crossdomain_kit import plots
from crossdomain_kit.theory.logistic import LogisticRegressionGD
from crossdomain_kit.theory.surface import descend_logistic_risk, risk_surface, toy_1d_dataset
from crossdomain_kit.theory.toy_domains import make_toy_domains


# ---------------------------------------------------------------- loss surface and descent path


@pytest.fixture
def data():
    return toy_1d_dataset(n_samples=30, seed=0)


def test_loss_surface_draws_contours_and_downhill_arrows_on_given_axes(data):
    X, y = data
    ax = Figure().subplots()
    contours, arrows = plots.plot_loss_surface(X, y, w_range=(-2, 4), b_range=(-4, 2),
                                               resolution=30, n_arrows=5, ax=ax)
    assert isinstance(contours, ContourSet) and isinstance(arrows, Quiver)
    assert ax.get_xlim() == (-2, 4) and ax.get_ylim() == (-4, 2)
    assert ax.get_xlabel() == "weight w" and ax.get_ylabel() == "bias b"
    # Arrows are −∇R at the interior points of a 5 x 5 grid.
    expected = risk_surface(X, y, np.linspace(-2, 4, 7)[1:-1], np.linspace(-4, 2, 7)[1:-1])
    np.testing.assert_allclose(arrows.U, -expected.grad_w.ravel())
    np.testing.assert_allclose(arrows.V, -expected.grad_b.ravel())
    assert contours.levels[0] == pytest.approx(risk_surface(
        X, y, np.linspace(-2, 4, 30), np.linspace(-4, 2, 30)).risk.min())


def test_loss_surface_without_arrows(data):
    X, y = data
    _, arrows = plots.plot_loss_surface(X, y, resolution=10, n_arrows=0, ax=Figure().subplots())
    assert arrows is None


def test_loss_surface_makes_its_own_figure_when_no_axes_given(data):
    import matplotlib.pyplot as plt

    X, y = data
    contours, _ = plots.plot_loss_surface(X, y, resolution=10, n_arrows=3)
    assert contours.axes.figure is not None
    plt.close(contours.axes.figure)


@pytest.mark.parametrize("kwargs, name", [({"w_range": (1, 1)}, "w_range"),
                                           ({"b_range": (2, -2)}, "b_range"),
                                           ({"resolution": 1}, "resolution"),
                                           ({"n_arrows": 1}, "n_arrows"),
                                           ({"n_arrows": -3}, "n_arrows")])
def test_loss_surface_rejects_bad_arguments_before_drawing(data, kwargs, name):
    X, y = data
    ax = Figure().subplots()
    with pytest.raises(ValueError, match=f"Received: {name}="):
        plots.plot_loss_surface(X, y, ax=ax, **kwargs)
    assert not ax.collections and not ax.lines


def test_descent_path_draws_every_step_and_marks_the_start(data):
    X, y = data
    run = descend_logistic_risk(X, y, [-2.0, 3.0], learning_rate=1.0, n_steps=12)
    ax = Figure().subplots()
    line = plots.plot_descent_path(run.path, ax=ax, color="red", label="η = 1")
    assert isinstance(line, Line2D)
    np.testing.assert_array_equal(line.get_xydata(), run.path)
    assert len(ax.lines) == 2 and tuple(ax.lines[1].get_xydata()[0]) == (-2.0, 3.0)
    assert ax.get_legend().get_texts()[0].get_text() == "η = 1"


def test_descent_path_rejects_a_path_that_is_not_w_b_pairs():
    with pytest.raises(ValueError, match="Received: path="):
        plots.plot_descent_path(np.zeros((4, 3)), ax=Figure().subplots())
    with pytest.raises(ValueError, match="Received: path="):
        plots.plot_descent_path([[0.0, np.nan]], ax=Figure().subplots())


# ---------------------------------------------------------------- two domains and decision boundaries


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
