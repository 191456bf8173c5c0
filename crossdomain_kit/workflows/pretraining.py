"""Supervised multi-class pretraining of the kit's CPU backbones on a general-domain source.

The course's promise, "a model pretrained on a large general-purpose image
collection, fine-tuned on medical images with few labels", needs ImageNet
weights, which a laptop without network or GPU cannot have. So the kit
pretrains its own small backbone on Tiny ImageNet as grey 32 px images
(:func:`crossdomain_kit.data.tinyimagenet.load_tinyimagenet`; 202 classes) and
ships the backbone's weights, which
:func:`~crossdomain_kit.models.classifier.build_classifier` loads as
``weights=PATH`` into a binary classifier at 28–64 px.

* :class:`PretrainingPlan` says how (plain data, its defaults defined once
  here): the backbone, the size, the epochs, SGD with Nesterov momentum, a
  linear warm-up then cosine decay to 0, decoupled weight decay (not on
  BatchNorm and biases), label smoothing, dropout, and an augmentation for grey
  natural images (horizontal flip, shifts of up to an eighth of the side with
  reflected borders, mild contrast and brightness; never a vertical flip).
* :func:`pretrain_backbone` builds the backbone exactly as the classifier
  builds it, puts a multi-class head on it (pooling → dropout → one logit per
  class), trains it with ``tf.data`` on in-memory arrays and reports top-1
  and top-5 accuracy on validation every epoch. With ``checkpoint_dir`` it is
  resumable: after every epoch it writes the weights, the optimizer state
  and the history (each file atomically), and calling it again with the same
  plan, seed, data and folder continues from the last finished epoch and ends
  with the same history and weights as an uninterrupted run. Ctrl-C keeps
  the finished epochs and says how to resume.
* :class:`PretrainingResult` holds the model, its backbone and the history;
  :meth:`PretrainingResult.save_backbone` writes the backbone's weights
  (returning their sha256) and :func:`model_card` describes them.

Every random choice is seeded per epoch (the shuffle order and the
augmentation of epoch ``e`` depend on the seed and ``e`` only; the dropout
masks' generator state is checkpointed), which is what makes a resumed run
equal to an uninterrupted one.

The fast profile (``CROSSDOMAIN_FAST=1``) trains one epoch on a subset of
2,048 training and 512 validation images.

Importing this module does not import TensorFlow (the command line reads
the plan's defaults for ``--help``); training and saving do.

Introduced in the README ("The package"); the command is ``crossdomain-kit pretrain``.
"""

from __future__ import annotations

import hashlib
import json
import math
import numbers
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from .. import _checks, config
from .._files import sibling_temp_path
from ..models.backbones import backbone_names, get_backbone

EPOCHS = 15
FAST_EPOCHS = 1
FAST_TRAIN_IMAGES = 2048
FAST_VAL_IMAGES = 512
TOP_K = 5
PROGRESS_FILE = "progress.json"
_CHECKPOINT_FORMAT = 1
_SHOWN_METRICS = ("loss", "top1", "val_top1", "val_top5")
TERMS = ("The training images come from Tiny ImageNet (Stanford CS231n), a subset of ImageNet "
         "(Deng et al. 2009), whose terms allow non-commercial research and educational use only. "
         "These weights are derived from those images: use them for non-commercial research and "
         "education only. The images' copyrights stay with their owners; no image is shipped with the weights.")


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
    image_size: int = 32
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
                f"augmentation: {self.augmentation_summary()}{subset}.")


# --- The data: anything with train_images, train_labels, val_images, val_labels -----------------------

@dataclass(frozen=True)
class _Arrays:
    train_images: np.ndarray  # (n, height, width, 1), 0-255
    train_labels: np.ndarray  # (n,) int32 in [0, n_classes)
    val_images: np.ndarray
    val_labels: np.ndarray
    n_classes: int
    class_names: tuple[str, ...] | None

    def summary(self) -> dict:
        digest = hashlib.sha256()
        for array in (self.train_images, self.train_labels, self.val_images, self.val_labels):
            digest.update(f"{array.dtype.str}{array.shape}".encode())
            digest.update(np.ascontiguousarray(array).data)
        return {"n_train": int(self.train_labels.size), "n_val": int(self.val_labels.size),
                "n_classes": self.n_classes, "image_shape": list(self.train_images.shape[1:]),
                "sha256": digest.hexdigest()}


