"""Choose the decision threshold on validation; move it for a change of prior.

**Choose the threshold on validation, report on test once.** A threshold tuned
on the test split makes the test metrics optimistic: they stop estimating how
the model does on new data.

**Why not always 0.5?** 0.5 is the Bayes (minimum-error) threshold only when
the probabilities are calibrated, false positives and false negatives cost the
same, *and* the deployment prior (share of positives) equals the prior the
probabilities are calibrated to. PneumoniaMNIST breaks the last condition:
train and val are 74 % pneumonia, test is 62.5 %. A model calibrated to the
training prior and cut at 0.5 favours "pneumonia" more than the test prior
warrants: it trades specificity for sensitivity and the minimum-error
threshold for test is ``bayes_threshold(0.74, 0.625)`` ≈ 0.63. A
class-weighted or rebalanced model is calibrated to a 50 % prior instead, which
matches no deployment prior either. Sensitivity and specificity are rates
within one class, so a pure change of prior does not move them: a threshold
chosen on validation by sensitivity and specificity (Youden's J, a target
sensitivity) keeps its operating point on a test split with another prior,
while accuracy, PPV and NPV move with the prior.

Introduced in ``notebooks/05_medical_imaging_finetune.ipynb``.
"""

from __future__ import annotations

import numpy as np
from sklearn import metrics as skmetrics

from .. import _checks
from ..theory.losses import logit, sigmoid
from . import _core
from .metrics import check_predictions

THRESHOLD_METHODS = ("youden", "target_sensitivity", "target_specificity")

_TOLERANCE = 1e-12  # rates are ratios of counts; compare targets with a hair of slack


# ---------------------------------------------------------------- threshold


def choose_threshold(y_val, p_val, method: str = "youden", target: float | None = None) -> float:
    """Choose a decision threshold on **validation** predictions.

    Never pass the test split: a threshold tuned on test makes every test
    metric optimistic. The returned threshold is one of the validation
    probabilities; examples with ``p >= threshold`` are predicted positive.

    Args:
        y_val: validation labels in {0, 1}; both classes needed.
        p_val: validation probabilities of the positive class (apply
            ``losses.sigmoid`` to logits first).
        method: ``"youden"`` maximises Youden's J = sensitivity + specificity − 1
            (ties: the highest threshold); ``"target_sensitivity"`` gives the
            highest threshold whose sensitivity is at least ``target`` (the best
            specificity for that sensitivity, e.g. a screening test);
            ``"target_specificity"`` gives the lowest threshold whose
            specificity is at least ``target``.
        target: the required rate in (0, 1] for the two target methods; must be
            None for ``"youden"``.

    Returns:
        The threshold, a float in [0, 1].

    Raises:
        ValueError: on invalid predictions, a single-class ``y_val``, an unknown
            ``method``, a missing/extra/out-of-range ``target``, or a specificity
            target no threshold in [0, 1] reaches.

    Introduced in ``notebooks/05_medical_imaging_finetune.ipynb``.
    """
    y, p = check_predictions(y_val, p_val, "y_val", "p_val", both_classes="choosing a threshold by ROC")
    _core.choice(method, "method", THRESHOLD_METHODS)
    if method == "youden":
        if target is not None:
            raise _checks.fail("`target` is only used by the target_* methods; leave it None for "
                               "method='youden'.", "target", target)
    elif target is None or _checks.fraction(target, "target") == 0:
        raise _checks.fail(f"method={method!r} needs a `target` rate in (0, 1].", "target", target)
    # thresholds[0] is +inf (nothing predicted positive); then every distinct score, decreasing.
    fpr, tpr, thresholds = skmetrics.roc_curve(y, p, drop_intermediate=False)
    if method == "youden":
        best = 1 + int(np.argmax((tpr - fpr)[1:]))
    elif method == "target_sensitivity":
        best = int(np.argmax(tpr >= target - _TOLERANCE))
    else:
        best = int(np.flatnonzero(1 - fpr >= target - _TOLERANCE)[-1])
    if best > 0:
        return float(thresholds[best])
    above_all = float(np.nextafter(p.max(), np.inf))  # predict nothing positive
    if above_all > 1:
        raise _checks.fail("No threshold in [0, 1] reaches this specificity: a negative validation "
                           "example has probability 1. Lower `target`.", "target", target)
    return above_all


