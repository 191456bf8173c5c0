import os
import subprocess
import sys
import textwrap
import time

import keras
import numpy as np
import pytest
from keras.src.backend import config as keras_config
from keras.src.utils import file_utils
from sklearn.metrics import roc_auc_score

from crossdomain_kit.models import classifier
from crossdomain_kit.models.classifier import (DiscriminativeOptimizer, base_of, build_classifier, compile_classifier,
                                    imagenet_weights_location, keras_weights_cache, load_classifier,
                                    save_classifier)

APPLICATIONS = ("resnet50", "mobilenetv2", "efficientnetb0")


def _data(n=16, size=16, channels=1, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.random((n, size, size, channels)).astype("float32")
    y = (x.mean(axis=(1, 2, 3)) > 0.5).astype("float32")[:, None]
    return x, y


def _cnn(seed=0):
    return build_classifier("small_cnn", (16, 16, 1), seed=seed)


def _values(weights):
    return [w.numpy().copy() for w in weights]


@pytest.fixture
def keras_home(tmp_path, monkeypatch):
    """A private Keras cache: keras.utils.get_file and the kit both read keras_home()."""
    monkeypatch.setattr(keras_config, "keras_home", lambda: str(tmp_path))
    return tmp_path


@pytest.fixture(scope="module")
def applications():
    """Each keras.applications classifier, built once, at 32 px, random weights."""
    kwargs = {"mobilenetv2": {"alpha": 0.35}}
    return {name: build_classifier(name, (32, 32, 3), **kwargs.get(name, {})) for name in APPLICATIONS}


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


# --- ImageNet weights -----------------------------------------------------------------------------

@pytest.mark.parametrize("name, shape, alpha", [
    ("resnet50", (32, 32, 3), 1.0), ("efficientnetb0", (40, 32, 3), 1.0),
    ("mobilenetv2", (32, 32, 3), 0.35), ("mobilenetv2", (96, 96, 3), 1.0)])
def test_the_weights_file_is_the_one_keras_asks_for(monkeypatch, keras_home, name, shape, alpha):
    asked = {}

    def record(fname, origin, **kwargs):
        asked.update(fname=fname, origin=origin, cache_subdir=kwargs.get("cache_subdir"))
        raise RuntimeError("recorded")

    monkeypatch.setattr(file_utils, "get_file", record)
    kwargs = {"alpha": alpha} if name == "mobilenetv2" else {}
    with pytest.raises(RuntimeError, match="recorded"):
        getattr(keras.applications, classifier.get_backbone(name).application)(
            include_top=False, weights="imagenet", input_shape=shape, **kwargs)
    location = imagenet_weights_location(name, shape, alpha=alpha)
    assert (location.file_name, location.url) == (asked["fname"], asked["origin"])
    assert asked["cache_subdir"] == "models"
    assert location.folder == keras_home / "models" == keras_weights_cache()


def test_imagenet_offline_fails_in_seconds_naming_file_url_and_folder(keras_home):
    location = imagenet_weights_location("mobilenetv2", (32, 32, 3), alpha=0.35)
    start = time.monotonic()
    try:
        build_classifier("mobilenetv2", (32, 32, 3), "imagenet", alpha=0.35)
    except FileNotFoundError as error:
        message = str(error)
    else:
        pytest.skip("the weights could be downloaded here, so the offline path cannot be exercised")
    assert time.monotonic() - start < 30
    for part in (location.file_name, location.url, str(keras_home / "models"), "weights=None", ".keras"):
        assert part in message
    assert message.endswith("Received: weights='imagenet'")


def test_a_probe_timeout_fails_fast_with_the_same_message(monkeypatch, keras_home):
    def hang(request, timeout):
        assert timeout <= 10
        raise TimeoutError("timed out")

    monkeypatch.setattr(classifier.urllib.request, "urlopen", hang)
    with pytest.raises(FileNotFoundError, match=r"\(timed out\).*efficientnetb0_notop.h5"):
        build_classifier("efficientnetb0", (32, 32, 3), "imagenet")


def test_a_failed_keras_download_is_reported_with_the_same_message(monkeypatch, keras_home):
    monkeypatch.setattr(classifier, "_check_download_possible", lambda backbone, location: None)

    def fail(*args, **kwargs):
        raise Exception("URL fetch failure on https://example.invalid: None -- unreachable")

    monkeypatch.setattr(file_utils, "get_file", fail)
    with pytest.raises(FileNotFoundError, match=r"URL fetch failure.*mobilenet_v2_weights.*weights=None"):
        build_classifier("mobilenetv2", (32, 32, 3), "imagenet", alpha=0.35)


@pytest.mark.filterwarnings("ignore:`input_shape` is undefined")
def test_imagenet_weights_come_from_the_keras_cache(keras_home):
    """A file placed in the cache under Keras's name is what the backbone gets (no network used)."""
    reference = keras.applications.MobileNetV2(include_top=False, weights=None, input_shape=(32, 32, 3),
                                               alpha=0.35)
    location = imagenet_weights_location("mobilenetv2", (32, 32, 3), alpha=0.35)
    location.folder.mkdir(parents=True)
    reference.save(location.path)  # Keras's legacy .h5: the format the applications load
    model = build_classifier("mobilenetv2", (32, 32, 3), "imagenet", alpha=0.35)
    for expected, loaded in zip(reference.weights, base_of(model).weights):
        np.testing.assert_array_equal(expected.numpy(), loaded.numpy())


@pytest.mark.filterwarnings("ignore:`input_shape` is undefined")
def test_a_corrupt_cached_file_says_to_delete_it(keras_home):
    location = imagenet_weights_location("mobilenetv2", (32, 32, 3), alpha=0.35)
    location.folder.mkdir(parents=True)
    location.path.write_bytes(b"not an hdf5 file")
    with pytest.raises(ValueError, match=r"could not be loaded.*delete the file.*Received: weights="):
        build_classifier("mobilenetv2", (32, 32, 3), "imagenet", alpha=0.35)


# --- Kit checkpoints --------------------------------------------------------------------------------

@pytest.fixture
def trained(tmp_path):
    """A small classifier trained one epoch, so its weights are not the initial ones."""
    model = compile_classifier(build_classifier("small_cnn", (16, 16, 1), seed=1, dropout=0.0), 1e-2)
    model.fit(*_data(), epochs=1, verbose=0)
    return model


def test_a_saved_classifier_round_trips_exactly(tmp_path, trained):
    x, _ = _data(seed=5)
    path = save_classifier(trained, tmp_path / "nested" / "source.keras")
    assert path.is_file() and os.listdir(path.parent) == ["source.keras"]
    np.testing.assert_array_equal(load_classifier(path).predict(x, verbose=0), trained.predict(x, verbose=0))
    rebuilt = build_classifier("small_cnn", (16, 16, 1), weights=path, dropout=0.0)
    np.testing.assert_array_equal(rebuilt.predict(x, verbose=0), trained.predict(x, verbose=0))


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


def test_unreadable_and_foreign_model_files_are_rejected(tmp_path):
    broken = tmp_path / "broken.keras"
    broken.write_text("not a zip archive")
    with pytest.raises(ValueError, match=r"Could not read the model file broken.keras.*Received: weights='"):
        build_classifier(weights=broken)
    with pytest.raises(ValueError, match=r"Could not read the model file broken.keras.*Received: path='"):
        load_classifier(broken)
    foreign = tmp_path / "plain.keras"
    keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)]).save(foreign)
    with pytest.raises(ValueError, match=r"nested model named 'backbone'"):
        load_classifier(foreign)


