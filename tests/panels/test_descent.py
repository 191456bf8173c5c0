import base64

import ipywidgets as widgets
import numpy as np
import pytest

from crossdomain_kit.panels.descent import DescentPanelState, descent_panel
from crossdomain_kit.theory.surface import descend_logistic_risk, toy_1d_dataset
from tests._widget_output import png_and_text


@pytest.fixture(scope="module")
def data():
    return toy_1d_dataset(n_samples=40, seed=0)


@pytest.fixture
def panel(data):
    return descent_panel(*data, learning_rate=1.0, start=(-2.0, 3.0), n_steps=10)


def test_builds_a_widget_with_state_controls_and_a_png(panel, data):
    assert isinstance(panel, widgets.VBox) and isinstance(panel.state, DescentPanelState)
    assert set(panel.controls) == {"learning_rate", "w0", "b0", "n_steps"}
    assert isinstance(panel.controls["learning_rate"], widgets.FloatLogSlider)
    pngs, text = png_and_text(panel.output)
    assert len(pngs) == 1 and base64.b64decode(pngs[0]["data"]["image/png"]).startswith(b"\x89PNG")
    assert text.startswith("Converging") and panel.state.n_redraws == 1
    expected = descend_logistic_risk(*data, [-2.0, 3.0], 1.0, 10)
    np.testing.assert_allclose(panel.state.run.path, expected.path)


def test_moving_a_slider_reruns_descent_and_redraws(panel):
    before = panel.state.run
    panel.controls["n_steps"].value = 25
    assert panel.state.run.path.shape == (26, 2) and panel.state.n_redraws == 2
    assert panel.state.run.losses[-1] < before.losses[-1]
    panel.controls["w0"].value = 4.0
    panel.controls["b0"].value = -4.0
    np.testing.assert_allclose(panel.state.run.path[0], [4.0, -4.0])
    pngs, text = png_and_text(panel.output)
    assert len(pngs) == 1 and f"{panel.state.run.losses[-1]:.4f}" in text


def test_a_diverging_learning_rate_shows_a_message_not_an_exception(panel):
    panel.controls["learning_rate"].value = 1000.0
    assert panel.state.run.diverged
    pngs, text = png_and_text(panel.output)
    assert len(pngs) == 1  # the runaway path is still drawn
    assert text.startswith("Diverged") and "Lower the learning rate" in text


def test_tiny_learning_rate_barely_moves(panel):
    panel.controls["learning_rate"].value = 1e-3
    path = panel.state.run.path
    assert np.abs(path[-1] - path[0]).max() < 0.05


@pytest.mark.parametrize("kwargs, name", [
    ({"learning_rate": 0.0}, "learning_rate"),
    ({"learning_rate": 1e4}, "learning_rate"),
    ({"n_steps": 0}, "n_steps"),
    ({"n_steps": 500}, "n_steps"),
    ({"start": (10.0, 0.0)}, "start"),
    ({"start": (0.0,)}, "start"),
    ({"w_range": (3.0, -3.0)}, "w_range"),
    ({"b_range": "wide"}, "b_range"),
])
def test_rejects_bad_arguments_before_building_widgets(data, kwargs, name):
    with pytest.raises(ValueError, match=f"Received: {name}="):
        descent_panel(*data, **kwargs)


def test_rejects_data_with_more_than_one_feature():
    with pytest.raises(ValueError, match="exactly one feature"):
        descent_panel(np.zeros((6, 2)), np.array([0, 1] * 3))
