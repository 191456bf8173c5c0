import keras
import numpy as np
import pytest

from crossdomain_kit.models.backbones import BACKBONES, in_block
from crossdomain_kit.models.classifier import base_of, build_classifier
from crossdomain_kit.models.compiling import DiscriminativeOptimizer, compile_classifier
from crossdomain_kit.models.freezing import (POLICIES, GradualUnfreezing, LayerRow, Stage, format_freeze_report,
                                             freeze, freeze_report, needs_recompile, trainable_parameter_count)

# The small CNN's backbone layers that hold weights, in order.
BLOCKS = [f"block{i}_{kind}" for i in range(1, 5) for kind in ("conv", "bn")]


def _data(n=16, size=16, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.random((n, size, size, 1)).astype("float32")
    return x, (x.mean(axis=(1, 2, 3)) > 0.5).astype("float32")[:, None]


def _cnn(seed=0):
    return build_classifier("small_cnn", (16, 16, 1), seed=seed, dropout=0.0)


def _training(model):
    """{layer name: trainable} for the small CNN's weighted backbone layers and the logit."""
    base = base_of(model)
    states = {name: base.get_layer(name).trainable for name in BLOCKS}
    return states | {"logit": model.get_layer("logit").trainable}


def _snapshot(model):
    return {w.path: w.numpy().copy() for w in model.weights}


def _moved(before, model):
    """Paths of the weights (moving statistics included) that changed."""
    return {w.path for w in model.weights if not np.array_equal(before[w.path], w.numpy())}


# --- Policies -------------------------------------------------------------------------------------

def test_head_policy_trains_only_the_logit():
    model = freeze(_cnn(), "head")
    assert _training(model) == {name: False for name in BLOCKS} | {"logit": True}
    assert [w.path for w in model.trainable_weights] == ["logit/kernel", "logit/bias"]
    assert trainable_parameter_count(model) == 129


def test_all_policy_keeps_batchnorm_frozen_unless_asked():
    model = freeze(_cnn(), "all")
    assert _training(model) == {name: name.endswith("conv") for name in BLOCKS} | {"logit": True}
    freeze(model, "all", train_batchnorm=True)
    assert all(_training(model).values())
    assert trainable_parameter_count(model) == sum(int(np.prod(w.shape)) for w in model.trainable_weights)


def test_none_policy_trains_nothing():
    model = freeze(_cnn(), "none")
    assert not any(_training(model).values()) and trainable_parameter_count(model) == 0


@pytest.mark.parametrize("k, trained", [(1, []), (2, ["block4_conv"]), (3, ["block4_conv"]),
                                        (4, ["block3_conv", "block4_conv"]),
                                        (8, ["block1_conv", "block2_conv", "block3_conv", "block4_conv"])])
def test_last_k_counts_backbone_layers_with_weights(k, trained):
    model = freeze(_cnn(), "last_k", k=k)
    assert _training(model) == {name: name in trained for name in BLOCKS} | {"logit": True}


@pytest.mark.parametrize("from_layer, trained", [
    ("block3", ["block3_conv", "block4_conv"]),
    ("block3_bn", ["block4_conv"]),
    ("block4_conv", ["block4_conv"]),
    ("block1", ["block1_conv", "block2_conv", "block3_conv", "block4_conv"]),
])
def test_from_layer_trains_the_named_layer_or_block_onward(from_layer, trained):
    model = freeze(_cnn(), "from_layer", from_layer=from_layer)
    assert _training(model) == {name: name in trained for name in BLOCKS} | {"logit": True}


def test_from_layer_on_resnet50_blocks(applications):
    resnet = applications["resnet50"]
    base = base_of(resnet)
    freeze(resnet, "from_layer", from_layer="conv5")
    trainable = [layer.name for layer in base.layers if layer.trainable and layer.weights]
    assert trainable[0].startswith("conv5_block1") and all(n.startswith("conv5") for n in trainable)
    assert not any(isinstance(base.get_layer(n), keras.layers.BatchNormalization) for n in trainable)
    freeze(resnet, "from_layer", from_layer="conv5_block3")
    trainable = [layer.name for layer in base.layers if layer.trainable and layer.weights]
    assert trainable == ["conv5_block3_1_conv", "conv5_block3_2_conv", "conv5_block3_3_conv"]
    with pytest.raises(ValueError, match=r"Did you mean 'conv5_block3'.*Received: from_layer='conv5_blok3'"):
        freeze(resnet, "from_layer", from_layer="conv5_blok3")


@pytest.mark.parametrize("backbone, block, first, not_before", [
    ("mobilenetv2", "block_1", "block_1_expand", "expanded_conv_project"),
    ("mobilenetv2", "block_16", "block_16_expand", "block_15_project"),
    ("efficientnetb0", "block6", "block6a_expand_conv", "block5c_project_conv"),
])
def test_block_prefixes_follow_each_backbones_naming(applications, backbone, block, first, not_before):
    model = freeze(applications[backbone], "from_layer", from_layer=block)
    base = base_of(model)
    assert base.get_layer(first).trainable and not base.get_layer(not_before).trainable


@pytest.mark.parametrize("backbone", list(BACKBONES))
def test_every_registered_block_name_starts_a_block_that_freezing_finds(applications, backbone):
    model = applications.get(backbone) or _cnn()
    base = base_of(model)
    assert BACKBONES[backbone].blocks
    for block in BACKBONES[backbone].blocks:
        first = next(i for i, layer in enumerate(base.layers) if in_block(layer.name, block))
        freeze(model, "from_layer", from_layer=block)
        assert base.layers[first].trainable and base.layers[first].weights
        assert not any(layer.trainable for layer in base.layers[:first])


# --- Bad input ------------------------------------------------------------------------------------

@pytest.mark.parametrize("kwargs, match", [
    (dict(policy="top"), r"one of \('head', 'last_k', 'from_layer', 'all', 'none'\).*Received: policy='top'"),
    (dict(policy="last_k"), r"from 1 to 8.*Received: k=None"),
    (dict(policy="last_k", k=0), r"from 1 to 8.*Received: k=0"),
    (dict(policy="last_k", k=9), r"from 1 to 8.*Received: k=9"),
    (dict(policy="last_k", k=2.0), r"Received: k=2.0"),
    (dict(policy="head", k=2), r"only with policy='last_k'.*Received: k=2"),
    (dict(policy="all", from_layer="block3"),
     r"only with policy='from_layer'.*Received: from_layer='block3'"),
    (dict(policy="from_layer"), r"needs `from_layer`.*Received: from_layer=None"),
    (dict(policy="from_layer", from_layer="blok3"), r"Did you mean 'block3'.*Received: from_layer='blok3'"),
    (dict(policy="from_layer", from_layer="conv9"), r"No backbone layer or block is called 'conv9'.*"
                                                    r"Received: from_layer='conv9'"),
    (dict(policy="all", train_batchnorm="yes"), r"Received: train_batchnorm='yes'"),
])
def test_bad_arguments_are_rejected_and_nothing_changes(kwargs, match):
    model = compile_classifier(freeze(_cnn(), "head"), 1e-3)
    optimizer = model.optimizer
    with pytest.raises(ValueError, match=match):
        freeze(model, **kwargs)
    assert _training(model) == {name: False for name in BLOCKS} | {"logit": True}
    assert model.optimizer is optimizer


def test_only_kit_classifiers_can_be_frozen():
    with pytest.raises(ValueError, match=r"nested model named 'backbone'"):
        freeze(keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)]), "head")


