"""crossdomain_kit.plots.training: learning-rate finder and learning curves (lesson 04),
data efficiency (lesson 03), seed comparison (bars at the mean, one dot per seed) and
robustness (AUC against ε) (lesson 06)."""

from types import SimpleNamespace

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402

from crossdomain_kit import plots  # noqa: E402
from crossdomain_kit.plots import (  # noqa: E402
    plot_data_efficiency,
    plot_learning_curves,
    plot_robustness,
    plot_seed_comparison,
)
from crossdomain_kit.training import LRFinderResult, smooth_losses, suggest_learning_rate  # noqa: E402

# ---------------------------------------------------------------- learning-rate finder


def _sweep(diverged=False):
    lrs = np.geomspace(1e-6, 1, 40)
    x = np.log10(lrs)
    raw = 0.7 - 0.5 / (1 + np.exp(-3 * (x + 3))) + np.where(x > -1, 10 * (x + 1) ** 2, 0)
    raw = raw + np.random.default_rng(0).normal(0, 0.02, raw.size)
    smoothed = smooth_losses(raw, 0.8)
    found = suggest_learning_rate(lrs, smoothed)
    return LRFinderResult(lrs, smoothed, raw, found.suggestion, found.min_loss_lr, found.steepest_lr,
                          diverged=diverged)


def test_plot_lr_finder_draws_both_curves_the_suggestion_and_the_steepest_point():
    result = _sweep()
    ax = Figure().add_subplot()
    drawn = plots.plot_lr_finder(result, ax=ax)
    assert drawn["raw"] in ax.lines and drawn["smoothed"] in ax.lines
    np.testing.assert_allclose(drawn["smoothed"].get_ydata(), result.losses)
    np.testing.assert_allclose(drawn["suggestion"].get_xdata(), [result.suggestion] * 2)
    assert isinstance(drawn["steepest"], Line2D)
    assert drawn["steepest"].get_xdata()[0] == pytest.approx(result.steepest_lr)
    assert ax.get_xscale() == "log" and drawn["legend"] is ax.get_legend()
    assert "suggested" in drawn["suggestion"].get_label()
    # the y-axis leaves out the diverging tail: at most twice the first smoothed loss
    assert ax.get_ylim()[1] < 2.2 * result.losses[0] < result.losses.max()


def test_plot_lr_finder_without_a_steepest_point_and_after_divergence():
    result = _sweep(diverged=True)
    short = LRFinderResult(result.learning_rates[:2], result.losses[:2], result.raw_losses[:2],
                           1e-7, 1e-6, None, diverged=True)
    ax = Figure().add_subplot()
    drawn = plots.plot_lr_finder(short, ax=ax)
    assert drawn["steepest"] is None and "diverged" in ax.get_title()


def test_plot_lr_finder_makes_its_own_figure_and_rejects_other_input():
    import matplotlib.pyplot as plt

    drawn = plots.plot_lr_finder(_sweep())
    assert drawn["smoothed"].axes is not None
    plt.close(drawn["smoothed"].axes.figure)
    with pytest.raises(ValueError, match=r"LRFinderResult.*Received: result="):
        plots.plot_lr_finder({"learning_rates": [1e-3]})


# ---------------------------------------------------------------- learning curves

HISTORY = {"loss": [0.7, 0.5, 0.4], "val_loss": [0.72, 0.6, 0.62],
           "auc": [0.6, 0.8, 0.9], "val_auc": [0.55, 0.75, 0.7]}


def test_learning_curves_draws_training_and_validation_for_loss_and_auc():
    axes = Figure().subplots(1, 2)
    drawn = plot_learning_curves(HISTORY, axes, best_epoch=1)
    assert [len(drawn["loss"]), len(drawn["auc"])] == [2, 2]
    np.testing.assert_array_equal(drawn["auc"][1].get_ydata(), HISTORY["val_auc"])
    assert any("kept 0.750" in t.get_text() for t in axes[1].texts)


def test_learning_curves_runs_are_drawn_one_after_another_with_phase_marks():
    axes = Figure().subplots(1, 2)
    plot_learning_curves(HISTORY, axes, label="head")
    drawn = plot_learning_curves({"auc": [0.9, 0.95]}, axes, label="fine-tune", epoch_offset=3,
                                 phases=["finetune 1", "finetune 2"])
    np.testing.assert_array_equal(drawn["auc"][0].get_xdata(), [4, 5])
    assert drawn["auc"][0].get_label() == "fine-tune: training" and drawn["loss"] == []
    assert len(axes[1].lines) == 2 + 1 + 2  # curves, the new run's start, the phase change


def test_learning_curves_missing_axes_make_a_figure_and_settings_stay_untouched():
    before = dict(matplotlib.rcParams)
    drawn = plot_learning_curves(HISTORY)
    assert drawn["loss"][0].axes.figure is drawn["auc"][0].axes.figure
    assert dict(matplotlib.rcParams) == before


# ---------------------------------------------------------------- data efficiency
# The mean over seeds per label count, the min–max band, a log-2 axis.