@pytest.mark.parametrize("call, match", [
    (lambda tmp: load_classifier(tmp / "absent.keras"), r"No such model file.*Received: path='"),
    (lambda tmp: load_classifier(tmp / "model.h5"), r"ending in .keras.*Received: path='"),
    (lambda tmp: save_classifier(build_classifier("small_cnn", (8, 8, 1)), tmp / "model.h5"),
     r"ending in .keras.*Received: path='"),
])
def test_bad_paths_are_rejected(tmp_path, call, match):
    with pytest.raises(ValueError, match=match):
        call(tmp_path)


# --- Compiling ------------------------------------------------------------------------------------

def test_compile_uses_a_from_logits_loss_and_auc_accuracy_metrics():
    model = compile_classifier(_cnn(), 3e-4, optimizer="sgd")
    assert isinstance(model.loss, keras.losses.BinaryCrossentropy) and model.loss.get_config()["from_logits"]
    assert isinstance(model.optimizer, keras.optimizers.SGD)
    assert float(model.optimizer.learning_rate.numpy()) == pytest.approx(3e-4)
    assert model.optimizer.built
    logs = model.evaluate(*_data(), verbose=0, return_dict=True)
    assert set(logs) == {"loss", "auc", "accuracy"}
    x, y = _data()
    logits = model.predict(x, verbose=0)
    assert logs["accuracy"] == pytest.approx(np.mean((logits > 0) == (y > 0.5)))


