"""What the commands check before any work, and where an interrupted run's report goes.

Minutes of training must not end in an error that was there from the start:

* the ``finetune`` options that cannot work together or are out of range
  (:func:`check_model_options`) raise :class:`OptionError`, which the command
  line reports as a usage error (exit code 2);
* a model or weights file that is missing, or exists but cannot be a Keras
  file (truncated, another kind of file), is named as such (:func:`check_model_file`);
* an ``--out`` that cannot become a report folder, or cannot be written at
  all (read-only, under a file), is refused (:func:`check_report_folder`,
  :func:`check_writable_output`).

A ``finetune`` stopped with Ctrl-C keeps its best epoch's weights (as the
trainers do), but its report is not the run that was asked for: it goes to a
new folder beside ``--out``, ``<out>.interrupted-<YYYYmmdd-HHMMSS>``
(:func:`interrupted_run_folder`), so an earlier report in ``--out`` is never
replaced by it, and its ``report.md`` says at which epoch it was
interrupted. The command then exits with code 130.

Importing this module imports neither TensorFlow nor matplotlib (the
command line's parser uses it).

Introduced by the ``crossdomain-kit`` command line (``crossdomain_kit.cli``).
"""

from __future__ import annotations

import os
import time
import zipfile
from pathlib import Path
from typing import Sequence

from .. import _checks
from .._files import unwritable_reason
from ..models.backbones import backbone_names, backbones_with_weights, get_backbone

INTERRUPTED_SUFFIX = ".interrupted-"
MAX_IMAGE_SIZE = 1024  # larger sides fill any memory: a batch of 32 RGB float images of 1024 px is 400 MB
FREEZE_NEEDS_WEIGHTS = ("--freeze needs pretrained weights (--source, or --weights imagenet|tinyimagenet|PATH); "
                        "a random start trains all layers")


class OptionError(ValueError):
    """Options that cannot work together or are out of range: a usage error (exit code 2 on the command line)."""


def check_model_options(*, backbone: str | None = None, image_size: int | None = None,
                        weights: str | None = None, source: str | None = None, freeze=None) -> None:
    """Refuse, before any data is read, the ``finetune`` model options that cannot work.

    Args:
        backbone: ``--backbone`` (a registered name) or None.
        image_size: ``--image-size`` or None.
        weights: ``--weights``: a registered weights name (``"imagenet"``,
            ``"tinyimagenet"``), ``"none"``, a checkpoint path or None.
        source: ``--source`` (a .keras file) or None.
        freeze: ``--freeze`` (a policy) or None.

    Raises:
        OptionError: ``--source`` with ``--weights``; an image size below the
            backbone's minimum (below every backbone's without ``--backbone``)
            or above :data:`MAX_IMAGE_SIZE`; named weights (ImageNet, Tiny
            ImageNet) for a backbone without them; ``--freeze`` with a random start.
    """
    if source and weights:
        raise OptionError("--source and --weights exclude each other: the source model brings its weights")
    named = get_backbone(backbone) if backbone else None
    if image_size is not None:
        smallest = named.min_size if named else min(get_backbone(n).min_size for n in backbone_names())
        if not smallest <= image_size <= MAX_IMAGE_SIZE:
            which = f"{backbone} takes" if named else "the backbones take"
            raise OptionError(f"--image-size {image_size} is out of range: {which} {smallest} to "
                              f"{MAX_IMAGE_SIZE} px (leave it out to use the images' own size)")
    having = backbones_with_weights(weights) if isinstance(weights, str) else ()
    if having and named is not None and named.name not in having:
        title = get_backbone(having[0]).weights_spec(weights).title.split(" (")[0]
        raise OptionError(f"--weights {weights}: {backbone} has no {title} weights; pick a backbone that has "
                          f"them ({', '.join(having)}) or use --weights none or a kit checkpoint")
    random_start = weights == "none" or (weights is None and named is not None and named.application is None)
    if freeze is not None and not source and random_start:
        raise OptionError(FREEZE_NEEDS_WEIGHTS)


