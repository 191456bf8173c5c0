"""Labelled domains: one split of one domain, a domain's splits, a transfer task.

Labels are binary, 0 = negative and 1 = positive, and every split names both
classes so that reports can say "pneumonia" rather than "1". The checks a
split must pass before training or predicting (both classes present, finite
pixel values) live here too.

Introduced in ``notebooks/03_transfer_shifted_domains.ipynb``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from .. import _checks

SPLITS = ("train", "val", "test")


@dataclass(frozen=True, eq=False)
class DomainSplit:
    """One labelled split (train, val or test) of one domain.

    Exactly one of ``images`` (in memory) and ``files`` (image files on disk,
    decoded by the input pipeline) is set.

    Attributes:
        labels: int array of shape (n,) with values in {0, 1}.
        images: array of shape (n, height, width, channels), or None.
        files: tuple of n image paths, or None.
        class_names: (negative class, positive class).
        domain: the domain's name, e.g. ``"pneumoniamnist"``.
        split: ``"train"``, ``"val"`` or ``"test"``.
    """

    labels: np.ndarray
    images: np.ndarray | None = None
    files: tuple[str, ...] | None = None
    class_names: tuple[str, str] = ("negative", "positive")
    domain: str = "domain"
    split: str = "train"

    def __post_init__(self):
        if (self.images is None) == (self.files is None):
            raise ValueError("A DomainSplit holds exactly one of `images` and `files`. "
                             f"Received: images={self.images is not None}, files={self.files is not None}")
        labels = np.asarray(self.labels)
        if labels.ndim == 2 and labels.shape[1] == 1:
            labels = labels[:, 0]
        if labels.ndim != 1 or labels.size == 0:
            raise _checks.fail("`labels` must be a non-empty 1-D array (or shape (n, 1)).",
                               "labels", labels)
        labels = _checks.binary_labels(labels, "labels").astype(np.int64)
        object.__setattr__(self, "labels", labels)
        n_items = len(self.images) if self.images is not None else len(self.files)
        if n_items != labels.size:
            raise ValueError("`labels` must have one entry per image. "
                             f"Received: {labels.size} labels for {n_items} images")
        if self.files is not None:
            object.__setattr__(self, "files", tuple(str(f) for f in self.files))
        object.__setattr__(self, "class_names", _checks.class_names(self.class_names))
        if self.split not in SPLITS:
            raise _checks.fail(f"`split` must be one of {SPLITS}.", "split", self.split)

    def __len__(self) -> int:
        return int(self.labels.size)

    @property
    def positive_class(self) -> str:
        """Name of the class labelled 1."""
        return self.class_names[1]

    @property
    def positive_fraction(self) -> float:
        """Share of examples labelled 1."""
        return float(self.labels.mean())

    def class_counts(self) -> dict[str, int]:
        """Number of examples per class name."""
        return {name: int(np.sum(self.labels == i)) for i, name in enumerate(self.class_names)}

    def take(self, indices) -> DomainSplit:
        """The examples at ``indices``, in that order, as a new split of the same domain.

        Args:
            indices: non-empty 1-D sequence of integer positions in this split
                (negative positions count from the end, as in NumPy).

        Returns:
            A :class:`DomainSplit` with the same class names, domain and split
            name, holding images or files as this one does.

        Raises:
            ValueError: for indices that are empty, not integers, not 1-D or
                out of range.

        Introduced in ``notebooks/05_medical_imaging_finetune.ipynb``.
        """
        positions = np.asarray(indices)
        if positions.ndim != 1 or positions.size == 0 or not np.issubdtype(positions.dtype, np.integer):
            raise _checks.fail("`indices` must be a non-empty 1-D sequence of integers.", "indices", indices)
        if positions.min() < -len(self) or positions.max() >= len(self):
            raise _checks.fail(f"`indices` must lie in [-{len(self)}, {len(self)}) for a split of "
                               f"{len(self)} examples.", "indices", indices)
        return replace(self, labels=self.labels[positions],
                       images=None if self.images is None else self.images[positions],
                       files=None if self.files is None else tuple(self.files[i] for i in positions))

    def sample(self, n: int, seed: int = 0) -> DomainSplit:
        """At most ``n`` examples drawn at random without replacement, in their original order.

        Args:
            n: the most examples to keep (>= 1); the whole split when it has no more.
            seed: seed of the draw (>= 0).

        Returns:
            A :class:`DomainSplit` of ``min(n, len(self))`` examples (this split
            itself when nothing is dropped).

        Raises:
            ValueError: for ``n`` < 1 or a bad ``seed``.

        Introduced in ``notebooks/05_medical_imaging_finetune.ipynb``.
        """
        n = _checks.positive_int(n, "n")
        seed = _checks.seed(seed)
        if n >= len(self):
            return self
        return self.take(np.sort(np.random.default_rng(seed).permutation(len(self))[:n]))

    def __repr__(self) -> str:
        kind = f"images{self.images.shape}" if self.images is not None else f"{len(self.files)} files"
        return (f"DomainSplit(domain={self.domain!r}, split={self.split!r}, {kind}, "
                f"counts={self.class_counts()})")


@dataclass(frozen=True, eq=False)
class Domain:
    """The train/val/test splits of one domain.

    Attributes:
        name: the domain's name.
        train: the training split.
        val: the validation split, or None.
        test: the test split, or None.
    """

    name: str
    train: DomainSplit
    val: DomainSplit | None = None
    test: DomainSplit | None = None

    def __post_init__(self):
        for split_name in SPLITS:
            split = getattr(self, split_name)
            if split is None:
                continue
            if split.split != split_name:
                raise ValueError(f"Domain.{split_name} must hold a split named {split_name!r}. "
                                 f"Received: {split_name}.split={split.split!r}")
            if split.class_names != self.train.class_names:
                raise ValueError("All splits of a domain must name the same classes. "
                                 f"Received: train.class_names={self.train.class_names}, "
                                 f"{split_name}.class_names={split.class_names}")

    @property
    def class_names(self) -> tuple[str, str]:
        """(negative, positive) class names shared by all splits."""
        return self.train.class_names

    def splits(self) -> dict[str, DomainSplit]:
        """The splits that are present, by name."""
        return {name: getattr(self, name) for name in SPLITS if getattr(self, name) is not None}


@dataclass(frozen=True, eq=False)
class TransferTask:
    """Source domain(s) to learn from and the target domain to do well on.

    Attributes:
        sources: one or more source domains (several for multi-source training).
        target: the target domain.
    """

    sources: tuple[Domain, ...]
    target: Domain
    notes: str = field(default="")

    def __post_init__(self):
        sources = (self.sources,) if isinstance(self.sources, Domain) else tuple(self.sources)
        if not sources:
            raise _checks.fail("`sources` must hold at least one Domain.", "sources", self.sources)
        object.__setattr__(self, "sources", sources)

    @property
    def source(self) -> Domain:
        """The first (or only) source domain."""
        return self.sources[0]


def check_both_classes(split: DomainSplit, *, where: str = "", carved: bool = False) -> None:
    """Refuse a split that holds one class only: a binary classifier cannot learn or be scored on it.

    Args:
        split: the split to check.
        where: the file or folder it came from, for the message.
        carved: the split was carved out of train (the message says so).

    Raises:
        ValueError: naming the split, its class counts and the fix.
    """
    counts = split.class_counts()
    missing = [name for name, n in counts.items() if n == 0]
    if not missing:
        return
    origin = " (carved out of train)" if carved else ""
    shown = ", ".join(f"{name}: {n}" for name, n in counts.items())
    raise _checks.fail(
        f"{where + ': ' if where else ''}the {split.split} split{origin} holds one class only ({shown}); "
        f"training and scoring a binary classifier need images of both classes in train, val and test. "
        f"Add images of {' and '.join(repr(m) for m in missing)} to {split.split}"
        f"{' (or to train, which it is carved from)' if carved else ''}.",
        f"{split.split}_class_counts", counts)


def check_finite_images(images: np.ndarray, name: str = "images", files=None) -> None:
    """Refuse images holding NaN or infinite pixel values (they would predict about 0.5, silently).

    Args:
        images: an array of images, the first axis indexing them.
        name: how the message calls the array.
        files: the images' file names, if any (named instead of indices).

    Raises:
        ValueError: saying how many values are not finite and in which images.
    """
    if not np.issubdtype(images.dtype, np.inexact) or len(images) == 0:
        return  # integers are always finite
    flat = images.reshape(len(images), -1)
    step = max(1, 2**24 // max(1, flat.shape[1]))  # about 16 M values at a time: no mask as large as the images
    counts = np.concatenate([np.count_nonzero(~np.isfinite(flat[i:i + step]), axis=1)
                             for i in range(0, len(flat), step)])
    if not counts.any():
        return
    which = np.flatnonzero(counts)
    shown = [str(files[i]) for i in which[:5]] if files is not None else [str(i) for i in which[:5]]
    more = f" and {len(which) - 5} more" if len(which) > 5 else ""
    raise _checks.fail(
        f"`{name}` must hold finite pixel values; {int(counts.sum())} value(s) are NaN or infinite, in "
        f"{len(which)} image(s) ({'files' if files is not None else 'indices'} {', '.join(shown)}{more}). "
        "Replace them (e.g. np.nan_to_num) or drop those images.", name, images)
