"""Tests of the lesson-07 exercise checkers: correct answers pass, typical mistakes get their diagnosis."""

import numpy as np
import pytest

from tests._exercise_checks import COMMON_FAILURES, assert_fails_with, assert_passes

from crossdomain_kit.methods.adaptation import coral_loss
from crossdomain_kit.exercises.lesson07 import (check_coral_loss, check_proxy_a_distance,
                                                check_reversed_gradient)


def _cov(x, ddof=1, centre=True):
    c = x - x.mean(0) if centre else x
    return c.T @ c / (len(x) - ddof)


@pytest.mark.parametrize("fn", [
    lambda s, t: np.sum((np.cov(s, rowvar=False) - np.cov(t, rowvar=False)) ** 2) / (4 * s.shape[1] ** 2),
    coral_loss,
])
def test_correct_coral_passes(fn):
    assert_passes(check_coral_loss(fn))


@pytest.mark.parametrize("fn, diagnosis", COMMON_FAILURES + [
    (lambda s, t: np.sum((_cov(s, 0) - _cov(t, 0)) ** 2) / (4 * s.shape[1] ** 2), "divides by n − 1"),
    (lambda s, t: np.sum((_cov(s, centre=False) - _cov(t, centre=False)) ** 2) / (4 * s.shape[1] ** 2),
     "not centred"),
    (lambda s, t: np.linalg.norm(_cov(s) - _cov(t)) / (4 * s.shape[1] ** 2), "not squared"),
    (lambda s, t: np.sum((_cov(s) - _cov(t)) ** 2), "1/(4d²) is missing"),
    (lambda s, t: np.sum((_cov(s) - _cov(t)) ** 2) / (4 * s.shape[1]), "divided by 4d"),
    (lambda s, t: np.sum((_cov(s) - _cov(t)) ** 2) / s.shape[1] ** 2, "divided by d²"),
    (lambda s, t: _cov(s) - _cov(t), "Return one number"),
    (lambda s, t: 1.0, "Not quite"),
])
def test_coral_mistakes_are_diagnosed(fn, diagnosis):
    assert_fails_with(check_coral_loss(fn), diagnosis)


def test_correct_pad_passes():
    assert_passes(check_proxy_a_distance(lambda err: 2 * (1 - 2 * err)))


@pytest.mark.parametrize("fn, diagnosis", COMMON_FAILURES + [
    (lambda err: 1 - 2 * err, "factor 2 is missing"),
    (lambda err: 2 * (2 * err - 1), "Sign flipped"),
    (lambda err: 2 * (1 - err), "Use 2·err"),
    (lambda err: 1 - err, "accuracy"),
    (lambda err: [err, err], "Return one number"),
    (lambda err: 7.0, "Not quite"),
])
def test_pad_mistakes_are_diagnosed(fn, diagnosis):
    assert_fails_with(check_proxy_a_distance(fn), diagnosis)


def test_correct_reversal_passes():
    assert_passes(check_reversed_gradient(lambda g, lam: -lam * g))


@pytest.mark.parametrize("fn, diagnosis", COMMON_FAILURES + [
    (lambda g, lam: g, "nothing is reversed"),
    (lambda g, lam: lam * g, "sign is missing"),
    (lambda g, lam: -g, "λ is missing"),
    (lambda g, lam: -g / lam, "do not divide"),
    (lambda g, lam: (-lam * g).ravel(), "shape"),
    (lambda g, lam: -2 * lam * g, "Not quite"),
])
def test_reversal_mistakes_are_diagnosed(fn, diagnosis):
    assert_fails_with(check_reversed_gradient(fn), diagnosis)


def test_the_checkers_do_not_import_tensorflow():
    import subprocess
    import sys

    code = "import sys, crossdomain_kit.exercises.lesson07; print('tensorflow' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
