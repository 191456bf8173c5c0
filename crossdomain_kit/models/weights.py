"""Pretrained backbone weights through Keras's own cache, with an offline error that says what to do.

A ``keras.applications`` backbone built with ``weights="imagenet"`` loads its
file from Keras's cache (``~/.keras/models``), downloading it once when
online. Which file, and from where, is in the backbone's registry entry
(:class:`crossdomain_kit.models.backbones.WeightsSpec`); this module turns
that into a place on disk (:func:`imagenet_weights_location`) and builds the
application, failing in seconds, not at Keras's download timeout, with a
message that names the file, its address and the folder to put it in when
the weights are neither cached nor downloadable.

Importing this module imports Keras (and TensorFlow).

Introduced in ``notebooks/04_freezing_hyperparameters_lab.ipynb``.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import keras
from keras.src.backend import config as _keras_config  # keras_home(): where Keras caches downloads

from .. import _checks
from .backbones import get_backbone

_DOWNLOAD_PROBE_TIMEOUT_S = 5.0
PRETRAINED_DIR = Path(__file__).resolve().parent / "pretrained"
"""Where the kit's own pretrained weights and their model cards ship, inside the package."""


def sha256_of(path) -> str:
    """The SHA-256 hex digest of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for chunk in iter(lambda: file.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def packaged_weights_file(backbone: str, name: str) -> Path:
    """The file of kit-trained weights shipped with the package, its SHA-256 checked.

    ``build_classifier(backbone, weights=name)`` calls this for weights whose
    registry entry says ``packaged=True``, as it lets Keras load ``"imagenet"``.

    Args:
        backbone: a registered backbone name.
        name: the weights' name in its registry entry.

    Returns:
        The path of the verified ``.weights.h5`` file (the backbone alone).

    Raises:
        ValueError: for weights the backbone has not, or a file whose SHA-256
            differs from the registry's (a damaged installation).
        FileNotFoundError: when the file is missing from the installation.
    """
    spec = get_backbone(backbone).weights_spec(name)
    if spec is None or not spec.packaged:
        raise _checks.fail(f"Backbone {backbone!r} has no weights shipped with the kit under that name.",
                           "weights", name)
    path = PRETRAINED_DIR / spec.file
    if not path.is_file():
        raise FileNotFoundError(f"The kit's {spec.title} weights for {backbone} are missing from this "
                                f"installation ({path}); reinstall crossdomain-kit, which ships them.")
    digest = sha256_of(path)
    if digest != spec.file_hash:
        raise _checks.fail(f"The kit's weights file {path} is damaged (SHA-256 {digest}, expected "
                           f"{spec.file_hash}); reinstall crossdomain-kit.", "weights", name)
    return path


@dataclass(frozen=True)
class ImagenetWeights:
    """Where Keras looks for, and downloads, a backbone's ImageNet weights (no top).

    Attributes:
        file_name: the exact file name Keras expects in its cache.
        url: where Keras downloads it from.
        folder: Keras's cache folder for model weights (``$KERAS_HOME/models``,
            by default ``~/.keras/models``).
    """

    file_name: str
    url: str
    folder: Path

    @property
    def path(self) -> Path:
        """``folder / file_name``: put a downloaded copy here to work offline."""
        return self.folder / self.file_name


def keras_weights_cache() -> Path:
    """The folder where ``keras.applications`` caches downloaded weights.

    ``$KERAS_HOME/models`` (``~/.keras/models`` by default), or
    ``/tmp/.keras/models`` when that home is not writable, exactly as
    ``keras.utils.get_file`` decides.
    """
    home = Path(os.path.expanduser(_keras_config.keras_home()))
    if not os.access(home, os.W_OK):
        home = Path(tempfile.gettempdir()) / ".keras"
    return home / "models"


def _no_imagenet_weights(backbone_name: str, argument: str, value):
    return _checks.fail(f"Backbone {backbone_name!r} has no ImageNet weights; use weights=None or "
                        "a kit checkpoint.", argument, value)


def imagenet_weights_location(backbone: str, input_shape=None, *, alpha: float = 1.0) -> ImagenetWeights:
    """The file Keras needs for a backbone's ImageNet weights, and where it comes from.

    Args:
        backbone: a registered backbone with ImageNet weights (not ``"small_cnn"``).
        input_shape: (height, width, channels); only MobileNetV2's file depends
            on it. Defaults to the backbone's default size.
        alpha: MobileNetV2's width multiplier.

    Returns:
        :class:`ImagenetWeights` (file name, URL, cache folder).

    Raises:
        ValueError: for an unknown backbone or one without ImageNet weights.
    """
    spec = get_backbone(backbone)
    weights = spec.weights_spec("imagenet")
    if weights is None:
        raise _no_imagenet_weights(spec.name, "backbone", backbone)
    if input_shape is None:
        input_shape = (spec.default_size, spec.default_size, spec.channels)
    return ImagenetWeights(file_name=weights.file_name(input_shape, alpha),
                           url=weights.url(input_shape, alpha), folder=keras_weights_cache())


def _unavailable_message(backbone: str, location: ImagenetWeights, reason) -> str:
    return (f"ImageNet weights for {backbone!r} are not in the Keras cache and could not be "
            f"downloaded ({reason}). Download {location.url} on a machine with a network and "
            f"copy it into the folder {location.folder} as {location.file_name} "
            f"(full path: {location.path}); or build with weights=None (random start) or "
            "weights='path/to/checkpoint.keras' (a model the kit saved). "
            "Received: weights='imagenet'")


def _check_download_possible(backbone: str, location: ImagenetWeights) -> None:
    """Fail in seconds, not at Keras's download timeout, when the weights cannot be fetched."""
    request = urllib.request.Request(location.url, method="HEAD")
    try:
        with urllib.request.urlopen(request, timeout=_DOWNLOAD_PROBE_TIMEOUT_S):
            pass
    except (OSError, ValueError) as error:  # URLError, timeouts and refused connections are OSErrors
        raise FileNotFoundError(_unavailable_message(backbone, location, error)) from error


