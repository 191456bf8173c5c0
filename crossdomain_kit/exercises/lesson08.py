"""Checkers for the exercises of ``notebooks/08_repair_the_articles_code.ipynb``.

Three repairs of the article's code, each checked on made-up inputs:

1. ``check_loss_from_logits``: the mean binary cross-entropy Keras's
   ``BinaryCrossentropy(from_logits=True)`` computes from the logits, against
   :func:`crossdomain_kit.theory.losses.binary_cross_entropy_from_logits`; it
   recognises the double sigmoid (probabilities fed where logits are
   expected), a sum instead of the mean, a flipped sign, the labels and
   predictions swapped, and the zero loss of a one-unit softmax.
2. ``check_binary_labels``: one-hot labels of shape (n, 2), as
   ``flow_from_directory(class_mode='categorical')`` gives them, turned into
   the (n, 1) float labels a one-logit model's loss expects; it recognises
   ``to_categorical`` applied again, the negative class's column, a flat
   (n,) vector and the one-hot labels returned unchanged.
3. ``check_validation_threshold``: the threshold chosen by Youden's J on the
   **validation** predictions, as
   :func:`crossdomain_kit.evaluation.choose_threshold` chooses it; it
   recognises a threshold tuned on the test split and the default 0.5.

Introduced in ``notebooks/08_repair_the_articles_code.ipynb``.

Pure NumPy: importing this module does not import TensorFlow.
"""

from __future__ import annotations

import numpy as np

from ..evaluation.thresholds import choose_threshold
from ..theory.losses import KERAS_EPSILON, binary_cross_entropy_from_logits, sigmoid
from ._feedback import Feedback, call_learner, learner_array, learner_number


def _made_up_logits(seed: int):
    rng = np.random.default_rng(seed)
    y = np.array([1.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 0.0])
    z = rng.normal(0.0, 2.0, y.size)
    z[0], z[1] = -3.0, 2.5  # two confident mistakes: the double sigmoid cannot charge them
    return y, z


def _swapped(y, z) -> float:
    """Keras's probability BCE with the labels as predictions (clipped) and the probabilities as labels."""
    p, q = sigmoid(z), np.clip(y, KERAS_EPSILON, 1 - KERAS_EPSILON)
    return float(np.mean(-(p * np.log(q) + (1 - p) * np.log(1 - q))))


def check_loss_from_logits(fn, seed: int = 0) -> Feedback:
    """Check ``fn(y_true, logits)`` returns the mean BCE of the logits, one number.

    Args:
        fn: the learner's function of labels (n,) in {0, 1} and logits (n,).
        seed: seed of the made-up logits.

    Returns:
        :class:`Feedback`: passed, or what is wrong and how to fix it.
    """
    y, z = _made_up_logits(seed)
    result, failure = learner_number(fn, (y.copy(), z.copy()),
                                     "Did you forget to average over the examples?")
    if failure is not None:
        return failure
    per_example = binary_cross_entropy_from_logits(y, z)
    right = float(per_example.mean())
    if np.isclose(result, right, rtol=1e-5, atol=1e-7):
        return Feedback(True, "Correct: log(1 + e^z) − y·z averaged over the examples, what "
                        "`BinaryCrossentropy(from_logits=True)(y_true, logits)` computes "
                        "(`crossdomain_kit.theory.losses.binary_cross_entropy_from_logits`).")
    candidates = [
        (float(binary_cross_entropy_from_logits(y, sigmoid(z)).mean()), "Double sigmoid: you turned the "
         "logits into probabilities and then treated those as logits. With from_logits=True, pass the "
         "raw logits; the loss applies the sigmoid itself."),
        (float(per_example.sum()), "You summed the per-example losses; Keras averages them (the mean)."),
        (-right, "Sign flipped: cross-entropy is −[y·log p + (1 − y)·log(1 − p)], a positive number."),
        (_swapped(y, z),
         "Labels and predictions swapped: Keras losses take (y_true, y_pred), in that order."),
        (0.0, "Zero: that is the loss of a one-unit softmax, whose output is always 1.0. Use one "
         "logit with the binary cross-entropy."),
    ]
    for value, message in candidates:
        if np.isclose(result, value, rtol=1e-5, atol=1e-7):
            return Feedback(False, message)
    return Feedback(False, "Not quite: p = sigmoid(logits), then the mean of "
                    "−[y·log p + (1 − y)·log(1 − p)] (or the stable form log(1 + e^z) − y·z).")


