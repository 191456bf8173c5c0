"""A user's own data as a Domain with train, val and test: an image folder or a .npz.

Two layouts are read:

* an **image folder**: one folder per class (``ROOT/<class>/…``), or
  ``train/ [val/] [test/]`` with one folder per class inside each
  (:func:`crossdomain_kit.data.image_folder.load_image_folder`: corrupt files
  skipped, duplicates removed, missing splits carved by patient);
* a **.npz in MedMNIST layout**: ``train_images`` and ``train_labels``, and
  optionally ``val_*`` and ``test_*`` (:func:`crossdomain_kit.data.medmnist.iter_npz_splits`).
  A file named like a registry file (``breastmnist.npz``, ``pneumoniamnist_64.npz``)
  is loaded as that dataset: validated, disease labelled 1. Any other .npz
  keeps its labels (1 is the positive class) and is called "class 0" vs "class 1".

Every split must hold both classes, and an .npz's images finite pixel
values: both are checked before any training, naming the split and its
class counts (or the images). A missing ``val`` or ``test`` split is carved
out of ``train`` (a folder of class folders is all ``train``), about the
asked-for share of each class: by patient in an image folder (whole patients
move, as in :func:`~crossdomain_kit.data.image_folder.kaggle_patient_id`; a
file whose name carries no patient id is its own group, which the
description says once), by image in a .npz. The same seed carves the same
splits, so ``evaluate`` sees the test split that ``finetune`` held out, and
:meth:`UserData.write_splits` records which file went where.

Introduced in the README ("Set up"): ``crossdomain-kit finetune --data PATH``
and ``crossdomain-kit evaluate --data PATH`` read their data with
:func:`load_user_data`.
"""

from __future__ import annotations

import csv
import os
import warnings
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from .. import config
from .domains import SPLITS, Domain, DomainSplit, check_both_classes, check_finite_images
from .image_folder import CLASS_FOLDERS, MissingGroupIdWarning, carve_groups, load_image_folder
from .medmnist import iter_npz_splits, load_medmnist_domain, medmnist_dataset_of

_LAYOUTS = ("an image folder (one folder per class, or train/ [val/] [test/] with one folder per "
            "class inside each) or a .npz in MedMNIST layout")
_NPZ_LAYOUT = ("a .npz in MedMNIST layout holds train_images and train_labels (and optionally "
               "val_* and test_*)")


class PositiveClassError(ValueError):
    """``positive_class`` was given for a .npz, whose positive class is label 1."""


@dataclass(frozen=True, eq=False)
class UserData:
    """A user's data as a Domain, with what was read and how.

    Attributes:
        domain: the Domain with ``train``, ``val`` and ``test`` splits.
        description: JSON-ready facts for a report: ``path``, ``format``,
            ``carved_by`` (``"patient"`` or ``"image"``; absent for a registry
            file), ``class_names``, ``positive_class``, ``splits`` (``n`` and the
            count per class of each split), ``carved_from_train`` (the splits
            carved out of train) and, for an image folder, ``layout``
            (``"split folders"`` or ``"class folders"``),
            ``files_without_patient_id`` (among the files carved from),
            ``skipped_files`` and ``duplicates_removed``.
    """

    domain: Domain
    description: dict

    def describe(self) -> str:
        """One line: the path, its format, the classes, the split sizes and what was carved."""
        info = self.description
        splits = ", ".join(f"{name} {split['n']}" for name, split in info["splits"].items())
        pool = "the class folders" if info.get("layout") == CLASS_FOLDERS else "train"
        carved = (f"; {' and '.join(info['carved_from_train'])} carved out of {pool} by "
                  f"{info['carved_by']}{_ungrouped_note(info)}" if info["carved_from_train"] else "")
        negative, positive = info["class_names"]
        layout = ", one folder per class" if info.get("layout") == CLASS_FOLDERS else ""
        return (f"Data: {info['path']} ({info['format']}{layout}): {negative} vs {positive} "
                f"(positive); {splits}{carved}.")

    def write_splits(self, path: str | os.PathLike) -> Path:
        """Write which image file went to which split, as CSV: the record that reproduces the run's splits.

        Columns ``split, class, label, file`` (the file relative to the data
        folder), one row per image, splits in train/val/test order.

        Args:
            path: the CSV file to write.

        Returns:
            The path written.

        Raises:
            ValueError: the data are arrays (a .npz), not image files.
        """
        if self.domain.train.files is None:
            raise ValueError(f"{self.description['path']} holds arrays, not image files: its splits are "
                             "reproduced by the seed, not listed.")
        root = Path(self.description["path"])
        path = Path(path)
        with open(path, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["split", "class", "label", "file"])
            for name, split in self.domain.splits().items():
                for file, label in zip(split.files, split.labels):
                    writer.writerow([name, split.class_names[int(label)], int(label),
                                     Path(file).relative_to(root).as_posix()])
        return path


