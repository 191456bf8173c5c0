"""Report folders of a training or evaluation run: ``metrics.json``, ``report.md`` and PNG plots.

A report folder holds everything one run of the command line (or a notebook)
wants to keep:

* ``metrics.json``: the test metrics at the validation-chosen threshold
  (top-level ``test_auc``, ``test_acc``, ``sensitivity``, ``specificity``,
  ``threshold``, ``test_ece``; :meth:`crossdomain_kit.evaluation.EvaluationReport.to_dict`),
  the same under ``before`` for the model before fine-tuning when there is
  one, the before/after table, the per-epoch training history and whatever
  the caller adds (data, settings);
* ``report.md``: the same for people, with the plots embedded;
* ``learning_curves.png``, ``roc.png``, ``confusion_matrix.png``,
  ``reliability.png``;
* any other file the caller writes (e.g. the model, ``model.keras``).

Nothing is ever half-written: the folder is assembled under a temporary name
beside its destination and renamed into place only when every file is
complete. An existing folder is replaced only if it is an earlier kit report
(its ``metrics.json`` says so); any other non-empty folder is left alone and
refused, so a mistyped ``--out`` never deletes someone's files.

Figures are built with ``matplotlib.figure.Figure`` (no pyplot, no global
state) and drawn with the helpers of :mod:`crossdomain_kit.plots`. Importing
this module does not import TensorFlow.

Introduced by the ``crossdomain-kit`` command line (``crossdomain_kit.cli``).
"""

from __future__ import annotations

import json
import math
import os
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure

from .. import __version__, _checks, plots
from ..plots import figure_png
from .evaluate import EvaluationReport, compare_before_after

TOOL = "crossdomain-kit"
"""Value of ``metrics.json``'s ``"tool"`` key: marks a folder this module wrote."""

METRICS_FILE = "metrics.json"
MARKDOWN_FILE = "report.md"
_DPI = 110


@dataclass(frozen=True, eq=False)
class ModelEvaluation:
    """One model's evaluation on one domain: the report and the test predictions behind it.

    Attributes:
        name: how the report calls the model, e.g. ``"source model"`` or ``"fine-tuned"``.
        report: threshold chosen on validation, test metrics
            (:func:`crossdomain_kit.evaluation.evaluate_predictions`).
        y_test: test labels in {0, 1}, shape (n,).
        p_test: test probabilities of the positive class, shape (n,).
    """

    name: str
    report: EvaluationReport
    y_test: np.ndarray
    p_test: np.ndarray

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name:
            raise _checks.fail("`name` must be a non-empty string.", "name", self.name)
        if not isinstance(self.report, EvaluationReport):
            raise _checks.fail("`report` must be an EvaluationReport from evaluate_predictions.",
                               "report", self.report)
        y = _checks.binary_labels(np.ravel(self.y_test), "y_test")
        p = _checks.probabilities(np.ravel(self.p_test), "p_test")
        _checks.same_shape(y, p, "y_test", "p_test")
        object.__setattr__(self, "y_test", y.astype(np.int64))
        object.__setattr__(self, "p_test", p)


# --- The output folder --------------------------------------------------------------------------

