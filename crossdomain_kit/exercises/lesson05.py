"""Checkers for the exercises of ``notebooks/05_medical_imaging_finetune.ipynb``.

Each checker runs the learner's function on fresh inputs, compares the result
with the kit (:func:`crossdomain_kit.evaluation.binary_metrics`,
:func:`crossdomain_kit.evaluation.bayes_threshold`,
:func:`crossdomain_kit.models.gradcam.gradcam_map`) and, when it is wrong, recognises
the usual mistakes: sensitivity and specificity swapped or confused with PPV,
NPV or the false-positive rate, ``>`` where the kit's convention is ``>=``,
the priors swapped or added instead of their logits, a sum where Grad-CAM
takes a mean, a missing or wrong ReLU, gradient × activation without the
channel weights.
"""

from __future__ import annotations

import numpy as np

from ..evaluation import bayes_threshold, binary_metrics, synthetic_predictions
from ..theory.losses import logit
from ._feedback import Feedback, call_learner, learner_floats

_RTOL, _ATOL = 1e-6, 1e-9


def _numbers(result, size: int, what: str):
    """``result`` as a flat float array of ``size`` numbers, or a Feedback saying why not."""
    try:
        array = np.asarray(result, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError):
        return None, Feedback(False, f"Return {what}; your function returned a {type(result).__name__}.")
    if array.size != size:
        return None, Feedback(False, f"Return {what}; your function returned {array.size} number(s).")
    return array, None


def _first_match(result, candidates) -> Feedback | None:
    """The Feedback of the first (array, message) candidate that ``result`` equals, else None."""
    for candidate, message in candidates:
        candidate = np.asarray(candidate, dtype=np.float64)
        if result.shape == candidate.shape and np.allclose(result, candidate, rtol=1e-5, atol=1e-8):
            return Feedback(False, message)
    return None


def check_sensitivity_specificity(fn, seed: int = 0) -> Feedback:
    """Check ``fn(y_true, y_prob, threshold)`` returns ``(sensitivity, specificity)``.

    The kit's convention: an example is called positive when ``y_prob >= threshold``;
    sensitivity = TP / (TP + FN), specificity = TN / (TN + FP).

    Args:
        fn: the learner's function of labels (n,) in {0, 1}, probabilities
            (n,) and a threshold, returning two numbers.
        seed: seed of the fresh inputs.

    Returns:
        :class:`Feedback`: passed, or what is wrong and how to fix it.
    """
    y, p = synthetic_predictions(200, 0.625, calibrated_prior=0.74, seed=seed)
    p = np.round(p, 2)  # ties with the threshold, so that > and >= differ
    for threshold in (0.5, 0.63, 0.3):
        result, failure = call_learner(fn, (y.copy(), p.copy(), threshold))
        if failure is not None:
            return failure
        result, failure = _numbers(result, 2, "two numbers, (sensitivity, specificity)")
        if failure is not None:
            return failure
        m = binary_metrics(y, p, threshold)
        expected = np.array([m.sensitivity, m.specificity])
        if np.allclose(result, expected, rtol=_RTOL, atol=_ATOL):
            continue
        strict = binary_metrics(y, np.where(p == threshold, threshold - 1e-9, p), threshold)
        mistake = _first_match(result, [
            ((m.specificity, m.sensitivity), "You returned (specificity, sensitivity): swap them. "
             "Sensitivity is about the positives (pneumonia found), specificity about the negatives."),
            ((strict.sensitivity, strict.specificity), "Off at the threshold itself: an example whose "
             "probability equals the threshold counts as positive (`y_prob >= threshold`, not `>`)."),
            ((m.ppv, m.npv), "That is (PPV, NPV): TP / (TP + FP) and TN / (TN + FN) divide by what was "
             "*predicted*. Sensitivity and specificity divide by the true classes: TP / (TP + FN), "
             "TN / (TN + FP)."),
            ((m.sensitivity, 1 - m.specificity), "Your second number is the false-positive rate "
             "FP / (FP + TN) = 1 − specificity. Specificity counts the negatives called negative."),
            ((1 - m.specificity, 1 - m.sensitivity), "You took label 0 as the positive class. Label 1 "
             "(pneumonia) is positive: sensitivity = share of the 1s predicted 1."),
        ])
        if mistake is not None:
            return mistake
        return Feedback(False, f"Not quite: at threshold {threshold} expected sensitivity "
                        f"{m.sensitivity:.4f} and specificity {m.specificity:.4f}, got "
                        f"{result[0]:.4f} and {result[1]:.4f}. Count TP, FN, TN, FP first.")
    return Feedback(True, "Correct: sensitivity and specificity at the threshold, with ties counted "
                    "positive as in the kit.")


