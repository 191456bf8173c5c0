"""MedMNIST binary datasets (PneumoniaMNIST, BreastMNIST): registry, download, validated loading.

The registry (``crossdomain_kit/data/registry/medmnist.json``, shipped with the
package) lists, for each dataset and size 28/64/128/224, the official file
name, Zenodo URL and md5, with the source, licence and citation. A file
``medmnist.json`` in the folder named by ``CROSSDOMAIN_REGISTRY`` replaces it
(same format, checked on every read), e.g. to give a mirror's own md5s.

Where files come from:

* A loader first looks in the data folder (``data_dir=``, else
  ``$CROSSDOMAIN_DATA_DIR``, else ``~/.crossdomain_kit/datasets``) for the
  official file name (``pneumoniamnist.npz`` at 28 px, ``pneumoniamnist_64.npz``
  at 64 px, ...) and, as an alias, ``<name>_<size>.npz`` (e.g.
  ``pneumoniamnist_28.npz``).
* Otherwise, with ``download=True``, it downloads the official file into that
  folder (:func:`crossdomain_kit.data.download.download_file`: progress bar,
  timeout, retries, md5 checked before the file appears, no partial files),
  from ``<mirror>/<file name>`` when ``CROSSDOMAIN_MIRROR_URL`` names a local
  mirror (:mod:`crossdomain_kit.config`), else from Zenodo.

Checksum policy: the md5 is verified for every file the kit downloads. A file
you put in the data folder yourself is *not* rejected for a different md5
(re-packed copies of the same data are common); instead the contents of every
file loaded, local or downloaded, are validated: the split's keys, image shape
(n, size, size) or (n, size, size, 1), dtype uint8, no NaN, labels of shape
(n,) or (n, 1) holding only 0 and 1, one label per image.

Label mapping (read this before comparing with MedMNIST papers): the kit
always labels the **disease 1 (positive)**.

* PneumoniaMNIST: unchanged, 0 = normal, 1 = pneumonia.
* BreastMNIST: **remapped**. Officially 0 = malignant and 1 = normal or benign;
  the kit returns ``1 - official``, so 1 = malignant and
  ``class_names == ("normal or benign", "malignant")``.

Images are returned as uint8 arrays of shape (n, size, size, 1), pixel values
0-255, unscaled.

Introduced in ``notebooks/03_transfer_shifted_domains.ipynb``.
"""

from __future__ import annotations

import contextlib
import os
import zipfile
import zlib
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from .. import _checks, config
from .domains import SPLITS, Domain, DomainSplit
from .download import (DownloadError, check_file_record, download_file, download_url, load_registry,
                       mirror_advice)

_UNREADABLE = (ValueError, EOFError, zipfile.BadZipFile, zlib.error)


def medmnist_registry() -> dict:
    """The whole MedMNIST registry: ``{"source": ..., "datasets": {name: entry}}``.

    Returns:
        A fresh dict (safe to modify) parsed from the packaged JSON, or from
        ``medmnist.json`` in the folder named by ``CROSSDOMAIN_REGISTRY``.

    Raises:
        ValueError: that setting is malformed, or the file is not a MedMNIST
            registry (the message names the file and the problem).
    """
    return load_registry("medmnist.json", _check_registry)


def medmnist_url(name: str, size: int = 28) -> str:
    """The address a download of a MedMNIST file fetches: the mirror's when one is set, else Zenodo's.

    Args:
        name: a dataset name from :func:`medmnist_names`.
        size: image side in pixels: 28, 64, 128 or 224.

    Returns:
        ``<mirror>/<file name>`` when ``CROSSDOMAIN_MIRROR_URL`` is set, else the registry's URL.

    Raises:
        ValueError: for an unknown ``name`` or ``size``, or a malformed setting.
    """
    record = _file_record(medmnist_info(name), size)
    return download_url(record["file"], record["url"])


def medmnist_names() -> tuple[str, ...]:
    """Names of the MedMNIST datasets the kit knows, e.g. ``("pneumoniamnist", "breastmnist")``."""
    return tuple(medmnist_registry()["datasets"])


def medmnist_info(name: str) -> dict:
    """Registry entry of one dataset: title, split sizes, labels, licence, files per size.

    Args:
        name: a dataset name from :func:`medmnist_names` (case-insensitive).

    Returns:
        A fresh dict; ``info["files"]["28"]`` holds ``file``, ``url`` and ``md5``.

    Raises:
        ValueError: if the name is unknown.
    """
    datasets = medmnist_registry()["datasets"]
    if not isinstance(name, str) or name.lower() not in datasets:
        raise _checks.fail(f"`name` must be one of {tuple(datasets)}.", "name", name)
    return datasets[name.lower()]


