"""Which classifier to fine-tune on a user's data: backbone, image size and starting weights.

The choice fills in what the user left out from the data (the images' own
size), the machine (a GPU or not) and the profile, and builds the classifier.
Default ImageNet weights that cannot be had (offline and not cached) give way
to a random start, saying so in :attr:`ModelChoice.notes`. The ``finetune``
command uses it (:func:`model_and_plan`); its training then goes through
:func:`crossdomain_kit.workflows.finetune.run_fine_tune`. Options that cannot
work together are refused before any data is read
(:mod:`crossdomain_kit.workflows.preflight`).

Importing this module imports TensorFlow and Keras.

Introduced in the README ("Set up": ``crossdomain-kit finetune``).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field, replace

from .. import config
from ..data.domains import Domain
from ..data.user_data import native_image_size
from ..models.backbones import backbones_with_weights, get_backbone
from ..models.classifier import build_classifier
from ..models.predict import backbone_of
from ..training import gpu_available
from .plan import BATCH_SIZE, LEARNING_RATE, FineTunePlan, default_epochs
from .preflight import FREEZE_NEEDS_WEIGHTS, OptionError

FALLBACK_BACKBONE = "small_cnn"
IMAGENET_BACKBONE = "mobilenetv2"  # the default backbone for ImageNet weights
SMALL_IMAGE_SIZE = 64  # the small CNN's default side on the CPU (32 in the fast profile)


@dataclass
class ModelChoice:
    """The classifier to fine-tune, with the defaults filled in.

    Attributes:
        backbone: a registered backbone name.
        image_size: image side in pixels.
        weights: ``None`` (random start), a registered weights name
            (``"imagenet"``, ``"tinyimagenet"``), a checkpoint path, or a
            description of a source model.
        pretrained: True when training starts from learned weights (two phases).
        notes: why a default was chosen, for the report.
    """

    backbone: str
    image_size: int
    weights: str | None
    pretrained: bool
    notes: list[str] = field(default_factory=list)

    def describe(self) -> str:
        """One sentence: the network, its input size and where its weights come from."""
        named = get_backbone(self.backbone).weights_spec(self.weights) if self.weights else None
        start = ("random start" if self.weights is None else
                 f"{named.title} weights" if named else f"weights {self.weights}")
        return f"Model: {self.backbone} at {self.image_size} px, {start}."

    def as_dict(self) -> dict:
        """The choice for reports and JSON files."""
        return {"backbone": self.backbone, "image_size": self.image_size, "weights": self.weights or "none",
                "pretrained": self.pretrained}

    def build(self, seed: int = 0):
        """The classifier: ImageNet weights take three channels, other starts the backbone's own."""
        channels = 3 if self.weights == "imagenet" else get_backbone(self.backbone).channels
        return build_classifier(self.backbone, (self.image_size, self.image_size, channels), self.weights,
                                seed=seed)


def choose_model(domain: Domain, *, backbone: str | None = None, image_size: int | None = None,
                 weights: str | None = None) -> ModelChoice:
    """Fill in backbone, image size and weights from the data and the machine.

    Args:
        domain: the data to fine-tune on (its training images set the size).
        backbone: a registered name; default: MobileNetV2 for ImageNet
            weights and for images of 64 px or more on a GPU, the small CNN
            otherwise.
        image_size: default: the small CNN at the images' own size (between
            its minimum and 64 px), raised to the size its named weights were
            trained at (Tiny ImageNet: 32 px); an ImageNet backbone at its
            default size.
        weights: a registered weights name (``"imagenet"``, ``"tinyimagenet"``),
            ``"none"``, a checkpoint path; default: ImageNet for ImageNet
            backbones, none for the small CNN. Named weights without a
            backbone pick one that has them (MobileNetV2 for ImageNet).

    Returns:
        :class:`ModelChoice`.
    """
    native = native_image_size(domain.train)
    notes = []
    having = backbones_with_weights(weights) if weights else ()
    if backbone is None and having:
        backbone = IMAGENET_BACKBONE if IMAGENET_BACKBONE in having else having[0]
        title = get_backbone(backbone).weights_spec(weights).title
        notes.append(f"backbone {backbone}: {title} weights were asked for")
    if backbone is None:
        large = native >= 64 and gpu_available() and not config.is_fast()
        fits = image_size is None or image_size >= get_backbone(IMAGENET_BACKBONE).min_size
        backbone = IMAGENET_BACKBONE if large and fits else FALLBACK_BACKBONE
        notes.append(f"backbone {backbone}: images of about {native} px on a "
                     f"{'GPU' if gpu_available() else 'CPU'}")
    spec = get_backbone(backbone)
    weights = weights or ("none" if spec.application is None else "imagenet")
    weights = None if weights == "none" else weights
    if image_size is None:
        image_size = (min(max(native, spec.min_size), config.pick(default=SMALL_IMAGE_SIZE, fast=32))
                      if spec.application is None else spec.default_size)
        named = spec.weights_spec(weights) if weights else None
        if named is not None and named.fitting_size(image_size) != image_size:
            image_size = named.fitting_size(image_size)
            notes.append(f"{image_size} px: the size the {named.title} weights were trained at")
    return ModelChoice(backbone, image_size, weights, weights is not None, notes)


