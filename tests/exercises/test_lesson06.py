"""Tests of the lesson-06 exercise checkers: correct answers pass, typical mistakes get their diagnosis."""

import numpy as np
import pytest

from tests._exercise_checks import COMMON_FAILURES, assert_fails_with, assert_passes

from crossdomain_kit.methods.adversarial import fgsm_step, logistic_input_gradient
from crossdomain_kit.exercises.lesson06 import (check_early_stopping, check_fgsm_step,
                                                check_logistic_input_gradient)
from crossdomain_kit.theory.losses import sigmoid


@pytest.mark.parametrize("fn", [
    lambda x, g, eps, low, high: np.clip(x + eps * np.sign(g), low, high),
    lambda x, g, eps, low, high: fgsm_step(x, g, eps, (low, high)),
])
def test_correct_fgsm_passes(fn):
    assert_passes(check_fgsm_step(fn))


@pytest.mark.parametrize("fn, diagnosis", COMMON_FAILURES + [
    (lambda x, g, eps, low, high: np.clip(x + eps * g, low, high), "its sign"),
    (lambda x, g, eps, low, high: np.clip(x - eps * np.sign(g), low, high), "Wrong direction"),
    (lambda x, g, eps, low, high: x + eps * np.sign(g), "Clip the result"),
    (lambda x, g, eps, low, high: np.clip(x, low, high) + eps * np.sign(g), "Clip the result"),
    (lambda x, g, eps, low, high: x[0], "shape (3, 4, 4, 1)"),
    (lambda x, g, eps, low, high: x, "Not quite"),
])
def test_fgsm_mistakes_are_diagnosed(fn, diagnosis):
    assert_fails_with(check_fgsm_step(fn), diagnosis)


@pytest.mark.parametrize("fn", [
    lambda x, y, w, b: (sigmoid(x @ w + b) - y)[:, None] * w,
    logistic_input_gradient,
])
def test_correct_input_gradient_passes(fn):
    assert_passes(check_logistic_input_gradient(fn))


@pytest.mark.parametrize("fn, diagnosis", COMMON_FAILURES + [
    (lambda x, y, w, b: (y - sigmoid(x @ w + b))[:, None] * w, "Sign flipped"),
    (lambda x, y, w, b: (sigmoid(x @ w + b) - y)[:, None] * x, "with respect to the weights"),
    (lambda x, y, w, b: (x @ w + b - y)[:, None] * w, "sigmoid is missing"),
    (lambda x, y, w, b: (sigmoid(x @ w + b) - y)[:, None] * w / len(y), "do not divide by n"),
    (lambda x, y, w, b: sigmoid(x @ w + b) - y, "shape (5, 3)"),
    (lambda x, y, w, b: np.zeros_like(x), "Not quite"),
])
def test_input_gradient_mistakes_are_diagnosed(fn, diagnosis):
    assert_fails_with(check_logistic_input_gradient(fn), diagnosis)


def _right(losses, patience):
    best = 0
    for epoch in range(1, len(losses)):
        if losses[epoch] < losses[best]:
            best = epoch
        elif epoch - best >= patience:
            return epoch + 1, best
    return len(losses), best


def _late(losses, patience):
    return _right(losses, patience + 1)


def _early(losses, patience):
    best = 0
    for epoch in range(1, len(losses)):
        if losses[epoch] < losses[best]:
            best = epoch
        elif epoch - best >= patience - 1:
            return epoch + 1, best
    return len(losses), best


def test_correct_early_stopping_passes():
    assert_passes(check_early_stopping(_right))


@pytest.mark.parametrize("fn, diagnosis", COMMON_FAILURES + [
    (lambda losses, patience: (_right(losses, patience)[0], _right(losses, patience)[0] - 1), "last epoch"),
    (lambda losses, patience: (_right(losses, patience)[0], int(np.argmin(losses))), "whole list"),
    (_late, "one epoch late"),
    (_early, "one epoch early"),
    (lambda losses, patience: ("a", 0), "two integers"),
    (lambda losses, patience: [len(losses), 0], "Return a pair"),
    (lambda losses, patience: (1, 1), "Not quite"),
])
def test_early_stopping_mistakes_are_diagnosed(fn, diagnosis):
    assert_fails_with(check_early_stopping(fn), diagnosis)


def test_the_checker_agrees_with_run_epochs_patience_rule():
    """The reference rule is the kit's: see tests/training/test_fit.py for run_epochs itself."""
    assert _right([0.9, 0.7, 0.6, 0.62, 0.65, 0.5, 0.4], 2) == (5, 2)