def _images(value, name: str) -> np.ndarray:
    images = np.asarray(value)
    if images.ndim == 3:
        images = images[..., None]
    if images.ndim != 4 or images.shape[-1] != 1 or len(images) == 0:
        raise _checks.fail(f"`{name}` must be grey images shaped (n, height, width) or (n, height, width, 1).",
                           name, images.shape)
    if images.dtype != np.uint8:
        if not np.issubdtype(images.dtype, np.number) or images.min() < 0 or images.max() > 255:
            raise _checks.fail(f"`{name}` must hold 0-255 pixel values (uint8).", name, images.dtype)
        images = images.astype(np.float32)
    return images


def _labels(value, name: str, n_images: int, n_classes: int) -> np.ndarray:
    labels = np.asarray(value)
    if labels.ndim == 2 and labels.shape[1] == 1:
        labels = labels[:, 0]
    if labels.ndim != 1 or labels.size != n_images or not np.issubdtype(labels.dtype, np.integer):
        raise _checks.fail(f"`{name}` must be integer class indices, one per image ({n_images}).", name, labels)
    if labels.min() < 0 or labels.max() >= n_classes:
        raise _checks.fail(f"`{name}` must lie in [0, {n_classes}).", name, labels)
    return labels.astype(np.int32)


def _arrays(data) -> _Arrays:
    wanted = ("train_images", "train_labels", "val_images", "val_labels")
    missing = [name for name in wanted if not hasattr(data, name)]
    if missing:
        raise _checks.fail(f"`data` must have {', '.join(wanted)} (e.g. from crossdomain_kit.data.tinyimagenet."
                           f"load_tinyimagenet); it has no {', '.join(missing)}.", "data", data)
    names = getattr(data, "class_names", None)
    names = None if names is None else tuple(str(n) for n in names)
    n_classes = getattr(data, "n_classes", None)
    if n_classes is None:
        n_classes = len(names) if names is not None else int(np.max(data.train_labels)) + 1
    if isinstance(n_classes, bool) or not isinstance(n_classes, numbers.Integral) or n_classes < 2:
        raise _checks.fail("`data.n_classes` must be an integer >= 2.", "n_classes", n_classes)
    train, val = _images(data.train_images, "train_images"), _images(data.val_images, "val_images")
    return _Arrays(train, _labels(data.train_labels, "train_labels", len(train), n_classes),
                   val, _labels(data.val_labels, "val_labels", len(val), n_classes), int(n_classes), names)


def _subset(images, labels, limit, rng):
    if limit is None or limit >= labels.size:
        return images, labels
    keep = np.sort(rng.permutation(labels.size)[:limit])
    return images[keep], labels[keep]


def _planned_arrays(data, plan: PretrainingPlan, seed: int) -> _Arrays:
    arrays = _arrays(data)
    rng = np.random.default_rng(seed)
    train = _subset(arrays.train_images, arrays.train_labels, plan.max_train_images, rng)
    val = _subset(arrays.val_images, arrays.val_labels, plan.max_val_images, rng)
    return _Arrays(*train, *val, arrays.n_classes, arrays.class_names)


# --- The network, its training and its inputs (TensorFlow from here) -----------------------------------

def _build_model(plan: PretrainingPlan, n_classes: int, seed: int):
    """(multi-class model, backbone): the backbone exactly as build_classifier builds it."""
    import keras

    from ..models.classifier import base_of, build_classifier

    shape = (plan.image_size, plan.image_size, 1)
    base = base_of(build_classifier(plan.backbone, shape, seed=seed))
    inputs = keras.Input(shape, name="images")
    x = keras.layers.GlobalAveragePooling2D(name="pool")(base(inputs))  # BatchNorm trains: no training=False
    x = keras.layers.Dropout(plan.dropout, seed=seed, name="dropout")(x)
    logits = keras.layers.Dense(n_classes, dtype="float32", name="logits",
                                kernel_initializer=keras.initializers.GlorotUniform(seed))(x)
    return keras.Model(inputs, logits, name=f"{plan.backbone}_pretraining"), base


