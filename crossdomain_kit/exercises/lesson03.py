"""Checkers for the exercises of ``notebooks/03_transfer_shifted_domains.ipynb``.

Each checker runs the learner's function on inputs it makes up, compares the
answer with the kit (:func:`crossdomain_kit.theory.risk.joint_empirical_risk`,
:func:`crossdomain_kit.workflows.data_efficiency.transfer_gain`,
:func:`crossdomain_kit.workflows.data_efficiency.gain_vanishes_at`) and, when it is
wrong, recognises the usual mistakes: the plain average of the two domain
risks, the domain sizes swapped, a sum not divided by N + M; the gain's sign
flipped, a spread taken from the AUCs instead of the paired gains, a standard
deviation instead of the range; the first dip of the gain instead of the
count from which on it stays small, a position instead of a label count, a
strict comparison with the tolerance, and a count where there is none.

Pure NumPy: importing this module does not import TensorFlow.
"""

from __future__ import annotations

import numpy as np

from ..workflows.data_efficiency import gain_vanishes_at, transfer_gain
from ..theory.risk import joint_empirical_risk
from ._feedback import Feedback, call_learner


def _numbers(fn, args, count: int):
    """The learner's answer as ``count`` floats, or the Feedback that says why not."""
    result, failure = call_learner(fn, args)
    if failure is not None:
        return None, failure
    try:
        array = np.asarray(result, dtype=np.float64).ravel()
    except (TypeError, ValueError):
        return None, Feedback(False, f"Return {'one number' if count == 1 else f'{count} numbers'}; "
                              f"your function returned a {type(result).__name__}.")
    if array.size != count:
        wanted = "one number" if count == 1 else f"a pair of numbers {'(mean gain, spread)'}"
        return None, Feedback(False, f"Return {wanted}; your function returned {array.size} number(s).")
    return array, None


def _first_match(result, candidates, otherwise: str) -> Feedback:
    for candidate, message in candidates:
        if np.shape(candidate) == np.shape(result) and np.allclose(result, candidate, rtol=1e-6, atol=1e-9):
            return Feedback(False, message)
    return Feedback(False, otherwise)


_RISK_CASES = [(0.30, 1000, 0.90, 32), (0.60, 50, 0.20, 150), (0.45, 7, 0.15, 3)]


def check_joint_risk_from_means(fn) -> Feedback:
    """Check ``fn(source_risk, n_source, target_risk, n_target)`` returns the joint empirical risk.

    With R_S and R_T the mean losses on the N source and M target examples,
    L = 1/(N+M) (Σ_S ℓ + Σ_T ℓ) = (N·R_S + M·R_T)/(N+M): the α-weighted risk
    at α = N/(N+M) (lesson 01), what ``train_joint(..., weights=None)`` minimises.

    Args:
        fn: the learner's function of two mean losses and two counts, returning one number.

    Returns:
        :class:`Feedback`: passed, or what is wrong and how to fix it.
    """
    for source_risk, n, target_risk, m in _RISK_CASES:
        result, failure = _numbers(fn, (source_risk, n, target_risk, m), 1)
        if failure is not None:
            return failure
        right = joint_empirical_risk(np.full(n, source_risk), np.full(m, target_risk))
        if np.isclose(result[0], right, rtol=1e-6, atol=1e-9):
            continue
        return _first_match(result[0], [
            ((source_risk + target_risk) / 2, "That is the plain average of the two risks (α = ½). The "
             "joint risk pools the examples: each domain counts by its size, (N·R_S + M·R_T)/(N+M)."),
            ((m * source_risk + n * target_risk) / (n + m), "The sizes are swapped: the source risk "
             "is weighted by its own size N, (N·R_S + M·R_T)/(N+M)."),
            (n * source_risk + m * target_risk, "That is the sum of all the losses: divide it by the "
             "number of examples, N + M."),
            (source_risk + target_risk, "Weight each mean by its domain's size and divide by N + M: "
             "(N·R_S + M·R_T)/(N+M)."),
        ], f"Not quite: for R_S = {source_risk}, N = {n}, R_T = {target_risk}, M = {m} the joint risk "
           f"is {right:.6g}; your function returned {result[0]:.6g}.")
    return Feedback(True, "Correct: L = (N·R_S + M·R_T)/(N+M), the α-weighted risk at α = N/(N+M). "
                    "With 1000 source and 32 target images the target gets 3 % of the weight: that is "
                    "why `train_joint` also takes `weights=[α, 1 − α]`.")


