"""Headless tests of the freezing panel (crossdomain_kit.panels.freezing)."""

import re

import ipywidgets as widgets
import pytest

from crossdomain_kit.models.freezing import freeze, needs_recompile, trainable_parameter_count
from crossdomain_kit.models.classifier import base_of, build_classifier
from crossdomain_kit.models.compiling import compile_classifier
from crossdomain_kit.panels.freezing import FreezingPanelState, freezing_panel

BLOCKS = ["block1", "block2", "block3", "block4"]


def _model(compiled=True, **kwargs):
    model = build_classifier("small_cnn", (16, 16, 1), seed=0, **kwargs)
    return compile_classifier(model) if compiled else model


@pytest.fixture
def panel():
    return freezing_panel(_model())


def _ticked(panel):
    return [name for name, box in panel.controls["blocks"].items() if box.value]


def _trainable_layers(model):
    return {layer.name for layer in base_of(model).layers if layer.trainable and layer.weights}


def _count_after(policy, **kwargs):
    return trainable_parameter_count(freeze(_model(), policy, **kwargs))


def test_starts_with_the_head_only_and_shows_it(panel):
    state = panel.state
    assert isinstance(panel, widgets.VBox) and isinstance(state, FreezingPanelState)
    assert state.setting == {"policy": "head", "train_batchnorm": False}
    assert [b.name for b in state.blocks] == BLOCKS
    assert [b.first_layer for b in state.blocks] == [f"{b}_conv" for b in BLOCKS]
    assert state.trainable_params == trainable_parameter_count(state.model) == 129  # 128 weights + bias
    assert _ticked(panel) == [] and panel.controls["last_k"].value == 0
    assert "head only" in panel.status.value and "129 of" in panel.status.value
    assert "4 in inference mode" in panel.status.value and "compiled" in panel.status.value
    assert panel.warning.value == "" and not state.needs_recompile
    assert len(panel.layers.children) == 5  # 4 blocks and the head
    assert panel.layers.selected_index is None  # collapsed
    assert "block3_bn" in panel.layers.children[2].value and "inference" in panel.layers.children[2].value


def test_ticking_a_block_trains_it_and_every_block_above_and_recompiles(panel):
    model = panel.state.model
    panel.controls["blocks"]["block3"].value = True
    state = panel.state
    assert state.setting == {"policy": "from_layer", "from_layer": "block3_conv", "train_batchnorm": False}
    assert _ticked(panel) == ["block3", "block4"]
    assert _trainable_layers(model) == {"block3_conv", "block4_conv"}  # BatchNorm stays frozen
    assert state.trainable_params == trainable_parameter_count(model) == _count_after("from_layer",
                                                                                      from_layer="block3")
    assert model.compiled and not needs_recompile(model) and not state.needs_recompile
    assert state.description == "head + block3-block4" and state.n_applied == 1
    assert "Applied: head + block3-block4 (recompiled)" in panel.message.value
    assert panel.controls["last_k"].value == 4  # block3_conv, block3_bn, block4_conv, block4_bn

    panel.controls["blocks"]["block3"].value = False  # untick: the blocks above it still train
    assert _ticked(panel) == ["block4"] and _trainable_layers(model) == {"block4_conv"}
    panel.controls["blocks"]["block4"].value = False  # the top block: back to the head only
    assert panel.state.setting["policy"] == "head" and _ticked(panel) == []
    assert trainable_parameter_count(model) == 129 and not needs_recompile(model)


def test_last_k_slider_trains_the_last_layers_with_weights(panel):
    model = panel.state.model
    panel.controls["last_k"].value = 3  # block3_bn, block4_conv, block4_bn: the BatchNorms stay frozen
    assert panel.state.setting == {"policy": "last_k", "k": 3, "train_batchnorm": False}
    assert _trainable_layers(model) == {"block4_conv"} and _ticked(panel) == ["block4"]
    assert panel.state.trainable_params == _count_after("last_k", k=3)
    assert panel.state.description == "head + last 3 backbone layers"
    panel.controls["last_k"].value = 0
    assert panel.state.setting["policy"] == "head" and _trainable_layers(model) == set()


def test_presets(panel):
    model = panel.state.model
    panel.controls["top_block"].click()
    assert panel.state.setting["from_layer"] == "block4_conv" and _ticked(panel) == ["block4"]
    panel.controls["all"].click()
    assert _ticked(panel) == BLOCKS and panel.controls["last_k"].value == 8
    assert panel.state.trainable_params == _count_after("all") and panel.state.description == "everything"
    panel.controls["none"].click()
    assert panel.state.trainable_params == 0 and not model.trainable and _ticked(panel) == []
    assert panel.state.description.startswith("nothing")
    panel.controls["head"].click()
    assert panel.state.trainable_params == 129 and panel.state.n_applied == 4
    assert not needs_recompile(model)