COUNTS = [16, 32, 64]
TRANSFER = np.array([[0.80, 0.90, 0.85], [0.90, 0.92, 0.88], [0.95, 0.96, 0.97]])
SCRATCH = np.array([[0.60, 0.70, 0.65], [0.75, 0.80, 0.85], [0.94, 0.95, 0.96]])


def test_data_efficiency_lines_are_the_means_and_bands_the_ranges():
    fig, ax = plt.subplots()
    drawn = plot_data_efficiency(COUNTS, {"transfer": TRANSFER, "scratch": SCRATCH}, ax=ax, title="shift 1")
    assert set(drawn["lines"]) == set(drawn["bands"]) == {"transfer", "scratch"}
    x, y = drawn["lines"]["scratch"].get_data()
    np.testing.assert_array_equal(x, COUNTS)
    np.testing.assert_allclose(y, SCRATCH.mean(axis=1))
    band = drawn["bands"]["transfer"].get_paths()[0].vertices
    assert band[:, 1].min() == pytest.approx(TRANSFER.min()) and band[:, 1].max() == pytest.approx(TRANSFER.max())
    assert ax.get_xscale() == "log" and [t.get_text() for t in ax.get_xticklabels()] == ["16", "32", "64"]
    assert ax.get_title() == "shift 1" and ax.get_ylabel() == "target test AUC"
    assert "3 seeds" in drawn["legend"].get_title().get_text()
    assert [t.get_text() for t in drawn["legend"].get_texts()] == ["transfer", "scratch"]
    plt.close(fig)


def test_data_efficiency_one_seed_draws_no_band_and_a_new_figure_without_ax():
    drawn = plot_data_efficiency(COUNTS, {"transfer": TRANSFER[:, :1]})
    assert drawn["bands"] == {} and drawn["legend"].get_title().get_text() == ""
    plt.close(drawn["lines"]["transfer"].figure)


@pytest.mark.parametrize("counts, curves, match", [
    ([32, 16, 64], {"transfer": TRANSFER}, "Received: label_counts="),
    ([16.0, 32.0, 64.0], {"transfer": TRANSFER}, "Received: label_counts="),
    (COUNTS, {}, "Received: curves="),
    (COUNTS, [TRANSFER], "Received: curves="),
    (COUNTS, {"transfer": TRANSFER[:2]}, "one row per label count"),
    (COUNTS, {"transfer": TRANSFER[:, 0]}, "must have 2 dimension"),
    (COUNTS, {"transfer": np.full((3, 2), np.nan)}, "NaN"),
])
def test_data_efficiency_bad_arguments_are_rejected(counts, curves, match):
    with pytest.raises(ValueError, match=match):
        plot_data_efficiency(counts, curves)


# ---------------------------------------------------------------- seed comparison and robustness

VALUES = {"baseline": [0.90, 0.92, 0.94], "dropout": [0.95, 0.93, 0.97], "one seed": [0.5]}


def test_seed_comparison_bars_are_means_and_dots_the_seeds():
    fig, ax = plt.subplots()
    drawn = plot_seed_comparison(VALUES, ax=ax, ylabel="val AUC", title="t", reference="baseline")
    assert list(drawn["bars"]) == list(VALUES)
    for name, seeds in VALUES.items():
        assert drawn["bars"][name].get_height() == pytest.approx(np.mean(seeds))
        np.testing.assert_allclose(drawn["dots"][name].get_offsets()[:, 1], seeds)
    assert drawn["reference"].get_ydata()[0] == pytest.approx(0.92)
    assert [t.get_text() for t in ax.get_xticklabels()] == list(VALUES)
    assert ax.get_ylabel() == "val AUC" and ax.get_title() == "t"
    plt.close(fig)


def test_seed_comparison_no_reference_and_a_new_figure():
    drawn = plot_seed_comparison({"a": [1.0, 2.0]}, ylabel="loss")
    assert drawn["reference"] is None
    plt.close(drawn["bars"]["a"].figure)


@pytest.mark.parametrize("values, reference, match", [
    ({}, None, "Received: values="),
    ({"a": [np.nan]}, None, "values\\['a'\\]"),
    ({"a": [1.0]}, "b", "Received: reference='b'"),
])
def test_seed_comparison_bad_input(values, reference, match):
    with pytest.raises(ValueError, match=match):
        plot_seed_comparison(values, ylabel="y", reference=reference)


def test_robustness_lines_in_grey_levels():
    scores = {"baseline": [SimpleNamespace(epsilon=e, auc=a) for e, a in [(0, 0.9), (2 / 255, 0.6)]]}
    fig, ax = plt.subplots()
    lines = plot_robustness(scores, ax=ax, title="seed 0")
    x, y = lines["baseline"].get_data()
    np.testing.assert_allclose(x, [0, 2])
    np.testing.assert_allclose(y, [0.9, 0.6])
    assert ax.get_ylim() == (0, 1) and ax.get_title() == "seed 0"
    plt.close(fig)


@pytest.mark.parametrize("scores", [{}, {"a": []}, None])
def test_robustness_bad_input(scores):
    with pytest.raises(ValueError, match="Received: scores="):
        plot_robustness(scores)
