"""Headless tests of the domain-shift explorer (crossdomain_kit.panels.shift_explorer)."""

import base64

import ipywidgets as widgets
import pytest

from crossdomain_kit.panels import shift_explorer as explorer_module
from crossdomain_kit.panels.shift_explorer import (COMPARISON_COLUMNS, KNOB_RANGES, ShiftExplorerState,
                                                   shift_explorer)
from crossdomain_kit.data.synthetic import SOURCE, TARGET, ScannerSettings, interpolate_scanner
from tests._widget_output import png_and_text

TIMEOUT_S = 120
SMALL = {"image_size": 16, "n_source_train": 64, "n_target_train": 32, "n_val": 32, "n_test": 32, "epochs": 1}


@pytest.fixture
def explorer():
    return shift_explorer(shift=0.5, n_samples=4, **SMALL)


def test_builds_with_both_sample_grids_and_the_scanners(explorer):
    state = explorer.state
    assert isinstance(explorer, widgets.VBox) and isinstance(state, ShiftExplorerState)
    assert set(explorer.controls) == {"shift", *KNOB_RANGES, "compare", "stop"}
    assert state.scanner == interpolate_scanner(SOURCE, TARGET, 0.5) and state.target == TARGET
    assert state.sizes == SMALL and state.n_redraws == 1 and state.comparisons == []
    pngs, text = png_and_text(explorer.samples)
    assert len(pngs) == 1 and base64.b64decode(pngs[0]["data"]["image/png"]).startswith(b"\x89PNG")
    assert text.startswith("source: contrast 1.00, brightness +0.00") and "target: contrast 0.75" in text


def test_knobs_move_the_target_scanner_and_redraw_the_grids(explorer):
    before = png_and_text(explorer.samples)[0][0]["data"]["image/png"]
    explorer.controls["shift"].value = 1.0
    assert explorer.state.scanner == TARGET and explorer.state.n_redraws == 2
    explorer.controls["noise_std"].value = 0.2
    explorer.controls["contrast"].value = 0.3
    state = explorer.state
    assert state.target.noise_std == pytest.approx(0.2) and state.target.contrast == pytest.approx(0.3)
    assert state.scanner == state.target and state.n_redraws == 4
    pngs, text = png_and_text(explorer.samples)
    assert pngs[0]["data"]["image/png"] != before and "target: contrast 0.30" in text
    explorer.controls["shift"].value = 0.0
    assert explorer.state.scanner == SOURCE  # shift 0 is the source scanner, whatever the knobs


def test_compare_records_source_only_and_fine_tuned_scores(explorer):
    explorer.controls["stop"].click()
    assert explorer.state.message == "Nothing to stop: no comparison is running."
    explorer.controls["compare"].click()
    assert explorer.controls["compare"].disabled
    explorer.controls["compare"].click()  # while the first one runs
    assert explorer.state.message == "A comparison is already running. Wait for it, or press Stop."
    assert explorer.wait(TIMEOUT_S)
    state = explorer.state
    assert len(state.comparisons) == 1 and state.error is None and state.status == "idle"
    comparison = state.comparisons[0]
    assert comparison.number == 1 and comparison.shift == 0.5 and comparison.scanner == state.scanner
    for auc in (comparison.source_on_source, comparison.source_only, comparison.fine_tuned):
        assert 0.0 <= auc <= 1.0
    table = state.comparison_table()
    assert table.columns == COMPARISON_COLUMNS
    assert table.rows[0][6] == pytest.approx(comparison.fine_tuned - comparison.source_only)
    assert explorer.results.value.count("<tr>") == 2 and "contrast 0.75" in explorer.results.value
    pngs, _ = png_and_text(explorer.output)
    assert len(pngs) == 1 and state.message.startswith("Comparison 1 at shift 0.50")
    assert not explorer.controls["compare"].disabled and state.progress == ""


def test_stop_ends_a_comparison_without_recording_it(explorer):
    explorer.controls["compare"].click()
    explorer.controls["stop"].click()
    assert explorer.state.status == "stopping"
    assert explorer.wait(TIMEOUT_S)
    assert explorer.state.comparisons == [] and explorer.state.status == "idle"
    assert explorer.state.message == "Stopped: this comparison was not recorded."
    assert explorer.output.outputs == () and not explorer.controls["compare"].disabled


def test_a_failing_comparison_is_shown_not_raised(explorer, monkeypatch):
    def broken(*args, **kwargs):
        raise ValueError("`target_val` must contain both classes. Received: ...")

    monkeypatch.setattr(explorer_module, "make_synthetic_task", broken)
    explorer.controls["compare"].click()
    assert explorer.wait(TIMEOUT_S)
    assert explorer.state.message.startswith("Comparison failed: ValueError: `target_val` must contain")
    assert isinstance(explorer.state.error, ValueError) and explorer.state.comparisons == []


def test_a_custom_scanner_widens_the_sliders_to_hold_it():
    far = ScannerSettings(contrast=3.0, noise_std=0.5)
    explorer = shift_explorer(target=far, n_samples=2, **SMALL)
    assert explorer.controls["contrast"].value == 3.0 and explorer.controls["contrast"].max == 3.0
    assert explorer.controls["noise_std"].value == 0.5 and explorer.state.target == far


@pytest.mark.parametrize("kwargs, name", [
    ({"shift": 1.5}, "shift"),
    ({"target": "TARGET"}, "target"),
    ({"image_size": 4}, "image_size"),
    ({"n_val": 0}, "n_val"),
    ({"epochs": 0}, "epochs"),
    ({"seed": -1}, "seed"),
    ({"run_mode": "now"}, "run_mode"),
])
def test_bad_arguments_fail_before_any_widget(kwargs, name):
    with pytest.raises(ValueError, match=f"Received: {name}="):
        shift_explorer(**{**SMALL, **kwargs})
