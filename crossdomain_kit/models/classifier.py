"""Binary classifiers on a backbone: build them from scratch, ImageNet weights or a kit checkpoint.

Compiling them is :mod:`crossdomain_kit.models.compiling`; saving and loading
them, :mod:`crossdomain_kit.models.checkpoints`; the backbones themselves are
entries of the registry :mod:`crossdomain_kit.models.backbones`.

Every classifier the kit builds has the structure of the Keras
transfer-learning guide::

    inputs ─ backbone(inputs, training=False) ─ pool ─ dropout ─ logit

``backbone`` is ONE nested ``keras.Model`` (a ``keras.applications`` network
without its top, or the kit's small CNN), so freezing it, reporting on it or
swapping its weights is one object away (:func:`base_of`). The head ends in
a single logit with no sigmoid: the loss uses ``from_logits=True``, which is
numerically stable (lesson 02). Inputs arrive already preprocessed by
:func:`crossdomain_kit.data.pipeline.make_pipeline`, so the model has no
preprocessing layers.

A note on ``training=False``. In Keras 3 the ``training=True`` that ``fit``
passes down overrides the ``training=False`` recorded on the backbone call
(keras-team/keras#20285), so that call alone does NOT keep BatchNormalization
in inference mode during fine-tuning. What does is ``layer.trainable = False``
on the BatchNormalization layers, and :func:`crossdomain_kit.models.freezing.freeze`
keeps them so unless asked otherwise.

Importing this module imports Keras (and TensorFlow).

Introduced in ``notebooks/04_freezing_hyperparameters_lab.ipynb``.
"""

from __future__ import annotations

import numbers
import os
import warnings
from pathlib import Path

import keras

from .. import _checks
from .backbones import BACKBONES, get_backbone
from .weights import _brief, _no_imagenet_weights, keras_application, packaged_weights_file

BACKBONE_NAME = "backbone"

_CHECKPOINT_SUFFIXES = (".keras", ".weights.h5")


# --- The small CNN ----------------------------------------------------------------------------

def _seeded(seed, offset):
    return None if seed is None else seed + offset


def _small_cnn(input_shape, filters, seed) -> keras.Model:
    """Conv-BN-ReLU blocks with the registry's filters, max-pooling after all but the last.

    ``small_cnn`` (32-64-128-128 filters) has about 240k parameters and trains
    in seconds per epoch at 28-64 px on a CPU; ``small_cnn_wide`` doubles the filters.
    Layers are named ``block{i}_conv/_bn/_relu/_pool`` so that
    ``freeze(model, "from_layer", from_layer="block3")`` reads naturally.
    """
    inputs = keras.Input(input_shape)
    x = inputs
    for i, width in enumerate(filters, start=1):
        x = keras.layers.Conv2D(width, 3, padding="same", use_bias=False, name=f"block{i}_conv",
                                kernel_initializer=keras.initializers.HeNormal(_seeded(seed, i)))(x)
        # momentum 0.9, not Keras's 0.99: in short runs from scratch the moving
        # statistics must catch up within a few hundred steps, or validation AUC sticks at 0.5.
        x = keras.layers.BatchNormalization(momentum=0.9, name=f"block{i}_bn")(x)
        x = keras.layers.ReLU(name=f"block{i}_relu")(x)
        if i < len(filters):
            x = keras.layers.MaxPooling2D(2, name=f"block{i}_pool")(x)
    return keras.Model(inputs, x, name=BACKBONE_NAME)


# --- Building a classifier ----------------------------------------------------------------------

