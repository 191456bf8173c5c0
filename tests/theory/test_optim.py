import numpy as np
import pytest

from crossdomain_kit.theory.optim import gradient_descent, gradient_descent_step


def test_step_moves_against_the_gradient_and_leaves_the_input_alone():
    theta = np.array([1.0, -2.0])
    new = gradient_descent_step(theta, np.array([0.5, -1.0]), learning_rate=0.1)
    np.testing.assert_allclose(new, [0.95, -1.9])
    np.testing.assert_array_equal(theta, [1.0, -2.0])


def test_descent_on_a_quadratic_converges_and_records_the_path():
    target = np.array([3.0, -1.0])
    theta, path, losses = gradient_descent(lambda t: float(np.sum((t - target) ** 2)),
                                           lambda t: 2 * (t - target), np.zeros(2), 0.25, 40)
    np.testing.assert_allclose(theta, target, atol=1e-9)
    assert path.shape == (41, 2) and losses.shape == (41,)
    assert np.all(np.diff(losses) <= 0)


def test_divergence_is_reported_with_the_fix():
    with np.errstate(over="ignore"), pytest.raises(
            ValueError, match=r"diverged.*lower the learning rate.*Received: learning_rate=1e\+200"):
        gradient_descent(lambda t: float(t @ t), lambda t: 2 * t, np.ones(2), 1e200, 5)


@pytest.mark.parametrize("lr", [0, -0.1, np.inf, True])
def test_learning_rate_must_be_positive(lr):
    with pytest.raises(ValueError, match=r"learning_rate"):
        gradient_descent_step(np.zeros(2), np.zeros(2), lr)


def test_shape_mismatch_is_rejected():
    with pytest.raises(ValueError, match=r"Received: theta.shape=\(2,\), gradient.shape=\(3,\)"):
        gradient_descent_step(np.zeros(2), np.zeros(3), 0.1)
