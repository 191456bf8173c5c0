import numpy as np
import pytest

from crossdomain_kit.theory.gradcheck import numerical_gradient, relative_error


def test_central_differences_are_second_order_accurate():
    f = lambda t: float(np.sum(np.sin(t) * t**2))
    theta = np.array([[0.3, -1.2], [2.0, 0.7]])
    exact = np.cos(theta) * theta**2 + 2 * theta * np.sin(theta)
    assert np.max(np.abs(numerical_gradient(f, theta) - exact)) < 1e-8


def test_relative_error_is_scale_aware():
    assert relative_error([1000.0], [1001.0]) == pytest.approx(1 / 1001)
    assert relative_error([1e-3], [2e-3]) == pytest.approx(1e-3)


def test_bad_step_is_rejected():
    with pytest.raises(ValueError, match=r"Received: eps=0"):
        numerical_gradient(lambda t: 0.0, [1.0], eps=0)
