"""Saving and loading kit classifiers as ``.keras`` files, written atomically.

A saved classifier keeps its architecture, weights, compile state and
optimizer state (a :class:`crossdomain_kit.models.compiling.DiscriminativeOptimizer`
included), so a reloaded one predicts bit for bit like the original and can
train on. To start a new classifier from a saved one (the whole classifier,
or its backbone alone), pass the file as ``weights=`` to
:func:`crossdomain_kit.models.classifier.build_classifier`.

Importing this module imports Keras (and TensorFlow).

Introduced in ``notebooks/04_freezing_hyperparameters_lab.ipynb``.
"""

from __future__ import annotations

import os
from pathlib import Path

import keras

from .. import _checks
from .._files import write_atomically
from .classifier import _shown, base_of
from .compiling import DiscriminativeOptimizer  # noqa: F401  (registered with Keras: saved optimizers load)
from .weights import _brief


def random_generator_states(model) -> list:
    """A model's random-generator states (dropout's, random augmentation layers'), in a fixed order.

    They are variables but not weights: ``model.get_weights()`` and a
    ``.weights.h5`` file leave them out, so a run that must continue exactly
    (a resumed pretraining, a forward pass that must leave no trace) saves and
    restores them itself.

    Args:
        model: a Keras model (nested layers included).

    Returns:
        The ``seed_generator_state`` variables of ``model``, in ``model.variables`` order.
    """
    weights = {id(w) for w in model.weights}
    return [v for v in model.variables if id(v) not in weights and v.name == "seed_generator_state"]


def _checked_model_path(path, must_exist: bool) -> Path:
    if not isinstance(path, (str, os.PathLike)) or not str(path).endswith(".keras"):
        raise _checks.fail("`path` must be a file path ending in .keras.", "path", _shown(path))
    result = Path(path).expanduser()
    if must_exist and not result.is_file():
        raise _checks.fail(f"No such model file: {result}.", "path", _shown(path))
    return result


def save_classifier(model, path) -> Path:
    """Save a classifier (architecture, weights, compile state, optimizer state) as ``.keras``.

    The file is written to a temporary name next to ``path`` and then moved
    into place, so an interrupted save never leaves a half-written model.

    Args:
        model: a classifier from :func:`crossdomain_kit.models.classifier.build_classifier`.
        path: destination ending in ``.keras``; missing folders are created.

    Returns:
        The path written, as a ``Path``.

    Raises:
        ValueError: if ``model`` is not a kit classifier or ``path`` does not end in ``.keras``.
    """
    base_of(model)
    path = _checked_model_path(path, must_exist=False)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(path, model.save, suffix=".keras")  # Keras wants the .keras ending
    return path


def load_classifier(path, *, compile: bool = True) -> keras.Model:
    """Load a classifier saved by :func:`save_classifier`; predictions match bit for bit.

    Args:
        path: a ``.keras`` file.
        compile: restore the loss, metrics and optimizer (with its state).

    Returns:
        The ``keras.Model``.

    Raises:
        ValueError: if the file is missing, cannot be read as a Keras model,
            or holds a model that is not a kit classifier.
    """
    path = _checked_model_path(path, must_exist=True)
    try:
        model = keras.saving.load_model(path, compile=compile)
    except Exception as error:
        raise _checks.fail(f"Could not read the model file {path.name} ({_brief(error)}).",
                           "path", str(path)) from error
    base_of(model)
    return model
