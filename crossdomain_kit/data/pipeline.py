"""tf.data input pipelines for a split held as image files or as in-memory arrays.

One call, :func:`make_pipeline`, turns a
:class:`~crossdomain_kit.data.domains.DomainSplit` (from
:func:`crossdomain_kit.data.image_folder.load_image_folder`, from a MedMNIST ``.npz``
or from the synthetic generator) into batches a Keras model can ``fit`` on:

    files:  shuffle paths* → read + decode in parallel → channels → resize → cache → shuffle* →
            batch → augment* → preprocess_input → prefetch
    arrays: shuffle* → batch → channels → resize → augment* → preprocess_input → prefetch

(* training only; files are shuffled before decoding without the cache, after
it with the cache). Every epoch (every pass over the dataset, as ``model.fit``
makes one) takes the split in a new order; with a ``seed``, the order of epoch
e depends on the seed and e alone, never on TensorFlow's global seed
(``keras.utils.set_random_seed``), which ``Dataset.shuffle`` would mix in. The
default augmentation is seeded the same way.

Grey, RGB, RGBA and palette files all decode to three channels first (alpha
is dropped), then become the channels the model needs. A file's EXIF
orientation (a phone photo stored sideways with a "rotate 90°" tag) is
applied, as an image viewer and ``PIL.ImageOps.exif_transpose`` do:
TensorFlow's decoders ignore it, so the tags are read once when the pipeline
is built (:func:`exif_orientations`). Images of any size are
resized (bilinear with antialiasing, aspect ratio not kept, as
``image_dataset_from_directory`` does by default). Augmentation runs on 0–255
pixels, before the backbone's own ``preprocess_input``.

Without ``training`` the batches come in the split's order, so
``model.predict(dataset)`` lines up with ``split.labels``.

Importing this module imports TensorFlow and Keras.

Introduced in ``notebooks/03_transfer_shifted_domains.ipynb``.
"""

from __future__ import annotations

import numbers
import warnings
from typing import Callable

import numpy as np
import tensorflow as tf
import keras

from .. import _checks
from ..models.backbones import get_backbone
from .domains import DomainSplit

_CACHE_WARN_BYTES = 4 * 2**30


def default_augmentation(seed: int | None = 0) -> keras.Sequential:
    """A mild augmentation for chest X-rays, as Keras preprocessing layers.

    Small rotations (±7°), zooms (±10 %), shifts (±5 %) and contrast changes
    (±10 %); the uncovered border is filled with black, like the edge of a
    radiograph. There is deliberately no horizontal flip: the heart is on the
    left, and a flipped chest X-ray is an anatomy the model will never meet.
    Pass your own ``keras.Sequential`` to :func:`make_pipeline` for other
    data (``keras.layers.RandomFlip("horizontal")`` suits everyday photos).

    Args:
        seed: seed of the first layer (the next layers use seed + 1, + 2, ...),
            or None for unseeded randomness.

    Returns:
        A ``keras.Sequential`` that expects 0–255 images and is active only
        when called with ``training=True``.
    """
    seeds = [None] * 4 if seed is None else [seed + i for i in range(4)]
    return keras.Sequential([
        keras.layers.RandomRotation(0.02, fill_mode="constant", seed=seeds[0]),
        keras.layers.RandomZoom(0.1, fill_mode="constant", seed=seeds[1]),
        keras.layers.RandomTranslation(0.05, 0.05, fill_mode="constant", seed=seeds[2]),
        keras.layers.RandomContrast(0.1, value_range=(0, 255), seed=seeds[3]),
    ], name="default_augmentation")