def check_output_folder(folder: str | os.PathLike, inputs: Sequence[str | os.PathLike] = ()) -> Path:
    """Fail early, before any work, if ``folder`` cannot become a report folder.

    Args:
        folder: the destination. It may be missing, empty, or an earlier kit
            report (which will be replaced whole). A symbolic link is followed:
            the report replaces the folder it points to, and the link stays.
        inputs: files or folders the run reads (a model, the data); none may
            lie inside ``folder``, which the new report replaces (links
            followed on both sides).

    Returns:
        The folder as an absolute ``Path``, symbolic links resolved.

    Raises:
        ValueError: if it is a file, a broken link, a non-empty folder that is
            not a kit report, or holds one of ``inputs``.
    """
    given = Path(folder).expanduser().absolute()
    path = given.resolve()
    if given.is_symlink() and not path.exists():
        raise _checks.fail(f"{given} is a broken symbolic link (to {path}); remove it or choose another folder "
                           "for the report.", "out", str(folder))
    if path.exists() and not path.is_dir():
        raise _checks.fail(f"{path} is a file; choose a folder for the report.", "out", str(folder))
    if path.is_dir() and any(path.iterdir()) and not _is_kit_report(path):
        raise _checks.fail(f"{path} already holds files that are not a crossdomain-kit report; "
                           "choose a new or empty folder (an earlier report is replaced).",
                           "out", str(folder))
    for item in inputs:
        used = Path(item).expanduser().resolve()
        if used == path or path in used.parents:
            raise _checks.fail(f"{path} holds {used}, which this run reads, and the new report would "
                               "replace it; choose another folder for the report.", "out", str(folder))
    return path