def fetch_medmnist(name: str, size: int = 28, data_dir: str | os.PathLike | None = None, *,
                   download: bool = True, timeout: float = 30.0, retries: int = 3,
                   progress: bool = True, force: bool = False) -> Path:
    """Path of a MedMNIST file in the data folder, downloading it if it is missing.

    A local file is used as it is (see the module docstring for the checksum
    policy); a downloaded one is md5-verified before it appears.

    Args:
        name: ``"pneumoniamnist"`` or ``"breastmnist"``.
        size: image side in pixels: 28, 64, 128 or 224.
        data_dir: folder to look in and download to; default
            :func:`crossdomain_kit.config.data_dir`.
        download: download the official file (from the mirror, when
            ``CROSSDOMAIN_MIRROR_URL`` is set) when no local file is found.
        timeout: seconds before a stalled connection counts as failed.
        retries: extra download attempts after a network failure.
        progress: show a download progress bar.
        force: download even when a local file is there (a corrupt one, say):
            the official file replaces it once verified; a failed download
            leaves it as it was.

    Returns:
        Absolute path of the ``.npz`` file.

    Raises:
        ValueError: for an unknown ``name`` or ``size``.
        FileNotFoundError: no local file and ``download=False``; the message
            names the file, its URL and the folder to put it in.
        crossdomain_kit.data.download.DownloadError: the download failed (offline,
            HTTP error, md5 mismatch); same information in the message, and
            the mirror setting when the URL was the mirror's.
    """
    info = medmnist_info(name)
    record = _file_record(info, size)
    folder = config.data_dir(data_dir)
    candidates = _local_names(name.lower(), size, record)
    for candidate in candidates if not force else ():
        if (folder / candidate).is_file():
            return folder / candidate
    url = download_url(record["file"], record["url"])
    elsewhere = (f"point {config.DATA_DIR_ENV} (or data_dir=) at a folder that already "
                 f"holds {record['file']}.")
    if not download:
        raise FileNotFoundError(
            f"{info['title']} at {size} px is not in {folder} (looked for "
            f"{' and '.join(candidates)}). Call again with download=True, or download "
            f"{url} yourself and save it in {folder} as {record['file']}, or {elsewhere}")
    try:
        return download_file(url, folder / record["file"], record["md5"],
                             timeout=timeout, retries=retries, progress=progress)
    except DownloadError as err:
        advice = mirror_advice(record["file"], record["url"])
        raise DownloadError(f"{err} {advice + ' ' if advice else ''}Or {elsewhere}", err.url,
                            err.destination, err.status) from err


def load_medmnist(name: str, size: int = 28, split: str = "train",
                  data_dir: str | os.PathLike | None = None, download: bool = True) -> DomainSplit:
    """One split of a MedMNIST binary dataset, validated, disease labelled 1.

    BreastMNIST labels are remapped (official 0 = malignant becomes 1); see the
    module docstring.

    Args:
        name: ``"pneumoniamnist"`` or ``"breastmnist"``.
        size: image side in pixels: 28, 64, 128 or 224.
        split: ``"train"``, ``"val"`` or ``"test"``.
        data_dir: folder to look in and download to; default
            :func:`crossdomain_kit.config.data_dir`.
        download: download the official file when no local file is found.

    Returns:
        A :class:`~crossdomain_kit.data.domains.DomainSplit` with uint8 ``images``
        of shape (n, size, size, 1), ``labels`` in {0, 1} and ``class_names``
        (negative, positive), e.g. ("normal", "pneumonia").

    Raises:
        ValueError: for a bad argument, or a file that is unreadable or whose
            contents are wrong (the message names the file and the problem).
        FileNotFoundError, DownloadError: see :func:`fetch_medmnist`.
    """
    if split not in SPLITS:
        raise _checks.fail(f"`split` must be one of {SPLITS}.", "split", split)
    path = fetch_medmnist(name, size, data_dir, download=download)
    return _read_splits(path, name.lower(), size, (split,))[split]


def load_medmnist_domain(name: str, size: int = 28, data_dir: str | os.PathLike | None = None,
                         download: bool = True) -> Domain:
    """All three splits of a MedMNIST binary dataset as a :class:`~crossdomain_kit.data.domains.Domain`.

    Args and Raises: as :func:`load_medmnist` (without ``split``).

    Returns:
        ``Domain(name, train, val, test)``; labels mapped as in :func:`load_medmnist`.
    """
    path = fetch_medmnist(name, size, data_dir, download=download)
    splits = _read_splits(path, name.lower(), size, SPLITS)
    return Domain(name.lower(), **splits)


