import logging

import keras
import numpy as np
import pytest

from crossdomain_kit.models.gradcam import grad_cam, gradcam_map
from crossdomain_kit.models.classifier import base_of, build_classifier
from crossdomain_kit.models.compiling import compile_classifier

SIZE, SQUARE = 32, 8


def _square_images(n, seed):
    """Noise images; the positives carry one bright square at a random place. Returns images, labels, masks."""
    rng = np.random.default_rng(seed)
    images = rng.uniform(0.0, 0.4, (n, SIZE, SIZE, 1)).astype("float32")
    labels = np.arange(n) % 2
    masks = np.zeros((n, SIZE, SIZE), bool)
    for i in np.flatnonzero(labels):
        r, c = rng.integers(0, SIZE - SQUARE + 1, 2)
        masks[i, r:r + SQUARE, c:c + SQUARE] = True
    images[masks] = 1.0
    return images, labels.astype("float32"), masks


@pytest.fixture(scope="module")
def square_detector():
    keras.utils.set_random_seed(0)
    model = build_classifier("small_cnn", (SIZE, SIZE, 1), seed=0)
    compile_classifier(model, 3e-3, jit_compile=False)
    images, labels, _ = _square_images(512, seed=0)
    model.fit(images, labels, batch_size=32, epochs=4, verbose=0)
    return model


@pytest.fixture(scope="module")
def held_out():
    return _square_images(16, seed=1)


def test_the_toy_model_has_learned_the_square(square_detector, held_out):
    images, labels, _ = held_out
    logits = square_detector.predict(images, verbose=0)[:, 0]
    assert np.mean((logits > 0) == labels) >= 0.9


# The backbone's last map is 4 x 4 here, so it localises more coarsely than block 3's 8 x 8.
@pytest.mark.parametrize("layer_name, contrast", [(None, 1.8), ("block3_relu", 2.5)])
def test_heat_maps_light_up_the_planted_square(square_detector, held_out, layer_name, contrast):
    images, labels, masks = held_out
    heat = grad_cam(square_detector, images, layer_name)
    assert heat.shape == (len(images), SIZE, SIZE)
    assert np.all(heat >= 0) and np.all(heat <= 1) and np.isfinite(heat.sum())
    for i in np.flatnonzero(labels):
        inside, outside = heat[i][masks[i]].mean(), heat[i][~masks[i]].mean()
        assert inside > contrast * outside, (i, inside, outside)


def test_negative_class_maps_do_not_point_at_the_square(square_detector, held_out):
    images, labels, masks = held_out
    positive = grad_cam(square_detector, images, "block3_relu", for_class=1)
    negative = grad_cam(square_detector, images, "block3_relu", for_class=0)
    for i in np.flatnonzero(labels):
        assert negative[i][masks[i]].mean() < positive[i][masks[i]].mean()


def test_at_the_backbone_output_grad_cam_is_the_class_activation_map(square_detector, held_out):
    images = held_out[0]
    heat = grad_cam(square_detector, images, upsample=False)
    features = base_of(square_detector).predict(images, verbose=0)
    cam = np.maximum(features @ square_detector.get_layer("logit").kernel.numpy()[:, 0], 0)
    peak = cam.max(axis=(1, 2), keepdims=True)
    expected = np.divide(cam, peak, out=np.zeros_like(cam), where=peak > 0)
    np.testing.assert_allclose(heat, expected, atol=1e-5)


def test_the_usual_sub_model_recipe_fails_on_the_nested_backbone(square_detector):
    # Keras 3.15 refuses to build the model ("not connected to `inputs`"); Keras 3.13 (Colab's) builds
    # it, and calling it fails with a KeyError. Either way the recipe gives no map (lesson 05 says so).
    inner = base_of(square_detector).get_layer("block4_relu")
    images = np.zeros((1, *square_detector.input_shape[1:]), "float32")
    with pytest.raises((ValueError, KeyError)):
        keras.Model(square_detector.inputs, [inner.output, square_detector.output])(images)


