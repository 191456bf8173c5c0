import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from crossdomain_kit.plots import plot_learning_curves  # noqa: E402

HISTORY = {"loss": [0.7, 0.5, 0.4], "val_loss": [0.72, 0.6, 0.62],
           "auc": [0.6, 0.8, 0.9], "val_auc": [0.55, 0.75, 0.7]}


def test_draws_training_and_validation_for_loss_and_auc():
    axes = Figure().subplots(1, 2)
    drawn = plot_learning_curves(HISTORY, axes, best_epoch=1)
    assert [len(drawn["loss"]), len(drawn["auc"])] == [2, 2]
    np.testing.assert_array_equal(drawn["auc"][1].get_ydata(), HISTORY["val_auc"])
    assert any("kept 0.750" in t.get_text() for t in axes[1].texts)


def test_runs_are_drawn_one_after_another_with_phase_marks():
    axes = Figure().subplots(1, 2)
    plot_learning_curves(HISTORY, axes, label="head")
    drawn = plot_learning_curves({"auc": [0.9, 0.95]}, axes, label="fine-tune", epoch_offset=3,
                                 phases=["finetune 1", "finetune 2"])
    np.testing.assert_array_equal(drawn["auc"][0].get_xdata(), [4, 5])
    assert drawn["auc"][0].get_label() == "fine-tune: training" and drawn["loss"] == []
    assert len(axes[1].lines) == 2 + 1 + 2  # curves, the new run's start, the phase change


def test_missing_axes_make_a_figure_and_settings_stay_untouched():
    before = dict(matplotlib.rcParams)
    drawn = plot_learning_curves(HISTORY)
    assert drawn["loss"][0].axes.figure is drawn["auc"][0].axes.figure
    assert dict(matplotlib.rcParams) == before
