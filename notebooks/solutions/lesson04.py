"""Reference answers to the exercises of ``notebooks/04_freezing_hyperparameters_lab.ipynb``."""

import numpy as np


def count_trainable(backbone_layers, head_params, k):
    """The last k weight layers (BatchNorm among them, but it stays frozen) plus the head, which always trains."""
    return head_params + sum(params for _, kind, params in backbone_layers[-k:] if kind != "BatchNormalization")


def must_recompile(built_on, trainable_now):
    """Only a compiled model can be stale, and it is stale when the SET of trainable variables changed."""
    if built_on is None:
        return False
    return set(built_on) != set(trainable_now)


def steepest_rate(learning_rates, smoothed_losses):
    """Up to the lowest loss, the slope against log10(rate); the rate where it is most negative."""
    rates, losses = np.asarray(learning_rates, float), np.asarray(smoothed_losses, float)
    end = int(np.argmin(losses)) + 1
    if end < 2:  # the loss is lowest at the first rate: no descent to measure
        return float(rates[0])
    slopes = np.gradient(losses[:end], np.log10(rates[:end]))
    return float(rates[int(np.argmin(slopes))])


def batchnorm_update(moving_mean, moving_variance, batch, momentum):
    """Keras's moving averages: momentum on the OLD value; batch statistics over n, h, w; the biased variance."""
    batch = np.asarray(batch, float)
    mean, variance = batch.mean(axis=(0, 1, 2)), batch.var(axis=(0, 1, 2))  # var divides by n, as Keras does
    new_mean = momentum * np.asarray(moving_mean, float) + (1 - momentum) * mean
    new_variance = momentum * np.asarray(moving_variance, float) + (1 - momentum) * variance
    return new_mean, new_variance
