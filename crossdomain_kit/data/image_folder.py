"""Image folders on disk as a Domain: ``train/``, ``val/``, ``test/`` of class folders, or class folders alone.

Two layouts are read:

* **split folders**: ``train/`` (+ optional ``val/``, ``test/``), each with
  one folder per class, as the Kaggle chest X-ray release ships;
* **class folders**: ``ROOT/<class_a>/…``, ``ROOT/<class_b>/…``, the layout
  ``keras.utils.image_dataset_from_directory`` takes and most exports have.
  The whole folder is the training pool; validation (and, when asked, test)
  is carved out of it as below.

This replaces Keras 2's ``ImageDataGenerator.flow_from_directory``, which
Keras 3 no longer has. It follows the conventions of
``keras.utils.image_dataset_from_directory`` (class names are the sorted
class-folder names, labels come from the folder, the same image extensions,
class folders are searched recursively) but builds the file list itself,
because that function cannot skip a corrupt file: one bad JPEG would crash
training mid-epoch. Here, before anything trains:

* **Non-image files** (``README.txt``, any extension other than
  .bmp/.gif/.jpeg/.jpg/.png) are ignored and listed in ``ignored``; hidden
  files and folders (``.DS_Store``, ``.ipynb_checkpoints``, macOS ``._*``
  copies) are passed over silently.
* **Unreadable files** (a truncated JPEG, a text file named ``.jpg``, an empty
  file, an image format TensorFlow cannot decode) are found by decoding every
  file once with the same TensorFlow decoder the input pipeline uses (JPEGs at
  1/8 scale, which reads the whole file but is much faster). They are
  skipped, named in a warning and listed in ``skipped``; no file is modified.
* **Byte-identical duplicates** are removed from ``train/`` and ``val/``,
  keeping one copy: a copy in ``test/`` wins (so training never sees a test
  image), then one in ``val/``, then the first by path. ``test/`` itself is
  never changed, so results stay comparable with published ones on the same
  test folder. Copies filed under different classes cannot be labelled: the
  train and val copies are skipped.
* **Validation (and test) are carved by group** when there is no ``val/``
  (``test/``) folder: every file is mapped to a group (the patient, by
  default read from the Kaggle chest X-ray file name, see
  :func:`kaggle_patient_id`), and whole groups move, about the asked-for
  share of each class, seeded, so no patient straddles two splits. A file
  without a group id is its own group (a :class:`MissingGroupIdWarning` counts them).

Colour modes and sizes are left to the pipeline
(:func:`crossdomain_kit.data.pipeline.make_pipeline`): grey, RGB, RGBA and palette
images of any size all decode to the channels and size the model needs.

Introduced in ``notebooks/05_medical_imaging_finetune.ipynb``.
"""

from __future__ import annotations

import hashlib
import os
import re
import warnings
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Hashable

import numpy as np

from .. import _checks, config
from .domains import Domain, DomainSplit

IMAGE_EXTENSIONS = (".bmp", ".gif", ".jpeg", ".jpg", ".png")
VAL_FOLDER_NAMES = ("val", "valid", "validation")
_SPLIT_PRIORITY = {"test": 0, "val": 1, "train": 2}  # which copy of a duplicate is kept
_KAGGLE_PATIENT = re.compile(r"^(person\d+)_")
_KAGGLE_NORMAL_STUDY = re.compile(r"^((?:NORMAL2-)?IM-\d+)-")
_NAMES_IN_WARNING = 5
SPLIT_FOLDERS, CLASS_FOLDERS = "split folders", "class folders"


class MissingGroupIdWarning(UserWarning):
    """Files carved into val/test have no group (patient) id; each of them was its own group."""


