"""The ``crossdomain-kit`` command line: demo, finetune, evaluate, predict, fetch, pretrain.

The same engine as the notebooks, for an instructor preparing a class, a
student on a remote machine or a script in a course pipeline::

    crossdomain-kit demo --out demo-report
    crossdomain-kit finetune --data chest_xray --out runs/xray
    crossdomain-kit evaluate runs/xray/model.keras --data chest_xray --out runs/xray-eval
    crossdomain-kit predict runs/xray/model.keras scans/*.jpeg
    crossdomain-kit fetch pneumoniamnist --size 64
    crossdomain-kit pretrain --out runs/tinyimagenet

Every command has ``--help`` with an example. Exit codes: 0 on success, 2 for
a usage error (an unknown option, a value out of range, options that exclude
each other), 1 for a data or model error (a missing or unreadable file, a
folder with one class, a model that does not load, a failed download, an
``--out`` that cannot be written), 130 when Ctrl-C stops it (a stopped
``finetune`` writes its report beside ``--out``, never over it). An error is
one line on stderr, ``crossdomain-kit: error: ...``; ``--debug`` shows the
traceback instead. Warnings are one line each, progress bars go to stderr,
results to stdout.

Building the parser imports neither TensorFlow nor matplotlib, so ``--help``
is instant; each command imports what it needs when it runs.

Introduced in the README ("Set up"); the engine behind it is lesson 04's
(:func:`crossdomain_kit.training.fine_tune`) and lesson 05's
(:func:`crossdomain_kit.evaluation.evaluate_predictions`).
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import math
import shlex
import sys
import textwrap
import warnings
from pathlib import Path

from . import __version__, config
from .environment import import_tensorflow_quietly
from .workflows.plan import BATCH_SIZE, FINETUNE_LEARNING_RATE_FACTOR, HEAD_EPOCH_SHARE, LEARNING_RATE, STEP_BUDGET
from .workflows.preflight import OptionError

PROG = "crossdomain-kit"
EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
DEMO_OUT = "crossdomain-demo"
TF_COMMANDS = ("demo", "finetune", "evaluate", "predict", "pretrain")
FREEZE_CHOICES = ("head", "all", "last_k:K", "from_layer:NAME")
_EXPECTED = (ValueError, OSError, EOFError)  # data and model errors: no "--debug" hint needed


class UsageError(Exception):
    """Options that do not fit together (exit code 2), found after parsing."""


class _Parser(argparse.ArgumentParser):
    """argparse with a one-line usage error (exit code 2)."""

    def error(self, message):
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


# --- Option types --------------------------------------------------------------------------------

def _number(convert, accept, requirement: str):
    """An argparse type: ``convert`` the text, keep it when ``accept`` says so, else say ``requirement``."""
    def parse(text: str):
        with contextlib.suppress(ValueError):
            if accept(value := convert(text)):
                return value
        raise argparse.ArgumentTypeError(f"must be {requirement}, got {text!r}")
    return parse


_positive_int = _number(int, lambda v: v >= 1, "an integer >= 1")
MAX_BATCH_SIZE = 4096  # larger batches only exhaust memory (TensorFlow's allocator error, mid-run)
_batch_size = _number(int, lambda v: 1 <= v <= MAX_BATCH_SIZE, f"an integer from 1 to {MAX_BATCH_SIZE}")
_non_negative_int = _number(int, lambda v: v >= 0, "an integer >= 0")
_positive_float = _number(float, lambda v: math.isfinite(v) and v > 0, "a number > 0")
_open_fraction = _number(float, lambda v: 0 < v < 1, "a number in (0, 1)")
_probability = _number(float, lambda v: 0 <= v <= 1, "a number in [0, 1]")


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
    from .models.backbones import weights_names

    if text.lower() in (*weights_names(), "none"):
        return text.lower()
    if not text.endswith((".keras", ".weights.h5")):
        raise argparse.ArgumentTypeError(f"must be {', '.join(weights_names())}, none or a .keras/.weights.h5 file, "
                                         f"got {text!r}")
    return text


# --- The parser ------------------------------------------------------------------------------------

def _command(subparsers, name: str, summary: str, example: str, description: str = "") -> _Parser:
    debug = argparse.ArgumentParser(add_help=False)
    debug.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                       help="show the full traceback of an error")
    return subparsers.add_parser(name, help=summary, parents=[debug], epilog=f"example:\n  {example}",
                                 description=f"{summary}\n\n{textwrap.fill(description, 78)}".strip(),
                                 formatter_class=argparse.RawDescriptionHelpFormatter)


def _add_data_options(parser: _Parser) -> None:
    parser.add_argument("--positive-class", metavar="NAME", help="image folders: the class folder labelled 1 "
                        "(default: the second in sorted order)")
    parser.add_argument("--val-fraction", type=_open_fraction, default=0.15, metavar="F",
                        help="share of train/ (or of the class folders) carved out (whole patients) for "
                             "validation when there is no val/ folder or val split (default: 0.15)")
    parser.add_argument("--test-fraction", type=_open_fraction, default=0.2, metavar="F",
                        help="share of the rest of train/ carved out (whole patients) for testing when "
                             "there is no test/ folder or test split (default: 0.2)")
    parser.add_argument("--seed", type=_non_negative_int, default=0, metavar="N",
                        help="seed for carving splits, shuffling and initial weights (default: 0)")
    parser.add_argument("--batch-size", type=_batch_size, metavar="N",
                        help=f"images per batch (default: {BATCH_SIZE})")


def build_parser() -> argparse.ArgumentParser:
    """The ``crossdomain-kit`` argument parser (no heavy imports)."""
    from .models.backbones import backbone_names
    from .data.medmnist import medmnist_info, medmnist_names
    from .workflows.pretraining_plan import PretrainingPlan, pretrainable_backbones

    parser = _Parser(
        prog=PROG, formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Cross-domain transfer learning with TensorFlow/Keras: fine-tune a model "
                    "trained on one domain for another, and evaluate it before and after.",
        epilog="example:\n  crossdomain-kit demo --out demo-report\n\n"
               f"Datasets are looked up in ${config.DATA_DIR_ENV} (now {config.data_dir()}).\n"
               f"Set {config.FAST_ENV}=1 for the fast profile (tiny runs, for tests).")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--debug", action="store_true", default=False, help="show the full traceback of an error")
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
    demo.add_argument("--data-dir", metavar="DIR", help=f"where the MedMNIST files are (default: {config.data_dir()})")
    demo.add_argument("--synthetic", action="store_true", help="use the synthetic domains even when "
                      "the MedMNIST files are present")
    demo.add_argument("--seed", type=_non_negative_int, default=0, metavar="N", help="seed (default: 0)")
    demo.set_defaults(run=_demo)

    finetune = _command(
        subparsers, "finetune", "fine-tune a classifier on your images and write a report",
        "crossdomain-kit finetune --data chest_xray --out runs/xray",
        "PATH is an image folder (one folder per class, or train/ [val/] [test/] with one folder per class inside "
        "each) or a .npz in MedMNIST layout (train_images, train_labels, val_*, test_*). Missing validation and test "
        "splits are carved out of train (a folder of class folders is all train), seeded, about the same share of "
        "each class, keeping each patient's images together (patients are read from Kaggle chest X-ray file names; "
        "any other image is its own patient); splits.csv in the report lists which file went where. Every option except --data and --out has a default chosen from the data "
        "and the machine: a small CNN at the images' size (up to 64 px) on a CPU, MobileNetV2 with ImageNet weights "
        "at 224 px on a GPU for images of 64 px or more; epochs from the number of training images. With --source, "
        "the model trained on the source domain is fine-tuned and evaluated before and after.")
    finetune.add_argument("--data", required=True, metavar="PATH", help="image folder or .npz file")
    finetune.add_argument("--out", required=True, metavar="DIR", help="report folder (metrics.json, report.md, "
                          "plots, model.keras, splits.csv); a run stopped by Ctrl-C goes to DIR.interrupted-<time> (exit 130)")
    finetune.add_argument("--source", metavar="MODEL", help="a .keras classifier trained on the source "
                          "domain (e.g. a demo's model.keras): fine-tune it, and evaluate it before")
    finetune.add_argument("--backbone", choices=backbone_names(), help="network to build (default: "
                          "from the data and the machine)")
    finetune.add_argument("--weights", type=_weights, metavar="imagenet|tinyimagenet|none|PATH",
                          help="starting weights: ImageNet, the kit's Tiny ImageNet weights (shipped for small_cnn and "
                               "small_cnn_wide, offline), "
                               "none (random) or a kit checkpoint "
                               "(default: imagenet when the backbone has them and they can be had)")
    finetune.add_argument("--freeze", type=_freeze_policy, metavar="POLICY",
                          help=f"what trains after the head: {', '.join(FREEZE_CHOICES)} "
                               "(default: all; pretrained starts only)")
    finetune.add_argument("--epochs", type=_positive_int, metavar="N",
                          help="most epochs in all (early stopping may end sooner; default: about "
                               f"{STEP_BUDGET:,} images seen, 5 to 30 epochs; a pretrained start gives "
                               f"1/{HEAD_EPOCH_SHARE} of them to the head alone)")
    finetune.add_argument("--lr", type=_positive_float, metavar="X", help=f"learning rate (default: "
                          f"{LEARNING_RATE:g}; fine-tuning the backbone after the head uses "
                          f"{FINETUNE_LEARNING_RATE_FACTOR:g} of it)")
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
        "Prints one tab-separated line per file: file, probability of the positive class, label (a file name "
        "holding a tab, newline or double quote is quoted as in CSV: read the output with a CSV reader). "
        "The threshold and class names come from --threshold, else from the metrics.json beside "
        "MODEL (finetune writes one), else 0.5 and labels 0/1.")
    predict.add_argument("model", metavar="MODEL", help="a .keras classifier saved by the kit")
    predict.add_argument("images", nargs="+", metavar="IMAGE", help="image files or folders (searched recursively)")
    predict.add_argument("--threshold", type=_probability, metavar="X",
                         help="probability at or above which an image is labelled positive")
    predict.add_argument("--batch-size", type=_batch_size, default=32, metavar="N",
                         help="images per batch (default: 32)")
    predict.set_defaults(run=_predict)

    about = {n: f"{n} ({medmnist_info(n)['title']}, {medmnist_info(n)['licence']})" for n in medmnist_names()}
    about["tinyimagenet"] = "tinyimagenet (Tiny ImageNet, 32 px grey; non-commercial research/education only)"
    fetch = _command(subparsers, "fetch", "download and verify a registry dataset into the data directory",
                     "crossdomain-kit fetch breastmnist --size 64", "Datasets: " + "; ".join(about.values())
                     + ". A download's md5 is checked before the file appears; the contents are validated.")
    fetch.add_argument("name", choices=list(about), metavar="NAME", help=f"one of: {', '.join(about)}")
    fetch.add_argument("--size", type=int, choices=(28, 64, 128, 224), help="MedMNIST image px (default: 28)")
    fetch.add_argument("--data-dir", metavar="DIR", help=f"destination (default: {config.data_dir()})")
    fetch.add_argument("--force", action="store_true", help="download again even if the file is there (a corrupt "
                       "copy): the new file replaces it once verified")
    fetch.add_argument("--timeout", type=_positive_float, default=30.0, metavar="SECONDS",
                       help="longest wait for the server, per connection or read (default: 30)")
    fetch.set_defaults(run=_fetch)

    plan = PretrainingPlan()  # the defaults shown
    pretrain = _command(
        subparsers, "pretrain", "pretrain a CPU backbone on Tiny ImageNet (grey, 32 px) to transfer from",
        "crossdomain-kit pretrain --out runs/tinyimagenet", "Trains the backbone with a multi-class head (SGD, warm-up "
        "then cosine decay, flips and shifts), prints validation top-1/top-5 and writes DIR/<backbone>_tinyimagenet"
        ".weights.h5 (finetune --weights PATH starts from it), model_card.md and metrics.json. Every epoch is saved in "
        "DIR/checkpoint: run the same command again to resume. Non-commercial research and education only (ImageNet).")
    pretrain.add_argument("--out", required=True, metavar="DIR", help="output folder")
    pretrain.add_argument("--backbone", choices=pretrainable_backbones(), default=plan.backbone)
    for flag, key, kind in (("--epochs", "epochs", _positive_int), ("--batch-size", "batch_size", _batch_size),
                            ("--lr", "learning_rate", _positive_float)):
        pretrain.add_argument(flag, type=kind, default=getattr(plan, key), dest=key,
                              help=f"(default: {getattr(plan, key):g})")
    pretrain.add_argument("--seed", type=_non_negative_int, default=0, metavar="N", help="seed (default: 0)")
    pretrain.add_argument("--data-dir", metavar="DIR", help=f"where Tiny ImageNet is (default: {config.data_dir()})")
    pretrain.set_defaults(run=_pretrain)
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
    """Run the command line on ``argv`` (default ``sys.argv[1:]``); return the exit code (0, 1, 2 or 130)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as done:  # --help, --version, usage errors
        return done.code if isinstance(done.code, int) else EXIT_USAGE
    if args.command is None:
        print(f"{PROG}: error: choose a command: demo, finetune, evaluate, predict, fetch or pretrain "
              f"(see '{PROG} --help')", file=sys.stderr)
        return EXIT_USAGE
    try:
        with _one_line_warnings():
            if args.command in TF_COMMANDS and not args.debug:  # no native log lines: an error is one line
                import_tensorflow_quietly()
            args.run(args)
    except (UsageError, OptionError) as error:
        if args.debug:
            raise
        print(f"{PROG} {args.command}: error: {_one_line(error)} (see '{PROG} {args.command} --help')", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt as error:
        print(f"{PROG}: interrupted; {str(error) or 'nothing was written.'}", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as error:
        if args.debug:
            raise
        hint = ("" if isinstance(error, _EXPECTED)
                else f" ({type(error).__name__}; run with --debug for the traceback)")
        print(f"{PROG}: error: {_one_line(error)}{hint}", file=sys.stderr)
        return EXIT_ERROR
    return EXIT_OK


# --- Data: --data read by crossdomain_kit.data.user_data ---------------------------------------------

def _load_data(args):
    """``--data`` as :class:`~crossdomain_kit.data.user_data.UserData` (``--positive-class`` on a .npz: UsageError)."""
    from .data.user_data import PositiveClassError, load_user_data

    try:
        return load_user_data(args.data, positive_class=args.positive_class, seed=args.seed,
                              val_fraction=args.val_fraction, test_fraction=args.test_fraction)
    except PositiveClassError as error:
        raise UsageError("--positive-class applies to image folders; in a .npz the positive class "
                         "is label 1") from error


def _report_files(data, files: dict) -> dict:
    """``files`` for the report folder, plus ``splits.csv`` (which image went where) for image files."""
    return {**files, "splits.csv": data.write_splits} if data.domain.train.files is not None else files


# --- Training and evaluating: the kit's fine-tune workflow (crossdomain_kit.workflows) ---------------

def _save_model(model):
    from .models.checkpoints import save_classifier
    return lambda path: save_classifier(model, path)


# --- Commands ------------------------------------------------------------------------------------------

def _finetune(args) -> None:
    from .evaluation import compare_before_after
    from .evaluation.reports import write_report
    from .models.backbones import weights_names
    from .training import EpochProgressBars
    from .workflows.finetune import evaluate_model, run_fine_tune
    from .workflows.model_choice import model_and_plan
    from .workflows.preflight import check_model_file, check_model_options, check_report_folder, interrupted_run_folder

    check_model_options(backbone=args.backbone, image_size=args.image_size, weights=args.weights, source=args.source,
                        freeze=args.freeze)
    files = [(o, f) for o, f in (("--source", args.source), ("--weights", args.weights))
             if f not in (None, "none", *weights_names())]
    for option, file in files:
        check_model_file(file, option)
    out = check_report_folder(args.out, [args.data, *(file for _, file in files)])
    data = _load_data(args)
    print(data.describe())
    domain = data.domain
    choice, model, plan = model_and_plan(domain, source=args.source, backbone=args.backbone, weights=args.weights,
                                         freeze=args.freeze, image_size=args.image_size, epochs=args.epochs,
                                         batch_size=args.batch_size, learning_rate=args.lr, seed=args.seed)
    print(choice.describe(), plan.describe())
    before = (evaluate_model(model, domain, "source model", batch_size=plan.batch_size, seed=args.seed)
              if args.source else None)
    label = "fine-tuning" if choice.pretrained else "training"
    run = run_fine_tune(model, domain, plan, seed=args.seed, callbacks=[EpochProgressBars(label)])
    out = interrupted_run_folder(out, run.training) if run.training.interrupted else out  # never over --out
    after = run.report(domain, "fine-tuned" if choice.pretrained else "trained", seed=args.seed)
    print(after.report if before is None else
          compare_before_after(before.report, after.report, labels=(before.name, after.name)))
    settings = {**choice.as_dict(), **plan.as_dict(), "epochs": plan.total_epochs, "seed": args.seed,
                "profile": config.profile_name()}
    context = {"command": "finetune", "data": data.description, "settings": settings, "notes": choice.notes}
    files = _report_files(data, {"model.keras": _save_model(model)})
    folder = write_report(out, f"Fine-tuning on {domain.name}", after, before, stages=[(label, run.training)],
                          context=context, files=files)
    print(f"Report: {folder}/report.md (metrics.json, plots, {', '.join(files)})")
    if run.training.interrupted:
        raise KeyboardInterrupt(f"the best epoch's model and its report are in {folder}; {args.out} was left as "
                                "it was.")


def _evaluate(args) -> None:
    from .evaluation.reports import write_report
    from .models.checkpoints import load_classifier
    from .workflows.finetune import evaluate_model
    from .workflows.preflight import check_model_file, check_report_folder

    check_model_file(args.model)
    out = check_report_folder(args.out, [args.model, args.data])
    model = load_classifier(args.model, compile=False)
    data = _load_data(args)
    print(data.describe())
    domain = data.domain
    evaluation = evaluate_model(model, domain, Path(args.model).name, batch_size=args.batch_size or 32, seed=args.seed)
    print(evaluation.report)
    context = {"command": "evaluate", "model_file": str(Path(args.model).resolve()),
               "data": data.description, "settings": {"seed": args.seed, "profile": config.profile_name()}}
    files = _report_files(data, {})
    folder = write_report(out, f"Evaluation of {Path(args.model).name} on {domain.name}", evaluation, context=context,
                          files=files)
    print(f"Report: {folder}/report.md{' (' + ', '.join(files) + ')' if files else ''}")


def _threshold_and_names(model_path: Path, threshold):
    """The threshold and class names to label with: --threshold, the model's metrics.json, or 0.5."""
    from .evaluation.reports import METRICS_FILE, read_report_metrics

    saved = read_report_metrics(model_path.resolve().parent)
    names = saved.get("class_names") or ["0", "1"]
    if threshold is None:
        threshold = saved.get("threshold")
        where = (f"chosen on validation, from {model_path.resolve().parent / METRICS_FILE}"
                 if threshold is not None else "default")
        threshold = 0.5 if threshold is None else float(threshold)
        print(f"Threshold {threshold:.4f} ({where}).", file=sys.stderr)
    return threshold, [str(n) for n in names]


def _predict(args) -> None:
    from .models.predict import as_prediction_inputs, predict_labels
    from .models.checkpoints import load_classifier
    from .workflows.preflight import check_model_file

    model = load_classifier(check_model_file(args.model), compile=False)
    threshold, names = _threshold_and_names(Path(args.model), args.threshold)
    inputs = as_prediction_inputs(args.images)
    probabilities, labels = predict_labels(model, inputs, threshold, batch_size=args.batch_size)
    table = csv.writer(sys.stdout, delimiter="\t", lineterminator="\n")  # quotes a name holding a tab or newline
    table.writerow(["file", "probability", "label"])
    table.writerows([file, f"{p:.6f}", names[label]] for file, p, label in zip(inputs.files, probabilities, labels))


def _fetch(args) -> None:
    from .data import medmnist, tinyimagenet as tiny

    if args.name == "tinyimagenet" and args.size:
        raise UsageError("--size is for MedMNIST: tinyimagenet comes at 32 px only")
    if args.data_dir and Path(args.data_dir).expanduser().exists() and not Path(args.data_dir).expanduser().is_dir():
        raise UsageError(f"--data-dir {args.data_dir} is a file, not a folder; name a folder (created if missing)")
    options = dict(timeout=args.timeout, force=args.force)
    if args.name == "tinyimagenet":  # converted from the official zip, downloaded if missing
        tiny.fetch_tinyimagenet(args.data_dir, **options)
        data = tiny.load_tinyimagenet(args.data_dir, download=False)
        return print(f"Ready in {config.data_dir(args.data_dir)}: {data.describe()}")
    info, size = medmnist.medmnist_info(args.name), args.size or 28
    path = medmnist.fetch_medmnist(args.name, size, args.data_dir, **options)
    domain = medmnist.load_medmnist_domain(args.name, size, data_dir=args.data_dir, download=False)
    counts = ", ".join(f"{name} {len(split)}" for name, split in domain.splits().items())
    print(f"{info['title']} at {size} px is ready: {path} "
          f"({counts}; labels: {' / '.join(domain.class_names)}; licence {info['licence']}).")


def _pretrain(args) -> None:
    from .data.tinyimagenet import load_tinyimagenet
    from .models.backbones import tinyimagenet_weights_name
    from .workflows.preflight import check_writable_output
    from .workflows.pretraining import PretrainingPlan, pretrain_backbone

    plan = PretrainingPlan(**{key: getattr(args, key) for key in ("backbone", "epochs", "batch_size", "learning_rate")})
    out, data = check_writable_output(args.out), load_tinyimagenet(args.data_dir)
    print(f"{data.describe()}\nPretraining {plan.describe()}")
    result = pretrain_backbone(data, plan, seed=args.seed, checkpoint_dir=out / "checkpoint")
    if result.interrupted:
        raise KeyboardInterrupt(f"the finished epochs are in {out / 'checkpoint'}: run the same command to resume.")
    options = ["--out", args.out, "--backbone", plan.backbone, "--epochs", plan.epochs, "--batch-size", plan.batch_size,
               "--lr", repr(plan.learning_rate), "--seed", args.seed]
    command = (f"{config.FAST_ENV}=1 " if config.is_fast() else "") + shlex.join([PROG, "pretrain", *map(str, options)])
    weights = result.save(out, name=tinyimagenet_weights_name(plan.backbone), data_description=data.describe(),
                          command=command)
    print(f"Validation top-1 {result.val_top1:.4f}, top-5 {result.val_top5:.4f}. {weights}: sha256 {result.sha256}")


def _demo(args) -> None:
    from .evaluation import compare_before_after
    from .evaluation.reports import write_report
    from .models.backbones import get_backbone
    from .models.classifier import build_classifier
    from .training import EpochProgressBars
    from .workflows.demo import demo_domains
    from .workflows.finetune import evaluate_model
    from .workflows.preflight import check_report_folder
    from .workflows.recipes import pretrain, transfer

    out = check_report_folder(args.out)
    demo = demo_domains(args.data_dir, seed=args.seed, synthetic=args.synthetic)
    source, target = demo.source, demo.target
    print(demo.note)
    print(f"1/3 Pretraining a small CNN on the source domain {source.name} ({len(source.train)} images).")
    pretrained = pretrain(source, seed=args.seed, epochs=config.pick(default=8, fast=1),
                          callbacks=[EpochProgressBars("pretraining")])
    before = evaluate_model(pretrained.model, target, "source model", batch_size=64, seed=args.seed)

    # The kit's transfer recipe: a new head on the frozen backbone, then every layer, BatchNorm
    # included (the target's images come from another scanner, with other statistics).
    print(f"2/3 Fine-tuning it on the target domain {target.name} ({len(target.train)} images).")
    tuned = transfer(pretrained, target, seed=args.seed, callbacks=[EpochProgressBars("fine-tuning")])
    after = evaluate_model(tuned.model, target, "fine-tuned", batch_size=64, seed=args.seed)

    size = get_backbone("small_cnn").weights_spec("tinyimagenet").fitting_size(tuned.settings["image_size"])
    print(f"3/3 The same fine-tuning from the kit's general backbone (Tiny ImageNet photographs, {size} px) "
          f"on {target.name}.")
    general_start = build_classifier("small_cnn", (size, size, 1), weights="tinyimagenet", seed=args.seed)
    general = transfer(general_start, target, seed=args.seed, callbacks=[EpochProgressBars("fine-tuning")])
    general_eval = evaluate_model(general.model, target, "Tiny ImageNet start", batch_size=64, seed=args.seed)

    print(f"\nTest metrics on the target domain {target.name} (threshold chosen on its validation split):")
    print(compare_before_after(before.report, after.report, labels=(before.name, after.name)))
    print(f"\nThe two pretrained starts, both fine-tuned on {target.name} (one seed: a demo, not a benchmark):")
    print(compare_before_after(after.report, general_eval.report, labels=(f"{source.name} start", general_eval.name)))
    context = {"command": "demo", "source": source.name, "target": target.name,
               "settings": {"backbone": "small_cnn", "image_size": tuned.settings["image_size"], "seed": args.seed,
                            "profile": config.profile_name(), "pretraining": pretrained.settings,
                            "fine_tuning": tuned.settings, "general_start": general_eval.report.summary(),
                            "splits": {d.name: {s: len(x) for s, x in d.splits().items()} for d in (source, target)}}}
    folder = write_report(out, f"Transfer demo: {source.name} -> {target.name}", after, before,
                          stages=[(f"pretraining on {source.name}", pretrained.training),
                                  (f"fine-tuning on {target.name}", tuned.training),
                                  (f"Tiny ImageNet start, fine-tuning on {target.name}", general.training)],
                          context=context, files={"model.keras": _save_model(tuned.model)},
                          notes=[demo.note, f"From the kit's Tiny ImageNet backbone, the same fine-tuning reached test "
                                            f"AUC {general_eval.report.test.auc:.3f} (this model: {after.report.test.auc:.3f})."])
    print(f"\nReport: {folder}/report.md (metrics.json, plots, model.keras)")


if __name__ == "__main__":
    sys.exit(main())
