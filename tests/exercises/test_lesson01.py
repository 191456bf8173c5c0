"""Tests of the lesson-01 exercise checkers: correct answers pass, typical mistakes get their diagnosis."""

import numpy as np
import pytest

from tests._exercise_checks import COMMON_FAILURES, assert_fails_with, assert_passes

from crossdomain_kit.exercises.lesson01 import (
    check_alpha_for_joint,
    check_domain_weights,
    check_gradient_step,
    check_joint_risk,
)


# ------------------------------------------------------------------ joint risk

@pytest.mark.parametrize("fn", [
    lambda s, t: (s.sum() + t.sum()) / (len(s) + len(t)),
    lambda s, t: np.mean(np.concatenate([s, t])),
    lambda s, t: np.float32(np.concatenate([s, t]).mean()),
    lambda s, t: np.array([np.r_[s, t].mean()]),  # one number in a length-1 array is fine
])
def test_correct_joint_risks_pass(fn):
    assert_passes(check_joint_risk(fn))


@pytest.mark.parametrize("fn, diagnosis", COMMON_FAILURES + [
    (lambda s, t: (s.mean() + t.mean()) / 2, "averaged the two domain means"),
    (lambda s, t: s.sum() + t.sum(), "1/(N+M) is missing"),
    (lambda s, t: (s.sum() + t.sum()) / len(s), "divided by N"),
    (lambda s, t: (s.sum() + t.sum()) / len(t), "divided by M"),
    (lambda s, t: s.mean() + t.mean(), "added the two domain means"),
    (lambda s, t: (len(t) * s.mean() + len(s) * t.mean()) / (len(s) + len(t)), "swapped"),
    (lambda s, t: s.mean(), "source risk R_S only"),
    (lambda s, t: t.mean(), "target risk R_T only"),
    (lambda s, t: np.r_[s, t], "returned 10 numbers"),
    (lambda s, t: "0.5", "Not quite"),  # a numeric string converts, but to the wrong number
    (lambda s, t: {"risk": 1.0}, "Return one number"),
    (lambda s, t: (s.sum() + t.sum()) / (len(s) + len(t) - 1), "Not quite"),
])
def test_joint_risk_mistakes_are_diagnosed(fn, diagnosis):
    assert_fails_with(check_joint_risk(fn), diagnosis)


def test_joint_risk_checker_uses_unequal_sizes_so_mean_of_means_is_caught_every_time():
    for seed in range(5):
        assert not check_joint_risk(lambda s, t: (s.mean() + t.mean()) / 2, seed=seed).passed


# ------------------------------------------------------------------ alpha for the joint risk

@pytest.mark.parametrize("fn", [
    lambda n, m: n / (n + m),
    lambda n, m: 1 - m / (n + m),
    lambda n, m: np.float32(n) / np.float32(n + m),
])
def test_correct_alphas_pass(fn):
    assert_passes(check_alpha_for_joint(fn))


@pytest.mark.parametrize("fn, diagnosis", COMMON_FAILURES + [
    (lambda n, m: m / (n + m), "Swapped"),
    (lambda n, m: 0.5, "equal weight"),
    (lambda n, m: n / m, "ratio of the sizes"),
    (lambda n, m: m / n, "ratio of the sizes"),
    (lambda n, m: 1 / (n + m), "weight of one example"),
    (lambda n, m: 100 * n / (n + m), "percentage"),
    (lambda n, m: 200 / 206, "whatever N and M are"),
    (lambda n, m: (n + 1) / (n + m), "Not quite"),
    (lambda n, m: [n, m], "returned 2 numbers"),
])
def test_alpha_mistakes_are_diagnosed(fn, diagnosis):
    assert_fails_with(check_alpha_for_joint(fn), diagnosis)


# ------------------------------------------------------------------ per-example domain weights

def _weights(n, m, alpha):
    return np.concatenate([np.full(n, alpha / n), np.full(m, (1 - alpha) / m)])


@pytest.mark.parametrize("fn", [
    _weights,
    lambda n, m, a: [a / n] * n + [(1 - a) / m] * m,
    lambda n, m, a: _weights(n, m, a).astype(np.float32),
])
def test_correct_domain_weights_pass(fn):
    assert_passes(check_domain_weights(fn))


@pytest.mark.parametrize("fn, diagnosis", COMMON_FAILURES + [
    (lambda n, m, a: _weights(n, m, 1 - a), "Swapped"),
    (lambda n, m, a: np.r_[np.full(n, a), np.full(m, 1 - a)], "Divide by the domain size"),
    (lambda n, m, a: np.r_[np.full(n, a), np.full(m, 1 - a)] / (n + m), "divided by N + M"),
    (lambda n, m, a: np.full(n + m, 1 / (n + m)), "α is ignored"),
    (lambda n, m, a: _weights(n, m, a)[::-1], "wrong order"),
    (lambda n, m, a: _weights(n, m, a)[:, None], "return a flat array"),
    (lambda n, m, a: _weights(n, m, a)[:-1], "Wrong shape"),
    (lambda n, m, a: 2 * _weights(n, m, a), "sum to 2"),
    (lambda n, m, a: _weights(n, m, a) if a == 0.2 else np.full(n + m, 1 / (n + m)),
     "α is ignored"),  # right on the first case only: the second one is checked too
    (lambda n, m, a: "weights", "Return an array of"),
])
def test_domain_weight_mistakes_are_diagnosed(fn, diagnosis):
    assert_fails_with(check_domain_weights(fn), diagnosis)


def test_domain_weights_that_sum_to_one_but_are_wrong_point_at_an_entry():
    def uneven(n, m, a):
        w = _weights(n, m, a)
        w[0], w[1] = w[0] + 0.01, w[1] - 0.005  # still summing to one after the next line
        w[2] -= 0.005
        return w

    assert_fails_with(check_domain_weights(uneven), "weight 0 should be 0.0285714")


# ------------------------------------------------------------------ one gradient-descent step

def _in_place(theta, gradient, learning_rate):
    theta -= learning_rate * gradient
    return theta


@pytest.mark.parametrize("fn", [
    lambda theta, g, eta: theta - eta * g,
    lambda theta, g, eta: list(theta - eta * g),
    lambda theta, g, eta: np.subtract(theta, np.multiply(eta, g)),
])
def test_correct_gradient_steps_pass(fn):
    assert_passes(check_gradient_step(fn))


@pytest.mark.parametrize("fn, diagnosis", COMMON_FAILURES + [
    (lambda theta, g, eta: theta + eta * g, "Uphill"),
    (lambda theta, g, eta: theta - g, "learning rate is missing"),
    (lambda theta, g, eta: theta - g / eta, "divided by the learning rate"),
    (lambda theta, g, eta: -eta * g, "the step −η∇L only"),
    (lambda theta, g, eta: eta * g, "returned η∇L"),
    (lambda theta, g, eta: theta - 2 * eta * g, "Not quite"),
    (lambda theta, g, eta: (theta - eta * g)[:2], "Wrong shape"),
    (_in_place, "changed `theta` in place"),
])
def test_gradient_step_mistakes_are_diagnosed(fn, diagnosis):
    assert_fails_with(check_gradient_step(fn), diagnosis)
