import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from crossdomain_kit.theory import risk
from crossdomain_kit.theory.losses import logistic_risk

losses_1d = st.lists(st.floats(0, 50, allow_nan=False), min_size=1, max_size=40).map(np.array)


def test_joint_risk_is_the_pooled_mean_as_written():
    source, target = np.array([1.0, 2.0, 3.0]), np.array([10.0])
    assert risk.joint_empirical_risk(source, target) == pytest.approx((1 + 2 + 3 + 10) / 4)


@given(losses_1d, losses_1d)
def test_weighted_risk_equals_joint_risk_at_alpha_n_over_n_plus_m(source, target):
    alpha = risk.alpha_from_sizes(len(source), len(target))
    assert alpha == pytest.approx(len(source) / (len(source) + len(target)))
    assert risk.weighted_risk(source, target, alpha) == pytest.approx(risk.joint_empirical_risk(source, target))


@given(losses_1d, losses_1d, st.one_of(st.none(), st.floats(0, 1)))
def test_domain_sample_weights_reproduce_the_domain_risks(source, target, alpha):
    w = risk.domain_sample_weights(len(source), len(target), alpha)
    assert w.sum() == pytest.approx(1.0) and np.all(w >= 0)
    expected = (risk.joint_empirical_risk(source, target) if alpha is None
                else risk.weighted_risk(source, target, alpha))
    assert w @ np.concatenate([source, target]) == pytest.approx(expected)


def test_stack_domains_feeds_the_logistic_risk_with_the_joint_weights():
    rng = np.random.default_rng(1)
    Xs, ys = rng.normal(size=(30, 2)), rng.integers(0, 2, 30)
    Xt, yt = rng.normal(size=(5, 2)) + 2, rng.integers(0, 2, 5)
    theta = rng.normal(size=3)
    X, y, w = risk.stack_domains(Xs, ys, Xt, yt, alpha=0.3)
    expected = 0.3 * logistic_risk(theta, Xs, ys) + 0.7 * logistic_risk(theta, Xt, yt)
    assert logistic_risk(theta, X, y, w) == pytest.approx(expected)
    X, y, w = risk.stack_domains(Xs, ys, Xt, yt)
    assert logistic_risk(theta, X, y, w) == pytest.approx(logistic_risk(theta, X, y))


@pytest.mark.parametrize("call, match", [
    (lambda: risk.weighted_risk([1.0], [1.0], 1.5), r"alpha.*\[0, 1\].*Received: alpha=1.5"),
    (lambda: risk.weighted_risk([1.0], [1.0], -0.1), r"Received: alpha=-0.1"),
    (lambda: risk.domain_sample_weights(3, 2, alpha=np.nan), r"Received: alpha=nan"),
    (lambda: risk.joint_empirical_risk([], [1.0]), r"empty.*Received: source_losses="),
    (lambda: risk.joint_empirical_risk([1.0], [np.inf]), r"NaN or infinity.*Received: target_losses="),
    (lambda: risk.alpha_from_sizes(0, 3), r"integer >= 1.*Received: n_source=0"),
    (lambda: risk.stack_domains(np.ones((2, 2)), [0, 1], np.ones((2, 3)), [0, 1]), r"same number of features"),
    (lambda: risk.stack_domains(np.ones((2, 2)), [0, 1], np.ones((2, 2)), [0]), r"Received: X_target.shape=\(2, 2\), y_target.shape=\(1,\)"),
])
def test_bad_input_names_the_argument(call, match):
    with pytest.raises(ValueError, match=match):
        call()