def check_bayes_threshold(fn) -> Feedback:
    """Check ``fn(calibrated_prior, deploy_prior)`` returns the minimum-error threshold.

    With equal costs, logit(t) = logit(calibrated_prior) − logit(deploy_prior)
    (:func:`crossdomain_kit.evaluation.bayes_threshold`).

    Args:
        fn: the learner's function of two priors in (0, 1), returning one number.

    Returns:
        :class:`Feedback`: passed, or what is wrong and how to fix it.
    """
    for calibrated, deploy in ((0.742, 0.625), (0.5, 0.625), (0.3, 0.1), (0.5, 0.5), (0.2, 0.6)):
        result, failure = call_learner(fn, (calibrated, deploy))
        if failure is not None:
            return failure
        result, failure = _numbers(result, 1, "one number, the threshold")
        if failure is not None:
            return failure
        expected = bayes_threshold(calibrated, deploy)
        if np.isclose(result[0], expected, rtol=1e-6, atol=1e-9):
            continue
        z = logit(calibrated) - logit(deploy)
        mistake = _first_match(result, [
            ([bayes_threshold(deploy, calibrated)], "The priors are swapped: the threshold rises when the "
             "model was calibrated on MORE positives than where it is used (logit(t) = logit(calibrated) "
             "− logit(deploy))."),
            ([z], "You returned the logit of the threshold; apply the sigmoid to get a probability."),
            ([0.5 + calibrated - deploy], "Priors do not add on the probability scale: shift the logit, "
             "logit(t) = logit(calibrated) − logit(deploy), then take the sigmoid."),
            ([0.5], "0.5 is right only when the two priors are equal; here they differ."),
        ])
        if mistake is not None:
            return mistake
        return Feedback(False, f"Not quite: for calibrated_prior={calibrated}, "
                        f"deploy_prior={deploy} the threshold is {expected:.4f}, you returned "
                        f"{result[0]:.4f}. Work on the logit scale.")
    return Feedback(True, "Correct: the prior shift moves the threshold's logit by "
                    "logit(calibrated) − logit(deploy).")


def check_gradcam_map(fn, seed: int = 0) -> Feedback:
    """Check ``fn(feature_maps, gradients)`` returns Grad-CAM maps ReLU(Σ_k α_k A^k).

    α_k is the mean over the h × w places of the gradients of channel k
    (:func:`crossdomain_kit.models.gradcam.gradcam_map`; no normalisation, no resizing).

    Args:
        fn: the learner's function of feature maps and gradients, both of shape
            (n, h, w, K), returning maps of shape (n, h, w).
        seed: seed of the fresh inputs.

    Returns:
        :class:`Feedback`: passed, or what is wrong and how to fix it.
    """
    from ..models.gradcam import gradcam_map  # imports TensorFlow, which the lesson has loaded anyway

    rng = np.random.default_rng(seed)
    maps = np.maximum(rng.normal(size=(3, 4, 5, 6)), 0)  # ReLU activations, as in a CNN
    gradients = rng.normal(size=maps.shape)
    result, failure = learner_floats(fn, (maps.copy(), gradients.copy()), "one array of maps")
    if failure is not None:
        return failure
    expected = gradcam_map(maps, gradients)
    if result.shape == (3, 4, 5, 1) and np.allclose(result[..., 0], expected):
        return Feedback(False, "Right values, wrong shape (3, 4, 5, 1): sum over the channel axis so "
                        "the maps have shape (n, h, w).")
    if result.shape != expected.shape:
        return Feedback(False, f"Expected maps of shape {expected.shape} (n, h, w), got {result.shape}. "
                        "Sum the weighted channels over the last axis.")
    if np.allclose(result, expected, rtol=_RTOL, atol=_ATOL):
        return Feedback(True, "Correct: channel weights are the spatial mean of the gradients, and the "
                        "ReLU keeps the places that raise the logit.")
    weights = gradients.mean(axis=(1, 2), keepdims=True)
    raw = (weights * maps).sum(axis=-1)
    mistake = _first_match(result, [
        (expected * 20, "Your maps are 20x too large (h × w = 4 × 5): α_k is the MEAN of the gradients "
         "over the places, not their sum."),
        (raw, "Keep only the positive evidence: apply a ReLU (np.maximum(..., 0)) to the weighted sum."),
        (np.abs(raw), "Use a ReLU, not an absolute value: negative evidence (for the other class) must "
         "become 0, not count as positive."),
        (np.maximum((gradients * maps).sum(axis=-1), 0), "You multiplied gradient and activation place "
         "by place. Grad-CAM first averages each channel's gradient over all places (α_k), then weighs "
         "the whole channel by it."),
    ])
    if mistake is not None:
        return mistake
    i = np.unravel_index(int(np.argmax(np.abs(result - expected))), expected.shape)
    return Feedback(False, f"Not quite: map value at {tuple(int(k) for k in i)} should be "
                    f"{expected[i]:.5g} but is {result[i]:.5g}. Compute α_k = mean over (h, w) of the "
                    "gradients, then ReLU(Σ_k α_k A^k).")
