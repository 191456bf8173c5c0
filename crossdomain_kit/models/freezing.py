"""Freezing: choose which part of a classifier trains, see it, and keep Keras in sync.

Policies name WHAT TRAINS (the head always does, except with ``"none"``):

* ``"head"``: the backbone is frozen; feature extraction.
* ``"last_k"``: the last ``k`` backbone layers that hold weights.
* ``"from_layer"``: the backbone from a named layer or block onward
  (``"conv5"``, ``"conv5_block3"``, ``"block6a"``, ``"block3"``).
* ``"all"``: everything; full fine-tuning.
* ``"none"``: nothing; the model only predicts.

BatchNormalization layers stay frozen under every policy unless
``train_batchnorm=True``. In Keras 3 a frozen BatchNormalization layer runs in
inference mode (moving mean and variance fixed, used to normalise), while a
trainable one normalises with batch statistics and updates its moving
averages during ``fit``, even though the backbone was called with
``training=False`` (``fit``'s ``training=True`` wins; keras-team/keras#20285).
Small fine-tuning batches would wreck the statistics learnt on the source
domain, hence the default.

Changing ``trainable`` after ``compile`` is silently ignored by a model that
has already trained: its compiled train step and its optimizer keep the old
list of trainable variables. :func:`freeze` therefore recompiles
automatically, with the same loss, metrics and optimizer settings
(learning rates included; the optimizer's moment estimates start afresh).

Importing this module imports Keras (and TensorFlow).

Introduced in ``notebooks/04_freezing_hyperparameters_lab.ipynb``.
"""

from __future__ import annotations

import difflib
import numbers
from dataclasses import dataclass
from typing import NamedTuple

import keras
import numpy as np

from .. import _checks
from .backbones import block_names, in_block
from .classifier import base_of

POLICIES = ("head", "last_k", "from_layer", "all", "none")


# --- Which backbone layers train ----------------------------------------------------------------

def _weighted_layers(base) -> list:
    return [layer for layer in base.layers if layer.weights]


def _trained_base_layers(base, policy, k, from_layer) -> list:
    if policy in ("head", "none"):
        return []
    if policy == "all":
        return list(base.layers)
    if policy == "last_k":
        weighted = _weighted_layers(base)
        if isinstance(k, bool) or not isinstance(k, numbers.Integral) or not 1 <= k <= len(weighted):
            raise _checks.fail(f"`k` must be an integer from 1 to {len(weighted)}, the number of "
                               "backbone layers that hold weights.", "k", k)
        return weighted[-k:]
    if not isinstance(from_layer, str) or not from_layer:
        raise _checks.fail("policy='from_layer' needs `from_layer`, a backbone layer or block name.",
                           "from_layer", from_layer)
    return backbone_layers_from(base, from_layer)


def backbone_layers_from(base, name: str, *, argument: str = "from_layer") -> list:
    """The backbone's layers from the first one in the layer or block ``name`` to its output.

    Args:
        base: a backbone model (:func:`~crossdomain_kit.models.classifier.base_of`).
        name: a layer name or a block name such as ``"block3"`` (small CNN)
            or ``"conv5"`` (ResNet50).
        argument: the caller's name for ``name``, used in the error.

    Returns:
        The layers, in the backbone's order.

    Raises:
        ValueError: if no layer or block is called ``name`` (close names are suggested).
    """
    for index, layer in enumerate(base.layers):
        if in_block(layer.name, name):
            return list(base.layers[index:])
    candidates = block_names(layer.name for layer in base.layers)
    close = difflib.get_close_matches(name, candidates, n=3, cutoff=0.6)
    hint = f" Did you mean {' or '.join(map(repr, close))}?" if close else ""
    raise _checks.fail(f"No backbone layer or block is called {name!r}.{hint} "
                       "freeze_report(model) lists the layer names.", argument, name)


# --- Recompiling ---------------------------------------------------------------------------------