def _schedule(plan: PretrainingPlan, steps_per_epoch: int):
    import keras

    total = plan.epochs * steps_per_epoch
    warmup = min(round(plan.warmup_epochs * steps_per_epoch), total // 2)
    if warmup == 0:
        return keras.optimizers.schedules.CosineDecay(plan.learning_rate, total, alpha=0.0)
    return keras.optimizers.schedules.CosineDecay(0.0, total - warmup, alpha=0.0,
                                                  warmup_target=plan.learning_rate, warmup_steps=warmup)


def _compile(model, plan: PretrainingPlan, n_classes: int, steps_per_epoch: int) -> None:
    """SGD on the schedule; cross-entropy on one-hot labels, the one Keras loss with label smoothing."""
    import keras

    optimizer = keras.optimizers.SGD(_schedule(plan, steps_per_epoch), momentum=plan.momentum, nesterov=True,
                                     weight_decay=plan.weight_decay or None)
    if plan.weight_decay:  # not BatchNorm's gamma and beta, not biases: the vectors
        optimizer.exclude_from_weight_decay(var_list=[v for v in model.trainable_variables if len(v.shape) == 1])
    model.compile(optimizer=optimizer,
                  loss=keras.losses.CategoricalCrossentropy(from_logits=True, label_smoothing=plan.label_smoothing),
                  metrics=[keras.metrics.CategoricalAccuracy(name="top1"),
                           keras.metrics.TopKCategoricalAccuracy(k=min(TOP_K, n_classes), name="top5")])


def augmentation(plan: PretrainingPlan, seed: int | None = 0):
    """The plan's augmentation as Keras preprocessing layers on 0–255 batches, or None when it has none.

    Args:
        plan: the :class:`PretrainingPlan` (``flip``, ``translation``, ``contrast``, ``brightness``).
        seed: seed of the first layer (the next ones use seed + 1, + 2, ...), or None.

    Returns:
        A ``keras.Sequential`` (active only when called with ``training=True``), or None.
    """
    import keras

    seeds = [None] * 4 if seed is None else [seed + i for i in range(4)]
    layers = []
    if plan.flip:
        layers.append(keras.layers.RandomFlip("horizontal", seed=seeds[0]))
    if plan.translation:
        layers.append(keras.layers.RandomTranslation(plan.translation, plan.translation, fill_mode="reflect",
                                                     interpolation="nearest", seed=seeds[1]))
    if plan.contrast:
        layers.append(keras.layers.RandomContrast(plan.contrast, value_range=(0, 255), seed=seeds[2]))
    if plan.brightness:
        layers.append(keras.layers.RandomBrightness(plan.brightness, value_range=(0, 255), seed=seeds[3]))
    return keras.Sequential(layers, name="pretraining_augmentation") if layers else None


def _epoch_seed(seed: int, epoch: int) -> int:
    """The shuffle and augmentation seed of one epoch: a function of the run's seed and the epoch only."""
    return int(np.random.SeedSequence([seed, epoch]).generate_state(1)[0] % 2**30)


def _prepare(plan: PretrainingPlan, n_classes: int, augment=None):
    import tensorflow as tf

    preprocess = get_backbone(plan.backbone).preprocess_input()
    size = (plan.image_size, plan.image_size)

    def prepare(images, labels):
        images = tf.cast(images, tf.float32)
        if tuple(images.shape[1:3]) != size:
            images = tf.image.resize(images, size, antialias=True)
        if augment is not None:
            images = augment(images, training=True)
        return preprocess(images), tf.one_hot(labels, n_classes)
    return prepare


def _train_dataset(source, arrays: _Arrays, plan: PretrainingPlan, seed: int, epoch: int):
    import tensorflow as tf

    epoch_seed = _epoch_seed(seed, epoch)
    prepare = _prepare(plan, arrays.n_classes, augmentation(plan, epoch_seed))
    # One map thread: seeded random layers draw from one state, which parallel calls would race for.
    shuffled = source.shuffle(arrays.train_labels.size, seed=epoch_seed, reshuffle_each_iteration=False)
    return shuffled.batch(plan.batch_size).map(prepare).prefetch(tf.data.AUTOTUNE)


def _val_dataset(arrays: _Arrays, plan: PretrainingPlan):
    import tensorflow as tf

    dataset = tf.data.Dataset.from_tensor_slices((arrays.val_images, arrays.val_labels)).batch(plan.batch_size)
    prepare = _prepare(plan, arrays.n_classes)
    return dataset.map(prepare, num_parallel_calls=tf.data.AUTOTUNE).cache().prefetch(tf.data.AUTOTUNE)


def _progress_bars():
    from ..training import EpochProgressBars

    class PretrainingBars(EpochProgressBars):
        """EpochProgressBars showing the loss and top-1/top-5 accuracy at the end of each epoch."""

        def on_epoch_end(self, epoch, logs=None):
            self.bar.set_postfix({k: f"{logs[k]:.3f}" for k in _SHOWN_METRICS if k in (logs or {})})
            self.bar.close()

    return PretrainingBars("pretraining")


# --- Checkpoints: weights, optimizer and seed states, history; every file atomic -----------------------

def _write_atomically(path: Path, write, suffix: str = ".part") -> None:
    temp = sibling_temp_path(path, suffix=suffix)
    try:
        write(temp)
        os.replace(temp, path)
    finally:
        if temp.exists():
            temp.unlink()


def _seed_states(model) -> list:
    """The models' random-generator states (the dropout's): not among its weights, needed to resume exactly."""
    weights = {id(w) for w in model.weights}
    return [v for v in model.variables if id(v) not in weights and v.name == "seed_generator_state"]


def _read_progress(folder: Path) -> dict | None:
    path = folder / PROGRESS_FILE
    if not path.is_file():
        return None
    try:
        progress = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise _checks.fail(f"The checkpoint file {path} is unreadable ({error}); delete the folder to start over.",
                           "checkpoint_dir", str(folder)) from error
    if not isinstance(progress, dict) or progress.get("format") != _CHECKPOINT_FORMAT:
        raise _checks.fail(f"{path} is not a pretraining checkpoint of this kit.", "checkpoint_dir", str(folder))
    return progress


def _check_same_run(progress: dict, run: dict, folder: Path) -> None:
    """Refuse to resume another run: the plan, the seed and the data must be the checkpoint's."""
    differences = [f"{key} {progress[section].get(key)!r} there, {value!r} here"
                   for section in ("plan", "data") for key, value in run[section].items()
                   if progress[section].get(key) != value]
    if progress["seed"] != run["seed"]:
        differences.insert(0, f"seed {progress['seed']} there, {run['seed']} here")
    if differences:
        raise _checks.fail(f"The checkpoint in {folder} is of another run ({'; '.join(differences)}). Resume it "
                           "with the same plan, seed and data, or use another folder (delete this one to start "
                           "over).", "checkpoint_dir", str(folder))


def _save_checkpoint(folder: Path, model, progress: dict) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    tag = f"epoch_{len(progress['history']['loss']):04d}"
    weights, state = folder / f"{tag}.weights.h5", folder / f"{tag}.state.npz"
    arrays = {f"optimizer_{i:05d}": np.asarray(v.numpy()) for i, v in enumerate(model.optimizer.variables)}
    arrays.update({f"seed_{i:05d}": np.asarray(v.numpy()) for i, v in enumerate(_seed_states(model))})
    _write_atomically(weights, model.save_weights, suffix=".weights.h5")  # Keras wants the ending

    def write_state(path):
        with open(path, "wb") as file:
            np.savez(file, **arrays)
    _write_atomically(state, write_state)
    text = json.dumps({**progress, "weights": weights.name, "state": state.name}, indent=1)
    _write_atomically(folder / PROGRESS_FILE, lambda path: path.write_text(text))  # the commit point
    for stale in folder.glob("epoch_*"):
        if stale.name not in (weights.name, state.name):
            stale.unlink(missing_ok=True)


def _restore_checkpoint(folder: Path, model, progress: dict) -> None:
    optimizer = model.optimizer
    optimizer.build(model.trainable_variables)  # before loading: the weights file holds its variables too
    model.load_weights(folder / progress["weights"])
    with np.load(folder / progress["state"]) as state:
        for prefix, variables in (("optimizer", optimizer.variables), ("seed", _seed_states(model))):
            saved = sorted(key for key in state.files if key.startswith(prefix + "_"))
            if len(saved) != len(variables):
                raise _checks.fail(f"The checkpoint in {folder} does not fit this model ({len(saved)} {prefix} "
                                   f"states there, {len(variables)} here).", "checkpoint_dir", str(folder))
            for key, variable in zip(saved, variables):
                variable.assign(state[key])


# --- The result ----------------------------------------------------------------------------------------

@dataclass
class PretrainingResult:
    """A backbone pretrained by :func:`pretrain_backbone`, its multi-class model and how training went.

    Attributes:
        model: the multi-class model (inputs → backbone → pool → dropout → logits).
        base: its backbone, the nested model named ``"backbone"`` that
            :func:`~crossdomain_kit.models.classifier.build_classifier` builds.
        history: ``{name: [value per epoch]}``: ``loss``, ``top1``, ``top5``,
            their ``val_`` twins (validation) and ``learning_rate`` (reached at
            the end of the epoch). Epochs trained before a resume are included.
        plan: the :class:`PretrainingPlan`.
        seed: the run's seed.
        seconds: wall-clock seconds of all finished epochs (before a resume too).
        cpu_seconds: CPU seconds of those epochs, all threads together.
        data: ``n_train``, ``n_val``, ``n_classes``, ``image_shape`` and the
            ``sha256`` of the arrays trained and validated on.
        class_names: the data's class names, if it had them.
        resumed_epochs: epochs read from the checkpoint rather than trained in this call.
        interrupted: Ctrl-C stopped the run; the model holds the last finished epoch's weights.
        checkpoint_dir: the checkpoint folder, or None.
        weights_file, sha256: set by :meth:`save_backbone`.
    """

    model: object
    base: object
    history: dict[str, list[float]]
    plan: PretrainingPlan
    seed: int
    seconds: float
    cpu_seconds: float
    data: dict
    class_names: tuple[str, ...] | None = None
    resumed_epochs: int = 0
    interrupted: bool = False
    checkpoint_dir: Path | None = None
    weights_file: Path | None = None
    sha256: str | None = None

    @property
    def epochs(self) -> int:
        """Number of finished epochs."""
        return len(self.history.get("loss", []))

    def _final(self, name: str) -> float:
        values = self.history.get(name, [])
        return float(values[-1]) if values else math.nan

    @property
    def val_top1(self) -> float:
        """Top-1 accuracy on validation after the last finished epoch."""
        return self._final("val_top1")

    @property
    def val_top5(self) -> float:
        """Top-5 accuracy on validation after the last finished epoch."""
        return self._final("val_top5")

    def save_backbone(self, path) -> str:
        """Write the backbone's weights alone, atomically, and return the file's sha256.

        ``build_classifier(plan.backbone, (size, size, 1), weights=path)`` loads
        the file (at any size the backbone accepts: it is fully convolutional)
        and starts a fresh head on it.

        Args:
            path: destination ending in ``.weights.h5``; missing folders are created.

        Returns:
            The sha256 (hex) of the file written.

        Raises:
            ValueError: if ``path`` does not end in ``.weights.h5``.
        """
        if not isinstance(path, (str, os.PathLike)) or not str(path).endswith(".weights.h5"):
            raise _checks.fail("`path` must be a file path ending in .weights.h5.", "path", path)
        path = Path(path).expanduser()
        path.parent.mkdir(parents=True, exist_ok=True)
        _write_atomically(path, self.base.save_weights, suffix=".weights.h5")
        self.weights_file, self.sha256 = path, _sha256(path)
        return self.sha256

    def metrics(self) -> dict:
        """The run as JSON-ready data: final top-1/top-5, epochs, seconds, plan, seed, data, history, file."""
        return {"val_top1": self.val_top1, "val_top5": self.val_top5, "epochs": self.epochs,
                "planned_epochs": self.plan.epochs, "interrupted": self.interrupted,
                "seconds": round(self.seconds, 1), "cpu_seconds": round(self.cpu_seconds, 1),
                "weights_file": self.weights_file.name if self.weights_file else None, "sha256": self.sha256,
                "seed": self.seed, "plan": self.plan.as_dict(), "data": self.data, "history": self.history}

    def save(self, folder, *, name: str, data_description: str, command: str) -> Path:
        """Write ``<name>.weights.h5`` (:meth:`save_backbone`), ``model_card.md`` and ``metrics.json`` into ``folder``.

        Each file is written atomically. Returns the weights file's path.
        """
        folder = Path(folder).expanduser()
        weights = folder / f"{name}.weights.h5"
        self.save_backbone(weights)
        card = model_card(self, data_description=data_description, command=command)
        _write_atomically(folder / "model_card.md", lambda path: path.write_text(card))
        text = json.dumps({**self.metrics(), "data_description": data_description, "command": command,
                           "profile": config.profile_name()}, indent=2)
        _write_atomically(folder / "metrics.json", lambda path: path.write_text(text + "\n"))
        return weights


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# --- Training --------------------------------------------------------------------------------------------

def pretrain_backbone(data, plan: PretrainingPlan | None = None, *, seed: int = 0, checkpoint_dir=None,
                      callbacks=(), verbose=0, progress: bool = True) -> PretrainingResult:
    """Pretrain a kit backbone with a multi-class head on a labelled source (e.g. Tiny ImageNet).

    The backbone is built as the classifier builds it
    (``base_of(build_classifier(plan.backbone, (size, size, 1), seed=seed))``),
    so its saved weights load into exactly that architecture later. A head
    (global average pooling → dropout → ``n_classes`` float32 logits) trains
    with it on ``CategoricalCrossentropy(from_logits=True)`` with the plan's
    label smoothing (the labels are made one-hot in the pipeline: Keras's
    sparse cross-entropy has no label smoothing; without smoothing the loss
    equals ``SparseCategoricalCrossentropy(from_logits=True)``, and top-5 is
    ``TopKCategoricalAccuracy(k=5)``, the one-hot twin of
    ``SparseTopKCategoricalAccuracy``). Inputs go through the backbone's own
    ``preprocess_input``; the training images are shuffled and augmented
    with seeds derived from ``seed`` and the epoch; validation images are
    neither. Top-1 and top-5 accuracy are measured on validation after every
    epoch.

    Every epoch is one ``fit`` call (``initial_epoch=e``), so callbacks see one
    ``on_train_begin``/``on_train_end`` pair per epoch.

    With ``checkpoint_dir``, after every epoch the model's weights, the
    optimizer's state (its step count, hence the learning-rate schedule, and
    momenta), the dropout's random state and the history are written, each
    file atomically, ``progress.json`` last. Calling again with the same plan,
    seed, data and folder continues after the last finished epoch and ends
    with the history and weights of an uninterrupted run (on a CPU, where the
    kit turns on TensorFlow's op determinism); a finished run is read back
    without training. A checkpoint of another plan, seed or data is refused.

    Ctrl-C (``KeyboardInterrupt``) is not an error: the model gets back the
    weights of the last finished epoch, a message says how to resume, and the
    result has ``interrupted=True``.

    Args:
        data: the source, any object with ``train_images`` and ``val_images``
            ((n, height, width) or (n, height, width, 1), 0–255),
            ``train_labels`` and ``val_labels`` (class indices) and optionally
            ``n_classes`` and ``class_names``, e.g. from
            :func:`crossdomain_kit.data.tinyimagenet.load_tinyimagenet`.
        plan: the :class:`PretrainingPlan` (default: ``PretrainingPlan()``).
        seed: seeds the weights, the subsets, the shuffling, the augmentation
            and Keras's global generators.
        checkpoint_dir: folder for the checkpoint (created), or None.
        callbacks: more Keras callbacks.
        verbose: ``fit``'s verbosity.
        progress: show a progress bar per epoch on stderr.

    Returns:
        :class:`PretrainingResult`.

    Raises:
        ValueError: for data without the four arrays, labels out of range, a
            bad seed, or a checkpoint of another run.
    """
    import tensorflow as tf

    from ..training import set_global_seed

    plan = PretrainingPlan() if plan is None else plan
    if not isinstance(plan, PretrainingPlan):
        raise _checks.fail("`plan` must be a PretrainingPlan.", "plan", plan)
    seed = _checks.seed(seed)
    arrays = _planned_arrays(data, plan, seed)
    run = {"format": _CHECKPOINT_FORMAT, "plan": plan.as_dict(), "seed": seed, "data": arrays.summary()}
    folder = None if checkpoint_dir is None else Path(checkpoint_dir).expanduser()
    saved = _read_progress(folder) if folder is not None else None
    if saved is not None:
        _check_same_run(saved, run, folder)

    set_global_seed(seed)
    model, base = _build_model(plan, arrays.n_classes, seed)
    _compile(model, plan, arrays.n_classes, math.ceil(arrays.train_labels.size / plan.batch_size))
    history, times = {}, {"epoch_seconds": [], "epoch_cpu_seconds": []}
    if saved is not None:
        _restore_checkpoint(folder, model, saved)
        history = {key: list(values) for key, values in saved["history"].items()}
        times = {key: list(saved[key]) for key in times}
    resumed = len(history.get("loss", []))
    if 0 < resumed < plan.epochs:
        print(f"Resuming from the checkpoint in {folder}: {resumed} of {plan.epochs} epochs done.")

    source = tf.data.Dataset.from_tensor_slices((arrays.train_images, arrays.train_labels))
    val_ds = _val_dataset(arrays, plan)
    extra = [*([_progress_bars()] if progress else []), *callbacks]
    finished_weights, interrupted, epoch = model.get_weights(), False, resumed
    try:
        for epoch in range(resumed, plan.epochs):
            start_wall, start_cpu = time.perf_counter(), time.process_time()
            fit = model.fit(_train_dataset(source, arrays, plan, seed, epoch), validation_data=val_ds,
                            initial_epoch=epoch, epochs=epoch + 1, callbacks=extra, verbose=verbose, shuffle=False)
            logs = {key: float(values[-1]) for key, values in fit.history.items() if values}
            logs["learning_rate"] = _as_float(model.optimizer.learning_rate)
            for key, value in logs.items():
                history.setdefault(key, []).append(value)
            times["epoch_seconds"].append(time.perf_counter() - start_wall)
            times["epoch_cpu_seconds"].append(time.process_time() - start_cpu)
            finished_weights = model.get_weights()
            if folder is not None:
                _save_checkpoint(folder, model, {**run, "history": history, **times})
    except KeyboardInterrupt:
        interrupted = True
        done = len(history.get("loss", []))
        history = {key: values[:done] for key, values in history.items()}
        times = {key: values[:done] for key, values in times.items()}
        model.set_weights(finished_weights)
        _report_interrupt(epoch, done, plan, folder)
    return PretrainingResult(model, base, history, plan, seed, sum(times["epoch_seconds"]),
                             sum(times["epoch_cpu_seconds"]), arrays.summary(), arrays.class_names,
                             resumed_epochs=resumed, interrupted=interrupted, checkpoint_dir=folder)


def _as_float(value) -> float:
    import keras

    return float(keras.ops.convert_to_numpy(value))


def _report_interrupt(epoch: int, done: int, plan: PretrainingPlan, folder: Path | None) -> None:
    if folder is not None:
        saved = _read_progress(folder)
        kept = len(saved["history"]["loss"]) if saved else 0
        how = (f"the checkpoint in {folder} keeps {kept} finished epoch(s); call pretrain_backbone again with the "
               "same plan, seed, data and checkpoint_dir (or re-run the same command) to continue")
    else:
        how = "pass checkpoint_dir= to be able to resume an interrupted run"
    print(f"\nPretraining interrupted (Ctrl-C) in epoch {epoch + 1} of {plan.epochs}: the model holds the weights "
          f"of the {done} finished epoch(s); {how}.")


# --- The model card --------------------------------------------------------------------------------------

def _table(rows) -> list[str]:
    return ["| | |", "|---|---|", *(f"| {key} | {value} |" for key, value in rows)]


def model_card(result: PretrainingResult, *, data_description: str, command: str) -> str:
    """A markdown model card for a pretrained backbone saved with :meth:`PretrainingResult.save_backbone`.

    It names the data, the recipe (every setting of the plan), the epochs,
    top-1/top-5 on validation, the seconds, the weights file and its sha256,
    the command that reproduces it, how to use the weights and the terms
    (ImageNet-derived: non-commercial research and education only).

    Args:
        result: a :class:`PretrainingResult` whose backbone has been saved.
        data_description: what the data is, e.g. ``"Tiny ImageNet, grey, 32 px"``.
        command: the exact command that reproduces the weights.

    Returns:
        The card's markdown text.

    Raises:
        ValueError: if the backbone has not been saved yet (the card needs its sha256).
    """
    if not isinstance(result, PretrainingResult) or result.sha256 is None:
        raise _checks.fail("`result` must be a PretrainingResult whose backbone was saved (save_backbone) "
                           "first: the card names the file's sha256.", "result", result)
    plan, data = result.plan, result.data
    file = result.weights_file.name
    status = (f"**Interrupted after {result.epochs} of {plan.epochs} epochs**: resume it before using the weights."
              if result.interrupted else f"{result.epochs} epochs, as planned.")
    epochs = [f"| {i + 1} | {result.history['loss'][i]:.4f} | {result.history['top1'][i]:.4f} | "
              f"{result.history['val_loss'][i]:.4f} | {result.history['val_top1'][i]:.4f} | "
              f"{result.history['val_top5'][i]:.4f} |" for i in range(result.epochs)]
    lines = [
        f"# {plan.backbone} pretrained on {data_description}", "",
        f"A backbone of [crossdomain-kit](https://github.com/crossdomain-kit/crossdomain-kit) pretrained with a "
        f"{data['n_classes']}-class head, for transfer to small grey (e.g. medical) images. {status}", "",
        *_table([("file", f"`{file}` (the backbone's weights alone)"), ("sha256", f"`{result.sha256}`"),
                 ("backbone", f"`{plan.backbone}`, 1 grey channel, trained at {plan.image_size} px"),
                 ("parameters", f"{result.base.count_params():,}"),
                 ("validation top-1", f"{result.val_top1:.4f}"), ("validation top-5", f"{result.val_top5:.4f}"),
                 ("epochs", f"{result.epochs} of {plan.epochs}"),
                 ("training time", f"{result.seconds:.0f} s wall, {result.cpu_seconds:.0f} s CPU"),
                 ("seed", result.seed)]),
        "", "## Data", "", data_description, "",
        *_table([("training images", f"{data['n_train']:,}"), ("validation images", f"{data['n_val']:,}"),
                 ("classes", data["n_classes"]), ("image shape", " × ".join(map(str, data["image_shape"]))),
                 ("arrays' sha256", f"`{data['sha256']}`")]),
        "", "## Recipe", "", plan.describe(), "",
        *_table((key, f"`{value}`") for key, value in plan.as_dict().items()),
        "", f"Loss: cross-entropy on the logits, label smoothing {plan.label_smoothing:g}; top-1 and top-5 "
            "accuracy on the validation split, without augmentation.", "", "## Epochs", "",
        "| epoch | loss | top-1 | val loss | val top-1 | val top-5 |", "|---|---|---|---|---|---|", *epochs,
        "", "## Reproduce", "", "```bash", command, "```", "",
        "## Use", "", "```python", "from crossdomain_kit.models.classifier import build_classifier", "",
        f'model = build_classifier("{plan.backbone}", (28, 28, 1), weights="{file}")  # a fresh binary head',
        "```", "", "## Terms", "", TERMS, ""]
    return "\n".join(lines)
