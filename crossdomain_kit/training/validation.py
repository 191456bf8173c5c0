"""The exact validation AUC every trainer records, picks the best epoch by and plots.

Keras's ``AUC`` metric approximates the area from a fixed grid of 200
thresholds, so the same model got two AUCs: one on its learning curves and
another in the tables (computed exactly, as scikit-learn does). Every kit
trainer therefore overwrites the epoch's ``val_auc`` with the exact AUC of
the whole validation split, before early stopping, the learning-rate
schedule, the progress bar or the history read it: one number from model
selection to the report. The ``fit``-based trainers let the same pass write
``val_loss`` and ``val_accuracy`` too, and give ``fit`` no
``validation_data``: Keras's own pass over the validation split would be a
second one, and with a few dozen training images the validation passes take
longer than the epoch's training steps. The training-side ``auc`` stays
Keras's, a running value over the epoch's batches while the weights move,
which no table shows.

Importing this module imports TensorFlow and Keras.

Introduced in ``notebooks/04_freezing_hyperparameters_lab.ipynb``.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from ..evaluation.metrics import roc_auc
from ..theory.losses import sigmoid


class ExactValidationAUC(keras.callbacks.Callback):
    """Sets each epoch's ``val_auc`` to the exact ROC AUC of the model on ``val_ds``.

    Pass it to ``fit`` before any callback that reads ``val_auc``
    (``EarlyStopping``, ``ReduceLROnPlateau``, a recorder): Keras hands every
    callback the same logs, in list order. The tape loop calls
    :meth:`on_epoch_end` by hand. Costs one inference pass over ``val_ds``
    per epoch.

    With ``with_loss_and_accuracy=True`` the same pass also writes
    ``val_loss`` (the compiled loss with the model's own losses, as Keras's
    evaluation computes it) and ``val_accuracy`` (logit > 0, the kit's
    compiled ``BinaryAccuracy(threshold=0)``), so ``fit`` needs no
    ``validation_data``: one pass over the validation split per epoch
    instead of two. The kit's trainers
    (:func:`~crossdomain_kit.training.fine_tune`,
    :func:`~crossdomain_kit.training.train_joint`) fit that way.

    Args:
        val_ds: batched ``(images, labels[, sample_weights])`` validation
            dataset with both classes; images and labels are read in the
            same pass, so a pipeline that reshuffles is scored correctly.
        with_loss_and_accuracy: also write ``val_loss`` and ``val_accuracy``
            (the model must be compiled).

    Introduced in ``notebooks/04_freezing_hyperparameters_lab.ipynb``.
    """

    def __init__(self, val_ds, *, with_loss_and_accuracy: bool = False):
        super().__init__()
        self.val_ds = val_ds
        self.with_loss_and_accuracy = with_loss_and_accuracy
        self._logits = None

    def set_model(self, model):
        super().set_model(model)
        images = self.val_ds.element_spec[0]
        if isinstance(images, tf.TensorSpec):  # one trace, the last (smaller) batch included
            self._logits = tf.function(lambda x: model(x, training=False), input_signature=[images])
        else:
            self._logits = tf.function(lambda x: model(x, training=False), reduce_retracing=True)

    def _predict(self) -> list:
        """Per batch: labels and logits (float32, shape (n, 1)) and sample weights (or None)."""
        batches = []
        for batch in self.val_ds:
            images, y, sample_weight = keras.utils.unpack_x_y_sample_weight(batch)
            batches.append((np.asarray(y, dtype=np.float32).reshape(-1, 1),
                            np.asarray(self._logits(images), dtype=np.float32).reshape(-1, 1), sample_weight))
        return batches

    def score(self) -> float:
        """The model's exact ROC AUC on ``val_ds`` (probabilities as
        :func:`crossdomain_kit.models.predict.predict_proba` computes them).

        Returns:
            The AUC, equal to ``sklearn.metrics.roc_auc_score`` on the same
            labels and probabilities.
        """
        return _exact_auc(*_labels_and_logits(self._predict()))

    def on_epoch_end(self, epoch, logs=None):
        if logs is None:
            return
        if not self.with_loss_and_accuracy:
            logs["val_auc"] = self.score()
            return
        batches = self._predict()
        # As Keras's evaluation: the batches' losses averaged in float32, weighted by their sizes.
        total, count = np.float32(0), np.float32(0)
        for labels, logits, sample_weight in batches:
            loss = self.model.compute_loss(y=labels, y_pred=logits, sample_weight=sample_weight, training=False)
            total += np.float32(loss) * np.float32(len(labels))
            count += np.float32(len(labels))
        labels, logits = _labels_and_logits(batches)
        logs["val_accuracy"] = float(np.float32(np.mean((logits > 0) == (labels > 0.5))))  # names sorted, as Keras
        logs["val_auc"] = _exact_auc(labels, logits)
        logs["val_loss"] = float(total / count)


def _labels_and_logits(batches) -> tuple[np.ndarray, np.ndarray]:
    return np.concatenate([labels for labels, _, _ in batches]), np.concatenate([logits for _, logits, _ in batches])


def _exact_auc(labels, logits) -> float:
    return roc_auc(labels.reshape(-1), sigmoid(logits.reshape(-1).astype(np.float64)))
