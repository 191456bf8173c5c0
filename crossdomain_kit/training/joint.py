"""Joint and multi-source training: several domains at once, with the risk of lesson 01.

:func:`mix_domains`, :func:`joint_datasets` and :func:`train_joint` train on
several domains at once with the risk of lesson 01,
``Σ_k λ_k R_k`` (``α R_S + (1 − α) R_T`` for a source and a target).

Importing this module imports TensorFlow and Keras.

Introduced in ``notebooks/03_transfer_shifted_domains.ipynb``.
"""

from __future__ import annotations

import math

import numpy as np
import tensorflow as tf

from .. import _checks
from ..models.classifier import base_of
from ..models.compiling import compile_classifier
from .checks import check_dataset, label_counts
from .fit import check_fit_controls, fit_callbacks
from .results import EpochRecorder, TrainingResult, fit_until_interrupted
from .runtime import set_global_seed


def _domain_weights(weights, n_domains: int) -> np.ndarray | None:
    """λ checked: None, or one non-negative weight per domain summing to 1."""
    if weights is None:
        return None
    array = _checks.float_array(weights, "weights", ndim=1)
    if array.size != n_domains or np.any(array < 0) or not np.isclose(array.sum(), 1.0, atol=1e-6):
        raise _checks.fail(f"`weights` must be {n_domains} non-negative numbers (one per domain) "
                           "summing to 1.", "weights", weights)
    return array


def mix_domains(datasets, weights=None, *, batch_size: int = 32, seed: int | None = 0) -> tf.data.Dataset:
    """One training stream over several domains: mixed batches with per-example domain weights.

    Every example of every domain appears once per epoch; each batch draws
    from the domains at random in proportion to their sizes, so batches are
    mixed. (The sizes are counted with one pass over each domain's labels.)
    Example i of domain k (of N_k; N in all) carries the sample weight
    ``w_k = λ_k · N / N_k``. Keras averages a batch's weighted losses over the
    batch size (``"sum_over_batch_size"``, not the sum of the weights) and
    averages batches by their size, so the epoch's loss is
    ``(1/N) Σ_i w_i ℓ_i = Σ_k λ_k R_k`` exactly, and each batch's gradient is an
    unbiased estimate of its gradient. With two domains and λ = (α, 1 − α) this
    is lesson 01's ``α R_S + (1 − α) R_T``; without weights every example
    weighs 1 and it is the joint empirical risk
    (:func:`crossdomain_kit.theory.risk.domain_sample_weights`, scaled by N).

    Args:
        datasets: a list of batched ``(images, labels)`` datasets, one per
            domain (e.g. several sources and a target), each from
            :func:`crossdomain_kit.data.pipeline.make_pipeline` with its own
            shuffling and augmentation.
        weights: None (pooled: every example counts the same) or λ, one
            non-negative weight per domain summing to 1.
        batch_size: size of the mixed batches.
        seed: seed of the random mixing (reshuffled every epoch; None: unseeded).

    Returns:
        A batched dataset of ``(images, labels, sample_weights)``.

    Raises:
        ValueError: for an empty list, a dataset that is not a finite batched
            ``(images, labels)`` dataset or is empty, datasets whose images
            differ in shape or type, bad weights, batch size or seed.

    Introduced in ``notebooks/03_transfer_shifted_domains.ipynb``.
    """
    if not isinstance(datasets, (list, tuple)) or not datasets:
        raise _checks.fail("`datasets` must be a non-empty list of datasets, one per domain.",
                           "datasets", datasets)
    for i, dataset in enumerate(datasets):
        check_dataset(dataset, f"datasets[{i}]", weights_allowed=False)
    lam = _domain_weights(weights, len(datasets))
    batch_size = _checks.positive_int(batch_size, "batch_size")
    seed = _checks.seed(seed, allow_none=True)
    first = datasets[0].element_spec
    for i, dataset in enumerate(datasets[1:], start=1):
        spec = dataset.element_spec
        if not all(a.dtype == b.dtype and a.shape[1:].is_compatible_with(b.shape[1:])
                   for a, b in zip(first, spec)):
            raise _checks.fail("Every domain must yield images and labels of the same shape and "
                               f"type as datasets[0] ({first}).", f"datasets[{i}]", spec)

    sizes = np.array([label_counts(d, f"datasets[{i}]").sum() for i, d in enumerate(datasets)])
    total = int(sizes.sum())
    shares = sizes / total
    example_weights = np.ones(len(datasets)) if lam is None else lam / shares

    def weighted(dataset, weight):
        weight = tf.constant(weight, tf.float32)
        return dataset.unbatch().map(lambda x, y: (x, y, weight))

    streams = [weighted(d, w) for d, w in zip(datasets, example_weights)]
    mixed = tf.data.Dataset.sample_from_datasets(streams, weights=shares.tolist(), seed=seed,
                                                 stop_on_empty_dataset=False,
                                                 rerandomize_each_iteration=True)
    batches = mixed.batch(batch_size)
    return (batches.apply(tf.data.experimental.assert_cardinality(math.ceil(total / batch_size)))
            .prefetch(tf.data.AUTOTUNE))


