"""Adversarial examples by the fast gradient sign method (FGSM), and training against them.

FGSM (Goodfellow et al. 2015) moves every input value by ε in the direction
that raises the example's loss fastest to first order:
``x_adv = clip(x + ε · sign(∂ℓ/∂x), low, high)``. For the kit's one-logit
classifiers ``ℓ`` is the from-logits binary cross-entropy of the example's
own label, and ``x`` is what the model receives: images *after* the input
pipeline's preprocessing, so ε is in those units (the small CNN sees
``pixels / 255``: ε = k/255 changes every pixel by k grey levels), and the
clip range is where the backbone's preprocessing maps 0–255
(:func:`input_range`).

* :func:`fgsm_step` (NumPy) and :func:`fgsm_step_tf` (its TensorFlow twin):
  the step itself.
* :func:`logistic_input_gradient` (NumPy): the closed form
  ``∂ℓ_i/∂x_i = (σ(x_i·w + b) − y_i) · w`` of a logistic model, the reference
  that :func:`input_gradients` is tested against (with finite differences).
* :func:`input_gradients`: ``∂ℓ_i/∂x_i`` of any kit classifier by
  ``tf.GradientTape``, in inference mode (``training=False``: no dropout,
  BatchNormalization's moving statistics), as an attacker meets a deployed model.
* :func:`fgsm_examples` attacks arrays; :func:`robust_scores` measures AUC
  and accuracy on a dataset attacked at several ε.
* :func:`train_adversarial`: adversarial training, every batch's loss
  ``(1 − a) · ℓ(clean) + a · ℓ(FGSM of the current model)``, through the
  kit's tape loop (:func:`crossdomain_kit.training.make_objective_step`,
  :func:`crossdomain_kit.training.run_epochs`).

Importing this module imports TensorFlow and Keras.

Introduced in ``notebooks/06_overfitting_controls.ipynb``.
"""

from __future__ import annotations

from dataclasses import dataclass

import keras
import numpy as np
import tensorflow as tf

from .. import _checks
from ..models.backbones import get_backbone
from ..evaluation import binary_metrics
from ..theory.losses import bce_gradient_logits
from ..training.checks import check_dataset
from ..training.loop import check_tape_run, make_objective_step, make_test_step, run_epochs, start_tape_run
from ..training.results import TrainingResult


# --- The step and the logistic model's input gradient (NumPy) ---------------------------------------

def _epsilon(epsilon) -> float:
    return _checks.real_in(epsilon, "epsilon", 0.0)


def _clip_bounds(clip_range, channels: int | None = None):
    """``(low, high)`` as float64 arrays (scalars or one value per channel), or None."""
    if clip_range is None:
        return None
    if not isinstance(clip_range, (tuple, list)) or len(clip_range) != 2:
        raise _checks.fail("`clip_range` must be None or a pair (low, high) of numbers or of "
                           "per-channel arrays, e.g. input_range('small_cnn').", "clip_range", clip_range)
    low, high = (_checks.float_array(bound, "clip_range") for bound in clip_range)
    if low.ndim > 1 or high.ndim > 1 or np.any(low >= high):
        raise _checks.fail("`clip_range` must be (low, high) with low < high, as numbers or 1-D "
                           "per-channel arrays.", "clip_range", clip_range)
    for bound in (low, high):
        if bound.ndim == 1 and channels is not None and bound.size not in (1, channels):
            raise _checks.fail(f"Per-channel `clip_range` bounds need one value per channel "
                               f"({channels}).", "clip_range", clip_range)
    return low, high


