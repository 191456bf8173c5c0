import numpy as np
import pytest

from crossdomain_kit.theory import double_sigmoid as ds
from crossdomain_kit.theory.gradcheck import numerical_gradient
from crossdomain_kit.theory.losses import binary_cross_entropy_from_logits, bce_gradient_logits

Z = np.linspace(-40, 40, 161)


def test_floor_is_log_one_plus_inverse_e():
    assert ds.DOUBLE_SIGMOID_LOSS_FLOOR == pytest.approx(np.log(1 + np.exp(-1)), rel=1e-15)
    assert ds.DOUBLE_SIGMOID_LOSS_FLOOR == pytest.approx(0.3133, abs=1e-4)


def test_confident_correct_predictions_never_reach_zero_loss():
    ones, zeros = np.ones_like(Z), np.zeros_like(Z)
    pos, neg = ds.double_sigmoid_loss(ones, Z), ds.double_sigmoid_loss(zeros, Z)
    assert pos.min() >= ds.DOUBLE_SIGMOID_LOSS_FLOOR - 1e-15
    assert pos[-1] == pytest.approx(ds.DOUBLE_SIGMOID_LOSS_FLOOR, rel=1e-12)
    assert pos.max() <= np.log(2) + 1e-15
    assert neg.min() == pytest.approx(np.log(2), rel=1e-12)
    assert neg.max() <= np.log1p(np.e) + 1e-15
    # The correct loss does go to zero.
    assert binary_cross_entropy_from_logits(ones, Z)[-1] < 1e-15


def test_gradient_matches_finite_differences():
    y = (np.arange(Z.size) % 2).astype(float)
    z = np.linspace(-8, 8, Z.size)
    numeric = numerical_gradient(lambda t: ds.double_sigmoid_loss(y, t).sum(), z)
    np.testing.assert_allclose(ds.double_sigmoid_gradient(y, z), numeric, atol=1e-8)


def test_gradient_is_small_and_vanishes_when_confidently_wrong():
    ones = np.ones_like(Z)
    g = ds.double_sigmoid_gradient(ones, Z)
    assert np.abs(g).max() < 0.1 and np.abs(ds.double_sigmoid_gradient(0 * Z, Z)).max() < 0.16
    assert abs(g[0]) < 1e-15                            # z = −40, y = 1: wrong, no signal
    assert bce_gradient_logits(ones[:1], Z[:1])[0] == pytest.approx(-1.0)  # correct form: full signal


def test_matches_tensorflow_sigmoid_then_from_logits_loss():
    tf = pytest.importorskip("tensorflow")
    y = (np.arange(Z.size) % 2).astype(float)
    z = tf.Variable(Z)
    with tf.GradientTape() as tape:
        loss = tf.nn.sigmoid_cross_entropy_with_logits(labels=y, logits=tf.sigmoid(z))
        total = tf.reduce_sum(loss)
    np.testing.assert_allclose(loss.numpy(), ds.double_sigmoid_loss(y, Z), rtol=1e-12)
    np.testing.assert_allclose(tape.gradient(total, z).numpy(), ds.double_sigmoid_gradient(y, Z),
                               rtol=1e-10, atol=1e-15)  # TF's σ' = σ(1 − σ) rounds near 1


def test_rejects_bad_input_like_the_kit():
    with pytest.raises(ValueError, match="Received: y_true="):
        ds.double_sigmoid_loss([2.0], [0.0])
    with pytest.raises(ValueError, match="same shape"):
        ds.double_sigmoid_gradient([1.0, 0.0], [0.0])
