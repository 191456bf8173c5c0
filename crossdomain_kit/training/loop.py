"""An explicit GradientTape training loop: what ``fit`` does, spelled out, and its extension points.

:func:`make_train_step`, :func:`train_epoch`, :func:`evaluate` and
:func:`train_with_tape` spell out what ``fit`` does, with an explicit
``tf.GradientTape``; on the same seed and data they give ``fit``'s result.
Trainers with their own objective (domain adaptation, adversarial training in
:mod:`crossdomain_kit.methods`) build on the extension points:
:func:`make_objective_step` (any loss), :func:`run_epochs` (the epoch loop,
best epoch and Ctrl-C), :func:`check_tape_run` and :func:`start_tape_run`
(the checks and the start of a run), with :func:`loop_metrics`.

Importing this module imports TensorFlow and Keras.

Introduced in ``notebooks/04_freezing_hyperparameters_lab.ipynb`` (the loop) and
``notebooks/07_beyond_fine_tuning.ipynb`` (its extension points).
"""

from __future__ import annotations

import keras
import tensorflow as tf
from tqdm.auto import tqdm

from .. import _checks
from ..models.compiling import classifier_metrics as _model_metrics
from .checks import check_dataset, check_monitor, check_validation
from .results import EpochRecorder, TrainingResult
from .runtime import distribute_dataset, gpu_available, optimizer_in_scope, set_global_seed
from .validation import ExactValidationAUC


# --- Steps: one batch, with or without an update ------------------------------------------------------

def loop_metrics() -> dict:
    """Fresh metrics for the tape loop (:func:`make_train_step`): the mean loss plus ``compile_classifier``'s.

    (Not :func:`crossdomain_kit.models.compiling.classifier_metrics`, the list
    of metric objects for ``compile``, which this dict extends.)

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
        metrics: ``{name: metric}`` as from :func:`loop_metrics`; the
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


# --- Epochs: train_epoch, evaluate, the loops -------------------------------------------------------

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


def train_with_tape(model, train_ds, val_ds, epochs: int, optimizer, *, monitor: str = "val_auc",
                    patience: int | None = None, restore_best: bool = False, seed: int | None = 0,
                    verbose: bool = True) -> TrainingResult:
    """Train with an explicit ``tf.GradientTape`` loop; same result as ``compile`` + ``fit``.

    Equivalent to compiling ``model`` with ``optimizer``, the from-logits
    binary cross-entropy and the metrics of
    :func:`crossdomain_kit.models.compiling.compile_classifier`, then
    ``model.fit(train_ds, validation_data=val_ds, epochs=epochs,
    callbacks=[ExactValidationAUC(val_ds)])``: the same initial weights,
    batches and optimizer give the same weights and metrics (up to float
    rounding), ``val_auc`` exact in both. As with a plain ``fit``, the model ends with the
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
    epochs, monitor, patience, seed = check_tape_run(train_ds, val_ds, epochs, optimizer, monitor, patience,
                                                     seed)
    optimizer, metrics = start_tape_run(model, optimizer, seed)
    loss_fn = keras.losses.BinaryCrossentropy(from_logits=True)
    train_step = make_train_step(model, optimizer, loss_fn, metrics)
    test_step = make_test_step(model, loss_fn, metrics)
    return run_epochs(model, train_ds, val_ds, epochs, train_step, test_step, metrics,
                      optimizer=optimizer, phase="tape", monitor=monitor, patience=patience,
                      restore_best=restore_best, verbose=verbose)


def _check_patience(patience) -> int | None:
    """None, or an integer >= 1 (the tape loop's early stopping)."""
    return None if patience is None else _checks.positive_int(patience, "patience")


