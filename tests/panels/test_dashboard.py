"""Headless tests of the training dashboard (crossdomain_kit.panels.dashboard)."""

import _thread
import base64
import signal
import threading
import time

import ipywidgets as widgets
import numpy as np
import pytest

from crossdomain_kit.data.domains import Domain, DomainSplit
from crossdomain_kit.models.freezing import needs_recompile
from crossdomain_kit.models.classifier import base_of, build_classifier
from crossdomain_kit.panels import dashboard as dashboard_module
from crossdomain_kit.panels.dashboard import RESULT_COLUMNS, TrainingDashboardState, training_dashboard
from crossdomain_kit.panels.freezing import freezing_panel
from crossdomain_kit.panels.hyperparameters import Hyperparameters, hyperparameter_panel
from crossdomain_kit.data.synthetic import make_synthetic_domain
from tests._widget_output import png_and_text

TIMEOUT_S = 120


@pytest.fixture(scope="module")
def domain():
    return make_synthetic_domain(0.0, n_train=48, n_val=32, n_test=32, image_size=16, seed=0)


def _panels(domain, run_mode="auto", **values):
    model = build_classifier("small_cnn", (16, 16, 1), seed=0)
    freezing = freezing_panel(model)
    hyper = hyperparameter_panel(Hyperparameters(**{"epochs": 1, "batch_size": 16, **values}))
    return freezing, hyper, training_dashboard(domain, freezing, hyper, run_mode=run_mode)


def _train(dashboard):
    dashboard.controls["train"].click()
    assert dashboard.wait(TIMEOUT_S), "training did not end"
    return dashboard.state.runs[-1]


def _n_rows(dashboard):
    return dashboard.results.value.count("<tr>") - 1  # minus the header


def test_train_draws_live_curves_and_adds_a_results_row(domain):
    freezing, hyper, dashboard = _panels(domain, epochs=2)
    assert isinstance(dashboard, widgets.VBox) and isinstance(dashboard.state, TrainingDashboardState)
    assert set(dashboard.controls) == {"train", "stop", "reset"} and dashboard.output.outputs == ()
    model = freezing.state.model
    dashboard.controls["train"].click()
    assert freezing.state.locked == "Training is running." and dashboard.controls["train"].disabled
    assert dashboard.wait(TIMEOUT_S)

    state = dashboard.state
    run = state.runs[0]
    assert run.number == 1 and run.freezing == "head only" and run.trainable_params == 129
    assert run.result.epochs == 2 and run.result.phases == ["joint", "joint"] and not run.stopped
    assert run.hyperparameters == hyper.state.values and 0 <= run.threshold <= 1
    assert run.validation.n == 32 and run.test.n == 32 and 0 <= run.test.auc <= 1
    assert state.live["loss"] == pytest.approx(run.result.history["loss"])
    assert len(state.live["val_auc"]) == 2 and state.n_redraws == 3  # two epochs, then the final drawing
    pngs, text = png_and_text(dashboard.output)
    assert len(pngs) == 1 and base64.b64decode(pngs[0]["data"]["image/png"]).startswith(b"\x89PNG")
    assert text == "Run 1 finished after 2 epoch(s).\n" == state.progress + "\n"
    assert _n_rows(dashboard) == 1 and "head only" in dashboard.results.value
    table = state.results_table()
    assert table.columns == RESULT_COLUMNS and table.rows[0][0] == 1 and table.rows[0][-5] == "no"
    assert table.rows[0][-4] == run.validation.auc and table.rows[0][-3] == run.test.auc
    assert "Run 1 finished" in dashboard.state.message and state.status == "idle" and state.error is None
    assert freezing.state.locked is None and not dashboard.controls["train"].disabled
    assert model.compiled and not needs_recompile(model) and not freezing.state.needs_recompile

    before = [w.copy() for w in model.get_weights()]
    dashboard.controls["reset"].click()
    assert "back to those the dashboard started with" in dashboard.state.message
    assert all(np.array_equal(a, b) for a, b in zip(model.get_weights(), state.initial_weights))
    assert not all(np.array_equal(a, b) for a, b in zip(model.get_weights(), before))