def test_an_optimizer_instance_is_a_template():
    template = keras.optimizers.SGD(learning_rate=0.5, momentum=0.9)
    model = compile_classifier(build_classifier("small_cnn", (16, 16, 1)), 1e-3, optimizer=template)
    assert model.optimizer is not template and model.optimizer.momentum == 0.9
    assert float(model.optimizer.learning_rate.numpy()) == pytest.approx(1e-3)


@pytest.mark.parametrize("kwargs, match", [
    (dict(learning_rate=0.0), r"Received: learning_rate=0.0"),
    (dict(learning_rate=1e-3, base_learning_rate=-1.0), r"Received: base_learning_rate=-1.0"),
    (dict(learning_rate=1e-3, optimizer="adamm"), r"optimizer name.*Received: optimizer='adamm'"),
    (dict(learning_rate=1e-3, jit_compile="yes"), r"Received: jit_compile='yes'"),
])
def test_bad_compile_arguments_are_rejected(kwargs, match):
    with pytest.raises(ValueError, match=match):
        compile_classifier(build_classifier("small_cnn", (8, 8, 1)), **kwargs)


# --- Discriminative learning rates ------------------------------------------------------------------

def _one_fit_step(optimizer, base_learning_rate, learning_rate=1e-2):
    """Weight changes of backbone and head after one full-batch fit step from a fixed start."""
    model = build_classifier("small_cnn", (16, 16, 1), seed=2, dropout=0.0)
    compile_classifier(model, learning_rate, optimizer=optimizer, base_learning_rate=base_learning_rate)
    base, head = base_of(model).trainable_weights, model.get_layer("logit").trainable_weights
    before = _values(base), _values(head)
    x, y = _data(seed=3)
    model.fit(x, y, batch_size=len(x), epochs=1, shuffle=False, verbose=0)
    return [[w.numpy() - b for w, b in zip(weights, values)] for weights, values in zip((base, head), before)]


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_the_backbone_learns_at_its_own_rate_under_fit(optimizer):
    plain_base, plain_head = _one_fit_step(optimizer, None)
    frozen_base, frozen_head = _one_fit_step(optimizer, 0.0)
    slow_base, slow_head = _one_fit_step(optimizer, 1e-3)
    assert all(np.abs(d).max() > 0 for d in plain_base)
    assert all(not d.any() for d in frozen_base)
    for plain, slow in zip(plain_base, slow_base):  # atol: float32 rounding of w + delta
        np.testing.assert_allclose(slow, 0.1 * plain, rtol=1e-3, atol=2e-7)
        assert np.linalg.norm(slow) == pytest.approx(0.1 * np.linalg.norm(plain), rel=1e-3)
    for plain, frozen, slow in zip(plain_head, frozen_head, slow_head):
        np.testing.assert_allclose(frozen, plain, rtol=1e-6)
        np.testing.assert_allclose(slow, plain, rtol=1e-6)


def test_setting_the_learning_rate_keeps_the_ratio_as_reduce_lr_on_plateau_does():
    model = compile_classifier(_cnn(), 1e-2, base_learning_rate=1e-3)
    reduce = keras.callbacks.ReduceLROnPlateau(monitor="loss", factor=0.5, patience=0, min_delta=1e9)
    model.fit(*_data(), epochs=2, verbose=0, callbacks=[reduce])
    optimizer = model.optimizer  # epoch 1 sets the best loss, epoch 2 halves both rates
    assert float(optimizer.learning_rate.numpy()) == pytest.approx(5e-3)
    assert float(optimizer.base_learning_rate.numpy()) == pytest.approx(5e-4)


