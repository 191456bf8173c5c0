"""Headless tests of the hyperparameter panel (crossdomain_kit.panels.hyperparameters)."""

import ipywidgets as widgets
import pytest

from crossdomain_kit.panels.hyperparameters import (OPTIMIZERS, HyperparameterPanelState, Hyperparameters,
                                                    hyperparameter_panel)


@pytest.fixture
def panel():
    return hyperparameter_panel(Hyperparameters(epochs=4, batch_size=16), n_train=64)


def _messages(panel):
    return {name: html.value for name, html in panel.messages.items() if html.value}


def test_builds_with_the_given_values_and_no_messages(panel):
    assert isinstance(panel, widgets.VBox) and isinstance(panel.state, HyperparameterPanelState)
    assert panel.state.values == Hyperparameters(epochs=4, batch_size=16)
    assert panel.state.errors == {} and _messages(panel) == {}
    assert isinstance(panel.controls["learning_rate"], widgets.FloatLogSlider)
    assert panel.controls["optimizer"].options == OPTIMIZERS
    assert set(panel.messages) == set(Hyperparameters.__dataclass_fields__)


def test_every_control_reaches_the_values(panel):
    changes = {"batch_size": 8, "epochs": 7, "patience": 2, "dropout": 0.5, "l2": 1e-4, "augment": True,
               "optimizer": "sgd", "backbone_lr_factor": 0.1}
    for name, value in changes.items():
        panel.controls[name].value = value
    values = panel.state.values
    assert values.backbone_lr_factor == pytest.approx(0.1)
    assert values == Hyperparameters(epochs=7, batch_size=8, patience=2, dropout=0.5, l2=1e-4, augment=True,
                                     optimizer="sgd", backbone_lr_factor=values.backbone_lr_factor)
    assert values.base_learning_rate == pytest.approx(1e-4)
    assert Hyperparameters().base_learning_rate is None  # factor 1: one rate everywhere


def test_learning_rate_slider_and_exact_box_stay_in_step(panel):
    panel.controls["learning_rate"].value = 1e-2
    assert panel.controls["learning_rate_exact"].value == pytest.approx(1e-2)
    assert panel.state.values.learning_rate == pytest.approx(1e-2)
    panel.controls["learning_rate_exact"].value = 3e-4
    assert panel.controls["learning_rate"].value == pytest.approx(3e-4, rel=1e-6)
    assert panel.state.values.learning_rate == pytest.approx(3e-4)
    panel.controls["learning_rate_exact"].value = 5.0  # beyond the slider: allowed, slider stays
    assert panel.state.values.learning_rate == 5.0
    assert panel.controls["learning_rate"].value == pytest.approx(3e-4)


@pytest.mark.parametrize("name, value, expected", [
    ("learning_rate_exact", 0.0, "`learning_rate` must be a finite number > 0. Received: learning_rate=0.0"),
    ("learning_rate_exact", -0.01, "Received: learning_rate=-0.01"),
    ("epochs", 0, "`epochs` must be an integer >= 1. Received: epochs=0"),
    ("batch_size", 0, "Received: batch_size=0"),
    ("batch_size", 65, "at most the training set size (64). Received: batch_size=65"),
    ("patience", -1, "Received: patience=-1"),
    ("l2", -0.5, "`l2` must be a finite number >= 0. Received: l2=-0.5"),
])
def test_invalid_values_are_blocked_with_a_message_beside_the_control(panel, name, value, expected):
    panel.controls[name].value = value
    field = name.replace("_exact", "")
    assert panel.state.values is None and set(panel.state.errors) == {field}
    assert expected in panel.state.errors[field]
    assert set(_messages(panel)) == {field} and "color:#cf222e" in panel.messages[field].value
    panel.controls[name].value = {"learning_rate_exact": 1e-3, "epochs": 3, "batch_size": 64,
                                  "patience": 3, "l2": 0.0}[name]  # fixing it clears the message
    assert panel.state.values is not None and _messages(panel) == {}


def test_several_invalid_values_each_get_a_message(panel):
    panel.controls["epochs"].value = 0
    panel.controls["batch_size"].value = 1000
    assert set(panel.state.errors) == set(_messages(panel)) == {"epochs", "batch_size"}


def test_without_n_train_any_batch_size_is_accepted():
    panel = hyperparameter_panel()
    panel.controls["batch_size"].value = 10_000
    assert panel.state.values == Hyperparameters(batch_size=10_000)


@pytest.mark.parametrize("kwargs, name", [
    ({"learning_rate": 0.0}, "learning_rate"),
    ({"batch_size": 0}, "batch_size"),
    ({"epochs": 0}, "epochs"),
    ({"dropout": 1.0}, "dropout"),
    ({"optimizer": "adagrad"}, "optimizer"),
    ({"backbone_lr_factor": 0.0}, "backbone_lr_factor"),
    ({"augment": "yes"}, "augment"),
])
def test_hyperparameters_check_every_field(kwargs, name):
    with pytest.raises(ValueError, match=f"Received: {name}="):
        Hyperparameters(**kwargs)


def test_bad_builder_arguments_fail_before_any_widget():
    with pytest.raises(ValueError, match="Received: values="):
        hyperparameter_panel({"epochs": 3})
    with pytest.raises(ValueError, match="Received: n_train=0"):
        hyperparameter_panel(n_train=0)
    with pytest.raises(ValueError, match="Received: batch_size=32"):
        hyperparameter_panel(n_train=20)
