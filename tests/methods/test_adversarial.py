"""Tests for crossdomain_kit.methods.adversarial: the FGSM step (NumPy vs TF), input gradients (closed form
vs GradientTape vs finite differences), attacks, robust scores and adversarial training.

A logistic Keras model (Flatten → Dense(1)) gives exact references; tiny small-CNN classifiers
on 8-pixel synthetic images keep the rest to seconds.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

from crossdomain_kit import training
from crossdomain_kit.methods.adversarial import (RobustScore, fgsm_examples, fgsm_step, fgsm_step_tf,
                                         input_gradients, input_range, logistic_input_gradient,
                                         robust_scores, train_adversarial)
from crossdomain_kit.theory.gradcheck import numerical_gradient, relative_error
from crossdomain_kit.theory.losses import binary_cross_entropy_from_logits
from crossdomain_kit.models.classifier import build_classifier
from crossdomain_kit.data.pipeline import make_pipeline

SIZE = 8


def _arrays(n=32, seed=0):
    """Balanced labels; positives carry a brighter square. Pixels 0-255."""
    rng = np.random.default_rng(seed)
    y = rng.permutation(np.arange(n) % 2)
    x = rng.normal(100, 40, (n, SIZE, SIZE, 1))
    x[y == 1, 2:6, 2:6, 0] += 60
    return np.clip(x, 0, 255).astype("float32"), y


def _ds(n=32, seed=0, training_=False):
    return make_pipeline(_arrays(n, seed), backbone="small_cnn", image_size=SIZE, batch_size=8,
                         training=training_, augment=False, seed=seed)


def _logistic(d=SIZE * SIZE, seed=0):
    """z = flatten(x)·w + b as a Keras model, with known weights."""
    model = keras.Sequential([keras.Input((SIZE, SIZE, 1)), keras.layers.Flatten(),
                              keras.layers.Dense(1)])
    rng = np.random.default_rng(seed)
    w, b = rng.normal(0, 0.5, (d, 1)).astype("float32"), np.array([0.3], "float32")
    model.layers[-1].set_weights([w, b])
    return model, w.ravel().astype(np.float64), float(b[0])


def _unit_batch(n=6, seed=0):
    x, y = _arrays(n, seed)
    return x / 255.0, y


# --- The step --------------------------------------------------------------------------------------

def test_fgsm_step_moves_every_value_by_epsilon_along_the_gradients_sign():
    x = np.array([[0.5, 0.5, 0.5, 0.98]])
    gradient = np.array([[2.0, -0.1, 0.0, 3.0]])
    np.testing.assert_allclose(fgsm_step(x, gradient, 0.1), [[0.6, 0.4, 0.5, 1.08]])
    np.testing.assert_allclose(fgsm_step(x, gradient, 0.1, clip_range=(0.0, 1.0)), [[0.6, 0.4, 0.5, 1.0]])
    np.testing.assert_array_equal(fgsm_step(x, gradient, 0.0), x)


def test_fgsm_step_clips_per_channel_and_the_tf_twin_agrees():
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (4, 5, 5, 3))
    gradient = rng.normal(size=x.shape)
    bounds = (np.array([-1.0, -0.5, 0.0]), np.array([1.0, 0.5, 0.8]))
    x_adv = fgsm_step(x, gradient, 0.3, bounds)
    assert np.all(x_adv >= bounds[0]) and np.all(x_adv <= bounds[1])
    assert np.all(np.abs(x_adv - np.clip(x, *bounds)) <= 0.3 + 1e-12)
    np.testing.assert_allclose(fgsm_step_tf(x, gradient, 0.3, bounds).numpy(), x_adv, rtol=1e-12)
    np.testing.assert_allclose(fgsm_step_tf(x, gradient, 0.3).numpy(), fgsm_step(x, gradient, 0.3))


# --- Input gradients: closed form, finite differences, GradientTape ----------------------------------

def test_the_logistic_input_gradient_matches_finite_differences():
    rng = np.random.default_rng(1)
    x, y, w, b = rng.normal(size=(5, 3)), np.array([0, 1, 1, 0, 1]), rng.normal(size=3), -0.2
    gradient = logistic_input_gradient(x, y, w, b)
    for i in range(len(x)):
        def loss(row, i=i):
            return binary_cross_entropy_from_logits([y[i]], [row @ w + b])[0]
        assert relative_error(gradient[i], numerical_gradient(loss, x[i])) < 1e-7


def test_gradient_tape_input_gradients_equal_the_closed_form():
    model, w, b = _logistic()
    x, y = _unit_batch()
    expected = logistic_input_gradient(x.reshape(len(x), -1), y, w, b).reshape(x.shape)
    np.testing.assert_allclose(input_gradients(model, x, y, batch_size=4), expected, rtol=1e-4, atol=1e-7)
    np.testing.assert_allclose(input_gradients(model, x, y[:, None]), expected, rtol=1e-4, atol=1e-7)


def test_a_classifiers_input_gradient_matches_finite_differences_in_inference_mode():
    model = build_classifier("small_cnn", (SIZE, SIZE, 1), dropout=0.5, seed=0)
    x, y = _unit_batch(2)
    gradient = input_gradients(model, x, y)
    np.testing.assert_array_equal(gradient, input_gradients(model, x, y))    # no dropout: repeatable

    def loss(images):
        logits = model(images.astype(np.float32), training=False).numpy().ravel()
        return binary_cross_entropy_from_logits(y, logits.astype(np.float64))

    # Directional derivatives (float32 model: a whole-image direction keeps rounding small).
    for seed in range(3):
        direction = np.random.default_rng(seed).choice([-1.0, 1.0], size=x.shape)
        h = 1e-4  # small: ReLU and max-pooling kinks lie within 1e-3 of these inputs
        numeric = (loss(x + h * direction) - loss(x - h * direction)) / (2 * h)
        analytic = np.sum(gradient * direction, axis=(1, 2, 3))
        np.testing.assert_allclose(analytic, numeric, rtol=1e-2, atol=1e-3)


def test_input_range_is_where_the_preprocessing_sends_0_and_255():
    low, high = input_range("small_cnn")
    np.testing.assert_allclose(low, [0.0]) and np.testing.assert_allclose(high, [1.0])
    low, high = input_range("mobilenetv2")
    np.testing.assert_allclose(low, [-1.0] * 3) and np.testing.assert_allclose(high, [1.0] * 3)
    low, high = input_range("resnet50")
    np.testing.assert_allclose(high - low, [255.0] * 3, rtol=1e-6)


# --- Attacks --------------------------------------------------------------------------------------

def test_fgsm_examples_raise_every_examples_loss_of_a_linear_model_and_stay_in_range():
    model, w, b = _logistic()
    x, y = _unit_batch(8)
    x_adv = fgsm_examples(model, x, y, 0.05, clip_range=input_range("small_cnn"))
    assert x_adv.dtype == np.float32 and x_adv.shape == x.shape
    assert np.all((x_adv >= 0) & (x_adv <= 1)) and np.max(np.abs(x_adv - x)) <= 0.05 + 1e-6

    def losses(images):
        return binary_cross_entropy_from_logits(y, images.reshape(len(y), -1) @ w + b)

    assert np.all(losses(x_adv) > losses(x))
    np.testing.assert_array_equal(fgsm_examples(model, x, y, 0.0), x)


def test_robust_scores_at_epsilon_0_are_the_clean_scores_and_fall_under_attack():
    model = build_classifier("small_cnn", (SIZE, SIZE, 1), seed=0)
    training.train_with_tape(model, _ds(64, training_=True), _ds(seed=1), 3,
                             keras.optimizers.Adam(3e-3), verbose=False)
    val = _ds(seed=1)
    scores = robust_scores(model, val, [0.0, 0.02, 0.1], clip_range=input_range("small_cnn"))
    assert [s.epsilon for s in scores] == [0.0, 0.02, 0.1] and all(isinstance(s, RobustScore) for s in scores)
    x = np.concatenate([batch[0].numpy() for batch in val])
    y = np.concatenate([batch[1].numpy() for batch in val]).ravel()
    p = 1 / (1 + np.exp(-model.predict(x, verbose=0).ravel().astype(np.float64)))
    from sklearn.metrics import roc_auc_score
    assert scores[0].auc == pytest.approx(roc_auc_score(y, p), abs=1e-9)
    assert scores[0].accuracy == pytest.approx(np.mean((p >= 0.5) == y))
    assert scores[2].auc < scores[0].auc
    assert robust_scores(model, val, 0.0)[0] == scores[0]


# --- Adversarial training -----------------------------------------------------------------------------

def _flat_ds(n=32, seed=0, shuffle=False):
    x, y = _unit_batch(n, seed)
    dataset = tf.data.Dataset.from_tensor_slices((x, y[:, None].astype("float32")))
    return dataset.batch(8)


@pytest.mark.parametrize("weight", [0.0, 0.5, 1.0])
def test_with_epsilon_0_adversarial_training_is_the_tape_loop(weight):
    models = [_logistic(seed=3)[0], _logistic(seed=3)[0]]
    results = [training.train_with_tape(models[0], _flat_ds(), _flat_ds(seed=1), 2,
                                        keras.optimizers.SGD(0.1), verbose=False),
               train_adversarial(models[1], _flat_ds(), _flat_ds(seed=1), 2, keras.optimizers.SGD(0.1),
                                 epsilon=0.0, adversarial_weight=weight, verbose=False)]
    for a, b in zip(*(m.get_weights() for m in models)):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)
    assert results[1].phases == ["adversarial"] * 2
    for name in ("loss", "auc", "val_loss", "val_auc"):
        np.testing.assert_allclose(results[0].history[name], results[1].history[name], rtol=1e-5)


def test_adversarial_training_minimises_the_mixed_clean_and_fgsm_loss():
    model, _, _ = _logistic(seed=4)
    x, y = _unit_batch(8)
    y = y[:, None].astype("float32")
    weights = model.get_weights()
    optimizer = keras.optimizers.SGD(0.5)
    train_adversarial(model, tf.data.Dataset.from_tensor_slices((x, y)).batch(8), _flat_ds(seed=1), 1,
                      optimizer, epsilon=0.1, adversarial_weight=0.25, verbose=False)
    # The same step by hand: FGSM against the starting weights, then one SGD step on the mix.
    reference, _, _ = _logistic(seed=4)
    reference.set_weights(weights)
    x_adv = fgsm_examples(reference, x, y, 0.1)
    bce = keras.losses.BinaryCrossentropy(from_logits=True)
    with tf.GradientTape() as tape:
        loss = 0.75 * bce(y, reference(x)) + 0.25 * bce(y, reference(x_adv))
    grads = tape.gradient(loss, reference.trainable_variables)
    for variable, grad, trained in zip(reference.trainable_variables, grads, model.get_weights()):
        np.testing.assert_allclose(trained, variable.numpy() - 0.5 * grad.numpy(), rtol=1e-5, atol=1e-6)


def test_adversarial_training_trains_a_classifier_with_early_stopping():
    model = build_classifier("small_cnn", (SIZE, SIZE, 1), seed=0)
    result = train_adversarial(model, _ds(64, training_=True), _ds(seed=1), 3, keras.optimizers.Adam(3e-3),
                               epsilon=2 / 255, clip_range=input_range("small_cnn"), patience=1,
                               restore_best=True, verbose=False)
    assert 2 <= result.epochs <= 3 and all(np.isfinite(result.history["loss"]))
    assert result.history["val_auc"][result.best_epoch] == max(result.history["val_auc"])


# --- Bad input ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("call, received", [
    (lambda: fgsm_step([[0.5]], [[1.0]], -0.1), "Received: epsilon=-0.1"),
    (lambda: fgsm_step([[0.5]], [[1.0, 2.0]], 0.1), "Received: x.shape=(1, 1), gradient.shape=(1, 2)"),
    (lambda: fgsm_step([[0.5]], [[1.0]], 0.1, clip_range=(1.0, 0.0)), "Received: clip_range=(1.0, 0.0)"),
    (lambda: fgsm_step([[0.5]], [[1.0]], 0.1, clip_range=1.0), "Received: clip_range=1.0"),
    (lambda: fgsm_step(np.zeros((1, 2, 2, 3)), np.ones((1, 2, 2, 3)), 0.1,
                       clip_range=(np.zeros(2), np.ones(2))), "Received: clip_range="),
    (lambda: logistic_input_gradient([[1.0, 2.0]], [1, 0], [1.0, 1.0]), "Received: y="),
    (lambda: logistic_input_gradient([[1.0, 2.0]], [1], [1.0]), "Received: weights="),
    (lambda: input_range("vgg"), "Received: backbone='vgg'"),
])
def test_numpy_pieces_reject_bad_input_naming_the_argument(call, received):
    with pytest.raises(ValueError) as error:
        call()
    assert received in str(error.value) and str(error.value).rindex("Received: ") == str(error.value).index(received)


def test_tf_functions_reject_bad_input_naming_the_argument():
    model, _, _ = _logistic()
    x, y = _unit_batch(4)
    with pytest.raises(ValueError, match=r"Received: epsilon=-1\.0$"):
        fgsm_examples(model, x, y, -1.0)
    with pytest.raises(ValueError, match="`y` must hold one label per example.*Received: y="):
        input_gradients(model, x, y[:3])
    with pytest.raises(ValueError, match=r"`x` must be shaped \(n, 8, 8, 1\).*Received: x=array of shape \(4, 8, 8\)"):
        input_gradients(model, x[..., 0], y)
    with pytest.raises(ValueError, match="Received: model='model'$"):
        input_gradients("model", x, y)
    with pytest.raises(ValueError, match=r"Received: epsilons=\[\]$"):
        robust_scores(model, _flat_ds(), [])
    with pytest.raises(ValueError, match=r"Received: epsilon=-0\.5$"):
        robust_scores(model, _flat_ds(), [0.1, -0.5])
    bad_training = [({"epsilon": -0.1}, "epsilon=-0.1"), ({"epsilon": 0.1, "adversarial_weight": 1.5},
                                                          "adversarial_weight=1.5"),
                    ({"epsilon": 0.1, "patience": 0}, "patience=0"),
                    ({"epsilon": 0.1, "clip_range": (1, 0)}, "clip_range=(1, 0)")]
    weights = model.get_weights()
    for kwargs, received in bad_training:
        with pytest.raises(ValueError) as error:
            train_adversarial(model, _flat_ds(), _flat_ds(seed=1), 1, keras.optimizers.SGD(0.1),
                              verbose=False, **kwargs)
        assert str(error.value).endswith(f"Received: {received}")
    assert all(np.array_equal(a, b) for a, b in zip(weights, model.get_weights()))  # nothing trained
