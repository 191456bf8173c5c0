"""Tiny ImageNet as the kit's general-domain source: multi-class data, download, conversion, validated loading.

The kit pretrains its small CPU backbones on natural photographs before
fine-tuning them on medical images. The photographs are Tiny ImageNet
(Stanford CS231n): 200 classes of everyday objects and animals subsampled
from ImageNet, 500 training and 50 validation images per class, 64x64 RGB
JPEGs in ``tiny-imagenet-200.zip``. The kit uses them converted to grey
(ITU-R 601-2 luma) at 32x32 (bilinear) in one ``.npz`` file,
``tinyimagenet_grey32.npz``, with the keys ``train_images``, ``train_labels``,
``val_images``, ``val_labels``, ``class_ids`` (WordNet ids, sorted) and
``class_names``. The registry (``crossdomain_kit/data/registry/tinyimagenet.json``)
records the official URL, md5, conversion, terms and citation; a
``tinyimagenet.json`` in the folder named by ``CROSSDOMAIN_REGISTRY`` replaces
it (same format, checked on every read).

Where the file comes from: :func:`load_tinyimagenet` looks in the data folder
(``data_dir=``, else ``$CROSSDOMAIN_DATA_DIR``, else
``~/.crossdomain_kit/datasets``) for ``tinyimagenet_grey32.npz``; else for
the official zip (which it converts); else, with ``download=True``, it
downloads the zip (md5 checked before it appears; from ``<mirror>/<zip name>``
when ``CROSSDOMAIN_MIRROR_URL`` names a local mirror, see
:mod:`crossdomain_kit.config`), converts it (:func:`convert_tinyimagenet`,
about a minute) and deletes the zip. A file
with a different number of classes (a re-packed copy) is accepted; its
contents are validated either way.

Terms: the images come from ImageNet, whose terms allow non-commercial
research and educational use only; weights trained on them carry that note.

Decoding the JPEGs needs Pillow (installed with matplotlib); loading the
converted file needs NumPy only. No TensorFlow here.

Introduced in ``notebooks/05_medical_imaging_finetune.ipynb``.
"""

from __future__ import annotations

import io
import os
import re
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from .. import _checks, config
from .._files import write_atomically
from .download import (DownloadError, check_file_record, download_file, download_url, is_plain_file_name,
                       load_registry, mirror_advice)
from .medmnist import _UNREADABLE, _checked_images, open_npz

_KEYS = ("train_images", "train_labels", "val_images", "val_labels", "class_ids", "class_names")
_TRAIN_IMAGE = re.compile(r"train/(n\d+)/images/(n\d+)_(\d+)\.jpe?g", re.IGNORECASE)
_BROKEN_MEMBER = (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError)


