"""TensorFlow twins of :mod:`crossdomain_kit.theory.losses`, differentiated by ``tf.GradientTape``.

Importing this module imports TensorFlow; ``import crossdomain_kit`` does not.
Every function takes and returns NumPy arrays (float64 inside), so its result
can be compared directly with the NumPy version and with
:func:`crossdomain_kit.theory.gradcheck.numerical_gradient`.

Introduced in ``notebooks/02_bce_gradient.ipynb``.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from .. import _checks
from .losses import _logistic_inputs


def bce_from_logits(y_true, logits) -> np.ndarray:
    """Per-example BCE from logits with ``tf.nn.sigmoid_cross_entropy_with_logits``."""
    y = _checks.binary_labels(y_true, "y_true")
    z = _checks.float_array(logits, "logits")
    _checks.same_shape(y, z, "y_true", "logits")
    return tf.nn.sigmoid_cross_entropy_with_logits(labels=y, logits=z).numpy()


def tape_gradient_logits(y_true, logits) -> np.ndarray:
    """∂ℓ_i/∂z_i for every example, by automatic differentiation.

    Each loss depends on its own logit only, so the gradient of the summed loss
    is the vector of per-example derivatives: it should equal σ(z) − y.
    """
    y = _checks.binary_labels(y_true, "y_true")
    z = tf.Variable(_checks.float_array(logits, "logits"))
    _checks.same_shape(y, z.numpy(), "y_true", "logits")
    with tf.GradientTape() as tape:
        total = tf.reduce_sum(tf.nn.sigmoid_cross_entropy_with_logits(labels=y, logits=z))
    return tape.gradient(total, z).numpy()


def tape_logistic_risk_gradient(theta, X, y_true, sample_weight=None):
    """Risk and ∇θ of the logistic model by ``tf.GradientTape``.

    Args:
        theta, X, y_true, sample_weight: as in
            :func:`crossdomain_kit.theory.losses.logistic_risk`.

    Returns:
        ``(risk, gradient)``: a float and an array of shape (d + 1,).
    """
    theta, X, y, s = _logistic_inputs(theta, X, y_true, sample_weight)
    params = tf.Variable(theta)
    with tf.GradientTape() as tape:
        logits = tf.linalg.matvec(tf.constant(X), params[:-1]) + params[-1]
        risk = tf.reduce_sum(s * tf.nn.sigmoid_cross_entropy_with_logits(labels=y, logits=logits))
    return float(risk.numpy()), tape.gradient(risk, params).numpy()
