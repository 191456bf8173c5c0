"""Checkers for the exercises of ``notebooks/01_joint_empirical_risk.ipynb``.

Each checker calls the learner's function on inputs it makes up, compares the
answer with the kit (:mod:`crossdomain_kit.theory.risk`,
:mod:`crossdomain_kit.theory.optim`) and, when it is wrong, recognises the usual
mistakes: averaging the two domain means instead of pooling the losses, the
weights M/(N+M) and N/(N+M) swapped, weights not divided by the domain size, a
gradient step uphill or without its learning rate, an update that overwrites
the caller's parameters, and a function that is not written yet.
"""

from __future__ import annotations

import numpy as np

from ..theory.optim import gradient_descent_step
from ..theory.risk import alpha_from_sizes, domain_sample_weights, joint_empirical_risk
from ._feedback import Feedback, learner_array, learner_number

_RTOL, _ATOL = 1e-6, 1e-9  # loose enough for float32 answers
_ONE_NUMBER = "Did you forget to sum or average?"


def _close(a, b) -> bool:
    return np.shape(a) == np.shape(b) and bool(np.allclose(a, b, rtol=_RTOL, atol=_ATOL))


def _diagnosis(result, mistakes, otherwise: str) -> Feedback:
    """The failing Feedback of the first mistake ``result`` matches, else ``otherwise``."""
    for candidate, message in mistakes:
        if _close(result, candidate):
            return Feedback(False, message)
    return Feedback(False, otherwise)


def check_joint_risk(fn, seed: int = 0) -> Feedback:
    """Check ``fn(source_losses, target_losses)`` returns the joint empirical risk.

    L = 1/(N+M) (Σ_S ℓ + Σ_T ℓ): every example of either domain weighs the same.

    Args:
        fn: the learner's function of the N source losses and the M target
            losses (1-D arrays), returning one number.
        seed: seed of the made-up losses.

    Returns:
        :class:`Feedback`: passed, or what is wrong and how to fix it.
    """
    rng = np.random.default_rng(seed)
    for n_source, n_target in ((7, 3), (2, 5)):
        source = rng.exponential(1.0, n_source)
        target = rng.exponential(1.0, n_target) + 1.0  # the target fits worse, as in the lesson
        result, failure = learner_number(fn, (source.copy(), target.copy()), _ONE_NUMBER)
        if failure is not None:
            return failure
        right = joint_empirical_risk(source, target)
        if _close(result, right):
            continue
        n, m, s, t = n_source, n_target, source.sum(), target.sum()
        return _diagnosis(result, [
            ((s / n + t / m) / 2, "You averaged the two domain means, ½(R_S + R_T): that is the "
             "α-weighted risk with α = ½, which gives each target example N/M times the weight of "
             "a source example. The joint risk pools the losses: (Σ_S ℓ + Σ_T ℓ)/(N+M)."),
            (s + t, "The 1/(N+M) is missing: you returned the total loss. Divide the sum of all "
             "N + M losses by N + M."),
            ((s + t) / n, "You divided by N, the source size only. Divide by N + M, the number of "
             "examples in D_S ∪ D_T."),
            ((s + t) / m, "You divided by M, the target size only. Divide by N + M, the number of "
             "examples in D_S ∪ D_T."),
            (s / n + t / m, "You added the two domain means. The joint risk is one mean over "
             "all N + M losses: (Σ_S ℓ + Σ_T ℓ)/(N+M)."),
            ((m * s / n + n * t / m) / (n + m), "The domain weights are swapped: you weighted "
             "the source mean by M/(N+M) and the target mean by N/(N+M). The source's share is "
             "N/(N+M)."),
            (s / n, "You returned the source risk R_S only; the joint risk uses the target losses too."),
            (t / m, "You returned the target risk R_T only; the joint risk uses the source losses too."),
        ], f"Not quite: with N = {n}, M = {m} the joint risk is {right:.6g}, your function "
           f"returned {result:.6g}. Add up all N + M losses, then divide by N + M.")
    return Feedback(True, "Correct: L = (Σ_S ℓ + Σ_T ℓ)/(N+M), one mean over D_S ∪ D_T "
                    "(`crossdomain_kit.theory.risk.joint_empirical_risk`).")


def check_alpha_for_joint(fn) -> Feedback:
    """Check ``fn(n_source, n_target)`` returns the α for which α·R_S + (1 − α)·R_T is the joint risk.

    The answer is α = N/(N+M).

    Args:
        fn: the learner's function of N and M (Python ints), returning one number.

    Returns:
        :class:`Feedback`: passed, or what is wrong and how to fix it.
    """
    lesson_alpha = alpha_from_sizes(200, 6)
    for n, m in ((7, 3), (2, 5), (200, 6)):
        result, failure = learner_number(fn, (n, m), _ONE_NUMBER)
        if failure is not None:
            return failure
        right = alpha_from_sizes(n, m)
        if _close(result, right):
            continue
        return _diagnosis(result, [
            (lesson_alpha, "Your function returns the lesson's α = 200/206 whatever N and M are: "
             "compute it from `n_source` and `n_target`."),
            (m / (n + m), "Swapped: M/(N+M) is the target's share. α weighs the source risk, so "
             "α = N/(N+M)."),
            (0.5, "α = ½ gives both domains equal weight; that is a different risk unless N = M. "
             "Write the joint risk as (N·R_S + M·R_T)/(N+M) and read off the weight of R_S."),
            (n / m, "N/M is the ratio of the sizes, not a share (it can exceed 1). α is the "
             "source's share of all examples: N/(N+M)."),
            (m / n, "M/N is a ratio of the sizes, not the source's share. α = N/(N+M)."),
            (1 / (n + m), "1/(N+M) is the weight of one example. α is the weight of the whole "
             "source domain: N examples × 1/(N+M)."),
            (100 * right, "Right value as a percentage; α is a fraction in [0, 1]: N/(N+M)."),
        ], f"Not quite: for N = {n}, M = {m} the answer is {right:.6g}, your function returned "
           f"{result:.6g}. Expand (Σ_S ℓ + Σ_T ℓ)/(N+M) with Σ_S ℓ = N·R_S and Σ_T ℓ = M·R_T.")
    return Feedback(True, "Correct: α = N/(N+M), so the joint risk is the α-weighted risk at the "
                    "source's share of the data (`crossdomain_kit.theory.risk.alpha_from_sizes`).")


