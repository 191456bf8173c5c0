"""Binary classifiers on a backbone: build, compile, save and load them.

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
import tempfile
import urllib.request
import warnings
from dataclasses import dataclass
from pathlib import Path

import keras
from keras.src.backend import config as _keras_config  # keras_home(): where Keras caches downloads

from .. import _checks
from .._files import sibling_temp_path
from .backbones import get_backbone

BACKBONE_NAME = "backbone"

# Widths (alpha) of MobileNetV2 that have ImageNet weights.
MOBILENETV2_IMAGENET_ALPHAS = (0.35, 0.5, 0.75, 1.0, 1.3, 1.4)

_SMALL_CNN_FILTERS = (32, 64, 128, 128)
_DOWNLOAD_PROBE_TIMEOUT_S = 5.0
_CHECKPOINT_SUFFIXES = (".keras", ".weights.h5")


# --- ImageNet weights through Keras's own cache --------------------------------------------------

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


def _mobilenetv2_file(input_shape, alpha) -> str:
    # Keras loads the weights of the nearest trained resolution, 224 unless square and listed.
    height, width = input_shape[0], input_shape[1]
    rows = height if height == width and height in (96, 128, 160, 192, 224) else 224
    return f"mobilenet_v2_weights_tf_dim_ordering_tf_kernels_{float(alpha)}_{rows}_no_top.h5"


_IMAGENET_FILES = {
    "resnet50": ("https://storage.googleapis.com/tensorflow/keras-applications/resnet/",
                 lambda shape, alpha: "resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5"),
    "mobilenetv2": ("https://storage.googleapis.com/tensorflow/keras-applications/mobilenet_v2/",
                    _mobilenetv2_file),
    "efficientnetb0": ("https://storage.googleapis.com/keras-applications/",
                       lambda shape, alpha: "efficientnetb0_notop.h5"),
}


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
    if spec.name not in _IMAGENET_FILES:
        raise _checks.fail(f"Backbone {spec.name!r} has no ImageNet weights; use weights=None or "
                           "a kit checkpoint.", "backbone", backbone)
    if input_shape is None:
        input_shape = (spec.default_size, spec.default_size, spec.channels)
    base_url, file_name = _IMAGENET_FILES[spec.name]
    name = file_name(input_shape, alpha)
    return ImagenetWeights(file_name=name, url=base_url + name, folder=keras_weights_cache())


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


def _application_base(spec, input_shape, weights, alpha) -> keras.Model:
    kwargs = {"alpha": alpha} if spec.name == "mobilenetv2" else {}
    constructor = spec.constructor()
    if weights != "imagenet":
        app = constructor(include_top=False, weights=None, input_shape=input_shape, **kwargs)
    else:
        location = imagenet_weights_location(spec.name, input_shape, alpha=alpha)
        cached = location.path.exists()
        if not cached:
            _check_download_possible(spec.name, location)
        try:
            app = constructor(include_top=False, weights="imagenet", input_shape=input_shape, **kwargs)
        except Exception as error:  # Keras raises a bare Exception when a download fails
            if cached:
                raise ValueError(f"The cached ImageNet weights {location.path} could not be loaded "
                                 f"({_brief(error)}); delete the file to download it again. "
                                 "Received: weights='imagenet'") from error
            raise FileNotFoundError(_unavailable_message(spec.name, location, error)) from error
    # Re-wrapped rather than renamed: EfficientNet derives its weight file name from `name`.
    return keras.Model(app.inputs[0], app.outputs[0], name=BACKBONE_NAME)


# --- The small CNN ----------------------------------------------------------------------------

def _seeded(seed, offset):
    return None if seed is None else seed + offset


def _small_cnn(input_shape, seed) -> keras.Model:
    """Four conv-BN-ReLU blocks (32-64-128-128 filters), max-pooling after the first three.

    About 240k parameters; trains in seconds per epoch at 28-64 px on a CPU.
    Layers are named ``block{i}_conv/_bn/_relu/_pool`` so that
    ``freeze(model, "from_layer", from_layer="block3")`` reads naturally.
    """
    inputs = keras.Input(input_shape)
    x = inputs
    for i, filters in enumerate(_SMALL_CNN_FILTERS, start=1):
        x = keras.layers.Conv2D(filters, 3, padding="same", use_bias=False, name=f"block{i}_conv",
                                kernel_initializer=keras.initializers.HeNormal(_seeded(seed, i)))(x)
        # momentum 0.9, not Keras's 0.99: in short runs from scratch the moving
        # statistics must catch up within a few hundred steps, or validation AUC sticks at 0.5.
        x = keras.layers.BatchNormalization(momentum=0.9, name=f"block{i}_bn")(x)
        x = keras.layers.ReLU(name=f"block{i}_relu")(x)
        if i < len(_SMALL_CNN_FILTERS):
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
    if weights is None:
        return None
    if weights == "imagenet":
        if spec.name not in _IMAGENET_FILES:
            raise _checks.fail(f"Backbone {spec.name!r} has no ImageNet weights; use weights=None or "
                               "a kit checkpoint.", "weights", weights)
        return weights
    if not isinstance(weights, (str, os.PathLike)):
        raise _checks.fail("`weights` must be None, 'imagenet' or a path to a .keras or "
                           ".weights.h5 file.", "weights", weights)
    path = Path(weights).expanduser()
    if not path.name.endswith(_CHECKPOINT_SUFFIXES):
        raise _checks.fail("A weights path must end in .keras (a saved model) or .weights.h5 "
                           "(saved weights).", "weights", _shown(weights))
    if not path.is_file():
        raise _checks.fail(f"The weights file does not exist: {path}.", "weights", _shown(weights))
    return path


def build_classifier(backbone: str = "small_cnn", input_shape=None, weights=None, *,
                     dropout: float = 0.2, l2: float = 0.0, alpha: float = 1.0,
                     seed: int | None = None, name: str | None = None) -> keras.Model:
    """A binary classifier: backbone → global average pooling → dropout → one logit.

    Args:
        backbone: one of :func:`crossdomain_kit.models.backbones.backbone_names`.
        input_shape: (height, width, channels); defaults to the backbone's
            default size (3 channels for ImageNet weights).
        weights: ``None`` (random start), ``"imagenet"`` (from Keras's cache
            ``~/.keras/models``, downloaded once when online), or a path to a
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
        :func:`crossdomain_kit.models.freezing.freeze` and :func:`compile_classifier`).

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
    if spec.name == "mobilenetv2":
        _checks.positive(alpha, "alpha")
        if weights == "imagenet" and alpha not in MOBILENETV2_IMAGENET_ALPHAS:
            raise _checks.fail(f"MobileNetV2 has ImageNet weights only for alpha in "
                               f"{MOBILENETV2_IMAGENET_ALPHAS}.", "alpha", alpha)
    elif alpha != 1.0:
        raise _checks.fail("`alpha` (a width multiplier) applies to backbone='mobilenetv2' only.",
                           "alpha", alpha)
    _checks.seed(seed, allow_none=True)
    if name is not None and (not isinstance(name, str) or not name):
        raise _checks.fail("`name` must be a non-empty string or None.", "name", name)

    if spec.application is None:
        base = _small_cnn(input_shape, seed)
    else:
        base = _application_base(spec, input_shape, weights, alpha)
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


