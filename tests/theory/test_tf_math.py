import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
keras = pytest.importorskip("keras")

from crossdomain_kit.theory import losses, tf_math  # noqa: E402
from crossdomain_kit.theory.gradcheck import numerical_gradient  # noqa: E402


@pytest.mark.parametrize("seed", range(5))
def test_tape_gradient_wrt_logits_equals_sigmoid_minus_label(seed):
    rng = np.random.default_rng(seed)
    z, y = rng.normal(scale=5, size=50), rng.integers(0, 2, 50)
    np.testing.assert_allclose(tf_math.bce_from_logits(y, z), losses.binary_cross_entropy_from_logits(y, z), atol=1e-12)
    np.testing.assert_allclose(tf_math.tape_gradient_logits(y, z), losses.bce_gradient_logits(y, z), atol=1e-12)


@pytest.mark.parametrize("seed", range(5))
def test_numpy_tape_and_finite_differences_agree_on_the_logistic_gradient(seed):
    rng = np.random.default_rng(seed)
    X, y = rng.normal(size=(40, 3)), rng.integers(0, 2, 40)
    theta, w = rng.normal(size=4), rng.uniform(0, 1, 40)
    value, tape_grad = tf_math.tape_logistic_risk_gradient(theta, X, y, w)
    assert value == pytest.approx(losses.logistic_risk(theta, X, y, w), abs=1e-12)
    np.testing.assert_allclose(tape_grad, losses.logistic_risk_gradient(theta, X, y, w), atol=1e-12)
    np.testing.assert_allclose(tape_grad, numerical_gradient(lambda t: losses.logistic_risk(t, X, y, w), theta), atol=1e-7)


def test_extreme_logits_are_finite_in_tensorflow_too():
    z, y = np.array([1e4, -1e4, 1e4, -1e4]), np.array([1, 0, 0, 1])
    assert np.all(np.isfinite(tf_math.bce_from_logits(y, z)))
    np.testing.assert_allclose(tf_math.tape_gradient_logits(y, z), [0, 0, 1, -1])


def test_keras_binary_crossentropy_from_logits_agrees_with_ours():
    rng = np.random.default_rng(7)
    z, y = rng.normal(scale=4, size=64), rng.integers(0, 2, 64).astype(float)
    keras_loss = keras.losses.BinaryCrossentropy(from_logits=True)(y[:, None], z[:, None])
    assert float(keras_loss) == pytest.approx(losses.binary_cross_entropy_from_logits(y, z).mean(), rel=1e-5)


def test_bad_input_is_checked_before_tensorflow_sees_it():
    with pytest.raises(ValueError, match=r"Received: y_true="):
        tf_math.tape_gradient_logits([0, 3], [0.0, 1.0])
