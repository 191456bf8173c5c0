"""The double-sigmoid mistake: probabilities fed to a loss that expects logits.

If a model already ends in a sigmoid and its output p = σ(z) is passed to a
from-logits loss (``BinaryCrossentropy(from_logits=True)``), the loss applies
σ a second time and computes ℓ(σ(z), y) instead of ℓ(z, y). Because σ(z) lies
in [0, 1], the "logit" the loss sees is never larger than 1, so

* a perfectly confident correct prediction never reaches loss 0: it costs
  log(1 + e⁻¹) ≈ 0.3133 for a positive (z → ∞) and log 2 ≈ 0.693 for a
  negative (z → −∞), and a confidently wrong one at most log(1 + e) ≈ 1.31;
* the gradient is (σ(σ(z)) − y) · σ(z)(1 − σ(z)): never above 0.16 in size
  (σ(z) − y reaches 1) and vanishing exactly where the model is confidently
  wrong, so the mistakes that most need correcting get no signal.

Introduced in ``notebooks/02_bce_gradient.ipynb``.
"""

from __future__ import annotations

import numpy as np

from .losses import binary_cross_entropy_from_logits, bce_gradient_logits, sigmoid

DOUBLE_SIGMOID_LOSS_FLOOR = float(np.log1p(np.exp(-1.0)))
"""log(1 + e⁻¹) ≈ 0.3133: the lowest loss a double-sigmoid model can report."""


def double_sigmoid_loss(y_true, logits) -> np.ndarray:
    """Per-example loss when σ(z) is passed where logits were expected: ℓ(σ(z), y).

    Args:
        y_true: labels in {0, 1}.
        logits: the model's raw scores z, same shape.

    Returns:
        Per-example losses: in [0.3133, log 2] where y = 1 and in
        [log 2, 1.3133] where y = 0.

    Raises:
        ValueError: on shape mismatch, bad labels, empty or non-finite input.
    """
    return binary_cross_entropy_from_logits(y_true, sigmoid(logits))


def double_sigmoid_gradient(y_true, logits) -> np.ndarray:
    """∂/∂z of :func:`double_sigmoid_loss`: (σ(σ(z)) − y) · σ(z)(1 − σ(z)).

    Args:
        y_true: labels in {0, 1}.
        logits: the model's raw scores z, same shape.

    Returns:
        Per-example derivatives; compare them with the correct σ(z) − y from
        :func:`crossdomain_kit.theory.losses.bce_gradient_logits`.

    Raises:
        ValueError: on shape mismatch, bad labels, empty or non-finite input.
    """
    p = sigmoid(logits)
    return bce_gradient_logits(y_true, p) * p * (1 - p)