@dataclass(frozen=True, eq=False)
class ImageFolderDomain(Domain):
    """A :class:`~crossdomain_kit.data.domains.Domain` read from an image folder, with what was left out.

    Attributes:
        root: the folder that was read (absolute path).
        skipped: ``(path, reason)`` for every image file that was not used
            because it could not be decoded or its label was ambiguous.
        duplicates: ``(removed path, kept path)`` for every byte-identical copy
            that was removed.
        ignored: paths of non-image files and of folders that are not splits.
        layout: ``"split folders"`` (``train/`` …) or ``"class folders"``
            (one folder per class, nothing else).
        carved: the splits carved out of the training pool, in order
            (``("val",)``, ``("val", "test")`` or ``()``).
        ungrouped: training files (before carving) without a group id, each
            carved as its own group; 0 when nothing was carved.
    """

    root: str = ""
    skipped: tuple[tuple[str, str], ...] = ()
    duplicates: tuple[tuple[str, str], ...] = ()
    ignored: tuple[str, ...] = ()
    layout: str = SPLIT_FOLDERS
    carved: tuple[str, ...] = ()
    ungrouped: int = 0


def kaggle_patient_id(path: str | os.PathLike) -> str | None:
    """The patient (or study) a Kaggle chest X-ray file belongs to, read from its name.

    * ``person123_bacteria_456.jpeg`` → ``"person123"`` (pneumonia files; a
      person's ``bacteria`` and ``virus`` files share the id, which can only
      make a split more cautious);
    * ``IM-0115-0001.jpeg`` → ``"IM-0115"`` and ``NORMAL2-IM-0395-0001.jpeg``
      → ``"NORMAL2-IM-0395"`` (normal files: the number after ``IM-`` is the
      study, the last number the image; the ``NORMAL2-`` batch numbers its
      studies separately, so its prefix is kept).

    Args:
        path: a file path or name.

    Returns:
        The group id, or None when the name follows neither pattern.
    """
    name = Path(path).name
    match = _KAGGLE_PATIENT.match(name) or _KAGGLE_NORMAL_STUDY.match(name)
    return match.group(1) if match else None