def test_batches_give_the_same_maps_and_dropout_stays_off(held_out):
    model = build_classifier("small_cnn", (SIZE, SIZE, 1), dropout=0.5, seed=3)
    images = held_out[0]
    whole = grad_cam(model, images, batch_size=32)
    np.testing.assert_allclose(grad_cam(model, images, batch_size=5), whole, atol=1e-6)
    np.testing.assert_array_equal(grad_cam(model, images, batch_size=32), whole)


def test_calls_one_after_another_do_not_warn_about_retracing(held_out):
    model = build_classifier("small_cnn", (SIZE, SIZE, 1), seed=0)
    records = []
    handler = logging.Handler()
    handler.emit = records.append
    logger = logging.getLogger("tensorflow")
    logger.addHandler(handler)
    try:
        for n in range(1, 8):  # each call traces its own function (a lesson calls it again and again)
            grad_cam(model, held_out[0][:n], batch_size=4)
    finally:
        logger.removeHandler(handler)
    assert not [r for r in records if "retracing" in r.getMessage()]


def test_three_dimensional_grey_images_are_accepted(held_out):
    model = build_classifier("small_cnn", (SIZE, SIZE, 1), seed=3)
    images = held_out[0]
    np.testing.assert_allclose(grad_cam(model, images[..., 0]), grad_cam(model, images), atol=1e-6)


def test_a_keras_application_backbone_and_an_inner_layer():
    model = build_classifier("resnet50", (64, 64, 3), seed=0)
    images = np.random.default_rng(0).normal(0, 50, (2, 64, 64, 3)).astype("float32")
    assert grad_cam(model, images).shape == (2, 64, 64)
    inner = grad_cam(model, images, "conv4_block6_out", upsample=False)
    assert inner.shape == (2, 4, 4) and np.all((inner >= 0) & (inner <= 1))


def test_mixed_precision_models_give_finite_maps(held_out):
    keras.config.set_dtype_policy("mixed_float16")
    try:
        model = build_classifier("small_cnn", (SIZE, SIZE, 1), seed=0)
    finally:
        keras.config.set_dtype_policy("float32")
    assert base_of(model).layers[1].compute_dtype == "float16"
    heat = grad_cam(model, held_out[0])
    assert heat.dtype == np.float64 and np.all(np.isfinite(heat)) and heat.max() <= 1


def test_gradcam_map_weighs_channels_by_their_mean_gradient():
    maps = np.zeros((1, 2, 2, 2))
    maps[0, :, :, 0] = [[1, 0], [0, 0]]
    maps[0, :, :, 1] = [[0, 0], [0, 3]]
    gradients = np.zeros_like(maps)
    gradients[0, :, :, 0] = [[4, 0], [0, 0]]    # α_0 = 1
    gradients[0, :, :, 1] = [[-2, -2], [-2, -2]]  # α_1 = -2
    np.testing.assert_allclose(gradcam_map(maps, gradients), [[[1, 0], [0, 0]]])  # ReLU drops -6


def test_bad_arguments_name_the_argument():
    model = build_classifier("small_cnn", (SIZE, SIZE, 1), seed=0)
    images = np.zeros((2, SIZE, SIZE, 1), "float32")
    with pytest.raises(ValueError, match=r"layer of the backbone.*Received: layer_name='block9'"):
        grad_cam(model, images, "block9")
    with pytest.raises(ValueError, match=r"shape \(n, \*\(32, 32, 1\)\).*Received: images="):
        grad_cam(model, np.zeros((2, 16, 16, 1)))
    with pytest.raises(ValueError, match="Received: for_class=2"):
        grad_cam(model, images, for_class=2)
    with pytest.raises(ValueError, match="Received: batch_size=0"):
        grad_cam(model, images, batch_size=0)
    with pytest.raises(ValueError, match="nested model named 'backbone'"):
        grad_cam(keras.Sequential([keras.Input((SIZE, SIZE, 1)), keras.layers.Flatten()]), images)
    with pytest.raises(ValueError, match="same shape"):
        gradcam_map(np.zeros((1, 2, 2, 3)), np.zeros((1, 2, 2, 4)))
    with pytest.raises(ValueError, match="Received: images="):
        grad_cam(model, np.full((2, SIZE, SIZE, 1), np.nan))