@dataclass(frozen=True, eq=False)
class ClassificationData:
    """A multi-class labelled dataset: a training and a validation split over named classes.

    Labels are class indices 0 ... n_classes - 1 into ``class_ids`` and
    ``class_names``. (The kit's transfer targets are binary
    :class:`~crossdomain_kit.data.domains.DomainSplit` objects; this holds
    a source with many classes.)

    Attributes:
        train_images: array of shape (n_train, height, width, channels).
        train_labels: int64 array of shape (n_train,).
        val_images: array of shape (n_val, height, width, channels).
        val_labels: int64 array of shape (n_val,).
        class_ids: one identifier per class, e.g. WordNet ids ``("n01443537", ...)``.
        class_names: one readable name per class, e.g. ``("goldfish, Carassius auratus", ...)``.
        name: the dataset's name, e.g. ``"tinyimagenet"``.
        note: where the images come from and their terms of use (a model
            trained on them carries it), or ``""``.
    """

    train_images: np.ndarray
    train_labels: np.ndarray
    val_images: np.ndarray
    val_labels: np.ndarray
    class_ids: tuple[str, ...]
    class_names: tuple[str, ...]
    name: str = "dataset"
    note: str = ""

    def __post_init__(self):
        for key in ("class_ids", "class_names"):
            values = getattr(self, key)
            values = tuple(str(v) for v in values) if isinstance(values, (tuple, list, np.ndarray)) else ()
            if not values or not all(values):
                raise _checks.fail(f"`{key}` must be a non-empty sequence of non-empty strings.",
                                   key, getattr(self, key))
            object.__setattr__(self, key, values)
        if len(self.class_ids) != len(self.class_names):
            raise ValueError("`class_ids` and `class_names` must have one entry per class. Received: "
                             f"{len(self.class_ids)} class_ids, {len(self.class_names)} class_names")
        if len(set(self.class_ids)) != len(self.class_ids):
            raise _checks.fail("`class_ids` must not repeat an identifier.", "class_ids", self.class_ids)
        shape = None
        for split in ("train", "val"):
            images = np.asarray(getattr(self, f"{split}_images"))
            if images.ndim != 4 or len(images) == 0:
                raise _checks.fail(f"`{split}_images` must be a non-empty array of shape "
                                   "(n, height, width, channels).", f"{split}_images", images)
            if shape is not None and images.shape[1:] != shape:
                raise ValueError("`train_images` and `val_images` must hold images of one shape. "
                                 f"Received: {shape} and {images.shape[1:]}")
            shape = images.shape[1:]
            labels = np.asarray(getattr(self, f"{split}_labels"))
            if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer):
                raise _checks.fail(f"`{split}_labels` must be a 1-D array of integers.",
                                   f"{split}_labels", labels)
            if labels.size != len(images):
                raise ValueError(f"`{split}_labels` must have one entry per image. "
                                 f"Received: {labels.size} labels for {len(images)} images")
            if labels.min() < 0 or labels.max() >= self.n_classes:
                raise _checks.fail(f"`{split}_labels` must lie in [0, {self.n_classes}) for "
                                   f"{self.n_classes} classes.", f"{split}_labels", labels)
            object.__setattr__(self, f"{split}_images", images)
            object.__setattr__(self, f"{split}_labels", labels.astype(np.int64))

    @property
    def n_classes(self) -> int:
        """Number of classes."""
        return len(self.class_ids)

    @property
    def image_shape(self) -> tuple[int, int, int]:
        """(height, width, channels) of every image."""
        return tuple(self.train_images.shape[1:])

    def class_counts(self, split: str = "train") -> np.ndarray:
        """Number of images per class in ``"train"`` or ``"val"``: an int array of length n_classes."""
        if split not in ("train", "val"):
            raise _checks.fail("`split` must be 'train' or 'val'.", "split", split)
        return np.bincount(getattr(self, f"{split}_labels"), minlength=self.n_classes)

    def subset(self, n_per_class: int, seed: int = 0, *, val_per_class: int | None = None,
               classes: int | None = None) -> ClassificationData:
        """A smaller, class-balanced copy (for the fast profile), drawn with a seed.

        Args:
            n_per_class: the most training images kept per class (>= 1); a
                class with fewer keeps them all.
            seed: seed of every draw (>= 0).
            val_per_class: the most validation images kept per class; None
                keeps every validation image of the kept classes.
            classes: how many classes to keep, drawn at random (kept in their
                order, labels renumbered 0 ... classes - 1); None keeps all.

        Returns:
            A :class:`ClassificationData` whose images keep their original
            order (train stays in class order).

        Raises:
            ValueError: for a bad count or seed, or more ``classes`` than there are.
        """
        n_per_class = _checks.positive_int(n_per_class, "n_per_class")
        if val_per_class is not None:
            val_per_class = _checks.positive_int(val_per_class, "val_per_class")
        rng = np.random.default_rng(_checks.seed(seed))
        kept = np.arange(self.n_classes)
        if classes is not None:
            if _checks.positive_int(classes, "classes") > self.n_classes:
                raise _checks.fail(f"`classes` must be at most {self.n_classes}.", "classes", classes)
            kept = np.sort(rng.choice(self.n_classes, int(classes), replace=False))
        new_label = np.full(self.n_classes, -1, np.int64)
        new_label[kept] = np.arange(kept.size)
        train = _stratified(self.train_labels, kept, n_per_class, rng)
        val = _stratified(self.val_labels, kept, val_per_class, rng)
        if val.size == 0:
            raise ValueError(f"The kept classes have no validation images. Received: classes={classes}, "
                             f"seed={seed}")
        return ClassificationData(
            self.train_images[train], new_label[self.train_labels[train]],
            self.val_images[val], new_label[self.val_labels[val]],
            tuple(self.class_ids[i] for i in kept), tuple(self.class_names[i] for i in kept), self.name,
            self.note)

    def describe(self) -> str:
        """One line: name, classes, split sizes, image shape and the note."""
        height, width, channels = self.image_shape
        text = (f"{self.name}: {self.n_classes} classes, {len(self.train_labels)} train and "
                f"{len(self.val_labels)} val images of {height}x{width}x{channels}")
        return f"{text} ({self.note})" if self.note else text

    def __repr__(self) -> str:
        return (f"ClassificationData(name={self.name!r}, train={self.train_images.shape}, "
                f"val={self.val_images.shape}, n_classes={self.n_classes})")


