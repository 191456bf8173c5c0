"""Two-phase fine-tuning through ``fit``: the head on a frozen backbone, then (part of) the backbone.

* :func:`fine_tune` trains the head on a frozen backbone, then unfreezes
  (part of) the backbone and continues with a lower learning rate, both
  phases through ``fit`` with ``EarlyStopping(restore_best_weights=True)``,
  ``ReduceLROnPlateau``, class weights and, optionally, a slower learning
  rate for the backbone than for the head.
* :func:`check_fit_controls` and :func:`fit_callbacks`: the checks and the
  callbacks of the early stopping and learning-rate schedule that every
  ``fit``-based trainer shares (:func:`crossdomain_kit.training.train_joint` too).

Importing this module imports TensorFlow and Keras.

Introduced in ``notebooks/04_freezing_hyperparameters_lab.ipynb``.
"""

from __future__ import annotations

import numbers

import keras
import numpy as np

from .. import _checks
from ..models.freezing import POLICIES, GradualUnfreezing, freeze
from ..models.classifier import base_of
from ..models.compiling import compile_classifier
from ..data.pipeline import class_weights as balanced_class_weights
from .checks import check_callbacks, check_dataset, check_monitor, check_validation, label_counts
from .results import EpochRecorder, TrainingResult, fit_until_interrupted
from .runtime import set_global_seed
from .validation import ExactValidationAUC

_FREEZE_KEYS = ("policy", "k", "from_layer", "train_batchnorm")


# --- Early stopping and the learning-rate schedule, shared by the fit-based trainers ----------------

def check_fit_controls(val_ds, *, patience, lr_patience, lr_factor, monitor, seed, callbacks) -> tuple:
    """Check the arguments a ``fit``-based trainer shares, and its validation data.

    Args:
        val_ds: the validation dataset (both classes needed; one pass over its labels).
        patience: EarlyStopping's patience (>= 1).
        lr_patience: ReduceLROnPlateau's patience (>= 1).
        lr_factor: ReduceLROnPlateau's factor, in (0, 1).
        monitor: one of :data:`crossdomain_kit.training.MONITORS`.
        seed: an integer >= 0 or None.
        callbacks: a list or tuple of Keras callbacks.

    Returns:
        ``(patience, lr_patience, lr_factor, monitor, seed, callbacks)``, checked.

    Raises:
        ValueError: for the first bad argument, in that order, then for bad
            validation data.
    """
    patience = _checks.positive_int(patience, "patience")
    lr_patience = _checks.positive_int(lr_patience, "lr_patience")
    lr_factor = _checks.open_fraction(lr_factor, "lr_factor")
    monitor = check_monitor(monitor)
    seed = _checks.seed(seed, allow_none=True)
    callbacks = check_callbacks(callbacks)
    check_validation(val_ds)
    return patience, lr_patience, lr_factor, monitor, seed, callbacks


def fit_callbacks(val_ds, recorder, monitor: str, patience: int, lr_patience: int, lr_factor: float,
                  verbose, callbacks=()) -> list:
    """The callbacks of one ``fit`` phase: the exact validation AUC, the recorder, early stopping,
    the plateau schedule, the caller's.

    Args:
        val_ds: the validation dataset, scored by
            :class:`~crossdomain_kit.training.validation.ExactValidationAUC`
            first (``val_loss``, the exact ``val_auc`` and ``val_accuracy`` in
            one pass), so every later callback reads them; ``fit`` gets no
            ``validation_data``.
        recorder: the run's :class:`~crossdomain_kit.training.results.EpochRecorder`.
        monitor: the validation metric both callbacks follow (``*loss``
            minimised, any other maximised).
        patience: ``EarlyStopping``'s patience (it restores its phase's best weights).
        lr_patience: ``ReduceLROnPlateau``'s patience.
        lr_factor: ``ReduceLROnPlateau``'s factor.
        verbose: ``fit``'s verbosity; the callbacks speak when it is truthy.
        callbacks: the caller's own callbacks, last.

    Returns:
        The list to pass as ``fit(callbacks=...)``.
    """
    mode = "min" if monitor.endswith("loss") else "max"
    chatty = 1 if verbose else 0
    return [ExactValidationAUC(val_ds, with_loss_and_accuracy=True), recorder,
            keras.callbacks.EarlyStopping(monitor=monitor, mode=mode, patience=patience,
                                          restore_best_weights=True, verbose=chatty),
            keras.callbacks.ReduceLROnPlateau(monitor=monitor, mode=mode, patience=lr_patience,
                                              factor=lr_factor, verbose=chatty),
            *callbacks]


# --- fine_tune's own checks ----------------------------------------------------------------------

