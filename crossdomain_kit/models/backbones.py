"""The backbones the kit knows: their Keras constructor, input size, channels and preprocessing.

One :class:`Backbone` entry in :data:`BACKBONES` holds everything about a
backbone: the constructor, the input sizes and channels, the preprocessing,
its pretrained weight files (:class:`WeightsSpec`: file name, download
address, hash) and examples of the block names that freezing accepts.
Layers belong to blocks by one naming rule for every backbone
(:func:`in_block`, :func:`block_of`), kept here beside the entries. Adding a
backbone is adding an entry.

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
import re
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
class WeightsSpec:
    """A named set of pretrained weights for a backbone without its top, and where its file comes from.

    ``build_classifier(backbone, weights=name)`` asks the backbone's entry for
    the set called ``name``; for ``"imagenet"`` the Keras application loads
    the file itself, from Keras's cache or downloaded from ``base_url``.

    Kit-trained weights ship inside the package (``packaged=True``): the file
    lies in ``crossdomain_kit/models/pretrained/`` beside its model card, and
    loading checks its SHA-256 (``file_hash``) first.

    Attributes:
        name: what ``weights=`` says, e.g. ``"imagenet"``.
        title: how messages name the set, e.g. ``"ImageNet"``.
        file: the file name, or its pattern with ``{alpha}`` (the width
            multiplier, written as a float) and ``{size}`` (the input size the
            file was trained at, see ``sizes``).
        base_url: the address of the folder the file is downloaded from.
        file_hash: the hash the download is checked against (MD5 or SHA-256
            hex, as ``keras.utils.get_file`` takes it), or None where Keras
            checks none.
        sizes: square input sizes with a file of their own; any other input
            shape gets the file of the last one. Empty when one file fits all sizes.
        alphas: the width multipliers the weights exist for; empty for a
            backbone without one.
        packaged: True for weights shipped with the kit (no download).
        input_size: the one square input size the weights were trained at,
            for weights trained at one size (the kit's own); None otherwise.
            Build the classifier at least this large (:meth:`fitting_size`;
            the pipeline resizes smaller images up to it): its filters then
            see structures at the scale they learned.
    """

    name: str
    title: str
    file: str
    base_url: str = ""
    file_hash: str | None = None
    sizes: tuple[int, ...] = ()
    alphas: tuple[float, ...] = ()
    packaged: bool = False
    input_size: int | None = None

    def fitting_size(self, size: int) -> int:
        """The side to build a classifier at for images of ``size`` px: raised to :attr:`input_size`, if any.

        Smaller images are resized up to the size the weights were trained at;
        larger ones keep their detail.
        """
        return max(size, self.input_size or 0)

    def file_name(self, input_shape, alpha: float = 1.0) -> str:
        """The file's name for a (height, width, channels) input and a width multiplier."""
        height, width = input_shape[0], input_shape[1]
        size = height if height == width and height in self.sizes else (self.sizes or (None,))[-1]
        return self.file.format(alpha=float(alpha), size=size)

    def url(self, input_shape, alpha: float = 1.0) -> str:
        """Where the file for this input and width multiplier is downloaded from."""
        return self.base_url + self.file_name(input_shape, alpha)


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
        takes_alpha: whether the constructor takes a width multiplier ``alpha``.
        filters: for a CNN the kit builds itself, the filters of its conv blocks.
        weights: the named pretrained weights it can start from (:class:`WeightsSpec`).
        blocks: examples of its block names for ``freeze(..., "from_layer", from_layer=...)``;
            each is a block of its layers by :func:`in_block`.
    """

    name: str
    application: str | None
    preprocess: str
    default_size: int
    channels: int
    min_size: int
    takes_alpha: bool = False
    filters: tuple[int, ...] = ()
    weights: tuple[WeightsSpec, ...] = ()
    blocks: tuple[str, ...] = ()

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

    def weights_spec(self, name: str) -> WeightsSpec | None:
        """The pretrained weights called ``name`` (e.g. ``"imagenet"``), or None if it has none such."""
        return next((spec for spec in self.weights if spec.name == name), None)


def _imagenet(file: str, base_url: str, **kwargs) -> WeightsSpec:
    """ImageNet weights as ``keras.applications`` downloads them (file name, folder, hash: Keras's own)."""
    return WeightsSpec("imagenet", "ImageNet", file, base_url, **kwargs)


def tinyimagenet_weights_name(backbone: str) -> str:
    """The file name, without ``.weights.h5``, of a backbone's Tiny ImageNet weights (``small_cnn_tinyimagenet``).

    ``crossdomain-kit pretrain`` writes the weights under it and the registry finds the shipped ones by it.
    """
    return f"{backbone}_tinyimagenet"


def _tinyimagenet(backbone: str, file_hash: str) -> WeightsSpec:
    """The kit's shipped Tiny ImageNet weights (trained at 32 px), named as ``crossdomain-kit pretrain`` writes them."""
    return WeightsSpec("tinyimagenet", "Tiny ImageNet (grey, 32 px)",
                       f"{tinyimagenet_weights_name(backbone)}.weights.h5", file_hash=file_hash, packaged=True,
                       input_size=32)


_KERAS_APPLICATIONS = "https://storage.googleapis.com/tensorflow/keras-applications/"

BACKBONES: dict[str, Backbone] = {
    b.name: b
    for b in (
        Backbone("resnet50", "ResNet50", f"{__name__}.imagenet_caffe", 224, 3, 32,
                 weights=(_imagenet("resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5",
                                    _KERAS_APPLICATIONS + "resnet/",
                                    file_hash="4d473c1dd8becc155b73f8504c6f6626"),),
                 blocks=("conv4", "conv5", "conv5_block3")),
        # Keras loads the weights of the nearest trained resolution, 224 unless square and listed.
        Backbone("mobilenetv2", "MobileNetV2", "keras.applications.mobilenet_v2.preprocess_input", 224, 3, 32,
                 takes_alpha=True,
                 weights=(_imagenet("mobilenet_v2_weights_tf_dim_ordering_tf_kernels_{alpha}_{size}_no_top.h5",
                                    _KERAS_APPLICATIONS + "mobilenet_v2/", sizes=(96, 128, 160, 192, 224),
                                    alphas=(0.35, 0.5, 0.75, 1.0, 1.3, 1.4)),),
                 blocks=("block_1", "block_16")),
        Backbone("efficientnetb0", "EfficientNetB0", "keras.applications.efficientnet.preprocess_input",
                 224, 3, 32,
                 weights=(_imagenet("efficientnetb0_notop.h5", "https://storage.googleapis.com/keras-applications/",
                                    file_hash="50bc09e76180e00e4465e1a485ddc09d"),),
                 blocks=("block6", "block6a")),
        # The kit's CPU backbones: conv-BN-ReLU blocks, max-pooling after all but the last.
        # The shipped weights' model cards: models/pretrained/small_cnn{,_wide}_tinyimagenet.md
        Backbone("small_cnn", None, f"{__name__}.scale_to_unit", 64, 1, 8, filters=(32, 64, 128, 128),
                 weights=(_tinyimagenet("small_cnn",
                                        "891ad3c90e883643e5eb30a0316bb746713e91814c98e2bee5b019d76ee2bd90"),),
                 blocks=("block3", "block4")),
        Backbone("small_cnn_wide", None, f"{__name__}.scale_to_unit", 64, 1, 8, filters=(64, 128, 256, 256),
                 weights=(_tinyimagenet("small_cnn_wide",
                                        "139178fbb3ecc7930571830d3365793d13d2c2b682dbd1f5bdb9f21fd29997b8"),),
                 blocks=("block3", "block4")),
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


def weights_names() -> tuple[str, ...]:
    """Names of the registered pretrained weights (what ``weights=`` can say), e.g. ``"imagenet"``."""
    return tuple(dict.fromkeys(spec.name for backbone in BACKBONES.values() for spec in backbone.weights))


def backbones_with_weights(name: str) -> tuple[str, ...]:
    """The registered backbones that have the pretrained weights called ``name`` (none for an unknown name)."""
    return tuple(backbone.name for backbone in BACKBONES.values() if backbone.weights_spec(name) is not None)


# --- Block names ---------------------------------------------------------------------------------

def in_block(name: str, block: str) -> bool:
    """Whether layer ``name`` is ``block`` or inside the block it names.

    ``conv5`` matches ``conv5_block1_1_conv``; ``block6`` matches
    ``block6a_expand_conv`` (EfficientNet's sub-blocks are letters); but
    ``block_1`` does not match ``block_16_expand``.
    """
    if name == block or name.startswith(block + "_"):
        return True
    rest = name[len(block):]
    return name.startswith(block) and block[-1:].isdigit() and rest[:1].isalpha()


def block_of(layer_name: str) -> str:
    """The block a layer belongs to, for grouping a backbone's layers into blocks.

    ``conv4_block6_out`` → ``conv4``; ``block_12_expand`` → ``block_12`` and
    ``Conv_1`` → ``Conv_1`` (MobileNetV2 numbers after an underscore);
    ``block2a_expand_conv`` → ``block2`` (EfficientNet's sub-blocks are
    letters); ``block3_conv`` → ``block3``.
    """
    parts = layer_name.split("_")
    if len(parts) > 1 and parts[1].isdigit():  # MobileNetV2's block_12_expand, Conv_1
        return "_".join(parts[:2])
    return re.sub(r"(\d+)[a-z]+$", r"\1", parts[0])  # EfficientNet's block2a, block2b -> block2


def block_names(layer_names) -> list[str]:
    """Every layer name and every ``_``-separated prefix of one, sorted (for suggestions)."""
    names = set()
    for layer_name in layer_names:
        parts = layer_name.split("_")
        names.update("_".join(parts[:i]) for i in range(1, len(parts) + 1))
    return sorted(names)
