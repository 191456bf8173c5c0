"""The learning-rate range test: sweep the rate exponentially over a few hundred batches, suggest one.

:func:`find_learning_rate` sweeps the learning rate exponentially over a few
hundred batches and suggests one; the model is restored afterwards.
:func:`smooth_losses` and :func:`suggest_learning_rate` are its two steps on
their own (a bias-corrected moving average, then the curve's minimum and
steepest descent); ``plots.plot_lr_finder`` draws an :class:`LRFinderResult`.

Importing this module imports TensorFlow and Keras.

Introduced in ``notebooks/04_freezing_hyperparameters_lab.ipynb``.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass

import keras
import numpy as np
from tqdm.auto import tqdm

from .. import _checks
from .checks import check_dataset
from .loop import make_train_step
from .runtime import distribute_dataset, set_global_seed


def smooth_losses(losses, beta: float = 0.98) -> np.ndarray:
    """Exponential moving average of a loss sequence, bias-corrected.

    ``m_i = β m_{i−1} + (1 − β) ℓ_i`` from ``m_{−1} = 0``, reported as
    ``m_i / (1 − β^{i+1})`` so the first values are not pulled towards 0.

    Args:
        losses: the raw per-batch losses, 1-D (NaN and infinity allowed at the
            end of a diverging sweep: they propagate).
        beta: smoothing in [0, 1); 0 returns the losses unchanged.

    Returns:
        float64 array of the same length.

    Raises:
        ValueError: for an empty or non-1-D sequence or beta outside [0, 1).

    Introduced in ``notebooks/04_freezing_hyperparameters_lab.ipynb``.
    """
    losses = np.asarray(losses, dtype=np.float64)
    if losses.ndim != 1 or losses.size == 0:
        raise _checks.fail("`losses` must be a non-empty 1-D sequence.", "losses", losses)
    if isinstance(beta, bool) or not isinstance(beta, numbers.Real) or not 0 <= beta < 1:
        raise _checks.fail("`beta` must be a number in [0, 1).", "beta", beta)
    smoothed = np.empty_like(losses)
    average = 0.0
    for i, loss in enumerate(losses):
        average = beta * average + (1 - beta) * loss
        smoothed[i] = average / (1 - beta ** (i + 1))
    return smoothed


@dataclass(frozen=True)
class LearningRateSuggestion:
    """Where a learning-rate sweep's loss curve falls fastest and where it bottoms out.

    Attributes:
        suggestion: ``min_loss_lr / 10``, a safe rate just before the loss
            stops falling (the usual rule of thumb).
        min_loss_lr: learning rate at the lowest smoothed loss.
        steepest_lr: learning rate where the smoothed loss falls fastest per
            decade, between the first few points and the minimum; None with
            fewer than 3 points there.
    """

    suggestion: float
    min_loss_lr: float
    steepest_lr: float | None


def suggest_learning_rate(learning_rates, smoothed_losses, *, skip_start: int | None = None
                          ) -> LearningRateSuggestion:
    """Suggest a learning rate from a sweep's smoothed loss curve.

    Args:
        learning_rates: increasing learning rates, 1-D, > 0.
        smoothed_losses: smoothed loss at each rate (NaN/inf allowed after
            divergence: ignored).
        skip_start: first points left out of the search for the steepest
            descent: there the moving average still follows single noisy
            batches, at rates too small to change anything. None: a tenth of
            the points.

    Returns:
        :class:`LearningRateSuggestion`.

    Raises:
        ValueError: for mismatched lengths, rates that are not positive and
            increasing, no finite loss, or a negative ``skip_start``.

    Introduced in ``notebooks/04_freezing_hyperparameters_lab.ipynb``.
    """
    lrs = _checks.float_array(learning_rates, "learning_rates", ndim=1)
    losses = np.asarray(smoothed_losses, dtype=np.float64)
    _checks.same_shape(lrs, losses, "learning_rates", "smoothed_losses")
    if np.any(lrs <= 0) or np.any(np.diff(lrs) <= 0):
        raise _checks.fail("`learning_rates` must be positive and increasing.", "learning_rates", lrs)
    finite = np.isfinite(losses)
    if not finite.any():
        raise _checks.fail("`smoothed_losses` has no finite value.", "smoothed_losses", losses)
    if skip_start is None:
        skip_start = lrs.size // 10
    elif isinstance(skip_start, bool) or not isinstance(skip_start, numbers.Integral) or skip_start < 0:
        raise _checks.fail("`skip_start` must be an integer >= 0 or None.", "skip_start", skip_start)
    best = int(np.argmin(np.where(finite, losses, np.inf)))
    steepest = None
    if best - skip_start >= 2 and finite[skip_start:best + 1].all():
        part = slice(skip_start, best + 1)
        slopes = np.gradient(losses[part], np.log10(lrs[part]))
        steepest = float(lrs[skip_start + int(np.argmin(slopes))])
    return LearningRateSuggestion(float(lrs[best] / 10), float(lrs[best]), steepest)


@dataclass(frozen=True)
class LRFinderResult:
    """A learning-rate sweep (:func:`find_learning_rate`); plot it with ``plots.plot_lr_finder``.

    Attributes:
        learning_rates: the rate used at each step.
        losses: smoothed training loss after each step.
        raw_losses: the batch losses themselves.
        suggestion: the suggested learning rate (``min_loss_lr / 10``).
        min_loss_lr: rate at the lowest smoothed loss.
        steepest_lr: rate of the steepest descent (None if undefined).
        diverged: the sweep stopped because the loss blew up.
        interrupted: the sweep was stopped by Ctrl-C.
    """

    learning_rates: np.ndarray
    losses: np.ndarray
    raw_losses: np.ndarray
    suggestion: float
    min_loss_lr: float
    steepest_lr: float | None
    diverged: bool = False
    interrupted: bool = False


def find_learning_rate(model, train_ds, *, min_learning_rate: float = 1e-7, max_learning_rate: float = 1.0,
                       steps: int = 100, beta: float = 0.98, divergence: float = 4.0,
                       seed: int | None = 0, verbose: bool = True) -> LRFinderResult:
    """Learning-rate range test: raise the rate exponentially, batch by batch, and watch the loss.

    The compiled model trains for ``steps`` batches (the dataset repeats if
    needed) with the rate growing from ``min_learning_rate`` to
    ``max_learning_rate``; the sweep stops early once the smoothed loss
    exceeds ``divergence`` times its lowest value. Afterwards the model's
    weights (BatchNormalization statistics included), the optimizer's state
    and its learning rate are restored, even after an error or Ctrl-C: the
    sweep only measures. With discriminative learning rates the sweep moves
    the head's rate and the backbone's keeps its ratio to it.

    Args:
        model: a compiled model (e.g. ``freeze`` then ``compile_classifier``):
            the sweep uses its loss and optimizer and trains what is trainable.
        train_ds: batched training dataset.
        min_learning_rate: first rate (> 0).
        max_learning_rate: last rate (> ``min_learning_rate``).
        steps: number of batches, >= 5.
        beta: loss smoothing of :func:`smooth_losses`, in [0, 1).
        divergence: stop when the smoothed loss exceeds this multiple (> 1) of its minimum.
        seed: seeds the global random generators (:func:`set_global_seed`); None leaves them.
        verbose: show a progress bar.

    Returns:
        :class:`LRFinderResult`.

    Raises:
        ValueError: for an uncompiled model, a bad or empty dataset, a bad
            range (or a first loss that is already not finite), too few steps,
            or a bad ``beta``, ``divergence`` or seed.
        KeyboardInterrupt: Ctrl-C before two batches were measured (after
            that, Ctrl-C ends the sweep and returns what it measured).

    Introduced in ``notebooks/04_freezing_hyperparameters_lab.ipynb``.
    """
    if not isinstance(model, keras.Model) or not model.compiled or model.optimizer is None:
        raise _checks.fail("`model` must be compiled (e.g. with compile_classifier): the sweep uses "
                           "its loss and optimizer.", "model", model)
    check_dataset(train_ds, "train_ds")
    low = _checks.positive(min_learning_rate, "min_learning_rate")
    high = _checks.positive(max_learning_rate, "max_learning_rate")
    if high <= low:
        raise _checks.fail("`max_learning_rate` must be greater than `min_learning_rate` "
                           f"({low:g}).", "max_learning_rate", max_learning_rate)
    steps = _checks.positive_int(steps, "steps")
    if steps < 5:
        raise _checks.fail("`steps` must be at least 5 to draw a loss curve.", "steps", steps)
    smooth_losses([1.0], beta)  # validates beta
    if isinstance(divergence, bool) or not isinstance(divergence, numbers.Real) or not divergence > 1:
        raise _checks.fail("`divergence` must be a number > 1.", "divergence", divergence)
    seed = _checks.seed(seed, allow_none=True)
    if seed is not None:
        set_global_seed(seed)

    optimizer = model.optimizer
    if not optimizer.built:
        with model.distribute_strategy.scope():
            optimizer.build(model.trainable_variables)
    weights = model.get_weights()
    optimizer_state = [variable.numpy() for variable in optimizer.variables]
    learning_rate = float(keras.ops.convert_to_numpy(optimizer.learning_rate))
    train_step = make_train_step(model, optimizer, model.loss)
    sweep = np.geomspace(low, high, steps)
    raw, diverged, interrupted = [], False, False
    bar = tqdm(total=steps, desc="learning-rate sweep", disable=not verbose)
    try:
        for rate, batch in zip(sweep, distribute_dataset(train_ds.repeat(), model)):
            optimizer.learning_rate = rate
            raw.append(float(train_step(batch)))
            bar.update()
            smoothed = smooth_losses(raw, beta)
            if not np.isfinite(smoothed[-1]) or smoothed[-1] > divergence * np.nanmin(smoothed):
                diverged = True
                break
    except KeyboardInterrupt:
        interrupted = True
    finally:
        bar.close()
        model.set_weights(weights)
        for variable, value in zip(optimizer.variables, optimizer_state):
            variable.assign(value)
        optimizer.learning_rate = learning_rate
    if len(raw) < 2:
        if interrupted:
            raise KeyboardInterrupt  # too early to suggest anything; the model is restored
        if not raw:
            raise _checks.fail("`train_ds` yielded no batch.", "train_ds", train_ds)
        raise _checks.fail("The loss was not finite from the first batch on; lower "
                           "`min_learning_rate`.", "min_learning_rate", min_learning_rate)
    smoothed = smooth_losses(raw, beta)
    rates = sweep[:len(raw)]
    suggested = suggest_learning_rate(rates, smoothed)
    return LRFinderResult(rates, smoothed, np.asarray(raw), suggested.suggestion, suggested.min_loss_lr,
                          suggested.steepest_lr, diverged, interrupted)