def load_image_folder(path: str | os.PathLike, *, positive_class: str | None = None,
                      val_fraction: float = 0.15, test_fraction: float = 0.0,
                      group_by: Callable[[str], Hashable | None] | None = kaggle_patient_id,
                      deduplicate: bool = True, verify: bool = True, seed: int = 0,
                      name: str | None = None, data_dir: str | os.PathLike | None = None,
                      progress: bool = True) -> ImageFolderDomain:
    """Read a ``train/`` (+ optional ``val/``, ``test/``) folder, or a folder of class folders, as a Domain.

    Each split folder holds exactly two class folders (say ``NORMAL/`` and
    ``PNEUMONIA/``), the same in every split. ``val/`` may also be called
    ``valid/`` or ``validation/``. A folder with no split folder but class
    folders (``ROOT/NORMAL/…``, ``ROOT/PNEUMONIA/…``) is read as ``train/``
    alone. The splits hold file paths (decoded later,
    in parallel, by :func:`crossdomain_kit.data.pipeline.make_pipeline`), in class
    order then file-name order.

    Args:
        path: the folder. A relative path that does not exist from the current
            directory is looked up in the data directory
            (:func:`crossdomain_kit.config.data_dir`), so ``"chest_xray"`` works
            from any notebook.
        positive_class: the class folder labelled 1 (e.g. ``"PNEUMONIA"``).
            Default: the second class in sorted order, which is also the label
            ``image_dataset_from_directory`` would give it.
        val_fraction: share of each class's training images moved to
            validation when there is no ``val/`` folder, in whole groups.
            0 keeps all of ``train/`` for training and leaves ``val`` None.
        test_fraction: share of each class's training images left after
            validation that is moved to ``test`` when there is no ``test/``
            folder, in whole groups; 0 (the default) leaves ``test`` None.
        group_by: maps a file path to its group (patient) id; files of one
            group never straddle two splits. A file for which it returns
            None is its own group (a :class:`MissingGroupIdWarning` counts
            them). None makes every file its own group.
        deduplicate: remove byte-identical copies (see the module notes).
        verify: decode every file once to find unreadable ones. Turning it
            off saves that pass but a corrupt file then stops training with a
            TensorFlow error.
        seed: seed for choosing the validation and test groups.
        name: the domain's name; default the folder's name.
        data_dir: data directory for relative paths (see ``path``).
        progress: show a progress bar while checking files.

    Returns:
        An :class:`ImageFolderDomain` (a Domain with ``train``, ``val`` and
        ``test`` splits of files, plus ``skipped``, ``duplicates``,
        ``ignored``, ``layout``, ``carved`` and ``ungrouped``). Nothing on
        disk is written or changed.

    Raises:
        ValueError: if the folder is missing or not laid out as above, a split
            is empty, there are not exactly two classes, splits disagree on
            the classes, ``positive_class`` is not one of them, a class has no
            readable image, there are too few groups to carve validation or
            test, or an argument is out of range.
    """
    val_fraction = _check_fraction(val_fraction, "val_fraction")
    test_fraction = _check_fraction(test_fraction, "test_fraction")
    seed = _checks.seed(seed)
    if group_by is not None and not callable(group_by):
        raise _checks.fail("`group_by` must be a function path -> group id, or None.",
                           "group_by", group_by)
    root = _resolve(path, data_dir)
    layout = CLASS_FOLDERS if is_class_folder_layout(root) else SPLIT_FOLDERS
    split_dirs, ignored = ({"train": root}, []) if layout == CLASS_FOLDERS else find_split_folders(root)
    class_names = None
    found: dict[str, dict[str, list[str]]] = {}
    for split, folder in split_dirs.items():
        classes, split_ignored = scan_split(folder, root)
        ignored += split_ignored
        names = sorted(classes)
        if class_names is None:
            class_names = _check_class_names(names, folder, root)
        elif names != class_names:
            raise ValueError(f"Every split must hold the same class folders as train/ {class_names}. "
                             f"Received: {_relative(folder, root)}/ holds {names}")
        found[split] = classes
    negative, positive = _order_classes(class_names, positive_class)

    all_files = [f for classes in found.values() for group in classes.values() for f in group]
    skipped: dict[str, str] = unreadable_images(all_files, progress) if verify else {}
    duplicates: list[tuple[str, str]] = []
    if deduplicate:
        duplicates, ambiguous = _duplicates(found, skipped)
        skipped.update(ambiguous)
    removed = set(skipped) | {copy for copy, _ in duplicates}

    splits: dict[str, tuple[list[str], np.ndarray]] = {}
    for split, classes in found.items():
        files, labels = [], []
        for class_name in class_names:
            kept = [f for f in classes[class_name] if f not in removed]
            if not kept:
                raise ValueError(f"Class folder {_relative(Path(split_dirs[split]) / class_name, root)}/ "
                                 "has no usable image; add images or remove the class folder. "
                                 f"Received: class_name={class_name!r}")
            files += kept
            labels += [int(class_name == positive)] * len(kept)
        splits[split] = (files, np.asarray(labels, dtype=np.int64))

    if group_by is not None:
        _warn_shared_groups(splits, group_by)
    carved = tuple(split for split, fraction in (("val", val_fraction), ("test", test_fraction))
                   if split not in splits and fraction > 0)
    ungrouped = _carve_splits(splits, {"val": val_fraction, "test": test_fraction}, carved, group_by,
                              seed) if carved else 0

    _warn_left_out(skipped, duplicates, root)
    domain_name = name if name is not None else root.name
    built = {split: DomainSplit(labels=labels, files=files, class_names=(negative, positive),
                                domain=domain_name, split=split)
             for split, (files, labels) in splits.items()}
    return ImageFolderDomain(name=domain_name, train=built["train"], val=built.get("val"),
                             test=built.get("test"), root=str(root),
                             skipped=tuple(sorted(skipped.items())), duplicates=tuple(duplicates),
                             ignored=tuple(sorted(ignored)), layout=layout, carved=carved, ungrouped=ungrouped)


def _check_fraction(value, name: str) -> float:
    value = _checks.fraction(value, name)
    if value >= 1.0:
        raise _checks.fail(f"`{name}` must be in [0, 1): some images must stay in train.", name, value)
    return value


