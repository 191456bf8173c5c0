"""How a backbone is pretrained on a multi-class source: :class:`PretrainingPlan` and its defaults, defined once.

:class:`PretrainingPlan` is plain data (no TensorFlow), so the command line
can show its defaults in ``crossdomain-kit pretrain --help`` without
importing TensorFlow; the workflow that carries it out is
:func:`crossdomain_kit.workflows.pretraining.pretrain_backbone`.
:func:`pretrainable_backbones` names the backbones it accepts (those the kit
builds itself). The fast profile (``CROSSDOMAIN_FAST=1``) plans
:data:`FAST_EPOCHS` epoch on :data:`FAST_TRAIN_IMAGES` training and
:data:`FAST_VAL_IMAGES` validation images.

Introduced in the README ("The package"); the command is ``crossdomain-kit pretrain``.
"""

from __future__ import annotations

import numbers
from dataclasses import asdict, dataclass, field

from .. import _checks, config
from ..models.backbones import backbone_names, get_backbone

EPOCHS = 15
IMAGE_SIZE = 32  # Tiny ImageNet's own size
FAST_EPOCHS = 1
FAST_TRAIN_IMAGES = 2048
FAST_VAL_IMAGES = 512


def pretrainable_backbones() -> tuple[str, ...]:
    """The registered backbones the kit builds itself (``keras.applications`` ones bring ImageNet weights)."""
    return tuple(name for name in backbone_names() if get_backbone(name).application is None)


def _fraction_below_one(value, name: str, high: float = 1.0) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 <= value < high:
        raise _checks.fail(f"`{name}` must be a number in [0, {high:g}).", name, value)
    return float(value)


def _optional_count(value, name: str) -> int | None:
    return None if value is None else _checks.positive_int(value, name)


