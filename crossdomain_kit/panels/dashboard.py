"""A training dashboard: Train and Stop, live loss and AUC curves, and a table of every run.

Train reads the hyperparameter panel and trains the freezing panel's model as
it is frozen now, through the kit's fine-tune workflow
(:func:`crossdomain_kit.workflows.finetune.run_fine_tune`, one phase on the
domain's training split: early stopping on validation AUC, best weights
restored, the threshold chosen on validation). The loss and AUC curves of training and validation are redrawn
after every epoch (an inline PNG in an ``Output``, replaced in one step, so
it does not flicker and needs no ipympl), a progress line follows the
batches, and when the run ends its settings and its validation and test
metrics (threshold chosen on validation) join the results table, so a class
can compare settings. Each run continues from the model's current weights
(train the head, then unfreeze a block and train again); "reset weights"
goes back to the weights the dashboard started with. A dropout or L2 that
differs from the model's rebuilds the model with the same weights.

Stop ends training at the next batch and keeps the best epoch's weights.
Training runs in a worker thread so the kernel can take the Stop click
(see :mod:`crossdomain_kit.panels._jobs`); in Colab the click waits for
the run instead (so the curves show live there) and Stop is Runtime →
Interrupt execution. Leave the model alone in other cells while it trains.

Introduced in ``notebooks/04_freezing_hyperparameters_lab.ipynb``.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import ipywidgets as widgets
import numpy as np
from matplotlib.figure import Figure

from .. import _checks
from ..data.domains import Domain
from ..evaluation import BinaryMetrics, Table
from ..models.freezing import trainable_parameter_count
from ..plots import plot_learning_curves
from ..models.predict import backbone_of
from ..models.classifier import build_classifier
from ..training import TrainingResult
from ..workflows.finetune import FineTunePlan, run_fine_tune
from ._html import table_html
from ._jobs import JobCallback, JobRunner, JobStatus, StatusLines
from ._output import show_figure
from .freezing import FreezingPanelState
from .hyperparameters import HyperparameterPanelState, Hyperparameters

RESULT_COLUMNS = ("run", "trains", "trainable params", "lr", "backbone lr ×", "optimizer", "batch",
                  "epochs", "patience", "dropout", "L2", "augment", "epochs run", "best epoch", "stopped",
                  "val AUC", "test AUC", "test bal. acc.", "seconds")
_RESULT_FORMATS = ("d", "", ",", ".0e", ".3g", "", "d", "d", "d", ".2f", ".3g", "", "d", "d", "",
                   ".3f", ".3f", ".3f", ".1f")


@dataclass(frozen=True)
class RunRecord:
    """One finished training run: its settings, what happened, and its scores.

    Attributes:
        number: 1 for the first run.
        freezing: what trained, in words (the freezing panel's description).
        trainable_params: weight values that trained.
        hyperparameters: the :class:`~crossdomain_kit.panels.hyperparameters.Hyperparameters` used.
        result: the trainer's :class:`~crossdomain_kit.training.TrainingResult`.
        stopped: Stop ended it before early stopping or the last epoch.
        threshold: chosen on validation (Youden's J).
        validation, test: :class:`~crossdomain_kit.evaluation.BinaryMetrics` at
            ``threshold``; ``test`` is None for a domain without a test split.
        seconds: wall time of training and scoring.
    """

    number: int
    freezing: str
    trainable_params: int
    hyperparameters: Hyperparameters
    result: TrainingResult = field(repr=False)
    stopped: bool
    threshold: float
    validation: BinaryMetrics = field(repr=False)
    test: BinaryMetrics | None = field(repr=False)
    seconds: float

    def row(self) -> tuple:
        """The run as a row of :data:`RESULT_COLUMNS`."""
        hp, result = self.hyperparameters, self.result
        best = math.nan if result.best_epoch is None else result.best_epoch + 1
        return (self.number, self.freezing, self.trainable_params, hp.learning_rate, hp.backbone_lr_factor,
                hp.optimizer, hp.batch_size, hp.epochs, hp.patience, hp.dropout, hp.l2,
                "yes" if hp.augment else "no", result.epochs, best, "yes" if self.stopped else "no",
                self.validation.auc, math.nan if self.test is None else self.test.auc,
                math.nan if self.test is None else self.test.balanced_accuracy, self.seconds)


@dataclass
class TrainingDashboardState(JobStatus):
    """What the dashboard did and is doing.

    Attributes:
        domain: the :class:`~crossdomain_kit.data.domains.Domain` it trains on (train, val[, test]).
        model: the model of the latest run (the freezing panel's model, rebuilt when dropout or L2 change).
        initial_weights: the weights "reset weights" returns to.
        runs: one :class:`RunRecord` per finished run.
        live: per-epoch logs of the latest run (``loss``, ``val_auc``, ...).
        status: ``"idle"``, ``"training"`` or ``"stopping"``.
        progress: the progress line.
        message: the latest message under the progress line.
        error: the exception of the latest run that failed, or None.
        n_redraws: how many times the curves were drawn.
    """

    domain: Domain = field(repr=False)
    model: object = field(repr=False)
    initial_weights: list = field(repr=False)
    runs: list[RunRecord] = field(default_factory=list)
    live: dict[str, list[float]] = field(default_factory=dict)

    def results_table(self) -> Table:
        """Every run as a :class:`~crossdomain_kit.evaluation.Table` (:data:`RESULT_COLUMNS`)."""
        return Table(columns=RESULT_COLUMNS, rows=tuple(run.row() for run in self.runs),
                     formats=_RESULT_FORMATS)


def _curves_figure(history: dict[str, list[float]], title: str = "") -> Figure:
    """Loss and AUC per epoch of the running job, the best validation AUC so far marked."""
    fig = Figure(figsize=(10, 3.3), layout="constrained")
    val_auc = np.asarray(history.get("val_auc", []), dtype=float)
    best = int(np.nanargmax(val_auc)) if val_auc.size and np.isfinite(val_auc).any() else None
    plot_learning_curves(history, fig.subplots(1, 2), best_epoch=best)
    if title:
        fig.suptitle(title)
    return fig


def _check_panel(panel, state_type, name: str):
    if not isinstance(getattr(panel, "state", None), state_type):
        raise _checks.fail(f"`{name}` must be a panel from crossdomain_kit.panels "
                           f"({state_type.__name__}).", name, panel)
    return panel


def _check_domain(domain) -> Domain:
    if not isinstance(domain, Domain) or domain.val is None:
        raise _checks.fail("`domain` must be a Domain with train and val splits (test optional), e.g. "
                           "task.target.", "domain", domain)
    if np.unique(domain.val.labels).size < 2:
        raise _checks.fail("`domain.val` must contain both classes: validation AUC picks the best epoch.",
                           "domain", domain)
    return domain


def training_dashboard(domain, freezing, hyperparameters, *, seed: int = 0,
                       run_mode: str = "auto") -> widgets.VBox:
    """Train the freezing panel's model with the hyperparameter panel's values; watch and compare.

    Args:
        domain: a :class:`~crossdomain_kit.data.domains.Domain` with ``train`` and
            ``val`` splits (``test`` optional), e.g. ``task.target``.
        freezing: a panel from :func:`crossdomain_kit.panels.freezing.freezing_panel`;
            its model is the one trained.
        hyperparameters: a panel from
            :func:`crossdomain_kit.panels.hyperparameters.hyperparameter_panel`.
        seed: seeds every run (the trainers' ``seed``) and the input pipeline.
        run_mode: ``"auto"``, ``"background"`` or ``"foreground"`` (see the
            module docstring; auto waits in the click only in Colab).

    Returns:
        An ``ipywidgets.VBox``. It also carries ``.state`` (a
        :class:`TrainingDashboardState`), ``.controls`` (the ``train``,
        ``stop`` and ``reset`` buttons), ``.output`` (the live curves),
        ``.progress``, ``.message`` and ``.results`` (``ipywidgets.HTML``) and
        ``.wait(timeout=None)``, which waits for the run in progress (True
        once none runs; Ctrl-C while waiting stops it cleanly).

    Raises:
        ValueError: for a domain without validation data or with one class in
            it, panels of the wrong kind, a model that
            :func:`~crossdomain_kit.models.classifier.build_classifier` did not name, a
            bad seed or run mode (before any widget is built).

    Introduced in ``notebooks/04_freezing_hyperparameters_lab.ipynb``.
    """
    domain = _check_domain(domain)
    freezing = _check_panel(freezing, FreezingPanelState, "freezing")
    hyperparameters = _check_panel(hyperparameters, HyperparameterPanelState, "hyperparameters")
    seed = _checks.seed(seed)
    model = freezing.state.model
    if backbone_of(model) is None:
        raise _checks.fail("The model must keep the name build_classifier gives it "
                           "('<backbone>_classifier'), which says how to preprocess its images.",
                           "model.name", model.name)
    runner = JobRunner(run_mode)
    state = TrainingDashboardState(domain=domain, model=model, initial_weights=model.get_weights())

    controls = {"train": widgets.Button(description="Train", button_style="success", icon="play"),
                "stop": widgets.Button(description="Stop", button_style="danger", icon="stop"),
                "reset": widgets.Button(description="reset weights", layout=widgets.Layout(width="auto"))}
    controls["train"].add_class("cdk-train")
    controls["stop"].add_class("cdk-stop")
    progress, message, results = widgets.HTML(), widgets.HTML(), widgets.HTML()
    output = widgets.Output()
    output.add_class("cdk-curves")
    message.add_class("cdk-message")
    results.add_class("cdk-results")

    lines = StatusLines(state, progress, message)
    say, set_progress = lines.say, lines.set_progress

    def redraw(number: int):
        show_figure(output, _curves_figure(state.live, f"run {number}"), state.progress)
        state.n_redraws += 1

    def model_for(hp: Hyperparameters):
        """The model to train: the current one, or a rebuild with the same weights for a new dropout/L2."""
        current = freezing.state.model
        regularizer = current.get_layer("logit").kernel_regularizer
        l2 = float(getattr(regularizer, "l2", 0.0)) if regularizer is not None else 0.0
        if math.isclose(current.get_layer("dropout").rate, hp.dropout) and math.isclose(l2, hp.l2):
            return current
        rebuilt = build_classifier(backbone_of(current), current.input_shape[1:], dropout=hp.dropout,
                                   l2=hp.l2, seed=seed)
        rebuilt.set_weights(current.get_weights())
        freezing.set_model(rebuilt)
        return rebuilt

    def refusal(hp) -> str | None:
        if runner.running:
            return (f"Training is already running ({state.progress or 'starting'}). "
                    "Wait for it, or press Stop.")
        if hp is None:
            return "Fix the hyperparameters first: " + " ".join(hyperparameters.state.errors.values())
        if hp.batch_size > len(domain.train):
            return (f"The batch size ({hp.batch_size}) is larger than the training set "
                    f"({len(domain.train)} images); choose at most {len(domain.train)}.")
        if trainable_parameter_count(freezing.state.model) == 0:
            return ("Nothing to train: every layer is frozen. Choose 'head only' or tick a block in "
                    "the freezing panel.")
        return None

    def train(model, hp: Hyperparameters, number: int) -> RunRecord:
        started = time.monotonic()

        def on_progress(epoch, n_epochs, batch, n_batches, logs):
            where = f"epoch {epoch + 1}/{n_epochs}" + (
                " done" if batch is None else f", batch {batch + 1}/{n_batches}")
            shown = ", ".join(f"{k} {v:.4f}" for k, v in logs.items() if k in ("loss", "val_loss", "val_auc"))
            set_progress(f"Run {number}: {where}" + (f" ({shown})" if shown else ""))

        def on_epoch_end(_epoch, logs):
            for name, value in logs.items():
                state.live.setdefault(name, []).append(float(value))
            redraw(number)

        callback = JobCallback(runner.stop_requested, on_progress, on_epoch_end)
        plan = FineTunePlan(epochs=hp.epochs, learning_rate=hp.learning_rate,
                            base_learning_rate=hp.base_learning_rate, optimizer=hp.optimizer,
                            batch_size=hp.batch_size, patience=hp.patience, augment=hp.augment)
        run = run_fine_tune(model, domain, plan, seed=seed, callbacks=[callback], verbose=0)
        return RunRecord(number=number, freezing=freezing.state.description,
                         trainable_params=trainable_parameter_count(model), hyperparameters=hp,
                         result=run.training, stopped=runner.stop_requested.is_set(), threshold=run.threshold,
                         validation=run.validation,
                         test=None if domain.test is None else run.evaluate(domain.test),
                         seconds=time.monotonic() - started)

    def finish(record: RunRecord | None, error: Exception | None):
        state.status = "idle"
        freezing.set_locked(None)
        freezing.refresh()
        controls["train"].disabled = False
        if error is not None:
            state.error = error
            set_progress("")
            say(f"Training failed: {type(error).__name__}: {error}", "error")
            return
        result = record.result
        if result.best_epoch is None:
            kept = "no epoch finished, so the weights are those from before the run"
        else:
            kept = f"the model keeps the weights of epoch {result.best_epoch + 1}, the best by validation AUC"
        how = "stopped by you" if record.stopped else "finished"
        set_progress(f"Run {record.number} {how} after {result.epochs} epoch(s).")
        redraw(record.number)
        say(f"Run {record.number} {how}: {kept}. Its row is in the table below.", "ok")
        state.runs.append(record)
        results.value = table_html(state.results_table())  # last: a new row means the run is done

    def on_train(_button):
        hp = hyperparameters.state.values
        reason = refusal(hp)
        if reason is not None:
            say(reason, "warning")
            return
        try:
            model = state.model = model_for(hp)
        except ValueError as error:
            say(str(error), "error")
            return
        number = len(state.runs) + 1
        state.live, state.status, state.error = {}, "training", None
        freezing.set_locked("Training is running.")
        controls["train"].disabled = True
        set_progress(f"Run {number}: starting ...")
        say(f"Run {number}: training {freezing.state.description}. Stop ends it at the "
            "next batch and keeps the best weights.", "info")
        runner.start(lambda: train(model, hp, number), finish)

    def on_reset(_button):
        if runner.running:
            say("Training is running: reset the weights when it has ended.", "warning")
            return
        freezing.state.model.set_weights(state.initial_weights)
        say("The model's weights are back to those the dashboard started with.", "ok")

    controls["train"].on_click(on_train)
    controls["stop"].on_click(lines.stop_handler(
        runner, "Stopping at the end of this batch; the best weights so far are kept.",
        "Nothing to stop: no training is running."))
    controls["reset"].on_click(on_reset)
    say("Press Train: the loss and AUC curves appear after each epoch.", "info")

    panel = widgets.VBox([widgets.HBox([controls["train"], controls["stop"], controls["reset"]]),
                          progress, message, output, results])
    panel.state = state
    panel.controls = controls
    panel.output, panel.progress, panel.message, panel.results = output, progress, message, results
    panel.wait = runner.wait
    return panel