# --- Training: frozen stays bit-identical, unfrozen moves ------------------------------------------------

def test_frozen_weights_and_statistics_stay_bit_identical_while_the_rest_trains():
    model = compile_classifier(freeze(_cnn(), "from_layer", from_layer="block3"), 1e-2)
    before = _snapshot(model)
    model.fit(*_data(), batch_size=8, epochs=1, verbose=0)
    assert _moved(before, model) == {"block3_conv/kernel", "block4_conv/kernel", "logit/kernel", "logit/bias"}


def test_head_only_training_leaves_the_whole_backbone_untouched():
    model = compile_classifier(freeze(_cnn(), "head"), 1e-2)
    before = _snapshot(model)
    model.fit(*_data(), batch_size=8, epochs=2, verbose=0)
    assert _moved(before, model) == {"logit/kernel", "logit/bias"}


def test_trained_batchnorm_updates_its_moving_statistics():
    model = compile_classifier(freeze(_cnn(), "last_k", k=2, train_batchnorm=True), 1e-2)
    before = _snapshot(model)
    model.fit(*_data(), batch_size=8, epochs=1, verbose=0)
    assert _moved(before, model) == {"block4_conv/kernel", "block4_bn/gamma", "block4_bn/beta",
                                     "block4_bn/moving_mean", "block4_bn/moving_variance",
                                     "logit/kernel", "logit/bias"}


