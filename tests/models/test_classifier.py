import keras
import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from crossdomain_kit.models.checkpoints import save_classifier
from crossdomain_kit.models.classifier import base_of, build_classifier
from crossdomain_kit.models.compiling import compile_classifier
from tests.models._data import APPLICATIONS, _cnn, _data


# --- Structure ------------------------------------------------------------------------------------

def test_small_cnn_classifier_structure():
    model = build_classifier("small_cnn", (28, 28, 1), seed=0)
    assert [layer.name for layer in model.layers[1:]] == ["backbone", "pool", "dropout", "logit"]
    assert model.name == "small_cnn_classifier" and model.output_shape == (None, 1)
    base = base_of(model)
    assert isinstance(base, keras.Model) and base.input_shape == (None, 28, 28, 1)
    assert 100_000 < base.count_params() < 300_000
    logit = model.get_layer("logit")
    assert logit.activation is keras.activations.linear and logit.kernel_regularizer is None
    assert logit.dtype_policy.compute_dtype == "float32"
    assert model.get_layer("dropout").rate == 0.2
    assert not any(isinstance(layer, keras.layers.Rescaling) for layer in base.layers)


def test_the_backbone_is_called_with_training_false():
    config = build_classifier("small_cnn", (16, 16, 1)).get_config()
    node = next(layer for layer in config["layers"] if layer["name"] == "backbone")["inbound_nodes"][0]
    assert node["kwargs"]["training"] is False


def test_defaults_come_from_the_backbone_registry():
    assert build_classifier().input_shape == (None, 64, 64, 1)
    assert build_classifier("small_cnn", (40, 30, 3), name="mine").input_shape == (None, 40, 30, 3)
    assert build_classifier("small_cnn", (8, 8, 1)).output_shape == (None, 1)


@pytest.mark.parametrize("name", APPLICATIONS)
def test_keras_applications_nest_as_one_backbone_model(applications, name):
    model = applications[name]
    base = base_of(model)
    assert [layer.name for layer in model.layers[1:]] == ["backbone", "pool", "dropout", "logit"]
    assert base.name == "backbone" and len(base.layers) > 100
    assert model.predict(np.zeros((2, 32, 32, 3), "float32"), verbose=0).shape == (2, 1)


def test_dropout_and_l2_options():
    model = build_classifier("small_cnn", (16, 16, 1), dropout=0.5, l2=1e-3, seed=0)
    assert model.get_layer("dropout").rate == 0.5
    kernel = model.get_layer("logit").kernel.numpy()
    assert float(model.losses[0]) == pytest.approx(1e-3 * np.sum(kernel ** 2), rel=1e-5)
    assert build_classifier("small_cnn", (16, 16, 1), l2=0.0).losses == []


