"""Progress bars for long training runs: one tqdm bar per epoch, its metrics at the end.

Importing this module imports Keras.

Introduced in the README ("Set up": the ``crossdomain-kit`` commands show them).
"""

from __future__ import annotations

import sys

import keras
from tqdm.auto import tqdm

SHOWN_METRICS = ("loss", "auc", "val_loss", "val_auc")


class EpochProgressBars(keras.callbacks.Callback):
    """A Keras callback drawing one progress bar (batches) per epoch, on stderr.

    Args:
        label: what the bars say they are, e.g. ``"fine-tuning"`` (``"fine-tuning epoch 3"``).
        file: where the bars go (default: standard error, so results on stdout stay clean).
        shown: the names of the metrics shown at an epoch's end, those in its logs
            (default :data:`SHOWN_METRICS`: loss and AUC, on training and validation).
    """

    def __init__(self, label: str, file=None, *, shown=SHOWN_METRICS):
        super().__init__()
        self.label = label
        self.file = sys.stderr if file is None else file
        self.shown = tuple(shown)
        self.bar = None

    def on_epoch_begin(self, epoch, logs=None):
        self.bar = tqdm(total=self.params.get("steps"), desc=f"{self.label} epoch {epoch + 1}", unit="batch",
                        file=self.file)

    def on_train_batch_end(self, batch, logs=None):
        self.bar.update(1)

    def on_epoch_end(self, epoch, logs=None):
        self.bar.set_postfix({k: f"{logs[k]:.3f}" for k in self.shown if k in (logs or {})})
        self.bar.close()

    def on_train_end(self, logs=None):
        if self.bar is not None:
            self.bar.close()
