"""Pretrained backbone weights through Keras's own cache, with an offline error that says what to do.

A ``keras.applications`` backbone built with ``weights="imagenet"`` loads its
file from Keras's cache (``~/.keras/models``), downloading it once when
online. Which file, and from where, is in the backbone's registry entry
(:class:`crossdomain_kit.models.backbones.WeightsSpec`); this module turns
that into a place on disk (:func:`imagenet_weights_location`) and builds the
application, failing in seconds, not at Keras's download timeout, with a
message that names the file, its address and the folder to put it in when
the weights are neither cached nor downloadable.

:func:`standin_imagenet_weights` is for testing and benchmarking offline: it
puts random weights in ImageNet's exact files into a temporary Keras cache,
so that the real loading code runs where the real files cannot be had.

Importing this module imports Keras (and TensorFlow).

Introduced in ``notebooks/04_freezing_hyperparameters_lab.ipynb``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import os
import shutil
import sys
import tempfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np
from keras.src.backend import config as _keras_config  # keras_home(): where Keras caches downloads

from .. import _checks
from . import backbones as _backbones
from .backbones import get_backbone

_DOWNLOAD_PROBE_TIMEOUT_S = 5.0
PRETRAINED_DIR = Path(__file__).resolve().parent / "pretrained"
"""Where the kit's own pretrained weights and their model cards ship, inside the package."""


def sha256_of(path) -> str:
    """The SHA-256 hex digest of a file, read in 1 MiB chunks."""
    return _file_digest(path, "sha256")


def _file_digest(path, algorithm: str) -> str:
    digest = hashlib.new(algorithm)
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


# --- Stand-in ImageNet weights, for testing and benchmarking offline ---------------------------------

def _hash_like(path, reference: str) -> str:
    """The file's hash in the algorithm of ``reference`` (64 hex digits: SHA-256; else MD5, as Keras's tables)."""
    return _file_digest(path, "sha256" if len(reference) == 64 else "md5")


def _float32_application(spec, input_shape, alpha, weights):
    """The application without its top, built in float32 whatever Keras's dtype policy (as the real files are)."""
    kwargs = {"alpha": alpha} if spec.takes_alpha else {}
    policy = keras.config.dtype_policy()
    keras.config.set_dtype_policy("float32")
    try:
        return spec.constructor()(include_top=False, weights=weights, input_shape=input_shape, **kwargs)
    finally:
        keras.config.set_dtype_policy(policy)


def _write_legacy_weights(app, path: Path) -> None:
    """Write a model's weights in the legacy HDF5 layout of Keras's ImageNet files.

    A ``layer_names`` attribute, one group per layer holding its arrays and a
    ``weight_names`` attribute in Keras's order (trainable, then
    non-trainable): what ``model.load_weights`` reads from a ``.h5`` file.
    """
    import h5py  # a dependency of Keras

    with h5py.File(path, "w") as file:
        file.attrs["layer_names"] = [layer.name.encode("utf8") for layer in app.layers]
        file.attrs["backend"] = b"tensorflow"
        file.attrs["keras_version"] = keras.__version__.encode("utf8")
        for layer in app.layers:
            group = file.create_group(layer.name)
            variables = layer.trainable_weights + layer.non_trainable_weights
            names = [f"{layer.name}/{variable.name}:0" for variable in variables]
            group.attrs["weight_names"] = [name.encode("utf8") for name in names]
            for name, variable in zip(names, variables):
                group.create_dataset(name, data=keras.ops.convert_to_numpy(variable))


def _set_batchnorm_statistics(app, spec, images) -> None:
    """Set every BatchNorm layer's moving mean and variance to its batch's on ``images`` (0–255).

    One forward pass in training mode with each layer's momentum at 0: in
    inference mode, each layer's outputs on such images are then normalised,
    as in a trained network. Random weights with BatchNorm's initial
    statistics (mean 0, variance 1) instead let activations vanish
    (MobileNetV2's features all zero) or overflow float16 in a deep network.
    """
    norms = [layer for layer in app.layers if isinstance(layer, keras.layers.BatchNormalization)]
    momenta = [layer.momentum for layer in norms]
    images = keras.ops.image.resize(np.asarray(images, "float32"), app.input_shape[1:3])
    try:
        for layer in norms:
            layer.momentum = 0.0
        app(spec.preprocess_input()(keras.ops.convert_to_numpy(images)), training=True)
    finally:
        for layer, momentum in zip(norms, momenta):
            layer.momentum = momentum