def _compile_arguments(model) -> dict | None:
    """The model's compile arguments as fresh objects, or None if it was never compiled."""
    if not model.compiled:
        return None
    try:
        return keras.saving.deserialize_keras_object(model.get_compile_config())
    except Exception as error:
        raise _checks.fail(f"The model cannot be recompiled automatically ({type(error).__name__}: "
                           f"{error}); pass recompile=False and compile it yourself "
                           "(e.g. with compile_classifier).", "recompile", True) from error


def needs_recompile(model) -> bool:
    """Whether the trainable variables changed since the optimizer was built for them.

    After such a change ``fit`` would ignore it (a model that has trained
    keeps its compiled train step) or fail (a newly trainable variable is
    unknown to the optimizer) until the model is compiled again;
    :func:`freeze` does that for you.

    Args:
        model: a Keras model.

    Returns:
        True if the model is compiled, its optimizer is built, and the set of
        trainable variables differs from the one the optimizer was built on.
    """
    optimizer = getattr(model, "optimizer", None)
    if not model.compiled or optimizer is None or not optimizer.built:
        return False
    # Keras keeps the variables an optimizer was built on in `_trainable_variables` (3.0 to 3.15).
    built_on = {id(v) for v in optimizer._trainable_variables}
    return built_on != {id(v) for v in model.trainable_variables}


# --- Freezing -----------------------------------------------------------------------------------

def freeze(model, policy: str = "head", *, k: int | None = None, from_layer: str | None = None,
           train_batchnorm: bool = False, recompile: bool = True):
    """Choose which part of a kit classifier trains, and recompile it if it was compiled.

    Args:
        model: a classifier from :func:`crossdomain_kit.models.classifier.build_classifier`.
        policy: what trains: ``"head"``, ``"last_k"``, ``"from_layer"``,
            ``"all"`` or ``"none"`` (see the module docstring).
        k: with ``"last_k"``: how many of the backbone's last layers that hold
            weights train (BatchNormalization layers count, and stay frozen
            unless ``train_batchnorm``).
        from_layer: with ``"from_layer"``: the first backbone layer that
            trains, by name or block prefix (``"conv5"``, ``"conv5_block3"``).
        train_batchnorm: let BatchNormalization layers in the trained part
            train too (batch statistics, moving averages updated).
        recompile: recompile a compiled model with its own loss, metrics and
            optimizer settings; without it a model that has already trained
            ignores the change (see :func:`needs_recompile`).

    Returns:
        ``model``, changed in place.

    Raises:
        ValueError: for an unknown policy, a ``k`` or ``from_layer`` that is
            missing, out of range, unknown (close names are suggested) or given
            with another policy, a non-boolean flag, or a model that is not a
            kit classifier. Nothing is changed when an error is raised.
    """
    base = base_of(model)
    if policy not in POLICIES:
        raise _checks.fail(f"Unknown freezing policy; choose one of {POLICIES}.", "policy", policy)
    if k is not None and policy != "last_k":
        raise _checks.fail("`k` is used only with policy='last_k'.", "k", k)
    if from_layer is not None and policy != "from_layer":
        raise _checks.fail("`from_layer` is used only with policy='from_layer'.", "from_layer", from_layer)
    for flag, value in (("train_batchnorm", train_batchnorm), ("recompile", recompile)):
        if not isinstance(value, bool):
            raise _checks.fail(f"`{flag}` must be True or False.", flag, value)
    trained = {id(layer) for layer in _trained_base_layers(base, policy, k, from_layer)}
    compile_arguments = _compile_arguments(model) if recompile else None

    model.trainable = policy != "none"  # the head; Keras propagates it to every sublayer
    base.trainable = bool(trained)
    for layer in base.layers:
        is_batchnorm = isinstance(layer, keras.layers.BatchNormalization)
        layer.trainable = id(layer) in trained and (train_batchnorm or not is_batchnorm)

    if compile_arguments is not None:
        model.compile(**compile_arguments)
        model.optimizer.build(model.trainable_variables)
    return model


# --- Reporting ----------------------------------------------------------------------------------