def _is_real(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _shown(path):
    """A path as error messages show it: a plain string."""
    return os.fspath(path) if isinstance(path, os.PathLike) else path


def _checked_input_shape(spec, input_shape, weights) -> tuple[int, int, int]:
    if input_shape is None:
        channels = 3 if weights == "imagenet" else spec.channels
        return (spec.default_size, spec.default_size, channels)
    shape = tuple(input_shape) if isinstance(input_shape, (tuple, list)) else ()
    if len(shape) != 3 or not all(isinstance(d, numbers.Integral) and not isinstance(d, bool) and d > 0
                                  for d in shape):
        raise _checks.fail("`input_shape` must be (height, width, channels) of positive integers.",
                           "input_shape", input_shape)
    minimum = spec.min_size
    if min(shape[:2]) < minimum:
        raise _checks.fail(f"Backbone {spec.name!r} needs images of at least {minimum}x{minimum} "
                           "pixels.", "input_shape", input_shape)
    if shape[2] not in (1, 3):
        raise _checks.fail("`input_shape` must have 1 (grey) or 3 (RGB) channels.",
                           "input_shape", input_shape)
    if weights == "imagenet" and shape[2] != 3:
        raise _checks.fail("ImageNet weights need 3 input channels (the pipeline makes grey "
                           "images RGB when asked for channels=3).", "input_shape", input_shape)
    return tuple(int(d) for d in shape)


def _checked_weights(spec, weights):
    """None, ``"imagenet"`` (Keras loads it) or the Path of a checkpoint to load (kit weights by name too)."""
    if weights is None:
        return None
    named = spec.weights_spec(weights) if isinstance(weights, str) else None
    if named is not None:
        return packaged_weights_file(spec.name, weights) if named.packaged else weights
    if weights == "imagenet":
        raise _no_imagenet_weights(spec.name, "weights", weights)
    if not isinstance(weights, (str, os.PathLike)):
        raise _checks.fail("`weights` must be None, 'imagenet' or a path to a .keras or "
                           ".weights.h5 file.", "weights", weights)
    path = Path(weights).expanduser()
    if not path.name.endswith(_CHECKPOINT_SUFFIXES):
        names = ", ".join(repr(w.name) for w in spec.weights)
        raise _checks.fail("A weights path must end in .keras (a saved model) or .weights.h5 "
                           f"(saved weights){f'; named weights of {spec.name}: {names}' if names else ''}.",
                           "weights", _shown(weights))
    if not path.is_file():
        raise _checks.fail(f"The weights file does not exist: {path}.", "weights", _shown(weights))
    return path


def _check_alpha(spec, weights, alpha) -> None:
    if not spec.takes_alpha:
        if alpha != 1.0:
            takers = " or ".join(f"backbone={b.name!r}" for b in BACKBONES.values() if b.takes_alpha)
            raise _checks.fail(f"`alpha` (a width multiplier) applies to {takers} only.", "alpha", alpha)
        return
    _checks.positive(alpha, "alpha")
    pretrained = spec.weights_spec(weights) if isinstance(weights, str) else None
    if pretrained is not None and pretrained.alphas and alpha not in pretrained.alphas:
        raise _checks.fail(f"{spec.application} has {pretrained.title} weights only for alpha in "
                           f"{pretrained.alphas}.", "alpha", alpha)


def build_classifier(backbone: str = "small_cnn", input_shape=None, weights=None, *,
                     dropout: float = 0.2, l2: float = 0.0, alpha: float = 1.0,
                     seed: int | None = None, name: str | None = None) -> keras.Model:
    """A binary classifier: backbone → global average pooling → dropout → one logit.

    Args:
        backbone: one of :func:`crossdomain_kit.models.backbones.backbone_names`.
        input_shape: (height, width, channels); defaults to the backbone's
            default size (3 channels for ImageNet weights).
        weights: ``None`` (random start), ``"imagenet"`` (from Keras's cache
            ``~/.keras/models``, downloaded once when online), the name of
            weights the kit ships for this backbone (see its registry entry;
            the file's SHA-256 is checked), or a path to a
            ``.keras`` model or ``.weights.h5`` file the kit saved: a whole
            classifier (backbone and head are loaded, e.g. one pretrained on a
            source domain) or a backbone alone (the head starts fresh).
        dropout: dropout rate before the logit, in [0, 1).
        l2: L2 penalty on the logit's kernel (0 for none).
        alpha: MobileNetV2's width multiplier; other backbones need 1.0.
        seed: seeds the head's and the small CNN's initial weights and the
            dropout masks; None for Keras's global random state (which also
            initialises ``keras.applications`` backbones built with weights=None).
        name: model name; defaults to ``"<backbone>_classifier"``.

    Returns:
        An uncompiled ``keras.Model`` with everything trainable (call
        :func:`crossdomain_kit.models.freezing.freeze` and
        :func:`crossdomain_kit.models.compiling.compile_classifier`).

    Raises:
        ValueError: for an unknown backbone, a bad or too small input shape,
            wrong channels for ImageNet weights, a weights value that is not
            None/"imagenet"/an existing checkpoint, a checkpoint that does not
            match the architecture, or a bad dropout, l2, alpha or seed.
        FileNotFoundError: ImageNet weights are neither cached nor downloadable;
            the message names the file, its URL and the folder to put it in.
    """
    spec = get_backbone(backbone)
    weights = _checked_weights(spec, weights)
    input_shape = _checked_input_shape(spec, input_shape, weights)
    if not _is_real(dropout) or not 0 <= dropout < 1:
        raise _checks.fail("`dropout` must be a number in [0, 1).", "dropout", dropout)
    l2 = _checks.real_in(l2, "l2", 0.0)
    _check_alpha(spec, weights, alpha)
    _checks.seed(seed, allow_none=True)
    if name is not None and (not isinstance(name, str) or not name):
        raise _checks.fail("`name` must be a non-empty string or None.", "name", name)

    if spec.application is None:
        base = _small_cnn(input_shape, spec.filters, seed)
    else:
        app = keras_application(spec.name, input_shape, weights, alpha=alpha)
        # Re-wrapped rather than renamed: EfficientNet derives its weight file name from `name`.
        base = keras.Model(app.inputs[0], app.outputs[0], name=BACKBONE_NAME)
    inputs = keras.Input(input_shape)
    features = base(inputs, training=False)
    x = keras.layers.GlobalAveragePooling2D(name="pool")(features)
    x = keras.layers.Dropout(dropout, seed=seed, name="dropout")(x)
    # float32 even under a mixed_float16 policy: the logit feeds a from-logits loss.
    logit = keras.layers.Dense(1, name="logit", dtype="float32",
                               kernel_initializer=keras.initializers.GlorotUniform(seed),
                               kernel_regularizer=keras.regularizers.L2(l2) if l2 else None)(x)
    model = keras.Model(inputs, logit, name=name or f"{spec.name}_classifier")
    if isinstance(weights, Path):
        _load_checkpoint(model, weights)
    return model


def base_of(model) -> keras.Model:
    """The nested backbone of a kit classifier.

    Raises:
        ValueError: if ``model`` has no nested model named ``"backbone"``.
    """
    layer = None
    if isinstance(model, keras.Model):
        layer = next((lay for lay in model.layers if lay.name == BACKBONE_NAME), None)
    if not isinstance(layer, keras.Model):
        raise _checks.fail(f"Expected a classifier from build_classifier, with a nested model named "
                           f"{BACKBONE_NAME!r}.", "model", model)
    return layer


def _head_weights(model):
    base_ids = {id(w) for w in base_of(model).weights}
    return [w for w in model.weights if id(w) not in base_ids]


# --- Starting from a kit checkpoint -----------------------------------------------------------------

def _shapes(weights):
    return [tuple(w.shape) for w in weights]


def _mismatch(expected, found, path: Path) -> ValueError:
    first = next((f"weight {i} is {e} here but {f} in the file"
                  for i, (e, f) in enumerate(zip(expected, found)) if e != f),
                 f"{len(expected)} weights here, {len(found)} in the file")
    return _checks.fail(f"The checkpoint {path.name} does not match this architecture ({first}); "
                        "build with the backbone and input channels it was saved with.",
                        "weights", str(path))


def _read_checkpoint_weights(model, path: Path):
    """(backbone weights, head weights or None) from a .keras or .weights.h5 file."""
    if path.name.endswith(".keras"):
        try:
            source = keras.saving.load_model(path, compile=False)
        except Exception as error:
            raise _checks.fail(f"Could not read the model file {path.name} ({_brief(error)}).",
                               "weights", str(path)) from error
        if any(layer.name == BACKBONE_NAME for layer in source.layers):
            return base_of(source).get_weights(), [w.numpy() for w in _head_weights(source)]
        return source.get_weights(), None
    # A .weights.h5 file does not say what it holds: try a whole classifier, then a backbone,
    # each on a fresh clone so that a failed attempt leaves nothing behind.
    errors = []
    for whole in (True, False):
        clone = keras.models.clone_model(model)
        target = clone if whole else base_of(clone)
        try:
            with warnings.catch_warnings():  # a failed attempt also warns about every skipped layer
                warnings.simplefilter("ignore")
                target.load_weights(path)
        except Exception as error:
            errors.append(_brief(error))
            continue
        return base_of(clone).get_weights(), ([w.numpy() for w in _head_weights(clone)] if whole else None)
    raise _checks.fail(f"The weights file {path.name} matches neither this classifier nor its backbone "
                       f"(as a classifier: {errors[0]}; as a backbone: {errors[1]}).", "weights", str(path))


def _load_checkpoint(model, path: Path) -> None:
    base_weights, head_weights = _read_checkpoint_weights(model, path)
    targets = base_of(model).weights + (_head_weights(model) if head_weights is not None else [])
    values = base_weights + (head_weights or [])
    if _shapes(targets) != [v.shape for v in values]:
        raise _mismatch(_shapes(targets), [v.shape for v in values], path)
    for variable, value in zip(targets, values):
        variable.assign(value)