def load_user_data(path: str | os.PathLike, *, positive_class: str | None = None, seed: int = 0,
                   val_fraction: float = 0.15, test_fraction: float = 0.2) -> UserData:
    """An image folder or a .npz in MedMNIST layout as a Domain with train, val and test.

    Args:
        path: the folder or .npz. A relative path that does not exist from the
            current directory is looked up in the data directory
            (:func:`crossdomain_kit.config.data_dir`).
        positive_class: for an image folder, the class folder labelled 1
            (default: the second in sorted order). Not for a .npz.
        seed: seed of the carving (same seed, same splits).
        val_fraction: share of each class's training images carved out as
            ``val`` when there is none.
        test_fraction: share of each class's training images left after
            ``val`` carved out as ``test`` when there is none.

    Returns:
        A :class:`UserData`: the Domain and its description.

    Raises:
        FileNotFoundError: nothing at ``path``, here or in the data directory.
        PositiveClassError: ``positive_class`` was given for a .npz.
        ValueError: ``path`` is neither a folder nor a .npz; the folder or file
            is not laid out as above or is unreadable (the message names it);
            a split holds one class only (the message names the split and its
            class counts); an .npz holds NaN or infinite pixels; too few
            images or patients to carve a split.
    """
    path = _find(path)
    if path.is_dir():
        domain, carved, details = _image_folder_domain(path, positive_class, seed, val_fraction,
                                                       test_fraction)
    elif path.suffix.lower() == ".npz":
        if positive_class is not None:
            raise PositiveClassError(f"positive_class applies to image folders; in a .npz ({path}) "
                                     "the positive class is label 1.")
        domain, carved, details = _npz_domain(path, seed, val_fraction, test_fraction)
    else:
        raise ValueError(f"{path} is neither a folder nor a .npz file. Pass {_LAYOUTS}.")
    for split in domain.splits().values():
        check_both_classes(split, where=str(path), carved=split.split in carved)
    description = {
        "path": str(path), **details, "class_names": list(domain.class_names),
        "positive_class": domain.class_names[1],
        "splits": {name: {"n": len(split), **split.class_counts()}
                   for name, split in domain.splits().items()},
        "carved_from_train": carved,
    }
    return UserData(domain, description)


def native_image_size(split: DomainSplit) -> int:
    """The side of a split's images as stored: the smaller of height and width.

    Args:
        split: a split of images in memory or of image files.

    Returns:
        For images in memory, their side; for files, the median side of up to
        16 files spread over the split (decoded with TensorFlow).
    """
    if split.images is not None:
        return int(min(split.images.shape[1:3]))
    import tensorflow as tf

    picks = np.linspace(0, len(split.files) - 1, min(16, len(split.files))).astype(int)
    files = [split.files[i] for i in picks]
    sides = [int(tf.reduce_min(tf.shape(tf.io.decode_image(tf.io.read_file(f), channels=3,
                                                          expand_animations=False))[:2]))
             for f in files]
    return int(np.median(sides))


def _find(text: str | os.PathLike) -> Path:
    """The absolute path of ``text``, from here or else from the data directory."""
    path = Path(text).expanduser()
    if not path.exists() and not path.is_absolute() and (config.data_dir() / path).exists():
        path = config.data_dir() / path
    if not path.exists():
        raise FileNotFoundError(
            f"No such file or folder: {text} (also looked in the data directory {config.data_dir()}). "
            f"Pass {_LAYOUTS}.")
    return path.resolve()


def _carve(split: DomainSplit, fraction: float, seed: int, carved_name: str) -> tuple[DomainSplit, DomainSplit]:
    """(kept, carved): images, about ``fraction`` of each class, moved to a new split."""
    try:
        moved = np.asarray(carve_groups(list(range(len(split))), split.labels, fraction, seed, split=carved_name))
    except ValueError as error:
        raise ValueError(f"Too few images in the {split.split} split of the .npz to carve a {carved_name} "
                         f"split out of it; add {carved_name} arrays to the .npz. Received: {split!r}") from error
    carved = split.take(np.flatnonzero(moved))
    return split.take(np.flatnonzero(~moved)), replace(carved, split=carved_name)


