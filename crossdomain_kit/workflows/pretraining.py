"""Supervised multi-class pretraining of the kit's CPU backbones on a general-domain source.

The course's promise, "a model pretrained on a large general-purpose image
collection, fine-tuned on medical images with few labels", needs ImageNet
weights, which a laptop without network or GPU cannot have. So the kit
pretrains its own small backbone on Tiny ImageNet as grey 32 px images
(:func:`crossdomain_kit.data.tinyimagenet.load_tinyimagenet`; 202 classes) and
ships the backbone's weights, which
:func:`~crossdomain_kit.models.classifier.build_classifier` loads as
``weights=PATH`` into a binary classifier at 28–64 px.

* :class:`~crossdomain_kit.workflows.pretraining_plan.PretrainingPlan`
  says how (plain data, its defaults defined once, in
  :mod:`~crossdomain_kit.workflows.pretraining_plan`): the backbone, the
  size, the epochs, SGD with Nesterov momentum, a linear warm-up then cosine
  decay to 0, decoupled weight decay (not on BatchNorm and biases), label
  smoothing, dropout, and an augmentation for grey natural images
  (horizontal flip, shifts of up to an eighth of the side with reflected
  borders, mild contrast and brightness; never a vertical flip), which
  :func:`augmentation` turns into Keras layers.
* :func:`pretrain_backbone` (here) builds the backbone exactly as the
  classifier builds it, puts a multi-class head on it (pooling → dropout →
  one logit per class), trains it with ``tf.data`` on in-memory arrays and
  reports top-1 and top-5 accuracy on validation every epoch (BatchNorm's
  statistics recomputed first for the epoch's final weights). With
  ``checkpoint_dir`` it is resumable: after every epoch it writes the
  weights, the optimizer state and the history (each file atomically;
  :mod:`~crossdomain_kit.workflows.pretraining_checkpoints`), and calling it
  again with the same plan, seed, data and folder continues from the last
  finished epoch and ends with the same history and weights as an
  uninterrupted run. Ctrl-C keeps the finished epochs and says how to resume.
* :class:`~crossdomain_kit.workflows.pretraining_result.PretrainingResult`
  holds the model, its backbone and the history;
  :meth:`~crossdomain_kit.workflows.pretraining_result.PretrainingResult.save_backbone`
  writes the backbone's weights (returning their sha256) and
  :func:`~crossdomain_kit.workflows.pretraining_result.model_card` describes
  them.

The plan, the result, the model card and the constants are importable from
here too.

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
import math
import numbers
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .. import _checks
from ..models.backbones import get_backbone
from .pretraining_checkpoints import (CHECKPOINT_FORMAT, PROGRESS_FILE, check_same_run, read_progress,
                                      restore_checkpoint, save_checkpoint)
from .pretraining_plan import (EPOCHS, FAST_EPOCHS, FAST_TRAIN_IMAGES, FAST_VAL_IMAGES, PretrainingPlan,
                               pretrainable_backbones)
from .pretraining_result import TERMS, PretrainingResult, model_card

__all__ = ["EPOCHS", "FAST_EPOCHS", "FAST_TRAIN_IMAGES", "FAST_VAL_IMAGES", "PROGRESS_FILE", "TERMS", "TOP_K",
           "PretrainingPlan", "PretrainingResult", "augmentation", "model_card", "pretrain_backbone",
           "pretrainable_backbones"]

TOP_K = 5
_SHOWN_METRICS = ("loss", "top1", "val_top1", "val_top5")  # by the progress bars at an epoch's end


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


def _train_dataset(arrays: _Arrays, plan: PretrainingPlan, seed: int, epoch: int):
    import tensorflow as tf

    epoch_seed = _epoch_seed(seed, epoch)
    prepare = _prepare(plan, arrays.n_classes, augmentation(plan, epoch_seed))
    # NumPy's permutation, not Dataset.shuffle, whose order also depends on TensorFlow's global seed and version.
    order = np.random.default_rng(epoch_seed).permutation(arrays.train_labels.size)
    shuffled = tf.data.Dataset.from_tensor_slices((arrays.train_images[order], arrays.train_labels[order]))
    # One map thread: seeded random layers draw from one state, which parallel calls would race for.
    return shuffled.batch(plan.batch_size).map(prepare).prefetch(tf.data.AUTOTUNE)


def _unaugmented(images, labels, plan: PretrainingPlan, n_classes: int):
    import tensorflow as tf

    dataset = tf.data.Dataset.from_tensor_slices((images, labels)).batch(plan.batch_size)
    return dataset.map(_prepare(plan, n_classes), num_parallel_calls=tf.data.AUTOTUNE)


def _val_dataset(arrays: _Arrays, plan: PretrainingPlan):
    import tensorflow as tf

    dataset = _unaugmented(arrays.val_images, arrays.val_labels, plan, arrays.n_classes)
    return dataset.cache().prefetch(tf.data.AUTOTUNE)


def _batchnorm_dataset(arrays: _Arrays, plan: PretrainingPlan, seed: int):
    """The fixed, unaugmented training images BatchNorm's statistics are recomputed on, or None (plan: 0)."""
    if not plan.batchnorm_images:
        return None
    rng = np.random.default_rng([seed, 1])  # a stream of its own: the subsets of _planned_arrays stay as they were
    images, labels = _subset(arrays.train_images, arrays.train_labels, plan.batchnorm_images, rng)
    return _unaugmented(images, labels, plan, arrays.n_classes)


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
    epoch, after BatchNorm's moving statistics are recomputed with the
    epoch's final weights on ``plan.batchnorm_images`` fixed, unaugmented
    training images (:class:`~crossdomain_kit.training.RecomputeBatchNormStatistics`;
    the moving averages lag weights that move at a high learning rate,
    and validation accuracy measured with them jumps from epoch to epoch).

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
    from ..training import EpochProgressBars, RecomputeBatchNormStatistics, set_global_seed

    plan = PretrainingPlan() if plan is None else plan
    if not isinstance(plan, PretrainingPlan):
        raise _checks.fail("`plan` must be a PretrainingPlan.", "plan", plan)
    seed = _checks.seed(seed)
    arrays = _planned_arrays(data, plan, seed)
    run = {"format": CHECKPOINT_FORMAT, "plan": plan.as_dict(), "seed": seed, "data": arrays.summary()}
    folder = None if checkpoint_dir is None else Path(checkpoint_dir).expanduser()
    saved = read_progress(folder) if folder is not None else None
    if saved is not None:
        check_same_run(saved, run, folder)

    set_global_seed(seed)
    model, base = _build_model(plan, arrays.n_classes, seed)
    _compile(model, plan, arrays.n_classes, math.ceil(arrays.train_labels.size / plan.batch_size))
    history, times = {}, {"epoch_seconds": [], "epoch_cpu_seconds": []}
    if saved is not None:
        restore_checkpoint(folder, model, saved)
        history = {key: list(values) for key, values in saved["history"].items()}
        times = {key: list(saved[key]) for key in times}
    resumed = len(history.get("loss", []))
    if 0 < resumed < plan.epochs:
        print(f"Resuming from the checkpoint in {folder}: {resumed} of {plan.epochs} epochs done.")

    val_ds, batchnorm_ds = _val_dataset(arrays, plan), _batchnorm_dataset(arrays, plan, seed)
    extra = [*([RecomputeBatchNormStatistics(batchnorm_ds)] if batchnorm_ds is not None else []),
             *([EpochProgressBars("pretraining", shown=_SHOWN_METRICS)] if progress else []), *callbacks]
    finished_weights, interrupted, epoch = model.get_weights(), False, resumed
    try:
        for epoch in range(resumed, plan.epochs):
            start_wall, start_cpu = time.perf_counter(), time.process_time()
            fit = model.fit(_train_dataset(arrays, plan, seed, epoch), validation_data=val_ds,
                            initial_epoch=epoch, epochs=epoch + 1, callbacks=extra, verbose=verbose, shuffle=False)
            logs = {key: float(values[-1]) for key, values in fit.history.items() if values}
            logs["learning_rate"] = _as_float(model.optimizer.learning_rate)
            for key, value in logs.items():
                history.setdefault(key, []).append(value)
            times["epoch_seconds"].append(time.perf_counter() - start_wall)
            times["epoch_cpu_seconds"].append(time.process_time() - start_cpu)
            finished_weights = model.get_weights()
            if folder is not None:
                save_checkpoint(folder, model, {**run, "history": history, **times})
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
        saved = read_progress(folder)
        kept = len(saved["history"]["loss"]) if saved else 0
        how = (f"the checkpoint in {folder} keeps {kept} finished epoch(s); call pretrain_backbone again with the "
               "same plan, seed, data and checkpoint_dir (or re-run the same command) to continue")
    else:
        how = "pass checkpoint_dir= to be able to resume an interrupted run"
    print(f"\nPretraining interrupted (Ctrl-C) in epoch {epoch + 1} of {plan.epochs}: the model holds the weights "
          f"of the {done} finished epoch(s); {how}.")
