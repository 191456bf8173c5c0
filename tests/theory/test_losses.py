import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from crossdomain_kit.theory import losses
from crossdomain_kit.theory.gradcheck import numerical_gradient

finite = st.floats(-30, 30, allow_nan=False, allow_infinity=False)
# In the probability form 1 - σ(z) loses digits as |z| grows (the reason from_logits exists),
# so the two forms are compared where float64 still holds them both exactly enough.
moderate = st.floats(-15, 15, allow_nan=False, allow_infinity=False)


def test_sigmoid_is_stable_at_extreme_logits():
    with np.errstate(over="raise", invalid="raise", divide="raise"):  # overflow would fail the test
        s = losses.sigmoid(np.array([-1e4, -50.0, 0.0, 50.0, 1e4]))
    np.testing.assert_allclose(s, [0.0, np.exp(-50) / (1 + np.exp(-50)), 0.5, 1 / (1 + np.exp(-50)), 1.0])


@given(hnp.arrays(np.float64, st.integers(1, 20), elements=moderate))
def test_logit_inverts_the_sigmoid(z):
    np.testing.assert_allclose(losses.logit(losses.sigmoid(z)), z, rtol=1e-9, atol=1e-8)


def test_logit_is_the_log_odds():
    priors = [0.742, 0.74, 0.625, 0.5, 0.3, 0.1, 0.2, 0.6]
    # the scalar helper it replaced in evaluation and exercises.lesson05
    np.testing.assert_array_equal(losses.logit(priors), [math.log(q / (1 - q)) for q in priors])
    assert losses.logit(0.5) == 0.0 and losses.logit(0.74) == pytest.approx(1.0459685)
    np.testing.assert_array_equal(losses.logit([0.0, 1.0]), [-np.inf, np.inf])


@given(hnp.arrays(np.float64, st.integers(1, 20), elements=moderate))
def test_from_logits_equals_the_probability_form_where_both_are_exact(z):
    y = (np.arange(z.size) % 2).astype(float)
    p = 1 / (1 + np.exp(-z))
    np.testing.assert_allclose(losses.binary_cross_entropy_from_logits(y, z),
                               losses.binary_cross_entropy(y, p, epsilon=0.0), rtol=1e-6, atol=1e-9)


@given(hnp.arrays(np.float64, st.integers(1, 20), elements=finite))
@settings(max_examples=50)
def test_gradient_wrt_logits_is_sigmoid_minus_label_and_matches_finite_differences(z):
    y = (np.arange(z.size) % 3 == 0).astype(float)
    analytic = losses.bce_gradient_logits(y, z)
    np.testing.assert_allclose(analytic, losses.sigmoid(z) - y)
    numeric = numerical_gradient(lambda t: losses.binary_cross_entropy_from_logits(y, t).sum(), z)
    np.testing.assert_allclose(analytic, numeric, atol=1e-7)


def test_extreme_logits_give_finite_losses_and_gradients():
    z = np.array([1e4, -1e4, 1e4, -1e4])
    y = np.array([1.0, 0.0, 0.0, 1.0])
    loss = losses.binary_cross_entropy_from_logits(y, z)
    np.testing.assert_allclose(loss, [0.0, 0.0, 1e4, 1e4])
    np.testing.assert_allclose(losses.bce_gradient_logits(y, z), [0.0, 0.0, 1.0, -1.0])


def test_probability_form_clips_like_keras_and_shows_the_log0_trap_without_clipping():
    y, p = np.array([1.0]), np.array([0.0])
    assert np.isinf(losses.binary_cross_entropy(y, p, epsilon=0.0))[0]
    np.testing.assert_allclose(losses.binary_cross_entropy(y, p), -np.log(losses.KERAS_EPSILON))


@given(st.integers(1, 30), st.integers(1, 4), st.integers(0, 2**32 - 1))
@settings(max_examples=40, deadline=None)
def test_logistic_gradient_matches_finite_differences(n, d, seed):
    rng = np.random.default_rng(seed)
    X, y = rng.normal(size=(n, d)), rng.integers(0, 2, n)
    theta, weights = rng.normal(size=d + 1), rng.uniform(0.1, 1, n)
    for s in (None, weights):
        numeric = numerical_gradient(lambda t: losses.logistic_risk(t, X, y, s), theta)
        np.testing.assert_allclose(losses.logistic_risk_gradient(theta, X, y, s), numeric, atol=1e-7)


def test_logistic_risk_is_the_mean_loss_of_the_logits():
    rng = np.random.default_rng(0)
    X, y, theta = rng.normal(size=(8, 2)), rng.integers(0, 2, 8), rng.normal(size=3)
    z = losses.logistic_logits(theta, X)
    np.testing.assert_allclose(z, X @ theta[:2] + theta[2])
    assert losses.logistic_risk(theta, X, y) == pytest.approx(losses.binary_cross_entropy_from_logits(y, z).mean())


@pytest.mark.parametrize("call, match", [
    (lambda: losses.binary_cross_entropy_from_logits([0, 1], [0.1]), r"same shape.*y_true.shape=\(2,\), logits.shape=\(1,\)"),
    (lambda: losses.binary_cross_entropy_from_logits([0, 2], [0.1, 0.2]), r"only 0 and 1.*Received: y_true="),
    (lambda: losses.bce_gradient_logits([], []), r"must not be empty.*Received: y_true="),
    (lambda: losses.bce_gradient_logits([0, 1], [np.nan, 0.0]), r"NaN or infinity.*Received: logits="),
    (lambda: losses.binary_cross_entropy([1], [np.inf]), r"NaN or infinity.*Received: y_prob="),
    (lambda: losses.binary_cross_entropy([1], [1.5]), r"probabilities in \[0, 1\].*sigmoid.*Received: y_prob="),
    (lambda: losses.logistic_risk([0.0, 0.0], np.ones((3, 2)), [0, 1, 1]), r"theta.*length 3.*Received: theta.shape=\(2,\)"),
    (lambda: losses.logistic_risk([0.0, 0.0, 0.0], np.ones((3, 2)), [0, 1]), r"one label per row.*Received: X.shape=\(3, 2\), y_true.shape=\(2,\)"),
    (lambda: losses.logistic_risk([0.0, 0.0, 0.0], np.ones((2, 2)), [0, 1], [-1, 1]), r"non-negative.*Received: sample_weight="),
])
def test_bad_input_names_the_argument_and_the_received_value(call, match):
    with pytest.raises(ValueError, match=match):
        call()