class LayerRow(NamedTuple):
    """One line of :func:`freeze_report`.

    Attributes:
        name: layer name.
        type: layer class name, e.g. ``"Conv2D"``.
        part: ``"backbone"`` or ``"head"``.
        trainable: whether its weights train.
        params: number of weight values (trainable or not).
        trainable_params: how many of them train.
        bn_mode: for BatchNormalization, ``"inference"`` (frozen: moving
            statistics fixed and used) or ``"batch statistics"`` (trainable:
            normalises with the batch's and updates the moving averages in
            ``fit``); ``""`` for other layers.
    """

    name: str
    type: str
    part: str
    trainable: bool
    params: int
    trainable_params: int
    bn_mode: str


def _size(weights) -> int:
    return int(sum(np.prod(w.shape, dtype=np.int64) for w in weights))


def _row(layer, part: str) -> LayerRow:
    bn_mode = ""
    if isinstance(layer, keras.layers.BatchNormalization):
        bn_mode = "batch statistics" if layer.trainable else "inference"
    return LayerRow(layer.name, type(layer).__name__, part, bool(layer.trainable),
                    _size(layer.weights), _size(layer.trainable_weights), bn_mode)


def freeze_report(model, *, weighted_only: bool = True) -> list[LayerRow]:
    """One row per layer of a kit classifier: backbone layers, then the head.

    Args:
        model: a classifier from :func:`crossdomain_kit.models.classifier.build_classifier`.
        weighted_only: list only the layers that hold weights.

    Returns:
        A list of :class:`LayerRow`.

    Raises:
        ValueError: if ``model`` is not a kit classifier.
    """
    base = base_of(model)
    rows = [_row(layer, "backbone") for layer in base.layers]
    rows += [_row(layer, "head") for layer in model.layers
             if layer is not base and not isinstance(layer, keras.layers.InputLayer)]
    return [row for row in rows if row.params or not weighted_only]


def trainable_parameter_count(model) -> int:
    """How many weight values ``fit`` would update (the sizes of ``model.trainable_weights``)."""
    return _size(model.trainable_weights)


def snapshot_weights(model) -> dict[str, np.ndarray]:
    """A copy of every weight of ``model``, BatchNorm's moving statistics included, by path.

    Take one before training and pass it to :func:`changed_weights` after.

    Args:
        model: a Keras model (or layer).

    Returns:
        ``{weight path: NumPy copy}``, e.g. ``"block1_bn/moving_mean"``.

    Raises:
        ValueError: if ``model`` has no ``weights``.

    Introduced in ``notebooks/04_freezing_hyperparameters_lab.ipynb``.
    """
    if not hasattr(model, "weights"):
        raise _checks.fail("`model` must be a Keras model or layer.", "model", model)
    return {w.path: np.array(w.numpy(), copy=True) for w in model.weights}


def changed_weights(before: dict, model) -> list[str]:
    """The paths of the weights of ``model`` that are not bit-identical to a snapshot.

    Args:
        before: a :func:`snapshot_weights` of the same model.
        model: the model now.

    Returns:
        The paths whose values changed, in the model's weight order (an empty
        list when nothing moved, not even a moving statistic).

    Raises:
        ValueError: if ``before`` is not a snapshot of this model's weights.

    Introduced in ``notebooks/04_freezing_hyperparameters_lab.ipynb``.
    """
    paths = [w.path for w in getattr(model, "weights", ())]
    if not isinstance(before, dict) or set(before) != set(paths):
        raise _checks.fail("`before` must be snapshot_weights(model) of this model.", "before",
                           type(before).__name__)
    return [w.path for w in model.weights
            if before[w.path].shape != tuple(w.shape) or not np.array_equal(before[w.path], w.numpy())]


