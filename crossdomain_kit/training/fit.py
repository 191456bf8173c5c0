"""Training a kit classifier: two-phase fine-tuning, a GradientTape loop, an LR finder, joint training.

* :func:`fine_tune` trains the head on a frozen backbone, then unfreezes
  (part of) the backbone and continues with a lower learning rate, both
  phases through ``fit`` with ``EarlyStopping(restore_best_weights=True)``,
  ``ReduceLROnPlateau``, class weights and, optionally, a slower learning
  rate for the backbone than for the head.
* :func:`make_train_step`, :func:`train_epoch`, :func:`evaluate` and
  :func:`train_with_tape` spell out what ``fit`` does, with an explicit
  ``tf.GradientTape``; on the same seed and data they give ``fit``'s result.
* :func:`find_learning_rate` sweeps the learning rate exponentially over a
  few hundred batches and suggests one; the model is restored afterwards.
* :func:`mix_domains`, :func:`joint_datasets` and :func:`train_joint` train on
  several domains at once with the risk of lesson 01,
  ``Σ_k λ_k R_k`` (``α R_S + (1 − α) R_T`` for a source and a target).

Every trainer returns a :class:`TrainingResult` holding the per-epoch history.
Ctrl-C (``KeyboardInterrupt``) during training is not an error: the weights of
the best epoch so far are restored, a message says so, and the history of the
finished epochs is returned.

Reproducibility. Keras draws from global random generators, so the trainers'
``seed`` argument seeds them (:func:`set_global_seed`) and, on a machine
without a GPU, turns on TensorFlow's op determinism: the same seed, model and
freshly built datasets then give the same metrics. On a GPU determinism stays
off unless you ask for it, because it also switches off XLA.

Accelerators. ``fit`` uses XLA on a GPU (``jit_compile="auto"``), and so does
:func:`make_train_step`; :func:`enable_mixed_precision` switches Keras to
``mixed_float16`` when a GPU is present (the kit's logit layer stays float32).
A model built inside ``strategy.scope()`` of a ``tf.distribute`` strategy
trains under that strategy with every function here.

Importing this module imports TensorFlow and Keras.

Introduced in ``notebooks/04_freezing_hyperparameters_lab.ipynb`` (fine-tuning,
the tape loop, the LR finder) and ``notebooks/03_transfer_shifted_domains.ipynb``
(joint and multi-source training).
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

import keras
import numpy as np
import tensorflow as tf
from tqdm.auto import tqdm

from .. import _checks
from ..models.freezing import POLICIES, GradualUnfreezing, freeze
from ..models.classifier import base_of, classifier_metrics as _model_metrics, compile_classifier
from ..data.pipeline import class_weights as balanced_class_weights

MONITORS = ("val_auc", "val_loss", "val_accuracy")
_FREEZE_KEYS = ("policy", "k", "from_layer", "train_batchnorm")


# --- Global settings: seed, determinism, mixed precision ------------------------------------------

def gpu_available() -> bool:
    """Whether TensorFlow sees a GPU."""
    return bool(tf.config.list_physical_devices("GPU"))


def set_global_seed(seed: int, *, deterministic: bool | None = None) -> None:
    """Seed Python's, NumPy's and TensorFlow's global random generators (Keras's way).

    This changes global state for the rest of the session, which is how Keras
    works: unseeded layers, initialisers and dataset shuffles draw from these
    generators. The trainers here call it when given a ``seed``.

    Args:
        seed: an integer >= 0.
        deterministic: also turn on ``tf.config.experimental.enable_op_determinism()``
            (cannot be turned off again in the session). None: on when there is
            no GPU, where it costs nothing; off on a GPU, where it would slow
            cuDNN and switch off XLA.

    Raises:
        ValueError: for a seed that is not an integer >= 0 or a non-boolean flag.

    Introduced in ``notebooks/04_freezing_hyperparameters_lab.ipynb``.
    """
    seed = _checks.seed(seed)
    if deterministic is None:
        deterministic = not gpu_available()
    elif not isinstance(deterministic, bool):
        raise _checks.fail("`deterministic` must be True, False or None.", "deterministic", deterministic)
    keras.utils.set_random_seed(seed)
    if deterministic:
        tf.config.experimental.enable_op_determinism()


def enable_mixed_precision(enabled="auto") -> str:
    """Set Keras's global dtype policy to ``mixed_float16`` (or back to ``float32``).

    Call it before building the model: layers take the policy in force when
    they are created. The kit's logit layer computes in float32 whatever the
    policy (the from-logits loss needs it), ``compile`` wraps the optimizer in
    a ``LossScaleOptimizer`` and :func:`train_with_tape` does the same.

    Args:
        enabled: True, False, or ``"auto"``: mixed precision only when a GPU is
            present (on a CPU float16 is slower, not faster).

    Returns:
        The policy now in force, ``"mixed_float16"`` or ``"float32"``.

    Raises:
        ValueError: if ``enabled`` is not True, False or ``"auto"``.

    Introduced in ``notebooks/04_freezing_hyperparameters_lab.ipynb``.
    """
    if enabled == "auto":
        enabled = gpu_available()
    elif not isinstance(enabled, bool):
        raise _checks.fail("`enabled` must be True, False or 'auto'.", "enabled", enabled)
    policy = "mixed_float16" if enabled else "float32"
    keras.config.set_dtype_policy(policy)
    return policy


# --- Results, and the record that keeps the best weights --------------------------------------------

@dataclass
class TrainingResult:
    """What a training run did, epoch by epoch.

    Attributes:
        history: ``{name: [value per epoch]}``: ``loss``, ``auc``,
            ``accuracy``, their ``val_`` twins and the ``learning_rate`` used
            in the epoch (the head's, with discriminative learning rates).
        phases: the phase of each epoch, e.g. ``"head"`` then ``"finetune"``.
        monitor: the validation metric that chose the best epoch.
        best_epoch: index (0-based, into the history lists) of the best epoch,
            or None if no epoch finished.
        best_value: the monitored value at ``best_epoch``.
        interrupted: training was stopped by Ctrl-C (``KeyboardInterrupt``).
    """

    history: dict[str, list[float]]
    phases: list[str]
    monitor: str
    best_epoch: int | None
    best_value: float | None
    interrupted: bool = False

    @property
    def epochs(self) -> int:
        """Number of finished epochs."""
        return len(self.phases)

    def phase_epochs(self, phase: str) -> list[int]:
        """Indices of the epochs of one phase."""
        return [i for i, name in enumerate(self.phases) if name == phase]


FineTuneResult = TrainingResult  # the name fine_tune's callers know it by


class _Recorder(keras.callbacks.Callback):
    """Keeps each finished epoch's logs and phase, and the weights of the best epoch.

    One recorder follows a whole run, across the ``fit`` calls of several
    phases (EarlyStopping only sees its own phase), and the tape loop drives it
    by hand. It also remembers the weights from before training, the fallback
    when Ctrl-C comes before any epoch has finished.
    """

    def __init__(self, model, monitor: str, optimizer=None):
        super().__init__()
        self.set_model(model)
        self.monitor = monitor
        self.maximize = not monitor.endswith("loss")
        self._optimizer = optimizer  # the tape loop's; fit's is model.optimizer, which phases replace
        self.history: dict[str, list[float]] = {}
        self.phases: list[str] = []
        self.phase = "train"
        self.best_epoch = self.best_value = None
        self.best_weights = model.get_weights()
        self.epoch = self.batch = None
        self._learning_rate = None

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch, self.batch = epoch, None
        optimizer = self._optimizer if self._optimizer is not None else self.model.optimizer
        self._learning_rate = float(keras.ops.convert_to_numpy(optimizer.learning_rate))

    def on_train_batch_begin(self, batch, logs=None):
        self.batch = batch

    def on_epoch_end(self, epoch, logs=None):
        logs = {name: float(value) for name, value in (logs or {}).items()}
        logs["learning_rate"] = self._learning_rate
        for name, value in logs.items():
            self.history.setdefault(name, [math.nan] * len(self.phases)).append(value)
        self.phases.append(self.phase)
        value = logs.get(self.monitor, math.nan)
        if math.isfinite(value) and (self.best_value is None or self._better(value)):
            self.best_epoch, self.best_value = len(self.phases) - 1, value
            self.best_weights = self.model.get_weights()

    def _better(self, value: float) -> bool:
        return value > self.best_value if self.maximize else value < self.best_value

    def restore_best(self) -> None:
        self.model.set_weights(self.best_weights)

    def report_interrupt(self) -> None:
        where = f"epoch {self.epoch + 1}" if self.epoch is not None else "before the first epoch"
        if self.batch is not None:
            where += f", batch {self.batch + 1}"
        if self.best_epoch is None:
            kept = "restored the weights from before training"
        else:
            kept = (f"restored the weights of epoch {self.best_epoch + 1}, the best so far "
                    f"({self.monitor}={self.best_value:.4f})")
        print(f"\nTraining interrupted (Ctrl-C) in {where} of phase {self.phase!r}: {kept}; "
              f"the history keeps the {len(self.phases)} finished epoch(s).")

    def result(self, interrupted: bool) -> TrainingResult:
        return TrainingResult({k: list(v) for k, v in self.history.items()}, list(self.phases),
                              self.monitor, self.best_epoch, self.best_value, interrupted)


def _fit_until_interrupted(model, train_ds, **fit_kwargs) -> bool:
    """``model.fit``; True if Ctrl-C stopped it (the caller restores weights)."""
    try:
        # shuffle=False: a tf.data pipeline shuffles itself (Keras warns otherwise)
        model.fit(train_ds, shuffle=False, **fit_kwargs)
    except KeyboardInterrupt:
        return True
    return False


# --- Checking arguments and datasets ---------------------------------------------------------------

def _check_dataset(dataset, name: str, *, weights_allowed: bool = True):
    if not isinstance(dataset, tf.data.Dataset):
        raise _checks.fail(f"`{name}` must be a batched tf.data.Dataset of (images, labels), e.g. "
                           "from crossdomain_kit.data.pipeline.make_pipeline.", name, dataset)
    spec = dataset.element_spec
    sizes = (2, 3) if weights_allowed else (2,)
    if not isinstance(spec, tuple) or len(spec) not in sizes:
        wanted = "(images, labels)" + (" or (images, labels, sample_weights)" if weights_allowed else "")
        raise _checks.fail(f"`{name}` must yield tuples {wanted}.", name, spec)
    if dataset.cardinality() == tf.data.INFINITE_CARDINALITY:
        raise _checks.fail(f"`{name}` must be finite (one pass is one epoch); drop the .repeat().",
                           name, dataset)
    return dataset


def _label_counts(dataset, name: str) -> np.ndarray:
    """``[n_negative, n_positive]`` from one pass over the dataset's labels."""
    labels = [np.ravel(element[1]) for element in dataset.as_numpy_iterator()]
    if not labels:
        raise _checks.fail(f"`{name}` is empty.", name, dataset)
    y = _checks.binary_labels(np.concatenate(labels), f"{name} labels")
    return np.bincount(y.astype(np.int64), minlength=2)


def _check_validation(dataset, name: str = "val_ds") -> None:
    """Both classes must be present, or AUC, the monitored metric, is undefined."""
    counts = _label_counts(_check_dataset(dataset, name), name)
    if np.any(counts == 0):
        only = int(np.argmax(counts))
        raise _checks.fail(f"`{name}` must contain both classes: with every label {only}, AUC (the "
                           "metric that picks the best epoch by default) is undefined. Use a "
                           "stratified split.",
                           name, f"dataset of {counts.sum()} examples, all labelled {only}")


def _check_monitor(monitor) -> str:
    if monitor not in MONITORS:
        raise _checks.fail(f"`monitor` must be one of {MONITORS}.", "monitor", monitor)
    return monitor


def _check_callbacks(callbacks) -> list:
    callbacks = list(callbacks) if isinstance(callbacks, (list, tuple)) else None
    if callbacks is None or not all(isinstance(c, keras.callbacks.Callback) for c in callbacks):
        raise _checks.fail("`callbacks` must be a list or tuple of keras.callbacks.Callback.",
                           "callbacks", callbacks)
    return callbacks


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
        counts = _label_counts(train_ds, "train_ds")
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


def _check_fraction_open(value, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 < value < 1:
        raise _checks.fail(f"`{name}` must be a number strictly between 0 and 1.", name, value)
    return float(value)


def _fit_callbacks(monitor, patience, lr_patience, lr_factor, verbose) -> list:
    mode = "min" if monitor.endswith("loss") else "max"
    chatty = 1 if verbose else 0
    return [keras.callbacks.EarlyStopping(monitor=monitor, mode=mode, patience=patience,
                                          restore_best_weights=True, verbose=chatty),
            keras.callbacks.ReduceLROnPlateau(monitor=monitor, mode=mode, patience=lr_patience,
                                              factor=lr_factor, verbose=chatty)]


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
            (Keras's global state; op determinism on CPU-only machines): the same
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
    _check_dataset(train_ds, "train_ds")
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
    patience = _checks.positive_int(patience, "patience")
    lr_patience = _checks.positive_int(lr_patience, "lr_patience")
    lr_factor = _check_fraction_open(lr_factor, "lr_factor")
    monitor = _check_monitor(monitor)
    seed = _checks.seed(seed, allow_none=True)
    callbacks = _check_callbacks(callbacks)
    _check_validation(val_ds)
    class_weight = _check_class_weight(class_weight, train_ds)
    _check_freeze_settings(model, [freeze_kwargs for _, freeze_kwargs, _ in finetune])

    if seed is not None:
        set_global_seed(seed)
    recorder = _Recorder(model, monitor)
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
        interrupted = _fit_until_interrupted(
            model, train_ds, validation_data=val_ds, initial_epoch=done, epochs=done + epochs,
            class_weight=class_weight, verbose=verbose,
            callbacks=[recorder, *_fit_callbacks(monitor, patience, lr_patience, lr_factor, verbose),
                       *callbacks])
        if interrupted:
            break
    recorder.restore_best()
    if interrupted:
        recorder.report_interrupt()
    return recorder.result(interrupted)


# --- An explicit GradientTape loop: what fit does ------------------------------------------------

def classifier_metrics() -> dict:
    """Fresh metrics for :func:`make_train_step`: the mean loss plus those of ``compile_classifier``.

    Returns:
        ``{"loss": Mean, "auc": AUC(from_logits=True), "accuracy": BinaryAccuracy(threshold=0)}``.

    Introduced in ``notebooks/04_freezing_hyperparameters_lab.ipynb``.
    """
    return {"loss": keras.metrics.Mean(name="loss"),
            **{metric.name: metric for metric in _model_metrics()}}


def _regularization_loss(model):
    """Sum of the layers' penalties (e.g. L2 on the logit), divided as the data loss is across replicas."""
    if not model.losses:
        return 0.0
    return tf.nn.scale_regularization_loss(tf.add_n(model.losses))


def _update_metrics(metrics: dict, loss, y, logits) -> None:
    for name, metric in metrics.items():
        if name == "loss":
            # Keras losses come back divided by the replica count (see make_train_step); undo
            # that, and weight each batch by its size, as fit does.
            replicas = tf.distribute.get_strategy().num_replicas_in_sync
            metric.update_state(loss * replicas, sample_weight=tf.shape(y)[0])
        else:
            # Like compile(metrics=...), unweighted: sample weights shape the loss only.
            metric.update_state(y, logits)


def _xla_on(model) -> bool:
    """XLA as ``fit(jit_compile="auto")`` decides: a GPU, one replica, no op determinism."""
    from tensorflow.python.framework.config import is_op_determinism_enabled

    return (gpu_available() and model.distribute_strategy.num_replicas_in_sync == 1
            and not is_op_determinism_enabled())


def _compiled(replica_step, model, jit_compile):
    """``tf.function`` of a per-batch step, run on every replica under a distribution strategy."""
    if jit_compile not in ("auto", True, False):
        raise _checks.fail("`jit_compile` must be 'auto', True or False.", "jit_compile", jit_compile)
    strategy = model.distribute_strategy
    if strategy.num_replicas_in_sync == 1:
        jit = _xla_on(model) if jit_compile == "auto" else jit_compile
        return tf.function(replica_step, jit_compile=jit)

    def step(batch):
        losses = strategy.run(replica_step, args=(batch,))
        # Each replica's loss is its batch mean / replicas: their sum is the global mean.
        return strategy.reduce(tf.distribute.ReduceOp.SUM, losses, axis=None)

    return tf.function(step)


def make_train_step(model, optimizer, loss_fn, metrics: dict | None = None, *, jit_compile="auto"):
    """One optimisation step on a batch, with ``tf.GradientTape``: what ``fit`` runs per batch.

    The step computes the logits in training mode (dropout on; trainable
    BatchNormalization layers use the batch's statistics), the mean loss over
    the batch (weighted if the batch carries sample weights) plus the
    layers' regularisation penalties, its gradient with respect to the
    trainable weights, and one optimizer update; then it updates the metrics.

    Under a ``tf.distribute`` strategy each replica runs the step on its part
    of the global batch. A Keras loss then divides its batch mean by the
    number of replicas and the optimizer sums the replicas' gradients, so the
    update follows the global batch's mean loss.

    Args:
        model: a Keras model (built under the strategy's scope, if any).
        optimizer: a Keras optimizer, built on ``model.trainable_variables``.
            With mixed precision pass a ``LossScaleOptimizer``: the step scales
            the loss with ``optimizer.scale_loss`` and the optimizer unscales
            the gradients.
        loss_fn: a Keras loss, e.g. ``BinaryCrossentropy(from_logits=True)``.
        metrics: ``{name: metric}`` as from :func:`classifier_metrics`; the
            entry ``"loss"`` (a ``Mean``) receives the batch loss, the others
            ``(labels, logits)``: as with ``compile(metrics=...)``, sample
            weights shape the loss, not the metrics. None for none.
        jit_compile: ``"auto"`` (XLA on a GPU, as ``fit`` decides), True or False.

    Returns:
        A compiled function ``step(batch) -> loss`` where ``batch`` is
        ``(images, labels)`` or ``(images, labels, sample_weights)``.

    Introduced in ``notebooks/04_freezing_hyperparameters_lab.ipynb``.
    """
    def supervised(batch):
        x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(batch)
        logits = model(x, training=True)
        return loss_fn(y, logits, sample_weight=sample_weight), y, logits

    return make_objective_step(model, optimizer, supervised, metrics, jit_compile=jit_compile)


def make_objective_step(model, optimizer, objective, metrics: dict | None = None, *, jit_compile="auto"):
    """One optimisation step of any objective: the extension point of :func:`make_train_step`.

    ``objective(batch)`` runs under the tape and returns ``(loss, labels,
    logits)``: the loss to minimise (the layers' regularisation penalties are
    added to it), and the labels and logits the metrics are updated with.
    :func:`make_train_step` is this step with the supervised objective
    ``loss_fn(y, model(x, training=True))``; domain adaptation
    (:mod:`crossdomain_kit.methods.adaptation`) adds an alignment term computed on a
    source and a target batch.

    Args:
        model: the Keras model whose trainable weights the step updates (for
            an objective that uses several models sharing layers, the one that
            holds all their weights).
        optimizer: a Keras optimizer built on ``model.trainable_variables``
            (a ``LossScaleOptimizer`` under mixed precision).
        objective: function of one batch returning ``(loss, labels, logits)``.
        metrics: as in :func:`make_train_step`.
        jit_compile: ``"auto"``, True or False.

    Returns:
        A compiled function ``step(batch) -> loss``.

    Introduced in ``notebooks/07_beyond_fine_tuning.ipynb``.
    """
    metrics = metrics or {}

    def replica_step(batch):
        with tf.GradientTape() as tape:
            loss, y, logits = objective(batch)
            loss = loss + _regularization_loss(model)
            scaled_loss = optimizer.scale_loss(loss)  # mixed precision: scaled up against underflow
        gradients = tape.gradient(scaled_loss, model.trainable_variables)
        optimizer.apply(gradients, model.trainable_variables)
        _update_metrics(metrics, loss, y, logits)
        return loss

    return _compiled(replica_step, model, jit_compile)


def make_test_step(model, loss_fn, metrics: dict | None = None, *, jit_compile="auto"):
    """One evaluation step on a batch: logits in inference mode, loss, metrics; no update.

    Args and Returns as :func:`make_train_step`, without the optimizer.

    Introduced in ``notebooks/04_freezing_hyperparameters_lab.ipynb``.
    """
    metrics = metrics or {}

    def replica_step(batch):
        x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(batch)
        logits = model(x, training=False)
        loss = loss_fn(y, logits, sample_weight=sample_weight) + _regularization_loss(model)
        _update_metrics(metrics, loss, y, logits)
        return loss

    return _compiled(replica_step, model, jit_compile)


def _results(metrics: dict) -> dict[str, float]:
    return {name: float(metric.result()) for name, metric in metrics.items()}


def _run_steps(dataset, step, metrics: dict) -> dict[str, float]:
    """Reset ``metrics``, run ``step`` on every batch, return the metrics' values."""
    for metric in metrics.values():
        metric.reset_state()
    for batch in dataset:
        step(batch)
    return _results(metrics)


def train_epoch(dataset, train_step, metrics: dict) -> dict[str, float]:
    """One pass over ``dataset`` with ``train_step``; the epoch's metrics.

    The metrics are reset first, so each epoch reports its own means, as
    ``fit`` does.

    Args:
        dataset: batches for ``train_step`` (a distributed dataset under a strategy).
        train_step: from :func:`make_train_step`, built with ``metrics``.
        metrics: the step's metrics.

    Returns:
        ``{name: value}`` over the epoch.

    Introduced in ``notebooks/04_freezing_hyperparameters_lab.ipynb``.
    """
    return _run_steps(dataset, train_step, metrics)


def evaluate(dataset, test_step, metrics: dict) -> dict[str, float]:
    """Metrics of the model over ``dataset`` (inference mode), as ``model.evaluate`` computes them.

    Args:
        dataset: batches for ``test_step``.
        test_step: from :func:`make_test_step`, built with ``metrics``.
        metrics: the step's metrics (reset first).

    Returns:
        ``{name: value}`` over the dataset.

    Introduced in ``notebooks/04_freezing_hyperparameters_lab.ipynb``.
    """
    return _run_steps(dataset, test_step, metrics)


def _distributed(dataset, model):
    strategy = model.distribute_strategy
    if strategy.num_replicas_in_sync == 1:
        return dataset
    return strategy.experimental_distribute_dataset(dataset)


def _optimizer_for(model, optimizer):
    """The optimizer as ``compile`` would use it; call inside the model's strategy scope.

    An optimizer created outside that scope (it records the strategy of its
    creation) is re-created from its config inside it, and it is wrapped in a
    LossScaleOptimizer under mixed_float16.
    """
    strategy = model.distribute_strategy
    if getattr(optimizer, "_distribution_strategy", strategy) is not strategy:
        if optimizer.built:
            raise _checks.fail("`optimizer` was built under another tf.distribute strategy than the "
                               "model's; create it inside strategy.scope().", "optimizer", optimizer)
        optimizer = type(optimizer).from_config(optimizer.get_config())
    mixed = model.dtype_policy.name == "mixed_float16"
    if mixed and not isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
        return keras.optimizers.LossScaleOptimizer(optimizer)
    return optimizer


def train_with_tape(model, train_ds, val_ds, epochs: int, optimizer, *, monitor: str = "val_auc",
                    patience: int | None = None, restore_best: bool = False, seed: int | None = 0,
                    verbose: bool = True) -> TrainingResult:
    """Train with an explicit ``tf.GradientTape`` loop; same result as ``compile`` + ``fit``.

    Equivalent to compiling ``model`` with ``optimizer``, the from-logits
    binary cross-entropy and the metrics of
    :func:`crossdomain_kit.models.classifier.compile_classifier`, then
    ``model.fit(train_ds, validation_data=val_ds, epochs=epochs)``: the same
    initial weights, batches and optimizer give the same weights and metrics
    (up to float rounding). As with a plain ``fit``, the model ends with the
    last epoch's weights; after Ctrl-C, with the best epoch's. (For a
    dataset that reshuffles on every iteration, "the same batches" holds for
    the first epoch only: ``fit`` prepares each next epoch's iterator ahead
    and then makes another, so its later epochs see later shuffles.)

    Args:
        model: a Keras model with one logit output (built under the strategy's
            scope to train under a ``tf.distribute`` strategy).
        train_ds: batched ``(images, labels[, sample_weights])`` dataset.
        val_ds: batched validation dataset with both classes.
        epochs: number of epochs (>= 1).
        optimizer: a Keras optimizer instance; wrapped in a
            ``LossScaleOptimizer`` under a ``mixed_float16`` policy, and
            re-created from its config inside the model's distribution
            strategy scope if it was made outside it (and not yet used).
        monitor: metric that picks the best epoch (kept after Ctrl-C).
        patience: stop after this many epochs without a better ``monitor``
            (early stopping, as :func:`run_epochs`); None trains every epoch.
        restore_best: end with the best epoch's weights; together with
            ``patience`` this is ``fit`` with
            ``EarlyStopping(patience=..., restore_best_weights=True)``.
        seed: seeds the global random generators (:func:`set_global_seed`);
            None leaves them alone.
        verbose: show a progress bar over the epochs.

    Returns:
        :class:`TrainingResult` (phase ``"tape"``).

    Raises:
        ValueError: for a bad dataset, validation data with one class only,
            epochs < 1, an optimizer that is not a Keras optimizer, or a bad
            monitor, patience or seed.

    Introduced in ``notebooks/04_freezing_hyperparameters_lab.ipynb``.
    """
    epochs, monitor, patience, seed = _check_tape_run(train_ds, val_ds, epochs, optimizer, monitor, patience,
                                                      seed)
    optimizer, metrics = _start_tape_run(model, optimizer, seed)
    loss_fn = keras.losses.BinaryCrossentropy(from_logits=True)
    train_step = make_train_step(model, optimizer, loss_fn, metrics)
    test_step = make_test_step(model, loss_fn, metrics)
    train_data, val_data = _distributed(train_ds, model), _distributed(val_ds, model)

    return run_epochs(model, train_data, val_data, epochs, train_step, test_step, metrics,
                      optimizer=optimizer, phase="tape", monitor=monitor, patience=patience,
                      restore_best=restore_best, verbose=verbose)


def _check_patience(patience) -> int | None:
    return None if patience is None else _checks.positive_int(patience, "patience")


def _check_tape_run(train_ds, val_ds, epochs, optimizer, monitor, patience, seed):
    """The argument checks of a tape-loop run; ``(epochs, monitor, patience, seed)`` checked."""
    _check_dataset(train_ds, "train_ds")
    epochs = _checks.positive_int(epochs, "epochs")
    if not isinstance(optimizer, keras.optimizers.Optimizer):
        raise _checks.fail("`optimizer` must be a Keras optimizer instance, e.g. "
                           "keras.optimizers.Adam(1e-3).", "optimizer", optimizer)
    monitor = _check_monitor(monitor)
    patience = _check_patience(patience)
    seed = _checks.seed(seed, allow_none=True)
    _check_validation(val_ds)
    return epochs, monitor, patience, seed


def _start_tape_run(model, optimizer, seed):
    """Seed, then the optimizer (built) and metrics of a tape-loop run, in the model's strategy scope."""
    if seed is not None:
        set_global_seed(seed)
    with model.distribute_strategy.scope():
        optimizer = _optimizer_for(model, optimizer)
        if not optimizer.built:  # a LossScaleOptimizer would rebuild, resetting its loss scale
            optimizer.build(model.trainable_variables)
        metrics = classifier_metrics()
    return optimizer, metrics


def run_epochs(model, train_data, val_data, epochs: int, train_step, test_step, metrics: dict, *,
               optimizer, phase: str = "tape", monitor: str = "val_auc", patience: int | None = None,
               restore_best: bool = False, verbose: bool = True) -> TrainingResult:
    """The epoch loop of :func:`train_with_tape`, for any train and test step.

    Each epoch runs :func:`train_epoch` then :func:`evaluate` (its metrics
    prefixed ``val_``), records them, and keeps the weights of the best epoch
    by ``monitor``; Ctrl-C restores those weights and ends the loop. The
    extension point for trainers with their own step
    (:func:`make_objective_step`), e.g. :func:`crossdomain_kit.methods.adaptation.train_adapted`.

    Args:
        model: the model whose weights are recorded and restored (the
            classifier, when the step trains a larger model around it).
        train_data, val_data: batches for ``train_step`` and ``test_step``.
        epochs: number of epochs (>= 1).
        train_step, test_step: from :func:`make_train_step` or
            :func:`make_objective_step`, and :func:`make_test_step`, both
            built with ``metrics``.
        metrics: the steps' metrics.
        optimizer: the optimizer of ``train_step`` (its learning rate is recorded).
        phase: the name of these epochs in the result.
        monitor: the validation metric that picks the best epoch.
        patience: early stopping: end the loop after this many epochs in a
            row without a better ``monitor`` (``EarlyStopping``'s patience);
            None runs every epoch.
        restore_best: end with the best epoch's weights (as ``fit`` with
            ``EarlyStopping(restore_best_weights=True)``); False: the last
            epoch's, as a plain ``fit``.
        verbose: show a progress bar over the epochs.

    Returns:
        :class:`TrainingResult`.

    Raises:
        ValueError: for epochs < 1, a bad monitor or a patience that is not
            None or an integer >= 1.

    Introduced in ``notebooks/07_beyond_fine_tuning.ipynb`` (``patience`` in
    ``notebooks/06_overfitting_controls.ipynb``).
    """
    epochs = _checks.positive_int(epochs, "epochs")
    monitor = _check_monitor(monitor)
    patience = _check_patience(patience)
    recorder = _Recorder(model, monitor, optimizer=optimizer)
    recorder.phase = phase
    interrupted = False
    bar = tqdm(range(epochs), desc="epochs", disable=not verbose)
    try:
        for epoch in bar:
            recorder.on_epoch_begin(epoch)
            logs = train_epoch(train_data, train_step, metrics)
            logs.update({f"val_{name}": value
                         for name, value in evaluate(val_data, test_step, metrics).items()})
            recorder.on_epoch_end(epoch, logs)
            bar.set_postfix({name: f"{value:.4f}" for name, value in logs.items()})
            last_better = -1 if recorder.best_epoch is None else recorder.best_epoch
            if patience is not None and epoch - last_better >= patience:
                break
    except KeyboardInterrupt:
        interrupted = True
        recorder.report_interrupt()
    finally:
        bar.close()
    if interrupted or restore_best:
        recorder.restore_best()
    return recorder.result(interrupted)


# --- Learning-rate finder -------------------------------------------------------------------------

def smooth_losses(losses, beta: float = 0.98) -> np.ndarray:
    """Exponential moving average of a loss sequence, bias-corrected.

    ``m_i = β m_{i−1} + (1 − β) ℓ_i`` from ``m_{−1} = 0``, reported as
    ``m_i / (1 − β^{i+1})`` so the first values are not pulled towards 0.

    Args:
        losses: the raw per-batch losses, 1-D (NaN and infinity allowed at the
            end of a diverging sweep: they propagate).
        beta: smoothing in [0, 1); 0 returns the losses unchanged.

    Returns:
        float64 array of the same length.

    Raises:
        ValueError: for an empty or non-1-D sequence or beta outside [0, 1).

    Introduced in ``notebooks/04_freezing_hyperparameters_lab.ipynb``.
    """
    losses = np.asarray(losses, dtype=np.float64)
    if losses.ndim != 1 or losses.size == 0:
        raise _checks.fail("`losses` must be a non-empty 1-D sequence.", "losses", losses)
    if isinstance(beta, bool) or not isinstance(beta, numbers.Real) or not 0 <= beta < 1:
        raise _checks.fail("`beta` must be a number in [0, 1).", "beta", beta)
    smoothed = np.empty_like(losses)
    average = 0.0
    for i, loss in enumerate(losses):
        average = beta * average + (1 - beta) * loss
        smoothed[i] = average / (1 - beta ** (i + 1))
    return smoothed


@dataclass(frozen=True)
class LearningRateSuggestion:
    """Where a learning-rate sweep's loss curve falls fastest and where it bottoms out.

    Attributes:
        suggestion: ``min_loss_lr / 10``, a safe rate just before the loss
            stops falling (the usual rule of thumb).
        min_loss_lr: learning rate at the lowest smoothed loss.
        steepest_lr: learning rate where the smoothed loss falls fastest per
            decade, between the first few points and the minimum; None with
            fewer than 3 points there.
    """

    suggestion: float
    min_loss_lr: float
    steepest_lr: float | None


def suggest_learning_rate(learning_rates, smoothed_losses, *, skip_start: int | None = None
                          ) -> LearningRateSuggestion:
    """Suggest a learning rate from a sweep's smoothed loss curve.

    Args:
        learning_rates: increasing learning rates, 1-D, > 0.
        smoothed_losses: smoothed loss at each rate (NaN/inf allowed after
            divergence: ignored).
        skip_start: first points left out of the search for the steepest
            descent: there the moving average still follows single noisy
            batches, at rates too small to change anything. None: a tenth of
            the points.

    Returns:
        :class:`LearningRateSuggestion`.

    Raises:
        ValueError: for mismatched lengths, rates that are not positive and
            increasing, no finite loss, or a negative ``skip_start``.

    Introduced in ``notebooks/04_freezing_hyperparameters_lab.ipynb``.
    """
    lrs = _checks.float_array(learning_rates, "learning_rates", ndim=1)
    losses = np.asarray(smoothed_losses, dtype=np.float64)
    _checks.same_shape(lrs, losses, "learning_rates", "smoothed_losses")
    if np.any(lrs <= 0) or np.any(np.diff(lrs) <= 0):
        raise _checks.fail("`learning_rates` must be positive and increasing.", "learning_rates", lrs)
    finite = np.isfinite(losses)
    if not finite.any():
        raise _checks.fail("`smoothed_losses` has no finite value.", "smoothed_losses", losses)
    if skip_start is None:
        skip_start = lrs.size // 10
    elif isinstance(skip_start, bool) or not isinstance(skip_start, numbers.Integral) or skip_start < 0:
        raise _checks.fail("`skip_start` must be an integer >= 0 or None.", "skip_start", skip_start)
    best = int(np.argmin(np.where(finite, losses, np.inf)))
    steepest = None
    if best - skip_start >= 2 and finite[skip_start:best + 1].all():
        part = slice(skip_start, best + 1)
        slopes = np.gradient(losses[part], np.log10(lrs[part]))
        steepest = float(lrs[skip_start + int(np.argmin(slopes))])
    return LearningRateSuggestion(float(lrs[best] / 10), float(lrs[best]), steepest)


@dataclass(frozen=True)
class LRFinderResult:
    """A learning-rate sweep (:func:`find_learning_rate`); plot it with ``plots.plot_lr_finder``.

    Attributes:
        learning_rates: the rate used at each step.
        losses: smoothed training loss after each step.
        raw_losses: the batch losses themselves.
        suggestion: the suggested learning rate (``min_loss_lr / 10``).
        min_loss_lr: rate at the lowest smoothed loss.
        steepest_lr: rate of the steepest descent (None if undefined).
        diverged: the sweep stopped because the loss blew up.
        interrupted: the sweep was stopped by Ctrl-C.
    """

    learning_rates: np.ndarray
    losses: np.ndarray
    raw_losses: np.ndarray
    suggestion: float
    min_loss_lr: float
    steepest_lr: float | None
    diverged: bool = False
    interrupted: bool = False


def find_learning_rate(model, train_ds, *, min_learning_rate: float = 1e-7, max_learning_rate: float = 1.0,
                       steps: int = 100, beta: float = 0.98, divergence: float = 4.0,
                       seed: int | None = 0, verbose: bool = True) -> LRFinderResult:
    """Learning-rate range test: raise the rate exponentially, batch by batch, and watch the loss.

    The compiled model trains for ``steps`` batches (the dataset repeats if
    needed) with the rate growing from ``min_learning_rate`` to
    ``max_learning_rate``; the sweep stops early once the smoothed loss
    exceeds ``divergence`` times its lowest value. Afterwards the model's
    weights (BatchNormalization statistics included), the optimizer's state
    and its learning rate are restored, even after an error or Ctrl-C: the
    sweep only measures. With discriminative learning rates the sweep moves
    the head's rate and the backbone's keeps its ratio to it.

    Args:
        model: a compiled model (e.g. ``freeze`` then ``compile_classifier``):
            the sweep uses its loss and optimizer and trains what is trainable.
        train_ds: batched training dataset.
        min_learning_rate: first rate (> 0).
        max_learning_rate: last rate (> ``min_learning_rate``).
        steps: number of batches, >= 5.
        beta: loss smoothing of :func:`smooth_losses`, in [0, 1).
        divergence: stop when the smoothed loss exceeds this multiple (> 1) of its minimum.
        seed: seeds the global random generators (:func:`set_global_seed`); None leaves them.
        verbose: show a progress bar.

    Returns:
        :class:`LRFinderResult`.

    Raises:
        ValueError: for an uncompiled model, a bad or empty dataset, a bad
            range (or a first loss that is already not finite), too few steps,
            or a bad ``beta``, ``divergence`` or seed.
        KeyboardInterrupt: Ctrl-C before two batches were measured (after
            that, Ctrl-C ends the sweep and returns what it measured).

    Introduced in ``notebooks/04_freezing_hyperparameters_lab.ipynb``.
    """
    if not isinstance(model, keras.Model) or not model.compiled or model.optimizer is None:
        raise _checks.fail("`model` must be compiled (e.g. with compile_classifier): the sweep uses "
                           "its loss and optimizer.", "model", model)
    _check_dataset(train_ds, "train_ds")
    low = _checks.positive(min_learning_rate, "min_learning_rate")
    high = _checks.positive(max_learning_rate, "max_learning_rate")
    if high <= low:
        raise _checks.fail("`max_learning_rate` must be greater than `min_learning_rate` "
                           f"({low:g}).", "max_learning_rate", max_learning_rate)
    steps = _checks.positive_int(steps, "steps")
    if steps < 5:
        raise _checks.fail("`steps` must be at least 5 to draw a loss curve.", "steps", steps)
    smooth_losses([1.0], beta)  # validates beta
    if isinstance(divergence, bool) or not isinstance(divergence, numbers.Real) or not divergence > 1:
        raise _checks.fail("`divergence` must be a number > 1.", "divergence", divergence)
    seed = _checks.seed(seed, allow_none=True)
    if seed is not None:
        set_global_seed(seed)

    optimizer = model.optimizer
    if not optimizer.built:
        with model.distribute_strategy.scope():
            optimizer.build(model.trainable_variables)
    weights = model.get_weights()
    optimizer_state = [variable.numpy() for variable in optimizer.variables]
    learning_rate = float(keras.ops.convert_to_numpy(optimizer.learning_rate))
    train_step = make_train_step(model, optimizer, model.loss)
    sweep = np.geomspace(low, high, steps)
    raw, diverged, interrupted = [], False, False
    bar = tqdm(total=steps, desc="learning-rate sweep", disable=not verbose)
    try:
        for rate, batch in zip(sweep, _distributed(train_ds.repeat(), model)):
            optimizer.learning_rate = rate
            raw.append(float(train_step(batch)))
            bar.update()
            smoothed = smooth_losses(raw, beta)
            if not np.isfinite(smoothed[-1]) or smoothed[-1] > divergence * np.nanmin(smoothed):
                diverged = True
                break
    except KeyboardInterrupt:
        interrupted = True
    finally:
        bar.close()
        model.set_weights(weights)
        for variable, value in zip(optimizer.variables, optimizer_state):
            variable.assign(value)
        optimizer.learning_rate = learning_rate
    if len(raw) < 2:
        if interrupted:
            raise KeyboardInterrupt  # too early to suggest anything; the model is restored
        if not raw:
            raise _checks.fail("`train_ds` yielded no batch.", "train_ds", train_ds)
        raise _checks.fail("The loss was not finite from the first batch on; lower "
                           "`min_learning_rate`.", "min_learning_rate", min_learning_rate)
    smoothed = smooth_losses(raw, beta)
    rates = sweep[:len(raw)]
    suggested = suggest_learning_rate(rates, smoothed)
    return LRFinderResult(rates, smoothed, np.asarray(raw), suggested.suggestion, suggested.min_loss_lr,
                          suggested.steepest_lr, diverged, interrupted)


# --- Joint and multi-source training ------------------------------------------------------------

def _domain_weights(weights, n_domains: int) -> np.ndarray | None:
    if weights is None:
        return None
    array = _checks.float_array(weights, "weights", ndim=1)
    if array.size != n_domains or np.any(array < 0) or not np.isclose(array.sum(), 1.0, atol=1e-6):
        raise _checks.fail(f"`weights` must be {n_domains} non-negative numbers (one per domain) "
                           "summing to 1.", "weights", weights)
    return array


def mix_domains(datasets, weights=None, *, batch_size: int = 32, seed: int | None = 0) -> tf.data.Dataset:
    """One training stream over several domains: mixed batches with per-example domain weights.

    Every example of every domain appears once per epoch; each batch draws
    from the domains at random in proportion to their sizes, so batches are
    mixed. (The sizes are counted with one pass over each domain's labels.)
    Example i of domain k (of N_k; N in all) carries the sample weight
    ``w_k = λ_k · N / N_k``. Keras averages a batch's weighted losses over the
    batch size (``"sum_over_batch_size"``, not the sum of the weights) and
    averages batches by their size, so the epoch's loss is
    ``(1/N) Σ_i w_i ℓ_i = Σ_k λ_k R_k`` exactly, and each batch's gradient is an
    unbiased estimate of its gradient. With two domains and λ = (α, 1 − α) this
    is lesson 01's ``α R_S + (1 − α) R_T``; without weights every example
    weighs 1 and it is the joint empirical risk
    (:func:`crossdomain_kit.theory.risk.domain_sample_weights`, scaled by N).

    Args:
        datasets: a list of batched ``(images, labels)`` datasets, one per
            domain (e.g. several sources and a target), each from
            :func:`crossdomain_kit.data.pipeline.make_pipeline` with its own
            shuffling and augmentation.
        weights: None (pooled: every example counts the same) or λ, one
            non-negative weight per domain summing to 1.
        batch_size: size of the mixed batches.
        seed: seed of the random mixing (reshuffled every epoch; None: unseeded).

    Returns:
        A batched dataset of ``(images, labels, sample_weights)``.

    Raises:
        ValueError: for an empty list, a dataset that is not a finite batched
            ``(images, labels)`` dataset or is empty, datasets whose images
            differ in shape or type, bad weights, batch size or seed.

    Introduced in ``notebooks/03_transfer_shifted_domains.ipynb``.
    """
    if not isinstance(datasets, (list, tuple)) or not datasets:
        raise _checks.fail("`datasets` must be a non-empty list of datasets, one per domain.",
                           "datasets", datasets)
    for i, dataset in enumerate(datasets):
        _check_dataset(dataset, f"datasets[{i}]", weights_allowed=False)
    lam = _domain_weights(weights, len(datasets))
    batch_size = _checks.positive_int(batch_size, "batch_size")
    seed = _checks.seed(seed, allow_none=True)
    first = datasets[0].element_spec
    for i, dataset in enumerate(datasets[1:], start=1):
        spec = dataset.element_spec
        if not all(a.dtype == b.dtype and a.shape[1:].is_compatible_with(b.shape[1:])
                   for a, b in zip(first, spec)):
            raise _checks.fail("Every domain must yield images and labels of the same shape and "
                               f"type as datasets[0] ({first}).", f"datasets[{i}]", spec)

    sizes = np.array([_label_counts(d, f"datasets[{i}]").sum() for i, d in enumerate(datasets)])
    total = int(sizes.sum())
    shares = sizes / total
    example_weights = np.ones(len(datasets)) if lam is None else lam / shares

    def weighted(dataset, weight):
        weight = tf.constant(weight, tf.float32)
        return dataset.unbatch().map(lambda x, y: (x, y, weight))

    streams = [weighted(d, w) for d, w in zip(datasets, example_weights)]
    mixed = tf.data.Dataset.sample_from_datasets(streams, weights=shares.tolist(), seed=seed,
                                                 stop_on_empty_dataset=False,
                                                 rerandomize_each_iteration=True)
    batches = mixed.batch(batch_size)
    return (batches.apply(tf.data.experimental.assert_cardinality(math.ceil(total / batch_size)))
            .prefetch(tf.data.AUTOTUNE))


def joint_datasets(source_ds, target_ds, alpha: float | None = None, *, batch_size: int = 32,
                   seed: int | None = 0) -> tf.data.Dataset:
    """Mixed source-and-target batches for lesson 01's risk (two domains of :func:`mix_domains`).

    Args:
        source_ds: batched ``(images, labels)`` source training data (D_S, N examples).
        target_ds: batched ``(images, labels)`` target training data (D_T, M examples).
        alpha: None for the joint empirical risk ``1/(N+M) Σ ℓ`` (each domain
            counts by its size), or the source weight α in [0, 1] of
            ``α R_S + (1 − α) R_T``.
        batch_size: size of the mixed batches.
        seed: seed of the mixing.

    Returns:
        A batched dataset of ``(images, labels, sample_weights)``.

    Raises:
        ValueError: as :func:`mix_domains`, or for α outside [0, 1].

    Introduced in ``notebooks/03_transfer_shifted_domains.ipynb``.
    """
    weights = None if alpha is None else [_checks.fraction(alpha, "alpha"), 1 - alpha]
    return mix_domains([source_ds, target_ds], weights, batch_size=batch_size, seed=seed)


def train_joint(model, datasets, val_ds, *, weights=None, epochs: int, learning_rate: float = 1e-3,
                base_learning_rate: float | None = None, optimizer="adam", batch_size: int = 32, patience: int = 3, lr_patience: int = 2,
                lr_factor: float = 0.5, monitor: str = "val_auc", seed: int | None = 0,
                jit_compile="auto", callbacks=(), verbose="auto") -> TrainingResult:
    """Train on several domains at once: ``Σ_k λ_k R_k`` over mixed batches (:func:`mix_domains`).

    ``train_joint(model, [source_ds, target_ds], target_val_ds, weights=[α, 1 − α], ...)``
    is lesson 01's α-weighted risk; ``weights=None`` the joint empirical risk;
    more datasets train on several source domains at once. The model is
    compiled with :func:`crossdomain_kit.models.classifier.compile_classifier` and trains
    what its freezing state says (everything, as built), through ``fit`` with
    ``EarlyStopping(restore_best_weights=True)`` and ``ReduceLROnPlateau``.

    Args:
        model: a kit classifier.
        datasets: list of batched ``(images, labels)`` training datasets, one per domain.
        val_ds: batched validation dataset with both classes (usually the target's).
        weights: None or one weight per domain, summing to 1.
        epochs: most epochs (>= 1).
        learning_rate: > 0.
        base_learning_rate: the backbone's own learning rate (> 0); None for
            one rate everywhere.
        optimizer: Keras optimizer name or template instance.
        batch_size: size of the mixed batches.
        patience, lr_patience, lr_factor, monitor, jit_compile, callbacks,
            verbose: as in :func:`fine_tune`.
        seed: seeds the global random generators and the mixing (None: neither).

    Returns:
        :class:`TrainingResult` (phase ``"joint"``); the model holds the best epoch's weights.

    Raises:
        ValueError: as :func:`mix_domains` and :func:`fine_tune`.

    Introduced in ``notebooks/03_transfer_shifted_domains.ipynb``.
    """
    base_of(model)
    epochs = _checks.positive_int(epochs, "epochs")
    learning_rate = _checks.positive(learning_rate, "learning_rate")
    if base_learning_rate is not None:
        base_learning_rate = _checks.positive(base_learning_rate, "base_learning_rate")
    patience = _checks.positive_int(patience, "patience")
    lr_patience = _checks.positive_int(lr_patience, "lr_patience")
    lr_factor = _check_fraction_open(lr_factor, "lr_factor")
    monitor = _check_monitor(monitor)
    seed = _checks.seed(seed, allow_none=True)
    callbacks = _check_callbacks(callbacks)
    _check_validation(val_ds)
    train_ds = mix_domains(datasets, weights, batch_size=batch_size, seed=seed)
    if seed is not None:
        set_global_seed(seed)

    with model.distribute_strategy.scope():
        compile_classifier(model, learning_rate, optimizer=optimizer,
                           base_learning_rate=base_learning_rate, jit_compile=jit_compile)
    recorder = _Recorder(model, monitor)
    recorder.phase = "joint"
    interrupted = _fit_until_interrupted(
        model, train_ds, validation_data=val_ds, epochs=epochs, verbose=verbose,
        callbacks=[recorder, *_fit_callbacks(monitor, patience, lr_patience, lr_factor, verbose),
                   *callbacks])
    recorder.restore_best()
    if interrupted:
        recorder.report_interrupt()
    return recorder.result(interrupted)