# --- Checkpoints ------------------------------------------------------------------------------

def _head_weights(model):
    base_ids = {id(w) for w in base_of(model).weights}
    return [w for w in model.weights if id(w) not in base_ids]


def _shapes(weights):
    return [tuple(w.shape) for w in weights]


def _mismatch(expected, found, path: Path) -> ValueError:
    first = next((f"weight {i} is {e} here but {f} in the file"
                  for i, (e, f) in enumerate(zip(expected, found)) if e != f),
                 f"{len(expected)} weights here, {len(found)} in the file")
    return _checks.fail(f"The checkpoint {path.name} does not match this architecture ({first}); "
                        "build with the backbone and input channels it was saved with.",
                        "weights", str(path))


def _brief(error: Exception, limit: int = 300) -> str:
    """A Keras loading error in one short line (they can embed whole weight arrays)."""
    text = " ".join(str(error).split("Target variable:")[0].split())
    text = f"{type(error).__name__}: {text}"
    return text if len(text) <= limit else text[:limit - 3] + "..."


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
        model: a classifier from :func:`build_classifier`.
        path: destination ending in ``.keras``; missing folders are created.

    Returns:
        The path written, as a ``Path``.

    Raises:
        ValueError: if ``model`` is not a kit classifier or ``path`` does not end in ``.keras``.
    """
    base_of(model)
    path = _checked_model_path(path, must_exist=False)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = sibling_temp_path(path, suffix=".keras")  # Keras wants the .keras ending
    try:
        model.save(partial)
        os.replace(partial, path)
    finally:
        if os.path.exists(partial):
            os.remove(partial)
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


# --- Compiling, with discriminative learning rates ------------------------------------------------

@keras.saving.register_keras_serializable(package="crossdomain_kit")
class DiscriminativeOptimizer(keras.optimizers.Optimizer):
    """One optimizer, two learning rates: the head's and the backbone's.

    It routes each variable to one of two copies of the same optimizer (say
    Adam): the head's variables to a copy at ``learning_rate``, all others
    (the backbone's) to a copy at ``base_learning_rate``. Scaling gradients
    would not do this for Adam, whose steps do not depend on the gradient's
    scale; two inner optimizers do it for any algorithm.

    ``optimizer.learning_rate`` reads the head's rate; setting it (as
    ``ReduceLROnPlateau`` or a learning-rate finder does) sets both and keeps
    their ratio. The optimizer is serializable, so it survives
    ``get_compile_config``/``compile_from_config`` (used when freezing
    recompiles) and a ``.keras`` save and load. Global gradient clipping, if
    configured, applies to each group separately.

    Args:
        optimizer: the head's optimizer: an instance, a name or a config dict.
            Its learning rate must be a number, not a schedule.
        base_learning_rate: the backbone's learning rate (>= 0).
        head_paths: ``variable.path`` of every head variable.
        name: optimizer name.

    Introduced in ``notebooks/04_freezing_hyperparameters_lab.ipynb``.
    """

    def __init__(self, optimizer, base_learning_rate, head_paths, name="discriminative"):
        super().__init__(learning_rate=0.0, name=name)
        self.head_optimizer = keras.optimizers.get(optimizer)
        head_rate = self.head_optimizer.learning_rate
        if not isinstance(head_rate, keras.Variable):
            raise _checks.fail("The head optimizer needs a numeric learning rate, not a schedule.",
                               "optimizer", optimizer)
        base_learning_rate = _checks.real_in(base_learning_rate, "base_learning_rate", 0.0)
        config = self.head_optimizer.get_config()
        config.update(name=f"{config['name']}_base", learning_rate=base_learning_rate)
        self.base_optimizer = type(self.head_optimizer).from_config(config)
        self.head_paths = tuple(head_paths)
        self._base_ratio = base_learning_rate / float(head_rate.numpy())

    @property
    def learning_rate(self):
        return self.head_optimizer.learning_rate

    @learning_rate.setter
    def learning_rate(self, value):
        self.head_optimizer.learning_rate = value
        self.base_optimizer.learning_rate = value * self._base_ratio

    @property
    def base_learning_rate(self):
        """The backbone's learning rate (a variable)."""
        return self.base_optimizer.learning_rate

    @property
    def variables(self):
        return self._variables[:] + self.head_optimizer.variables + self.base_optimizer.variables

    def _split(self, variables, values=None):
        """Pairs (optimizer, [values], [variables]) for the head and the backbone."""
        values = variables if values is None else values
        groups = {True: ([], []), False: ([], [])}
        for value, variable in zip(values, variables):
            in_head = self._var_key(variable) in self._head_keys
            groups[in_head][0].append(value)
            groups[in_head][1].append(variable)
        return [(self.head_optimizer, *groups[True]), (self.base_optimizer, *groups[False])]

    def build(self, variables):
        if self.built:
            return
        paths = set(self.head_paths)
        self._head_keys = frozenset(self._var_key(v) for v in variables if v.path in paths)
        for optimizer, group, _ in self._split(variables):
            optimizer.build(group)
        super().build(variables)

    def apply(self, grads, trainable_variables=None):
        grads = list(grads)
        if not grads:
            return
        if trainable_variables is None:
            if not self.built:
                raise ValueError("Call `build(variables)` before applying gradients without variables.")
            trainable_variables = self._trainable_variables
        trainable_variables = list(trainable_variables)
        if not self.built:
            self.build(trainable_variables)
        for optimizer, group_grads, group_vars in self._split(trainable_variables, grads):
            if group_grads:
                optimizer.apply(group_grads, group_vars)
        self._iterations.assign_add(1)

    def finalize_variable_values(self, var_list):
        for optimizer, group, _ in self._split(var_list):
            if group:
                optimizer.finalize_variable_values(group)

    def get_config(self):
        return {
            "name": self.name,
            "optimizer": keras.optimizers.serialize(self.head_optimizer),
            "base_learning_rate": float(self.base_optimizer.learning_rate.numpy()),
            "head_paths": list(self.head_paths),
        }


