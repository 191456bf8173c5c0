"""The exact validation AUC every trainer records, picks the best epoch by and plots.

Keras's ``AUC`` metric approximates the area from a fixed grid of 200
thresholds, so the same model got two AUCs: one on its learning curves and
another in the tables (computed exactly, as scikit-learn does). Every kit
trainer therefore overwrites the epoch's ``val_auc`` with the exact AUC of
the whole validation split, before early stopping, the learning-rate
schedule, the progress bar or the history read it: one number from model
selection to the report. The training-side ``auc`` stays Keras's, a running
value over the epoch's batches while the weights move, which no table shows.

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

    Args:
        val_ds: batched ``(images, labels[, sample_weights])`` validation
            dataset with both classes; images and labels are read in the
            same pass, so a pipeline that reshuffles is scored correctly.

    Introduced in ``notebooks/04_freezing_hyperparameters_lab.ipynb``.
    """

    def __init__(self, val_ds):
        super().__init__()
        self.val_ds = val_ds
        self._logits = None

    def set_model(self, model):
        super().set_model(model)
        images = self.val_ds.element_spec[0]
        if isinstance(images, tf.TensorSpec):  # one trace, the last (smaller) batch included
            self._logits = tf.function(lambda x: model(x, training=False), input_signature=[images])
        else:
            self._logits = tf.function(lambda x: model(x, training=False), reduce_retracing=True)

    def score(self) -> float:
        """The model's exact ROC AUC on ``val_ds`` (probabilities as
        :func:`crossdomain_kit.models.predict.predict_proba` computes them).

        Returns:
            The AUC, equal to ``sklearn.metrics.roc_auc_score`` on the same
            labels and probabilities.
        """
        labels, logits = [], []
        for batch in self.val_ds:
            images, y, _ = keras.utils.unpack_x_y_sample_weight(batch)
            logits.append(np.asarray(self._logits(images), dtype=np.float64).reshape(-1))
            labels.append(np.asarray(y).reshape(-1))
        return roc_auc(np.concatenate(labels), sigmoid(np.concatenate(logits)))

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["val_auc"] = self.score()
