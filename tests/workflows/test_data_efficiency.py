"""Data-efficiency summaries (pure NumPy) and the transfer-vs-scratch sweep on tiny synthetic domains."""

import numpy as np
import pytest

from crossdomain_kit.workflows.data_efficiency import (DataEfficiency, SeedSpread, gain_vanishes_at, over_seeds,
                                             transfer_gain, transfer_vs_scratch)
from crossdomain_kit.data.domains import Domain
from crossdomain_kit.evaluation import Table

# --- Summaries over seeds ----------------------------------------------------------------------


def test_over_seeds_of_one_row_gives_floats():
    summary = over_seeds([0.8, 0.9, 0.7])
    assert isinstance(summary, SeedSpread) and summary.n_seeds == 3
    assert isinstance(summary.mean, float)
    assert summary.mean == pytest.approx(0.8) and summary.low == 0.7 and summary.high == 0.9
    assert summary.spread == pytest.approx(0.2)


def test_over_seeds_of_a_table_summarises_each_row():
    summary = over_seeds([[0.5, 0.7], [0.9, 0.9], [0.6, 1.0]])
    np.testing.assert_allclose(summary.mean, [0.6, 0.9, 0.8])
    np.testing.assert_allclose(summary.spread, [0.2, 0.0, 0.4])
    assert summary.n_seeds == 2


def test_one_seed_has_no_spread():
    assert over_seeds([0.75]).spread == 0.0


@pytest.mark.parametrize("values, match", [
    (0.5, "last axis of seeds"), ([], "must not be empty"), ([0.5, np.nan], "NaN"), ("a", "numeric"),
])
def test_over_seeds_rejects_bad_values(values, match):
    with pytest.raises(ValueError, match=match):
        over_seeds(values)


def test_transfer_gain_is_paired_by_seed():
    transfer, scratch = np.array([0.90, 0.80, 0.85]), np.array([0.85, 0.70, 0.86])
    gain = transfer_gain(transfer, scratch)
    assert gain.mean == pytest.approx(np.mean(transfer - scratch))
    assert gain.low == pytest.approx(-0.01) and gain.high == pytest.approx(0.10)
    # the range of the paired gains, not the difference of the two ranges
    assert gain.spread != pytest.approx(np.ptp(transfer) - np.ptp(scratch))


def test_transfer_gain_per_label_count():
    gain = transfer_gain([[0.9, 0.8], [0.95, 0.97]], [[0.7, 0.7], [0.96, 0.95]])
    np.testing.assert_allclose(gain.mean, [0.15, 0.005])
    np.testing.assert_allclose(gain.low, [0.1, -0.01])


def test_transfer_gain_rejects_unpaired_shapes():
    with pytest.raises(ValueError, match=r"same shape. Received: transfer_auc.shape=\(3,\)"):
        transfer_gain([0.9, 0.8, 0.7], [0.9, 0.8])


def test_seeds_better_counts_the_seeds_where_transfer_won_per_count():
    result = DataEfficiency(np.array([32, 64]), (0, 1, 2), np.array([[0.8, 0.7, 0.9], [0.85, 0.85, 0.80]]),
                            np.array([[0.7, 0.7, 0.8], [0.90, 0.80, 0.85]]), 1.0)
    assert result.seeds_better().tolist() == [2, 1]        # a tie (0.7 against 0.7) counts for neither
    table = result.table()
    assert table.columns[-1] == "seeds better" and [row[-1] for row in table.rows] == ["2 of 3", "1 of 3"]
    assert "| 2 of 3 |" in table.to_markdown()


# --- Where the gain vanishes ------------------------------------------------------------------------

COUNTS = [16, 32, 64, 128, 256]


@pytest.mark.parametrize("gains, tolerance, expected", [
    ([0.20, 0.10, 0.02, -0.01, 0.00], 0.0, 128),
    ([0.20, 0.10, 0.02, -0.01, 0.00], 0.02, 64),
    ([0.20, -0.01, 0.05, 0.00, -0.02], 0.0, 128),    # a dip at 32 is not "from then on"
    ([0.20, 0.10, 0.05, 0.03, 0.01], 0.0, None),     # never vanishes
    ([-0.05, 0.00, -0.01, 0.00, 0.00], 0.0, 16),     # no gain at all
    ([0.20, 0.10, 0.05, 0.03, 0.01], 0.01, 256),     # at the tolerance counts as vanished
])
def test_gain_vanishes_at_the_first_count_from_which_on_it_stays_small(gains, tolerance, expected):
    assert gain_vanishes_at(COUNTS, gains, tolerance) == expected