def _make_optimizer(optimizer, learning_rate: float) -> keras.optimizers.Optimizer:
    if isinstance(optimizer, keras.optimizers.Optimizer):
        if isinstance(optimizer, DiscriminativeOptimizer):
            raise _checks.fail("Pass the head's optimizer and `base_learning_rate` instead of a "
                               "DiscriminativeOptimizer.", "optimizer", optimizer)
        config = optimizer.get_config()
        config["learning_rate"] = learning_rate
        return type(optimizer).from_config(config)
    if isinstance(optimizer, str):
        try:
            template = keras.optimizers.get(optimizer)
        except ValueError:
            template = None
        if template is not None:
            return _make_optimizer(template, learning_rate)
    raise _checks.fail("`optimizer` must be a Keras optimizer name (e.g. 'adam', 'sgd') or instance.",
                       "optimizer", optimizer)


def classifier_metrics() -> list:
    """Fresh metrics every kit classifier reports: ``auc`` and ``accuracy`` (logit threshold 0).

    Returns:
        ``[AUC(from_logits=True, name="auc"), BinaryAccuracy(threshold=0.0, name="accuracy")]``.

    Introduced in ``notebooks/04_freezing_hyperparameters_lab.ipynb``.
    """
    return [keras.metrics.AUC(from_logits=True, name="auc"),
            keras.metrics.BinaryAccuracy(threshold=0.0, name="accuracy")]


