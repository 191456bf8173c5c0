"""Tests for crossdomain_kit.methods.adaptation: CORAL (NumPy vs TF vs finite differences), gradient
reversal, DANN, training with an alignment term, the proxy A-distance and domain maps.

Tiny small-CNN classifiers on 8-pixel synthetic images keep every test to seconds.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

from crossdomain_kit.methods import adaptation
from crossdomain_kit.methods.adaptation import (GradientReversal, build_dann, coral_loss, coral_loss_tf,
                                        dann_strength, embed_domains, extract_features,
                                        feature_covariance, feature_model, proxy_a_distance,
                                        train_adapted)
from crossdomain_kit.theory.gradcheck import numerical_gradient, relative_error
from crossdomain_kit.models.classifier import build_classifier
from crossdomain_kit.training import set_global_seed
from crossdomain_kit.data.pipeline import make_pipeline

SIZE = 8


def _features(seed=0, n=(12, 9), d=4, scale=2.0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n[0], d)), rng.normal(size=(n[1], d)) * scale + 1.0


def _ds(n=24, shift=0.0, seed=0, training=True):
    rng = np.random.default_rng(seed)
    y = rng.permutation(np.arange(n) % 2)
    x = rng.normal(100 + shift, 40, (n, SIZE, SIZE, 1))
    x[y == 1, 2:6, 2:6, 0] += 40
    return make_pipeline((np.clip(x, 0, 255).astype("float32"), y), backbone=None,
                         preprocess=lambda a: a / 127.5 - 1.0, image_size=SIZE, channels=1,
                         batch_size=8, training=training, augment=False, seed=seed)


def _model(seed=0):
    return build_classifier("small_cnn", (SIZE, SIZE, 1), seed=seed)


# --- CORAL ----------------------------------------------------------------------------------------

def test_feature_covariance_is_numpys_unbiased_covariance():
    source, _ = _features()
    np.testing.assert_allclose(feature_covariance(source), np.cov(source, rowvar=False), rtol=1e-12)


def test_coral_loss_is_the_scaled_squared_frobenius_distance_of_the_covariances():
    source, target = _features()
    expected = np.sum((np.cov(source, rowvar=False) - np.cov(target, rowvar=False)) ** 2) / (4 * 4 ** 2)
    assert coral_loss(source, target) == pytest.approx(expected, rel=1e-12)
    assert coral_loss(source, source) == 0.0
    assert coral_loss(source, source + 5.0) == pytest.approx(0.0, abs=1e-12)   # means do not count
    assert coral_loss(source, target) == pytest.approx(coral_loss(target, source), rel=1e-12)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_tf_twin_equals_the_numpy_loss(seed):
    source, target = _features(seed)
    assert float(coral_loss_tf(tf.constant(source), tf.constant(target))) == pytest.approx(
        coral_loss(source, target), rel=1e-12)


@pytest.mark.parametrize("which", ["source", "target"])
def test_the_tf_gradient_matches_finite_differences_of_the_numpy_loss(which):
    source, target = _features(3)
    source_t, target_t = tf.Variable(source), tf.Variable(target)
    with tf.GradientTape() as tape:
        loss = coral_loss_tf(source_t, target_t)
    analytic = tape.gradient(loss, source_t if which == "source" else target_t).numpy()
    if which == "source":
        numeric = numerical_gradient(lambda s: coral_loss(s, target), source)
    else:
        numeric = numerical_gradient(lambda t: coral_loss(source, t), target)
    assert relative_error(analytic, numeric) < 1e-7


@pytest.mark.parametrize("call, received", [
    (lambda: coral_loss(np.ones(5), np.ones((3, 5))), "Received: source_features="),
    (lambda: coral_loss(np.ones((1, 2)), np.ones((3, 2))), "Received: source_features="),
    (lambda: coral_loss(np.ones((3, 2)), np.ones((3, 3))), "Received: target_features="),
    (lambda: coral_loss(np.ones((3, 2)), np.full((3, 2), np.nan)), "Received: target_features="),
    (lambda: feature_covariance(np.ones((1, 3))), "Received: features="),
])
def test_bad_features_are_rejected(call, received):
    with pytest.raises(ValueError, match=received):
        call()


# --- Gradient reversal and DANN -------------------------------------------------------------------

def test_gradient_reversal_is_the_identity_forward_and_minus_lambda_times_the_gradient_back():
    layer = GradientReversal(0.7)
    x = tf.constant(np.random.default_rng(0).normal(size=(3, 4)), tf.float32)
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = layer(x)
        loss = tf.reduce_sum(y * tf.range(12, dtype=tf.float32)[:, None][:4, 0][None, :])
    np.testing.assert_array_equal(y.numpy(), x.numpy())
    weights = np.tile(np.arange(4, dtype=np.float32), (3, 1))
    np.testing.assert_allclose(tape.gradient(loss, x).numpy(), -0.7 * weights, rtol=1e-6)
    layer.strength.assign(0.0)
    with tf.GradientTape() as tape:
        tape.watch(x)
        loss = tf.reduce_sum(layer(x))
    np.testing.assert_array_equal(tape.gradient(loss, x).numpy(), np.zeros((3, 4)))


def test_gradient_reversal_serializes_with_its_strength():
    layer = GradientReversal(0.25, name="grl")
    clone = GradientReversal.from_config(layer.get_config())
    assert clone.name == "grl" and float(clone.strength.numpy()) == 0.25
    assert keras.saving.get_registered_object("crossdomain_kit>GradientReversal") is GradientReversal


def test_gradient_reversal_rejects_a_negative_strength():
    with pytest.raises(ValueError, match="Received: strength=-1"):
        GradientReversal(-1)


def test_dann_strength_ramps_from_zero_towards_one():
    values = [dann_strength(p) for p in np.linspace(0, 1, 11)]
    assert values[0] == 0.0 and np.all(np.diff(values) > 0) and 0.99 < values[-1] < 1.0
    with pytest.raises(ValueError, match="Received: progress=1.5"):
        dann_strength(1.5)


def test_dann_shares_the_classifiers_layers_and_adds_a_domain_head(tmp_path):
    classifier = _model()
    dann = build_dann(classifier, domain_units=5, seed=0)
    x = np.random.default_rng(0).normal(size=(3, SIZE, SIZE, 1)).astype("float32")
    label, domain = dann(x)
    np.testing.assert_allclose(label.numpy(), classifier(x).numpy(), rtol=1e-6)
    assert domain.shape == (3, 1)
    classifier_ids = {id(w) for w in classifier.weights}
    assert classifier_ids <= {id(w) for w in dann.weights}
    assert len(dann.trainable_weights) == len(classifier.trainable_weights) + 4
    path = tmp_path / "dann.keras"
    dann.save(path)
    reloaded = keras.saving.load_model(path)
    np.testing.assert_allclose(reloaded(x)[1].numpy(), domain.numpy(), rtol=1e-6)
    assert isinstance(reloaded.get_layer("gradient_reversal"), GradientReversal)


def test_feature_model_outputs_the_pooled_features():
    classifier = _model()
    features = feature_model(classifier)
    assert features.output_shape == (None, 128)
    assert {id(w) for w in features.weights} <= {id(w) for w in classifier.weights}


@pytest.mark.parametrize("call, received", [
    (lambda: build_dann(keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])), "Received: model="),
    (lambda: build_dann(_model(), domain_units=0), "Received: domain_units=0"),
    (lambda: build_dann(_model(), strength=-0.5), "Received: strength=-0.5"),
])
def test_build_dann_rejects_bad_arguments(call, received):
    with pytest.raises(ValueError, match=received):
        call()


# --- Training with an alignment term ---------------------------------------------------------------

@pytest.mark.parametrize("method", ["coral", "dann"])
@pytest.mark.parametrize("labelled", ["source", "target", "both"])
def test_train_adapted_trains_the_classifier_and_keeps_the_best_epoch(method, labelled):
    classifier = _model()
    before = [w.copy() for w in classifier.get_weights()]
    result = train_adapted(classifier, _ds(), _ds(16, shift=40, seed=1), _ds(16, shift=40, seed=2,
                           training=False), method=method, labelled=labelled, epochs=2, seed=None,
                           verbose=False)
    assert result.phases == [method, method] and result.best_epoch in (0, 1)
    assert {"loss", "auc", "val_auc", "learning_rate"} <= set(result.history)
    assert not all(np.array_equal(a, b) for a, b in zip(before, classifier.get_weights()))
    assert len(classifier.weights) == len(before)     # the domain head is not added to the classifier


def test_with_weight_zero_the_alignment_term_changes_nothing():
    """weight=0: DANN's and CORAL's steps are the same plain target training, bit for bit."""
    results = []
    for method in ("coral", "dann"):
        classifier = _model()
        train_adapted(classifier, _ds(), _ds(16, shift=40, seed=1), _ds(16, shift=40, seed=2, training=False),
                      method=method, epochs=1, weight=0.0, seed=None, verbose=False)
        results.append(classifier.get_weights())
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_coral_training_leaves_closer_feature_covariances_than_plain_training():
    # The datasets' shuffling takes TensorFlow's global seed at creation: set it, or the
    # order (and the outcome) depends on which test ran before.
    set_global_seed(0)
    source, target = _ds(48, seed=3), _ds(48, shift=80, seed=4)
    gaps = {}
    for weight in (0.0, 1000.0):
        classifier = _model()
        train_adapted(classifier, source, target, _ds(16, shift=80, seed=2, training=False), method="coral",
                      labelled="source", weight=weight, epochs=3, seed=0, verbose=False)
        features = [feature_model(classifier).predict(d.map(lambda x, y: x), verbose=0)
                    for d in (source, target)]
        gaps[weight] = coral_loss(*features)
    assert gaps[1000.0] < gaps[0.0] / 2


@pytest.mark.parametrize("overrides, received", [
    ({"method": "mmd"}, "Received: method='mmd'"),
    ({"labelled": "none"}, "Received: labelled='none'"),
    ({"weight": -1.0}, "Received: weight=-1.0"),
    ({"epochs": 0}, "Received: epochs=0"),
    ({"learning_rate": 0}, "Received: learning_rate=0"),
    ({"seed": -1}, "Received: seed=-1"),
])
def test_train_adapted_rejects_bad_arguments_before_training(overrides, received):
    kwargs = {"method": "coral", "epochs": 1, "verbose": False, **overrides}
    with pytest.raises(ValueError, match=received):
        train_adapted(_model(), _ds(), _ds(seed=1), _ds(seed=2, training=False), **kwargs)


def test_the_methods_are_a_registry_and_an_unknown_name_lists_them():
    assert adaptation.adaptation_methods() == ("coral", "dann") == adaptation.METHODS
    with pytest.raises(ValueError, match=r"one of \('coral', 'dann'\)\. Received: method='mmd'$"):
        train_adapted(_model(), _ds(), _ds(seed=1), _ds(seed=2, training=False), method="mmd", epochs=1)


def test_train_adapted_rejects_datasets_that_are_not_tf_data():
    with pytest.raises(ValueError, match="Received: source_ds="):
        train_adapted(_model(), [1, 2], _ds(seed=1), _ds(seed=2), method="dann", epochs=1)


# --- Features, proxy A-distance, maps ---------------------------------------------------------------

def test_extract_features_matches_the_feature_model():
    classifier = _model()
    images = np.random.default_rng(0).integers(0, 256, (5, SIZE, SIZE)).astype("uint8")
    features = extract_features(classifier, images, batch_size=2)
    expected = feature_model(classifier)(images[..., None].astype("float32") / 255.0).numpy()  # small CNN: /255
    assert features.shape == (5, 128) and features.dtype == np.float64
    np.testing.assert_allclose(features, expected, rtol=1e-5, atol=1e-6)


def test_proxy_a_distance_is_near_two_for_separated_domains_and_near_zero_for_one_domain():
    rng = np.random.default_rng(0)
    far = proxy_a_distance(rng.normal(size=(200, 5)), rng.normal(size=(300, 5)) + 4.0, seed=0)
    same = proxy_a_distance(rng.normal(size=(200, 5)), rng.normal(size=(300, 5)), seed=0)
    assert far.distance == pytest.approx(2.0) and far.error == 0.0
    assert abs(same.distance) < 0.5
    assert same.n_train == same.n_test == 200        # 200 + 200 after subsampling, half held out
    assert far.distance == 2 * (1 - 2 * far.error)
    again = proxy_a_distance(rng.normal(size=(200, 5)), rng.normal(size=(300, 5)), seed=0)
    assert isinstance(again.distance, float)


def test_proxy_a_distance_is_reproducible_with_a_seed():
    source, target = _features(n=(60, 50))
    assert proxy_a_distance(source, target, seed=3) == proxy_a_distance(source, target, seed=3)


@pytest.mark.parametrize("kwargs, received", [
    ({"test_fraction": 0.0}, "Received: test_fraction=0.0"),
    ({"test_fraction": 1.0}, "Received: test_fraction=1.0"),
    ({"C": 0}, "Received: C=0"),
    ({"seed": None}, "Received: seed=None"),
])
def test_proxy_a_distance_rejects_bad_arguments(kwargs, received):
    with pytest.raises(ValueError, match=received):
        proxy_a_distance(*_features(n=(20, 20)), **kwargs)


@pytest.mark.parametrize("method", ["pca", "tsne"])
def test_embed_domains_maps_both_domains_into_one_plane(method):
    source, target = _features(n=(30, 20))
    s2, t2 = embed_domains(source, target, method=method, perplexity=5.0, seed=0)
    assert s2.shape == (30, 2) and t2.shape == (20, 2) and np.all(np.isfinite(s2))
    s2b, _ = embed_domains(source, target, method=method, perplexity=5.0, seed=0)
    np.testing.assert_allclose(s2, s2b)


def test_embed_domains_rejects_bad_arguments():
    source, target = _features(n=(10, 10))
    with pytest.raises(ValueError, match="Received: method='umap'"):
        embed_domains(source, target, method="umap")
    with pytest.raises(ValueError, match="Received: perplexity=30"):
        embed_domains(source, target, method="tsne", perplexity=30)

