"""Data-efficiency curves: target test AUC against the number of target labels, over seeds.

Transfer learning is worth most when the target has few labels. To see how
much, fine-tune a pretrained model (:func:`crossdomain_kit.workflows.recipes.transfer`)
and train the same network from scratch
(:func:`crossdomain_kit.workflows.recipes.scratch_baseline`) on growing subsets of the
target's training split, several seeds each, and compare them on the target's
test split (:func:`transfer_vs_scratch`). Each seed draws its own subset and
its own initialisation, so the spread over seeds holds both.

The summaries are pure NumPy and paired by seed: :func:`over_seeds` gives the
mean and the range (min, max) of a result over seeds, :func:`transfer_gain`
the same for the per-seed gain AUC_transfer − AUC_scratch, and
:func:`gain_vanishes_at` the smallest label count from which on the mean gain
stays at or below a tolerance.

Importing this module does not import TensorFlow; :func:`transfer_vs_scratch`
imports the recipes when called.

Introduced in ``notebooks/03_transfer_shifted_domains.ipynb``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from .. import _checks
from ..data.domains import Domain
from ..evaluation import Table


@dataclass(frozen=True)
class SeedSpread:
    """Mean and range over seeds (the last axis) of per-seed results.

    Attributes:
        mean: mean over seeds (a float, or an array for several rows).
        low: smallest value over seeds.
        high: largest value over seeds.
        n_seeds: how many seeds.
    """

    mean: float | np.ndarray
    low: float | np.ndarray
    high: float | np.ndarray
    n_seeds: int

    @property
    def spread(self) -> float | np.ndarray:
        """``high − low``: the range over seeds (0 with one seed)."""
        return self.high - self.low


def _scalar_or_array(array: np.ndarray):
    return float(array) if array.ndim == 0 else array


def over_seeds(values) -> SeedSpread:
    """Mean, min and max over the last axis (one entry per seed).

    Args:
        values: finite numbers, shape (n_seeds,) or (..., n_seeds).

    Returns:
        :class:`SeedSpread`; floats for a 1-D input, arrays of shape
        ``values.shape[:-1]`` otherwise.

    Raises:
        ValueError: for an empty or non-finite input, or a scalar.

    Introduced in ``notebooks/03_transfer_shifted_domains.ipynb``.
    """
    array = _checks.float_array(values, "values")
    if array.ndim == 0:
        raise _checks.fail("`values` must have a last axis of seeds.", "values", values)
    return SeedSpread(_scalar_or_array(array.mean(axis=-1)), _scalar_or_array(array.min(axis=-1)),
                      _scalar_or_array(array.max(axis=-1)), int(array.shape[-1]))


def transfer_gain(transfer_auc, scratch_auc) -> SeedSpread:
    """The gain AUC_transfer − AUC_scratch per seed, summarised over seeds (paired by seed).

    Seed ``s`` of both arrays must come from the same target labels, so the
    difference is taken per seed before averaging; its range says how much the
    gain itself varies, which the ranges of the two AUCs do not.

    Args:
        transfer_auc: test AUCs of the fine-tuned models, shape (n_seeds,) or (..., n_seeds).
        scratch_auc: test AUCs of the scratch models, the same shape, same seeds.

    Returns:
        :class:`SeedSpread` of the per-seed gains (positive: transfer is better).

    Raises:
        ValueError: for inputs of different shapes, empty or non-finite.

    Introduced in ``notebooks/03_transfer_shifted_domains.ipynb``.
    """
    t = _checks.float_array(transfer_auc, "transfer_auc")
    s = _checks.float_array(scratch_auc, "scratch_auc")
    _checks.same_shape(t, s, "transfer_auc", "scratch_auc")
    return over_seeds(t - s)


def gain_vanishes_at(label_counts, mean_gains, tolerance: float = 0.0) -> int | None:
    """The smallest label count from which on the mean gain stays at or below ``tolerance``.

    "From which on": a gain that dips at one count and comes back at a larger
    one has not vanished there.

    Args:
        label_counts: increasing positive integers, e.g. ``[16, 32, 64, 128, 256]``.
        mean_gains: the mean gain (e.g. ``transfer_gain(...).mean``) at each count.
        tolerance: a gain at or below this counts as none (>= 0), e.g. the
            size of the spread over seeds.

    Returns:
        The label count, or None when the gain is still above ``tolerance``
        at the largest count.

    Raises:
        ValueError: for counts that are not increasing positive integers,
            gains of another length, or a negative tolerance.

    Introduced in ``notebooks/03_transfer_shifted_domains.ipynb``.
    """
    counts = _check_label_counts(label_counts)
    gains = _checks.float_array(mean_gains, "mean_gains", ndim=1)
    if gains.shape != counts.shape:
        raise _checks.fail(f"`mean_gains` must hold one gain per label count ({counts.size}).",
                           "mean_gains", mean_gains)
    tolerance = _checks.real_in(tolerance, "tolerance", 0.0)
    vanished = None
    for count, gain in zip(counts[::-1], gains[::-1]):
        if gain > tolerance:
            break
        vanished = int(count)
    return vanished


def _check_label_counts(label_counts) -> np.ndarray:
    counts = np.asarray(label_counts)
    if (counts.ndim != 1 or counts.size == 0 or not np.issubdtype(counts.dtype, np.integer)
            or np.any(counts < 1) or np.any(np.diff(counts) <= 0)):
        raise _checks.fail("`label_counts` must be increasing positive integers.", "label_counts",
                           label_counts)
    return counts.astype(np.int64)


def _check_seeds(seeds) -> tuple[int, ...]:
    if isinstance(seeds, (str, bytes)) or not hasattr(seeds, "__iter__"):
        raise _checks.fail("`seeds` must be a non-empty sequence of seeds.", "seeds", seeds)
    seeds = tuple(_checks.seed(s) for s in seeds)
    if not seeds or len(set(seeds)) != len(seeds):
        raise _checks.fail("`seeds` must be a non-empty sequence of distinct seeds.", "seeds", seeds)
    return seeds


@dataclass(frozen=True)
class DataEfficiency:
    """Target test AUC of transfer and scratch per label count and seed.

    Attributes:
        label_counts: the target training labels used, shape (n_counts,).
        seeds: the seeds, one column each.
        transfer_auc: test AUC of the fine-tuned models, shape (n_counts, n_seeds).
        scratch_auc: test AUC of the scratch models, shape (n_counts, n_seeds).
        seconds: wall-clock seconds of the whole sweep.
    """

    label_counts: np.ndarray
    seeds: tuple[int, ...]
    transfer_auc: np.ndarray
    scratch_auc: np.ndarray
    seconds: float

    def gain(self) -> SeedSpread:
        """:func:`transfer_gain` per label count (arrays of shape (n_counts,))."""
        return transfer_gain(self.transfer_auc, self.scratch_auc)

    def seeds_better(self) -> np.ndarray:
        """How many seeds gave transfer a higher test AUC than scratch, per label count.

        Returns:
            Integers of shape (n_counts,), each between 0 and ``len(seeds)``
            (a tie counts for neither).

        Introduced in ``notebooks/03_transfer_shifted_domains.ipynb``.
        """
        return np.sum(self.transfer_auc > self.scratch_auc, axis=1)

    def curves(self) -> dict[str, np.ndarray]:
        """``{"transfer": ..., "scratch": ...}``, each (n_counts, n_seeds), for
        :func:`crossdomain_kit.plots.plot_data_efficiency`."""
        return {"transfer": self.transfer_auc, "scratch": self.scratch_auc}

    def table(self) -> Table:
        """Mean AUC of both, the gain's mean and range, and the seeds where transfer won, per label count."""
        t, s = over_seeds(self.transfer_auc), over_seeds(self.scratch_auc)
        g, better = self.gain(), self.seeds_better()
        rows = tuple((int(n), t.mean[i], s.mean[i], g.mean[i], g.low[i], g.high[i],
                      f"{better[i]} of {len(self.seeds)}")
                     for i, n in enumerate(self.label_counts))
        return Table(columns=("target labels", "transfer AUC", "scratch AUC", "gain", "gain min",
                              "gain max", "seeds better"),
                     rows=rows, formats=("d", ".3f", ".3f", "+.3f", "+.3f", "+.3f", ""))


