"""Argument checks shared by the trainers: datasets, validation data, the monitored metric, callbacks.

Every check raises the kit's ``ValueError`` (:mod:`crossdomain_kit._checks`),
which names the argument and ends with ``Received: name=value``, before
anything trains.

Importing this module imports TensorFlow and Keras.

Introduced in ``notebooks/04_freezing_hyperparameters_lab.ipynb``.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from .. import _checks

MONITORS = ("val_auc", "val_loss", "val_accuracy")


def check_dataset(dataset, name: str, *, weights_allowed: bool = True):
    """Check that ``dataset`` is a finite, batched ``tf.data.Dataset`` of ``(images, labels)``.

    Args:
        dataset: the dataset to check.
        name: argument name used in the error message.
        weights_allowed: also accept ``(images, labels, sample_weights)``.

    Returns:
        ``dataset`` itself.

    Raises:
        ValueError: if it is not a ``tf.data.Dataset``, does not yield tuples
            of the expected length, or is infinite (``.repeat()``).
    """
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


def label_counts(dataset, name: str) -> np.ndarray:
    """``[n_negative, n_positive]`` from one pass over the dataset's labels.

    Args:
        dataset: a batched dataset whose second element is the labels.
        name: argument name used in the error message.

    Returns:
        int64 array of two counts.

    Raises:
        ValueError: if the dataset is empty or a label is not 0 or 1.
    """
    labels = [np.ravel(element[1]) for element in dataset.as_numpy_iterator()]
    if not labels:
        raise _checks.fail(f"`{name}` is empty.", name, dataset)
    y = _checks.binary_labels(np.concatenate(labels), f"{name} labels")
    return np.bincount(y.astype(np.int64), minlength=2)


def check_validation(dataset, name: str = "val_ds") -> None:
    """Check validation data: a dataset as :func:`check_dataset` accepts, with both classes.

    Both classes must be present, or AUC, the monitored metric, is undefined.
    Costs one pass over the labels.

    Args:
        dataset: the validation dataset.
        name: argument name used in the error message.

    Raises:
        ValueError: as :func:`check_dataset` and :func:`label_counts`, or if
            every label is the same.
    """
    counts = label_counts(check_dataset(dataset, name), name)
    if np.any(counts == 0):
        only = int(np.argmax(counts))
        raise _checks.fail(f"`{name}` must contain both classes: with every label {only}, AUC (the "
                           "metric that picks the best epoch by default) is undefined. Use a "
                           "stratified split.",
                           name, f"dataset of {counts.sum()} examples, all labelled {only}")


def check_monitor(monitor) -> str:
    """Check the metric that picks the best epoch.

    Args:
        monitor: one of :data:`MONITORS`.

    Returns:
        ``monitor``.

    Raises:
        ValueError: for any other value.
    """
    if monitor not in MONITORS:
        raise _checks.fail(f"`monitor` must be one of {MONITORS}.", "monitor", monitor)
    return monitor


def check_callbacks(callbacks) -> list:
    """Check extra Keras callbacks.

    Args:
        callbacks: a list or tuple of ``keras.callbacks.Callback``.

    Returns:
        The callbacks, as a new list.

    Raises:
        ValueError: for anything else.
    """
    callbacks = list(callbacks) if isinstance(callbacks, (list, tuple)) else None
    if callbacks is None or not all(isinstance(c, keras.callbacks.Callback) for c in callbacks):
        raise _checks.fail("`callbacks` must be a list or tuple of keras.callbacks.Callback.",
                           "callbacks", callbacks)
    return callbacks