def fgsm_step(x, gradient, epsilon: float, clip_range=None) -> np.ndarray:
    """One FGSM step: ``x + ε · sign(gradient)``, clipped to ``clip_range``.

    Where the gradient is exactly 0 the input does not move (``sign(0) = 0``).

    Args:
        x: inputs, any shape (images: (n, height, width, channels)).
        gradient: ``∂ℓ/∂x``, the same shape.
        epsilon: step size ε >= 0, in the units of ``x``.
        clip_range: None, or ``(low, high)``: numbers, or arrays of one
            value per channel (last axis) as from :func:`input_range`.

    Returns:
        float64 array shaped like ``x``; every entry within ε of ``x`` and
        inside ``clip_range``.

    Raises:
        ValueError: for ε < 0, shapes that differ, non-finite values or a
            bad ``clip_range``.

    Introduced in ``notebooks/06_overfitting_controls.ipynb``.
    """
    x = _checks.float_array(x, "x")
    gradient = _checks.float_array(gradient, "gradient")
    _checks.same_shape(x, gradient, "x", "gradient")
    epsilon = _epsilon(epsilon)
    bounds = _clip_bounds(clip_range, x.shape[-1] if x.ndim else None)
    x_adv = x + epsilon * np.sign(gradient)
    return x_adv if bounds is None else np.clip(x_adv, *bounds)


def fgsm_step_tf(x, gradient, epsilon, clip_range=None):
    """TensorFlow twin of :func:`fgsm_step`, for use inside a ``tf.function`` (no argument checks).

    Args:
        x, gradient: tensors of one shape.
        epsilon: ε (a number or scalar tensor).
        clip_range: None or ``(low, high)``, numbers or per-channel arrays.

    Returns:
        ``x + ε · sign(gradient)`` clipped, with ``x``'s dtype.

    Introduced in ``notebooks/06_overfitting_controls.ipynb``.
    """
    x = tf.convert_to_tensor(x)
    epsilon = tf.cast(epsilon, x.dtype) if tf.is_tensor(epsilon) else tf.constant(epsilon, x.dtype)
    x_adv = x + epsilon * tf.sign(tf.cast(gradient, x.dtype))
    if clip_range is None:
        return x_adv
    low, high = (tf.constant(bound, x.dtype) for bound in clip_range)
    return tf.clip_by_value(x_adv, low, high)


def logistic_input_gradient(x, y, weights, bias: float = 0.0) -> np.ndarray:
    """``∂ℓ_i/∂x_i`` of a logistic model ``z = x·w + b`` with the from-logits BCE, in closed form.

    The chain rule through ``z``: ``∂ℓ/∂z = σ(z) − y`` (lesson 02) and
    ``∂z/∂x = w``, so each example's gradient is ``(σ(z_i) − y_i) · w``: it
    points along ``w``, away from the example's own class. FGSM's sign of it
    is ``∓sign(w)`` — every example of a class moves the same way.

    Args:
        x: inputs, shape (n, d).
        y: labels in {0, 1}, shape (n,) or (n, 1).
        weights: w, shape (d,) (or (d, 1), a Dense layer's kernel).
        bias: b.

    Returns:
        float64 array (n, d): row i is the gradient of example i's own loss.

    Raises:
        ValueError: for shapes that do not fit or non-finite values.

    Introduced in ``notebooks/06_overfitting_controls.ipynb``.
    """
    x = _checks.float_array(x, "x", ndim=2)
    y = _checks.binary_labels(y, "y").reshape(-1)
    w = _checks.float_array(weights, "weights").reshape(-1)
    b = _checks.real_in(bias, "bias")
    if y.size != x.shape[0]:
        raise _checks.fail(f"`y` must hold one label per row of `x` ({x.shape[0]}).", "y", y)
    if w.size != x.shape[1]:
        raise _checks.fail(f"`weights` must hold one weight per column of `x` ({x.shape[1]}).",
                           "weights", w)
    return bce_gradient_logits(y, x @ w + b)[:, None] * w[None, :]