def check_transfer_gain(fn) -> Feedback:
    """Check ``fn(transfer_auc, scratch_auc)`` returns ``(mean gain, spread)`` over seeds.

    Seed ``s`` of both arrays trained on the same target labels: the gain is
    taken per seed, ``g_s = transfer_s − scratch_s``, then summarised by its
    mean and its range ``max g − min g``
    (:func:`crossdomain_kit.workflows.data_efficiency.transfer_gain`).

    Args:
        fn: the learner's function of two 1-D arrays of per-seed test AUCs,
            returning two numbers.

    Returns:
        :class:`Feedback`: passed, or what is wrong and how to fix it.
    """
    transfer = np.array([0.91, 0.84, 0.88, 0.95])
    scratch = np.array([0.80, 0.83, 0.70, 0.90])
    result, failure = _numbers(fn, (transfer.copy(), scratch.copy()), 2)
    if failure is not None:
        return failure
    gain = transfer_gain(transfer, scratch)
    right = np.array([gain.mean, gain.spread])
    if np.allclose(result, right, rtol=1e-6, atol=1e-9):
        return Feedback(True, "Correct: the gain is taken per seed, then averaged, and its range says how "
                        "much it varies from seed to seed (`crossdomain_kit.workflows.data_efficiency.transfer_gain`).")
    gains = transfer - scratch
    if np.isclose(result[0], -gain.mean):
        return Feedback(False, "Sign flipped: the gain is AUC_transfer − AUC_scratch (positive when "
                        "transfer helps).")
    if not np.isclose(result[0], gain.mean):
        return Feedback(False, f"The mean gain is the mean of transfer − scratch over seeds, {gain.mean:.4g}; "
                        f"yours is {result[0]:.4g}.")
    return _first_match(result[1], [
        (np.ptp(transfer), "That is the spread of the transfer AUCs alone: take the range of the "
         "per-seed gains, max(g) − min(g)."),
        (np.ptp(transfer) - np.ptp(scratch), "The spread of the gain is not the difference of the two "
         "spreads: pair the seeds, g = transfer − scratch, then max(g) − min(g)."),
        (np.ptp(transfer) + np.ptp(scratch), "Pair the seeds first: g = transfer − scratch per seed, "
         "then its range max(g) − min(g) (seed effects shared by both models cancel)."),
        (np.std(gains), "That is the standard deviation; the spread here is the range, max(g) − min(g)."),
        (np.std(gains, ddof=1), "That is the standard deviation; the spread here is the range, "
         "max(g) − min(g)."),
        (-gain.spread, "The spread is max(g) − min(g), not min − max."),
    ], f"Not quite: the spread of the gains {np.round(gains, 3).tolist()} is {gain.spread:.4g}; "
       f"yours is {result[1]:.4g}.")


_VANISH_CASES = [
    ([16, 32, 64], [0.10, 0.02, -0.01], 0.02),
    ([16, 32, 64, 128, 256], [0.20, -0.01, 0.05, 0.00, -0.02], 0.0),
    ([8, 16, 32], [0.30, 0.20, 0.10], 0.05),
    ([16, 32], [-0.02, 0.0], 0.0),
]


def _first_dip(counts, gains, tolerance):
    return next((count for count, gain in zip(counts, gains) if gain <= tolerance), None)


def _from_then_on(counts, gains, tolerance, *, strict=False, position=False, before=False):
    """:func:`gain_vanishes_at` and, with one flag set, one of the usual mistakes."""
    vanished = None
    for i in range(len(counts) - 1, -1, -1):
        if (gains[i] >= tolerance) if strict else (gains[i] > tolerance):
            return counts[i] if before else vanished
        vanished = i if position else counts[i]
    return None if before else vanished


def _call_allowing_none(fn, args):
    """Like :func:`call_learner`, but None is an answer here, not a missing ``return``."""
    if not callable(fn):
        return call_learner(fn, args)
    boxed, failure = call_learner(lambda *a: [fn(*a)], args)
    return (None, failure) if failure is not None else (boxed[0], None)


def _is_count(value) -> bool:
    try:
        return not isinstance(value, (bool, str)) and np.ndim(value) == 0 and float(value) == int(value)
    except (TypeError, ValueError, OverflowError):
        return False


def check_gain_vanishes_at(fn) -> Feedback:
    """Check ``fn(label_counts, mean_gains, tolerance)`` finds where transfer's advantage vanishes.

    The answer is the smallest label count from which on (at it and every
    larger count) the mean gain is at most ``tolerance``, or None when the
    gain is still above it at the largest count
    (:func:`crossdomain_kit.workflows.data_efficiency.gain_vanishes_at`).

    Args:
        fn: the learner's function of a list of increasing counts, a list of
            mean gains and a tolerance >= 0, returning a count or None.

    Returns:
        :class:`Feedback`: passed, or what is wrong and how to fix it.
    """
    for counts, gains, tolerance in _VANISH_CASES:
        result, failure = _call_allowing_none(fn, (list(counts), list(gains), tolerance))
        if failure is not None:
            return failure
        if result is not None:
            if not _is_count(result):
                return Feedback(False, f"Return one label count (an int) or None; your function returned "
                                f"{result!r}.")
            result = int(result)
        right = gain_vanishes_at(counts, gains, tolerance)
        if result == right:
            continue
        case = f"counts {counts}, gains {gains}, tolerance {tolerance}"
        if right is None:
            return Feedback(False, f"For {case} the gain is still above the tolerance at the largest "
                            f"count: return None (your function returned {result!r}).")
        for mistake, message in [
            (_first_dip(counts, gains, tolerance), "You returned the first count where the gain is small; "
             "it must stay small from there on (a dip followed by a gain again has not vanished)."),
            (_from_then_on(counts, gains, tolerance, position=True), "You returned a position in the "
             "list; return the label count itself."),
            (_from_then_on(counts, gains, tolerance, strict=True), "A gain equal to the tolerance counts "
             "as vanished: compare with <=, not <."),
            (_from_then_on(counts, gains, tolerance, before=True), "You returned the last count where "
             "transfer still helps; return the first count from which on it no longer does."),
        ]:
            if mistake is not None and mistake != right and result == mistake:
                return Feedback(False, message)
        if result is None:
            return Feedback(False, f"Your function returned None for {case}, where the gain vanishes at "
                            f"{right} (did you forget `return`?).")
        return Feedback(False, f"Not quite: for {case} the answer is {right}; your function returned "
                        f"{result!r}.")
    return Feedback(True, "Correct: the smallest count from which on the gain stays within the "
                    "tolerance, None if it never does (`crossdomain_kit.workflows.data_efficiency.gain_vanishes_at`).")
