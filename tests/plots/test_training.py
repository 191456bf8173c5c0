"""Tests for the learning-rate finder plot (plots.plot_lr_finder)."""

import numpy as np
import pytest
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from crossdomain_kit import plots
from crossdomain_kit.training import LRFinderResult, smooth_losses, suggest_learning_rate


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
