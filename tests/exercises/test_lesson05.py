import math

import numpy as np
import pytest

from crossdomain_kit.exercises._feedback import NOT_IMPLEMENTED
from crossdomain_kit.exercises.lesson05 import (check_bayes_threshold, check_gradcam_map,
                                                check_sensitivity_specificity)


def _not_written(*args):
    raise NotImplementedError


def _rates(y, p, t, strict=False):
    called = p > t if strict else p >= t
    y = np.asarray(y) == 1
    return np.mean(called[y]), np.mean(~called[~y])


def test_sensitivity_specificity_passes_the_right_answer():
    assert check_sensitivity_specificity(lambda y, p, t: _rates(y, p, t))
    assert check_sensitivity_specificity(lambda y, p, t: list(_rates(y, p, t)), seed=3)


@pytest.mark.parametrize("answer, hint", [
    (lambda y, p, t: _rates(y, p, t)[::-1], "swap them"),
    (lambda y, p, t: _rates(y, p, t, strict=True), "not `>`"),
    (lambda y, p, t: (np.mean(y[p >= t]), np.mean(1 - y[p < t])), "PPV, NPV"),
    (lambda y, p, t: (_rates(y, p, t)[0], 1 - _rates(y, p, t)[1]), "false-positive rate"),
    (lambda y, p, t: _rates(1 - y, p, t), "label 0 as the positive class"),
    (lambda y, p, t: (0.5, 0.5), "Count TP, FN, TN, FP"),
    (lambda y, p, t: 0.5, "two numbers"),
    (lambda y, p, t: "0.5", "two numbers"),
])
def test_sensitivity_specificity_names_the_mistake(answer, hint):
    feedback = check_sensitivity_specificity(answer)
    assert not feedback and hint in feedback.message


def _logit(q):
    return math.log(q / (1 - q))


def _sigmoid(z):
    return 1 / (1 + math.exp(-z))


def test_bayes_threshold_passes_the_right_answer():
    assert check_bayes_threshold(lambda c, d: _sigmoid(_logit(c) - _logit(d)))
    assert check_bayes_threshold(lambda c, d: np.array([_sigmoid(_logit(c) - _logit(d))]))


@pytest.mark.parametrize("answer, hint", [
    (lambda c, d: _sigmoid(_logit(d) - _logit(c)), "swapped"),
    (lambda c, d: _logit(c) - _logit(d), "apply the sigmoid"),
    (lambda c, d: 0.5 + c - d, "do not add"),
    (lambda c, d: 0.5, "only when the two priors are equal"),
    (lambda c, d: c * d, "Work on the logit scale"),
    (lambda c, d: (0.5, 0.5), "one number"),
])
def test_bayes_threshold_names_the_mistake(answer, hint):
    feedback = check_bayes_threshold(answer)
    assert not feedback and hint in feedback.message


def _cam(maps, grads):
    return np.maximum((grads.mean(axis=(1, 2), keepdims=True) * maps).sum(axis=-1), 0)


def test_gradcam_map_passes_the_right_answer():
    assert check_gradcam_map(_cam)
    assert check_gradcam_map(lambda a, g: np.maximum(np.einsum("nhwk,nk->nhw", a, g.mean(axis=(1, 2))), 0),
                             seed=2)


@pytest.mark.parametrize("answer, hint", [
    (lambda a, g: np.maximum((g.sum(axis=(1, 2), keepdims=True) * a).sum(axis=-1), 0), "MEAN"),
    (lambda a, g: (g.mean(axis=(1, 2), keepdims=True) * a).sum(axis=-1), "apply a ReLU"),
    (lambda a, g: np.abs((g.mean(axis=(1, 2), keepdims=True) * a).sum(axis=-1)), "not an absolute"),
    (lambda a, g: np.maximum((g * a).sum(axis=-1), 0), "place by place"),
    (lambda a, g: _cam(a, g)[..., None], "wrong shape (3, 4, 5, 1)"),
    (lambda a, g: _cam(a, g).mean(axis=0), "Expected maps of shape (3, 4, 5)"),
    (lambda a, g: _cam(a, g) + 1, "Not quite"),
    (lambda a, g: "maps", "one array"),
])
def test_gradcam_map_names_the_mistake(answer, hint):
    feedback = check_gradcam_map(answer)
    assert not feedback and hint in feedback.message


@pytest.mark.parametrize("checker", [check_sensitivity_specificity, check_bayes_threshold, check_gradcam_map])
def test_stubs_say_not_implemented_and_errors_are_reported(checker):
    feedback = checker(_not_written)
    assert not feedback and feedback.message == NOT_IMPLEMENTED
    assert str(feedback).startswith("❌")
    raising = checker(lambda *args: 1 / 0)
    assert not raising and "ZeroDivisionError" in raising.message
    assert not checker("not a function")
