"""Recomputing BatchNormalization's moving statistics for the weights as they are ("precise BatchNorm").

In training mode a ``BatchNormalization`` layer normalises with the batch's
own mean and variance and keeps moving averages of them for inference
(Keras's default ``momentum`` 0.99 weighs about the last hundred batches; the
kit's small CNN uses 0.9, about the last ten). While the weights move fast
(a high learning rate, augmented batches) those averages mix statistics of
weights that are gone with those of a few noisy batches: the network
evaluated in inference mode is not quite the one that trained, and its
validation accuracy can jump from epoch to epoch for no other reason. :func:`recompute_batchnorm_statistics` replaces the averages
with the plain mean of the batch statistics over a fixed set of images,
computed with the current weights (which it leaves unchanged);
:class:`RecomputeBatchNormStatistics` does it before every validation pass
of ``fit``. (Wu and Johnson, "Rethinking 'Batch' in BatchNorm", 2021, call
this PreciseBN.)

Importing this module imports Keras (and TensorFlow).

Introduced in the README ("The package"): ``crossdomain-kit pretrain`` uses it
before every validation.
"""

from __future__ import annotations

import keras

from .. import _checks
from ..models.checkpoints import random_generator_states


def _batchnorm_layers(layer) -> list:
    """The BatchNormalization layers inside ``layer`` (nested models included) that update in training mode."""
    found = []
    for child in getattr(layer, "layers", ()):
        if isinstance(child, keras.layers.BatchNormalization):
            if child.trainable:  # a frozen one runs in inference mode even with training=True
                found.append(child)
        else:
            found.extend(_batchnorm_layers(child))
    return found


def recompute_batchnorm_statistics(model, batches) -> int:
    """Set every trainable BatchNormalization layer's moving mean and variance to their mean over ``batches``.

    The model runs forward in training mode on each batch (so each layer
    sees its inputs as training computes them) while each layer's momentum is
    ``i / (i + 1)`` at batch ``i``: after the last batch the moving mean is the
    mean of the batches' means, and the moving variance the mean of their
    (biased) variances, whatever the averages held before. Nothing else
    changes: the weights, the momenta and the random-generator states (e.g.
    dropout's) are as before, so a training run continues as it would have.

    Args:
        model: a Keras model (nested models are searched too).
        batches: an iterable of input batches, or of ``(inputs, ...)`` tuples
            such as a ``tf.data.Dataset`` of ``(images, labels)``; unaugmented
            images of the training distribution.

    Returns:
        The number of batches used (0 when the model has no trainable
        BatchNormalization layer: nothing is run).

    Raises:
        ValueError: if ``batches`` is empty.
    """
    layers = _batchnorm_layers(model)
    if not layers:
        return 0
    momenta = [layer.momentum for layer in layers]
    states = random_generator_states(model)
    saved = [v.numpy() for v in states]
    n = 0
    try:
        for batch in batches:
            inputs = batch[0] if isinstance(batch, (tuple, list)) else batch
            for layer in layers:
                layer.momentum = n / (n + 1)
            model(inputs, training=True)
            n += 1
    finally:
        for layer, momentum in zip(layers, momenta):
            layer.momentum = momentum
        for variable, value in zip(states, saved):
            variable.assign(value)
    if n == 0:
        raise _checks.fail("`batches` is empty: pass at least one batch of images.", "batches", batches)
    return n


class RecomputeBatchNormStatistics(keras.callbacks.Callback):
    """Recompute BatchNorm's moving statistics on fixed images before every validation pass of ``fit``.

    ``fit`` hands its callbacks to the validation ``evaluate``, whose
    ``on_test_begin`` runs after the epoch's last training step and before
    the first validation batch: the validation metrics (and a checkpoint
    written at the epoch's end) then belong to statistics computed with the
    epoch's final weights (:func:`recompute_batchnorm_statistics`).

    Args:
        batches: what :func:`recompute_batchnorm_statistics` takes; iterated
            anew each time (a ``tf.data.Dataset`` does that).
    """

    def __init__(self, batches):
        super().__init__()
        self.batches = batches

    def on_test_begin(self, logs=None):
        recompute_batchnorm_statistics(self.model, self.batches)