def source_model_choice(source_model, described_as: str, *, backbone: str | None = None,
                        image_size: int | None = None) -> ModelChoice:
    """The choice for fine-tuning a model trained elsewhere (its backbone and input size).

    Raises:
        OptionError: when ``backbone`` or ``image_size`` differ from the model's.
    """
    own_backbone, own_size = backbone_of(source_model), int(source_model.input_shape[1])
    if backbone and backbone != own_backbone:
        raise OptionError(f"--backbone {backbone} differs from the source model's backbone "
                          f"{own_backbone}; leave --backbone out to fine-tune the source model.")
    if image_size and image_size != own_size:
        raise OptionError(f"--image-size {image_size} differs from the source model's input "
                          f"size {own_size}; leave --image-size out to fine-tune the source model.")
    return ModelChoice(own_backbone, own_size, described_as, True)


def build_with_fallback(choice: ModelChoice, domain: Domain, *, seed: int = 0, backbone_given: bool = False,
                        image_size: int | None = None, weights_given: bool = False):
    """``(choice, model)``; default ImageNet weights that cannot be had give way to a random start.

    When the weights were not asked for and cannot be had (offline, not in
    Keras's cache), the small CNN is built instead, or, when the backbone was
    asked for, that backbone from a random start; a note says why. Asked-for
    weights that cannot be had stay an error.

    Args:
        choice: from :func:`choose_model`.
        domain: the data (for the small CNN's image size).
        seed: seeds the new weights.
        backbone_given: the user named the backbone (keep it).
        image_size: the user's image size, if any (kept by the fallback).
        weights_given: the user named the weights (no fallback).

    Returns:
        ``(ModelChoice, keras.Model)``.

    Raises:
        FileNotFoundError: for asked-for weights that cannot be had.
    """
    try:
        return choice, choice.build(seed)
    except FileNotFoundError as error:
        if weights_given:
            raise
        reason = str(error).split(". ")[0]
        if backbone_given:
            choice = replace(choice, weights=None, pretrained=False)
        else:
            choice = choose_model(domain, backbone=FALLBACK_BACKBONE, image_size=image_size)
        choice.notes.append(f"{reason}; using {choice.backbone} from a random start instead "
                            "(--weights imagenet makes this an error)")
        return choice, choice.build(seed)


def model_and_plan(domain: Domain, *, source=None, backbone: str | None = None, weights: str | None = None,
                   freeze: dict | None = None, image_size: int | None = None, epochs: int | None = None,
                   batch_size: int | None = None, learning_rate: float | None = None, seed: int = 0):
    """The ``finetune`` command's model and plan: the options left out filled in from the data and the machine.

    Args:
        domain: the data to fine-tune on.
        source: a .keras classifier to fine-tune (its backbone and size), or None.
        backbone, weights, image_size: as :func:`choose_model` takes them.
        freeze: what trains after the head (:func:`crossdomain_kit.models.freezing.freeze`
            arguments); pretrained starts only.
        epochs: most epochs (default from the number of training images).
        batch_size, learning_rate: the plan's (defaults of :mod:`~crossdomain_kit.workflows.plan`).
        seed: seeds the new weights.

    Returns:
        ``(ModelChoice, keras.Model, FineTunePlan)``. Default ImageNet weights
        that cannot be had give way to a random start with a warning.

    Raises:
        OptionError: ``freeze`` with a random start; a ``backbone`` or
            ``image_size`` that differs from the source model's.
        ValueError: a source model that cannot be read.
    """
    if source:
        from ..models.checkpoints import load_classifier
        model = load_classifier(source, compile=False)
        choice = source_model_choice(model, f"source model {source}", backbone=backbone, image_size=image_size)
    else:
        choice = choose_model(domain, backbone=backbone, image_size=image_size, weights=weights)
        if freeze is not None and not choice.pretrained:
            raise OptionError(FREEZE_NEEDS_WEIGHTS)
        built, model = build_with_fallback(choice, domain, seed=seed, backbone_given=backbone is not None,
                                           image_size=image_size, weights_given=weights is not None)
        if built is not choice:  # default ImageNet weights could not be had
            warnings.warn(f"{built.notes[-1]}.", stacklevel=2)
        choice = built
    epochs = epochs or config.pick(default=default_epochs(len(domain.train)), fast=2)
    common = {"batch_size": batch_size or BATCH_SIZE, "learning_rate": learning_rate or LEARNING_RATE}
    share = float(sum(domain.train.labels)) / len(domain.train.labels)  # class weights when a class is under 40 %
    if choice.pretrained:
        plan = FineTunePlan.pretrained(epochs, unfreeze=freeze or "all",
                                       class_weight="balanced" if min(share, 1 - share) < 0.4 else None, **common)
    else:
        plan = FineTunePlan(epochs=epochs, **common)
    return choice, model, plan