def medmnist_dataset_of(path: str | os.PathLike) -> tuple[str, int] | None:
    """The registry dataset and size a file is named for, from its name alone.

    Args:
        path: a file path or name, e.g. ``"data/breastmnist_64.npz"``.

    Returns:
        ``(name, size)``, e.g. ``("breastmnist", 64)``, when the file's name is
        the official file name of a dataset at a size, or its
        ``<name>_<size>.npz`` alias; otherwise None. The file is not opened.
    """
    file_name = Path(path).name
    for name, info in medmnist_registry()["datasets"].items():
        for size, record in info["files"].items():
            if file_name in _local_names(name, int(size), record):
                return name, int(size)
    return None


@contextlib.contextmanager
def open_npz(path, bad: Callable[[str], Exception], expected: str = "") -> Iterator:
    """Open a ``.npz`` archive without pickle, or fail through ``bad(problem)``.

    Args:
        path: the file.
        bad: makes the exception for a problem (a phrase that follows the file name).
        expected: what the archive should hold, added to the single-array message.

    Yields:
        The open ``NpzFile`` (closed, with its file, on leaving).

    Raises:
        What ``bad`` makes: the file is not a zip archive (a text file named
        ``.npz``, say), is not a readable one, or holds a single ``.npy`` array.
    """
    with open(path, "rb") as file:  # np.load leaves a file it opened itself open when it fails
        start = file.read(6)
        file.seek(0)
        if not start:
            raise bad("is empty (0 bytes): an interrupted copy or download?")
        if not start.startswith((b"PK", b"\x93NUMPY")):  # np.load would blame pickled data, which misleads
            raise bad(f"is not an .npz archive (a zip of .npy arrays): it begins with {start!r}; is it another "
                      "kind of file renamed .npz? Save the arrays with numpy.savez")
        try:
            archive = np.load(file, allow_pickle=False)
        except _UNREADABLE as err:
            raise bad(f"is not a readable .npz archive (truncated or corrupt?): {err}") from err
        if isinstance(archive, np.ndarray):
            raise bad(f"holds a single .npy array, not an .npz archive{expected}")
        with archive:
            yield archive


def iter_npz_splits(path: str | os.PathLike, splits: tuple[str, ...] = SPLITS, *,
                    optional: tuple[str, ...] = (),
                    bad: Callable[[str], Exception] | None = None
                    ) -> Iterator[tuple[str, np.ndarray, np.ndarray]]:
    """The arrays of an .npz in MedMNIST layout, as stored, one split at a time.

    MedMNIST layout: an ``<split>_images`` and a ``<split>_labels`` array per
    split (``train_images``, ``train_labels``, ``val_images``, ...). It reads
    the registry files (:func:`load_medmnist`) and a user's own .npz
    (:func:`crossdomain_kit.data.user_data.load_user_data`); each caller checks
    the arrays its own way. A split is read only when the one before it has
    been handed over, so a caller's check of one split comes before any
    problem of the next.

    Args:
        path: the .npz file.
        splits: the splits to read, in this order.
        optional: those of ``splits`` that may be absent: a split that lacks
            either array is passed over.
        bad: makes the error from a problem such as ``"lacks train_labels (it
            holds [...])"``; default ``ValueError(f"{path} {problem}.")``.

    Yields:
        ``(split, images, labels)`` for each split present, arrays unchecked.

    Raises:
        ValueError (or what ``bad`` makes): the file is not a readable .npz
            archive, holds a single .npy array, lacks a required split's
            arrays, or one of them is corrupt.
    """
    if bad is None:
        def bad(problem: str) -> ValueError:
            return ValueError(f"{path} {problem}.")
    with open_npz(path, bad, " with train/val/test images and labels") as archive:
        for split in splits:
            keys = (f"{split}_images", f"{split}_labels")
            missing = [k for k in keys if k not in archive.files]
            if missing and split in optional:
                continue
            if missing:
                raise bad(f"lacks {' and '.join(missing)} (it holds {sorted(archive.files)})")
            try:
                images, labels = archive[keys[0]], archive[keys[1]]
            except _UNREADABLE as err:
                raise bad(f"is corrupt: reading {split} failed with {err}") from err
            yield split, images, labels