def test_the_seed_fixes_the_initial_weights():
    first, second, other = (build_classifier("small_cnn", (16, 16, 1), seed=s) for s in (3, 3, 4))
    for a, b in zip(first.weights, second.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    kernels = [m.get_layer("logit").kernel.numpy() for m in (first, other)]
    assert not np.array_equal(*kernels)


def test_training_false_alone_does_not_freeze_batchnorm_in_keras_3():
    """Why freezing sets BatchNormalization.trainable: fit's training=True wins over the call's False."""
    model = compile_classifier(_cnn(), 1e-3)
    moving_mean = base_of(model).get_layer("block1_bn").moving_mean
    before = moving_mean.numpy().copy()
    model.fit(*_data(), epochs=1, verbose=0)
    assert not np.array_equal(before, moving_mean.numpy())


def test_small_cnn_learns_a_simple_image_task_at_28_px():
    rng = np.random.default_rng(0)

    def images(n):
        y = rng.integers(0, 2, n)
        x = rng.normal(0.3, 0.1, (n, 28, 28, 1))
        for i in np.flatnonzero(y):
            r, c = rng.integers(0, 22, 2)
            x[i, r:r + 6, c:c + 6] += 0.4
        return x.astype("float32"), y.astype("float32")[:, None]

    (x, y), (x_test, y_test) = images(192), images(64)
    model = compile_classifier(build_classifier("small_cnn", (28, 28, 1), seed=0), 3e-3)
    model.fit(x, y, batch_size=16, epochs=4, verbose=0)
    assert roc_auc_score(y_test[:, 0], model.predict(x_test, verbose=0)[:, 0]) > 0.95


# --- Argument checks ------------------------------------------------------------------------------

@pytest.mark.parametrize("kwargs, match", [
    (dict(backbone="vgg16"), r"choose one of .*Received: backbone='vgg16'"),
    (dict(backbone="resnet50", input_shape=(16, 16, 3)),
     r"at least 32x32.*Received: input_shape=\(16, 16, 3\)"),
    (dict(input_shape=(4, 64, 1)), r"at least 8x8.*Received: input_shape=\(4, 64, 1\)"),
    (dict(input_shape=64), r"\(height, width, channels\).*Received: input_shape=64"),
    (dict(input_shape=(32, 32, 2)), r"1 \(grey\) or 3.*Received: input_shape=\(32, 32, 2\)"),
    (dict(backbone="mobilenetv2", input_shape=(32, 32, 1), weights="imagenet"),
     r"3 input channels.*Received: input_shape=\(32, 32, 1\)"),
    (dict(weights="imagenet"), r"no ImageNet weights.*Received: weights='imagenet'"),
    (dict(weights="imagenet21k"), r"\.keras.*Received: weights='imagenet21k'"),
    (dict(weights="missing.keras"), r"does not exist.*Received: weights='missing.keras'"),
    (dict(weights=3), r"None, 'imagenet' or a path.*Received: weights=3"),
    (dict(dropout=1.0), r"\[0, 1\).*Received: dropout=1.0"),
    (dict(l2=-1e-4), r">= 0.*Received: l2=-0.0001"),
    (dict(alpha=0.5), r"mobilenetv2' only.*Received: alpha=0.5"),
    (dict(backbone="mobilenetv2", input_shape=(32, 32, 3), weights="imagenet", alpha=0.2),
     r"alpha in .*Received: alpha=0.2"),
    (dict(seed=-1), r"Received: seed=-1"),
    (dict(name=""), r"Received: name=''"),
])
def test_bad_arguments_are_rejected_naming_them(kwargs, match):
    with pytest.raises(ValueError, match=match):
        build_classifier(**kwargs)


def test_base_of_rejects_models_without_a_backbone():
    plain = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    with pytest.raises(ValueError, match=r"nested model named 'backbone'.*Received: model="):
        base_of(plain)


@pytest.mark.parametrize("kwargs, message", [
    (dict(alpha=0.5), "`alpha` (a width multiplier) applies to backbone='mobilenetv2' only. Received: alpha=0.5"),
    (dict(backbone="mobilenetv2", input_shape=(32, 32, 3), weights="imagenet", alpha=0.2),
     "MobileNetV2 has ImageNet weights only for alpha in (0.35, 0.5, 0.75, 1.0, 1.3, 1.4). Received: alpha=0.2"),
    (dict(weights="imagenet"), "Backbone 'small_cnn' has no ImageNet weights; use weights=None or a kit "
                               "checkpoint. Received: weights='imagenet'"),
], ids=["alpha-on-another-backbone", "alpha-without-imagenet-weights", "no-imagenet-weights"])
def test_messages_made_from_the_registry_read_as_before(kwargs, message):
    with pytest.raises(ValueError) as error:
        build_classifier(**kwargs)
    assert str(error.value) == message


# --- Starting from a kit checkpoint -------------------------------------------------------------------

@pytest.mark.parametrize("file_name", ["backbone.keras", "backbone.weights.h5"])
def test_a_saved_backbone_loads_into_a_fresh_head(tmp_path, trained, file_name):
    path = tmp_path / file_name
    base = base_of(trained)
    base.save(path) if file_name.endswith(".keras") else base.save_weights(path)
    model = build_classifier("small_cnn", (16, 16, 1), weights=path, seed=7)
    fresh = build_classifier("small_cnn", (16, 16, 1), seed=7)
    for expected, loaded in zip(base.weights, base_of(model).weights):
        np.testing.assert_array_equal(expected.numpy(), loaded.numpy())
    np.testing.assert_array_equal(*(m.get_layer("logit").kernel.numpy() for m in (model, fresh)))


def test_classifier_weights_files_load_head_and_backbone(tmp_path, trained):
    path = tmp_path / "source.weights.h5"
    trained.save_weights(path)
    model = build_classifier("small_cnn", (16, 16, 1), weights=path)
    for expected, loaded in zip(trained.weights, model.weights):
        np.testing.assert_array_equal(expected.numpy(), loaded.numpy())


def test_a_checkpoint_loads_at_another_image_size(tmp_path, trained):
    path = save_classifier(trained, tmp_path / "at16.keras")
    model = build_classifier("small_cnn", (32, 32, 1), weights=path)
    for expected, loaded in zip(trained.weights, model.weights):
        np.testing.assert_array_equal(expected.numpy(), loaded.numpy())


def test_mismatched_checkpoints_are_rejected_naming_the_path(tmp_path, trained, applications):
    grey = save_classifier(trained, tmp_path / "grey.keras")
    with pytest.raises(ValueError, match=r"grey.keras does not match this architecture \(weight 0 is "
                                         r"\(3, 3, 3, 32\) here but \(3, 3, 1, 32\).*Received: weights='"):
        build_classifier("small_cnn", (16, 16, 3), weights=grey)
    mobilenet = save_classifier(applications["mobilenetv2"], tmp_path / "mobilenet.keras")
    with pytest.raises(ValueError, match=r"mobilenet.keras does not match.*Received: weights='"):
        build_classifier("small_cnn", (32, 32, 3), weights=mobilenet)
    weights_file = tmp_path / "grey.weights.h5"
    trained.save_weights(weights_file)
    with pytest.raises(ValueError, match=r"grey.weights.h5 matches neither this classifier nor its backbone"):
        build_classifier("small_cnn", (16, 16, 3), weights=weights_file)