def _carve_splits(splits: dict[str, tuple[list[str], np.ndarray]], fractions: dict[str, float],
                  carved: tuple[str, ...], group_by, seed: int) -> int:
    """Move whole groups out of ``splits["train"]`` into each split of ``carved``, in order; return the ungrouped count."""
    files, labels = splits["train"]
    groups, ungrouped = group_ids(files, group_by)
    for split in carved:
        moved = carve_groups(groups, labels, fractions[split], seed, split=split)
        splits[split] = ([f for f, m in zip(files, moved) if m], labels[moved])
        files, groups = [f for f, m in zip(files, moved) if not m], [g for g, m in zip(groups, moved) if not m]
        labels = labels[~moved]
    splits["train"] = (files, labels)
    return ungrouped


def _resolve(path, data_dir) -> Path:
    if not isinstance(path, (str, os.PathLike)):
        raise _checks.fail("`path` must be a folder path.", "path", path)
    given = Path(path).expanduser()
    candidates = [given] if given.is_absolute() else [given.resolve(), config.data_dir(data_dir) / given]
    for candidate in candidates:
        if candidate.is_dir():
            return candidate.resolve()
    tried = " or ".join(str(c) for c in candidates)
    raise _checks.fail(f"No image folder at {tried}. Pass the folder that holds one folder per class, "
                       "or train/ (and optionally val/, test/).", "path", str(path))


def _visible(entry: os.DirEntry | Path) -> bool:
    return not entry.name.startswith(".")


def is_class_folder_layout(root: Path) -> bool:
    """Whether ``root`` holds class folders only: visible folders, none named like a split.

    Loose files beside them (a ``README.txt``) are allowed and ignored later.
    """
    folders = [e.name for e in os.scandir(root) if e.is_dir() and _visible(e)]
    return bool(folders) and not {"train", "test", *VAL_FOLDER_NAMES} & set(folders)


def find_split_folders(root: Path) -> tuple[dict[str, Path], list[str]]:
    """The split folders under ``root`` by split name (``train``, ``val`` from any alias, ``test``).

    Returns:
        ``(split name → folder, other visible entries, which are ignored)``.

    Raises:
        ValueError: when ``root`` has no ``train/`` folder (the message names the layout).
    """
    split_dirs, ignored = {}, []
    val_aliases = []
    for entry in sorted(os.scandir(root), key=lambda e: e.name):
        if entry.is_dir() and entry.name in ("train", "test"):
            split_dirs[entry.name] = Path(entry.path)
        elif entry.is_dir() and entry.name in VAL_FOLDER_NAMES:
            val_aliases.append(entry.name)
            split_dirs["val"] = Path(entry.path)
        elif _visible(entry):
            ignored.append(entry.path)
    if "train" not in split_dirs:
        folders = sorted(e.name for e in os.scandir(root) if e.is_dir() and _visible(e))
        raise _checks.fail(f"{root} must contain one folder per class (e.g. NORMAL/ and PNEUMONIA/), or a "
                           "train/ folder (and optionally val/, test/) with one folder per class inside each; "
                           f"found folders {folders}.", "path", str(root))
    if len(val_aliases) > 1:
        raise _checks.fail(f"{root} has several validation folders {val_aliases}; keep one.",
                           "path", str(root))
    return {s: split_dirs[s] for s in ("train", "val", "test") if s in split_dirs}, ignored


def scan_split(folder: Path, root: Path) -> tuple[dict[str, list[str]], list[str]]:
    """Image files of each class folder of one split folder (recursively, sorted).

    Args:
        folder: the split folder (``root/train`` say).
        root: the image folder, for messages.

    Returns:
        ``(class name → image files, ignored paths)``.
    """
    classes, ignored = {}, []
    for entry in sorted(os.scandir(folder), key=lambda e: e.name):
        if not _visible(entry):
            continue
        if not entry.is_dir():
            ignored.append(entry.path)
            continue
        files = []
        for directory, subdirs, names in os.walk(entry.path):
            subdirs[:] = sorted(d for d in subdirs if not d.startswith("."))
            for file_name in sorted(names):
                file_path = os.path.join(directory, file_name)
                if file_name.startswith("."):
                    continue
                if file_name.lower().endswith(IMAGE_EXTENSIONS):
                    files.append(file_path)
                else:
                    ignored.append(file_path)
        classes[entry.name] = files
    if not any(classes.values()):
        raise _checks.fail(f"Split folder {_relative(folder, root)}/ holds no image files; it needs "
                           f"one folder per class with {'/'.join(IMAGE_EXTENSIONS)} images inside.",
                           "path", str(folder))
    return classes, ignored