def _check_registry(data: dict, bad) -> None:
    """Raise ``bad(problem)`` unless ``data`` is a MedMNIST registry the loaders can use."""
    datasets = data.get("datasets")
    if not isinstance(datasets, dict) or not datasets:
        raise bad("has no 'datasets' object naming at least one dataset")
    for name, info in datasets.items():
        where = f"datasets.{name}"
        if name != name.lower() or not name:
            raise bad(f"has the dataset name {name!r}; expected lower case, e.g. 'pneumoniamnist'")
        if not isinstance(info, dict):
            raise bad(f"has {where} that is not an object")
        missing = [k for k in ("title", "licence", "class_names", "positive_official_label", "files")
                   if k not in info]
        if missing:
            raise bad(f"has {where} without {', '.join(missing)}")
        for key in ("title", "licence"):
            if not isinstance(info[key], str) or not info[key]:
                raise bad(f"has {where}.{key}={info[key]!r}; expected a non-empty string")
        names = info["class_names"]
        if not isinstance(names, list) or len(names) != 2 or not all(isinstance(n, str) and n for n in names):
            raise bad(f"has {where}.class_names={names!r}; expected [negative name, positive name]")
        if info["positive_official_label"] not in (0, 1) or isinstance(info["positive_official_label"], bool):
            raise bad(f"has {where}.positive_official_label={info['positive_official_label']!r}; "
                      "expected 0 or 1")
        files = info["files"]
        if not isinstance(files, dict) or not files:
            raise bad(f"has {where}.files that is not an object of image sizes, e.g. {{\"28\": ...}}")
        for size, record in files.items():
            if not size.isdigit() or str(int(size)) != size or int(size) == 0:
                raise bad(f"has the size {size!r} in {where}.files; expected a number of pixels, e.g. '28'")
            check_file_record(record, f"{where}.files.{size}", bad)


def _file_record(info: dict, size: int) -> dict:
    sizes = tuple(int(s) for s in info["files"])
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or int(size) not in sizes:
        raise _checks.fail(f"`size` must be one of {sizes} for {info['title']}.", "size", size)
    return info["files"][str(int(size))]


def _local_names(name: str, size: int, record: dict) -> list[str]:
    """Official file name first, then the ``<name>_<size>.npz`` alias (if different)."""
    return list(dict.fromkeys([record["file"], f"{name}_{int(size)}.npz"]))


def _read_splits(path: Path, name: str, size: int,
                 splits: tuple[str, ...]) -> dict[str, DomainSplit]:
    info = medmnist_info(name)
    record = info["files"][str(int(size))]

    def bad(problem: str) -> ValueError:
        return ValueError(
            f"The MedMNIST file {path} {problem}. Replace it with the official {info['title']} "
            f"file (run `crossdomain-kit fetch {name}{'' if int(size) == 28 else f' --size {int(size)}'} --force`, "
            f"or fetch_medmnist({name!r}, {int(size)}, force=True) in Python, or download "
            f"{download_url(record['file'], record['url'])}).")

    result = {}
    for split, images, labels in iter_npz_splits(path, splits, bad=bad):
        images = _checked_images(images, f"{split}_images", size, bad)
        labels = _checked_labels(labels, f"{split}_labels", len(images), bad)
        positive = labels == info["positive_official_label"]
        result[split] = DomainSplit(labels=positive.astype(np.int64), images=images,
                                    class_names=tuple(info["class_names"]), domain=name, split=split)
    return result


def _checked_images(images: np.ndarray, key: str, size: int, bad) -> np.ndarray:
    """(n, size, size[, 1]) uint8 images, returned as (n, size, size, 1)."""
    if images.ndim == 4 and images.shape[-1] == 1:
        images = images[..., 0]
    if images.ndim != 3:
        raise bad(f"has {key} of shape {images.shape}; expected (n, {size}, {size})")
    if images.shape[1:] != (size, size):
        raise bad(f"has {images.shape[1]}x{images.shape[2]} images in {key}; expected "
                  f"{size}x{size} (is this the file of another size?)")
    if images.shape[0] == 0:
        raise bad(f"has no images in {key}")
    if images.dtype != np.uint8:
        if np.issubdtype(images.dtype, np.floating) and not np.all(np.isfinite(images)):
            count = int(np.size(images) - np.count_nonzero(np.isfinite(images)))
            raise bad(f"has {count} NaN or infinite pixel(s) in {key}")
        raise bad(f"has {key} of dtype {images.dtype}; expected uint8 (0-255)")
    return images[..., np.newaxis]


def _checked_labels(labels: np.ndarray, key: str, n_images: int, bad) -> np.ndarray:
    """Official labels of shape (n,) or (n, 1) in {0, 1}, returned as shape (n,)."""
    if labels.ndim == 2 and labels.shape[1] == 1:
        labels = labels[:, 0]
    if labels.ndim != 1:
        raise bad(f"has {key} of shape {labels.shape}; expected (n,) or (n, 1): "
                  "one binary label per image")
    if labels.size != n_images:
        raise bad(f"has {labels.size} entries in {key} for {n_images} images")
    if not (np.issubdtype(labels.dtype, np.number) or labels.dtype == np.bool_):
        raise bad(f"has {key} of dtype {labels.dtype}; expected integers 0 and 1")
    outside = ~np.isin(labels, (0, 1))
    if outside.any():
        found = np.unique(labels[outside])[:5].tolist()
        raise bad(f"has labels other than 0 and 1 in {key} (found {found}); "
                  "the kit loads binary MedMNIST datasets only")
    return labels