def _stratified(labels: np.ndarray, kept: np.ndarray, n: int | None, rng) -> np.ndarray:
    """Sorted positions of at most ``n`` examples of each kept class (all of them when n is None)."""
    picks = []
    for label in kept:
        positions = np.flatnonzero(labels == label)
        if n is not None and positions.size > n:
            positions = rng.choice(positions, n, replace=False)
        picks.append(positions)
    return np.sort(np.concatenate(picks))


def tinyimagenet_info() -> dict:
    """The Tiny ImageNet registry entry: title, source, official zip, converted file, terms, citation.

    Returns:
        A fresh dict (safe to modify) parsed from the packaged JSON, or from
        ``tinyimagenet.json`` in the folder named by ``CROSSDOMAIN_REGISTRY``;
        ``info["official"]`` holds the zip's ``file``, ``url`` and ``md5``,
        ``info["file"]`` the converted file's name.

    Raises:
        ValueError: that setting is malformed, or the file is not a Tiny
            ImageNet registry (the message names the file and the problem).
    """
    return load_registry("tinyimagenet.json", _check_registry)


def _check_registry(data: dict, bad) -> None:
    """Raise ``bad(problem)`` unless ``data`` is a Tiny ImageNet registry the loader can use."""
    missing = [key for key in ("title", "file", "image_size", "note", "official") if key not in data]
    if missing:
        raise bad(f"lacks {', '.join(missing)}")
    for key in ("title", "note"):
        if not isinstance(data[key], str):
            raise bad(f"has {key}={data[key]!r}; expected a string")
    if not is_plain_file_name(data["file"]):
        raise bad(f"has file={data['file']!r}; expected a plain file name such as 'tinyimagenet_grey32.npz'")
    size = data["image_size"]
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise bad(f"has image_size={size!r}; expected a positive number of pixels")
    check_file_record(data["official"], "official", bad)
    if not isinstance(data["official"].get("approx_size"), str):
        raise bad(f"has official.approx_size={data['official'].get('approx_size')!r}; expected a "
                  "string such as 'about 240 MB'")


def fetch_tinyimagenet(data_dir: str | os.PathLike | None = None, *, download: bool = True,
                       timeout: float = 30.0, retries: int = 3, progress: bool = True,
                       force: bool = False) -> Path:
    """Path of ``tinyimagenet_grey32.npz`` in the data folder, made from the official zip if missing.

    Looks for the converted file, then for the official zip in the same
    folder (converted, and kept); else downloads the zip (md5 checked before
    it appears), converts it and deletes it.

    Args:
        data_dir: folder to look in and download to; default
            :func:`crossdomain_kit.config.data_dir`.
        download: download the official zip (from the mirror, when
            ``CROSSDOMAIN_MIRROR_URL`` is set) when neither file is there.
        timeout: seconds before a stalled connection counts as failed.
        retries: extra download attempts after a network failure.
        progress: show the download and conversion progress bars.
        force: download and convert even when the converted file (a corrupt
            one, say) or the zip is there: the new file replaces the old one
            once converted; a failure leaves it as it was.

    Returns:
        Absolute path of the ``.npz`` file.

    Raises:
        FileNotFoundError: the file is missing and ``download=False``, or the
            download failed (offline, HTTP error, md5 mismatch); the message
            names the file, the official URL and the folder.
        ValueError: a zip that is not the Tiny ImageNet release or is corrupt.
    """
    info = tinyimagenet_info()
    official = info["official"]
    folder = config.data_dir(data_dir)
    path, archive = folder / info["file"], folder / official["file"]
    if path.is_file() and not force:
        return path
    if archive.is_file() and not force:
        return convert_tinyimagenet(archive, path, size=info["image_size"], progress=progress)
    url = download_url(official["file"], official["url"])
    elsewhere = (f"point {config.DATA_DIR_ENV} (or data_dir=) at a folder that already holds "
                 f"{info['file']}.")
    if not download:
        raise FileNotFoundError(
            f"{info['title']} is not in {folder} (looked for {info['file']} and {official['file']}). "
            f"Call again with download=True (or run `crossdomain-kit fetch tinyimagenet`), or download "
            f"{url} ({official['approx_size']}) yourself and save it in {folder} as "
            f"{official['file']} (the next load converts it), or {elsewhere}")
    try:
        download_file(url, archive, official["md5"], timeout=timeout, retries=retries, progress=progress)
    except DownloadError as err:
        advice = mirror_advice(official["file"], official["url"])
        raise FileNotFoundError(f"{info['file']} is not in {folder} and downloading the official "
                                f"{info['title']} release failed: {err} {advice + ' ' if advice else ''}"
                                f"A zip saved as {archive} is converted by the next load. "
                                f"Or {elsewhere}") from err
    converted = convert_tinyimagenet(archive, path, size=info["image_size"], progress=progress)
    archive.unlink()
    return converted