def input_range(backbone: str) -> tuple[np.ndarray, np.ndarray]:
    """Where the backbone's preprocessing maps 0–255 pixels: the valid range of its inputs.

    Args:
        backbone: a name from :func:`crossdomain_kit.models.backbones.backbone_names`.

    Returns:
        ``(low, high)``, float64 arrays with one value per channel, e.g.
        ``([0.], [1.])`` for the small CNN and ``([-1, -1, -1], [1, 1, 1])``
        for MobileNetV2; pass them as ``clip_range``.

    Raises:
        ValueError: for an unknown backbone.

    Introduced in ``notebooks/06_overfitting_controls.ipynb``.
    """
    spec = get_backbone(backbone)
    preprocess = spec.preprocess_input()
    ends = [np.asarray(preprocess(np.full((1, 1, 1, spec.channels), value, np.float32)),
                       np.float64).reshape(spec.channels) for value in (0.0, 255.0)]
    return np.minimum(*ends), np.maximum(*ends)


# --- Input gradients and attacks (TensorFlow) -------------------------------------------------------

def _per_example_loss(y, logits):
    return keras.losses.binary_crossentropy(tf.cast(y, tf.float32), tf.cast(logits, tf.float32),
                                            from_logits=True)


def _input_gradient_tf(model, x, y):
    """∂ℓ_i/∂x_i for a batch, in inference mode (the sum's gradient: examples do not interact)."""
    x = tf.convert_to_tensor(x)
    with tf.GradientTape() as tape:
        tape.watch(x)
        loss = tf.reduce_sum(_per_example_loss(y, model(x, training=False)))
    return tape.gradient(loss, x)


def _attack_tf(model, x, y, epsilon, clip_range):
    """The FGSM examples of a batch, as a constant (no gradient flows back through the attack)."""
    return tf.stop_gradient(fgsm_step_tf(x, _input_gradient_tf(model, x, y), epsilon, clip_range))


def _inputs(model, x, y, batch_size):
    if not isinstance(model, keras.Model):
        raise _checks.fail("`model` must be a Keras model with one logit output, e.g. from "
                           "crossdomain_kit.models.classifier.build_classifier.", "model", model)
    x = _checks.float_array(x, "x")
    y = _checks.binary_labels(y, "y")
    if x.ndim < 2 or y.size != x.shape[0] or y.ndim > 2 or (y.ndim == 2 and y.shape[1] != 1):
        raise _checks.fail(f"`y` must hold one label per example of `x` ({x.shape[0] if x.ndim else 0}), "
                           "shaped (n,) or (n, 1).", "y", y)
    expected = tuple(model.input_shape[1:])
    if len(expected) != x.ndim - 1 or any(e not in (None, d) for e, d in zip(expected, x.shape[1:])):
        raise _checks.fail(f"`x` must be shaped (n, {', '.join(map(str, expected))}), the model's "
                           "preprocessed inputs (as the input pipeline yields them).", "x", x)
    batch_size = _checks.positive_int(batch_size, "batch_size")
    return x.astype(np.float32), y.reshape(-1, 1).astype(np.float32), batch_size


def input_gradients(model, x, y, *, batch_size: int = 256) -> np.ndarray:
    """``∂ℓ_i/∂x_i``, each example's loss gradient with respect to its own input, by GradientTape.

    The model runs with ``training=False`` (dropout off, BatchNormalization
    with its moving statistics), so the gradient is that of the model as it
    predicts. ``ℓ_i`` is the from-logits binary cross-entropy of example i.

    Args:
        model: a Keras model with one logit output (a kit classifier).
        x: the model's inputs, already preprocessed, shape (n, *model input).
        y: labels in {0, 1}, shape (n,) or (n, 1).
        batch_size: examples per forward/backward pass.

    Returns:
        float32 array shaped like ``x``.

    Raises:
        ValueError: for a model that is not a Keras model, inputs that do not
            fit its input shape, labels that are not one 0/1 per example, or a
            bad batch size.

    Introduced in ``notebooks/06_overfitting_controls.ipynb``.
    """
    x, y, batch_size = _inputs(model, x, y, batch_size)
    return np.concatenate([_input_gradient_tf(model, x[i:i + batch_size], y[i:i + batch_size]).numpy()
                           for i in range(0, len(x), batch_size)])


