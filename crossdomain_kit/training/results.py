"""What a training run returns, the record that keeps the best epoch's weights, and Ctrl-C.

Every trainer returns a :class:`TrainingResult` holding the per-epoch history.
Ctrl-C (``KeyboardInterrupt``) during training is not an error: the weights of
the best epoch so far are restored, a message says so, and the history of the
finished epochs is returned. :class:`EpochRecorder` does the bookkeeping for
``fit``-based trainers (as a callback) and for the tape loop (driven by hand);
:func:`fit_until_interrupted` turns Ctrl-C inside ``fit`` into a flag.

Importing this module imports TensorFlow and Keras.

Introduced in ``notebooks/04_freezing_hyperparameters_lab.ipynb``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import keras


@dataclass
class TrainingResult:
    """What a training run did, epoch by epoch.

    Attributes:
        history: ``{name: [value per epoch]}``: ``loss``, ``auc``,
            ``accuracy``, their ``val_`` twins and the ``learning_rate`` used
            in the epoch (the head's, with discriminative learning rates).
            ``val_auc`` is exact (scikit-learn's number on the validation
            split); ``auc`` is Keras's approximate metric, running over the
            epoch's batches while the weights change.
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


class EpochRecorder(keras.callbacks.Callback):
    """Keeps each finished epoch's logs and phase, and the weights of the best epoch.

    One recorder follows a whole run, across the ``fit`` calls of several
    phases (EarlyStopping only sees its own phase), and the tape loop drives it
    by hand. It also remembers the weights from before training, the fallback
    when Ctrl-C comes before any epoch has finished.

    Args:
        model: the model whose weights are recorded and restored.
        monitor: the validation metric that picks the best epoch (a name
            ending in ``loss`` is minimised, any other maximised).
        optimizer: the optimizer whose learning rate is recorded; None: the
            model's (``fit``'s, which each phase's ``compile`` replaces).

    Attributes:
        phase: the name recorded for the epochs that follow; set it before
            each phase.
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
        """Give the model the best epoch's weights (before any epoch: the starting weights)."""
        self.model.set_weights(self.best_weights)

    def report_interrupt(self) -> None:
        """Print where Ctrl-C stopped training and which weights the model now holds."""
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
        """The run so far as a :class:`TrainingResult` (copies of the history)."""
        return TrainingResult({k: list(v) for k, v in self.history.items()}, list(self.phases),
                              self.monitor, self.best_epoch, self.best_value, interrupted)

    def finish(self, interrupted: bool) -> TrainingResult:
        """End a run that keeps the best epoch: restore its weights, report Ctrl-C, return the result.

        Args:
            interrupted: whether Ctrl-C stopped the run.

        Returns:
            :meth:`result`.
        """
        self.restore_best()
        if interrupted:
            self.report_interrupt()
        return self.result(interrupted)


def fit_until_interrupted(model, train_ds, **fit_kwargs) -> bool:
    """``model.fit(train_ds, shuffle=False, **fit_kwargs)``, with Ctrl-C as a return value.

    Args:
        model: a compiled Keras model.
        train_ds: the training dataset (a ``tf.data`` pipeline shuffles itself,
            hence ``shuffle=False``: Keras warns otherwise).
        **fit_kwargs: the other arguments of ``fit``.

    Returns:
        True if Ctrl-C (``KeyboardInterrupt``) stopped ``fit``; the caller
        restores weights (:meth:`EpochRecorder.finish`).
    """
    try:
        model.fit(train_ds, shuffle=False, **fit_kwargs)
    except KeyboardInterrupt:
        return True
    return False
