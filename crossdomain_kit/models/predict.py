"""Predict with a kit classifier on new images: files, folders of files or arrays.

The classifier takes images preprocessed for its backbone; :func:`predict_proba`
runs the same input pipeline as training (:func:`crossdomain_kit.data.pipeline.make_pipeline`),
so a model reloaded with :func:`crossdomain_kit.models.checkpoints.load_classifier` sees
new images exactly as it saw its training data.

Introduced in ``notebooks/05_medical_imaging_finetune.ipynb``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .. import _checks
from .backbones import backbone_names, get_backbone
from ..data.domains import DomainSplit, check_finite_images
from ..evaluation import BinaryMetrics, binary_metrics, choose_threshold
from ..data.image_folder import IMAGE_EXTENSIONS, unreadable_images
from ..theory.losses import sigmoid
from ..data.pipeline import make_pipeline


def backbone_of(model) -> str | None:
    """The backbone name a kit classifier was built with (from its ``<backbone>_classifier`` name)."""
    name = model.name.removesuffix("_classifier")
    return name if name in backbone_names() else None


def as_prediction_inputs(inputs) -> DomainSplit:
    """Files, a folder, an array of images or a DomainSplit → an unlabelled DomainSplit.

    Raises:
        ValueError: for anything else, missing or unreadable files (named),
            arrays not shaped as images, or images with NaN or infinite pixels
            (how many values, which images).
    """
    if isinstance(inputs, DomainSplit):
        if inputs.images is not None:
            check_finite_images(inputs.images, "inputs")
        return inputs
    if isinstance(inputs, (str, os.PathLike)):
        inputs = [inputs]
    if isinstance(inputs, np.ndarray):
        images = inputs[None] if inputs.ndim == 2 else inputs  # one grey image
        if images.ndim not in (3, 4) or images.size == 0 or not np.issubdtype(images.dtype, np.number):
            raise _checks.fail("`inputs` arrays must be numeric images shaped (n, height, width[, channels]).",
                               "inputs", inputs)
        check_finite_images(images, "inputs")
        return DomainSplit(labels=np.zeros(len(images), np.int64), images=images, split="test",
                           domain="new images")
    try:
        items = list(inputs)
    except TypeError:
        items = None
    if items is None or not all(isinstance(item, (str, os.PathLike)) for item in items):
        raise _checks.fail("`inputs` must be an image path, a folder, a list of paths, an array of images "
                           "or a DomainSplit.", "inputs", inputs)
    files = []
    for item in items:
        path = Path(item).expanduser()
        if path.is_dir():
            files += sorted(str(p) for p in path.rglob("*")
                            if p.suffix.lower() in IMAGE_EXTENSIONS and not p.name.startswith("."))
        elif path.is_file():
            files.append(str(path))
        else:
            raise _checks.fail("Every input must be an existing image file or folder.", "inputs", str(item))
    if not files:
        raise _checks.fail(f"No image files ({', '.join(IMAGE_EXTENSIONS)}) were found.", "inputs", inputs)
    bad = unreadable_images(files, progress=len(files) > 200)
    if bad:
        listed = "; ".join(f"{f}: {why}" for f, why in list(bad.items())[:5])
        raise ValueError(f"{len(bad)} file(s) cannot be read as images ({listed}). Remove or "
                         f"replace them. Received: inputs with {len(files)} files")
    return DomainSplit(labels=np.zeros(len(files), np.int64), files=files, split="test",
                       domain="new images")


def predict_proba(model, inputs, *, backbone: str | None = None, batch_size: int = 32) -> np.ndarray:
    """Probability of the positive class for each new image.

    Args:
        model: a kit classifier (one logit output).
        inputs: an image path, a folder (searched recursively), a list of
            paths and folders, an array of 0–255 images shaped
            (n, height, width[, channels]) (a 2-D array is one grey image),
            or a DomainSplit.
        backbone: the backbone whose preprocessing the model expects; read
            from the model's name when it was built by
            :func:`crossdomain_kit.models.classifier.build_classifier`.
        batch_size: images per batch.

    Returns:
        float64 array of shape (n,), in the order of the files (folders
        sorted) or of the array.

    Raises:
        ValueError: for missing or unreadable files (all named), images with
            NaN or infinite pixels (how many values, which images), an unknown
            backbone, or a model without one output unit.
    """
    if model.output_shape[-1] != 1:
        raise _checks.fail("`model` must output one logit per image.", "model.output_shape",
                           model.output_shape)
    backbone = backbone or backbone_of(model)
    if backbone is None:
        raise _checks.fail("Cannot tell the model's backbone from its name; pass `backbone=`.",
                           "backbone", backbone)
    height, width, channels = model.input_shape[1:]
    dataset = make_pipeline(as_prediction_inputs(inputs), backbone=None,
                            preprocess=get_backbone(backbone).preprocess_input(),
                            image_size=(height, width), channels=channels,
                            batch_size=batch_size, cache=False)
    logits = model.predict(dataset.map(lambda images, _: images), verbose=0)
    return sigmoid(np.asarray(logits, dtype=np.float64).reshape(-1))


def predict_labels(model, inputs, threshold: float, **kwargs):
    """Probabilities and 0/1 labels at ``threshold`` (choose it on validation data).

    Returns:
        ``(probabilities, labels)``, both of shape (n,).
    """
    threshold = _checks.fraction(threshold, "threshold")
    p = predict_proba(model, inputs, **kwargs)
    return p, (p >= threshold).astype(np.int64)


@dataclass(frozen=True)
class ValidationScores:
    """A decision threshold chosen on validation and the metrics at it.

    Attributes:
        threshold: probability of class 1 from which an image is called positive.
        validation: :class:`~crossdomain_kit.evaluation.BinaryMetrics` on the validation split.
        test: the same on the test split, or None when no test split was given.
    """

    threshold: float
    validation: BinaryMetrics
    test: BinaryMetrics | None = None


def scores_at_validation_threshold(model, val, test=None, *, method: str = "youden",
                                   batch_size: int = 32) -> ValidationScores:
    """Choose the decision threshold on validation, then score validation and test at it.

    The test split is predicted once, after the threshold is fixed, so that
    nothing about it leaks into the choice.

    Args:
        model: a kit classifier (one logit).
        val: the validation split (both classes), or anything :func:`predict_proba` takes.
        test: the test split, or None.
        method: how :func:`~crossdomain_kit.evaluation.choose_threshold` picks it.
        batch_size: images per prediction batch.

    Returns:
        :class:`ValidationScores` (``threshold``, ``validation``, ``test``).

    Raises:
        ValueError: for splits without labels, one-class validation data or
            a bad ``method`` (from the functions it calls).

    Introduced in ``notebooks/04_freezing_hyperparameters_lab.ipynb`` (the dashboard's results table).
    """
    p_val = predict_proba(model, val, batch_size=batch_size)
    threshold = choose_threshold(val.labels, p_val, method)
    validation = binary_metrics(val.labels, p_val, threshold)
    tested = None if test is None else binary_metrics(
        test.labels, predict_proba(model, test, batch_size=batch_size), threshold)
    return ValidationScores(threshold, validation, tested)