def fgsm_examples(model, x, y, epsilon: float, *, clip_range=None, batch_size: int = 256) -> np.ndarray:
    """FGSM adversarial examples of ``x`` against ``model``: ``clip(x + ε · sign(∂ℓ_i/∂x_i))``.

    The gradient comes from :func:`input_gradients` (inference mode), the
    step from :func:`fgsm_step`.

    Args:
        model: a Keras model with one logit output.
        x: preprocessed inputs, shape (n, *model input).
        y: their true labels in {0, 1}.
        epsilon: ε >= 0 in input units (0 returns ``x``, clipped).
        clip_range: None or ``(low, high)``, e.g. ``input_range("small_cnn")``.
        batch_size: examples per pass.

    Returns:
        float32 array shaped like ``x``.

    Raises:
        ValueError: for ε < 0, a bad ``clip_range``, or as :func:`input_gradients`.

    Introduced in ``notebooks/06_overfitting_controls.ipynb``.
    """
    epsilon = _epsilon(epsilon)
    _clip_bounds(clip_range, np.shape(x)[-1] if np.ndim(x) else None)
    gradient = input_gradients(model, x, y, batch_size=batch_size)
    return fgsm_step(x, gradient, epsilon, clip_range).astype(np.float32)


@dataclass(frozen=True)
class RobustScore:
    """A model's scores on a dataset attacked with FGSM at one ε.

    Attributes:
        epsilon: the attack's ε (0: the clean data).
        auc: ROC AUC on the attacked inputs.
        accuracy: accuracy at probability 0.5 (logit 0), as the training metric.
    """

    epsilon: float
    auc: float
    accuracy: float


def robust_scores(model, dataset, epsilons, *, clip_range=None) -> list[RobustScore]:
    """AUC and accuracy of ``model`` on ``dataset`` under FGSM, for each ε.

    Every batch is attacked with its own labels against the model itself
    (white box, inference mode), then scored. ε = 0 gives the clean scores.

    Args:
        model: a Keras model with one logit output.
        dataset: batched ``(images, labels)`` dataset of preprocessed inputs
            with both classes, e.g. ``make_pipeline(split, ...)`` without
            ``training``.
        epsilons: one ε >= 0 or a list of them.
        clip_range: None or ``(low, high)``, e.g. ``input_range("small_cnn")``.

    Returns:
        One :class:`RobustScore` per ε, in the given order.

    Raises:
        ValueError: for a bad model, dataset, ε, clip range, or a dataset
            with one class only (AUC is undefined).

    Introduced in ``notebooks/06_overfitting_controls.ipynb``.
    """
    if not isinstance(model, keras.Model):
        raise _checks.fail("`model` must be a Keras model with one logit output.", "model", model)
    check_dataset(dataset, "dataset", weights_allowed=False)
    values = list(epsilons) if isinstance(epsilons, (list, tuple, np.ndarray)) else [epsilons]
    if not values:
        raise _checks.fail("`epsilons` must be one number >= 0 or a non-empty list of them.",
                           "epsilons", epsilons)
    values = [_epsilon(value) for value in values]
    channels = dataset.element_spec[0].shape[-1]
    bounds = _clip_bounds(clip_range, channels)
    clip = None if bounds is None else tuple(bound.astype(np.float32) for bound in bounds)

    scores = []
    for epsilon in values:
        logits, labels = [], []
        for x, y in dataset:
            logits.append(model(_attack_tf(model, x, y, epsilon, clip), training=False).numpy())
            labels.append(y.numpy())
        p = 1.0 / (1.0 + np.exp(-np.concatenate(logits).astype(np.float64).ravel()))
        metrics = binary_metrics(np.concatenate(labels).ravel(), p, 0.5)
        scores.append(RobustScore(epsilon, metrics.auc, metrics.accuracy))
    return scores


# --- Adversarial training ---------------------------------------------------------------------------

