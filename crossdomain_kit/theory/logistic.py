"""A logistic-regression classifier trained by the kit's own gradient descent.

Introduced in ``notebooks/01_joint_empirical_risk.ipynb``.
"""

from __future__ import annotations

import numpy as np

from .. import _checks
from .losses import logistic_logits, logistic_risk, logistic_risk_gradient, sigmoid
from .optim import gradient_descent


class LogisticRegressionGD:
    """Logistic regression fitted by plain gradient descent on the (weighted) BCE risk.

    Follows scikit-learn's contract: ``__init__`` only stores arguments and
    learned state ends in ``_``. Training starts from θ = 0, so it is fully
    deterministic (no seed needed).

    Args:
        learning_rate: step size η > 0.
        n_steps: number of full-batch gradient-descent steps (>= 1).

    Attributes:
        theta_: learned [w, b].
        coef_: learned weights w, shape (d,).
        intercept_: learned bias b.
        path_: every θ visited, shape (n_steps + 1, d + 1).
        loss_curve_: the training risk after each step, shape (n_steps + 1,).
    """

    def __init__(self, learning_rate: float = 0.5, n_steps: int = 300):
        self.learning_rate = learning_rate
        self.n_steps = n_steps

    def fit(self, X, y, sample_weight=None):
        """Minimise Σ_i s_i ℓ(z_i, y_i) by gradient descent.

        Args:
            X: inputs, shape (n, d).
            y: labels in {0, 1}, shape (n,).
            sample_weight: optional per-example weights (see
                :func:`crossdomain_kit.theory.risk.domain_sample_weights`).

        Returns:
            self.
        """
        X = _checks.float_array(X, "X", ndim=2)
        theta0 = np.zeros(X.shape[1] + 1)
        self.theta_, self.path_, self.loss_curve_ = gradient_descent(
            lambda t: logistic_risk(t, X, y, sample_weight),
            lambda t: logistic_risk_gradient(t, X, y, sample_weight),
            theta0, self.learning_rate, self.n_steps)
        self.coef_ = self.theta_[:-1]
        self.intercept_ = float(self.theta_[-1])
        return self

    def _check_fitted(self):
        if not hasattr(self, "theta_"):
            raise RuntimeError("This LogisticRegressionGD is not fitted yet: call `fit(X, y)` first.")

    def decision_function(self, X) -> np.ndarray:
        """Logits z = X·w + b, shape (n,)."""
        self._check_fitted()
        return logistic_logits(self.theta_, X)

    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities, shape (n, 2): columns P(y=0), P(y=1)."""
        p = sigmoid(self.decision_function(X))
        return np.column_stack([1 - p, p])

    def predict(self, X) -> np.ndarray:
        """Labels in {0, 1} (z > 0, i.e. probability above one half)."""
        return (self.decision_function(X) > 0).astype(int)

    def score(self, X, y) -> float:
        """Accuracy on (X, y)."""
        y = _checks.binary_labels(y, "y")
        return float(np.mean(self.predict(X) == y))