def load_tinyimagenet(data_dir: str | os.PathLike | None = None, *, download: bool = True,
                      progress: bool = True) -> ClassificationData:
    """Tiny ImageNet, grey at 32x32, validated: the kit's multi-class source data.

    Args:
        data_dir: folder to look in and download to; default
            :func:`crossdomain_kit.config.data_dir`.
        download: download and convert the official zip when no local file is found.
        progress: show the download and conversion progress bars.

    Returns:
        A :class:`ClassificationData` named ``"tinyimagenet"`` with uint8
        images of shape (n, 32, 32, 1) (train in class order: shuffle before
        use), labels into ``class_ids`` (WordNet ids) and ``class_names``.

    Raises:
        ValueError: a file that is unreadable or whose contents are wrong (the
            message names the file and the array).
        FileNotFoundError: see :func:`fetch_tinyimagenet`.
    """
    path = fetch_tinyimagenet(data_dir, download=download, progress=progress)
    info = tinyimagenet_info()
    official = info["official"]

    def bad(problem: str) -> ValueError:
        return ValueError(
            f"The Tiny ImageNet file {path} {problem}. Replace it: run `crossdomain-kit fetch tinyimagenet "
            f"--force` (or fetch_tinyimagenet(force=True) in Python) to download and convert "
            f"{download_url(official['file'], official['url'])} again.")

    arrays = _read_arrays(path, bad)
    class_ids = _checked_names(arrays["class_ids"], "class_ids", None, bad)
    class_names = _checked_names(arrays["class_names"], "class_names", len(class_ids), bad)
    if len(set(class_ids)) != len(class_ids):
        raise bad("repeats identifiers in class_ids")
    splits = {}
    for split in ("train", "val"):
        images = _checked_images(arrays[f"{split}_images"], f"{split}_images", info["image_size"], bad)
        labels = _checked_class_labels(arrays[f"{split}_labels"], f"{split}_labels", len(images),
                                       len(class_ids), bad)
        splits[split] = images, labels
    absent = np.flatnonzero(np.bincount(splits["train"][1], minlength=len(class_ids)) == 0)
    if absent.size:
        raise bad(f"has no images in train_images for {absent.size} class(es) (labels "
                  f"{absent[:5].tolist()}, e.g. {class_ids[absent[0]]})")
    return ClassificationData(*splits["train"], *splits["val"], class_ids, class_names, "tinyimagenet",
                              info["note"])


def _read_arrays(path: Path, bad) -> dict[str, np.ndarray]:
    """Every key of the converted file, read without pickle."""
    with open_npz(path, bad) as archive:
        missing = [key for key in _KEYS if key not in archive.files]
        if missing:
            raise bad(f"lacks {' and '.join(missing)} (it holds {sorted(archive.files)})")
        arrays = {}
        for key in _KEYS:
            try:
                arrays[key] = archive[key]
            except _UNREADABLE as err:  # a pickled (object) array lands here too
                raise bad(f"is corrupt or holds a pickled array: reading {key} failed with {err}") from err
    return arrays