def check_tape_run(train_ds, val_ds, epochs, optimizer, monitor, patience, seed):
    """The argument checks of a tape-loop run (:func:`train_with_tape` and trainers built like it).

    Args:
        train_ds: batched ``(images, labels[, sample_weights])`` training dataset.
        val_ds: batched validation dataset with both classes (one pass over its labels).
        epochs: number of epochs (>= 1).
        optimizer: a Keras optimizer instance.
        monitor: one of :data:`crossdomain_kit.training.MONITORS`.
        patience: None or an integer >= 1.
        seed: an integer >= 0 or None.

    Returns:
        ``(epochs, monitor, patience, seed)``, checked.

    Raises:
        ValueError: for the first bad argument, in the order above (the
            validation data last).
    """
    check_dataset(train_ds, "train_ds")
    epochs = _checks.positive_int(epochs, "epochs")
    if not isinstance(optimizer, keras.optimizers.Optimizer):
        raise _checks.fail("`optimizer` must be a Keras optimizer instance, e.g. "
                           "keras.optimizers.Adam(1e-3).", "optimizer", optimizer)
    monitor = check_monitor(monitor)
    patience = _check_patience(patience)
    seed = _checks.seed(seed, allow_none=True)
    check_validation(val_ds)
    return epochs, monitor, patience, seed


def start_tape_run(model, optimizer, seed):
    """Start a tape-loop run: seed, then the optimizer (built) and metrics, in the model's strategy scope.

    Args:
        model: the model to train.
        optimizer: a Keras optimizer instance, made ready for the model by
            :func:`~crossdomain_kit.training.runtime.optimizer_in_scope`.
        seed: seeds the global generators (:func:`set_global_seed`); None leaves them.

    Returns:
        ``(optimizer, metrics)``: the optimizer to use, built on the model's
        trainable variables, and fresh :func:`loop_metrics`.

    Raises:
        ValueError: for an optimizer already built under another strategy.
    """
    if seed is not None:
        set_global_seed(seed)
    with model.distribute_strategy.scope():
        optimizer = optimizer_in_scope(model, optimizer)
        if not optimizer.built:  # a LossScaleOptimizer would rebuild, resetting its loss scale
            optimizer.build(model.trainable_variables)
        metrics = loop_metrics()
    return optimizer, metrics


def run_epochs(model, train_ds, val_ds, epochs: int, train_step, test_step, metrics: dict, *,
               optimizer, phase: str = "tape", monitor: str = "val_auc", patience: int | None = None,
               restore_best: bool = False, verbose: bool = True) -> TrainingResult:
    """The epoch loop of :func:`train_with_tape`, for any train and test step.

    Each epoch runs :func:`train_epoch` then :func:`evaluate` (its metrics
    prefixed ``val_``, ``val_auc`` then made exact by
    :class:`~crossdomain_kit.training.validation.ExactValidationAUC`),
    records them, and keeps the weights of the best epoch by ``monitor``;
    Ctrl-C restores those weights and ends the loop. The extension point for
    trainers with their own step
    (:func:`make_objective_step`), e.g. :func:`crossdomain_kit.methods.adaptation.train_adapted`.

    Args:
        model: the model whose weights are recorded and restored (the
            classifier, when the step trains a larger model around it).
        train_ds, val_ds: batched datasets for ``train_step`` and ``test_step``
            (distributed here under ``model``'s strategy).
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
    monitor = check_monitor(monitor)
    patience = _check_patience(patience)
    train_data, val_data = distribute_dataset(train_ds, model), distribute_dataset(val_ds, model)
    exact_auc = ExactValidationAUC(val_ds)
    exact_auc.set_model(model)
    recorder = EpochRecorder(model, monitor, optimizer=optimizer)
    recorder.phase = phase
    interrupted = False
    bar = tqdm(range(epochs), desc="epochs", disable=not verbose)
    try:
        for epoch in bar:
            recorder.on_epoch_begin(epoch)
            logs = train_epoch(train_data, train_step, metrics)
            logs.update({f"val_{name}": value
                         for name, value in evaluate(val_data, test_step, metrics).items()})
            exact_auc.on_epoch_end(epoch, logs)
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