# --- Recompiling ---------------------------------------------------------------------------------

def test_without_recompiling_keras_ignores_the_freeze_and_with_it_obeys():
    x, y = _data()
    model = compile_classifier(_cnn(), 1e-2)
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)  # traces the train step on every variable

    freeze(model, "head", recompile=False)
    assert needs_recompile(model)
    before = _snapshot(model)
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    assert "block1_conv/kernel" in _moved(before, model)  # the "frozen" backbone trained anyway

    freeze(model, "head")
    assert not needs_recompile(model)
    before = _snapshot(model)
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    assert _moved(before, model) == {"logit/kernel", "logit/bias"}


def test_recompiling_keeps_loss_metrics_and_learning_rates():
    model = compile_classifier(_cnn(), 1e-2, optimizer=keras.optimizers.SGD(momentum=0.9),
                               base_learning_rate=1e-3)
    model.fit(*_data(), epochs=1, verbose=0)
    model.optimizer.learning_rate = 5e-3  # as ReduceLROnPlateau would
    freeze(model, "last_k", k=4)
    optimizer = model.optimizer
    assert isinstance(optimizer, DiscriminativeOptimizer) and optimizer.head_optimizer.momentum == 0.9
    assert float(optimizer.learning_rate.numpy()) == pytest.approx(5e-3)
    assert float(optimizer.base_learning_rate.numpy()) == pytest.approx(5e-4)
    assert model.loss.get_config()["from_logits"]
    logs = model.evaluate(*_data(), verbose=0, return_dict=True)
    assert set(logs) == {"loss", "auc", "accuracy"}


def test_needs_recompile_tracks_the_compiled_state():
    model = _cnn()
    assert not needs_recompile(model)  # never compiled: the first compile sees the current state
    freeze(model, "head")
    assert not needs_recompile(model)
    compile_classifier(model, 1e-3)
    assert not needs_recompile(model)
    base_of(model).get_layer("block4_conv").trainable = True
    assert needs_recompile(model)
    freeze(model, "last_k", k=2)
    assert not needs_recompile(model)


# --- Reports -----------------------------------------------------------------------------------

def test_freeze_report_rows_and_totals():
    model = freeze(_cnn(), "last_k", k=3)
    rows = freeze_report(model)
    assert [r.name for r in rows] == BLOCKS + ["logit"]
    assert all(isinstance(r, LayerRow) for r in rows)
    assert rows[-1] == LayerRow("logit", "Dense", "head", True, 129, 129, "")
    assert rows[0] == LayerRow("block1_conv", "Conv2D", "backbone", False, 288, 0, "")
    assert rows[5] == LayerRow("block3_bn", "BatchNormalization", "backbone", False, 512, 0, "inference")
    assert sum(r.params for r in rows) == model.count_params()
    assert sum(r.trainable_params for r in rows) == trainable_parameter_count(model) == 147_456 + 129
    everything = freeze_report(model, weighted_only=False)
    assert {"block1_relu", "pool", "dropout"} <= {r.name for r in everything}
    freeze(model, "all", train_batchnorm=True)
    assert freeze_report(model)[1].bn_mode == "batch statistics"