def joint_datasets(source_ds, target_ds, alpha: float | None = None, *, batch_size: int = 32,
                   seed: int | None = 0) -> tf.data.Dataset:
    """Mixed source-and-target batches for lesson 01's risk (two domains of :func:`mix_domains`).

    Args:
        source_ds: batched ``(images, labels)`` source training data (D_S, N examples).
        target_ds: batched ``(images, labels)`` target training data (D_T, M examples).
        alpha: None for the joint empirical risk ``1/(N+M) Σ ℓ`` (each domain
            counts by its size), or the source weight α in [0, 1] of
            ``α R_S + (1 − α) R_T``.
        batch_size: size of the mixed batches.
        seed: seed of the mixing.

    Returns:
        A batched dataset of ``(images, labels, sample_weights)``.

    Raises:
        ValueError: as :func:`mix_domains`, or for α outside [0, 1].

    Introduced in ``notebooks/03_transfer_shifted_domains.ipynb``.
    """
    weights = None if alpha is None else [_checks.fraction(alpha, "alpha"), 1 - alpha]
    return mix_domains([source_ds, target_ds], weights, batch_size=batch_size, seed=seed)


def train_joint(model, datasets, val_ds, *, weights=None, epochs: int, learning_rate: float = 1e-3,
                base_learning_rate: float | None = None, optimizer="adam", batch_size: int = 32,
                patience: int = 3, lr_patience: int = 2, lr_factor: float = 0.5, monitor: str = "val_auc",
                seed: int | None = 0, jit_compile="auto", callbacks=(), verbose="auto") -> TrainingResult:
    """Train on several domains at once: ``Σ_k λ_k R_k`` over mixed batches (:func:`mix_domains`).

    ``train_joint(model, [source_ds, target_ds], target_val_ds, weights=[α, 1 − α], ...)``
    is lesson 01's α-weighted risk; ``weights=None`` the joint empirical risk;
    more datasets train on several source domains at once. The model is
    compiled with :func:`crossdomain_kit.models.compiling.compile_classifier` and trains
    what its freezing state says (everything, as built), through ``fit`` with
    ``EarlyStopping(restore_best_weights=True)`` and ``ReduceLROnPlateau``.

    Args:
        model: a kit classifier.
        datasets: list of batched ``(images, labels)`` training datasets, one per domain.
        val_ds: batched validation dataset with both classes (usually the target's).
        weights: None or one weight per domain, summing to 1.
        epochs: most epochs (>= 1).
        learning_rate: > 0.
        base_learning_rate: the backbone's own learning rate (> 0); None for
            one rate everywhere.
        optimizer: Keras optimizer name or template instance.
        batch_size: size of the mixed batches.
        patience, lr_patience, lr_factor, monitor, jit_compile, callbacks,
            verbose: as in :func:`~crossdomain_kit.training.fine_tune`.
        seed: seeds the global random generators and the mixing (None: neither).

    Returns:
        :class:`TrainingResult` (phase ``"joint"``); the model holds the best epoch's weights.

    Raises:
        ValueError: as :func:`mix_domains` and :func:`~crossdomain_kit.training.fine_tune`.

    Introduced in ``notebooks/03_transfer_shifted_domains.ipynb``.
    """
    base_of(model)
    epochs = _checks.positive_int(epochs, "epochs")
    learning_rate = _checks.positive(learning_rate, "learning_rate")
    if base_learning_rate is not None:
        base_learning_rate = _checks.positive(base_learning_rate, "base_learning_rate")
    patience, lr_patience, lr_factor, monitor, seed, callbacks = check_fit_controls(
        val_ds, patience=patience, lr_patience=lr_patience, lr_factor=lr_factor, monitor=monitor,
        seed=seed, callbacks=callbacks)
    train_ds = mix_domains(datasets, weights, batch_size=batch_size, seed=seed)
    if seed is not None:
        set_global_seed(seed)

    with model.distribute_strategy.scope():
        compile_classifier(model, learning_rate, optimizer=optimizer,
                           base_learning_rate=base_learning_rate, jit_compile=jit_compile)
    recorder = EpochRecorder(model, monitor)
    recorder.phase = "joint"
    interrupted = fit_until_interrupted(
        model, train_ds, epochs=epochs, verbose=verbose,
        callbacks=fit_callbacks(val_ds, recorder, monitor, patience, lr_patience, lr_factor, verbose, callbacks))
    return recorder.finish(interrupted)