def transfer_vs_scratch(pretrained, target_domain: Domain, label_counts, seeds=(0, 1, 2), *,
                        head_epochs: int | None = None, finetune_epochs: int | None = None,
                        batch_size: int = 32) -> DataEfficiency:
    """Fine-tune and train from scratch on growing subsets of the target's labels, over seeds.

    For each label count ``n`` and seed ``s``: ``n`` training images drawn with
    :meth:`~crossdomain_kit.data.domains.DomainSplit.sample` ``(n, s)``, the
    target's whole validation split (model selection and threshold),
    :func:`~crossdomain_kit.workflows.recipes.transfer` from ``pretrained`` and
    :func:`~crossdomain_kit.workflows.recipes.scratch_baseline` with the same budget and
    seed, then both scored once on the target's test split.

    Args:
        pretrained: a :class:`~crossdomain_kit.workflows.finetune.FineTuneResult` from
            :func:`~crossdomain_kit.workflows.recipes.pretrain`, or a kit classifier.
        target_domain: a :class:`~crossdomain_kit.data.domains.Domain` with train,
            val and test splits.
        label_counts: increasing positive integers; counts above the training
            split's size use all of it.
        seeds: distinct seeds, one run of each model per count and seed.
        head_epochs, finetune_epochs, batch_size: the budget, as in
            :func:`~crossdomain_kit.workflows.recipes.transfer` (scratch gets the same).

    Returns:
        :class:`DataEfficiency`.

    Raises:
        ValueError: for a domain without val or test split, bad counts or
            seeds, and as the recipes.

    Introduced in ``notebooks/03_transfer_shifted_domains.ipynb``.
    """
    from ..models.predict import backbone_of  # imports TensorFlow
    from .recipes import scratch_baseline, transfer

    if not isinstance(target_domain, Domain) or target_domain.val is None or target_domain.test is None:
        raise _checks.fail("`target_domain` must be a Domain with train, val and test splits.",
                           "target_domain", target_domain)
    counts, seeds = _check_label_counts(label_counts), _check_seeds(seeds)
    budget = dict(head_epochs=head_epochs, finetune_epochs=finetune_epochs, batch_size=batch_size)
    test = target_domain.test
    auc = {"transfer": np.empty((counts.size, len(seeds))), "scratch": np.empty((counts.size, len(seeds)))}
    start = time.perf_counter()
    for i, n in enumerate(counts):
        for j, seed in enumerate(seeds):
            subset = Domain(target_domain.name, target_domain.train.sample(int(n), seed), target_domain.val,
                            test)
            tuned = transfer(pretrained, subset, seed=seed, **budget)
            auc["transfer"][i, j] = tuned.evaluate(test).auc
            size, backbone = int(tuned.model.input_shape[1]), backbone_of(tuned.model)
            auc["scratch"][i, j] = scratch_baseline(subset, seed=seed, image_size=size, backbone=backbone,
                                                    **budget).evaluate(test).auc
    return DataEfficiency(counts, seeds, auc["transfer"], auc["scratch"], time.perf_counter() - start)