# ---------------------------------------------------------------- prior shift


def bayes_threshold(calibrated_prior: float = 0.5, deploy_prior: float = 0.5,
                    cost_fp: float = 1.0, cost_fn: float = 1.0) -> float:
    """Minimum-expected-cost threshold for probabilities calibrated to another prior.

    If the probabilities are calibrated on data with ``calibrated_prior``
    positives and only the prior changes at deployment (label shift), the
    best cut satisfies
    logit(t) = logit(cost_fp / (cost_fp + cost_fn)) + logit(calibrated_prior) − logit(deploy_prior).
    It is 0.5 only with equal costs and equal priors.
    ``bayes_threshold(0.74, 0.625)`` ≈ 0.63 is PneumoniaMNIST's train → test
    case; a class-weighted model is calibrated to a 50 % prior, so use
    ``calibrated_prior=0.5`` for it.

    Args:
        calibrated_prior: share of positives the probabilities are calibrated to, in (0, 1).
        deploy_prior: share of positives where the threshold is used, in (0, 1).
        cost_fp, cost_fn: costs of a false positive and a false negative, > 0.

    Returns:
        The threshold in (0, 1).

    Raises:
        ValueError: on a prior outside (0, 1) or a cost <= 0.

    Introduced in ``notebooks/05_medical_imaging_finetune.ipynb``.
    """
    calibrated_prior = _checks.open_fraction(calibrated_prior, "calibrated_prior")
    deploy_prior = _checks.open_fraction(deploy_prior, "deploy_prior")
    cost_fp, cost_fn = _checks.positive(cost_fp, "cost_fp"), _checks.positive(cost_fn, "cost_fn")
    z = logit(cost_fp / (cost_fp + cost_fn)) + logit(calibrated_prior) - logit(deploy_prior)
    return float(sigmoid(z))


def synthetic_predictions(n: int, positive_fraction: float, separation: float = 2.0,
                          calibrated_prior: float | None = None, seed=0) -> tuple[np.ndarray, np.ndarray]:
    """Labels and probabilities of a known model, for demonstrating thresholds without training.

    The score is x ~ N(+separation/2, 1) for positives and N(−separation/2, 1)
    for negatives, so the log-likelihood ratio is ``separation · x`` and the
    probability p = σ(separation · x + logit(calibrated_prior)) is exactly
    calibrated for a split with ``calibrated_prior`` positives. Changing
    ``positive_fraction`` while keeping ``calibrated_prior`` is a pure label
    shift, e.g. PneumoniaMNIST's val (0.74) and test (0.625).

    Args:
        n: number of examples.
        positive_fraction: share of positives in (0, 1); exactly
            round(n · positive_fraction) positives are drawn.
        separation: distance between the class means in standard deviations,
            > 0 (AUC = Φ(separation / √2); 2.0 gives 0.92).
        calibrated_prior: prior the probabilities are calibrated to; default
            ``positive_fraction``.
        seed: int, None or ``np.random.Generator``.

    Returns:
        ``(y, p)``: int64 labels and float64 probabilities, shuffled.

    Raises:
        ValueError: on invalid arguments.

    Introduced in ``notebooks/05_medical_imaging_finetune.ipynb``.
    """
    n = _checks.positive_int(n, "n")
    positive_fraction = _checks.open_fraction(positive_fraction, "positive_fraction")
    separation = _checks.positive(separation, "separation")
    prior = (positive_fraction if calibrated_prior is None
             else _checks.open_fraction(calibrated_prior, "calibrated_prior"))
    rng = _core.generator(seed)
    y = np.zeros(n, dtype=np.int64)
    y[: round(n * positive_fraction)] = 1
    rng.shuffle(y)
    x = rng.normal(size=n) + separation * (y - 0.5)
    return y, sigmoid(separation * x + logit(prior))