def test_train_twice_and_stop_when_idle_say_so(domain):
    _, _, dashboard = _panels(domain)
    dashboard.controls["stop"].click()
    assert "Nothing to stop: no training is running." in dashboard.state.message
    dashboard.controls["train"].click()
    dashboard.controls["train"].click()  # while the first run trains
    assert "Training is already running" in dashboard.state.message
    assert dashboard.wait(TIMEOUT_S) and len(dashboard.state.runs) == 1 and _n_rows(dashboard) == 1
    dashboard.controls["stop"].click()
    assert "Nothing to stop" in dashboard.state.message and dashboard.state.status == "idle"


def test_stop_ends_training_at_the_next_batch_and_keeps_the_best_weights(domain):
    freezing, hyper, dashboard = _panels(domain, epochs=200, patience=200)
    dashboard.controls["train"].click()
    dashboard.controls["stop"].click()
    assert dashboard.state.status == "stopping" and "Stopping" in dashboard.state.message
    assert dashboard.wait(TIMEOUT_S)
    run = dashboard.state.runs[0]
    assert run.stopped and 1 <= run.result.epochs < 200 and run.result.best_epoch is not None
    assert "stopped by you" in dashboard.state.message and "yes" in dashboard.results.value
    assert dashboard.state.status == "idle" and freezing.state.locked is None
    hyper.controls["epochs"].value = 1  # no stuck state: the next run trains to its end
    second = _train(dashboard)
    assert not second.stopped and second.result.epochs == 1 and _n_rows(dashboard) == 2


def test_changing_the_freezing_and_training_again_updates_what_trains(domain):
    freezing, _, dashboard = _panels(domain)
    model = freezing.state.model
    _train(dashboard)
    frozen = model.get_layer("backbone").get_layer("block1_conv").get_weights()[0].copy()
    top = model.get_layer("backbone").get_layer("block4_conv").get_weights()[0].copy()
    freezing.controls["blocks"]["block4"].value = True
    assert not needs_recompile(model)
    second = _train(dashboard)
    assert second.freezing == "head + block4" and second.trainable_params > 129
    assert np.array_equal(model.get_layer("backbone").get_layer("block1_conv").get_weights()[0], frozen)
    assert not np.array_equal(model.get_layer("backbone").get_layer("block4_conv").get_weights()[0], top)
    rows = dashboard.state.results_table().rows
    assert [r[1] for r in rows] == ["head only", "head + block4"] and not needs_recompile(model)


def test_a_new_dropout_or_l2_rebuilds_the_model_with_the_same_weights_and_augmentation_runs(domain):
    freezing, hyper, dashboard = _panels(domain)
    original = freezing.state.model
    start = base_of(original).get_weights()
    hyper.controls["dropout"].value = 0.5
    hyper.controls["l2"].value = 1e-3
    hyper.controls["augment"].value = True
    run = _train(dashboard)
    rebuilt = freezing.state.model
    assert rebuilt is not original and dashboard.state.model is rebuilt
    assert rebuilt.get_layer("dropout").rate == 0.5 and rebuilt.get_layer("logit").kernel_regularizer.l2 == \
        pytest.approx(1e-3)
    # head only: the backbone of the rebuilt model still holds the original weights, bit for bit
    assert all(np.array_equal(a, b) for a, b in zip(base_of(rebuilt).get_weights(), start))
    assert run.trainable_params == 129 and freezing.state.trainable_params == 129
    assert dashboard.state.results_table().rows[0][9:12] == (0.5, pytest.approx(1e-3), "yes")


def test_backbone_learning_rate_factor_trains_with_discriminative_rates(domain):
    freezing, hyper, dashboard = _panels(domain, learning_rate=1e-3, backbone_lr_factor=0.1)
    freezing.controls["all"].click()
    dashboard.controls["train"].click()
    assert dashboard.wait(TIMEOUT_S) and dashboard.state.error is None, dashboard.state.message
    run = dashboard.state.runs[0]
    assert run.freezing == "everything"
    optimizer = freezing.state.model.optimizer
    assert float(optimizer.base_learning_rate.numpy()) == pytest.approx(1e-4)
    assert run.hyperparameters.base_learning_rate == pytest.approx(1e-4)