def test_batchnorm_checkbox_switches_batchnorm_to_batch_statistics(panel):
    panel.controls["all"].click()
    panel.controls["train_batchnorm"].value = True
    state = panel.state
    assert state.setting == {"policy": "all", "train_batchnorm": True}
    bn_modes = {r.name: r.bn_mode for r in state.rows if r.bn_mode}
    assert set(bn_modes.values()) == {"batch statistics"} and len(bn_modes) == 4
    assert "0 in inference mode, 4 with batch statistics" in panel.status.value
    assert state.trainable_params == _count_after("all", train_batchnorm=True)
    panel.controls["blocks"]["block1"].value = False  # the flag is kept by the other controls
    assert state.setting["train_batchnorm"] and "BatchNorm with batch statistics" in state.description


def test_a_change_made_outside_the_panel_shows_the_recompile_warning_until_applied(panel):
    model = panel.state.model
    base_of(model).trainable = True  # by hand, after compile: fit would ignore it
    assert panel.warning.value == ""  # the panel does not poll
    panel.controls["refresh"].click()
    assert panel.state.needs_recompile and "apply again" in panel.warning.value
    panel.controls["apply"].click()
    assert panel.warning.value == "" and not needs_recompile(model)
    assert panel.state.trainable_params == 129  # the panel's own setting is back


def test_an_uncompiled_model_is_frozen_without_compiling(panel):
    model = _model(compiled=False)
    uncompiled = freezing_panel(model, "last_k", k=2)
    assert not model.compiled and "not compiled yet" in uncompiled.status.value
    uncompiled.controls["all"].click()
    assert not model.compiled and "(not compiled yet)" in uncompiled.message.value
    assert uncompiled.state.trainable_params == _count_after("all")


def test_locked_panel_refuses_changes_with_a_message(panel):
    panel.set_locked("Training is running.")
    assert all(box.disabled for box in panel.controls["blocks"].values())
    assert panel.controls["head"].disabled and panel.controls["last_k"].disabled
    panel.controls["all"].click()  # a click that arrives anyway
    assert panel.state.setting["policy"] == "head" and panel.state.n_applied == 0
    assert "Training is running." in panel.message.value
    panel.controls["blocks"]["block2"].value = True
    assert _ticked(panel) == [] and trainable_parameter_count(panel.state.model) == 129  # reverted
    panel.set_locked(None)
    assert not panel.controls["head"].disabled
    panel.controls["blocks"]["block2"].value = True
    assert _ticked(panel) == ["block2", "block3", "block4"]


def test_set_model_applies_the_setting_to_a_rebuilt_model(panel):
    panel.controls["top_block"].click()
    rebuilt = _model(dropout=0.5)
    panel.set_model(rebuilt)
    assert panel.state.model is rebuilt and _trainable_layers(rebuilt) == {"block4_conv"}
    assert not needs_recompile(rebuilt) and panel.state.trainable_params == trainable_parameter_count(rebuilt)
    other = build_classifier("mobilenetv2", (32, 32, 3), alpha=0.35)
    with pytest.raises(ValueError, match="same backbone"):
        panel.set_model(other)
    assert panel.state.model is rebuilt


@pytest.mark.parametrize("backbone, expected", [
    ("mobilenetv2", ["Conv1", "expanded"] + [f"block_{i}" for i in range(1, 17)] + ["Conv_1"]),
    ("efficientnetb0", ["normalization", "stem"] + [f"block{i}" for i in range(1, 8)] + ["top"]),
])
def test_blocks_of_keras_applications_start_where_from_layer_can_start(backbone, expected):
    kwargs = {"alpha": 0.35} if backbone == "mobilenetv2" else {}
    model = build_classifier(backbone, (32, 32, 3), **kwargs)
    panel = freezing_panel(model)
    blocks = panel.state.blocks
    # Keras numbers auto-named layers per process: "normalization_3" after three EfficientNets
    assert [re.sub(r"_\d+$", "", b.name) if b is blocks[0] else b.name for b in blocks] == expected
    if backbone == "mobilenetv2":  # bn_Conv1 joins the convolution it normalises
        assert blocks[0].layers == ("Conv1", "bn_Conv1")
    panel.controls["blocks"][expected[-2]].value = True
    assert _ticked(panel) == expected[-2:]
    trained = {layer.name for layer in base_of(model).layers if layer.trainable and layer.weights}
    assert trained and trained <= set(blocks[-2].layers + blocks[-1].layers)


@pytest.mark.parametrize("kwargs, name", [
    ({"policy": "some"}, "policy"),
    ({"policy": "last_k", "k": 99}, "k"),
    ({"policy": "from_layer", "from_layer": "block9"}, "from_layer"),
])
def test_bad_settings_fail_before_any_widget_and_leave_the_model_alone(kwargs, name):
    model = _model()
    before = trainable_parameter_count(model)
    with pytest.raises(ValueError, match=f"Received: {name}="):
        freezing_panel(model, **kwargs)
    assert trainable_parameter_count(model) == before


def test_rejects_a_model_that_is_not_a_kit_classifier():
    import keras

    with pytest.raises(ValueError, match="Received: model="):
        freezing_panel(keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)]))