def test_report_as_text_and_markdown():
    model = freeze(_cnn(), "head")
    text = format_freeze_report(model)
    lines = text.splitlines()
    assert lines[0].split()[:3] == ["layer", "type", "part"] and len(lines) == 1 + 9 + 1
    assert lines[-1] == f"trainable parameters: 129 of {model.count_params():,} (0.1 %)"
    markdown = format_freeze_report(model, markdown=True).splitlines()
    assert markdown[0].startswith("| layer | type |") and markdown[1] == "|---|---|---|---|---|---|---|"
    assert "| block1_bn | BatchNormalization | backbone | no | 128 | 0 | inference |" in markdown


# --- Gradual unfreezing --------------------------------------------------------------------------

def test_gradual_unfreezing_stages():
    schedule = GradualUnfreezing({0: "head", 3: "all", 1: {"policy": "last_k", "k": 2}})
    assert schedule.stages(5) == [Stage(0, 1, {"policy": "head"}), Stage(1, 3, {"policy": "last_k", "k": 2}),
                                  Stage(3, 5, {"policy": "all"})]
    assert schedule.stages(2) == [Stage(0, 1, {"policy": "head"}), Stage(1, 2, {"policy": "last_k", "k": 2})]
    assert schedule.setting_at(10) == {"policy": "all"}


def test_gradual_unfreezing_drives_consecutive_fits():
    x, y = _data()
    model = compile_classifier(_cnn(), 1e-2)
    schedule = GradualUnfreezing({0: "head", 1: {"policy": "last_k", "k": 2}, 2: "all"})
    counts, epochs = [], []
    for stage in schedule.stages(3):
        schedule.apply(model, stage)
        counts.append(trainable_parameter_count(model))
        history = model.fit(x, y, initial_epoch=stage.start, epochs=stage.stop, verbose=0)
        epochs += history.epoch
    assert counts == [129, 129 + 147_456, 129 + 147_456 + 73_728 + 18_432 + 288] and epochs == [0, 1, 2]


@pytest.mark.parametrize("schedule", [{}, {1: "all"}, {0: "head", -1: "all"}, {0: "top"},
                                      {0: {"policy": "all", "lr": 1}}, ["head"], {0: "head", 1.5: "all"}])
def test_bad_schedules_are_rejected(schedule):
    with pytest.raises(ValueError, match=r"Received: schedule="):
        GradualUnfreezing(schedule)


def test_policies_are_listed():
    assert POLICIES == ("head", "last_k", "from_layer", "all", "none")


# --- Snapshots: what moved ---------------------------------------------------------------------

def test_changed_weights_lists_what_training_moved_bit_for_bit():
    from crossdomain_kit.models.freezing import changed_weights, snapshot_weights

    model = compile_classifier(freeze(_cnn(), "last_k", k=2, train_batchnorm=True), 1e-2)
    before = snapshot_weights(model)
    assert changed_weights(before, model) == []
    assert all(isinstance(v, np.ndarray) for v in before.values()) and "block1_bn/moving_mean" in before
    model.fit(*_data(), batch_size=8, epochs=1, verbose=0)
    moved = changed_weights(before, model)
    assert set(moved) == _moved(before, model) and "block4_bn/moving_variance" in moved
    assert moved == [w.path for w in model.weights if w.path in set(moved)]  # in the model's order
    before["logit/bias"][...] = 99.0  # the snapshot is a copy: the model is untouched
    assert float(model.get_layer("logit").bias.numpy()[0]) != 99.0


def test_changed_weights_refuses_a_snapshot_of_another_model():
    from crossdomain_kit.models.freezing import changed_weights, snapshot_weights

    other = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1, name="d")])
    with pytest.raises(ValueError, match=r"snapshot_weights\(model\) of this model. Received: before='dict'"):
        changed_weights(snapshot_weights(other), _cnn())
    with pytest.raises(ValueError, match="Received: before='list'"):
        changed_weights([], _cnn())
    with pytest.raises(ValueError, match="must be a Keras model or layer. Received: model=3"):
        snapshot_weights(3)