def _checked_names(values: np.ndarray, key: str, n_classes: int | None, bad) -> tuple[str, ...]:
    """A 1-D string array (one entry per class when ``n_classes`` is given), as a tuple."""
    if values.ndim != 1 or values.dtype.kind not in "US":
        raise bad(f"has {key} of shape {values.shape} and dtype {values.dtype}; expected a 1-D "
                  "array of strings")
    if n_classes is not None and values.size != n_classes:
        raise bad(f"has {values.size} entries in {key} for {n_classes} class_ids")
    names = tuple(v.decode() if isinstance(v, bytes) else str(v) for v in values.tolist())
    if not names or not all(names):
        raise bad(f"has empty entries in {key}" if names else f"has no entries in {key}")
    return names


def _checked_class_labels(labels: np.ndarray, key: str, n_images: int, n_classes: int,
                          bad) -> np.ndarray:
    """Integer labels of shape (n,) or (n, 1) in [0, n_classes), returned as shape (n,)."""
    if labels.ndim == 2 and labels.shape[1] == 1:
        labels = labels[:, 0]
    if labels.ndim != 1:
        raise bad(f"has {key} of shape {labels.shape}; expected (n,): one class index per image")
    if labels.size != n_images:
        raise bad(f"has {labels.size} entries in {key} for {n_images} images")
    if not np.issubdtype(labels.dtype, np.integer):
        raise bad(f"has {key} of dtype {labels.dtype}; expected integers")
    outside = (labels < 0) | (labels >= n_classes)
    if outside.any():
        found = np.unique(labels[outside])[:5].tolist()
        raise bad(f"has labels outside [0, {n_classes}) in {key} (found {found}) for "
                  f"{n_classes} classes")
    return labels


# --- converting the official release ----------------------------------------------------------------

def convert_tinyimagenet(zip_path: str | os.PathLike, out_path: str | os.PathLike, *, size: int = 32,
                         progress: bool = True) -> Path:
    """Convert the official ``tiny-imagenet-200.zip`` to the kit's grey ``.npz``, reading the zip in place.

    Classes are the WordNet ids of ``wnids.txt``, sorted, named from
    ``words.txt``; train images (``train/<wnid>/images/<wnid>_<i>.JPEG``) are
    written in class order, then by image number; val images
    (``val/images/val_<i>.JPEG``) in the order of ``val/val_annotations.txt``.
    ``test/`` (unlabelled) is ignored. Each image is converted to grey
    (ITU-R 601-2 luma, Pillow's ``convert("L")``) and resized to size x size
    (bilinear). The file appears whole or not at all.

    Args:
        zip_path: the official zip (its top folder, ``tiny-imagenet-200/``,
            may have another name).
        out_path: the ``.npz`` to write; its folder is created if needed.
        size: image side in pixels after resizing (>= 1).
        progress: show a progress bar (images converted).

    Returns:
        ``out_path`` as an absolute ``Path``.

    Raises:
        ValueError: the zip is not readable, is not laid out as the release,
            or holds an image that does not decode (the message names the
            zip and the member).
        FileNotFoundError: ``zip_path`` does not exist.
        ImportError: Pillow is not installed.
    """
    size = _checks.positive_int(size, "size")
    zip_path = Path(zip_path).expanduser().resolve()
    out_path = Path(out_path).expanduser().resolve()
    image_module = _pillow()
    official = tinyimagenet_info()["official"]

    def bad(problem: str) -> ValueError:
        return ValueError(f"The Tiny ImageNet zip {zip_path} {problem}. Use the official release: download "
                          f"{download_url(official['file'], official['url'])} (md5 {official['md5']}) again.")

    try:
        archive = zipfile.ZipFile(zip_path)
    except (zipfile.BadZipFile, EOFError) as err:
        raise bad(f"is not a readable zip archive (truncated or corrupt?): {err}") from err
    with archive:
        class_ids, class_names, train, val = _layout(archive, bad)
        arrays = {"class_ids": np.array(class_ids, dtype=str),
                  "class_names": np.array(class_names, dtype=str)}
        with tqdm(total=len(train) + len(val), unit="img", desc=f"converting {zip_path.name}",
                  disable=not progress, leave=False) as bar:
            for split, members in (("train", train), ("val", val)):
                images = np.empty((len(members), size, size), np.uint8)
                for i, (member, _) in enumerate(members):
                    images[i] = _grey(archive, member, size, image_module, bad)
                    bar.update()
                arrays[f"{split}_images"] = images
                arrays[f"{split}_labels"] = np.array([label for _, label in members], np.int16)
    out_path.parent.mkdir(parents=True, exist_ok=True)

    def write(temp):
        with open(temp, "xb") as out:
            np.savez_compressed(out, **{key: arrays[key] for key in _KEYS})
            out.flush()
            os.fsync(out.fileno())

    write_atomically(out_path, write)
    return out_path