class _HashPatches:
    """Keras's hash of a backbone's ImageNet file, and the registry's copy of it, replaced until ``restore()``."""

    def __init__(self):
        self._originals = {}  # backbone -> (real hash, Keras's table, {key: its real hashes}, registry entry)

    def install(self, spec, path: Path) -> None:
        """Make Keras and the registry expect the file at ``path`` as ``spec``'s ImageNet weights.

        Raises:
            ValueError: if Keras's table does not hold the registry's hash.
        """
        if spec.name not in self._originals:
            real = spec.weights_spec("imagenet").file_hash
            if real is None:
                return  # Keras checks no hash for this file (MobileNetV2)
            table = getattr(sys.modules[spec.constructor().__module__], "WEIGHTS_HASHES", {})
            hashes = {key: value for key, value in table.items() if real in value}
            if not hashes:
                raise _checks.fail(f"Keras's table of weight hashes for {spec.application} does not hold the "
                                   f"registry's hash {real}; update the registry entry.", "backbones", spec.name)
            self._originals[spec.name] = (real, table, hashes, _backbones.BACKBONES[spec.name])
        real, table, hashes, entry = self._originals[spec.name]
        digest = _hash_like(path, real)
        for key, value in hashes.items():
            table[key] = tuple(digest if h == real else h for h in value)
        weights = tuple(dataclasses.replace(w, file_hash=digest) if w.name == "imagenet" else w for w in entry.weights)
        _backbones.BACKBONES[spec.name] = dataclasses.replace(entry, weights=weights)

    def restore(self) -> None:
        """Put back every hash and registry entry replaced."""
        for name, (_, table, hashes, entry) in self._originals.items():
            table.update(hashes)
            _backbones.BACKBONES[name] = entry
        self._originals.clear()


@contextlib.contextmanager
def standin_imagenet_weights(backbones=("resnet50",), *, input_shape=None, alpha: float = 1.0, images=None):
    """Within the ``with`` block, ``weights="imagenet"`` loads stand-in files from a temporary Keras cache.

    FOR TESTING AND BENCHMARKING OFFLINE ONLY: the weights are Keras's random
    initial ones, not ImageNet's, with BatchNorm statistics from one pass over
    ``images`` (so that activations on such images neither vanish nor
    overflow float16, as a trained network's do not). Each file has the exact
    name (:func:`imagenet_weights_location`), layout and shapes of the real
    one, in a temporary folder that Keras's cache folder (``keras_home()``)
    points to for the block, so the real loading code runs unchanged:
    ``build_classifier(..., weights="imagenet")`` finds the file where
    :func:`keras_weights_cache` says and Keras loads it with its own
    ``model.load_weights``, checking its hash against the stand-in's, which
    this puts in Keras's own table of hashes (and in the registry's
    ``WeightsSpec.file_hash``) in place of the real file's. Verification stays
    on: a stand-in changed after it was written fails the check. On leaving,
    Keras's cache folder, its hashes and the registry are restored and the
    files deleted; your real cache is never touched.

    Args:
        backbones: registered backbones with ImageNet weights.
        input_shape: (height, width, channels) to build at (MobileNetV2's
            file name depends on it); defaults to each backbone's default size.
        alpha: MobileNetV2's width multiplier.
        images: 0–255 images (n, height, width, 3) like the ones the models
            will see, for the BatchNorm statistics; default 4 images of uniform
            noise. A random deep network is sensitive to what it is
            calibrated on: EfficientNetB0 calibrated on noise may overflow
            float16 on real images, so give some.

    Yields:
        A dict: backbone name -> path of its stand-in file.

    Raises:
        ValueError: for an unknown backbone or one without ImageNet weights.
    """
    specs = {}
    for name in backbones:
        spec = get_backbone(name)
        if spec.weights_spec("imagenet") is None:
            raise _no_imagenet_weights(spec.name, "backbones", name)
        specs[spec.name] = spec
    home = Path(tempfile.mkdtemp(prefix="crossdomain_kit_standin_keras_"))
    original_home, patches = _keras_config.keras_home, _HashPatches()
    try:
        _keras_config.keras_home = lambda: str(home)
        files = {}
        for spec in specs.values():
            shape = tuple(input_shape or (spec.default_size, spec.default_size, spec.channels))
            sample = (np.random.default_rng(0).uniform(0, 255, (4, *shape[:2], 3)) if images is None else images)
            path = imagenet_weights_location(spec.name, shape, alpha=alpha).path
            path.parent.mkdir(parents=True, exist_ok=True)
            # Random weights first; then, loaded by Keras into the ImageNet architecture (EfficientNet's
            # has a layer more), their BatchNorm statistics are set and the file rewritten.
            _write_legacy_weights(_float32_application(spec, shape, alpha, None), path)
            patches.install(spec, path)
            app = _float32_application(spec, shape, alpha, "imagenet")
            _set_batchnorm_statistics(app, spec, sample)
            _write_legacy_weights(app, path)
            patches.install(spec, path)
            files[spec.name] = path
        yield files
    finally:
        _keras_config.keras_home = original_home
        patches.restore()
        shutil.rmtree(home, ignore_errors=True)