def make_pipeline(data, *, backbone: str | None = "resnet50", preprocess: Callable | None = None,
                  image_size: int | tuple[int, int] | None = None, channels: int | None = None,
                  batch_size: int = 32, training: bool = False, augment: bool | Callable = True,
                  seed: int | None = 0, cache: bool = True) -> tf.data.Dataset:
    """A batched, prefetched ``tf.data.Dataset`` of ``(images, labels)`` for one split.

    Args:
        data: a :class:`~crossdomain_kit.data.domains.DomainSplit` with ``files`` or
            ``images``, or a tuple ``(images, labels)`` of arrays. Arrays hold
            0–255 pixel values, shaped (n, height, width) or
            (n, height, width, 1 | 3 | 4).
        backbone: a name from :func:`crossdomain_kit.models.backbones.backbone_names`;
            its ``preprocess_input``, input size and channels are used unless
            given below.
        preprocess: a function applied to float 0–255 batches instead of the
            backbone's ``preprocess_input``.
        image_size: output height and width (an int for squares). Default: the
            backbone's input size. Files, and integer arrays, resized to it are
            rounded back to whole 0–255 levels (the same image gives the same
            pixels from a file as from an array).
        channels: 1 or 3. Default: the backbone's. Must match the backbone
            when its own ``preprocess_input`` is used.
        batch_size: images per batch (the last batch may be smaller).
        training: shuffle every epoch and augment (for the train split only).
        augment: with ``training``: True for :func:`default_augmentation`, False
            for none, or your own layer/function on 0–255 batches. Ignored
            without ``training``. It runs on the CPU in one tf.data thread, so
            that the seed reproduces it (a few hundred 224-px images per
            second on two cores); to train faster on a GPU, pass False and
            make :func:`default_augmentation` the model's first layer.
        seed: seed for shuffling and for the default augmentation; the same
            seed gives the same order in each epoch, whatever ran before. None:
            a different order on every run, unless TensorFlow's global seed
            is set.
        cache: keep decoded, resized images in memory after the first epoch
            (files only: uint8, height × width × channels bytes per image;
            arrays are in memory already). With ``training``, the first batch
            then waits until every file is decoded once, so the whole split can
            be shuffled (it is cached as one array: for a moment, while the
            array is assembled, it takes twice that memory).

    Returns:
        A dataset of ``(float32 images of shape (batch, height, width, channels),
        float32 labels of shape (batch, 1))``, the label layout of Keras's
        ``label_mode="binary"``.

    Raises:
        ValueError: for an unknown backbone, a bad size, batch size, channel
            count or seed, channels that do not match the backbone, or arrays
            of the wrong shape.
    """
    split = _as_split(data)
    if backbone is None and preprocess is None:
        raise _checks.fail("Give a `backbone` name or a `preprocess` function.", "backbone", backbone)
    spec = get_backbone(backbone) if backbone is not None else None
    if preprocess is not None and not callable(preprocess):
        raise _checks.fail("`preprocess` must be a function of a batch of images.", "preprocess", preprocess)
    size = _image_size(image_size if image_size is not None else spec.default_size if spec else None)
    channels = _channels(channels if channels is not None else spec.channels if spec else None)
    if preprocess is None:
        if channels != spec.channels:
            raise _checks.fail(f"Backbone {spec.name!r} expects {spec.channels} channel(s); pass "
                               "that, or your own `preprocess`.", "channels", channels)
        preprocess = spec.preprocess_input()
    batch_size = _checks.positive_int(batch_size, "batch_size")
    seed = _checks.seed(seed, allow_none=True)
    augmentation = _augmentation(augment, seed) if training else None

    labels = tf.constant(split.labels.astype(np.float32)[:, None])
    n = len(split)
    orders = _epoch_orders(n, seed) if training else None
    if split.files is not None:
        files = tf.constant(split.files)
        turns = tf.constant(exif_orientations(split.files))
        if cache:
            _warn_if_cache_is_large(n * size[0] * size[1] * channels)
        if training and cache:
            # Every decoded image in one cached tensor, from which each epoch gathers its batches.
            every_image = tf.data.Dataset.from_tensor_slices((files, turns)).map(
                lambda path, turn: _load_file(path, turn, channels, size), num_parallel_calls=tf.data.AUTOTUNE)
            every_image = every_image.batch(n).cache()
            dataset = tf.data.Dataset.zip((every_image, orders)).flat_map(
                lambda images, order: _gathered_batches(images, labels, order, batch_size))
        else:
            if training:
                dataset = orders.unbatch().map(lambda i: (tf.gather(files, i), tf.gather(turns, i),
                                                          tf.gather(labels, i)))
            else:
                dataset = tf.data.Dataset.from_tensor_slices((files, turns, labels))
            dataset = dataset.map(lambda path, turn, y: (_load_file(path, turn, channels, size), y),
                                  num_parallel_calls=tf.data.AUTOTUNE)
            if cache:
                dataset = dataset.cache()
            dataset = dataset.batch(batch_size)
    else:
        images = tf.convert_to_tensor(_array_images(split.images))
        if training:
            dataset = orders.flat_map(lambda order: _gathered_batches(images, labels, order, batch_size))
        else:
            dataset = tf.data.Dataset.from_tensor_slices((images, labels)).batch(batch_size)
        dataset = dataset.map(lambda images, y: (_resize(_to_channels(images, channels), size), y),
                              num_parallel_calls=tf.data.AUTOTUNE)

    if training:  # the permutations hide the number of batches from tf.data (and Keras's progress bar)
        dataset = dataset.apply(tf.data.experimental.assert_cardinality(-(-n // batch_size)))

    def finish(images, y):
        images = tf.cast(images, tf.float32)
        if augmentation is not None:
            images = augmentation(images)
        return preprocess(images), y

    # Seeded random layers draw from one state; a parallel map would race for it.
    parallel = None if augmentation is not None else tf.data.AUTOTUNE
    return dataset.map(finish, num_parallel_calls=parallel).prefetch(tf.data.AUTOTUNE)


def class_weights(labels) -> dict[int, float]:
    """Per-class weights that make both classes count equally in the loss.

    The "balanced" formula of scikit-learn, n / (2 · n_c) for class c, for
    ``model.fit(..., class_weight=class_weights(split.labels))``.

    Args:
        labels: 0/1 labels, shape (n,) or (n, 1).

    Returns:
        ``{0: w0, 1: w1}``.

    Raises:
        ValueError: if a label is not 0 or 1, or a class is absent.
    """
    y = _checks.binary_labels(np.ravel(np.asarray(labels)), "labels")
    counts = np.bincount(y.astype(np.int64), minlength=2)
    if np.any(counts == 0):
        raise _checks.fail("`labels` must contain both classes to weight them.", "labels", y)
    return {c: float(y.size / (2 * counts[c])) for c in (0, 1)}


def _as_split(data) -> DomainSplit:
    if isinstance(data, DomainSplit):
        return data
    if isinstance(data, tuple) and len(data) == 2:
        return DomainSplit(labels=data[1], images=np.asarray(data[0]))
    raise _checks.fail("`data` must be a DomainSplit or a tuple (images, labels).", "data", data)


def _image_size(value) -> tuple[int, int]:
    pair = (value, value) if isinstance(value, numbers.Integral) else value
    if (not isinstance(pair, (tuple, list)) or len(pair) != 2
            or not all(isinstance(v, numbers.Integral) and not isinstance(v, bool) and v > 0 for v in pair)):
        raise _checks.fail("`image_size` must be a positive int or a (height, width) pair.",
                           "image_size", value)
    return int(pair[0]), int(pair[1])


def _channels(value) -> int:
    if value not in (1, 3) or isinstance(value, bool):
        raise _checks.fail("`channels` must be 1 (grey) or 3 (RGB).", "channels", value)
    return int(value)


def _augmentation(augment, seed) -> Callable | None:
    """A function of a batch, or None; Keras layers are put in training mode."""
    if augment is True:
        augment = default_augmentation(seed)
    if augment is False or augment is None:
        return None
    if isinstance(augment, keras.layers.Layer):
        return lambda images: augment(images, training=True)
    if callable(augment):
        return augment
    raise _checks.fail("`augment` must be True, False or a layer/function of a batch.", "augment", augment)


def _epoch_orders(n: int, seed: int | None) -> tf.data.Dataset:
    """A dataset of one permutation of ``range(n)``, a new one each time it is iterated.

    Iteration e (of this dataset or of any built on it: ``model.fit`` iterates
    once per epoch) gets ``stateless_shuffle(range(n), seed=[seed, e])``, so a
    seeded order depends on the seed and e alone. ``Dataset.shuffle`` would
    also mix in TensorFlow's global seed, as it was when the dataset was built.

    Args:
        n: number of items.
        seed: an integer >= 0, or None for one drawn from TensorFlow's global
            random generator (random unless ``tf.random.set_seed`` was called).

    Returns:
        A dataset of one int64 vector of length n.
    """
    if seed is None:
        seed = int(tf.random.uniform((), maxval=tf.int64.max, dtype=tf.int64))
    seed = tf.constant(seed % 2**63, tf.int64)
    # tf.data functions run on the CPU: keep the counter there rather than on a GPU.
    with tf.device("/CPU:0"):
        epoch = tf.Variable(-1, dtype=tf.int64, trainable=False, name="epoch")

    def order(_):
        return tf.random.experimental.stateless_shuffle(
            tf.range(n, dtype=tf.int64), seed=tf.stack([seed, epoch.assign_add(1)]), alg="philox")

    return tf.data.Dataset.range(1).map(order)


def _gathered_batches(images, labels, order, batch_size: int) -> tf.data.Dataset:
    """Batches of ``(images[i], labels[i])`` for the indices i in ``order``, in that order."""
    return tf.data.Dataset.from_tensor_slices(order).batch(batch_size).map(
        lambda index: (tf.gather(images, index), tf.gather(labels, index)),
        num_parallel_calls=tf.data.AUTOTUNE)


def _array_images(images: np.ndarray) -> np.ndarray:
    if images.ndim == 3:
        images = images[..., None]
    if images.ndim != 4 or images.shape[-1] not in (1, 3, 4):
        raise _checks.fail("Array images must be shaped (n, height, width) or "
                           "(n, height, width, 1 | 3 | 4).", "images", images.shape)
    return images


_EXIF_ORIENTATION_TAG = 0x0112


def exif_orientations(files) -> np.ndarray:
    """The EXIF orientation of each image file: 1 (as stored) to 8; 1 without a tag or for an unreadable file.

    Reads file headers only (Pillow opens lazily): about 0.16 s for the 5,840
    JPEGs of the chest X-ray folder on a 2-core CPU.

    Args:
        files: image paths.

    Returns:
        An int32 array, one orientation per file (the EXIF convention:
        2 mirrored, 3 rotated 180°, 4 flipped, 5 transposed, 6 rotated 90°
        clockwise to display, 7 transversed, 8 rotated 90° anticlockwise).
    """
    from PIL import Image, UnidentifiedImageError

    orientations = np.ones(len(files), np.int32)
    for i, path in enumerate(files):
        try:
            with Image.open(path) as image:
                value = image.getexif().get(_EXIF_ORIENTATION_TAG, 1)
        except (OSError, UnidentifiedImageError, ValueError, SyntaxError):
            continue  # the decoder reports an unreadable file; it has no orientation to apply
        orientations[i] = value if isinstance(value, int) and 1 <= value <= 8 else 1
    return orientations


def _orient(image, orientation):
    """Turn a decoded image (height, width, channels) the way its EXIF orientation says it is displayed."""
    rotate = tf.image.rot90  # anticlockwise, k quarter turns
    branches = [lambda: image,                                       # 1: as stored
                lambda: tf.image.flip_left_right(image),              # 2: mirrored
                lambda: rotate(image, 2),                             # 3: upside down
                lambda: tf.image.flip_up_down(image),                 # 4: flipped
                lambda: tf.image.transpose(image),                    # 5: transposed
                lambda: rotate(image, 3),                             # 6: display turned 90° clockwise
                lambda: rotate(tf.image.transpose(image), 2),         # 7: transversed
                lambda: rotate(image, 1)]                             # 8: display turned 90° anticlockwise
    return tf.switch_case(tf.clip_by_value(orientation - 1, 0, 7), branches)


def _load_file(path, orientation, channels: int, size: tuple[int, int]):
    """Read, decode (any mode, first frame of a GIF), apply the EXIF orientation, convert channels, resize; uint8 out."""
    image = tf.io.decode_image(tf.io.read_file(path), channels=3, expand_animations=False)
    image = _orient(image, orientation)
    image = _to_channels(image, channels)
    same_size = tf.reduce_all(tf.equal(tf.shape(image)[:2], size))
    resized = tf.cond(same_size, lambda: image, lambda: _resize(image, size))
    return tf.ensure_shape(resized, (*size, channels))


def _to_channels(images, channels: int):
    """Grey, RGB or RGBA images (last axis 1, 3 or 4) to 1 or 3 channels; alpha is dropped."""
    have = images.shape[-1]
    if have == 4:
        images, have = images[..., :3], 3
    if have == channels:
        return images
    return tf.image.grayscale_to_rgb(images) if channels == 3 else tf.image.rgb_to_grayscale(images)


def _resize(images, size: tuple[int, int]):
    """Antialiased resize; integer images are rounded back to their type, for files and arrays alike.

    Files are rounded so that their cache holds uint8; arrays must be rounded
    the same way, or an image saved as a file and predicted from it would get
    another probability than the same image passed as an array.
    """
    if tuple(images.shape[-3:-1]) == size:
        return images
    resized = tf.image.resize(images, size, antialias=True)
    if images.dtype.is_integer:
        resized = tf.saturate_cast(tf.round(resized), images.dtype)
    return resized


def _warn_if_cache_is_large(n_bytes: int) -> None:
    if n_bytes > _CACHE_WARN_BYTES:
        warnings.warn(f"cache=True will hold about {n_bytes / 2**30:.1f} GiB of decoded images in "
                      "memory; pass cache=False if that is more than you have.", stacklevel=3)
