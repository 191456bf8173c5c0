"""The backbones the kit knows: their Keras constructor, input size, channels and preprocessing.

A backbone pretrained on ImageNet expects its inputs prepared exactly as in
its own training (ResNet50: BGR with the ImageNet means subtracted;
MobileNetV2: scaled to [-1, 1]; EfficientNetB0: raw 0–255, it rescales
inside; the kit's small CNN: [0, 1]). Feeding it anything else quietly ruins
transfer, so the input pipeline asks this registry for the backbone's own
``preprocess_input`` instead of guessing.

Importing this module does not import TensorFlow: the registry holds names,
and Keras is imported only when you ask for a function.

Introduced in ``notebooks/04_freezing_hyperparameters_lab.ipynb``.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Callable

import numpy as np

from .. import _checks


# ImageNet channel means in BGR order, as subtracted by Keras's "caffe" preprocessing.
_IMAGENET_BGR_MEAN = (103.939, 116.779, 123.68)


def scale_to_unit(images):
    """Divide 0–255 pixel values by 255, giving [0, 1] (the small CNN's preprocessing).

    Works on NumPy arrays and on TensorFlow tensors alike.
    """
    return images / 255.0


def imagenet_caffe(images):
    """ResNet50's input preprocessing: RGB to BGR, then subtract the ImageNet channel means.

    The same arithmetic as ``keras.applications.resnet50.preprocess_input``
    (the tests check they agree exactly), arranged to run about three times
    faster inside ``tf.data`` on a CPU: TensorFlow is slow at per-channel
    operations on a last axis of length 3, so the channels are reversed
    before the cast (cheap on uint8) and the means are subtracted from rows
    of width × 3 values.

    Args:
        images: 0–255 images, shape (..., height, width, 3), any real dtype;
            a NumPy array or a TensorFlow tensor.

    Returns:
        float32 images of the same shape (a NumPy array for NumPy input).
    """
    import tensorflow as tf

    x = tf.cast(tf.reverse(tf.convert_to_tensor(images), axis=[-1]), tf.float32)
    shape = tf.shape(x)
    rows = tf.reshape(x, [-1, shape[-2] * 3])
    rows -= tf.tile(tf.constant(_IMAGENET_BGR_MEAN, tf.float32), [shape[-2]])
    result = tf.reshape(rows, shape)
    return result.numpy() if isinstance(images, np.ndarray) else result


@dataclass(frozen=True)
class Backbone:
    """One registered backbone.

    Attributes:
        name: the registry key, e.g. ``"resnet50"``.
        application: name of the constructor in ``keras.applications``
            (e.g. ``"ResNet50"``), or None for a model the kit builds itself.
        preprocess: dotted name of the function that turns 0–255 images into
            the backbone's input (Keras's own ``preprocess_input`` or a kit
            function equal to it).
        default_size: input height and width it was trained at.
        min_size: the smallest height and width it accepts (keras.applications
            refuse anything below 32 px; the small CNN halves the size three times).
        channels: number of input channels it expects.
    """

    name: str
    application: str | None
    preprocess: str
    default_size: int
    channels: int
    min_size: int

    def preprocess_input(self) -> Callable:
        """The function that maps 0–255 images to this backbone's input range.

        Imports Keras when the function comes from ``keras.applications``.
        """
        module, _, function = self.preprocess.rpartition(".")
        return getattr(importlib.import_module(module), function)

    def constructor(self) -> Callable:
        """The ``keras.applications`` constructor (e.g. ``keras.applications.ResNet50``).

        Raises:
            ValueError: for a backbone the kit builds itself (no Keras application).
        """
        if self.application is None:
            raise _checks.fail(f"Backbone {self.name!r} is not a keras.applications model.",
                               "name", self.name)
        applications = importlib.import_module("keras.applications")
        return getattr(applications, self.application)


BACKBONES: dict[str, Backbone] = {
    b.name: b
    for b in (
        Backbone("resnet50", "ResNet50", f"{__name__}.imagenet_caffe", 224, 3, 32),
        Backbone("mobilenetv2", "MobileNetV2", "keras.applications.mobilenet_v2.preprocess_input", 224, 3, 32),
        Backbone("efficientnetb0", "EfficientNetB0", "keras.applications.efficientnet.preprocess_input",
                 224, 3, 32),
        Backbone("small_cnn", None, f"{__name__}.scale_to_unit", 64, 1, 8),
    )
}


def get_backbone(name: str) -> Backbone:
    """Look a backbone up by name.

    Args:
        name: one of ``backbone_names()``; case-insensitive.

    Returns:
        The :class:`Backbone`.

    Raises:
        ValueError: for an unknown name, listing the known ones.
    """
    key = name.lower() if isinstance(name, str) else name
    if key not in BACKBONES:
        raise _checks.fail(f"Unknown backbone; choose one of {backbone_names()}.", "backbone", name)
    return BACKBONES[key]


def backbone_names() -> tuple[str, ...]:
    """Names of the registered backbones."""
    return tuple(BACKBONES)