def _brief(error: Exception, limit: int = 300) -> str:
    """A Keras loading error in one short line (they can embed whole weight arrays)."""
    text = " ".join(str(error).split("Target variable:")[0].split())
    text = f"{type(error).__name__}: {text}"
    return text if len(text) <= limit else text[:limit - 3] + "..."


def keras_application(backbone: str, input_shape, weights=None, *, alpha: float = 1.0) -> keras.Model:
    """A backbone's ``keras.applications`` network without its top, random or with ImageNet weights.

    Arguments are not checked here beyond the backbone's name:
    :func:`crossdomain_kit.models.classifier.build_classifier` checks them.

    Args:
        backbone: a registered backbone with a Keras application.
        input_shape: (height, width, channels).
        weights: None (random start) or ``"imagenet"`` (from Keras's cache,
            downloaded once when online).
        alpha: the width multiplier, passed to backbones that take one.

    Returns:
        The Keras application, as Keras builds it.

    Raises:
        FileNotFoundError: ImageNet weights are neither cached nor downloadable;
            the message names the file, its URL and the folder to put it in.
        ValueError: the cached weights file cannot be loaded.
    """
    spec = get_backbone(backbone)
    kwargs = {"alpha": alpha} if spec.takes_alpha else {}
    constructor = spec.constructor()
    if weights != "imagenet":
        return constructor(include_top=False, weights=None, input_shape=input_shape, **kwargs)
    location = imagenet_weights_location(spec.name, input_shape, alpha=alpha)
    cached = location.path.exists()
    if not cached:
        _check_download_possible(spec.name, location)
    try:
        return constructor(include_top=False, weights="imagenet", input_shape=input_shape, **kwargs)
    except Exception as error:  # Keras raises a bare Exception when a download fails
        if cached:
            raise ValueError(f"The cached ImageNet weights {location.path} could not be loaded "
                             f"({_brief(error)}); delete the file to download it again. "
                             "Received: weights='imagenet'") from error
        raise FileNotFoundError(_unavailable_message(spec.name, location, error)) from error
