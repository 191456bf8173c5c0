import numpy as np
import pytest

from crossdomain_kit.theory import surface
from crossdomain_kit.theory.losses import logistic_risk, logistic_risk_gradient


@pytest.fixture
def data():
    return surface.toy_1d_dataset(n_samples=40, seed=3)


def test_toy_dataset_is_seeded_balanced_and_shaped():
    X, y = surface.toy_1d_dataset(n_samples=41, seed=1)
    X2, y2 = surface.toy_1d_dataset(n_samples=41, seed=1)
    X3, _ = surface.toy_1d_dataset(n_samples=41, seed=2)
    assert X.shape == (41, 1) and y.shape == (41,)
    np.testing.assert_array_equal(X, X2)
    np.testing.assert_array_equal(y, y2)
    assert not np.array_equal(X, X3)
    assert set(np.unique(y)) == {0.0, 1.0} and abs(y.sum() - 20.5) <= 0.5


def test_toy_dataset_classes_are_separated_by_shift():
    X, y = surface.toy_1d_dataset(n_samples=2000, shift=3.0, seed=0)
    gap = X[y == 1, 0].mean() - X[y == 0, 0].mean()
    assert gap == pytest.approx(3.0, abs=0.15)


@pytest.mark.parametrize("kwargs, name", [({"n_samples": 1}, "n_samples"),
                                           ({"n_samples": 2.5}, "n_samples"),
                                           ({"shift": 0.0}, "shift")])
def test_toy_dataset_rejects_bad_arguments(kwargs, name):
    with pytest.raises(ValueError, match=f"Received: {name}="):
        surface.toy_1d_dataset(**kwargs)


def test_risk_surface_matches_logistic_risk_and_gradient_point_by_point(data):
    X, y = data
    w = np.linspace(-3, 5, 7)
    b = np.linspace(-4, 2, 5)
    s = surface.risk_surface(X, y, w, b)
    assert s.risk.shape == s.grad_w.shape == s.grad_b.shape == (5, 7)
    for i, bi in enumerate(b):
        for j, wj in enumerate(w):
            theta = np.array([wj, bi])
            assert s.risk[i, j] == pytest.approx(logistic_risk(theta, X, y), rel=1e-12)
            np.testing.assert_allclose([s.grad_w[i, j], s.grad_b[i, j]],
                                       logistic_risk_gradient(theta, X, y), rtol=1e-10, atol=1e-14)


def test_risk_surface_minimum_is_where_the_gradient_vanishes(data):
    X, y = data
    s = surface.risk_surface(X, y, np.linspace(-2, 6, 161), np.linspace(-6, 2, 161))
    i, j = np.unravel_index(np.argmin(s.risk), s.risk.shape)
    assert np.hypot(s.grad_w[i, j], s.grad_b[i, j]) < 0.02


def test_risk_surface_stays_finite_at_extreme_parameters(data):
    X, y = data
    s = surface.risk_surface(X, y, [-1e4, 1e4], [-1e4, 0.0, 1e4])
    assert np.all(np.isfinite(s.risk)) and np.all(np.isfinite(s.grad_w))


def test_risk_surface_needs_one_feature():
    with pytest.raises(ValueError, match="exactly one feature"):
        surface.risk_surface(np.zeros((4, 2)), [0, 1, 0, 1], [0.0], [0.0])


def test_risk_surface_rejects_mismatched_labels_and_bad_grids(data):
    X, y = data
    with pytest.raises(ValueError, match="one label per row"):
        surface.risk_surface(X, y[:-1], [0.0], [0.0])
    with pytest.raises(ValueError, match="Received: w_values="):
        surface.risk_surface(X, y, [], [0.0])
    with pytest.raises(ValueError, match="Received: b_values="):
        surface.risk_surface(X, y, [0.0], [[0.0]])


def test_small_learning_rate_converges_monotonically(data):
    X, y = data
    run = surface.descend_logistic_risk(X, y, [-2.0, 3.0], learning_rate=0.5, n_steps=30)
    assert run.status == "converging" and not run.diverged
    assert run.path.shape == (31, 2) and run.losses.shape == (31,)
    assert np.all(np.diff(run.losses) <= 0)
    np.testing.assert_array_equal(run.path[0], [-2.0, 3.0])
    assert run.message.startswith("Converging") and f"{run.losses[-1]:.4f}" in run.message


def test_too_large_learning_rate_is_reported_not_raised(data):
    X, y = data
    run = surface.descend_logistic_risk(X, y, [-2.0, 3.0], learning_rate=300.0, n_steps=30)
    assert run.diverged and run.losses.max() > run.losses[0]
    assert run.message.startswith("Diverged") and "Lower the learning rate" in run.message


def test_starting_at_the_minimum_is_not_divergence(data):
    X, y = data
    best = surface.descend_logistic_risk(X, y, [0.0, 0.0], learning_rate=1.0, n_steps=2000).path[-1]
    run = surface.descend_logistic_risk(X, y, best, learning_rate=1.0, n_steps=20)
    assert run.status == "converging"


def test_overflowing_parameters_are_reported_as_divergence(data):
    X, y = data
    run = surface.descend_logistic_risk(X, y, [0.0, 0.0], learning_rate=1e308, n_steps=5)
    assert run.diverged and run.path.shape == (1, 2) and "overflowed" in run.message


def test_learning_rate_near_the_stability_limit_oscillates():
    X, y = surface.toy_1d_dataset(seed=0)
    run = surface.descend_logistic_risk(X, y, [-2.0, 3.0], learning_rate=8.0, n_steps=30)
    assert run.status == "oscillating" and not run.diverged
    assert run.losses.max() == run.losses[0] and np.any(np.diff(run.losses) > 0)
    assert "rose at" in run.message


@pytest.mark.parametrize("kwargs, name", [({"theta0": [0.0]}, "theta0"),
                                           ({"learning_rate": 0.0}, "learning_rate"),
                                           ({"n_steps": 0}, "n_steps")])
def test_descent_rejects_bad_arguments(data, kwargs, name):
    X, y = data
    args = {"theta0": [0.0, 0.0], "learning_rate": 0.1, "n_steps": 3, **kwargs}
    with pytest.raises(ValueError, match=f"Received: {name}="):
        surface.descend_logistic_risk(X, y, **args)