def compile_classifier(model, learning_rate: float = 1e-3, *, optimizer="adam",
                       base_learning_rate: float | None = None, jit_compile="auto") -> keras.Model:
    """Compile a classifier for binary labels with a from-logits loss.

    Loss ``BinaryCrossentropy(from_logits=True)``; metrics ``auc``
    (``AUC(from_logits=True)``) and ``accuracy`` (``BinaryAccuracy`` at logit
    0, i.e. probability 0.5). The optimizer is built right away on the
    currently trainable variables, so :func:`crossdomain_kit.models.freezing.needs_recompile`
    can tell when they change.

    Args:
        model: a classifier from :func:`build_classifier`.
        learning_rate: the learning rate (the head's, with ``base_learning_rate``).
        optimizer: a Keras optimizer name or instance; an instance is a
            template whose settings (momentum, ...) are kept and whose
            learning rate is replaced by ``learning_rate``.
        base_learning_rate: None for one learning rate everywhere, or the
            backbone's own (>= 0), usually smaller: discriminative fine-tuning
            via :class:`DiscriminativeOptimizer`.
        jit_compile: ``"auto"`` (XLA on GPUs only), True or False.

    Returns:
        ``model``, compiled.

    Raises:
        ValueError: for a model that is not a kit classifier, a learning rate
            that is not a finite number > 0, a negative ``base_learning_rate``,
            an unknown optimizer, or a bad ``jit_compile``.
    """
    base_of(model)
    learning_rate = _checks.positive(learning_rate, "learning_rate")
    if base_learning_rate is not None:
        base_learning_rate = _checks.real_in(base_learning_rate, "base_learning_rate", 0.0)
    if jit_compile not in ("auto", True, False):
        raise _checks.fail("`jit_compile` must be 'auto', True or False.", "jit_compile", jit_compile)
    head_optimizer = _make_optimizer(optimizer, learning_rate)
    if base_learning_rate is None:
        chosen = head_optimizer
    else:
        chosen = DiscriminativeOptimizer(head_optimizer, base_learning_rate,
                                         head_paths=[w.path for w in _head_weights(model)])
    model.compile(optimizer=chosen,
                  loss=keras.losses.BinaryCrossentropy(from_logits=True),
                  metrics=classifier_metrics(),
                  jit_compile=jit_compile)
    model.optimizer.build(model.trainable_variables)
    return model

