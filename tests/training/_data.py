"""Shared by the tests of crossdomain_kit.training: tiny synthetic datasets, models and callbacks.

Tiny small-CNN classifiers on 8-pixel synthetic images keep every test to
seconds. ``_ds`` is also imported by the fresh process of ``conftest.py``.
"""

import keras
import numpy as np

from crossdomain_kit import training
from crossdomain_kit.models.classifier import build_classifier
from crossdomain_kit.data.pipeline import make_pipeline

SIZE = 8


def _scale(images):
    return images / 127.5 - 1.0


def _arrays(n, seed, shift=0.0):
    """Balanced labels; positives carry a brighter square. ``shift`` moves the brightness (a domain)."""
    rng = np.random.default_rng(seed)
    y = rng.permutation(np.arange(n) % 2)
    x = rng.normal(100 + shift, 40, (n, SIZE, SIZE, 1))
    x[y == 1, 2:6, 2:6, 0] += 40
    return np.clip(x, 0, 255).astype("float32"), y


def _ds(n=32, seed=0, training_=False, batch_size=8, shift=0.0):
    return make_pipeline(_arrays(n, seed, shift), backbone=None, preprocess=_scale, image_size=SIZE,
                         channels=1, batch_size=batch_size, training=training_, augment=False, seed=seed)


def _model(seed=0, dropout=0.2, l2=0.0):
    return build_classifier("small_cnn", (SIZE, SIZE, 1), seed=seed, dropout=dropout, l2=l2)


def _same(a, b):
    return all(np.array_equal(x, y) for x, y in zip(a, b))


class _EpochWeights(keras.callbacks.Callback):
    """Records the weights and logs at the end of every epoch."""

    def __init__(self):
        super().__init__()
        self.weights, self.logs = [], []

    def on_epoch_end(self, epoch, logs=None):
        self.weights.append(self.model.get_weights())
        self.logs.append(dict(logs))


class _CtrlC(keras.callbacks.Callback):
    """Raises KeyboardInterrupt, as Ctrl-C in Jupyter does, at a given (epoch, batch)."""

    def __init__(self, epoch, batch):
        super().__init__()
        self.at, self.epoch = (epoch, batch), None

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_begin(self, batch, logs=None):
        if (self.epoch, batch) == self.at:
            raise KeyboardInterrupt


def _fine_tune(model=None, train=None, val=None, **overrides):
    kwargs = dict(head_epochs=1, finetune_epochs=1, seed=None, verbose=0)
    kwargs.update(overrides)
    return training.fine_tune(_model() if model is None else model, _ds(n=16) if train is None else train,
                              _ds(n=16, seed=1) if val is None else val, **kwargs)
