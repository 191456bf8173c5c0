"""Tests for crossdomain_kit.theory.toy_domains: the two 2-D domains of lesson 01 and training on them."""

import numpy as np
import pytest

from crossdomain_kit.theory.logistic import LogisticRegressionGD
from crossdomain_kit.theory.risk import alpha_from_sizes
from crossdomain_kit.theory.toy_domains import (
    CLASS_MEAN_DISTANCE,
    ToyDomains,
    fit_on_domains,
    make_toy_domains,
    target_accuracy_by_alpha,
)


@pytest.fixture(scope="module")
def domains():
    return make_toy_domains(n_source=200, n_target=6, n_target_test=1000, shift=1.0, seed=0)


def _rotation(degrees):
    a = np.deg2rad(degrees)
    return np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])


def test_shapes_labels_and_balanced_classes(domains):
    assert isinstance(domains, ToyDomains)
    assert (domains.n_source, domains.n_target) == (200, 6)
    for X, y, n in ((domains.X_source, domains.y_source, 200), (domains.X_target, domains.y_target, 6),
                    (domains.X_target_test, domains.y_target_test, 1000)):
        assert X.shape == (n, 2) and X.dtype == np.float64 and y.shape == (n,)
        assert set(np.unique(y)) == {0, 1} and y.sum() == n // 2
    assert "n_source=200" in repr(domains) and "seed=0" in repr(domains)


def test_odd_counts_give_the_extra_point_to_class_1_and_two_points_hold_both_classes():
    d = make_toy_domains(n_source=5, n_target=2, n_target_test=3, seed=1)
    assert d.y_source.sum() == 3 and sorted(d.y_target) == [0, 1] and d.y_target_test.sum() == 2


def test_points_are_read_only(domains):
    with pytest.raises(ValueError):
        domains.X_source[0, 0] = 99.0
    with pytest.raises(AttributeError):
        domains.seed = 3


def test_same_seed_same_points_other_seed_other_points():
    a, b, c = make_toy_domains(seed=3), make_toy_domains(seed=3), make_toy_domains(seed=4)
    np.testing.assert_array_equal(a.X_target, b.X_target)
    np.testing.assert_array_equal(a.y_source, b.y_source)
    assert not np.allclose(a.X_source, c.X_source)


def _class_means(X, y):
    return np.array([X[y == 0].mean(axis=0), X[y == 1].mean(axis=0)])


def test_source_clouds_sit_at_plus_minus_the_class_distance():
    d = make_toy_domains(n_source=20000, seed=0)
    expected = np.array([[-CLASS_MEAN_DISTANCE, 0.0], [CLASS_MEAN_DISTANCE, 0.0]])
    np.testing.assert_allclose(_class_means(d.X_source, d.y_source), expected, atol=0.03)
    np.testing.assert_allclose(np.cov(d.X_source[d.y_source == 1].T), np.eye(2), atol=0.05)


@pytest.mark.parametrize("shift", [0.0, 1.0, 2.0, -1.0])
def test_target_is_the_source_rotated_then_translated(shift):
    d = make_toy_domains(n_target_test=20000, shift=shift, seed=2)
    assert d.rotation_deg == pytest.approx(10.0 * shift)
    assert d.translation == pytest.approx((1.0 * shift, 0.5 * shift))
    source_means = np.array([[-CLASS_MEAN_DISTANCE, 0.0], [CLASS_MEAN_DISTANCE, 0.0]])
    expected = source_means @ _rotation(d.rotation_deg).T + np.array(d.translation)
    np.testing.assert_allclose(_class_means(d.X_target_test, d.y_target_test), expected, atol=0.03)


def test_zero_shift_gives_the_same_distribution_in_both_domains():
    d = make_toy_domains(n_source=20000, n_target_test=20000, shift=0, seed=5)
    np.testing.assert_allclose(_class_means(d.X_source, d.y_source),
                               _class_means(d.X_target_test, d.y_target_test), atol=0.05)


