"""Reference answers to the exercises of ``notebooks/02_bce_gradient.ipynb``."""

import numpy as np


def _sigmoid(z):
    """sigma(z) without overflow: exp of a non-positive number only."""
    z = np.asarray(z, float)
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1 / (1 + e), e / (1 + e))


def my_bce_gradient(y_true, logits):
    """d loss / d z = sigma(z) - y, one per example: finite at z = +-1000 with the stable sigmoid."""
    return _sigmoid(logits) - np.asarray(y_true, float)


def my_logistic_gradient(theta, X, y_true):
    """Mean risk: (1/n) X^T (sigma(z) - y) for the weights, the mean residual for the bias (last)."""
    X = np.asarray(X, float)
    w, b = np.asarray(theta[:-1], float), float(theta[-1])
    residual = _sigmoid(X @ w + b) - np.asarray(y_true, float)
    return np.append(X.T @ residual / len(residual), residual.mean())