def _check_class_names(names: list[str], folder: Path, root: Path) -> list[str]:
    where = f"{_relative(folder, root)}/"
    if len(names) == 1:
        raise _checks.fail(f"{where} holds a single class folder {names}; a binary task needs two "
                           "(for example NORMAL/ and PNEUMONIA/).", "path", str(folder))
    if len(names) != 2:
        raise _checks.fail(f"{where} holds {len(names)} class folders {names}; the kit's tasks are "
                           "binary: keep exactly two.", "path", str(folder))
    return names


def _order_classes(class_names: list[str], positive_class: str | None) -> tuple[str, str]:
    """(negative, positive) class names."""
    if positive_class is None:
        return class_names[0], class_names[1]
    if positive_class not in class_names:
        raise _checks.fail(f"`positive_class` must be one of the class folders {class_names}.",
                           "positive_class", positive_class)
    negative = class_names[1] if positive_class == class_names[0] else class_names[0]
    return negative, positive_class


def unreadable_images(files, progress: bool = True) -> dict[str, str]:
    """Decode every file with TensorFlow once; map each file that fails to the reason.

    Args:
        files: image paths (strings).
        progress: show a progress bar.

    Returns:
        ``{path: reason}`` for the files TensorFlow cannot decode (empty when
        all are readable).
    """
    import tensorflow as tf
    from tqdm.auto import tqdm

    files = [str(f) for f in files]

    def decode_shape(file_path):
        data = tf.io.read_file(file_path)
        # libjpeg's 1/8-scale decode still parses every byte of the file.
        shape = tf.cond(tf.io.is_jpeg(data),
                        lambda: tf.shape(tf.io.decode_jpeg(data, channels=3, ratio=8)),
                        lambda: tf.shape(tf.io.decode_image(data, channels=3, expand_animations=False)))
        return file_path, shape

    checked = (tf.data.Dataset.from_tensor_slices(tf.constant(files, tf.string))
               .map(decode_shape, num_parallel_calls=tf.data.AUTOTUNE, deterministic=False)
               .ignore_errors(log_warning=False))
    readable = set()
    with tqdm(total=len(files), desc="Checking images", unit="img", disable=not progress) as bar:
        for file_path, _ in checked.as_numpy_iterator():
            readable.add(file_path.decode())
            bar.update(1)
    reasons = {}
    for file_path in files:
        if file_path not in readable:
            try:
                decode_shape(tf.constant(file_path))
                reasons[file_path] = "could not be decoded"
            except (tf.errors.OpError, ValueError) as error:
                reasons[file_path] = _short_tf_message(error)
    return reasons


def _short_tf_message(error: Exception) -> str:
    """TensorFlow's error text without its op and device decorations."""
    text = getattr(error, "message", str(error))
    text = re.sub(r"\{\{[^}]*\}\}\s*", "", text)
    return re.sub(r"\s*\[Op:.*$", "", text, flags=re.S).strip()


def _duplicates(found: dict[str, dict[str, list[str]]], skipped: dict[str, str]
                ) -> tuple[list[tuple[str, str]], dict[str, str]]:
    """Byte-identical copies: (removed, kept) pairs, and ambiguous files to skip with a reason."""
    entries = [(split, class_name, f) for split, classes in found.items()
               for class_name, files in classes.items() for f in files if f not in skipped]
    by_size = defaultdict(list)
    for entry in entries:
        by_size[os.path.getsize(entry[2])].append(entry)
    by_content = defaultdict(list)
    for same_size in by_size.values():
        if len(same_size) > 1:
            for entry in same_size:
                by_content[_digest(entry[2])].append(entry)
    removed, ambiguous = [], {}
    for copies in by_content.values():
        if len(copies) < 2:
            continue
        copies.sort(key=lambda e: (_SPLIT_PRIORITY[e[0]], e[2]))
        removable = [f for split, _, f in copies if split != "test"]
        if len({class_name for _, class_name, _ in copies}) > 1:
            names = ", ".join(f"{Path(f).name} ({c})" for _, c, f in copies)
            for f in removable:
                ambiguous[f] = f"byte-identical copies filed under different classes: {names}"
            continue
        kept = copies[0][2]
        removed += [(f, kept) for f in removable if f != kept]
    return sorted(removed), ambiguous


