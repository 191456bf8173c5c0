"""Shared by the pretraining tests (workflows.pretraining*): generated band images, a small plan, a Ctrl-C callback.

The fixtures built on them are in ``conftest.py``.
"""

import types

import keras
import numpy as np

from crossdomain_kit.workflows.pretraining_plan import PretrainingPlan

CLASSES = ("top band", "bottom band", "central column", "side columns")  # all four survive a horizontal flip


def make_data(n_train=192, n_val=64, seed=0):
    """Grey 32 px noise with a bright band whose place is the class (4 classes, balanced)."""
    rng = np.random.default_rng(seed)

    def split(n):
        labels = np.arange(n) % 4
        rng.shuffle(labels)
        images = rng.integers(0, 60, (n, 32, 32), dtype=np.uint8)
        for image, label in zip(images, labels):
            if label == 0:
                image[2:10] = 230
            elif label == 1:
                image[22:30] = 230
            elif label == 2:
                image[:, 12:20] = 230
            else:
                image[:, :6] = image[:, 26:] = 230
        return images, labels.astype(np.int16)

    (train_x, train_y), (val_x, val_y) = split(n_train), split(n_val)
    return types.SimpleNamespace(train_images=train_x, train_labels=train_y, val_images=val_x, val_labels=val_y,
                                 class_names=CLASSES, n_classes=4)


def small_plan(**settings):
    return PretrainingPlan(**{"epochs": 3, "batch_size": 32, "warmup_epochs": 0.5, "max_train_images": None,
                              "max_val_images": None, **settings})


class InterruptAt(keras.callbacks.Callback):
    """Ctrl-C at the start of one epoch (0-based)."""

    def __init__(self, epoch):
        super().__init__()
        self.epoch = epoch

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == self.epoch:
            raise KeyboardInterrupt
