"""plot_data_efficiency: mean over seeds per label count, min–max band, log-2 axis."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from crossdomain_kit.plots import plot_data_efficiency  # noqa: E402

COUNTS = [16, 32, 64]
TRANSFER = np.array([[0.80, 0.90, 0.85], [0.90, 0.92, 0.88], [0.95, 0.96, 0.97]])
SCRATCH = np.array([[0.60, 0.70, 0.65], [0.75, 0.80, 0.85], [0.94, 0.95, 0.96]])


def test_lines_are_the_means_and_bands_the_ranges():
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


def test_one_seed_draws_no_band_and_a_new_figure_without_ax():
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
def test_bad_arguments_are_rejected(counts, curves, match):
    with pytest.raises(ValueError, match=match):
        plot_data_efficiency(counts, curves)
