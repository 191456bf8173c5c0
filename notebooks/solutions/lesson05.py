"""Reference answers to the exercises of ``notebooks/05_medical_imaging_finetune.ipynb``."""

import numpy as np


def my_sensitivity_specificity(y_true, y_prob, threshold):
    """Positive means p >= threshold (the kit's convention); count the four cells, then two ratios."""
    y, called = np.asarray(y_true).astype(bool), np.asarray(y_prob) >= threshold
    tp, fn = np.sum(called & y), np.sum(~called & y)
    tn, fp = np.sum(~called & ~y), np.sum(called & ~y)
    return tp / (tp + fn), tn / (tn + fp)


def my_bayes_threshold(calibrated_prior, deploy_prior):
    """On the logit scale a prior change is a shift: logit(t) = logit(calibrated) - logit(deployed)."""
    def logit(p):
        return np.log(p / (1 - p))

    return float(1 / (1 + np.exp(-(logit(calibrated_prior) - logit(deploy_prior)))))


def my_gradcam_map(feature_maps, gradients):
    """alpha_k = the mean gradient of channel k over h x w; then ReLU of the alpha-weighted sum of the maps."""
    alphas = np.asarray(gradients, float).mean(axis=(1, 2), keepdims=True)       # (n, 1, 1, K)
    return np.maximum((alphas * np.asarray(feature_maps, float)).sum(axis=-1), 0.0)  # (n, h, w)