def _pillow():
    try:
        from PIL import Image
    except ImportError as err:  # pragma: no cover - matplotlib installs Pillow
        raise ImportError("Converting Tiny ImageNet decodes JPEGs with Pillow: "
                          "`pip install pillow`, then call again.") from err
    return Image


def _layout(archive: zipfile.ZipFile, bad):
    """Classes, names and (member, label) lists of train and val, from the release's text files."""
    names = archive.namelist()
    found = sorted((n for n in names if n == "wnids.txt" or n.endswith("/wnids.txt")), key=len)
    if not found:
        raise bad("has no wnids.txt: it is not the Tiny ImageNet release "
                  "(expected tiny-imagenet-200/wnids.txt)")
    root = found[0][:-len("wnids.txt")]
    wnids = _text(archive, root + "wnids.txt", bad).split()
    class_ids = sorted(set(wnids))
    if not class_ids or len(class_ids) != len(wnids):
        raise bad("has an empty wnids.txt or one that repeats a WordNet id")
    label_of = {wnid: i for i, wnid in enumerate(class_ids)}
    words = dict(line.split("\t", 1) for line in _text(archive, root + "words.txt", bad).splitlines()
                 if "\t" in line)
    unnamed = [wnid for wnid in class_ids if not words.get(wnid, "").strip()]
    if unnamed:
        raise bad(f"has no name in words.txt for {len(unnamed)} class(es), e.g. {unnamed[0]}")
    class_names = [words[wnid].strip() for wnid in class_ids]

    per_class = {wnid: [] for wnid in class_ids}
    for name in names:
        match = _TRAIN_IMAGE.fullmatch(name[len(root):]) if name.startswith(root) else None
        if match and match[1] == match[2]:
            if match[1] not in per_class:
                raise bad(f"has training images of {match[1]} ({name}), a class wnids.txt does not list")
            per_class[match[1]].append((int(match[3]), name))
    empty = [wnid for wnid, members in per_class.items() if not members]
    if empty:
        raise bad(f"has no training images for {len(empty)} class(es), e.g. "
                  f"{root}train/{empty[0]}/images/")
    train = [(name, label_of[wnid]) for wnid in class_ids for _, name in sorted(per_class[wnid])]

    present, val = set(names), []
    for line in _text(archive, root + "val/val_annotations.txt", bad).splitlines():
        fields = line.split("\t")
        if not line.strip():
            continue
        member = f"{root}val/images/{fields[0]}"
        if len(fields) < 2 or fields[1] not in label_of:
            raise bad(f"has a line in val/val_annotations.txt without a class wnids.txt lists: {line!r}")
        if member not in present:
            raise bad(f"lacks {member}, listed in val/val_annotations.txt")
        val.append((member, label_of[fields[1]]))
    if not val:
        raise bad("lists no images in val/val_annotations.txt")
    return class_ids, class_names, train, val


def _text(archive: zipfile.ZipFile, member: str, bad) -> str:
    try:
        return archive.read(member).decode("utf-8")
    except KeyError:
        raise bad(f"lacks {member}: it is not the Tiny ImageNet release") from None
    except (*_BROKEN_MEMBER, UnicodeDecodeError) as err:
        raise bad(f"is corrupt: reading {member} failed with {err}") from err


def _grey(archive: zipfile.ZipFile, member: str, size: int, image_module, bad) -> np.ndarray:
    """One member decoded, converted to grey luma and resized to size x size (bilinear)."""
    try:
        with image_module.open(io.BytesIO(archive.read(member))) as image:
            grey = image.convert("L")
    except _BROKEN_MEMBER as err:  # bad CRC, truncated data, not an image
        raise bad(f"is corrupt: reading {member} failed with {err}") from err
    if grey.size != (size, size):
        grey = grey.resize((size, size), getattr(image_module, "Resampling", image_module).BILINEAR)
    return np.asarray(grey, dtype=np.uint8)