def _digest(file_path: str) -> str:
    with open(file_path, "rb") as handle:
        return hashlib.blake2b(handle.read(), digest_size=16).hexdigest()


def group_ids(files: list[str], group_by) -> tuple[list[Hashable], int]:
    """(group id per file, how many files have none); a file without one is its own group."""
    if group_by is None:
        return list(files), 0
    groups = [group_by(f) for f in files]
    missing = sum(g is None for g in groups)
    if missing:
        warnings.warn(f"{missing} of {len(files)} training files have no group id from "
                      f"group_by={getattr(group_by, '__name__', group_by)}; each of them is its own "
                      "group. Pass a group_by that knows your file names to keep patients together.",
                      MissingGroupIdWarning, stacklevel=4)
    return [f if g is None else ("group", g) for f, g in zip(files, groups)], missing


def carve_groups(groups: list[Hashable], labels: np.ndarray, fraction: float, seed: int,
                 split: str = "val") -> np.ndarray:
    """Boolean mask of the files moved to ``split``: whole groups, about `fraction` of each class.

    A group's class is its majority label. Groups of each class are shuffled
    and taken in turn until the class's share is reached.
    """
    members = defaultdict(list)
    for index, group in enumerate(groups):
        members[group].append(index)
    rng = np.random.default_rng(seed)
    in_val = np.zeros(len(groups), dtype=bool)
    for label in (0, 1):
        of_class = [g for g, idx in members.items() if round(labels[idx].mean()) == label]
        if len(of_class) < 2:
            raise _checks.fail(f"Too few images or patients in the train split to carve a {split} split "
                               f"out of it by patient: class {label} has {len(of_class)} group(s) and "
                               f"carving needs at least 2. Add images, or a {split}/ folder beside train/.",
                               f"{split}_fraction", fraction)
        target = fraction * np.sum(labels == label)
        taken = 0
        for position in rng.permutation(len(of_class))[:-1]:  # at least one group stays in train
            if taken >= target:
                break
            idx = members[of_class[position]]
            in_val[idx] = True
            taken += len(idx)
    return in_val


def _warn_shared_groups(splits: dict[str, tuple[list[str], np.ndarray]], group_by) -> None:
    """Warn when the given folders already put one group in train and in val/test."""
    train_groups = {g for g in map(group_by, splits["train"][0]) if g is not None}
    for split in ("val", "test"):
        if split in splits:
            shared = train_groups & {g for g in map(group_by, splits[split][0]) if g is not None}
            if shared:
                examples = ", ".join(map(str, sorted(shared, key=str)[:_NAMES_IN_WARNING]))
                warnings.warn(f"{len(shared)} group id(s) from group_by appear in both train/ and "
                              f"{split}/ as given on disk (e.g. {examples}); their images may be "
                              "the same patient's. The folders are used as they are.", stacklevel=3)


def _warn_left_out(skipped: dict[str, str], duplicates: list[tuple[str, str]], root: Path) -> None:
    if skipped:
        listed = "; ".join(f"{_relative(f, root)} ({reason})"
                           for f, reason in sorted(skipped.items())[:_NAMES_IN_WARNING])
        more = f" and {len(skipped) - _NAMES_IN_WARNING} more" if len(skipped) > _NAMES_IN_WARNING else ""
        warnings.warn(f"Skipped {len(skipped)} unusable image file(s): {listed}{more}. "
                      "They are listed in the result's `skipped`; the files were not changed.",
                      stacklevel=3)
    if duplicates:
        warnings.warn(f"Removed {len(duplicates)} byte-identical duplicate image(s), keeping one copy "
                      "of each; they are listed in the result's `duplicates`.", stacklevel=3)


def _relative(file_path, root: Path) -> str:
    try:
        return str(Path(file_path).relative_to(root))
    except ValueError:
        return str(file_path)
