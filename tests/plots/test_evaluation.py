"""crossdomain_kit.plots.evaluation: ROC curve, confusion matrix and reliability diagram (lesson 05)."""

import matplotlib
import numpy as np
import pytest
from matplotlib.figure import Figure
from matplotlib.image import AxesImage
from matplotlib.lines import Line2D
from sklearn.metrics import roc_auc_score

from crossdomain_kit import evaluation as ev
from crossdomain_kit import plots
from tests.plots._helpers import new_axes


@pytest.fixture(scope="module")
def predictions():
    return ev.synthetic_predictions(300, 0.625, calibrated_prior=0.74, seed=0)


def test_plot_roc_draws_the_curve_and_marks_the_operating_point(predictions):
    y, p = predictions
    ax = new_axes()
    drawn = plots.plot_roc(y, p, ax=ax, threshold=0.6)
    m = ev.binary_metrics(y, p, 0.6)
    assert isinstance(drawn["curve"], Line2D) and drawn["curve"] in ax.lines and drawn["chance"] in ax.lines
    np.testing.assert_allclose(drawn["operating_point"].get_xydata(), [[1 - m.specificity, m.sensitivity]])
    assert f"AUC {roc_auc_score(y, p):.3f}" in drawn["curve"].get_label()
    assert drawn["legend"] is ax.get_legend()
    assert plots.plot_roc(y, p, ax=new_axes())["operating_point"] is None


def test_plot_roc_rejects_single_class_labels(predictions):
    _, p = predictions
    with pytest.raises(ValueError, match=r"both classes.*Received: y_true="):
        plots.plot_roc(np.ones_like(p), p, ax=new_axes())


def test_plot_confusion_matrix_shows_counts_and_shares_of_the_true_class():
    ax = new_axes()
    drawn = plots.plot_confusion_matrix(np.array([[212, 22], [94, 296]]), ["normal", "pneumonia"], ax=ax)
    assert isinstance(drawn["image"], AxesImage) and drawn["image"] in ax.images
    np.testing.assert_array_equal(drawn["image"].get_array(), [[212, 22], [94, 296]])
    assert [t.get_text() for t in drawn["texts"]] == ["212\n90.6%", "22\n9.4%", "94\n24.1%", "296\n75.9%"]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["normal", "pneumonia"]


@pytest.mark.parametrize("cm, names, match", [
    ([[1, 2, 3], [4, 5, 6]], ["a", "b"], "square.*Received: cm="),
    ([[1, -2], [3, 4]], ["a", "b"], "non-negative.*Received: cm="),
    ([[1, 2.5], [3, 4]], ["a", "b"], "Received: cm="),
    ([[1, 2], [3, 4]], ["a"], "2 strings.*Received: class_names="),
])
def test_plot_confusion_matrix_rejects_bad_input(cm, names, match):
    with pytest.raises(ValueError, match=match):
        plots.plot_confusion_matrix(cm, names, ax=new_axes())


def test_plot_reliability_draws_the_non_empty_bins(predictions):
    y, p = predictions
    curve = ev.reliability_curve(y, p, n_bins=20)
    ax = new_axes()
    drawn = plots.plot_reliability(curve, ax=ax)
    kept = curve.nonempty
    np.testing.assert_allclose(drawn["curve"].get_xdata(), curve.mean_predicted[kept])
    np.testing.assert_allclose(drawn["curve"].get_ydata(), curve.fraction_positive[kept])
    assert f"ECE {curve.ece:.3f}" in drawn["curve"].get_label() and drawn["diagonal"] in ax.lines
    with pytest.raises(ValueError, match="ReliabilityCurve.*Received: curve="):
        plots.plot_reliability({"ece": 0.1}, ax=ax)


def test_ax_none_creates_a_figure_and_no_global_setting_changes(predictions):
    import matplotlib.pyplot as plt

    y, p = predictions
    before = dict(matplotlib.rcParams)
    drawn = [plots.plot_roc(y, p, threshold=0.5)["curve"],
             plots.plot_confusion_matrix(ev.binary_metrics(y, p, 0.5).confusion_matrix, ["n", "p"])["image"],
             plots.plot_reliability(ev.reliability_curve(y, p))["curve"]]
    figures = [artist.axes.figure for artist in drawn]
    try:
        assert len({id(f) for f in figures}) == 3 and all(isinstance(f, Figure) for f in figures)
        assert dict(matplotlib.rcParams) == before
    finally:
        for figure in figures:
            plt.close(figure)
