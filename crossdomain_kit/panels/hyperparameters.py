"""A panel of training hyperparameters that blocks invalid values with a message beside them.

The panel holds values only; the training dashboard
(:func:`crossdomain_kit.panels.dashboard.training_dashboard`) reads them when
Train is pressed. Each control is checked on every change with the kit's own
argument checks, and its message (the check's ``"... Received: name=value"``)
appears next to it; ``state.values`` is None until every control is valid.

Introduced in ``notebooks/04_freezing_hyperparameters_lab.ipynb``.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass, field, fields

import ipywidgets as widgets

from .. import _checks
from ._html import show_message

OPTIMIZERS = ("adam", "adamw", "sgd", "rmsprop")
"""Keras optimizer names the panel offers."""

LEARNING_RATE_EXPONENTS = (-6, 0)
"""The learning-rate slider spans 10⁻⁶ … 1 (the exact box beside it takes any value)."""


def _check_dropout(value) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 <= value < 1:
        raise _checks.fail("`dropout` must be a number in [0, 1).", "dropout", value)
    return float(value)


def _check_flag(value, name: str) -> bool:
    if not isinstance(value, bool):
        raise _checks.fail(f"`{name}` must be True or False.", name, value)
    return value


def _check_optimizer(value) -> str:
    if value not in OPTIMIZERS:
        raise _checks.fail(f"`optimizer` must be one of {OPTIMIZERS}.", "optimizer", value)
    return value


_CHECKS = {
    "learning_rate": lambda v: _checks.positive(v, "learning_rate"),
    "batch_size": lambda v: _checks.positive_int(v, "batch_size"),
    "epochs": lambda v: _checks.positive_int(v, "epochs"),
    "patience": lambda v: _checks.positive_int(v, "patience"),
    "dropout": _check_dropout,
    "l2": lambda v: _checks.real_in(v, "l2", 0.0),
    "augment": lambda v: _check_flag(v, "augment"),
    "optimizer": _check_optimizer,
    "backbone_lr_factor": lambda v: _checks.real_in(v, "backbone_lr_factor", 0.0, 1.0, low_open=True),
}


@dataclass(frozen=True)
class Hyperparameters:
    """One valid set of training hyperparameters.

    Attributes:
        learning_rate: the head's learning rate (> 0).
        batch_size: images per batch (>= 1).
        epochs: most epochs (>= 1); early stopping may end sooner.
        patience: early stopping's patience in epochs (>= 1).
        dropout: the head's dropout rate, in [0, 1).
        l2: L2 penalty on the logit's kernel (>= 0).
        augment: augment the training images (the pipeline's default augmentation).
        optimizer: a Keras optimizer name from :data:`OPTIMIZERS`.
        backbone_lr_factor: the backbone learns at ``backbone_lr_factor × learning_rate``,
            in (0, 1]; 1 is one rate everywhere (discriminative learning rates below 1).

    Raises:
        ValueError: for an invalid value, ending "Received: name=value".
    """

    learning_rate: float = 1e-3
    batch_size: int = 32
    epochs: int = 5
    patience: int = 3
    dropout: float = 0.2
    l2: float = 0.0
    augment: bool = False
    optimizer: str = "adam"
    backbone_lr_factor: float = 1.0

    def __post_init__(self):
        for f in fields(self):
            object.__setattr__(self, f.name, _CHECKS[f.name](getattr(self, f.name)))

    @property
    def base_learning_rate(self) -> float | None:
        """The backbone's own learning rate, or None when it is the head's (factor 1)."""
        return None if self.backbone_lr_factor == 1 else self.learning_rate * self.backbone_lr_factor


@dataclass
class HyperparameterPanelState:
    """The panel's values and messages.

    Attributes:
        values: the valid :class:`Hyperparameters`, or None while a control is invalid.
        errors: control name → message, for the invalid controls.
        n_train: the training set size that caps the batch size (None: no cap).
    """

    values: Hyperparameters | None
    errors: dict[str, str] = field(default_factory=dict)
    n_train: int | None = None


def hyperparameter_panel(values: Hyperparameters | None = None, *,
                         n_train: int | None = None) -> widgets.VBox:
    """Controls for the training hyperparameters, each checked with a message beside it.

    Args:
        values: the initial :class:`Hyperparameters` (the defaults when None).
        n_train: the training set size; a larger batch size is then refused.

    Returns:
        An ``ipywidgets.VBox``. It also carries ``.state`` (a
        :class:`HyperparameterPanelState`), ``.controls`` (``learning_rate``, a
        log-scale slider, and ``learning_rate_exact``, a box for any value,
        kept in step; ``batch_size``, ``epochs``, ``patience``, ``dropout``,
        ``l2``, ``augment``, ``optimizer``, ``backbone_lr_factor``) and
        ``.messages`` (one ``ipywidgets.HTML`` per field, beside its control).

    Raises:
        ValueError: if ``values`` is not a :class:`Hyperparameters`, if
            ``n_train`` is not an integer >= 1, or if the initial batch size
            exceeds it.

    Introduced in ``notebooks/04_freezing_hyperparameters_lab.ipynb``.
    """
    values = Hyperparameters() if values is None else values
    if not isinstance(values, Hyperparameters):
        raise _checks.fail("`values` must be a Hyperparameters.", "values", values)
    if n_train is not None:
        n_train = _checks.positive_int(n_train, "n_train")
        if values.batch_size > n_train:
            raise _checks.fail(f"The batch size must be at most the training set size ({n_train}).",
                               "batch_size", values.batch_size)
    state = HyperparameterPanelState(values=values, n_train=n_train)

    style, wide = {"description_width": "initial"}, widgets.Layout(width="320px")
    slider = widgets.Layout(width="420px")
    low, high = (10.0 ** e for e in LEARNING_RATE_EXPONENTS)
    controls = {
        "learning_rate": widgets.FloatLogSlider(
            value=min(max(values.learning_rate, low), high), base=10, min=LEARNING_RATE_EXPONENTS[0],
            max=LEARNING_RATE_EXPONENTS[1], step=0.1, description="learning rate", readout_format=".1e",
            continuous_update=False, style=style, layout=slider),
        "learning_rate_exact": widgets.FloatText(value=values.learning_rate, description="exactly",
                                                 style=style, layout=widgets.Layout(width="160px")),
        "batch_size": widgets.IntText(value=values.batch_size, description="batch size", style=style,
                                      layout=wide),
        "epochs": widgets.IntText(value=values.epochs, description="epochs (most)", style=style, layout=wide),
        "patience": widgets.IntText(value=values.patience, description="early-stopping patience",
                                    style=style, layout=wide),
        "dropout": widgets.FloatSlider(value=values.dropout, min=0.0, max=0.9, step=0.05,
                                       description="dropout", continuous_update=False, style=style,
                                       layout=slider),
        "l2": widgets.FloatText(value=values.l2, description="L2 on the logit", style=style, layout=wide),
        "augment": widgets.Checkbox(value=values.augment, description="augment training images",
                                    indent=False),
        "optimizer": widgets.Dropdown(options=OPTIMIZERS, value=values.optimizer, description="optimizer",
                                      style=style, layout=wide),
        "backbone_lr_factor": widgets.FloatLogSlider(
            value=values.backbone_lr_factor, base=10, min=-3, max=0, step=0.1,
            description="backbone LR × (discriminative)", readout_format=".3g", continuous_update=False,
            style=style, layout=slider),
    }
    names = [f.name for f in fields(Hyperparameters)]
    messages = {name: widgets.HTML() for name in names}
    syncing = [False]

    def raw(name):
        return controls["learning_rate_exact" if name == "learning_rate" else name].value

    def validate(_change=None):
        errors = {}
        for name in names:
            try:
                _CHECKS[name](raw(name))
            except ValueError as error:
                errors[name] = str(error)
        batch = raw("batch_size")
        if "batch_size" not in errors and state.n_train is not None and batch > state.n_train:
            errors["batch_size"] = (f"The batch size must be at most the training set size "
                                    f"({state.n_train}). Received: batch_size={batch}")
        state.errors = errors
        state.values = None if errors else Hyperparameters(**{name: raw(name) for name in names})
        for name in names:
            show_message(messages[name], errors.get(name, ""), "error")

    def slider_moved(change):
        if not syncing[0]:
            syncing[0] = True
            controls["learning_rate_exact"].value = float(f"{change['new']:.3g}")
            syncing[0] = False
        validate()

    def exact_typed(change):
        value = change["new"]
        if not syncing[0] and isinstance(value, numbers.Real) and low <= value <= high:
            syncing[0] = True
            controls["learning_rate"].value = value
            syncing[0] = False
        validate()

    controls["learning_rate"].observe(slider_moved, names="value")
    controls["learning_rate_exact"].observe(exact_typed, names="value")
    for name in names[1:]:
        controls[name].observe(validate, names="value")
    validate()

    def row(*names_in_row):
        items = []
        for name in names_in_row:
            items += [controls[name]] + (
                [controls["learning_rate_exact"]] if name == "learning_rate" else []) + [messages[name]]
        return widgets.HBox(items)

    panel = widgets.VBox([row("learning_rate"), row("backbone_lr_factor"), row("optimizer"),
                          row("batch_size"), row("epochs"), row("patience"), row("dropout"), row("l2"),
                          row("augment")])
    panel.state = state
    panel.controls = controls
    panel.messages = messages
    return panel
