"""The ``crossdomain-kit`` command line: demo, finetune, evaluate, predict, fetch.

The same engine as the notebooks, for an instructor preparing a class, a
student on a remote machine or a script in a course pipeline::

    crossdomain-kit demo --out demo-report
    crossdomain-kit finetune --data chest_xray --out runs/xray
    crossdomain-kit evaluate runs/xray/model.keras --data chest_xray --out runs/xray-eval
    crossdomain-kit predict runs/xray/model.keras scans/*.jpeg
    crossdomain-kit fetch pneumoniamnist --size 64

Every command has ``--help`` with an example. Exit codes: 0 on success, 2 for
a usage error (an unknown option, a value out of range, options that exclude
each other), 1 for a data or model error (a missing or unreadable file, a
folder with one class, a model that does not load, a failed download). An
error is one line on stderr, ``crossdomain-kit: error: ...``; ``--debug``
shows the traceback instead. Warnings are one line each, progress bars go to
stderr, results to stdout.

Building the parser imports neither TensorFlow nor matplotlib, so ``--help``
is instant; each command imports what it needs when it runs.

Introduced in the README ("Set up"); the engine behind it is lesson 04's
(:func:`crossdomain_kit.training.fine_tune`) and lesson 05's
(:func:`crossdomain_kit.evaluation.evaluate_predictions`).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import sys
import textwrap
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from . import __version__, config

PROG = "crossdomain-kit"
EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
DEMO_OUT = "crossdomain-demo"
FREEZE_CHOICES = ("head", "all", "last_k:K", "from_layer:NAME")
_STEP_BUDGET = 30_000  # images seen in a default training run: sets the epochs from the data's size
_EXPECTED = (ValueError, OSError, EOFError)  # data and model errors: no "--debug" hint needed


class UsageError(Exception):
    """Options that do not fit together (exit code 2), found after parsing."""


class _Parser(argparse.ArgumentParser):
    """argparse with a one-line usage error (exit code 2)."""

    def error(self, message):
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


# --- Option types --------------------------------------------------------------------------------

def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be an integer >= 1, got {text!r}")
    return value


def _non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be an integer >= 0, got {text!r}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"must be a number > 0, got {text!r}")
    return value


def _open_fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"must be a number in (0, 1), got {text!r}")
    return value


def _probability(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"must be a number in [0, 1], got {text!r}")
    return value


def _freeze_policy(text: str) -> dict:
    """``head``, ``all``, ``last_k:K`` or ``from_layer:NAME`` → :func:`freezing.freeze` arguments."""
    policy, _, argument = text.partition(":")
    if policy in ("head", "all") and not argument:
        return {"policy": policy}
    if policy == "last_k" and argument:
        return {"policy": policy, "k": _positive_int(argument)}
    if policy == "from_layer" and argument:
        return {"policy": policy, "from_layer": argument}
    raise argparse.ArgumentTypeError(f"must be one of {', '.join(FREEZE_CHOICES)}, got {text!r}")


def _weights(text: str):
    if text.lower() in ("imagenet", "none"):
        return text.lower()
    if not text.endswith((".keras", ".weights.h5")):
        raise argparse.ArgumentTypeError(
            f"must be imagenet, none or a .keras/.weights.h5 file, got {text!r}")
    return text


# --- The parser ------------------------------------------------------------------------------------

def _command(subparsers, name: str, summary: str, example: str, description: str = "") -> _Parser:
    debug = argparse.ArgumentParser(add_help=False)
    debug.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                       help="show the full traceback of an error")
    return subparsers.add_parser(
        name, help=summary, description=f"{summary}\n\n{textwrap.fill(description, 78)}".strip(),
        epilog=f"example:\n  {example}", formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=[debug])


def _add_data_options(parser: _Parser) -> None:
    parser.add_argument("--positive-class", metavar="NAME",
                        help="image folders: the class folder labelled 1 (default: the second in "
                             "sorted order)")
    parser.add_argument("--val-fraction", type=_open_fraction, default=0.15, metavar="F",
                        help="share of train/ carved out (whole patients) for validation when there is "
                             "no val/ folder or val split (default: 0.15)")
    parser.add_argument("--test-fraction", type=_open_fraction, default=0.2, metavar="F",
                        help="share of the rest of train/ carved out (whole patients) for testing when "
                             "there is no test/ folder or test split (default: 0.2)")
    parser.add_argument("--seed", type=_non_negative_int, default=0, metavar="N",
                        help="seed for carving splits, shuffling and initial weights (default: 0)")
    parser.add_argument("--batch-size", type=_positive_int, metavar="N",
                        help="images per batch (default: 32)")


def build_parser() -> argparse.ArgumentParser:
    """The ``crossdomain-kit`` argument parser (no heavy imports)."""
    from .models.backbones import backbone_names
    from .data.medmnist import medmnist_info, medmnist_names

    parser = _Parser(
        prog=PROG, formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Cross-domain transfer learning with TensorFlow/Keras: fine-tune a model "
                    "trained on one domain for another, and evaluate it before and after.",
        epilog="example:\n  crossdomain-kit demo --out demo-report\n\n"
               f"Datasets are looked up in ${config.DATA_DIR_ENV} (now {config.data_dir()}).\n"
               f"Set {config.FAST_ENV}=1 for the fast profile (tiny runs, for tests).")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--debug", action="store_true", default=False,
                        help="show the full traceback of an error")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    demo = _command(
        subparsers, "demo", "pretrain on a source domain, fine-tune on a target, compare before/after",
        "crossdomain-kit demo --out demo-report",
        "Uses PneumoniaMNIST -> BreastMNIST when both are in the data directory, the synthetic "
        "source and target domains otherwise (it says which). Prints the before/after table and "
        "writes a report folder: metrics.json, report.md, PNG plots and the fine-tuned model. "
        "Offline; a few minutes on a 2-core CPU.")
    demo.add_argument("--out", default=DEMO_OUT, metavar="DIR",
                      help=f"report folder (default: {DEMO_OUT}; an earlier report there is replaced)")
    demo.add_argument("--data-dir", metavar="DIR", help=f"where to look for the MedMNIST files "
                      f"(default: ${config.DATA_DIR_ENV} or ~/.crossdomain_kit/datasets)")
    demo.add_argument("--synthetic", action="store_true", help="use the synthetic domains even when "
                      "the MedMNIST files are present")
    demo.add_argument("--seed", type=_non_negative_int, default=0, metavar="N", help="seed (default: 0)")
    demo.set_defaults(run=_demo)

    finetune = _command(
        subparsers, "finetune", "fine-tune a classifier on your images and write a report",
        "crossdomain-kit finetune --data chest_xray --out runs/xray",
        "PATH is an image folder (train/ [val/] [test/], one folder per class inside each) or a "
        ".npz in MedMNIST layout (train_images, train_labels, val_*, test_*). Missing validation "
        "and test splits are carved out of train, keeping each patient's images together "
        "(patients are read from Kaggle chest X-ray file names; any other image is its own "
        "patient). Every option except --data and --out "
        "has a default chosen from the data and the machine: a small CNN at the images' size (up "
        "to 64 px) on a CPU, MobileNetV2 with ImageNet weights at 224 px on a GPU for images of "
        "64 px or more; epochs from the number of training images. With --source, the model "
        "trained on the source domain is fine-tuned and evaluated before and after.")
    finetune.add_argument("--data", required=True, metavar="PATH", help="image folder or .npz file")
    finetune.add_argument("--out", required=True, metavar="DIR", help="report folder (metrics.json, "
                          "report.md, plots, model.keras)")
    finetune.add_argument("--source", metavar="MODEL", help="a .keras classifier trained on the source "
                          "domain (e.g. a demo's model.keras): fine-tune it, and evaluate it before")
    finetune.add_argument("--backbone", choices=backbone_names(), help="network to build (default: "
                          "from the data and the machine)")
    finetune.add_argument("--weights", type=_weights, metavar="imagenet|none|PATH",
                          help="starting weights: ImageNet, none (random) or a kit checkpoint "
                               "(default: imagenet when the backbone has them and they can be had)")
    finetune.add_argument("--freeze", type=_freeze_policy, metavar="POLICY",
                          help=f"what trains after the head: {', '.join(FREEZE_CHOICES)} "
                               "(default: all; pretrained starts only)")
    finetune.add_argument("--epochs", type=_positive_int, metavar="N",
                          help="most epochs in all (early stopping may end sooner; default: from "
                               "the data's size)")
    finetune.add_argument("--lr", type=_positive_float, metavar="X", help="learning rate (default: "
                          "1e-3; fine-tuning the backbone uses a tenth of it)")
    finetune.add_argument("--image-size", type=_positive_int, metavar="N",
                          help="image side in pixels (default: from the data and the backbone)")
    _add_data_options(finetune)
    finetune.set_defaults(run=_finetune)

    evaluate = _command(
        subparsers, "evaluate", "evaluate a saved classifier on a dataset and write a report",
        "crossdomain-kit evaluate runs/xray/model.keras --data chest_xray --out runs/xray-eval",
        "The threshold is chosen on the data's validation split (carved out of train when missing, "
        "as finetune does with the same --seed), the metrics are reported on its test split.")
    evaluate.add_argument("model", metavar="MODEL", help="a .keras classifier saved by the kit")
    evaluate.add_argument("--data", required=True, metavar="PATH", help="image folder or .npz file")
    evaluate.add_argument("--out", required=True, metavar="DIR", help="report folder")
    _add_data_options(evaluate)
    evaluate.set_defaults(run=_evaluate)

    predict = _command(
        subparsers, "predict", "probability and label for each image file",
        "crossdomain-kit predict runs/xray/model.keras scans/ extra.png",
        "Prints one tab-separated line per file: file, probability of the positive class, label. "
        "The threshold and class names come from --threshold, else from the metrics.json beside "
        "MODEL (finetune writes one), else 0.5 and labels 0/1.")
    predict.add_argument("model", metavar="MODEL", help="a .keras classifier saved by the kit")
    predict.add_argument("images", nargs="+", metavar="IMAGE", help="image files or folders (searched "
                         "recursively)")
    predict.add_argument("--threshold", type=_probability, metavar="X",
                         help="probability at or above which an image is labelled positive")
    predict.add_argument("--batch-size", type=_positive_int, default=32, metavar="N",
                         help="images per batch (default: 32)")
    predict.set_defaults(run=_predict)

    names = medmnist_names()
    fetch = _command(
        subparsers, "fetch", "download and verify a registry dataset into the data directory",
        f"crossdomain-kit fetch {names[0]} --size 64",
        "Known datasets: " + "; ".join(f"{n} ({medmnist_info(n)['title']}, "
                                        f"{medmnist_info(n)['licence']})" for n in names)
        + ". The md5 of a download is checked before the file appears; the contents are validated.")
    fetch.add_argument("name", choices=names, metavar="NAME", help=f"one of: {', '.join(names)}")
    fetch.add_argument("--size", type=int, choices=(28, 64, 128, 224), default=28,
                       help="image side in pixels (default: 28)")
    fetch.add_argument("--data-dir", metavar="DIR", help=f"destination (default: "
                       f"${config.DATA_DIR_ENV} or ~/.crossdomain_kit/datasets)")
    fetch.set_defaults(run=_fetch)

    return parser


# --- Running a command -----------------------------------------------------------------------------

def _one_line(error: BaseException | str) -> str:
    return " ".join(str(error).split()) or type(error).__name__


@contextlib.contextmanager
def _one_line_warnings():
    """Show each warning as one ``crossdomain-kit: warning: ...`` line on stderr."""
    with warnings.catch_warnings():
        def show(message, category, filename, lineno, file=None, line=None):
            print(f"{PROG}: warning: {_one_line(message)}", file=sys.stderr)

        warnings.showwarning = show
        yield


def main(argv=None) -> int:
    """Run the command line; return the exit code (0 success, 1 data/model error, 2 usage error).

    Args:
        argv: the arguments after the program name; default ``sys.argv[1:]``.
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as done:  # --help, --version, usage errors
        return done.code if isinstance(done.code, int) else EXIT_USAGE
    if args.command is None:
        print(f"{PROG}: error: choose a command: demo, finetune, evaluate, predict or fetch "
              f"(see '{PROG} --help')", file=sys.stderr)
        return EXIT_USAGE
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's C++ log chatter
    try:
        with _one_line_warnings():
            args.run(args)
    except UsageError as error:
        if args.debug:
            raise
        print(f"{PROG} {args.command}: error: {_one_line(error)} (see '{PROG} {args.command} --help')",
              file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted; nothing was written.", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as error:
        if args.debug:
            raise
        hint = ("" if isinstance(error, _EXPECTED)
                else f" ({type(error).__name__}; run with --debug for the traceback)")
        print(f"{PROG}: error: {_one_line(error)}{hint}", file=sys.stderr)
        return EXIT_ERROR
    return EXIT_OK


# --- Data: an image folder or a .npz as a Domain with train, val and test -------------------------

def _carve(split, fraction: float, seed: int, groups, carved_name: str):
    """(kept, carved): whole groups, about ``fraction`` of each class, moved to a new split."""
    import numpy as np

    from .data.domains import DomainSplit
    from .data.image_folder import carve_groups

    try:
        moved = carve_groups(groups, split.labels, fraction, seed)
    except ValueError as error:
        raise ValueError(f"Too few images or patients in the {split.split} split to carve a "
                         f"{carved_name} split out of it by patient; add a {carved_name}/ folder "
                         f"(or {carved_name} arrays to the .npz). Received: {split!r}") from error

    def part(mask, name):
        files = None if split.files is None else [f for f, keep in zip(split.files, mask) if keep]
        images = None if split.images is None else split.images[mask]
        return DomainSplit(labels=split.labels[mask], images=images, files=files,
                           class_names=split.class_names, domain=split.domain, split=name)

    return part(~moved, split.split), part(np.asarray(moved), carved_name)


def _image_folder_domain(path: Path, positive_class, seed: int, val_fraction: float,
                         test_fraction: float):
    from .data.domains import Domain
    from .data.image_folder import VAL_FOLDER_NAMES, group_ids, kaggle_patient_id, load_image_folder

    folder = load_image_folder(path, positive_class=positive_class, val_fraction=val_fraction, seed=seed)
    carved = [] if any((path / n).is_dir() for n in VAL_FOLDER_NAMES) else ["val"]
    train, test = folder.train, folder.test
    if test is None:
        with warnings.catch_warnings():  # the loader has already said which files have no patient id
            warnings.simplefilter("ignore")
            groups = group_ids(list(train.files), kaggle_patient_id)
        train, test = _carve(train, test_fraction, seed, groups, "test")
        carved.append("test")
    details = {"format": "image folder", "carved_by": "patient", "skipped_files": len(folder.skipped),
               "duplicates_removed": len(folder.duplicates)}
    return Domain(folder.name, train, folder.val, test), carved, details


def _registry_entry(path: Path):
    """(name, size) of the MedMNIST registry file called like ``path``, or None."""
    from .data.medmnist import medmnist_registry

    for name, info in medmnist_registry()["datasets"].items():
        for size, record in info["files"].items():
            if path.name in (record["file"], f"{name}_{size}.npz"):
                return name, int(size)
    return None


def _npz_domain(path: Path, positive_class, seed: int, val_fraction: float, test_fraction: float):
    import zipfile

    import numpy as np

    from .data.domains import SPLITS, Domain, DomainSplit
    from .data.medmnist import load_medmnist_domain

    if positive_class is not None:
        raise UsageError("--positive-class applies to image folders; in a .npz the positive class "
                         "is label 1")
    entry = _registry_entry(path)
    if entry is not None:  # a registry file: validated, and labelled disease = 1 (BreastMNIST remapped)
        name, size = entry
        domain = load_medmnist_domain(name, size, data_dir=path.parent, download=False)
        return domain, [], {"format": f"MedMNIST .npz ({name}, {size} px)"}
    try:
        with np.load(path, allow_pickle=False) as archive:
            keys = set(archive.files)
            arrays = {key: archive[key] for key in keys if key.endswith(("_images", "_labels"))}
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as error:
        raise ValueError(f"{path} is not a readable .npz archive ({_one_line(error)}).") from error
    if not {"train_images", "train_labels"} <= keys:
        raise ValueError(f"{path} is not in MedMNIST layout: it needs train_images and train_labels "
                         f"(and optionally val_* and test_*); it holds {sorted(keys)}.")
    splits = {}
    for split in SPLITS:
        images, labels = arrays.get(f"{split}_images"), arrays.get(f"{split}_labels")
        if images is None or labels is None:
            continue
        if images.ndim not in (3, 4) or not np.issubdtype(images.dtype, np.number):
            raise ValueError(f"{path}: {split}_images must be numeric images shaped (n, height, width"
                             f"[, channels]); found {images.dtype} of shape {images.shape}.")
        splits[split] = DomainSplit(labels=labels, images=images, class_names=("class 0", "class 1"),
                                    domain=path.stem, split=split)
    carved = []
    for name, fraction in (("val", val_fraction), ("test", test_fraction)):
        if name not in splits:
            train = splits["train"]
            splits["train"], splits[name] = _carve(train, fraction, seed, list(range(len(train))), name)
            carved.append(name)
    details = {"format": ".npz (MedMNIST layout)", "carved_by": "image"}
    return Domain(path.stem, **splits), carved, details


def _load_data(text: str, *, positive_class=None, seed: int = 0, val_fraction: float = 0.15,
               test_fraction: float = 0.2):
    """An image folder or .npz as a Domain with train, val and test, and a description of it."""
    path = Path(text).expanduser()
    if not path.exists() and not path.is_absolute() and (config.data_dir() / path).exists():
        path = config.data_dir() / path
    if not path.exists():
        raise FileNotFoundError(
            f"No such file or folder: {text} (also looked in the data directory {config.data_dir()}). "
            "Pass an image folder (train/ [val/] [test/], one folder per class) or a .npz in "
            "MedMNIST layout.")
    path = path.resolve()
    if path.is_dir():
        domain, carved, details = _image_folder_domain(path, positive_class, seed, val_fraction,
                                                       test_fraction)
    elif path.suffix.lower() == ".npz":
        domain, carved, details = _npz_domain(path, positive_class, seed, val_fraction, test_fraction)
    else:
        raise ValueError(f"{path} is neither a folder nor a .npz file. Pass an image folder (train/ "
                         "[val/] [test/], one folder per class) or a .npz in MedMNIST layout.")
    description = {
        "path": str(path), **details, "class_names": list(domain.class_names),
        "positive_class": domain.class_names[1],
        "splits": {name: {"n": len(split), **split.class_counts()}
                   for name, split in domain.splits().items()},
        "carved_from_train": carved,
    }
    return domain, description


def _describe_data(description: dict) -> str:
    splits = ", ".join(f"{name} {info['n']}" for name, info in description["splits"].items())
    carved = (f"; {' and '.join(description['carved_from_train'])} carved out of train by "
              f"{description['carved_by']}" if description["carved_from_train"] else "")
    negative, positive = description["class_names"]
    return (f"Data: {description['path']} ({description['format']}): {negative} vs {positive} "
            f"(positive); {splits}{carved}.")


def _native_size(split) -> int:
    """Median image side (the smaller of height and width) of up to 16 images of a split."""
    import numpy as np

    if split.images is not None:
        return int(min(split.images.shape[1:3]))
    import tensorflow as tf

    picks = np.linspace(0, len(split.files) - 1, min(16, len(split.files))).astype(int)
    files = [split.files[i] for i in picks]
    sides = [int(tf.reduce_min(tf.shape(tf.io.decode_image(tf.io.read_file(f), channels=3,
                                                          expand_animations=False))[:2]))
             for f in files]
    return int(np.median(sides))


# --- Training and evaluating ------------------------------------------------------------------------

def _progress(label: str):
    """A Keras callback that shows one tqdm bar per epoch (batches), with its metrics at the end."""
    import keras
    from tqdm.auto import tqdm

    class EpochBars(keras.callbacks.Callback):
        bar = None

        def on_epoch_begin(self, epoch, logs=None):
            self.bar = tqdm(total=self.params.get("steps"), desc=f"{label} epoch {epoch + 1}",
                            unit="batch", file=sys.stderr)

        def on_train_batch_end(self, batch, logs=None):
            self.bar.update(1)

        def on_epoch_end(self, epoch, logs=None):
            shown = ("loss", "auc", "val_loss", "val_auc")
            self.bar.set_postfix({k: f"{logs[k]:.3f}" for k in shown if k in (logs or {})})
            self.bar.close()

        def on_train_end(self, logs=None):
            if self.bar is not None:
                self.bar.close()

    return EpochBars()


def _evaluation(name: str, model, domain, batch_size: int, seed: int):
    from .evaluation import evaluate_predictions
    from .models.predict import predict_proba
    from .evaluation.reports import ModelEvaluation

    p_val = predict_proba(model, domain.val, batch_size=batch_size)
    p_test = predict_proba(model, domain.test, batch_size=batch_size)
    report = evaluate_predictions(domain.val.labels, p_val, domain.test.labels, p_test,
                                  domain.class_names, n_boot=config.pick(default=1000, fast=200),
                                  seed=seed)
    return ModelEvaluation(name, report, domain.test.labels, p_test)


def _pipelines(domain, backbone: str, image_size: int, batch_size: int, seed: int):
    from .data.pipeline import make_pipeline

    common = dict(backbone=backbone, image_size=image_size, batch_size=batch_size, seed=seed)
    return (make_pipeline(domain.train, training=True, **common), make_pipeline(domain.val, **common))


def _balanced_if_skewed(labels) -> str | None:
    """Class weights when the rarer class is under 40 % of the training labels."""
    share = float(sum(labels)) / len(labels)
    return "balanced" if min(share, 1 - share) < 0.4 else None


@dataclass
class _Plan:
    """What finetune will do, with the defaults filled in from the data and the machine."""

    backbone: str
    image_size: int
    weights: str | None
    pretrained: bool
    epochs: int
    learning_rate: float
    batch_size: int
    freeze: dict
    notes: list[str] = field(default_factory=list)

    def describe(self) -> str:
        start = {None: "random start", "imagenet": "ImageNet weights"}.get(self.weights,
                                                                          f"weights {self.weights}")
        how = (f"fine-tuned in two phases (head, then {self.freeze['policy']})" if self.pretrained
               else "trained from scratch (all layers)")
        return (f"Model: {self.backbone} at {self.image_size} px, {start}; {how}, at most {self.epochs} "
                f"epochs, learning rate {self.learning_rate:g}, batch size {self.batch_size}.")

    def as_dict(self) -> dict:
        return {"backbone": self.backbone, "image_size": self.image_size,
                "weights": self.weights or "none", "pretrained": self.pretrained, "epochs": self.epochs,
                "learning_rate": self.learning_rate, "batch_size": self.batch_size,
                "freeze": self.freeze, "profile": config.profile_name()}


def _plan(args, domain, source_model, backbone: str | None = None) -> _Plan:
    """Fill the options left out from the data, the source model and the machine.

    ``backbone`` overrides both ``--backbone`` and the default (for the fallback
    when default ImageNet weights cannot be had).
    """
    from .models.backbones import get_backbone
    from .models.predict import backbone_of
    from .training import gpu_available

    n_train = len(domain.train)
    by_size = min(30, max(5, math.ceil(_STEP_BUDGET / n_train)))
    epochs = args.epochs or config.pick(default=by_size, fast=2)
    learning_rate, batch_size = args.lr or 1e-3, args.batch_size or 32
    freeze = args.freeze or {"policy": "all"}
    if source_model is not None:
        backbone, size = backbone_of(source_model), int(source_model.input_shape[1])
        if args.backbone and args.backbone != backbone:
            raise ValueError(f"--backbone {args.backbone} differs from the source model's backbone "
                             f"{backbone}; leave --backbone out to fine-tune the source model.")
        if args.image_size and args.image_size != size:
            raise ValueError(f"--image-size {args.image_size} differs from the source model's input "
                             f"size {size}; leave --image-size out to fine-tune the source model.")
        return _Plan(backbone, size, f"source model {args.source}", True, epochs, learning_rate,
                     batch_size, freeze)
    native = _native_size(domain.train)
    notes = []
    backbone = backbone or args.backbone
    if backbone is None:
        large = native >= 64 and gpu_available() and not config.is_fast()
        backbone = "mobilenetv2" if large else "small_cnn"
        notes.append(f"backbone {backbone}: images of about {native} px on a "
                     f"{'GPU' if gpu_available() else 'CPU'}")
    spec = get_backbone(backbone)
    if args.image_size:
        size = args.image_size
    elif spec.application is None:
        size = min(max(native, spec.min_size), config.pick(default=64, fast=32))
    else:
        size = spec.default_size
    weights = args.weights or ("none" if spec.application is None else "imagenet")
    weights = None if weights == "none" else weights
    if args.freeze is not None and weights is None:
        raise UsageError("--freeze needs pretrained weights (--source, or --weights imagenet|PATH); "
                         "a random start trains all layers")
    return _Plan(backbone, size, weights, weights is not None, epochs, learning_rate, batch_size, freeze,
                 notes)


def _build(plan: _Plan, seed: int):
    from .models.backbones import get_backbone
    from .models.classifier import build_classifier

    channels = 3 if plan.weights == "imagenet" else get_backbone(plan.backbone).channels
    return build_classifier(plan.backbone, (plan.image_size, plan.image_size, channels), plan.weights,
                            seed=seed)


def _planned_model(args, domain):
    """(plan, model) for a new classifier. Default ImageNet weights that cannot be had (offline,
    not cached) give way to the small CNN, or to a random start of the backbone asked for."""
    plan = _plan(args, domain, None)
    try:
        return plan, _build(plan, args.seed)
    except FileNotFoundError as error:
        if args.weights is not None:
            raise
        reason = str(error).split(". ")[0]
        if args.backbone is None:
            plan = _plan(args, domain, None, backbone="small_cnn")
        else:
            plan.weights, plan.pretrained = None, False
        note = (f"{reason}; using {plan.backbone} from a random start instead "
                "(--weights imagenet makes this an error)")
        print(f"{PROG}: note: {note}.", file=sys.stderr)
        plan.notes.append(note)
        return plan, _build(plan, args.seed)


def _train(model, plan: _Plan, train_ds, val_ds, train_labels, seed: int, label: str):
    """Two-phase fine-tuning of a pretrained start, one phase of all layers for a random start."""
    from .training import fine_tune, train_joint

    callbacks = [_progress(label)]
    if plan.pretrained:
        head_epochs = max(1, plan.epochs // 4)
        return fine_tune(model, train_ds, val_ds, head_epochs=head_epochs,
                         finetune_epochs=max(1, plan.epochs - head_epochs),
                         head_learning_rate=plan.learning_rate,
                         finetune_learning_rate=plan.learning_rate / 10, unfreeze=plan.freeze,
                         class_weight=_balanced_if_skewed(train_labels), seed=seed, verbose=0,
                         callbacks=callbacks)
    return train_joint(model, [train_ds], val_ds, epochs=plan.epochs, learning_rate=plan.learning_rate,
                       batch_size=plan.batch_size, seed=seed, verbose=0, callbacks=callbacks)


def _save_model(model):
    from .models.classifier import save_classifier

    return lambda path: save_classifier(model, path)


def _print_table(before, after) -> None:
    from .evaluation import compare_before_after

    if before is None:
        print(after.report)
    else:
        print(compare_before_after(before.report, after.report, labels=(before.name, after.name)))


# --- Commands ------------------------------------------------------------------------------------------

def _finetune(args) -> None:
    from .evaluation.reports import check_output_folder, write_report

    if args.source and args.weights:
        raise UsageError("--source and --weights exclude each other: the source model brings its weights")
    out = check_output_folder(args.out, [p for p in (args.data, args.source, args.weights)
                                         if p and p not in ("imagenet", "none")])
    domain, data = _load_data(args.data, positive_class=args.positive_class, seed=args.seed,
                              val_fraction=args.val_fraction, test_fraction=args.test_fraction)
    print(_describe_data(data))
    if args.source:
        from .models.classifier import load_classifier

        model = load_classifier(args.source, compile=False)
        plan = _plan(args, domain, model)
    else:
        plan, model = _planned_model(args, domain)
    print(plan.describe())
    before = _evaluation("source model", model, domain, plan.batch_size, args.seed) if args.source else None
    train_ds, val_ds = _pipelines(domain, plan.backbone, plan.image_size, plan.batch_size, args.seed)
    label = "fine-tuning" if plan.pretrained else "training"
    result = _train(model, plan, train_ds, val_ds, domain.train.labels, args.seed, label)
    after = _evaluation("fine-tuned" if plan.pretrained else "trained", model, domain, plan.batch_size,
                        args.seed)
    _print_table(before, after)
    context = {"command": "finetune", "data": data, "settings": {**plan.as_dict(), "seed": args.seed},
               "notes": plan.notes}
    folder = write_report(out, f"Fine-tuning on {domain.name}", after, before,
                          stages=[(label, result)], context=context,
                          files={"model.keras": _save_model(model)})
    print(f"Report: {folder}/report.md (metrics.json, plots, model.keras)")


def _evaluate(args) -> None:
    from .models.classifier import load_classifier
    from .evaluation.reports import check_output_folder, write_report

    out = check_output_folder(args.out, [args.model, args.data])
    model = load_classifier(args.model, compile=False)
    domain, data = _load_data(args.data, positive_class=args.positive_class, seed=args.seed,
                              val_fraction=args.val_fraction, test_fraction=args.test_fraction)
    print(_describe_data(data))
    evaluation = _evaluation(Path(args.model).name, model, domain, args.batch_size or 32, args.seed)
    print(evaluation.report)
    context = {"command": "evaluate", "model_file": str(Path(args.model).resolve()), "data": data,
               "settings": {"seed": args.seed, "profile": config.profile_name()}}
    folder = write_report(out, f"Evaluation of {Path(args.model).name} on {domain.name}", evaluation,
                          context=context)
    print(f"Report: {folder}/report.md")


def _threshold_and_names(model_path: Path, threshold):
    """The threshold and class names to label with: --threshold, the model's metrics.json, or 0.5."""
    from .evaluation.reports import METRICS_FILE, TOOL

    sidecar = model_path.resolve().parent / METRICS_FILE
    saved = {}
    if sidecar.is_file():
        with contextlib.suppress(OSError, ValueError):
            saved = json.loads(sidecar.read_text(encoding="utf-8"))
        saved = saved if isinstance(saved, dict) and saved.get("tool") == TOOL else {}
    names = saved.get("class_names") or ["0", "1"]
    if threshold is None:
        threshold = saved.get("threshold")
        where = f"chosen on validation, from {sidecar}" if threshold is not None else "default"
        threshold = 0.5 if threshold is None else float(threshold)
        print(f"Threshold {threshold:.4f} ({where}).", file=sys.stderr)
    return threshold, [str(n) for n in names]


def _predict(args) -> None:
    from .models.predict import as_prediction_inputs, predict_labels
    from .models.classifier import load_classifier

    model = load_classifier(args.model, compile=False)
    threshold, names = _threshold_and_names(Path(args.model), args.threshold)
    inputs = as_prediction_inputs(args.images)
    probabilities, labels = predict_labels(model, inputs, threshold, batch_size=args.batch_size)
    print("file\tprobability\tlabel")
    for file, p, label in zip(inputs.files, probabilities, labels):
        print(f"{file}\t{p:.6f}\t{names[label]}")


def _fetch(args) -> None:
    from .data.medmnist import fetch_medmnist, load_medmnist_domain, medmnist_info

    info = medmnist_info(args.name)
    path = fetch_medmnist(args.name, args.size, args.data_dir, progress=True)
    domain = load_medmnist_domain(args.name, args.size, data_dir=args.data_dir, download=False)
    counts = ", ".join(f"{name} {len(split)}" for name, split in domain.splits().items())
    print(f"{info['title']} at {args.size} px is ready: {path} ({counts}; labels: "
          f"{' / '.join(domain.class_names)}; licence {info['licence']}).")


# --- demo ----------------------------------------------------------------------------------------------

def _demo_domains(args):
    """(source, target, note): PneumoniaMNIST → BreastMNIST when present, else the synthetic domains."""
    from .data.domains import Domain
    from .data.medmnist import fetch_medmnist, load_medmnist_domain

    folder = config.data_dir(args.data_dir)
    missing = []
    if not args.synthetic:
        for name in ("pneumoniamnist", "breastmnist"):
            try:
                fetch_medmnist(name, 28, folder, download=False)
            except FileNotFoundError:
                missing.append(name)
    if not args.synthetic and not missing:
        source = load_medmnist_domain("pneumoniamnist", 28, folder, download=False)
        target = load_medmnist_domain("breastmnist", 28, folder, download=False)
        n = config.pick(default=len(source.train), fast=600)
        source = Domain(source.name, source.train.sample(n, args.seed),
                        source.val.sample(config.pick(default=len(source.val), fast=200), args.seed),
                        source.test)
        note = (f"Real data: PneumoniaMNIST (paediatric chest X-rays) -> BreastMNIST (breast "
                f"ultrasound), 28 px, from {folder}.")
        return source, target, note
    from .data.synthetic import make_synthetic_task

    why = ("--synthetic was given" if args.synthetic else
           f"{' and '.join(missing)} not found in {folder}; run 'crossdomain-kit fetch {missing[0]}'"
           + (f" and 'crossdomain-kit fetch {missing[1]}'" if len(missing) > 1 else "")
           + " for the real pair")
    task = make_synthetic_task(1.0, n_source_train=config.pick(default=2000, fast=300),
                               n_target_train=config.pick(default=200, fast=100),
                               n_val=config.pick(default=200, fast=100),
                               n_test=config.pick(default=400, fast=200),
                               image_size=config.pick(default=64, fast=32), seed=args.seed)
    note = (f"Synthetic data ({why}): radiograph-like images from a source scanner and a washed-out, "
            "noisier, blurrier target scanner.")
    return task.source, task.target, note


def _demo(args) -> None:
    from .evaluation import compare_before_after
    from .workflows.recipes import pretrain, transfer
    from .evaluation.reports import check_output_folder, write_report

    out = check_output_folder(args.out)
    source, target, note = _demo_domains(args)
    print(note)
    print(f"1/2 Pretraining a small CNN on the source domain {source.name} ({len(source.train)} images).")
    pretrained = pretrain(source, seed=args.seed, epochs=config.pick(default=8, fast=1),
                          callbacks=[_progress("pretraining")])
    before = _evaluation("source model", pretrained.model, target, 64, args.seed)

    # The kit's transfer recipe: a new head on the frozen backbone, then every layer, BatchNorm
    # included (the target's images come from another scanner, with other statistics).
    print(f"2/2 Fine-tuning it on the target domain {target.name} ({len(target.train)} images).")
    tuned = transfer(pretrained, target, seed=args.seed, callbacks=[_progress("fine-tuning")])
    after = _evaluation("fine-tuned", tuned.model, target, 64, args.seed)

    print(f"\nTest metrics on the target domain {target.name} (threshold chosen on its validation split):")
    print(compare_before_after(before.report, after.report, labels=(before.name, after.name)))
    context = {"command": "demo", "source": source.name, "target": target.name,
               "settings": {"backbone": "small_cnn", "image_size": tuned.settings["image_size"],
                            "seed": args.seed, "profile": config.profile_name(),
                            "pretraining": pretrained.settings, "fine_tuning": tuned.settings,
                            "splits": {d.name: {s: len(x) for s, x in d.splits().items()}
                                       for d in (source, target)}}}
    folder = write_report(out, f"Transfer demo: {source.name} -> {target.name}", after, before,
                          stages=[(f"pretraining on {source.name}", pretrained.training),
                                  (f"fine-tuning on {target.name}", tuned.training)],
                          context=context, notes=[note], files={"model.keras": _save_model(tuned.model)})
    print(f"\nReport: {folder}/report.md (metrics.json, plots, model.keras)")


if __name__ == "__main__":
    sys.exit(main())