def _made_up_one_hot(seed: int):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, 9)
    labels[:2] = [0, 1]
    return np.eye(2, dtype=np.float32)[labels], labels.astype(np.float64)


def check_binary_labels(fn, seed: int = 0) -> Feedback:
    """Check ``fn(one_hot)`` turns (n, 2) one-hot labels into (n, 1) labels of the positive class.

    Column 1 of the one-hot array is the positive class (the second class
    folder in sorted order, as ``flow_from_directory`` and
    ``image_dataset_from_directory`` number them).

    Args:
        fn: the learner's function of a float array (n, 2).
        seed: seed of the made-up labels.

    Returns:
        :class:`Feedback`: passed, or what is wrong and how to fix it.
    """
    one_hot, labels = _made_up_one_hot(seed)
    n = len(labels)
    raw, failure = call_learner(fn, (one_hot.copy(),))
    if failure is not None:
        return failure
    try:
        shape = np.shape(np.asarray(raw, dtype=np.float64))
    except (TypeError, ValueError):
        return Feedback(False, f"Return an array of shape ({n}, 1); your function returned a "
                        f"{type(raw).__name__}.")
    if shape == (n, 2, 2):
        return Feedback(False, f"Shape (n, 2, 2): that is `to_categorical` applied to labels that are "
                        f"already one-hot. Take the positive class's column instead, shape ({n}, 1).")
    if shape == (n, 2):
        return Feedback(False, "These are still the one-hot labels, shape (n, 2): a one-logit model's "
                        "loss expects one column, the positive class's.")
    result, failure = learner_array(fn, (one_hot.copy(),), (n, 1))
    if failure is not None:
        return failure
    right = labels[:, None]
    if np.array_equal(result, right):
        return Feedback(True, "Correct: the positive class's column, shape (n, 1), as "
                        "`image_dataset_from_directory(label_mode='binary')` gives it.")
    if np.array_equal(result, 1 - right):
        return Feedback(False, "You took column 0, the negative class: label 1 must mean the positive "
                        "class (column 1).")
    return Feedback(False, "Not quite: return one_hot[:, 1:] (the positive class's column), as floats.")


def _made_up_predictions(seed: int):
    """Validation and test scores whose Youden thresholds differ from each other and from 0.5."""
    rng = np.random.default_rng(seed)
    y_val = np.array([0] * 12 + [1] * 12)
    p_val = np.concatenate([rng.uniform(0.05, 0.7, 12), rng.uniform(0.55, 0.95, 12)])
    y_test = np.array([0] * 10 + [1] * 10)
    p_test = np.concatenate([rng.uniform(0.02, 0.4, 10), rng.uniform(0.3, 0.8, 10)])
    return y_val, p_val, y_test, p_test


def _same_decisions(t1: float, t2: float, p) -> bool:
    return bool(np.array_equal(p >= t1, p >= t2))


def check_validation_threshold(fn, seed: int = 0) -> Feedback:
    """Check ``fn(y_val, p_val, y_test, p_test)`` returns the Youden threshold chosen on validation.

    Any threshold that labels the validation images exactly as the kit's
    (``choose_threshold(y_val, p_val)``, ``p >= t`` positive) is accepted.

    Args:
        fn: the learner's function of validation labels and probabilities, and
            test labels and probabilities.
        seed: seed of the made-up predictions.

    Returns:
        :class:`Feedback`: passed, or what is wrong and how to fix it.
    """
    y_val, p_val, y_test, p_test = _made_up_predictions(seed)
    result, failure = learner_number(fn, (y_val.copy(), p_val.copy(), y_test.copy(), p_test.copy()),
                                     "Return the threshold itself.")
    if failure is not None:
        return failure
    right = choose_threshold(y_val, p_val)
    if _same_decisions(result, right, p_val):
        return Feedback(True, "Correct: the threshold is chosen on validation only; the test split is "
                        "read once, at that threshold (`crossdomain_kit.evaluation.choose_threshold`).")
    if _same_decisions(result, choose_threshold(y_test, p_test), p_test):
        return Feedback(False, "You chose the threshold on the test split: every test number measured "
                        "at it is then optimistic. Choose it on validation (y_val, p_val).")
    if np.isclose(result, 0.5):
        return Feedback(False, "0.5 is a default, not a choice: pick the threshold that maximises "
                        "sensitivity + specificity − 1 on validation.")
    return Feedback(False, "Not quite: try every validation probability as a threshold (p >= t is "
                    "positive) and keep the one with the largest sensitivity + specificity − 1.")
