import json
import math
import time
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn import calibration
from sklearn import metrics as sk

from crossdomain_kit import evaluation as ev


def _labels_and_probs(seed, n=60, levels=None):
    """Random labels with both classes, and probabilities (with ties when `levels` is set)."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    y[:2] = [0, 1]
    p = rng.random(n) if levels is None else rng.choice(np.linspace(0, 1, levels), n)
    return y, p


@pytest.fixture(scope="module")
def pneumonia_like():
    """A model calibrated to the 74 % training prior, seen on val (74 %) and test (62.5 %)."""
    y_val, p_val = ev.synthetic_predictions(524, 0.74, calibrated_prior=0.74, seed=1)
    y_test, p_test = ev.synthetic_predictions(624, 0.625, calibrated_prior=0.74, seed=2)
    return y_val, p_val, y_test, p_test


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize("y, p, match", [
    ([1, 1, 1], [0.2, 0.5, 0.9], r"both classes.*\{0: 0, 1: 3\}.*Received: y_val=array"),
    ([0, 1, 1], [0.2, 0.5], r"same shape.*y_val.shape=\(3,\), p_val.shape=\(2,\)"),
    ([0, 1], [-0.1, 0.5], r"probabilities in \[0, 1\].*sigmoid.*Received: p_val="),
    ([0, 1], [0.3, 2.5], r"Received: p_val="),
    ([0, 1], [0.3, np.nan], r"NaN.*Received: p_val="),
    ([0, np.nan], [0.3, 0.4], r"NaN.*Received: y_val="),
    ([0, 2], [0.3, 0.4], r"only 0 and 1.*Received: y_val="),
    ([], [], r"must not be empty.*Received: y_val="),
    ([[0, 1], [1, 0]], [[0.1, 0.2], [0.3, 0.4]], r"shape \(n,\) or \(n, 1\).*Received: y_val="),
])
def test_bad_predictions_raise_naming_the_argument(y, p, match):
    with pytest.raises(ValueError, match=match):
        ev.choose_threshold(y, p)


def test_single_class_test_labels_are_named_with_their_counts(pneumonia_like):
    y_val, p_val, _, p_test = pneumonia_like
    with pytest.raises(ValueError, match=r"`y_test` must contain both classes.*\{0: 0, 1: 624\}.*Received: y_test="):
        ev.evaluate_predictions(y_val, p_val, np.ones(624), p_test)
    with pytest.raises(ValueError, match=r"AUC.*\{0: 4, 1: 0\}.*Received: y_true="):
        ev.binary_metrics([0, 0, 0, 0], [0.1, 0.2, 0.3, 0.4], 0.5)


@pytest.mark.parametrize("call, match", [
    (lambda y, p: ev.binary_metrics(y, p, 1.5), r"Received: threshold=1.5"),
    (lambda y, p: ev.binary_metrics(y, p, -0.1), r"Received: threshold=-0.1"),
    (lambda y, p: ev.binary_metrics(y, p, float("nan")), r"Received: threshold=nan"),
    (lambda y, p: ev.reliability_curve(y, p, n_bins=0), r"integer >= 1.*Received: n_bins=0"),
    (lambda y, p: ev.reliability_curve(y, p, strategy="equal"), r"Received: strategy='equal'"),
    (lambda y, p: ev.bootstrap_ci(y, p, level=1.0), r"strictly between 0 and 1.*Received: level=1.0"),
    (lambda y, p: ev.bootstrap_ci(y, p, level=0), r"Received: level=0"),
    (lambda y, p: ev.bootstrap_ci(y, p, level=95), r"Received: level=95"),
    (lambda y, p: ev.bootstrap_ci(y, p, n_boot=0), r"Received: n_boot=0"),
    (lambda y, p: ev.bootstrap_ci(y, p, "acc"), r"one of .*Received: metric='acc'"),
    (lambda y, p: ev.bootstrap_ci(y, p, "sensitivity"), r"needs a `threshold`.*Received: threshold=None"),
    (lambda y, p: ev.bootstrap_ci(y, p, seed="x"), r"Received: seed='x'"),
    (lambda y, p: ev.choose_threshold(y, p, "best"), r"Received: method='best'"),
    (lambda y, p: ev.choose_threshold(y, p, "target_sensitivity"), r"needs a `target`.*Received: target=None"),
    (lambda y, p: ev.choose_threshold(y, p, "target_sensitivity", 0.0), r"Received: target=0.0"),
    (lambda y, p: ev.choose_threshold(y, p, "youden", 0.9), r"leave it None.*Received: target=0.9"),
    (lambda y, p: ev.classification_report_text(y, p, 0.5, ("a", "a")), r"Received: class_names=\('a', 'a'\)"),
    (lambda y, p: ev.compare_thresholds(y, p, {}), r"Received: thresholds=\{\}"),
    (lambda y, p: ev.bayes_threshold(1.0, 0.5), r"Received: calibrated_prior=1.0"),
    (lambda y, p: ev.bayes_threshold(0.5, 0.5, cost_fn=0), r"Received: cost_fn=0"),
])
def test_bad_arguments_raise_naming_the_argument(call, match):
    y, p = _labels_and_probs(0, n=20)
    with pytest.raises(ValueError, match=match):
        call(y, p)


def test_keras_column_shapes_are_accepted():
    y, p = _labels_and_probs(1)
    assert ev.binary_metrics(y[:, None], p[:, None], 0.5) == ev.binary_metrics(y, p, 0.5)


# ---------------------------------------------------------------- metrics against scikit-learn


@given(st.integers(0, 2**32 - 1), st.sampled_from([None, 5, 11]), st.sampled_from([0.0, 0.3, 0.5, 0.77, 1.0]))
@settings(max_examples=60, deadline=None)
def test_binary_metrics_equal_scikit_learns(seed, levels, threshold):
    y, p = _labels_and_probs(seed, levels=levels)
    m = ev.binary_metrics(y, p, threshold)
    pred = (p >= threshold).astype(int)
    assert m.auc == pytest.approx(sk.roc_auc_score(y, p), abs=1e-12)  # ties count one half
    assert ev.roc_auc(y, p) == m.auc
    np.testing.assert_array_equal(m.confusion_matrix, sk.confusion_matrix(y, pred, labels=[0, 1]))
    assert m.accuracy == pytest.approx(sk.accuracy_score(y, pred))
    assert m.balanced_accuracy == pytest.approx(sk.balanced_accuracy_score(y, pred))
    assert m.sensitivity == pytest.approx(sk.recall_score(y, pred))
    assert m.specificity == pytest.approx(sk.recall_score(y, pred, pos_label=0))
    assert m.npv == pytest.approx(sk.precision_score(y, pred, pos_label=0, zero_division=np.nan), nan_ok=True)
    assert m.ppv == pytest.approx(sk.precision_score(y, pred, zero_division=np.nan), nan_ok=True)
    assert m.f1 == pytest.approx(sk.f1_score(y, pred, zero_division=np.nan), nan_ok=True)
    assert (m.n, m.n_positive, m.positive_fraction) == (y.size, y.sum(), y.mean())


def test_roc_auc_needs_both_classes():
    with pytest.raises(ValueError, match="both classes"):
        ev.roc_auc([1, 1, 1], [0.2, 0.3, 0.9])


def test_binary_metrics_by_hand():
    m = ev.binary_metrics([0, 0, 0, 1, 1], [0.1, 0.6, 0.4, 0.6, 0.9], threshold=0.5)
    assert (m.tn, m.fp, m.fn, m.tp) == (2, 1, 0, 2)
    assert m.auc == pytest.approx((1 + 1 + 1 + 1 + 0.5 + 1) / 6)  # the 0.6 tie counts one half
    assert (m.sensitivity, m.specificity, m.ppv, m.npv) == pytest.approx((1, 2 / 3, 2 / 3, 1))
    assert m.f1 == pytest.approx(0.8)
    nothing_positive = ev.binary_metrics([0, 1], [0.2, 0.3], threshold=1.0)
    assert math.isnan(nothing_positive.ppv) and nothing_positive.as_dict()["ppv"] is None


def test_classification_report_is_scikit_learns_with_class_names():
    y, p = _labels_and_probs(3)
    text = ev.classification_report_text(y, p, 0.4, ("normal", "pneumonia"))
    assert text == sk.classification_report(y, (p >= 0.4).astype(int), target_names=["normal", "pneumonia"],
                                            digits=3, zero_division=np.nan)


# ---------------------------------------------------------------- thresholds


def test_youden_threshold_by_hand_takes_the_highest_of_tied_maxima():
    # J = 0.5 at 0.8 and at 0.35 (and 0 elsewhere): the higher cut is returned.
    assert ev.choose_threshold([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) == 0.8


@given(st.integers(0, 2**32 - 1), st.sampled_from([None, 7]))
@settings(max_examples=40, deadline=None)
def test_chosen_thresholds_are_optimal_among_the_validation_scores(seed, levels):
    y, p = _labels_and_probs(seed, levels=levels)
    p = 0.98 * p  # a negative at exactly 1 makes specificity 1 unreachable (tested below)
    rates = {t: (np.mean(p[y == 1] >= t), np.mean(p[y == 0] < t)) for t in np.unique(p)}  # (sens, spec)
    youden = ev.choose_threshold(y, p)
    assert sum(rates[youden]) == pytest.approx(max(s + c for s, c in rates.values()))
    for target in (0.5, 0.9, 1.0):
        t = ev.choose_threshold(y, p, "target_sensitivity", target)
        assert rates[t][0] >= target and all(s < target for u, (s, _) in rates.items() if u > t)
        t = ev.choose_threshold(y, p, "target_specificity", target)
        if t in rates:
            assert rates[t][1] >= target and all(c < target for u, (_, c) in rates.items() if u < t)
        else:  # above every score: nothing predicted positive, specificity 1
            assert t > p.max() and t == np.nextafter(p.max(), 2)


def test_unreachable_specificity_raises():
    with pytest.raises(ValueError, match="Lower `target`.*Received: target=1.0"):
        ev.choose_threshold([1, 0], [0.3, 1.0], "target_specificity", 1.0)


# ---------------------------------------------------------------- bootstrap


def test_bootstrap_interval_covers_the_estimate_and_is_reproducible(pneumonia_like):
    *_, y, p = pneumonia_like
    ci = ev.bootstrap_ci(y, p, "auc", n_boot=500, seed=7)
    low, high = ci
    assert low < ci.estimate < high and ci.estimate == pytest.approx(sk.roc_auc_score(y, p))
    assert ev.bootstrap_ci(y, p, "auc", n_boot=500, seed=7) == ci
    assert ev.bootstrap_ci(y, p, "auc", n_boot=500, seed=8) != ci
    assert ev.bootstrap_ci(y, p, "auc", n_boot=500, seed=np.random.default_rng(7)) == ci
    assert (ci.n_skipped, ci.level, ci.stratified) == (0, 0.95, True)
    assert ev.bootstrap_ci(y, p, "auc", n_boot=500, seed=7, level=0.5).low > low


def test_bootstrap_interval_narrows_with_more_data():
    widths = []
    for n in (200, 2000, 20000):
        y, p = ev.synthetic_predictions(n, 0.625, seed=n)
        low, high = ev.bootstrap_ci(y, p, "sensitivity", threshold=0.6, n_boot=300, seed=0)
        widths.append(high - low)
    assert widths[0] > 2 * widths[1] > 4 * widths[2]  # width shrinks like 1/sqrt(n)


def test_vectorised_metrics_use_the_same_resamples_as_a_callable(pneumonia_like):
    *_, y, p = pneumonia_like
    for stratified in (True, False):
        named = ev.bootstrap_ci(y, p, "auc", n_boot=100, seed=3, stratified=stratified)
        loop = ev.bootstrap_ci(y, p, sk.roc_auc_score, n_boot=100, seed=3, stratified=stratified, progress=False)
        assert (loop.low, loop.high) == pytest.approx((named.low, named.high), abs=1e-12)
        named = ev.bootstrap_ci(y, p, "f1", threshold=0.7, n_boot=100, seed=3, stratified=stratified)
        loop = ev.bootstrap_ci(y, p, lambda a, b: sk.f1_score(a, b >= 0.7), n_boot=100, seed=3,
                               stratified=stratified, progress=False)
        assert (loop.low, loop.high) == pytest.approx((named.low, named.high), abs=1e-12)


def test_stratified_resamples_keep_the_class_counts():
    y, p = _labels_and_probs(5, n=40)
    counts = set()
    ev.bootstrap_ci(y, p, lambda a, b: counts.add(int(a.sum())) or 0.0, n_boot=50, progress=False)
    assert counts == {int(y.sum())}


def test_undefined_resamples_are_skipped_counted_and_reported():
    y = np.array([1, 1] + [0] * 8)
    p = np.linspace(0.05, 0.95, 10)
    with pytest.warns(UserWarning, match=r"bootstrap_ci: \d+ of 400 resamples skipped because auc"):
        ci = ev.bootstrap_ci(y, p, "auc", n_boot=400, stratified=False, seed=0)
    assert 0.8**10 * 400 * 0.6 < ci.n_skipped < 0.8**10 * 400 * 1.4  # P(no positive drawn) = 0.8^10
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # sklearn's own warning on single-class resamples
        loop = ev.bootstrap_ci(y, p, lambda a, b: sk.roc_auc_score(a, b) if a.any() else np.nan,
                               n_boot=400, stratified=False, seed=0, progress=False)
    assert loop.n_skipped == ci.n_skipped and (loop.low, loop.high) == pytest.approx((ci.low, ci.high))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert ev.bootstrap_ci(y, p, "auc", n_boot=1000, seed=0).n_skipped == 0  # stratified never skips


def test_metric_undefined_on_all_data_raises():
    with pytest.raises(ValueError, match="'ppv' is undefined on the full data"):
        ev.bootstrap_ci([0, 1, 1], [0.1, 0.2, 0.3], "ppv", threshold=0.9)


def test_auc_bootstrap_is_fast(pneumonia_like):
    *_, y, p = pneumonia_like
    ev.bootstrap_ci(y, p, n_boot=10)
    start = time.perf_counter()
    ev.bootstrap_ci(y, p, "auc", n_boot=1000, seed=0)
    assert time.perf_counter() - start < 1.0  # about 0.03 s on one CPU core


# ---------------------------------------------------------------- calibration


@pytest.mark.parametrize("strategy", ["uniform", "quantile"])
@pytest.mark.parametrize("n_bins", [1, 5, 10])
def test_reliability_curve_matches_scikit_learn(strategy, n_bins):
    y, p = _labels_and_probs(11, n=300, levels=41)  # ties and values on bin edges
    curve = ev.reliability_curve(y, p, n_bins, strategy)
    true, pred = calibration.calibration_curve(y, p, n_bins=n_bins, strategy=strategy)
    np.testing.assert_allclose(curve.fraction_positive[curve.nonempty], true)
    np.testing.assert_allclose(curve.mean_predicted[curve.nonempty], pred)
    assert curve.counts.sum() == y.size and curve.n_bins == n_bins and curve.bin_edges.size == n_bins + 1


def test_ece_by_hand():
    y, p = [0, 1, 1, 1], [0.2, 0.2, 0.8, 0.8]
    # bin [0, 0.5]: mean 0.2, half positive -> gap 0.3; bin (0.5, 1]: mean 0.8, all positive -> gap 0.2
    assert ev.expected_calibration_error(y, p, n_bins=2) == pytest.approx(0.5 * 0.3 + 0.5 * 0.2)
    curve = ev.reliability_curve(y, p, n_bins=4)
    assert curve.counts.tolist() == [2, 0, 0, 2] and np.isnan(curve.mean_predicted[1])
    assert curve.ece == pytest.approx(0.25) and curve.as_dict()["mean_predicted"][1] is None
    assert ev.expected_calibration_error([0, 1], [0.0, 1.0]) == 0.0


def test_a_calibrated_predictor_has_ece_near_zero_and_a_shifted_one_does_not():
    rng = np.random.default_rng(0)
    p = rng.random(200_000)
    y = (rng.random(p.size) < p).astype(int)  # P(y = 1 | p) = p exactly
    assert ev.expected_calibration_error(y, p) < 0.005
    assert ev.expected_calibration_error(y, p, strategy="quantile") < 0.005
    assert ev.expected_calibration_error(y, p**2) > 0.1


# ---------------------------------------------------------------- report and tables


def test_report_thresholds_on_validation_and_reports_on_test(pneumonia_like):
    y_val, p_val, y_test, p_test = pneumonia_like
    report = ev.evaluate_predictions(y_val, p_val, y_test, p_test, ("normal", "pneumonia"), n_boot=200)
    assert report.threshold == ev.choose_threshold(y_val, p_val)
    assert report.test == ev.binary_metrics(y_test, p_test, report.threshold)
    assert report.validation == ev.binary_metrics(y_val, p_val, report.threshold)
    assert report.ece == ev.expected_calibration_error(y_test, p_test)
    assert set(report.intervals) == set(ev.METRICS)
    assert report.intervals["auc"] == ev.bootstrap_ci(y_test, p_test, "auc", n_boot=200)
    for name, ci in report.intervals.items():
        assert ci.low <= getattr(report.test, name) <= ci.high
    # the test split cannot move the threshold
    other = ev.evaluate_predictions(y_val, p_val, y_test, p_test[::-1], n_boot=10)
    assert other.threshold == report.threshold


def test_report_dict_is_json_with_the_metrics_json_keys(pneumonia_like):
    report = ev.evaluate_predictions(*pneumonia_like, n_boot=100, method="target_sensitivity", target=0.95)
    data = json.loads(json.dumps(report.to_dict(), allow_nan=False))
    assert data["test_auc"] == report.test.auc and data["test_acc"] == report.test.accuracy
    assert (data["sensitivity"], data["specificity"]) == (report.test.sensitivity, report.test.specificity)
    assert data["threshold"] == report.threshold and data["threshold_target"] == 0.95
    assert data["test"]["confusion_matrix"] == report.test.confusion_matrix.tolist()
    assert data["ci"]["auc"]["low"] == report.intervals["auc"].low
    assert report.validation.sensitivity >= 0.95


def test_report_prints_readably(pneumonia_like):
    report = ev.evaluate_predictions(*pneumonia_like, class_names=("normal", "pneumonia"), n_boot=50)
    text, markdown = str(report), report._repr_markdown_()
    for snippet in ("chosen on validation", "62.5% pneumonia", "test 95% CI", "normal", "ECE"):
        assert snippet in text
    assert f"| auc | {report.validation.auc:.3f} | {report.test.auc:.3f} | [" in markdown


def test_compare_before_after(pneumonia_like):
    y_val, p_val, y_test, p_test = pneumonia_like
    before = ev.evaluate_predictions(y_val, p_val**2, y_test, p_test**2, n_boot=50)
    after = ev.evaluate_predictions(y_val, p_val, y_test, p_test, n_boot=50)
    table = ev.compare_before_after(before, after, labels=("frozen", "fine-tuned"))
    assert table.columns == ("metric", "frozen", "fine-tuned", "change")
    rows = {row[0]: row[1:] for row in table.rows}
    assert rows["ece"] == (before.ece, after.ece, after.ece - before.ece)
    assert rows["specificity"][2] == pytest.approx(after.test.specificity - before.test.specificity)
    change = after.ece - before.ece
    assert f"| ece | {before.ece:.3f} | {after.ece:.3f} | {change:+.3f} |" in table.to_markdown()
    json.dumps(table.as_dicts(), allow_nan=False)
    with_metrics = ev.compare_before_after(before, after.test, metrics=("auc", "ece"))
    assert with_metrics.cells()[1] == ["ece", f"{before.ece:.3f}", "n/a", "n/a"]
    with pytest.raises(ValueError, match="Received: after="):
        ev.compare_before_after(before, {"auc": 0.9})
    with pytest.raises(ValueError, match="Received: metrics='loss'"):
        ev.compare_before_after(before, after, metrics=("loss",))



def test_compare_evaluations_has_one_column_per_model_in_order(pneumonia_like):
    y_val, p_val, y_test, p_test = pneumonia_like
    reports = {"weak": ev.evaluate_predictions(y_val, p_val**3, y_test, p_test**3, n_boot=50),
               "mid": ev.evaluate_predictions(y_val, p_val**2, y_test, p_test**2, n_boot=50),
               "strong": ev.evaluate_predictions(y_val, p_val, y_test, p_test, n_boot=50)}
    table = ev.compare_evaluations(reports, metrics=("auc", "ece", "threshold"))
    assert table.columns == ("metric", "weak", "mid", "strong")
    rows = {row[0]: row[1:] for row in table.rows}
    assert rows["auc"] == tuple(r.test.auc for r in reports.values())
    assert rows["ece"] == tuple(r.ece for r in reports.values())
    pair = ev.compare_before_after(reports["weak"], reports["strong"], metrics=("auc", "ece", "threshold"))
    assert [row[1:3] for row in pair.rows] == [(row[1], row[3]) for row in table.rows]
    assert ev.compare_evaluations({"test only": reports["mid"].test}, metrics=("ece",)).cells()[0] == ["ece", "n/a"]
    for bad in ({}, [reports["mid"]], {"x": {"auc": 0.9}}):
        with pytest.raises(ValueError, match="Received: "):
            ev.compare_evaluations(bad)
    with pytest.raises(ValueError, match="Received: metrics='loss'"):
        ev.compare_evaluations(reports, metrics=("loss",))

# ---------------------------------------------------------------- prior shift


def test_synthetic_predictions_are_calibrated_for_their_prior():
    y, p = ev.synthetic_predictions(100_000, 0.625, separation=2.0, seed=0)
    assert y.sum() == 62_500
    assert ev.expected_calibration_error(y, p) < 0.01
    assert sk.roc_auc_score(y, p) == pytest.approx(0.5 * (1 + math.erf(1.0)), abs=0.005)
    # the same model calibrated to the 74 % training prior over-predicts on a 62.5 % split
    y, p = ev.synthetic_predictions(100_000, 0.625, separation=2.0, calibrated_prior=0.74, seed=0)
    assert p.mean() > y.mean() + 0.05


def _best_accuracy_threshold(y, p):
    grid = np.linspace(0.2, 0.9, 141)
    accuracy = ((p[:, None] >= grid) == y[:, None].astype(bool)).mean(axis=0)
    return grid[np.argmax(accuracy)]


def test_bayes_threshold_formula_and_where_0_5_is_right():
    assert ev.bayes_threshold(0.74, 0.74) == pytest.approx(0.5)
    assert ev.bayes_threshold(0.74, 0.625) == pytest.approx(1 / (1 + (0.26 / 0.74) * (0.625 / 0.375)))
    assert ev.bayes_threshold(cost_fp=1, cost_fn=4) == pytest.approx(0.2)
    # 0.5 maximises accuracy when the prior is the one the probabilities are calibrated to ...
    y, p = ev.synthetic_predictions(200_000, 0.74, calibrated_prior=0.74, seed=1)
    assert _best_accuracy_threshold(y, p) == pytest.approx(0.5, abs=0.04)
    # ... but on PneumoniaMNIST's test prior the best cut is bayes_threshold(0.74, 0.625) = 0.63
    y, p = ev.synthetic_predictions(200_000, 0.625, calibrated_prior=0.74, seed=2)
    best = _best_accuracy_threshold(y, p)
    assert best == pytest.approx(ev.bayes_threshold(0.74, 0.625), abs=0.04)
    assert ev.binary_metrics(y, p, best).accuracy > ev.binary_metrics(y, p, 0.5).accuracy + 0.005
    # a class-weighted model is calibrated to a 50 % prior: its best test cut is below 0.5
    y, p = ev.synthetic_predictions(200_000, 0.625, calibrated_prior=0.5, seed=3)
    assert _best_accuracy_threshold(y, p) == pytest.approx(ev.bayes_threshold(0.5, 0.625), abs=0.04)


def test_a_validation_chosen_threshold_keeps_sensitivity_and_specificity_under_prior_shift():
    y_val, p_val = ev.synthetic_predictions(20_000, 0.74, calibrated_prior=0.74, seed=4)
    y_test, p_test = ev.synthetic_predictions(20_000, 0.625, calibrated_prior=0.74, seed=5)
    for method, target in (("youden", None), ("target_sensitivity", 0.95)):
        t = ev.choose_threshold(y_val, p_val, method, target)
        val, test = ev.binary_metrics(y_val, p_val, t), ev.binary_metrics(y_test, p_test, t)
        assert test.sensitivity == pytest.approx(val.sensitivity, abs=0.015)
        assert test.specificity == pytest.approx(val.specificity, abs=0.015)
        # PPV moves with the prior, as Bayes' rule predicts from the unchanged rates
        odds = 0.625 / 0.375 * test.sensitivity / (1 - test.specificity)
        assert test.ppv == pytest.approx(odds / (1 + odds), abs=0.01) and test.ppv < val.ppv - 0.02
    # Youden's population cut is where the likelihoods cross: p = calibrated prior 0.74, not 0.5
    assert ev.choose_threshold(y_val, p_val) == pytest.approx(0.74, abs=0.05)


def test_threshold_table_shows_what_0_5_costs_on_the_shifted_test(pneumonia_like):
    y_val, p_val, y_test, p_test = pneumonia_like
    t = ev.choose_threshold(y_val, p_val)
    table = ev.compare_thresholds(y_test, p_test, {"0.5": 0.5, "youden on val": t})
    assert table.columns[:2] == ("rule", "threshold") and [r[0] for r in table.rows] == ["0.5", "youden on val"]
    half, chosen = (dict(zip(table.columns, row)) for row in table.rows)
    # cut at 0.5, the training-prior probabilities favour pneumonia: specificity pays
    assert half["sensitivity"] - half["specificity"] > 0.15
    assert abs(chosen["sensitivity"] - chosen["specificity"]) < half["sensitivity"] - half["specificity"]
    assert half["accuracy"] == ev.binary_metrics(y_test, p_test, 0.5).accuracy
    assert "| youden on val |" in table.to_markdown()