def test_nothing_to_train_and_invalid_hyperparameters_are_refused_with_a_message(domain):
    freezing, hyper, dashboard = _panels(domain)
    freezing.controls["none"].click()
    dashboard.controls["train"].click()
    assert "Nothing to train: every layer is frozen" in dashboard.state.message
    assert dashboard.state.status == "idle" and freezing.state.locked is None and dashboard.state.runs == []

    freezing.controls["head"].click()
    hyper.controls["epochs"].value = 0
    dashboard.controls["train"].click()
    assert "Fix the hyperparameters first: `epochs` must be an integer >= 1." in dashboard.state.message
    hyper.controls["epochs"].value = 1
    hyper.controls["batch_size"].value = 49  # the panel was not told n_train; the dashboard knows it
    dashboard.controls["train"].click()
    assert "larger than the training set (48 images)" in dashboard.state.message
    assert dashboard.wait(0) and dashboard.state.runs == [] and dashboard.output.outputs == ()


def test_an_error_while_training_is_shown_and_leaves_no_stuck_state(domain, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("the data went away")

    monkeypatch.setattr(dashboard_module, "run_fine_tune", broken)
    freezing, _, dashboard = _panels(domain)
    dashboard.controls["train"].click()
    assert dashboard.wait(TIMEOUT_S)
    assert "Training failed: RuntimeError: the data went away" in dashboard.state.message
    assert isinstance(dashboard.state.error, RuntimeError) and dashboard.state.runs == []
    assert dashboard.state.status == "idle" and freezing.state.locked is None
    assert not dashboard.controls["train"].disabled


@pytest.fixture
def sigint_raises():
    """SIGINT raises KeyboardInterrupt, as in a Jupyter kernel. A process that a non-interactive shell
    starts in the background (CI's side-by-side lanes) inherits SIGINT ignored: interrupt_main would
    then do nothing."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


def test_foreground_mode_waits_in_the_click_and_an_interrupt_stops_cleanly(domain, sigint_raises):
    _, _, dashboard = _panels(domain, run_mode="foreground", epochs=200, patience=200)
    state = dashboard.state

    def interrupt_after_the_first_epoch():
        deadline = time.monotonic() + TIMEOUT_S
        while time.monotonic() < deadline and not state.runs:
            if state.status == "training" and state.live.get("loss"):
                _thread.interrupt_main()  # what Colab's "Interrupt execution" does
                return
            time.sleep(0.05)

    threading.Thread(target=interrupt_after_the_first_epoch, daemon=True).start()
    dashboard.controls["train"].click()  # returns only when the run has ended
    run = state.runs[0]
    assert run.stopped and 1 <= run.result.epochs < 200 and state.status == "idle"
    assert "stopped by you" in dashboard.state.message


def test_bad_arguments_fail_before_any_widget(domain):
    model = build_classifier("small_cnn", (16, 16, 1), seed=0)
    freezing, hyper = freezing_panel(model), hyperparameter_panel()
    no_val = Domain("d", train=domain.train)
    with pytest.raises(ValueError, match="Received: domain="):
        training_dashboard(no_val, freezing, hyper)
    one_class = DomainSplit(labels=np.zeros(8, np.int64), images=domain.val.images[:8],
                            class_names=domain.class_names, split="val")
    with pytest.raises(ValueError, match="both classes"):
        training_dashboard(Domain("d", train=domain.train, val=one_class), freezing, hyper)
    with pytest.raises(ValueError, match="Received: freezing="):
        training_dashboard(domain, hyper, hyper)
    with pytest.raises(ValueError, match="Received: hyperparameters="):
        training_dashboard(domain, freezing, freezing)
    with pytest.raises(ValueError, match="Received: run_mode='later'"):
        training_dashboard(domain, freezing, hyper, run_mode="later")
    with pytest.raises(ValueError, match="Received: seed=-1"):
        training_dashboard(domain, freezing, hyper, seed=-1)
    renamed = freezing_panel(build_classifier("small_cnn", (16, 16, 1), name="mine"))
    with pytest.raises(ValueError, match="Received: model.name='mine'"):
        training_dashboard(domain, renamed, hyper)