@pytest.mark.parametrize("kwargs, name", [
    ({"n_source": 1}, "n_source"),
    ({"n_target": 0}, "n_target"),
    ({"n_target": 2.5}, "n_target"),
    ({"n_target_test": True}, "n_target_test"),
    ({"shift": float("nan")}, "shift"),
    ({"shift": "big"}, "shift"),
    ({"seed": -1}, "seed"),
    ({"seed": 1.5}, "seed"),
])
def test_bad_arguments_name_the_argument(kwargs, name):
    with pytest.raises(ValueError, match=rf"Received: {name}="):
        make_toy_domains(**kwargs)


def test_joint_risk_fit_is_the_alpha_fit_at_n_over_n_plus_m(domains):
    joint = fit_on_domains(domains)
    alpha = fit_on_domains(domains, alpha_from_sizes(domains.n_source, domains.n_target))
    np.testing.assert_allclose(joint.theta_, alpha.theta_, rtol=1e-12, atol=1e-12)
    assert joint.n_steps == 300 and joint.learning_rate == 0.5


def test_alpha_one_is_source_only_and_alpha_zero_is_target_only(domains):
    source = LogisticRegressionGD().fit(domains.X_source, domains.y_source)
    target = LogisticRegressionGD().fit(domains.X_target, domains.y_target)
    np.testing.assert_allclose(fit_on_domains(domains, 1.0).theta_, source.theta_, atol=1e-12)
    np.testing.assert_allclose(fit_on_domains(domains, 0.0).theta_, target.theta_, atol=1e-12)


def test_fit_on_domains_passes_the_descent_settings_and_checks_its_input(domains):
    model = fit_on_domains(domains, 0.5, learning_rate=0.1, n_steps=7)
    assert model.path_.shape == (8, 3)
    with pytest.raises(ValueError, match="Received: domains="):
        fit_on_domains((domains.X_source, domains.y_source))
    with pytest.raises(ValueError, match="Received: alpha=1.5"):
        fit_on_domains(domains, 1.5)


def test_accuracy_by_alpha_matches_single_fits(domains):
    accuracy = target_accuracy_by_alpha(domains, [0.0, 0.5, 1.0], n_steps=50)
    expected = [fit_on_domains(domains, a, n_steps=50).score(domains.X_target_test, domains.y_target_test)
                for a in (0.0, 0.5, 1.0)]
    np.testing.assert_array_equal(accuracy, expected)


@pytest.mark.parametrize("alphas", [[], [0.2, 1.1], [[0.5]]])
def test_accuracy_by_alpha_rejects_bad_alphas(domains, alphas):
    with pytest.raises(ValueError, match="Received: alphas="):
        target_accuracy_by_alpha(domains, alphas)


def _accuracies(seed):
    d = make_toy_domains(seed=seed)
    score = lambda model: model.score(d.X_target_test, d.y_target_test)  # noqa: E731
    target_only = LogisticRegressionGD().fit(d.X_target, d.y_target)
    return {"source only": score(LogisticRegressionGD().fit(d.X_source, d.y_source)),
            "target only": score(target_only),
            "target only (train)": target_only.score(d.X_target, d.y_target),
            "joint": score(fit_on_domains(d)),
            "alpha 0.5": score(fit_on_domains(d, 0.5))}


def test_lesson_01_story_on_the_notebook_seed():
    acc = _accuracies(0)
    assert acc["joint"] >= acc["source only"]
    assert acc["alpha 0.5"] > acc["joint"] + 0.03
    assert acc["target only (train)"] == 1.0 > acc["target only"]


def test_lesson_01_story_holds_across_seeds():
    """The averages the lesson claims, over the seeds its fast profile uses (1 to 20)."""
    rows = [_accuracies(seed) for seed in range(1, 21)]
    acc = {key: np.array([row[key] for row in rows]) for key in rows[0]}
    assert acc["joint"].mean() >= acc["source only"].mean()
    assert acc["alpha 0.5"].mean() > acc["joint"].mean() + 0.03
    assert np.mean(acc["alpha 0.5"] > acc["joint"]) >= 0.9
    assert acc["target only"].std() > 2 * acc["joint"].std()
    assert acc["target only"].std() > acc["alpha 0.5"].std()
    assert acc["target only"].min() < acc["source only"].mean()