def read_report_metrics(folder: str | os.PathLike) -> dict:
    """The ``metrics.json`` of a report folder this module wrote, or ``{}`` (none, unreadable, not the kit's).

    ``crossdomain-kit predict`` reads the threshold and class names a model
    was saved with from the report folder it lies in.
    """
    try:
        metrics = json.loads((Path(folder) / METRICS_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return metrics if isinstance(metrics, dict) and metrics.get("tool") == TOOL else {}


def _is_kit_report(folder: Path) -> bool:
    return bool(read_report_metrics(folder))


def _publish(staging: Path, destination: Path) -> None:
    """Move the finished staging folder to ``destination``, replacing an earlier report."""
    if destination.is_dir() and any(destination.iterdir()):
        retired = destination.with_name(f".{destination.name}.old-{uuid.uuid4().hex[:8]}")
        os.replace(destination, retired)
        try:
            os.replace(staging, destination)
        except OSError:
            os.replace(retired, destination)
            raise
        shutil.rmtree(retired, ignore_errors=True)
        return
    if destination.is_dir():
        destination.rmdir()
    os.replace(staging, destination)


# --- Figures ------------------------------------------------------------------------------------

def _draw_learning_curves(fig: Figure, stages: Sequence[tuple[str, object]]) -> None:
    """Loss and AUC per epoch of each stage ``(label, TrainingResult)``, one after the other."""
    axes = fig.subplots(1, 2)
    offset = 0
    for label, result in stages:
        plots.plot_learning_curves(result.history, axes, label=label, epoch_offset=offset,
                             phases=result.phases, best_epoch=result.best_epoch)
        offset += len(result.phases)
    axes[1].set_title("AUC (black dot: best epoch kept)")


def _panels(evaluations: Sequence[ModelEvaluation], draw: Callable) -> Figure:
    fig = Figure(figsize=(5.5 * len(evaluations), 4.8), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, len(evaluations)))
    for ax, evaluation in zip(axes, evaluations):
        draw(ax, evaluation)
        ax.set_title(f"{evaluation.name}: {ax.get_title()}")
    return fig


def report_figures(evaluations: Sequence[ModelEvaluation],
                   stages: Sequence[tuple[str, object]] = ()) -> dict[str, Figure]:
    """The report's figures, one panel per evaluated model (e.g. before | after).

    Args:
        evaluations: the models' test evaluations, in display order.
        stages: ``(label, TrainingResult)`` per training run, in order; empty
            for a run that did not train (no learning-curve figure).

    Returns:
        ``{file name: Figure}`` for ``learning_curves.png`` (when ``stages``),
        ``roc.png``, ``confusion_matrix.png`` and ``reliability.png``.
    """
    figures = {}
    if stages:
        figures["learning_curves.png"] = Figure(figsize=(11, 4.5), layout="constrained")
        _draw_learning_curves(figures["learning_curves.png"], stages)
    figures["roc.png"] = _panels(evaluations, lambda ax, e: plots.plot_roc(
        e.y_test, e.p_test, ax=ax, threshold=e.report.threshold, label=e.name))
    figures["confusion_matrix.png"] = _panels(evaluations, lambda ax, e: plots.plot_confusion_matrix(
        e.report.test.confusion_matrix, list(e.report.class_names), ax=ax))
    figures["reliability.png"] = _panels(evaluations, lambda ax, e: plots.plot_reliability(
        e.report.calibration, ax=ax, label=e.name))
    return figures


# --- metrics.json and report.md -----------------------------------------------------------------

def _history(result) -> dict:
    def number(value):
        return None if value is None or (isinstance(value, float) and not math.isfinite(value)) else value

    return {"phases": list(result.phases), "monitor": result.monitor, "best_epoch": result.best_epoch,
            "best_value": number(result.best_value), "interrupted": bool(result.interrupted),
            "history": {k: [number(float(v)) for v in values] for k, values in result.history.items()}}


def report_metrics(after: ModelEvaluation, before: ModelEvaluation | None = None,
                   stages: Sequence[tuple[str, object]] = (), context: Mapping | None = None) -> dict:
    """The content of ``metrics.json`` (JSON-serialisable; NaN becomes None).

    Args:
        after: the evaluation the run is about (the fine-tuned model).
        before: the model before fine-tuning, if there is one.
        stages: ``(label, TrainingResult)`` per training run.
        context: more JSON-serialisable entries (data, settings); keys must
            not clash with the metrics'.

    Returns:
        ``{"tool", "version", "model", <EvaluationReport.to_dict() keys>, "before"
        (same keys, when given), "before_after" (rows), "training", **context}``.

    Raises:
        ValueError: if a ``context`` key clashes with a metrics key.
    """
    metrics = {"tool": TOOL, "version": __version__, "model": after.name, **after.report.to_dict()}
    if before is not None:
        metrics["before"] = {"model": before.name, **before.report.to_dict()}
        table = compare_before_after(before.report, after.report, labels=("before", "after"))
        metrics["before_after"] = table.as_dicts()
    if stages:
        metrics["training"] = {label: _history(result) for label, result in stages}
    for key, value in (context or {}).items():
        if key in metrics:
            raise _checks.fail("`context` must not reuse a metrics key.", "context", key)
        metrics[key] = value
    return metrics


def _markdown_value(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, (list, tuple)):
        return ", ".join(_markdown_value(v) for v in value)
    if isinstance(value, Mapping):
        return "; ".join(f"{k}: {_markdown_value(v)}" for k, v in value.items())
    return str(value)


def interrupted_notes(stages: Sequence[tuple[str, object]]) -> list[str]:
    """One sentence per training stage stopped by Ctrl-C: "... interrupted at epoch k ...".

    Args:
        stages: ``(label, TrainingResult)`` per training run.

    Returns:
        The sentences (none when no stage was interrupted); :func:`write_report`
        puts them at the top of ``report.md``.
    """
    notes = []
    for label, result in stages:
        if not getattr(result, "interrupted", False):
            continue
        finished = len(result.phases)
        kept = ("the model holds its starting weights" if result.best_epoch is None else
                f"the model is that of epoch {result.best_epoch + 1}, the best of the {finished} finished")
        notes.append(f"{label[:1].upper()}{label[1:]} was interrupted at epoch {finished + 1} (Ctrl-C): "
                     f"{kept}, not the run that was planned; the metrics below are that model's.")
    return notes


def report_markdown(title: str, after: ModelEvaluation, before: ModelEvaluation | None = None,
                    *, context: Mapping | None = None, notes: Sequence[str] = (),
                    figures: Sequence[str] = (), files: Sequence[str] = ()) -> str:
    """The content of ``report.md``.

    Args:
        title: the report's heading.
        after, before: as in :func:`report_metrics`.
        context: entries listed under "Run" (one bullet each).
        notes: sentences shown first (e.g. which data was used and why).
        figures: PNG file names to embed.
        files: other files of the folder to list (e.g. ``model.keras``).

    Returns:
        Markdown text.
    """
    lines = [f"# {title}", ""]
    lines += [f"> {note}" for note in notes] + ([""] if notes else [])
    if before is not None:
        table = compare_before_after(before.report, after.report, labels=(before.name, after.name))
        lines += ["## Before and after", "",
                  "Test metrics, each model at its own threshold chosen on validation.", "",
                  table.to_markdown(), ""]
    lines += [f"## {after.name}", "", after.report._repr_markdown_(), ""]
    if before is not None:
        lines += [f"## {before.name}", "", before.report._repr_markdown_(), ""]
    if context:
        lines += ["## Run", ""] + [f"- **{key}**: {_markdown_value(value)}"
                                   for key, value in context.items()] + [""]
    if figures:
        lines += ["## Plots", ""] + [f"![{Path(name).stem.replace('_', ' ')}]({name})" for name in figures]
        lines += [""]
    if files:
        lines += ["## Files", ""] + [f"- `{name}`" for name in files] + [""]
    lines += [f"Written by {TOOL} {__version__}. Metrics: `{METRICS_FILE}`."]
    return "\n".join(lines) + "\n"


def write_report(folder: str | os.PathLike, title: str, after: ModelEvaluation,
                 before: ModelEvaluation | None = None, *, stages: Sequence[tuple[str, object]] = (),
                 context: Mapping | None = None, notes: Sequence[str] = (),
                 files: Mapping[str, Callable[[Path], object]] | None = None) -> Path:
    """Write a complete report folder atomically: metrics.json, report.md, plots and extra files.

    Args:
        folder: destination (missing, empty, or an earlier kit report, which is
            replaced; see :func:`check_output_folder`).
        title: heading of ``report.md``.
        after: the evaluation the run is about.
        before: the model before fine-tuning, if any (side-by-side panels and table).
        stages: ``(label, TrainingResult)`` per training run, for the learning curves.
        context: JSON-serialisable entries for metrics.json and the "Run" list.
        notes: sentences shown at the top of report.md (after those of
            :func:`interrupted_notes`, for a stage stopped by Ctrl-C).
        files: ``{file name: writer}``; each ``writer(path)`` writes one more
            file into the folder (e.g. ``lambda p: save_classifier(model, p)``).

    Returns:
        The report folder (absolute path).

    Raises:
        ValueError: as :func:`check_output_folder`, or for a bad evaluation
            or context. A writer's own exception is re-raised; in every case
            nothing is left behind: no partial folder, the destination as it was.
    """
    destination = check_output_folder(folder)
    notes = [*interrupted_notes(stages), *notes]
    evaluations = [before, after] if before is not None else [after]
    metrics = report_metrics(after, before, stages, context)
    created = [p for p in reversed(destination.parents) if not p.exists()]
    destination.parent.mkdir(parents=True, exist_ok=True)
    staging = destination.with_name(f".{destination.name}.{uuid.uuid4().hex[:8]}.partial")
    staging.mkdir()  # not tempfile.mkdtemp: its 0700 mode would stay on the published folder
    try:
        for name, writer in (files or {}).items():
            writer(staging / name)
        figures = report_figures(evaluations, stages)
        for name, fig in figures.items():
            (staging / name).write_bytes(figure_png(fig, dpi=_DPI))
        (staging / METRICS_FILE).write_text(json.dumps(metrics, indent=2, allow_nan=False) + "\n",
                                            encoding="utf-8")
        markdown = report_markdown(title, after, before, context=context, notes=notes,
                                   figures=list(figures), files=list(files or {}))
        (staging / MARKDOWN_FILE).write_text(markdown, encoding="utf-8")
        _publish(staging, destination)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        for parent in reversed(created):
            try:
                parent.rmdir()
            except OSError:
                break
        raise
    return destination
