"""A panel that chooses what trains: presets, backbone blocks, the last k layers, BatchNorm.

Every control goes through :func:`crossdomain_kit.models.freezing.freeze`, which
recompiles a compiled model, so what the panel shows is what ``fit`` will
train. The backbone's layers are grouped into blocks (``block3``, ``conv4``,
``block_12``: consecutive layers whose names share a prefix, BatchNormalization
joining the layer it normalises); ticking a block trains it *and every block
above it*, as fine-tuning unfreezes from the top down, which is the freezing
API's ``from_layer`` policy. The slider trains the last k backbone layers
that hold weights (``last_k``); BatchNormalization layers stay in inference
mode unless their checkbox says otherwise. A status line gives the trainable
parameter count, the BatchNorm modes and whether the model is compiled; a
warning appears if the model's trainable weights changed after it was
compiled (a change made outside the panel, say by hand in a cell): ``fit``
would ignore it until "apply again" recompiles. The layers of each block are
listed, collapsed, underneath.

Introduced in ``notebooks/04_freezing_hyperparameters_lab.ipynb``.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field

import ipywidgets as widgets

from .. import _checks
from ..evaluation import Table
from ..models.freezing import LayerRow, freeze, freeze_report, needs_recompile, trainable_parameter_count
from ..models.backbones import block_of
from ..models.classifier import base_of
from ._html import show_message, table_html

PRESETS = {"head": "head only", "top_block": "top block", "all": "everything", "none": "nothing"}
"""The preset buttons: control name → label (``"none"`` freezes the head too)."""


@dataclass(frozen=True)
class Block:
    """A run of consecutive backbone layers that hold weights, named by their common prefix.

    Attributes:
        name: the prefix, e.g. ``"block3"`` or ``"conv4"``.
        first_layer: the block's first layer: ``freeze(..., "from_layer", from_layer=first_layer)``
            trains this block and every block above it.
        layers: names of its layers that hold weights.
        params: number of weight values in the block.
    """

    name: str
    first_layer: str
    layers: tuple[str, ...]
    params: int


@dataclass
class FreezingPanelState:
    """What the panel applied and what the model looks like now.

    Attributes:
        model: the kit classifier the panel freezes.
        setting: the :func:`crossdomain_kit.models.freezing.freeze` keyword arguments in force.
        blocks: the backbone's :class:`Block` s, bottom to top.
        rows: the latest :func:`crossdomain_kit.models.freezing.freeze_report`.
        description: ``setting`` in words, e.g. ``"head + block3-block4"``.
        trainable_params, total_params: weight values that train, and all of them.
        needs_recompile: the trainable weights changed since the model was compiled.
        locked: why the panel is read-only now (a training run), or None.
        message: the latest message under the controls.
        n_applied: how many settings were applied.
    """

    model: object = field(repr=False)
    setting: dict
    blocks: list[Block]
    rows: list[LayerRow] = field(default_factory=list, repr=False)
    description: str = ""
    trainable_params: int = 0
    total_params: int = 0
    needs_recompile: bool = False
    locked: str | None = None
    message: str = ""
    n_applied: int = 0


def _blocks(rows: list[LayerRow]) -> list[Block]:
    groups: list[tuple[str, list[LayerRow]]] = []
    for row in rows:
        if row.part != "backbone":
            continue
        name = block_of(row.name)
        if groups and (row.bn_mode or groups[-1][0] == name):
            groups[-1][1].append(row)
        else:
            groups.append((name, [row]))
    return [Block(name, members[0].name, tuple(r.name for r in members), sum(r.params for r in members))
            for name, members in groups]


def _setting(policy: str, *, k=None, from_layer=None, train_batchnorm: bool = False) -> dict:
    setting = {"policy": policy, "train_batchnorm": train_batchnorm}
    if k is not None:
        setting["k"] = k
    if from_layer is not None:
        setting["from_layer"] = from_layer
    return setting


def _describe(setting: dict, blocks: list[Block]) -> str:
    policy = setting["policy"]
    if policy == "head":
        return "head only"
    if policy == "none":
        return "nothing (the model only predicts)"
    if policy == "all":
        text = "everything"
    elif policy == "last_k":
        text = f"head + last {setting['k']} backbone layers"
    else:
        starts = [b.first_layer for b in blocks]
        if setting["from_layer"] in starts:
            first = starts.index(setting["from_layer"])
            span = blocks[first].name if first == len(blocks) - 1 else \
                f"{blocks[first].name}-{blocks[-1].name}"
            text = f"head + {span}"
        else:
            text = f"head + backbone from {setting['from_layer']!r}"
    return text + (", BatchNorm with batch statistics" if setting.get("train_batchnorm") else "")


def _layer_table(rows) -> Table:
    return Table(columns=("layer", "type", "trains", "params", "BatchNorm mode"),
                 rows=tuple((r.name, r.type, "yes" if r.trainable else "no", r.params, r.bn_mode)
                            for r in rows),
                 formats=("", "", "", ",", ""))


def freezing_panel(model, policy: str = "head", *, k: int | None = None, from_layer: str | None = None,
                   train_batchnorm: bool = False) -> widgets.VBox:
    """Toggle what trains in a kit classifier, through the freezing API.

    Args:
        model: a classifier from :func:`crossdomain_kit.models.classifier.build_classifier`,
            compiled or not.
        policy, k, from_layer, train_batchnorm: the setting applied right away,
            as in :func:`crossdomain_kit.models.freezing.freeze` (default: head only).

    Returns:
        An ``ipywidgets.VBox``. It also carries ``.state`` (a
        :class:`FreezingPanelState`), ``.controls`` (the preset buttons
        ``head``, ``top_block``, ``all`` and ``none``; ``blocks``, a dict of one
        checkbox per block; the ``last_k`` slider; the ``train_batchnorm``
        checkbox; the ``apply`` button that applies the setting again,
        recompiling, and the ``refresh`` button that re-reads the model),
        ``.status``, ``.warning`` and ``.message`` (``ipywidgets.HTML``), and
        the functions ``.refresh()``, ``.set_model(model)`` (the same
        architecture, e.g. rebuilt with another dropout: the setting is applied
        to it) and ``.set_locked(reason)`` (read-only while ``reason`` is not
        None, e.g. while the training dashboard trains).

    Raises:
        ValueError: for a model that is not a kit classifier or a setting
            :func:`~crossdomain_kit.models.freezing.freeze` rejects (before any widget
            is built; the model is then unchanged).

    Introduced in ``notebooks/04_freezing_hyperparameters_lab.ipynb``.
    """
    base_of(model)
    setting = _setting(policy, k=k, from_layer=from_layer, train_batchnorm=train_batchnorm)
    freeze(model, **setting)
    state = FreezingPanelState(model=model, setting=setting, blocks=_blocks(freeze_report(model)))
    n_weighted = sum(len(b.layers) for b in state.blocks)

    controls = {name: widgets.Button(description=label, layout=widgets.Layout(width="auto"))
                for name, label in PRESETS.items()}
    controls["blocks"] = {
        block.name: widgets.Checkbox(description=f"{block.name} ({block.params:,} params)", indent=False,
                                     layout=widgets.Layout(width="auto"))
        for block in state.blocks}
    controls["last_k"] = widgets.IntSlider(min=0, max=n_weighted, description="last k layers train",
                                           continuous_update=False, style={"description_width": "initial"},
                                           layout=widgets.Layout(width="420px"))
    auto = widgets.Layout(width="auto")
    controls["train_batchnorm"] = widgets.Checkbox(
        description="BatchNorm layers train too (batch statistics)", indent=False, layout=auto)
    controls["apply"] = widgets.Button(description="apply again (recompiles)", layout=auto)
    controls["refresh"] = widgets.Button(description="re-read the model", layout=auto)
    for name, checkbox in controls["blocks"].items():
        checkbox.add_class(f"cdk-freeze-{name}")
    status, warning, message = widgets.HTML(), widgets.HTML(), widgets.HTML()
    layers = widgets.Accordion(children=[widgets.HTML() for _ in range(len(state.blocks) + 1)],
                               selected_index=None)
    def say(text: str, kind: str = "info"):
        state.message = text
        show_message(message, text, kind)

    syncing = [False]

    @contextmanager
    def quietly():
        """Set controls from the model without their observers applying anything."""
        syncing[0] = True
        try:
            yield
        finally:
            syncing[0] = False

    def show_controls():
        trainable = {r.name for r in state.rows if r.trainable}
        backbone = [r for r in state.rows if r.part == "backbone"]
        if state.setting["policy"] == "last_k":
            k_now = state.setting["k"]
        else:
            first = next((i for i, r in enumerate(backbone) if r.trainable), len(backbone))
            k_now = len(backbone) - first
        with quietly():
            for block in state.blocks:
                controls["blocks"][block.name].value = any(name in trainable for name in block.layers)
            controls["last_k"].value = k_now
            controls["train_batchnorm"].value = bool(state.setting.get("train_batchnorm"))

    def refresh():
        """Re-read the model: report, counts, BatchNorm modes, compiled state, controls."""
        model_now = state.model
        state.rows = freeze_report(model_now)
        state.description = _describe(state.setting, state.blocks)
        state.trainable_params = trainable_parameter_count(model_now)
        state.total_params = int(model_now.count_params())
        state.needs_recompile = needs_recompile(model_now)
        bn_modes = [r.bn_mode for r in state.rows if r.bn_mode]
        n_batch = bn_modes.count("batch statistics")
        share = 100 * state.trainable_params / max(state.total_params, 1)
        compiled = "compiled" if model_now.compiled else "not compiled yet (training compiles it)"
        status.value = (
            f"<b>Trains:</b> {state.description} &middot; <b>trainable parameters:</b> "
            f"{state.trainable_params:,} of {state.total_params:,} ({share:.1f} %) &middot; "
            f"<b>BatchNorm:</b> {len(bn_modes) - n_batch} in inference mode, {n_batch} with batch "
            f"statistics &middot; <b>model:</b> {compiled}")
        show_message(warning, "The model's trainable weights changed after it was compiled: fit would "
                              "ignore the change (or fail). Press 'apply again' to recompile."
                     if state.needs_recompile else "", "warning")
        for i, block in enumerate(state.blocks):
            rows = [r for r in state.rows if r.name in block.layers]
            layers.children[i].value = table_html(_layer_table(rows))
            layers.set_title(i, f"{block.name}: {sum(r.trainable for r in rows)} of {len(rows)} layers train")
        head = [r for r in state.rows if r.part == "head"]
        layers.children[-1].value = table_html(_layer_table(head))
        layers.set_title(len(state.blocks),
                         f"head: {sum(r.trainable for r in head)} of {len(head)} layers train")
        show_controls()

    def apply(new_setting: dict):
        if state.locked:
            say(f"{state.locked} Change the freezing when it has ended.", "warning")
            show_controls()
            return
        try:
            freeze(state.model, **new_setting)
        except ValueError as error:  # freeze changes nothing when it refuses
            say(str(error), "error")
            show_controls()
            return
        state.setting = new_setting
        state.n_applied += 1
        refresh()
        done = "recompiled" if state.model.compiled else "not compiled yet"
        say(f"Applied: {state.description} ({done}).", "ok")

    def keep_batchnorm(policy, **kwargs):
        return _setting(policy, train_batchnorm=bool(state.setting.get("train_batchnorm")), **kwargs)

    def on_block(index, change):
        if syncing[0]:
            return
        if change["new"]:
            apply(keep_batchnorm("from_layer", from_layer=state.blocks[index].first_layer))
        elif index + 1 < len(state.blocks):
            apply(keep_batchnorm("from_layer", from_layer=state.blocks[index + 1].first_layer))
        else:
            apply(keep_batchnorm("head"))

    def on_last_k(change):
        if not syncing[0]:
            apply(keep_batchnorm("last_k", k=change["new"]) if change["new"] else keep_batchnorm("head"))

    def on_batchnorm(change):
        if not syncing[0]:
            apply({**state.setting, "train_batchnorm": bool(change["new"])})

    presets = {"head": lambda: keep_batchnorm("head"),
               "top_block": lambda: keep_batchnorm("from_layer", from_layer=state.blocks[-1].first_layer),
               "all": lambda: keep_batchnorm("all"),
               "none": lambda: _setting("none")}
    for name, make in presets.items():
        controls[name].on_click(lambda _button, make=make: apply(make()))
    for index, block in enumerate(state.blocks):
        controls["blocks"][block.name].observe(lambda change, index=index: on_block(index, change),
                                               names="value")
    controls["last_k"].observe(on_last_k, names="value")
    controls["train_batchnorm"].observe(on_batchnorm, names="value")
    controls["apply"].on_click(lambda _button: apply(dict(state.setting)))

    def on_refresh(_button):
        refresh()
        say("Re-read the model.", "info")

    controls["refresh"].on_click(on_refresh)

    def set_model(new_model):
        """Freeze ``new_model`` (same architecture) with the panel's setting and show it."""
        if [b.name for b in _blocks(freeze_report(new_model))] != [b.name for b in state.blocks]:
            raise _checks.fail("`new_model` must have the same backbone as the panel's model.",
                               "new_model", new_model)
        freeze(new_model, **state.setting)
        state.model = new_model
        refresh()

    def set_locked(reason: str | None):
        """Make the panel read-only while ``reason`` (a sentence) is not None."""
        state.locked = reason
        for control in _flat(controls):
            control.disabled = reason is not None

    refresh()
    block_row = widgets.HBox(list(controls["blocks"].values()), layout=widgets.Layout(flex_flow="row wrap"))
    panel = widgets.VBox([
        widgets.HBox([widgets.Label("Train:")] + [controls[name] for name in PRESETS]),
        widgets.HBox([widgets.Label("Blocks (a ticked block trains with all above it):"), block_row]),
        widgets.HBox([controls["last_k"], controls["train_batchnorm"]]),
        widgets.HBox([controls["apply"], controls["refresh"]]),
        status, warning, message, layers])
    panel.state = state
    panel.controls = controls
    panel.status, panel.warning, panel.message, panel.layers = status, warning, message, layers
    panel.refresh, panel.set_model, panel.set_locked = refresh, set_model, set_locked
    return panel


def _flat(controls: dict) -> list:
    return [w for c in controls.values() for w in (c.values() if isinstance(c, dict) else [c])]