def check_domain_weights(fn) -> Feedback:
    """Check ``fn(n_source, n_target, alpha)`` returns the per-example weights of the α-weighted risk.

    For the stacked data [D_S; D_T] the weights are α/N for each source example
    and (1 − α)/M for each target example, so Σ wᵢ ℓᵢ = α·R_S + (1 − α)·R_T.

    Args:
        fn: the learner's function of N, M (Python ints) and α (a float),
            returning N + M weights, source first.

    Returns:
        :class:`Feedback`: passed, or what is wrong and how to fix it.
    """
    for n, m, alpha in ((7, 3, 0.2), (4, 6, 0.8)):  # sizes where no two mistakes coincide
        result, failure = learner_array(fn, (n, m, alpha), (n + m,))
        if failure is not None:
            return failure
        right = domain_sample_weights(n, m, alpha)
        if _close(result, right):
            continue

        def stacked(source_weight, target_weight):
            return np.concatenate([np.full(n, source_weight), np.full(m, target_weight)])

        if np.isclose(result.sum(), 1.0):
            i = int(np.argmax(np.abs(result - right)))
            otherwise = (f"Not quite (N = {n}, M = {m}, α = {alpha}): weight {i} should be "
                         f"{right[i]:.6g} but is {result[i]:.6g}.")
        else:
            otherwise = (f"Your weights sum to {result.sum():.6g}, not 1 (N = {n}, M = {m}, "
                         f"α = {alpha}). The source examples must share α, the target examples 1 − α.")
        return _diagnosis(result, [
            (stacked((1 - alpha) / n, alpha / m), "Swapped: α is the weight of the source domain, "
             "so each source example gets α/N and each target example (1 − α)/M."),
            (stacked(alpha, 1 - alpha), "Each example got its whole domain's weight: the source "
             "examples together would weigh N·α. Divide by the domain size: α/N and (1 − α)/M."),
            (stacked(alpha / (n + m), (1 - alpha) / (n + m)), "You divided by N + M; divide each "
             "domain's weight by its own size: α/N for source examples, (1 − α)/M for target ones."),
            (np.full(n + m, 1 / (n + m)), "These are the joint risk's weights 1/(N+M): α is "
             "ignored. Use α/N for source examples and (1 − α)/M for target ones."),
            (np.concatenate([np.full(m, (1 - alpha) / m), np.full(n, alpha / n)]), "Right weights, "
             "wrong order: stack the source first, then the target (as `stack_domains` does)."),
        ], otherwise)
    return Feedback(True, "Correct: α/N per source example and (1 − α)/M per target example, "
                    "summing to 1 (`crossdomain_kit.theory.risk.domain_sample_weights`).")


def check_gradient_step(fn, seed: int = 0) -> Feedback:
    """Check ``fn(theta, gradient, learning_rate)`` returns θ − η∇L as a new array.

    Args:
        fn: the learner's function of θ (1-D array), ∇L(θ) (same shape) and η
            (a float), returning the updated parameters.
        seed: seed of the made-up θ and gradient.

    Returns:
        :class:`Feedback`: passed, or what is wrong and how to fix it.
    """
    rng = np.random.default_rng(seed)
    theta, gradient, eta = rng.normal(size=3), rng.normal(size=3), 0.3
    given = theta.copy()
    result, failure = learner_array(fn, (given, gradient.copy(), eta), (3,))
    if failure is not None:
        return failure
    right = gradient_descent_step(theta, gradient, eta)
    if not _close(result, right):
        return _diagnosis(result, [
            (theta + eta * gradient, "Uphill: you added η∇L. The gradient points to where the "
             "loss grows fastest, so descend with θ − η∇L."),
            (theta - gradient, "The learning rate is missing: the step is η∇L, not ∇L."),
            (theta - gradient / eta, "You divided by the learning rate; multiply: θ − η∇L."),
            (-eta * gradient, "You returned the step −η∇L only; add it to θ: θ − η∇L."),
            (eta * gradient, "You returned η∇L; the update is θ − η∇L."),
        ], "Not quite: the update is θ − η∇L.")
    if not np.array_equal(given, theta):
        return Feedback(False, "Right values, but you changed `theta` in place (e.g. `theta -= ...`): "
                        "the caller's array changes too, and a recorded descent path would hold the "
                        "same array at every step. Return a new array: `theta - learning_rate * gradient`.")
    return Feedback(True, "Correct: θ ← θ − η∇L(θ), returned as a new array "
                    "(`crossdomain_kit.theory.optim.gradient_descent_step`).")