def _check_freeze_setting(unfreeze) -> dict:
    kwargs = {"policy": unfreeze} if isinstance(unfreeze, str) else unfreeze
    if (not isinstance(kwargs, dict) or set(kwargs) - set(_FREEZE_KEYS)
            or kwargs.get("policy") not in POLICIES or kwargs["policy"] == "none"):
        raise _checks.fail("`unfreeze` must be a freezing policy other than 'none' "
                           f"({', '.join(p for p in POLICIES if p != 'none')}), a dict of "
                           f"freeze() arguments with keys among {_FREEZE_KEYS}, e.g. "
                           "{'policy': 'last_k', 'k': 4}, or a GradualUnfreezing schedule.",
                           "unfreeze", unfreeze)
    return dict(kwargs)


def _check_freeze_settings(model, settings) -> None:
    """Try each freeze() setting now (it checks k and from_layer against the model), then undo them."""
    layers = [model, *model.layers, *base_of(model).layers]  # outer first: trainable propagates down
    flags = [layer.trainable for layer in layers]
    try:
        for kwargs in settings:
            freeze(model, **kwargs, recompile=False)
    finally:
        for layer, flag in zip(layers, flags):
            layer.trainable = flag


def _check_class_weight(class_weight, train_ds):
    if class_weight is None:
        return None
    if isinstance(class_weight, str) and class_weight == "balanced":
        counts = label_counts(train_ds, "train_ds")
        if np.any(counts == 0):
            raise _checks.fail("class_weight='balanced' needs both classes in `train_ds`.",
                               "train_ds", f"dataset with class counts {counts.tolist()}")
        return balanced_class_weights(np.repeat([0, 1], counts))
    if (isinstance(class_weight, dict) and set(class_weight) == {0, 1}
            and all(isinstance(w, numbers.Real) and not isinstance(w, bool) and np.isfinite(w) and w > 0
                    for w in class_weight.values())):
        return {int(c): float(w) for c, w in class_weight.items()}
    raise _checks.fail("`class_weight` must be None, 'balanced' or {0: w0, 1: w1} with weights > 0.",
                       "class_weight", class_weight)


# --- Two-phase fine-tuning -------------------------------------------------------------------------