@pytest.mark.parametrize("counts, gains, tolerance, match", [
    ([16, 16, 64], [0.1, 0.0, 0.0], 0.0, "Received: label_counts="),
    ([16.0, 32.0], [0.1, 0.0], 0.0, "Received: label_counts="),
    ([0, 32], [0.1, 0.0], 0.0, "Received: label_counts="),
    ([16, 32], [0.1], 0.0, "Received: mean_gains="),
    ([16, 32], [0.1, 0.0], -0.1, "Received: tolerance=-0.1"),
])
def test_gain_vanishes_at_rejects_bad_arguments(counts, gains, tolerance, match):
    with pytest.raises(ValueError, match=match):
        gain_vanishes_at(counts, gains, tolerance)


# --- The sweep --------------------------------------------------------------------------------------

SIZE = 16


@pytest.fixture(scope="module")
def sweep():
    from crossdomain_kit.models.classifier import build_classifier
    from crossdomain_kit.data.synthetic import make_synthetic_domain

    target = make_synthetic_domain(1.0, n_train=40, n_val=32, n_test=32, image_size=SIZE, progress=False)
    start = build_classifier("small_cnn", (SIZE, SIZE, 1), seed=0)  # any kit classifier can start transfer
    return transfer_vs_scratch(start, target, [8, 64], seeds=[3], head_epochs=1, finetune_epochs=1)


def test_sweep_scores_both_models_per_count_and_seed(sweep):
    assert isinstance(sweep, DataEfficiency)
    assert sweep.label_counts.tolist() == [8, 64] and sweep.seeds == (3,)
    assert sweep.transfer_auc.shape == sweep.scratch_auc.shape == (2, 1)
    # 64 labels asked, 40 in the split: all of them, so the last row trains on the whole split
    assert np.all((sweep.transfer_auc >= 0) & (sweep.transfer_auc <= 1))
    assert np.all((sweep.scratch_auc >= 0) & (sweep.scratch_auc <= 1))
    assert sweep.seconds > 0
    np.testing.assert_allclose(sweep.gain().mean, (sweep.transfer_auc - sweep.scratch_auc).mean(axis=1))
    assert set(sweep.curves()) == {"transfer", "scratch"}


def test_sweep_table_has_one_row_per_count(sweep):
    table = sweep.table()
    assert isinstance(table, Table) and [row[0] for row in table.rows] == [8, 64]
    assert table.columns[:3] == ("target labels", "transfer AUC", "scratch AUC")
    assert "| 8 |" in table.to_markdown()


@pytest.mark.parametrize("kwargs, match", [
    (dict(label_counts=[32, 16]), "Received: label_counts="),
    (dict(seeds=[0, 0]), "distinct seeds"),
    (dict(seeds=5), "Received: seeds=5"),
    (dict(seeds=[-1]), "Received: seed=-1"),
])
def test_sweep_rejects_bad_arguments(kwargs, match):
    from crossdomain_kit.data.synthetic import make_synthetic_domain

    target = make_synthetic_domain(1.0, n_train=8, n_val=8, n_test=8, image_size=SIZE, progress=False)
    arguments = dict(label_counts=[4, 8], seeds=[0]) | kwargs
    with pytest.raises(ValueError, match=match):
        transfer_vs_scratch(None, target, **arguments)


def test_sweep_needs_val_and_test_splits():
    from crossdomain_kit.data.synthetic import make_synthetic_domain

    target = make_synthetic_domain(1.0, n_train=8, n_val=8, n_test=0, image_size=SIZE, progress=False)
    with pytest.raises(ValueError, match="train, val and test"):
        transfer_vs_scratch(None, Domain(target.name, target.train, target.val), [4])


def test_importing_the_summaries_and_the_lesson_03_checkers_does_not_import_tensorflow():
    import subprocess
    import sys

    code = ("import sys, crossdomain_kit.workflows.data_efficiency, crossdomain_kit.exercises.lesson03; "
            "print('tensorflow' in sys.modules, 'keras' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]
