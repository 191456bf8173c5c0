"""Tests of the lesson-03 exercise checkers: correct answers pass, typical mistakes get their diagnosis."""

import numpy as np
import pytest

from tests._exercise_checks import COMMON_FAILURES, assert_fails_with, assert_passes

from crossdomain_kit.workflows.data_efficiency import gain_vanishes_at, transfer_gain
from crossdomain_kit.exercises.lesson03 import (check_gain_vanishes_at, check_joint_risk_from_means,
                                                check_transfer_gain)
from crossdomain_kit.theory.risk import alpha_from_sizes, weighted_risk


# --- Joint risk from the domains' mean losses --------------------------------------------------------

@pytest.mark.parametrize("fn", [
    lambda rs, n, rt, m: (n * rs + m * rt) / (n + m),
    lambda rs, n, rt, m: weighted_risk([rs], [rt], alpha_from_sizes(n, m)),
    lambda rs, n, rt, m: np.float32((n * rs + m * rt) / (n + m)),
])
def test_correct_joint_risk_passes(fn):
    assert_passes(check_joint_risk_from_means(fn))


@pytest.mark.parametrize("fn, diagnosis", COMMON_FAILURES + [
    (lambda rs, n, rt, m: (rs + rt) / 2, "plain average"),
    (lambda rs, n, rt, m: (m * rs + n * rt) / (n + m), "sizes are swapped"),
    (lambda rs, n, rt, m: n * rs + m * rt, "divide it by the number of examples"),
    (lambda rs, n, rt, m: rs + rt, "Weight each mean"),
    (lambda rs, n, rt, m: [rs, rt], "Return one number"),
    (lambda rs, n, rt, m: 0.5, "Not quite"),
])
def test_joint_risk_mistakes_are_diagnosed(fn, diagnosis):
    assert_fails_with(check_joint_risk_from_means(fn), diagnosis)


# --- The transfer gain with its spread -----------------------------------------------------------------

@pytest.mark.parametrize("fn", [
    lambda t, s: (np.mean(t - s), np.max(t - s) - np.min(t - s)),
    lambda t, s: (transfer_gain(t, s).mean, transfer_gain(t, s).spread),
    lambda t, s: [float(np.mean(t - s)), float(np.ptp(t - s))],
])
def test_correct_transfer_gain_passes(fn):
    assert_passes(check_transfer_gain(fn))


@pytest.mark.parametrize("fn, diagnosis", COMMON_FAILURES + [
    (lambda t, s: None, "forget `return`"),
    (lambda t, s: (np.mean(s - t), np.ptp(s - t)), "Sign flipped"),
    (lambda t, s: (np.mean(t) - np.median(s), np.ptp(t - s)), "The mean gain is"),
    (lambda t, s: (np.mean(t - s), np.ptp(t)), "spread of the transfer AUCs alone"),
    (lambda t, s: (np.mean(t - s), np.ptp(t) - np.ptp(s)), "not the difference of the two spreads"),
    (lambda t, s: (np.mean(t - s), np.ptp(t) + np.ptp(s)), "Pair the seeds first"),
    (lambda t, s: (np.mean(t - s), np.std(t - s)), "standard deviation"),
    (lambda t, s: (np.mean(t - s), np.std(t - s, ddof=1)), "standard deviation"),
    (lambda t, s: (np.mean(t - s), np.min(t - s) - np.max(t - s)), "not min − max"),
    (lambda t, s: (np.mean(t - s), 1.0), "Not quite"),
    (lambda t, s: np.mean(t - s), "Return a pair of numbers"),
    (lambda t, s: t - s, "Return a pair of numbers"),
])
def test_transfer_gain_mistakes_are_diagnosed(fn, diagnosis):
    assert_fails_with(check_transfer_gain(fn), diagnosis)


# --- Where the gain vanishes -------------------------------------------------------------------------------

def _right(counts, gains, tolerance):
    vanished = None
    for count, gain in zip(counts[::-1], gains[::-1]):
        if gain > tolerance:
            break
        vanished = count
    return vanished


@pytest.mark.parametrize("fn", [_right, gain_vanishes_at,
                                lambda c, g, t: None if _right(c, g, t) is None else np.int64(_right(c, g, t))])
def test_correct_vanishing_point_passes(fn):
    assert_passes(check_gain_vanishes_at(fn))


def _first_dip(counts, gains, tolerance):
    return next((c for c, g in zip(counts, gains) if g <= tolerance), None)


def _position(counts, gains, tolerance):
    right = _right(counts, gains, tolerance)
    return None if right is None else counts.index(right)


def _strict(counts, gains, tolerance):
    vanished = None
    for count, gain in zip(counts[::-1], gains[::-1]):
        if gain >= tolerance:
            break
        vanished = count
    return vanished


def _before(counts, gains, tolerance):
    for count, gain in zip(counts[::-1], gains[::-1]):
        if gain > tolerance:
            return count
    return None


def _never_none(counts, gains, tolerance):
    right = _right(counts, gains, tolerance)
    return counts[-1] if right is None else right


@pytest.mark.parametrize("fn, diagnosis", COMMON_FAILURES + [
    (_first_dip, "first count where the gain is small"),
    (_position, "position in the list"),
    (_strict, "compare with <=, not <"),
    (_before, "last count where transfer still helps"),
    (_never_none, "return None"),
    (lambda c, g, t: "32", "Return one label count"),
    (lambda c, g, t: [32], "Return one label count"),
    (lambda c, g, t: 7, "Not quite"),
])
def test_vanishing_point_mistakes_are_diagnosed(fn, diagnosis):
    assert_fails_with(check_gain_vanishes_at(fn), diagnosis)
