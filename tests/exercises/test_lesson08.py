"""Tests of the lesson-08 exercise checkers: correct answers pass, typical mistakes get their diagnosis."""

import numpy as np
import pytest

from tests._exercise_checks import COMMON_FAILURES, assert_fails_with, assert_passes

from crossdomain_kit.evaluation import choose_threshold
from crossdomain_kit.exercises.lesson08 import (_made_up_predictions, check_binary_labels,
                                                check_loss_from_logits, check_validation_threshold)
from crossdomain_kit.theory.losses import binary_cross_entropy_from_logits, sigmoid


# --- Exercise 1: the loss from logits --------------------------------------------------------------

@pytest.mark.parametrize("fn", [
    lambda y, z: binary_cross_entropy_from_logits(y, z).mean(),
    lambda y, z: np.mean(np.logaddexp(0, z) - y * z),
    lambda y, z: float(np.mean(-(y * np.log(sigmoid(z)) + (1 - y) * np.log(1 - sigmoid(z))))),
])
def test_correct_loss_passes(fn):
    assert_passes(check_loss_from_logits(fn))


@pytest.mark.parametrize("fn, diagnosis", COMMON_FAILURES + [
    (lambda y, z: binary_cross_entropy_from_logits(y, sigmoid(z)).mean(), "Double sigmoid"),
    (lambda y, z: binary_cross_entropy_from_logits(y, z).sum(), "summed"),
    (lambda y, z: -binary_cross_entropy_from_logits(y, z).mean(), "Sign flipped"),
    (lambda y, z: np.mean(-(sigmoid(z) * np.log(np.clip(y, 1e-7, 1 - 1e-7))
                           + (1 - sigmoid(z)) * np.log(1 - np.clip(y, 1e-7, 1 - 1e-7)))), "swapped"),
    (lambda y, z: 0.0, "one-unit softmax"),
    (lambda y, z: binary_cross_entropy_from_logits(y, z), "forget to average"),
    (lambda y, z: "loss", "Return one number"),
    (lambda y, z: 1.234, "Not quite"),
])
def test_loss_mistakes_are_diagnosed(fn, diagnosis):
    assert_fails_with(check_loss_from_logits(fn), diagnosis)


def test_the_reference_is_what_keras_computes():
    keras = pytest.importorskip("keras")
    from crossdomain_kit.exercises.lesson08 import _made_up_logits

    y, z = _made_up_logits(0)
    keras_loss = float(keras.losses.BinaryCrossentropy(from_logits=True)(y[:, None], z[:, None]))
    assert np.isclose(keras_loss, binary_cross_entropy_from_logits(y, z).mean(), rtol=1e-5)


# --- Exercise 2: one-hot labels to one column ------------------------------------------------------

@pytest.mark.parametrize("fn", [
    lambda one_hot: one_hot[:, 1:],
    lambda one_hot: one_hot[:, 1].reshape(-1, 1).astype(float),
    lambda one_hot: np.argmax(one_hot, axis=1)[:, None],
])
def test_correct_labels_pass(fn):
    assert_passes(check_binary_labels(fn))


def _to_categorical(one_hot):
    return np.eye(2)[one_hot.astype(int)]  # what keras.utils.to_categorical does to one-hot labels


@pytest.mark.parametrize("fn, diagnosis", COMMON_FAILURES + [
    (_to_categorical, "already one-hot"),
    (lambda one_hot: one_hot, "still the one-hot labels"),
    (lambda one_hot: one_hot[:, :1], "column 0"),
    (lambda one_hot: one_hot[:, 1], "reshape them to (9, 1)"),
    (lambda one_hot: "labels", "Return an array"),
    (lambda one_hot: np.ones((9, 1)), "Not quite"),
])
def test_label_mistakes_are_diagnosed(fn, diagnosis):
    assert_fails_with(check_binary_labels(fn), diagnosis)


def test_to_categorical_really_does_that():
    keras = pytest.importorskip("keras")
    one_hot = np.eye(2)[[0, 1, 1]]
    assert keras.utils.to_categorical(one_hot).shape == _to_categorical(one_hot).shape == (3, 2, 2)


# --- Exercise 3: the threshold from validation -----------------------------------------------------

@pytest.mark.parametrize("fn", [
    lambda y_val, p_val, y_test, p_test: choose_threshold(y_val, p_val),
])
def test_correct_threshold_passes(fn):
    assert_passes(check_validation_threshold(fn))


@pytest.mark.parametrize("fn, diagnosis", COMMON_FAILURES + [
    (lambda y_val, p_val, y_test, p_test: choose_threshold(y_test, p_test), "on the test split"),
    (lambda y_val, p_val, y_test, p_test: 0.5, "0.5 is a default"),
    (lambda y_val, p_val, y_test, p_test: np.array([0.5, 0.6]), "Return one number"),
    (lambda y_val, p_val, y_test, p_test: 0.99, "Not quite"),
])
def test_threshold_mistakes_are_diagnosed(fn, diagnosis):
    assert_fails_with(check_validation_threshold(fn), diagnosis)


def test_the_made_up_thresholds_are_distinct():
    y_val, p_val, y_test, p_test = _made_up_predictions(0)
    t_val, t_test = choose_threshold(y_val, p_val), choose_threshold(y_test, p_test)
    assert not np.array_equal(p_val >= t_val, p_val >= t_test)
    assert not np.array_equal(p_val >= t_val, p_val >= 0.5)
    assert not np.array_equal(p_test >= t_val, p_test >= t_test)


def test_the_checkers_do_not_import_tensorflow():
    import subprocess
    import sys

    code = ("import sys, crossdomain_kit.exercises.lesson08; "
            "print('tensorflow' in sys.modules, 'keras' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]
