import numpy as np
import pytest

from crossdomain_kit.exercises import Feedback
from crossdomain_kit.exercises.lesson02 import check_bce_gradient, check_logistic_gradient
from crossdomain_kit.theory.losses import sigmoid


def naive_sigmoid(z):
    return 1 / (1 + np.exp(-z))


def overflowing_sigmoid(z):
    return np.exp(z) / (1 + np.exp(z))  # inf / inf = nan for large z


# ---------------------------------------------------------------- ∂ℓ/∂z per example

def _not_implemented(y, z):
    raise NotImplementedError


def _raises(y, z):
    return y.missing_attribute


def _returns_nothing(y, z):
    sigmoid(z) - y


CORRECT_BCE = [
    lambda y, z: sigmoid(z) - y,
    lambda y, z: naive_sigmoid(z) - y,     # overflows harmlessly to the right limit
    lambda y, z: list(sigmoid(z) - y),     # any array-like is fine
    lambda y, z: (sigmoid(z) - y).astype(np.float32),
]


@pytest.mark.parametrize("fn", CORRECT_BCE)
def test_correct_bce_gradients_pass(fn):
    feedback = check_bce_gradient(fn)
    assert isinstance(feedback, Feedback) and feedback.passed, feedback.message
    assert str(feedback).startswith("✅")


@pytest.mark.parametrize("fn, diagnosis", [
    (_not_implemented, "Not implemented yet"),
    (_returns_nothing, "forget `return`"),
    (_raises, "raised AttributeError"),
    (lambda y, z: y - sigmoid(z), "Flipped sign"),
    (lambda y, z: sigmoid(sigmoid(z)) - y, "Sigmoid applied twice"),
    (lambda y, z: z - y, "sigmoid is missing"),
    (lambda y, z: sigmoid(z) - (1 - y), "labels are swapped"),
    (lambda y, z: (sigmoid(z) - y) * sigmoid(z) * (1 - sigmoid(z)), "Extra factor"),
    (lambda y, z: (sigmoid(z) - y) / (sigmoid(z) * (1 - sigmoid(z))), "dℓ/dŷ"),
    (lambda y, z: (sigmoid(z) - y) / len(z), "Extra mean"),
    (lambda y, z: np.mean(sigmoid(z) - y), "the mean gradient"),
    (lambda y, z: np.sum(sigmoid(z) - y), "the summed gradient"),
    (lambda y, z: (sigmoid(z) - y)[:, None], "Wrong shape"),
    (lambda y, z: (sigmoid(z) - y)[:-1], "Wrong shape"),
    (lambda y, z: "σ(z) − y", "one array of numbers"),
    (lambda y, z: np.full_like(z, np.nan), "NaN or infinity"),
    (lambda y, z: sigmoid(z) - y + 0.01, "Not quite"),
    (lambda y, z: overflowing_sigmoid(z) - y, "z = ±1000"),
])
def test_each_bce_mistake_gets_its_diagnosis(fn, diagnosis):
    feedback = check_bce_gradient(fn)
    assert not feedback.passed
    assert diagnosis in feedback.message, feedback.message


def test_bce_checker_rejects_a_value_instead_of_a_function():
    feedback = check_bce_gradient(np.zeros(3))
    assert not feedback.passed and "function itself" in feedback.message


def test_bce_checker_does_not_let_the_learner_change_its_inputs():
    def mutating(y, z):
        z[:] = 0.0
        return sigmoid(z) - y
    assert not check_bce_gradient(mutating).passed
    # The inputs were copies: a mutation cannot make the reference itself wrong.
    assert check_bce_gradient(lambda y, z: sigmoid(z) - y).passed


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_bce_diagnoses_hold_for_other_seeds(seed):
    assert check_bce_gradient(lambda y, z: sigmoid(z) - y, seed=seed).passed
    assert "Flipped sign" in check_bce_gradient(lambda y, z: y - sigmoid(z), seed=seed).message


# ---------------------------------------------------------------- ∇θ of the logistic risk

def _residual(theta, X, y, link=sigmoid, use_bias=True):
    return link(X @ theta[:-1] + (theta[-1] if use_bias else 0.0)) - y


def correct_gradient(theta, X, y):
    r = _residual(theta, X, y)
    return np.append(X.T @ r, r.sum()) / len(y)


@pytest.mark.parametrize("fn", [
    correct_gradient,
    lambda t, X, y: np.append(np.mean(_residual(t, X, y)[:, None] * X, axis=0),
                              np.mean(_residual(t, X, y))),
    lambda t, X, y: np.concatenate([X, np.ones((len(y), 1))], axis=1).T
    @ (naive_sigmoid(np.concatenate([X, np.ones((len(y), 1))], axis=1) @ t) - y) / len(y),
])
def test_correct_logistic_gradients_pass(fn):
    feedback = check_logistic_gradient(fn)
    assert feedback.passed, feedback.message


@pytest.mark.parametrize("fn, diagnosis", [
    (lambda t, X, y: None, "Not implemented yet"),
    (lambda t, X, y: -correct_gradient(t, X, y), "Flipped sign"),
    (lambda t, X, y: correct_gradient(t, X, y) * len(y), "Missing mean"),
    (lambda t, X, y: correct_gradient(t, X, y) / len(y), "Extra mean"),
    (lambda t, X, y: correct_gradient(t, X, y)[:-1], "bias is missing"),
    (lambda t, X, y: np.append(correct_gradient(t, X, y)[:-1], 0.0), "∂R/∂b is zero"),
    (lambda t, X, y: np.roll(correct_gradient(t, X, y), 1), "bias entry is first"),
    (lambda t, X, y: np.append(X.T @ _residual(t, X, y, use_bias=False),
                               _residual(t, X, y, use_bias=False).sum()) / len(y), "ignore the bias"),
    (lambda t, X, y: np.append(X.T @ _residual(t, X, y, link=lambda z: sigmoid(sigmoid(z))),
                               _residual(t, X, y, link=lambda z: sigmoid(sigmoid(z))).sum()) / len(y),
     "Sigmoid applied twice"),
    (lambda t, X, y: np.append(X.T @ _residual(t, X, y, link=lambda z: z),
                               _residual(t, X, y, link=lambda z: z).sum()) / len(y),
     "sigmoid is missing"),
    (lambda t, X, y: correct_gradient(t, X, y)[None, :], "Wrong shape"),
    (lambda t, X, y: (0.5, correct_gradient(t, X, y)), "one array of numbers"),
    (lambda t, X, y: np.append(X.T @ (overflowing_sigmoid(X @ t[:-1] + t[-1]) - y),
                               (overflowing_sigmoid(X @ t[:-1] + t[-1]) - y).sum()) / len(y),
     "logits are in the hundreds"),
    (lambda t, X, y: 1 / 0, "raised ZeroDivisionError"),
])
def test_each_logistic_mistake_gets_its_diagnosis(fn, diagnosis):
    feedback = check_logistic_gradient(fn)
    assert not feedback.passed
    assert diagnosis in feedback.message, feedback.message


def test_extra_sigmoid_derivative_factor_is_named():
    def extra_factor(t, X, y):
        s = sigmoid(X @ t[:-1] + t[-1])
        r = (s - y) * s * (1 - s)
        return np.append(X.T @ r, r.sum()) / len(y)
    assert "Extra factor" in check_logistic_gradient(extra_factor).message