def _adversarial_objective(model, *, epsilon, adversarial_weight, clip_range):
    bce = keras.losses.BinaryCrossentropy(from_logits=True)

    def objective(batch):
        x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(batch)
        x_adv = _attack_tf(model, x, y, epsilon, clip_range)
        n = tf.shape(x)[0]
        # One pass over clean and adversarial rows together: BatchNormalization sees both.
        logits = model(tf.concat([x, tf.cast(x_adv, x.dtype)], axis=0), training=True)
        clean_loss = bce(y, logits[:n], sample_weight=sample_weight)
        adversarial_loss = bce(y, logits[n:], sample_weight=sample_weight)
        loss = (1.0 - adversarial_weight) * clean_loss + adversarial_weight * adversarial_loss
        return loss, y, logits[:n]

    return objective


def train_adversarial(model, train_ds, val_ds, epochs: int, optimizer, *, epsilon: float,
                      adversarial_weight: float = 0.5, clip_range=None, monitor: str = "val_auc",
                      patience: int | None = None, restore_best: bool = False, seed: int | None = 0,
                      verbose: bool = True) -> TrainingResult:
    """Adversarial training: each batch's loss mixes its clean and its FGSM examples.

    Every step attacks its batch against the current model (FGSM at ε,
    inference mode, no gradient through the attack), then minimises
    ``(1 − a) · BCE(clean) + a · BCE(adversarial)`` with ``a =
    adversarial_weight`` (Goodfellow et al. use 0.5), plus the layers'
    penalties. The rest is :func:`crossdomain_kit.training.train_with_tape`:
    the same epoch loop, validation on clean data, history, best epoch and
    Ctrl-C handling; training metrics follow the clean rows.

    Args:
        model: a kit classifier (one logit), trained in place.
        train_ds: batched ``(images, labels[, sample_weights])`` of preprocessed inputs.
        val_ds: batched validation dataset with both classes.
        epochs: number of epochs (>= 1).
        optimizer: a Keras optimizer instance.
        epsilon: the attack's ε >= 0 in input units (0: the "adversarial" rows are the clean ones).
        adversarial_weight: ``a`` in [0, 1]; 0 is plain training.
        clip_range: None or ``(low, high)``, e.g. ``input_range("small_cnn")``.
        monitor, patience, restore_best, seed, verbose: as in
            :func:`crossdomain_kit.training.train_with_tape`.

    Returns:
        :class:`~crossdomain_kit.training.TrainingResult` (phase ``"adversarial"``).

    Raises:
        ValueError: before anything trains, for a bad dataset, validation data
            with one class, epochs < 1, an optimizer that is not a Keras
            optimizer, or a bad ε, weight, clip range, monitor, patience or seed.

    Introduced in ``notebooks/06_overfitting_controls.ipynb``.
    """
    if not isinstance(model, keras.Model):
        raise _checks.fail("`model` must be a Keras model with one logit output.", "model", model)
    epochs, monitor, patience, seed = check_tape_run(train_ds, val_ds, epochs, optimizer, monitor, patience,
                                                     seed)
    epsilon = _epsilon(epsilon)
    adversarial_weight = _checks.fraction(adversarial_weight, "adversarial_weight")
    bounds = _clip_bounds(clip_range, train_ds.element_spec[0].shape[-1])
    clip = None if bounds is None else tuple(bound.astype(np.float32) for bound in bounds)
    optimizer, metrics = start_tape_run(model, optimizer, seed)
    objective = _adversarial_objective(model, epsilon=epsilon, adversarial_weight=adversarial_weight,
                                       clip_range=clip)
    train_step = make_objective_step(model, optimizer, objective, metrics)
    test_step = make_test_step(model, keras.losses.BinaryCrossentropy(from_logits=True), metrics)
    return run_epochs(model, train_ds, val_ds, epochs, train_step, test_step, metrics, optimizer=optimizer,
                      phase="adversarial", monitor=monitor, patience=patience, restore_best=restore_best,
                      verbose=verbose)