def format_freeze_report(model, *, markdown: bool = False, weighted_only: bool = True) -> str:
    """:func:`freeze_report` as a table, with the trainable total underneath.

    Args:
        model: a kit classifier.
        markdown: a Markdown table (for ``IPython.display.Markdown``) instead
            of aligned plain text.
        weighted_only: list only the layers that hold weights.

    Returns:
        The table as a string.
    """
    rows = freeze_report(model, weighted_only=weighted_only)
    header = ("layer", "type", "part", "trainable", "params", "trainable params", "BatchNorm mode")
    cells = [header] + [(r.name, r.type, r.part, "yes" if r.trainable else "no", f"{r.params:,}",
                         f"{r.trainable_params:,}", r.bn_mode) for r in rows]
    total, trainable = model.count_params(), trainable_parameter_count(model)
    summary = f"trainable parameters: {trainable:,} of {total:,} ({100 * trainable / max(total, 1):.1f} %)"
    if markdown:
        lines = ["| " + " | ".join(row) + " |" for row in cells]
        lines.insert(1, "|" + "---|" * len(header))
        return "\n".join(lines) + f"\n\n{summary}"
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in cells]
    return "\n".join(lines) + f"\n{summary}"


# --- Gradual unfreezing -------------------------------------------------------------------------

@dataclass(frozen=True)
class Stage:
    """One stage of a :class:`GradualUnfreezing` schedule: epochs [start, stop) and a freeze setting."""

    start: int
    stop: int
    freeze_kwargs: dict


class GradualUnfreezing:
    """A schedule that unfreezes more of the backbone at given epochs.

    Changing what trains needs a recompile, which cannot happen inside one
    ``fit`` call, so the schedule is run as consecutive ``fit`` calls, one per
    stage, continuing the epoch count::

        schedule = GradualUnfreezing({0: "head", 2: {"policy": "last_k", "k": 6}, 4: "all"})
        for stage in schedule.stages(epochs=6):
            schedule.apply(model, stage)
            model.fit(train, validation_data=val, initial_epoch=stage.start, epochs=stage.stop)

    Args:
        schedule: ``{epoch: setting}`` where a setting is a policy name or a
            dict of :func:`freeze` keyword arguments (``policy``, ``k``,
            ``from_layer``, ``train_batchnorm``). It must have an entry for epoch 0.

    Raises:
        ValueError: for an empty schedule, one without epoch 0, a negative or
            non-integer epoch, an unknown policy or an unknown setting.

    Introduced in ``notebooks/04_freezing_hyperparameters_lab.ipynb``.
    """

    _KEYS = ("policy", "k", "from_layer", "train_batchnorm")

    def __init__(self, schedule):
        if not isinstance(schedule, dict) or 0 not in schedule:
            raise _checks.fail("`schedule` must be a dict {epoch: policy or freeze kwargs} with an "
                               "entry for epoch 0.", "schedule", schedule)
        settings = {}
        for epoch, setting in schedule.items():
            if isinstance(epoch, bool) or not isinstance(epoch, numbers.Integral) or epoch < 0:
                raise _checks.fail("Schedule epochs must be integers >= 0.", "schedule", schedule)
            kwargs = {"policy": setting} if isinstance(setting, str) else setting
            if (not isinstance(kwargs, dict) or set(kwargs) - set(self._KEYS)
                    or kwargs.get("policy", "head") not in POLICIES):
                raise _checks.fail(f"Each schedule entry must be a policy in {POLICIES} or a dict with "
                                   f"keys among {self._KEYS}.", "schedule", schedule)
            settings[int(epoch)] = dict(kwargs)
        self.schedule = dict(sorted(settings.items()))

    def setting_at(self, epoch: int) -> dict:
        """The :func:`freeze` keyword arguments in force at ``epoch``."""
        return dict(self.schedule[max(e for e in self.schedule if e <= epoch)])

    def stages(self, epochs: int) -> list[Stage]:
        """The stages that fall within ``epochs`` epochs, in order.

        Raises:
            ValueError: if ``epochs`` is not an integer >= 1.
        """
        epochs = _checks.positive_int(epochs, "epochs")
        starts = [e for e in self.schedule if e < epochs]
        stops = starts[1:] + [epochs]
        return [Stage(start, stop, self.setting_at(start)) for start, stop in zip(starts, stops)]

    def apply(self, model, stage: Stage):
        """Freeze ``model`` as ``stage`` says (recompiling it if compiled); returns ``model``."""
        return freeze(model, **stage.freeze_kwargs)

    def __repr__(self) -> str:
        return f"GradualUnfreezing({self.schedule!r})"
