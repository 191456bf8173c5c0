import numpy as np
import pytest

from crossdomain_kit.theory.logistic import LogisticRegressionGD
from crossdomain_kit.theory.losses import logistic_risk


def _blobs(seed=0, n=200):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    X = rng.normal(size=(n, 2)) + np.where(y[:, None] == 1, 1.5, -1.5)
    return X, y


def test_init_only_stores_arguments():
    model = LogisticRegressionGD(learning_rate=0.1, n_steps=7)
    assert vars(model) == {"learning_rate": 0.1, "n_steps": 7}


def test_fit_learns_separable_blobs_and_the_loss_decreases():
    X, y = _blobs()
    model = LogisticRegressionGD(learning_rate=0.5, n_steps=200).fit(X, y)
    assert model.score(X, y) > 0.95
    assert model.loss_curve_[-1] < model.loss_curve_[0]
    assert model.loss_curve_[-1] == pytest.approx(logistic_risk(model.theta_, X, y))
    assert model.path_.shape == (201, 3)
    np.testing.assert_allclose(model.predict_proba(X).sum(axis=1), 1.0)
    np.testing.assert_array_equal(model.predict(X), (model.predict_proba(X)[:, 1] > 0.5).astype(int))


def test_training_is_deterministic():
    X, y = _blobs(3)
    a = LogisticRegressionGD().fit(X, y).theta_
    b = LogisticRegressionGD().fit(X, y).theta_
    np.testing.assert_array_equal(a, b)


def test_sample_weights_change_the_solution():
    X, y = _blobs(1)
    w = np.where(y == 1, 10.0, 1.0)
    plain = LogisticRegressionGD().fit(X, y)
    weighted = LogisticRegressionGD().fit(X, y, sample_weight=w)
    assert weighted.intercept_ > plain.intercept_  # positives weigh more: the boundary moves away from them


def test_unfitted_model_says_to_fit_first():
    with pytest.raises(RuntimeError, match="fit"):
        LogisticRegressionGD().predict(np.zeros((1, 2)))


def test_bad_hyperparameters_are_reported_at_fit():
    X, y = _blobs()
    with pytest.raises(ValueError, match=r"Received: learning_rate=-1"):
        LogisticRegressionGD(learning_rate=-1).fit(X, y)
    with pytest.raises(ValueError, match=r"Received: n_steps=0"):
        LogisticRegressionGD(n_steps=0).fit(X, y)