def fine_tune(model, train_ds, val_ds, *, head_epochs: int, finetune_epochs: int,
              head_learning_rate: float = 1e-3, finetune_learning_rate: float = 1e-4,
              unfreeze="all", base_learning_rate: float | None = None, optimizer="adam",
              class_weight=None, patience: int = 3, lr_patience: int = 2, lr_factor: float = 0.5,
              monitor: str = "val_auc", seed: int | None = 0, jit_compile="auto", callbacks=(),
              verbose="auto") -> TrainingResult:
    """Fine-tune a kit classifier in two phases: the head first, then (part of) the backbone.

    Phase ``"head"``: the backbone is frozen (``freeze(model, "head")``) and the
    new head trains at ``head_learning_rate``, so its random start does not
    send large gradients into the pretrained backbone. Phase ``"finetune"``:
    the ``unfreeze`` policy makes more of the backbone trainable and training
    continues at the lower ``finetune_learning_rate`` (and, with
    ``base_learning_rate``, a different rate for the backbone). Each phase is
    one ``fit`` with ``EarlyStopping(restore_best_weights=True)`` and
    ``ReduceLROnPlateau`` on ``monitor``; the model is recompiled between
    phases, as changing ``trainable`` requires. At the end the model holds the
    weights of the best epoch of both phases. BatchNormalization layers stay
    in inference mode unless ``unfreeze`` says ``train_batchnorm=True``.

    Args:
        model: a classifier from :func:`crossdomain_kit.models.classifier.build_classifier`.
            Build it inside ``strategy.scope()`` to train under a
            ``tf.distribute`` strategy.
        train_ds: batched ``(images, labels)`` dataset, e.g. from
            :func:`crossdomain_kit.data.pipeline.make_pipeline` with ``training=True``.
        val_ds: batched validation dataset with both classes (checked with
            one pass over its labels before training).
        head_epochs: most epochs of the head phase (>= 1).
        finetune_epochs: most epochs of the fine-tuning phase (>= 1).
        head_learning_rate: learning rate of the head phase (> 0).
        finetune_learning_rate: the head's learning rate while fine-tuning (> 0),
            usually 10x lower.
        unfreeze: what trains in phase 2: a policy name (``"all"``,
            ``"last_k"``, ``"from_layer"``, ``"head"``), a dict of
            :func:`crossdomain_kit.models.freezing.freeze` arguments, e.g.
            ``{"policy": "from_layer", "from_layer": "block3"}``, or a
            :class:`crossdomain_kit.models.freezing.GradualUnfreezing` schedule,
            its epochs counted from the start of phase 2: each stage is then
            its own ``fit`` (phases ``"finetune 1"``, ``"finetune 2"``, ...),
            recompiled at ``finetune_learning_rate``, with its own early
            stopping.
        base_learning_rate: the backbone's own learning rate in phase 2
            (discriminative learning rates, > 0, usually below the head's);
            None for one rate everywhere.
        optimizer: Keras optimizer name or template instance.
        class_weight: None, ``"balanced"`` (n / (2 n_c) from the training
            labels) or ``{0: w0, 1: w1}``.
        patience: EarlyStopping's patience, in epochs, per phase.
        lr_patience: ReduceLROnPlateau's patience.
        lr_factor: ReduceLROnPlateau's factor, in (0, 1).
        monitor: ``"val_auc"`` (maximised), ``"val_accuracy"`` or ``"val_loss"``.
        seed: seeds the global random generators with :func:`set_global_seed`
            (Keras's global state; op determinism on CPU-only machines unless
            ``jit_compile=True``, since Keras runs XLA only without it): the same
            seed, model and freshly built datasets give the same metrics. None
            leaves the global state alone.
        jit_compile: ``"auto"`` (XLA on a GPU), True or False.
        callbacks: more Keras callbacks, passed to both ``fit`` calls.
        verbose: ``fit``'s verbosity (``"auto"``, 0, 1 or 2).

    Returns:
        :class:`TrainingResult` with ``phases`` ``"head"`` and ``"finetune"``
        (or the schedule's ``"finetune 1"``, ``"finetune 2"``, ...).
        If Ctrl-C interrupts training, the best weights so far are restored and
        the result (``interrupted=True``) holds the finished epochs.

    Raises:
        ValueError: before anything trains, for a model that is not a kit
            classifier, a dataset that is not a finite batched tf.data.Dataset,
            validation data with one class only, epochs < 1, a learning rate
            <= 0, or a bad ``unfreeze``, ``class_weight``, patience, factor,
            monitor, seed or callback (naming the argument and the value).

    Introduced in ``notebooks/04_freezing_hyperparameters_lab.ipynb``.
    """
    base_of(model)
    check_dataset(train_ds, "train_ds")
    head_epochs = _checks.positive_int(head_epochs, "head_epochs")
    finetune_epochs = _checks.positive_int(finetune_epochs, "finetune_epochs")
    head_learning_rate = _checks.positive(head_learning_rate, "head_learning_rate")
    finetune_learning_rate = _checks.positive(finetune_learning_rate, "finetune_learning_rate")
    if base_learning_rate is not None:
        base_learning_rate = _checks.positive(base_learning_rate, "base_learning_rate")
    if isinstance(unfreeze, GradualUnfreezing):
        finetune = [(f"finetune {i}", stage.freeze_kwargs, stage.stop - stage.start)
                    for i, stage in enumerate(unfreeze.stages(finetune_epochs), start=1)]
    else:
        finetune = [("finetune", _check_freeze_setting(unfreeze), finetune_epochs)]
    patience, lr_patience, lr_factor, monitor, seed, callbacks = check_fit_controls(
        val_ds, patience=patience, lr_patience=lr_patience, lr_factor=lr_factor, monitor=monitor,
        seed=seed, callbacks=callbacks)
    class_weight = _check_class_weight(class_weight, train_ds)
    _check_freeze_settings(model, [freeze_kwargs for _, freeze_kwargs, _ in finetune])

    if seed is not None:  # op determinism switches XLA off in Keras: not when XLA is asked for
        set_global_seed(seed, deterministic=False if jit_compile is True else None)
    recorder = EpochRecorder(model, monitor)
    phases = [("head", {"policy": "head"}, head_learning_rate, None, head_epochs)]
    phases += [(name, freeze_kwargs, finetune_learning_rate, base_learning_rate, epochs)
               for name, freeze_kwargs, epochs in finetune]
    interrupted = False
    for phase, freeze_kwargs, learning_rate, base_rate, epochs in phases:
        with model.distribute_strategy.scope():
            freeze(model, **freeze_kwargs, recompile=False)
            compile_classifier(model, learning_rate, optimizer=optimizer,
                               base_learning_rate=base_rate, jit_compile=jit_compile)
        recorder.phase = phase
        done = len(recorder.phases)
        interrupted = fit_until_interrupted(
            model, train_ds, initial_epoch=done, epochs=done + epochs,
            class_weight=class_weight, verbose=verbose,
            callbacks=fit_callbacks(val_ds, recorder, monitor, patience, lr_patience, lr_factor, verbose, callbacks))
        if interrupted:
            break
    return recorder.finish(interrupted)