def check_model_file(path, option: str = "MODEL") -> Path:
    """Refuse a model or weights file that is missing or cannot be a Keras file, before any work.

    Args:
        path: a ``.keras`` (a zip archive) or ``.weights.h5`` (HDF5) file.
        option: how the message calls it (``--source``, ``--weights``, ``MODEL``).

    Returns:
        The path.

    Raises:
        ValueError: the file is missing, or exists but is not a zip archive
            (``.keras``) or an HDF5 file (``.weights.h5``): truncated or of
            another kind (the message says so and how to fix it).
    """
    path, name = Path(path).expanduser(), option.lstrip("-").lower()
    if not path.is_file():
        raise _checks.fail(f"{option}: no such file {path}; pass an existing .keras model or .weights.h5 "
                           "file (e.g. a finetune report's model.keras).", name, str(path))
    keras_file = path.name.endswith(".keras")
    try:
        with path.open("rb"):  # readable at all (permissions)
            pass
        if keras_file:
            readable = zipfile.is_zipfile(path)
        else:
            import h5py  # with Keras; imported here so that importing this module stays light
            readable = h5py.is_hdf5(path)
    except OSError as error:
        raise _checks.fail(f"{option}: {path} exists but cannot be opened ({error.strerror}); check its "
                           "permissions.", name, str(path)) from error
    if not readable:
        kind = "a .keras file (a zip archive)" if keras_file else "a .weights.h5 file (HDF5)"
        raise _checks.fail(f"{option}: {path} exists but cannot be read as {kind}: it is truncated or another "
                           "kind of file. Copy it again or save the model again (crossdomain-kit finetune "
                           "writes model.keras).", name, str(path))
    return path


def check_writable_output(folder: str | os.PathLike, option: str = "--out") -> Path:
    """Fail before any work when ``folder`` cannot be created or written.

    Args:
        folder: the output folder (it may not exist yet).
        option: how the message calls it (the command-line option).

    Returns:
        The folder as an absolute ``Path``.

    Raises:
        ValueError: naming the folder in the way, why, and the fix.
    """
    path = Path(folder).expanduser().absolute()
    reason = unwritable_reason(path)
    if reason is not None:
        raise _checks.fail(f"Cannot write {option} {path}: {reason}. Choose another {option}, in a folder "
                           "you can write to.", option.lstrip("-"), str(folder))
    return path


def check_report_folder(folder: str | os.PathLike, inputs: Sequence[str | os.PathLike] = ()) -> Path:
    """:func:`~crossdomain_kit.evaluation.reports.check_output_folder`, and that it can be written.

    Args:
        folder: the report folder: missing, empty or an earlier kit report.
        inputs: files or folders the run reads (none may lie inside ``folder``).

    Returns:
        The folder as an absolute ``Path``.

    Raises:
        ValueError: as ``check_output_folder``, or when the folder cannot be
            written (:func:`check_writable_output`).
    """
    from ..evaluation.reports import check_output_folder  # imports matplotlib: not at the parser's start

    path = check_output_folder(folder, inputs)
    check_writable_output(folder)
    return path


def interrupted_run_folder(out: str | os.PathLike, training, *, now: float | None = None) -> Path:
    """Where the report of a run stopped by Ctrl-C goes: a new folder beside ``out``.

    Args:
        out: the report folder asked for (left as it is).
        training: the run's :class:`~crossdomain_kit.training.TrainingResult`
            (``interrupted=True``).
        now: the time stamped into the name (default: now).

    Returns:
        ``<out>.interrupted-<YYYYmmdd-HHMMSS>`` (``-2``, ``-3``... appended
        when taken), not created.

    Raises:
        KeyboardInterrupt: when no epoch finished: there is nothing worth a
            report, and nothing is written (the message says so).
    """
    if not training.epochs:
        raise KeyboardInterrupt("training was stopped before its first epoch finished; nothing was written.")
    out = Path(out).expanduser().absolute()
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(now))
    folder, n = out.with_name(f"{out.name}{INTERRUPTED_SUFFIX}{stamp}"), 1
    while folder.exists():
        n += 1
        folder = out.with_name(f"{out.name}{INTERRUPTED_SUFFIX}{stamp}-{n}")
    return folder
