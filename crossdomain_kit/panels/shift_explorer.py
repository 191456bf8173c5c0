"""A panel for domain shift: turn the synthetic scanner's knobs, see both domains, measure the cost.

Sliders set ``shift`` (0 = the source scanner, 1 = the target scanner) and the
knobs of the scanner at shift 1 (contrast, brightness, noise, blur,
resolution, share of findings). Two image grids show the *same patients*
imaged by the source scanner and by the target scanner at this shift, so
only the scanner differs. "Compare" makes a synthetic transfer task at these
settings and trains a small CNN on the source alone, scores it on both test
sets, then fine-tunes it on the few target images in two phases and scores
it again, both steps through the kit's fine-tune workflow
(:func:`crossdomain_kit.workflows.finetune.run_fine_tune`): the source-
only model's drop on the target, and how much fine-tuning wins back, appear
as bars and as a row of a table that accumulates over comparisons (AUC
against shift in the right-hand plot). Stop ends a comparison at the next
batch without recording it; it runs like the training dashboard's training
(see :mod:`crossdomain_kit.panels._jobs`).

Introduced in ``notebooks/03_transfer_shifted_domains.ipynb``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace

import ipywidgets as widgets
from matplotlib.figure import Figure

from .. import _checks
from ..config import pick
from ..evaluation import Table
from ..models.classifier import build_classifier
from ..plots import plot_image_grid
from ..data.synthetic import (CLASS_NAMES, SOURCE, TARGET, ScannerSettings, interpolate_scanner,
                         make_synthetic_split, make_synthetic_task)
from ..workflows.finetune import FineTunePlan, run_fine_tune
from ._html import table_html
from ._jobs import JobCallback, JobRunner, JobStatus, StatusLines
from ._output import show_figure

KNOB_RANGES = {"contrast": (0.1, 2.0, 0.05), "brightness": (-0.5, 0.5, 0.05), "noise_std": (0.0, 0.3, 0.01),
               "blur_sigma": (0.0, 0.06, 0.005), "resolution": (0.25, 1.0, 0.05),
               "positive_fraction": (0.1, 0.9, 0.05)}
"""Slider (min, max, step) of each knob of the scanner at shift 1 (widened to hold the given scanner)."""

COMPARISON_COLUMNS = ("run", "shift", "target scanner", "source-only, source test AUC",
                      "source-only, target test AUC", "fine-tuned, target test AUC", "gain", "seconds")
_SAMPLE_DOMAIN = "shift-explorer"  # the patients of the sample grids
_BATCH_SIZE = 32


def _compact(scanner: ScannerSettings) -> str:
    return (f"contrast {scanner.contrast:.2f}, brightness {scanner.brightness:+.2f}, noise "
            f"{scanner.noise_std:.3f}, blur {scanner.blur_sigma:.3f}, resolution {scanner.resolution:.2f}, "
            f"findings {scanner.positive_fraction:.0%}")


@dataclass(frozen=True)
class Comparison:
    """One source-only vs fine-tuned comparison.

    Attributes:
        number: 1 for the first.
        shift: the target domain's shift.
        scanner: the target domain's scanner (at ``shift``).
        source_on_source: the source-only model's test AUC on the source.
        source_only: its test AUC on the target.
        fine_tuned: the test AUC on the target after fine-tuning on the target.
        seconds: wall time.
    """

    number: int
    shift: float
    scanner: ScannerSettings
    source_on_source: float
    source_only: float
    fine_tuned: float
    seconds: float

    def row(self) -> tuple:
        """The comparison as a row of :data:`COMPARISON_COLUMNS`."""
        return (self.number, self.shift, _compact(self.scanner), self.source_on_source, self.source_only,
                self.fine_tuned, self.fine_tuned - self.source_only, self.seconds)


@dataclass
class ShiftExplorerState(JobStatus):
    """What the explorer shows and has measured.

    Attributes:
        shift: the slider's shift.
        target: the scanner at shift 1 (the knob sliders).
        scanner: the target domain's scanner now, ``interpolate_scanner(SOURCE, target, shift)``.
        sizes: the comparison's ``make_synthetic_task`` sizes and ``epochs``.
        comparisons: one :class:`Comparison` per finished comparison.
        status: ``"idle"``, ``"comparing"`` or ``"stopping"``.
        progress: the progress line.
        message: the latest message under the progress line.
        error: the exception of the latest comparison that failed, or None.
        n_redraws: how many times the sample grids were drawn.
    """

    shift: float
    target: ScannerSettings
    scanner: ScannerSettings
    sizes: dict
    comparisons: list[Comparison] = field(default_factory=list)

    def comparison_table(self) -> Table:
        """Every comparison as a :class:`~crossdomain_kit.evaluation.Table` (:data:`COMPARISON_COLUMNS`)."""
        return Table(columns=COMPARISON_COLUMNS, rows=tuple(c.row() for c in self.comparisons),
                     formats=("d", ".2f", "", ".3f", ".3f", ".3f", "+.3f", ".1f"))


def _comparison_figure(comparisons: list[Comparison]) -> Figure:
    latest = comparisons[-1]
    fig = Figure(figsize=(10, 3.3), layout="constrained")
    bars_ax, trend_ax = fig.subplots(1, 2)
    labels = ("source-only\non source", "source-only\non target", "fine-tuned\non target")
    values = (latest.source_on_source, latest.source_only, latest.fine_tuned)
    bars_ax.bar(labels, values, color=("tab:grey", "tab:red", "tab:green"))
    for x, value in enumerate(values):
        bars_ax.text(x, value + 0.01, f"{value:.3f}", ha="center", va="bottom", fontsize="small")
    bars_ax.set(ylim=(0.0, 1.08), ylabel="test AUC",
                title=f"comparison {latest.number}: shift {latest.shift:.2f}")
    shifts = [c.shift for c in comparisons]
    trend_ax.plot(shifts, [c.source_only for c in comparisons], "o", color="tab:red", label="source-only")
    trend_ax.plot(shifts, [c.fine_tuned for c in comparisons], "^", color="tab:green", label="fine-tuned")
    trend_ax.set(xlim=(-0.05, 1.05), ylim=(0.0, 1.05), xlabel="shift", ylabel="target test AUC",
                 title="every comparison")
    trend_ax.legend(loc="lower left", fontsize="small")
    return fig


def shift_explorer(*, shift: float = 0.5, target: ScannerSettings = TARGET, image_size: int | None = None,
                   n_source_train: int | None = None, n_target_train: int | None = None,
                   n_val: int | None = None, n_test: int | None = None, epochs: int | None = None,
                   n_samples: int = 8, seed: int = 0, run_mode: str = "auto") -> widgets.VBox:
    """Explore synthetic domain shift and measure what it costs and what fine-tuning wins back.

    Sizes left as None follow the profile (:func:`crossdomain_kit.config.pick`):
    32-px images, 800 source and 100 target training images, 200 validation
    and 400 test images per domain and 6 epochs by default; far fewer in the
    fast profile.

    Args:
        shift: initial shift, in [0, 1].
        target: the scanner at shift 1 (the knob sliders start there).
        image_size: height and width of the images, >= 8.
        n_source_train, n_target_train, n_val, n_test: the comparison's
            :func:`~crossdomain_kit.data.synthetic.make_synthetic_task` sizes.
        epochs: epochs of source training and of fine-tuning (after one head epoch).
        n_samples: images per sample grid.
        seed: seeds the data, the model and the training.
        run_mode: as in :func:`crossdomain_kit.panels.dashboard.training_dashboard`.

    Returns:
        An ``ipywidgets.VBox``. It also carries ``.state`` (a
        :class:`ShiftExplorerState`), ``.controls`` (the ``shift`` slider, one
        slider per knob of :data:`KNOB_RANGES`, the ``compare`` and ``stop``
        buttons), ``.samples`` and ``.output`` (the grids and the comparison
        plot), ``.progress``, ``.message`` and ``.results`` (``ipywidgets.HTML``)
        and ``.wait(timeout=None)``.

    Raises:
        ValueError: for a bad shift, scanner, size, count, seed or run mode
            (before any widget is built).

    Introduced in ``notebooks/03_transfer_shifted_domains.ipynb``.
    """
    if not isinstance(target, ScannerSettings):
        raise _checks.fail("`target` must be a ScannerSettings (e.g. synthetic.TARGET).", "target", target)
    scanner = interpolate_scanner(SOURCE, target, shift)
    given = {"n_source_train": n_source_train, "n_target_train": n_target_train, "n_val": n_val,
             "n_test": n_test, "epochs": epochs}
    profile = {"n_source_train": pick(800, 96), "n_target_train": pick(100, 32), "n_val": pick(200, 32),
               "n_test": pick(400, 48), "epochs": pick(6, 1)}
    sizes = {"image_size": pick(32, 16) if image_size is None else image_size,
             **{name: _checks.positive_int(profile[name] if value is None else value, name)
                for name, value in given.items()}}
    n_samples = _checks.positive_int(n_samples, "n_samples")
    seed = _checks.seed(seed)
    runner = JobRunner(run_mode)
    state = ShiftExplorerState(shift=float(shift), target=target, scanner=scanner, sizes=sizes)
    samples, output = widgets.Output(), widgets.Output()
    progress, message, results = widgets.HTML(), widgets.HTML(), widgets.HTML()

    def draw_samples():
        images = {name: make_synthetic_split(n_samples, scanner_, image_size=sizes["image_size"], seed=seed,
                                             domain=_SAMPLE_DOMAIN)
                  for name, scanner_ in (("source", SOURCE), ("target", state.scanner))}
        fig = Figure(figsize=(10, 3.0), layout="constrained")
        for ax, (name, split) in zip(fig.subplots(1, 2), images.items()):
            title = "source scanner" if name == "source" else f"target scanner at shift {state.shift:.2f}"
            plot_image_grid(split.images, split.labels, CLASS_NAMES, ax=ax, title=title)
        state.n_redraws += 1
        show_figure(samples, fig, f"source: {_compact(SOURCE)}\ntarget: {_compact(state.scanner)}")

    draw_samples()  # checks image_size and seed before any widget exists

    style = {"description_width": "initial"}
    controls = {"shift": widgets.FloatSlider(value=state.shift, min=0.0, max=1.0, step=0.05,
                                             description="shift", continuous_update=False, style=style,
                                             layout=widgets.Layout(width="420px"))}
    for name, (low, high, step) in KNOB_RANGES.items():
        value = getattr(target, name)
        controls[name] = widgets.FloatSlider(value=value, min=min(low, value), max=max(high, value),
                                             step=step, description=name.replace("_", " "),
                                             continuous_update=False, readout_format=".3g", style=style)
    controls["compare"] = widgets.Button(description="Compare source-only vs fine-tuned",
                                         button_style="success", layout=widgets.Layout(width="auto"))
    controls["stop"] = widgets.Button(description="Stop", button_style="danger")

    def on_knob(_change):
        state.shift = float(controls["shift"].value)
        state.target = replace(state.target, **{name: float(controls[name].value) for name in KNOB_RANGES})
        state.scanner = interpolate_scanner(SOURCE, state.target, state.shift)
        draw_samples()

    for name in ("shift", *KNOB_RANGES):
        controls[name].observe(on_knob, names="value")

    lines = StatusLines(state, progress, message)
    say, set_progress = lines.say, lines.set_progress

    def compare(shift_now: float, target_now: ScannerSettings, number: int) -> Comparison | None:
        scanner_now = interpolate_scanner(SOURCE, target_now, shift_now)
        started = time.monotonic()
        size, epochs_now = sizes["image_size"], sizes["epochs"]
        task = make_synthetic_task(shift_now, image_size=size, seed=seed, target=target_now,
                                   **{k: v for k, v in sizes.items() if k.startswith("n_")})
        source, target_domain = task.source, task.target

        def callback(step):
            def on_progress(epoch, n_epochs, batch, n_batches, _logs):
                where = "done" if batch is None else f"batch {batch + 1}/{n_batches}"
                set_progress(f"Comparison {number}: {step}, epoch {epoch + 1}/{n_epochs}, {where}")
            return [JobCallback(runner.stop_requested, on_progress)]

        model = build_classifier("small_cnn", (size, size, 1), seed=seed)
        on_source_run = run_fine_tune(model, source, FineTunePlan(epochs=epochs_now, batch_size=_BATCH_SIZE,
                                                                  augment=False),
                                      seed=seed, callbacks=callback("training on the source"))
        if runner.stop_requested.is_set():
            return None
        on_source = on_source_run.evaluate(source.test).auc
        source_only = on_source_run.evaluate(target_domain.test).auc
        tuned = run_fine_tune(model, target_domain, FineTunePlan(epochs=epochs_now, head_epochs=1,
                                                                 batch_size=_BATCH_SIZE, augment=False),
                              seed=seed, callbacks=callback("fine-tuning on the target"))
        if runner.stop_requested.is_set():
            return None
        fine_tuned = tuned.evaluate(target_domain.test).auc
        return Comparison(number, shift_now, scanner_now, on_source, source_only, fine_tuned,
                          time.monotonic() - started)

    def finish(comparison: Comparison | None, error: Exception | None):
        state.status = "idle"
        controls["compare"].disabled = False
        set_progress("")
        if error is not None:
            state.error = error
            say(f"Comparison failed: {type(error).__name__}: {error}", "error")
        elif comparison is None:
            say("Stopped: this comparison was not recorded.", "warning")
        else:
            state.comparisons.append(comparison)
            show_figure(output, _comparison_figure(state.comparisons))
            say(f"Comparison {comparison.number} at shift {comparison.shift:.2f}: the "
                f"source-only model scores {comparison.source_only:.3f} on the target "
                f"(vs {comparison.source_on_source:.3f} on the source); fine-tuning on "
                f"{sizes['n_target_train']} target images gives {comparison.fine_tuned:.3f}.",
                "ok")
            results.value = table_html(state.comparison_table())  # last: a new row means it is done

    def on_compare(_button):
        if runner.running:
            say("A comparison is already running. Wait for it, or press Stop.", "warning")
            return
        number = len(state.comparisons) + 1
        state.status, state.error = "comparing", None
        controls["compare"].disabled = True
        set_progress(f"Comparison {number}: starting ...")
        say(f"Comparison {number} at shift {state.shift:.2f}: training on the source, then "
            "fine-tuning on the target.", "info")
        runner.start(lambda: compare(state.shift, state.target, number), finish)

    controls["compare"].on_click(on_compare)
    controls["stop"].on_click(lines.stop_handler(runner, "Stopping at the end of this batch.",
                                                       "Nothing to stop: no comparison is running."))

    knobs = widgets.VBox([widgets.Label("Target scanner at shift 1:")] + [controls[n] for n in KNOB_RANGES])
    panel = widgets.VBox([controls["shift"], samples, knobs,
                          widgets.HBox([controls["compare"], controls["stop"]]), progress, message, output,
                          results])
    panel.state = state
    panel.controls = controls
    panel.samples, panel.output = samples, output
    panel.progress, panel.message, panel.results = progress, message, results
    panel.wait = runner.wait
    return panel
