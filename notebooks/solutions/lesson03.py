"""Reference answers to the exercises of ``notebooks/03_transfer_shifted_domains.ipynb``."""

import numpy as np


def joint_risk_from_means(source_risk, n_source, target_risk, n_target):
    """Undo the means, pool the sums: (N R_S + M R_T) / (N + M)."""
    return (n_source * source_risk + n_target * target_risk) / (n_source + n_target)


def gain_with_spread(transfer_auc, scratch_auc):
    """Pair by seed first (the same labels), then summarise the per-seed gains: mean and max - min."""
    gains = np.asarray(transfer_auc, float) - np.asarray(scratch_auc, float)
    return float(gains.mean()), float(gains.max() - gains.min())


def first_count_without_gain(label_counts, mean_gains, tolerance):
    """Walk down from the largest count while the gain stays at most the tolerance; None if the last is above."""
    answer = None
    for count, gain in sorted(zip(label_counts, mean_gains), reverse=True):
        if gain > tolerance:
            break
        answer = count
    return answer