def test_the_discriminative_optimizer_survives_recompiling_and_saving(tmp_path):
    model = compile_classifier(_cnn(), 1e-2, base_learning_rate=1e-3)
    x, y = _data()
    model.fit(x, y, epochs=1, verbose=0)
    model.compile_from_config(model.get_compile_config())
    assert isinstance(model.optimizer, DiscriminativeOptimizer)
    assert float(model.optimizer.base_learning_rate.numpy()) == pytest.approx(1e-3)
    model.fit(x, y, epochs=1, verbose=0)
    loaded = load_classifier(save_classifier(model, tmp_path / "m.keras"))
    assert isinstance(loaded.optimizer, DiscriminativeOptimizer)
    assert loaded.optimizer.head_paths == ("logit/kernel", "logit/bias")
    for saved, restored in zip(model.optimizer.variables, loaded.optimizer.variables):
        np.testing.assert_array_equal(saved.numpy(), restored.numpy())
    base, logit = base_of(loaded), loaded.get_layer("logit")
    loaded.optimizer.base_optimizer.learning_rate = 0.0
    before, head_before = _values(base.trainable_weights), _values(logit.weights)
    loaded.fit(x, y, epochs=1, verbose=0)  # the head is still routed to the head's optimizer
    for b, w in zip(before, base.trainable_weights):
        np.testing.assert_array_equal(b, w.numpy())
    assert not np.array_equal(head_before[0], logit.kernel.numpy())


def test_the_head_optimizer_cannot_use_a_schedule():
    schedule = keras.optimizers.schedules.ExponentialDecay(1e-2, 10, 0.9)
    with pytest.raises(ValueError, match="not a schedule"):
        DiscriminativeOptimizer(keras.optimizers.Adam(schedule), 1e-3, ["logit/kernel"])


@pytest.fixture
def without_op_determinism():
    """Keras turns XLA off while op determinism is on, which earlier seeded tests may leave on."""
    from tensorflow.python.framework import config as tf_config

    was_on = tf_config.is_op_determinism_enabled()
    tf_config.disable_op_determinism()
    yield
    if was_on:
        tf_config.enable_op_determinism()


def test_discriminative_rates_under_xla(without_op_determinism):
    model = compile_classifier(_cnn(), 1e-2, base_learning_rate=0.0, jit_compile=True)
    base, logit = base_of(model).trainable_weights, model.get_layer("logit")
    before, head_before = _values(base), logit.kernel.numpy().copy()
    model.fit(*_data(), batch_size=8, epochs=1, verbose=0)
    assert model.jit_compile
    assert all(np.array_equal(b, w.numpy()) for b, w in zip(before, base))
    assert not np.array_equal(head_before, logit.kernel.numpy())


def test_discriminative_rates_under_mixed_precision():
    keras.config.set_dtype_policy("mixed_float16")
    try:
        model = build_classifier("small_cnn", (16, 16, 1), seed=0, dropout=0.0)
        compile_classifier(model, 1e-2, base_learning_rate=0.0)
    finally:
        keras.config.set_dtype_policy("float32")
    assert isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer)
    base = base_of(model).trainable_weights
    before, head_before = _values(base), _values(model.get_layer("logit").weights)
    model.fit(*_data(), epochs=1, verbose=0)
    assert model.output.dtype == "float32"
    assert all(np.array_equal(b, w.numpy()) for b, w in zip(before, base))
    assert not np.array_equal(head_before[0], model.get_layer("logit").kernel.numpy())


def test_discriminative_rates_under_a_mirrored_strategy():
    code = textwrap.dedent("""
        import numpy as np, tensorflow as tf
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
        from crossdomain_kit.models.classifier import base_of, build_classifier, compile_classifier
        strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
        with strategy.scope():
            model = build_classifier("small_cnn", (16, 16, 1), seed=0, dropout=0.0)
            compile_classifier(model, 1e-2, base_learning_rate=0.0)
        x = np.random.default_rng(0).random((16, 16, 16, 1)).astype("float32")
        y = (x.mean(axis=(1, 2, 3)) > 0.5).astype("float32")[:, None]
        base = [w.numpy().copy() for w in base_of(model).trainable_weights]
        head = model.get_layer("logit").kernel.numpy().copy()
        model.fit(x, y, batch_size=8, epochs=1, verbose=0)
        assert all(np.array_equal(b, w.numpy()) for b, w in zip(base, base_of(model).trainable_weights))
        assert not np.array_equal(head, model.get_layer("logit").kernel.numpy())
        print("ok")
    """)
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                            timeout=300)
    assert result.returncode == 0 and result.stdout.strip().endswith("ok"), result.stderr[-3000:]
