"""Tests for the lesson-02 plot helpers in crossdomain_kit.plots (loss surface, descent path)."""

import numpy as np
import pytest
from matplotlib.contour import ContourSet
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.quiver import Quiver

from crossdomain_kit import plots
from crossdomain_kit.theory.surface import descend_logistic_risk, risk_surface, toy_1d_dataset


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
