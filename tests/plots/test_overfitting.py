"""plot_seed_comparison (bars at the mean, one dot per seed) and plot_robustness (AUC against ε)."""

from types import SimpleNamespace

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from crossdomain_kit.plots import plot_robustness, plot_seed_comparison  # noqa: E402

VALUES = {"baseline": [0.90, 0.92, 0.94], "dropout": [0.95, 0.93, 0.97], "one seed": [0.5]}


def test_bars_are_means_and_dots_the_seeds():
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


def test_no_reference_and_a_new_figure():
    drawn = plot_seed_comparison({"a": [1.0, 2.0]}, ylabel="loss")
    assert drawn["reference"] is None
    plt.close(drawn["bars"]["a"].figure)


@pytest.mark.parametrize("values, reference, match", [
    ({}, None, "Received: values="),
    ({"a": [np.nan]}, None, "values\\['a'\\]"),
    ({"a": [1.0]}, "b", "Received: reference='b'"),
])
def test_bad_input(values, reference, match):
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