@dataclass(frozen=True)
class PretrainingPlan:
    """How to pretrain a backbone on a multi-class source: plain data, validated on creation.

    Attributes:
        backbone: a backbone the kit builds itself (:func:`pretrainable_backbones`,
            e.g. ``"small_cnn"``).
        image_size: height and width the network trains at (images of another
            size are resized).
        epochs: epochs of the run; the learning-rate schedule spans them all.
            Default ``pick(default=EPOCHS, fast=FAST_EPOCHS)``.
        batch_size: images per training batch.
        learning_rate: the peak learning rate of SGD with Nesterov momentum.
        momentum: SGD's momentum.
        weight_decay: decoupled weight decay (each step multiplies weights by
            ``1 − learning_rate × weight_decay``); BatchNorm's scales and
            offsets and the biases are not decayed.
        warmup_epochs: the learning rate rises linearly from 0 to its peak over
            this many epochs (at most half the run), then follows a cosine to
            0 at the last step.
        label_smoothing: share of each label spread over all classes.
        dropout: dropout rate before the logits.
        flip: random horizontal flips (never vertical: the sky stays up).
        translation: random shifts of up to this fraction of the height and of
            the width, borders reflected (0.125: up to 4 px at 32 px, the
            classic pad-and-crop).
        contrast: random contrast factor in ``[1 − contrast, 1 + contrast]``.
        brightness: random brightness shift of up to this fraction of 255.
        batchnorm_images: before every validation, BatchNorm's moving
            statistics are recomputed with the epoch's final weights on a
            seeded subset of this many unaugmented training images
            (:func:`crossdomain_kit.training.recompute_batchnorm_statistics`;
            at most the training images; 0: keep the moving averages, which
            lag weights that move fast).
        max_train_images: train on a seeded random subset of this many images
            (None: all). Default ``pick(default=None, fast=FAST_TRAIN_IMAGES)``.
        max_val_images: validate on a seeded random subset of this many images
            (None: all). Default ``pick(default=None, fast=FAST_VAL_IMAGES)``.

    Raises:
        ValueError: for a backbone that is unknown or a ``keras.applications``
            model, a size below the backbone's minimum, or a count, rate or
            fraction out of range; the message ends ``Received: name=value``.
    """

    backbone: str = "small_cnn"
    image_size: int = IMAGE_SIZE
    epochs: int = field(default_factory=lambda: config.pick(default=EPOCHS, fast=FAST_EPOCHS))
    batch_size: int = 128
    learning_rate: float = 0.1
    momentum: float = 0.9
    weight_decay: float = 5e-4
    warmup_epochs: float = 1.0
    label_smoothing: float = 0.1
    dropout: float = 0.1
    flip: bool = True
    translation: float = 0.125
    contrast: float = 0.2
    brightness: float = 0.1
    batchnorm_images: int = 12_800
    max_train_images: int | None = field(default_factory=lambda: config.pick(default=None, fast=FAST_TRAIN_IMAGES))
    max_val_images: int | None = field(default_factory=lambda: config.pick(default=None, fast=FAST_VAL_IMAGES))

    def __post_init__(self):
        spec = get_backbone(self.backbone)
        if spec.application is not None:
            raise _checks.fail(f"Pretraining builds the kit's own backbones ({', '.join(pretrainable_backbones())}); "
                               f"{spec.application} starts from ImageNet weights instead.", "backbone", self.backbone)
        size = _checks.positive_int(self.image_size, "image_size")
        if size < spec.min_size:
            raise _checks.fail(f"Backbone {spec.name!r} needs images of at least {spec.min_size} px.",
                               "image_size", self.image_size)
        if not isinstance(self.flip, bool):
            raise _checks.fail("`flip` must be True or False.", "flip", self.flip)
        values = dict(
            backbone=spec.name, image_size=size, epochs=_checks.positive_int(self.epochs, "epochs"),
            batch_size=_checks.positive_int(self.batch_size, "batch_size"),
            learning_rate=_checks.positive(self.learning_rate, "learning_rate"),
            momentum=_fraction_below_one(self.momentum, "momentum"),
            weight_decay=_checks.real_in(self.weight_decay, "weight_decay", 0.0),
            warmup_epochs=_checks.real_in(self.warmup_epochs, "warmup_epochs", 0.0),
            label_smoothing=_fraction_below_one(self.label_smoothing, "label_smoothing"),
            dropout=_fraction_below_one(self.dropout, "dropout"),
            translation=_fraction_below_one(self.translation, "translation", 0.5),
            contrast=_fraction_below_one(self.contrast, "contrast"),
            brightness=_fraction_below_one(self.brightness, "brightness"),
            batchnorm_images=_checks.non_negative_int(self.batchnorm_images, "batchnorm_images"),
            max_train_images=_optional_count(self.max_train_images, "max_train_images"),
            max_val_images=_optional_count(self.max_val_images, "max_val_images"))
        for name, value in values.items():  # canonical types: a plan equals its JSON round trip
            object.__setattr__(self, name, value)

    def as_dict(self) -> dict:
        """The settings, for checkpoints, reports and JSON files."""
        return asdict(self)

    def augmentation_summary(self) -> str:
        """The augmentation in words, e.g. ``"horizontal flip, shifts up to 12.5 %, ..."``."""
        parts = (["horizontal flip"] if self.flip else []) + [
            f"{what} {amount:.3g} %" for what, amount in (("shifts up to", 100 * self.translation),
                                                          ("contrast ±", 100 * self.contrast),
                                                          ("brightness ±", 100 * self.brightness)) if amount]
        return ", ".join(parts).replace("± ", "±") or "none"

    def describe(self) -> str:
        """One sentence: how the backbone will be pretrained."""
        subset = "".join(f", at most {n:,} {what} images" for n, what in
                         ((self.max_train_images, "training"), (self.max_val_images, "validation")) if n)
        return (f"{self.backbone} at {self.image_size} px for {self.epochs} epoch(s) of batch {self.batch_size}: "
                f"SGD (Nesterov momentum {self.momentum:g}) at peak learning rate {self.learning_rate:g}, "
                f"{self.warmup_epochs:g} warm-up epoch(s) then cosine decay to 0, weight decay "
                f"{self.weight_decay:g}, label smoothing {self.label_smoothing:g}, dropout {self.dropout:g}; "
                f"augmentation: {self.augmentation_summary()}{subset}; {self._batchnorm_summary()}.")

    def _batchnorm_summary(self) -> str:
        if not self.batchnorm_images:
            return "validated with BatchNorm's moving averages"
        return (f"BatchNorm statistics recomputed on {self.batchnorm_images:,} unaugmented training images before "
                "every validation")
