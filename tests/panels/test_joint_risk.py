"""Headless tests of the lesson-01 α panel (crossdomain_kit.panels.joint_risk)."""

import base64

import ipywidgets as widgets
import numpy as np
import pytest

from crossdomain_kit.panels.joint_risk import JointRiskPanelState, joint_risk_panel
from crossdomain_kit.theory.toy_domains import fit_on_domains, make_toy_domains
from tests._widget_output import png_and_text


@pytest.fixture(scope="module")
def domains():
    return make_toy_domains(n_source=60, n_target=6, n_target_test=200, seed=0)


@pytest.fixture
def panel(domains):
    return joint_risk_panel(domains, alpha=0.5, n_steps=60, n_grid=3)


def _score(model, d):
    return model.score(d.X_target_test, d.y_target_test)


def test_builds_a_widget_with_state_controls_and_a_png(panel, domains):
    assert isinstance(panel, widgets.VBox) and isinstance(panel.state, JointRiskPanelState)
    assert set(panel.controls) == {"alpha", "joint"}
    assert isinstance(panel.controls["alpha"], widgets.FloatSlider)
    assert isinstance(panel.controls["joint"], widgets.Button)
    pngs, text = png_and_text(panel.output)
    assert len(pngs) == 1 and base64.b64decode(pngs[0]["data"]["image/png"]).startswith(b"\x89PNG")
    state = panel.state
    assert state.n_redraws == 1 and state.alpha == 0.5 and text == state.text + "\n"
    expected = fit_on_domains(domains, 0.5, n_steps=60)
    np.testing.assert_allclose(state.model.theta_, expected.theta_)
    assert state.accuracy == _score(expected, domains)
    assert text.startswith(f"α = 0.500: target accuracy {state.accuracy:.3f}")


def test_references_and_accuracy_curve(panel, domains):
    state = panel.state
    assert state.joint_alpha == pytest.approx(60 / 66)
    assert set(state.references) == {"source only", "target only", "joint"}
    np.testing.assert_allclose(state.references["joint"].theta_,
                               fit_on_domains(domains, None, n_steps=60).theta_)
    for name, model in state.references.items():
        assert state.reference_accuracy[name] == _score(model, domains)
    np.testing.assert_array_equal(state.alpha_grid, [0.0, 0.5, 1.0])
    # The curve's ends are the target-only and source-only models; its middle is the slider's α.
    np.testing.assert_allclose(state.accuracy_by_alpha,
                               [state.reference_accuracy["target only"], state.accuracy,
                                state.reference_accuracy["source only"]])


def test_moving_the_slider_retrains_and_redraws(panel, domains):
    before_png, before_text = png_and_text(panel.output)
    before_theta = panel.state.model.theta_
    panel.controls["alpha"].value = 0.05
    state = panel.state
    after_png, after_text = png_and_text(panel.output)
    assert state.n_redraws == 2 and state.alpha == 0.05
    assert not np.allclose(state.model.theta_, before_theta)
    np.testing.assert_allclose(state.model.theta_, fit_on_domains(domains, 0.05, n_steps=60).theta_)
    assert after_text.startswith("α = 0.050") and after_text != before_text
    assert after_png[0]["data"]["image/png"] != before_png[0]["data"]["image/png"]


def test_joint_button_sets_alpha_to_n_over_n_plus_m(panel):
    panel.controls["joint"].click()
    state = panel.state
    assert panel.controls["alpha"].value == pytest.approx(state.joint_alpha)
    assert state.alpha == pytest.approx(state.joint_alpha) and state.n_redraws == 2
    np.testing.assert_allclose(state.model.theta_, state.references["joint"].theta_, atol=1e-12)
    assert state.accuracy == state.reference_accuracy["joint"]
    assert "joint risk: α = N/(N+M) = 0.909" == panel.controls["joint"].description


@pytest.mark.parametrize("kwargs, name", [
    ({"alpha": 1.5}, "alpha"),
    ({"n_grid": 1}, "n_grid"),
    ({"n_steps": 0}, "n_steps"),
    ({"learning_rate": -1.0}, "learning_rate"),
])
def test_bad_arguments_fail_before_any_widget(domains, kwargs, name):
    with pytest.raises(ValueError, match=f"Received: {name}="):
        joint_risk_panel(domains, **kwargs)


def test_rejects_data_that_is_not_toy_domains(domains):
    with pytest.raises(ValueError, match="Received: domains="):
        joint_risk_panel((domains.X_source, domains.y_source))