def _npz_labels(images: np.ndarray, labels: np.ndarray, split: str) -> np.ndarray:
    """``<split>_labels`` as 0/1 integers, or a ValueError that names the array, the problem and the fix."""
    name = f"{split}_labels"
    if labels.ndim == 2 and labels.shape[1] > 1:
        raise ValueError(f"{name} is one-hot or multi-label, shape {labels.shape}; store one class index per "
                         f"image: {name}.argmax(axis=1).")
    if labels.ndim not in (1, 2) or (labels.ndim == 2 and labels.shape[1] != 1):
        raise ValueError(f"{name} must be one label per image, shaped (n,) or (n, 1); found shape {labels.shape}.")
    labels = labels.reshape(-1)
    if len(labels) != len(images):
        raise ValueError(f"{name} has {len(labels)} labels for {len(images)} images in {split}_images; "
                         "they must pair up one to one.")
    if len(labels) == 0:
        raise ValueError(f"{split}_images and {name} are empty; the {split} split needs images of both classes.")
    if not (np.issubdtype(labels.dtype, np.number) or labels.dtype == bool):
        raise ValueError(f"{name} holds {labels.dtype} values; store the class as 0 or 1 (1 = the positive class).")
    if not np.all(np.isfinite(labels)):
        bad = np.flatnonzero(~np.isfinite(labels))
        raise ValueError(f"{name} holds {len(bad)} NaN or infinite value(s) (first at index {bad[0]}); every "
                         "image needs a label 0 or 1.")
    values = np.unique(labels)
    if not set(values.tolist()) <= {0, 1}:
        shown = ", ".join(f"{v:g}" for v in values[:6]) + (", ..." if len(values) > 6 else "")
        raise ValueError(f"{name} holds the values {shown}; the kit's tasks are binary: 0 for the negative class, "
                         "1 for the positive. Map your labels to 0 and 1 first.")
    return labels.astype(np.int64)


def _check_npz_pixels(images: np.ndarray, split: str) -> None:
    """Refuse ``<split>_images`` that are not images of 0-255 pixel values (the MedMNIST convention)."""
    name = f"{split}_images"
    if images.ndim not in (3, 4) or not np.issubdtype(images.dtype, np.number):
        raise ValueError(f"{name} must be numeric images shaped (n, height, width[, channels]); found "
                         f"{images.dtype} of shape {images.shape}.")
    check_finite_images(images, name)
    if images.size == 0 or images.dtype == np.uint8:
        return
    low, high = float(images.min()), float(images.max())
    if np.issubdtype(images.dtype, np.floating) and 0 <= low < high <= 1:  # a constant split says nothing
        raise ValueError(f"{name} holds {images.dtype} pixels in [0, 1] (from {low:g} to {high:g}); the kit reads "
                         "pixels as 0-255, as MedMNIST stores them. Save them as "
                         f"np.round({name} * 255).astype(np.uint8).")
    if low < 0 or high > 255:
        raise ValueError(f"{name} holds pixel values from {low:g} to {high:g}; the kit reads pixels as 0-255 "
                         "(8-bit, as MedMNIST stores them). Rescale them to 0-255 and save as uint8 (standardised "
                         "or 16-bit images included).")


def _ungrouped_note(info: dict) -> str:
    """Where carving by patient fell back to single images, said once (in the description)."""
    missing = info.get("files_without_patient_id", 0)
    if not missing or info["carved_by"] == "image":
        return " (no file name carries a patient id: each image is its own group)" if missing else ""
    return f" ({missing} file names carry no patient id: each of those images is its own group)"


def _image_folder_domain(path: Path, positive_class, seed: int, val_fraction: float,
                         test_fraction: float):
    with warnings.catch_warnings():  # said once, in the description, instead
        warnings.simplefilter("ignore", MissingGroupIdWarning)
        folder = load_image_folder(path, positive_class=positive_class, val_fraction=val_fraction,
                                   test_fraction=test_fraction, seed=seed)
    pool = len(folder.train) + sum(len(folder.splits()[name]) for name in folder.carved)
    carved_by = "image" if folder.ungrouped and folder.ungrouped == pool else "patient"
    details = {"format": "image folder", "layout": folder.layout, "carved_by": carved_by,
               "files_without_patient_id": folder.ungrouped, "skipped_files": len(folder.skipped),
               "duplicates_removed": len(folder.duplicates)}
    return Domain(folder.name, folder.train, folder.val, folder.test), list(folder.carved), details


def _npz_domain(path: Path, seed: int, val_fraction: float, test_fraction: float):
    entry = medmnist_dataset_of(path)
    if entry is not None:  # a registry file: validated, and labelled disease = 1 (BreastMNIST remapped)
        name, size = entry
        domain = load_medmnist_domain(name, size, data_dir=path.parent, download=False)
        return domain, [], {"format": f"MedMNIST .npz ({name}, {size} px)"}

    def bad(problem: str) -> ValueError:
        return ValueError(f"{path} {problem}; {_NPZ_LAYOUT}.")

    splits = {}
    for split, images, labels in iter_npz_splits(path, SPLITS, optional=("val", "test"), bad=bad):
        try:
            labels = _npz_labels(images, labels, split)
            _check_npz_pixels(images, split)
        except ValueError as error:
            raise ValueError(f"{path}: {error}") from None
        splits[split] = DomainSplit(labels=labels, images=images, class_names=("class 0", "class 1"),
                                    domain=path.stem, split=split)
        if split == "train":  # before carving: a one-class train is the problem, not too few images
            check_both_classes(splits[split], where=str(path))
    carved = []
    for name, fraction in (("val", val_fraction), ("test", test_fraction)):
        if name not in splits:
            train = splits["train"]
            splits["train"], splits[name] = _carve(train, fraction, seed, name)
            carved.append(name)
    details = {"format": ".npz (MedMNIST layout)", "carved_by": "image"}
    return Domain(path.stem, **splits), carved, details
