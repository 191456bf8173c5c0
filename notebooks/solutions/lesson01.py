"""Reference answers to the exercises of ``notebooks/01_joint_empirical_risk.ipynb``."""

import numpy as np


def joint_risk(source_losses, target_losses):
    """Pool the losses: one mean over all N + M examples (not the mean of the two domain means)."""
    losses = np.concatenate([np.asarray(source_losses, float), np.asarray(target_losses, float)])
    return float(losses.sum() / len(losses))


def alpha_for_joint(n_source, n_target):
    """Pooling weighs the source by its share of the examples: alpha = N / (N + M)."""
    return n_source / (n_source + n_target)


def domain_weights(n_source, n_target, alpha):
    """Each source example carries alpha / N, each target example (1 - alpha) / M: the weights sum to 1."""
    return np.concatenate([np.full(n_source, alpha / n_source), np.full(n_target, (1 - alpha) / n_target)])


def gradient_step(theta, gradient, learning_rate):
    """Downhill, into a new array: theta - eta * gradient (never theta -= ..., which changes the caller's array)."""
    return np.asarray(theta, float) - learning_rate * np.asarray(gradient, float)
