"""The full configuration (ImageNet backbones at 224 px, mixed precision, XLA) end to end on a CPU.

ImageNet weights cannot be downloaded here, so
:func:`crossdomain_kit.models.weights.standin_imagenet_weights` writes files
with Keras's exact names, layout and shapes (random values) into a temporary
Keras cache and gives Keras their hashes through its own hash table: the kit
and Keras then load them by the same code path as the real files, hash check
included. On them runs lesson 05's GPU configuration, on 4 chest X-rays per
class and split, one step per epoch: ResNet50 → two phases → threshold →
evaluation with intervals → Grad-CAM → save → load → predict; MobileNetV2 and
EfficientNetB0 one training step each; and the command line's ``finetune
--backbone resnet50 --weights imagenet``. 3 min 10 s on this project's 2-core
machine (beside another training job), 89 s of it the end-to-end run.
"""

import contextlib
import io
import json
import shutil
import urllib.error
import warnings

import h5py
import keras
import numpy as np
import pytest
from PIL import Image
from keras.src.applications import efficientnet, resnet
from keras.src.utils import file_utils
from tensorflow.python.framework import config as tf_config

from crossdomain_kit import config
from crossdomain_kit.cli import main
from crossdomain_kit.data.image_folder import kaggle_patient_id, load_image_folder
from crossdomain_kit.data.pipeline import make_pipeline
from crossdomain_kit.evaluation import evaluate_predictions
from crossdomain_kit.models import backbones, weights
from crossdomain_kit.models.checkpoints import load_classifier, save_classifier
from crossdomain_kit.models.classifier import base_of, build_classifier
from crossdomain_kit.models.compiling import compile_classifier
from crossdomain_kit.models.freezing import freeze
from crossdomain_kit.models.gradcam import grad_cam
from crossdomain_kit.models.predict import predict_labels, predict_proba
from crossdomain_kit.training import enable_mixed_precision, fine_tune, set_global_seed

CHEST_XRAY = config.data_dir() / "chest_xray"
XRAYS = (CHEST_XRAY / "train").is_dir() and (CHEST_XRAY / "test").is_dir()
needs_xrays = pytest.mark.skipif(not XRAYS, reason=f"the Kaggle chest X-ray folder is not in {CHEST_XRAY}")
PER_CLASS = 4  # images per class and split: one batch of 8, so one step per epoch
IMAGENET_BACKBONES = ("resnet50", "mobilenetv2", "efficientnetb0")
SIZE = 224
INITIAL_LOSS_SCALE = 2.0 ** 15  # keras.optimizers.LossScaleOptimizer's


def _file_weights(path):
    """The arrays of a legacy .h5 weights file, in Keras's loading order (layers with weights)."""
    arrays = []
    with h5py.File(path, "r") as file:
        for layer in file.attrs["layer_names"]:
            group = file[layer]
            arrays += [np.asarray(group[name]) for name in group.attrs["weight_names"]]
    return arrays


def _loaded_from(model, path) -> bool:
    """Whether the classifier's backbone holds exactly the file's weights."""
    found, expected = base_of(model).get_weights(), _file_weights(path)
    return len(found) == len(expected) and all(np.array_equal(f, e) for f, e in zip(found, expected))


# --- Fixtures -----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def xrays(tmp_path_factory):
    """A Kaggle-layout folder: train/ and val/ from Kaggle's train/, test/ from its test/, no patient twice."""
    root = tmp_path_factory.mktemp("chest_xray")
    used = set()
    for split, source in (("train", "train"), ("val", "train"), ("test", "test")):
        for label in ("NORMAL", "PNEUMONIA"):
            (root / split / label).mkdir(parents=True)
            picked = 0
            for file in sorted((CHEST_XRAY / source / label).iterdir()):
                patient = kaggle_patient_id(file) or file.name
                if picked == PER_CLASS or patient in used:
                    continue
                used.add(patient)
                shutil.copy(file, root / split / label / file.name)
                picked += 1
    return root


@pytest.fixture(scope="module")
def standins(request):
    """Stand-in ImageNet files of the three backbones in a temporary Keras cache, for this module.

    Their BatchNorm statistics come from training X-rays when there are some (random deep networks
    are sensitive to what they are calibrated on), else from noise.
    """
    images = None
    if XRAYS:
        files = sorted((request.getfixturevalue("xrays") / "train").glob("*/*"))
        images = np.stack([np.asarray(Image.open(f).convert("RGB").resize((SIZE, SIZE))) for f in files])
    with weights.standin_imagenet_weights(IMAGENET_BACKBONES, images=images) as files:
        yield files


@pytest.fixture
def gpu_configuration():
    """Mixed precision and XLA forced on, as the kit decides on a GPU; everything restored afterwards.

    Keras turns XLA off (with a warning, an error here) when op determinism is
    on; a seeded trainer leaves it off when ``jit_compile=True`` is asked for,
    but earlier tests may have turned it on, and it cannot be undone through
    the public API: so it is switched off here, and restored afterwards.
    """
    determinism, policy = tf_config.is_op_determinism_enabled(), keras.config.dtype_policy()
    tf_config.disable_op_determinism()
    try:
        assert enable_mixed_precision(True) == "mixed_float16"
        set_global_seed(0, deterministic=False)  # for the steps below that no trainer seeds
        with warnings.catch_warnings():
            warnings.filterwarnings("error", message=".*jit_compile.*")  # Keras's "Proceeding without XLA"
            yield
    finally:
        keras.config.set_dtype_policy(policy)
        if determinism:
            tf_config.enable_op_determinism()


# --- The stand-ins are loaded, and checked, as the real files are ---------------------------------

def test_standins_have_the_names_keras_asks_for_and_their_hashes_replace_the_real_ones(standins):
    for name in IMAGENET_BACKBONES:
        location = weights.imagenet_weights_location(name, (SIZE, SIZE, 3))
        assert standins[name] == location.path and location.path.is_file()
        assert location.folder == weights.keras_weights_cache()
        assert location.folder.parent.name.startswith("crossdomain_kit_standin_keras_")  # never the real cache
    for name, table, key in (("resnet50", resnet.WEIGHTS_HASHES, "resnet50"),
                             ("efficientnetb0", efficientnet.WEIGHTS_HASHES, "b0")):
        digest = backbones.get_backbone(name).weights_spec("imagenet").file_hash
        assert table[key][1] == digest and file_utils.validate_file(standins[name], digest)


def _offline(url, *args, **kwargs):
    raise urllib.error.URLError("no network in this test")


def test_everything_is_restored_and_a_changed_standin_fails_the_hash_check(monkeypatch):
    real_hash = backbones.get_backbone("efficientnetb0").weights_spec("imagenet").file_hash
    real_table, real_cache = dict(efficientnet.WEIGHTS_HASHES), weights.keras_weights_cache()
    with weights.standin_imagenet_weights(["efficientnetb0"]) as files:
        path = files["efficientnetb0"]
        assert path.parent == weights.keras_weights_cache() != real_cache
        assert _loaded_from(build_classifier("efficientnetb0", (32, 32, 3), "imagenet"), path)
        with open(path, "ab") as file:
            file.write(b"\0")
        # Keras's hash check refuses it and fetches the file again; offline, that fails at once.
        monkeypatch.setattr(file_utils, "urlretrieve", _offline)
        with pytest.raises(ValueError, match=r"could not be loaded .*URL fetch failure.*Received: weights='imagenet'"):
            build_classifier("efficientnetb0", (32, 32, 3), "imagenet")
    assert backbones.get_backbone("efficientnetb0").weights_spec("imagenet").file_hash == real_hash
    assert efficientnet.WEIGHTS_HASHES == real_table and weights.keras_weights_cache() == real_cache
    assert not path.parent.parent.exists()
    with pytest.raises(ValueError, match=r"has no ImageNet weights.*Received: backbones='small_cnn'"):
        with weights.standin_imagenet_weights(["small_cnn"]):
            pass


# --- Lesson 05's GPU configuration, on a CPU -------------------------------------------------------

@needs_xrays
def test_the_lesson05_gpu_configuration_end_to_end(xrays, standins, gpu_configuration, tmp_path):
    data = load_image_folder(xrays, seed=0, progress=False)
    assert [len(split) for split in data.splits().values()] == [2 * PER_CLASS] * 3

    model = build_classifier("resnet50", (SIZE, SIZE, 3), weights="imagenet", seed=0)
    assert _loaded_from(model, standins["resnet50"])  # the stand-in, through Keras's own loading
    assert base_of(model).compute_dtype == "float16" and model.get_layer("logit").compute_dtype == "float32"

    pipeline_args = dict(backbone="resnet50", image_size=SIZE, seed=0)
    train_ds = make_pipeline(data.train, batch_size=2 * PER_CLASS, training=True, **pipeline_args)
    val_ds = make_pipeline(data.val, batch_size=2 * PER_CLASS, **pipeline_args)
    phase_ends = []
    keep_phase_end = keras.callbacks.LambdaCallback(on_train_end=lambda logs: phase_ends.append(model.get_weights()))
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*ran out of data.*")
        result = fine_tune(model, train_ds, val_ds, head_epochs=1, finetune_epochs=1, head_learning_rate=1e-3,
                           finetune_learning_rate=1e-5, unfreeze={"policy": "all"}, monitor="val_loss",
                           patience=2, seed=0, jit_compile=True, verbose=0, callbacks=[keep_phase_end])
    assert result.phases == ["head", "finetune"] and len(phase_ends) == 2
    assert np.isfinite(result.history["loss"]).all() and np.isfinite(result.history["val_loss"]).all()
    assert model.jit_compile is True and isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer)
    # Phase 2's one step trained the backbone, or float16 gradients overflowed and the step was
    # skipped, halving the loss scale (the first steps of mixed precision may be).
    backbone_changed = not np.array_equal(phase_ends[0][0], phase_ends[1][0])
    assert backbone_changed or float(model.optimizer.dynamic_scale) < INITIAL_LOSS_SCALE

    p_val, p_test = predict_proba(model, data.val), predict_proba(model, data.test)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*resamples skipped.*")  # PPV on 8 test images
        after = evaluate_predictions(data.val.labels, p_val, data.test.labels, p_test, data.class_names,
                                     n_boot=200, seed=0)
    assert 0 <= after.threshold <= 1
    assert after.intervals["auc"].low <= after.test.auc <= after.intervals["auc"].high
    assert after.intervals["sensitivity"].low <= after.test.sensitivity <= after.intervals["sensitivity"].high

    shown = data.test.take(np.array([0, len(data.test) - 1]))  # a normal and a pneumonia X-ray
    x_shown = next(iter(make_pipeline(shown, batch_size=2, **pipeline_args)))[0].numpy()
    heat_inner, heat_last = grad_cam(model, x_shown, "conv4_block6_out"), grad_cam(model, x_shown, upsample=False)
    assert heat_inner.shape == (2, SIZE, SIZE) and heat_last.shape == (2, 7, 7)
    assert heat_inner.min() >= 0 and heat_inner.max() <= 1 and np.isfinite(heat_inner).all()
    # At the backbone's output, Grad-CAM is the class activation map ReLU(sum_k w_k A^k), up to scale.
    features = base_of(model)(x_shown, training=False).numpy().astype(np.float64)
    cam = np.maximum(features @ model.get_layer("logit").kernel.numpy()[:, 0], 0)
    peak = cam.max(axis=(1, 2), keepdims=True)
    assert np.allclose(heat_last, np.divide(cam, peak, out=np.zeros_like(cam), where=peak > 0), atol=2e-2)

    reloaded = load_classifier(save_classifier(model, tmp_path / "model.keras"))
    assert reloaded.jit_compile is True and base_of(reloaded).compute_dtype == "float16"
    probabilities, labels = predict_labels(reloaded, xrays / "test", after.threshold)  # image files
    assert np.allclose(probabilities, p_test, atol=1e-2)
    assert np.array_equal(labels, (probabilities >= after.threshold).astype(int))


@needs_xrays
@pytest.mark.parametrize("name, last_block", [("mobilenetv2", "block_16"), ("efficientnetb0", "block7")])
def test_a_training_step_under_mixed_precision_and_xla(name, last_block, xrays, standins, gpu_configuration):
    data = load_image_folder(xrays, val_fraction=0, seed=0, progress=False)
    model = build_classifier(name, (SIZE, SIZE, 3), weights="imagenet", seed=0)
    assert _loaded_from(model, standins[name])
    # The last block and the head train (BatchNorm frozen): XLA compiles the whole network's forward
    # pass and a float16 backward pass through the block; the whole backward pass is ResNet50's above
    # (compiling it here too would triple these tests' time on a CPU).
    freeze(model, "from_layer", from_layer=last_block, recompile=False)
    compile_classifier(model, 1e-5, jit_compile=True)
    assert isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer)
    before = [w.numpy().copy() for w in base_of(model).trainable_weights]
    images, labels = next(iter(make_pipeline(data.train.take(np.array([0, len(data.train) - 1])), backbone=name,
                                             image_size=SIZE, batch_size=2, training=True, seed=0)))
    # A step whose float16 gradients overflow is skipped and halves the loss scale; then one applies.
    scales = [float(model.optimizer.dynamic_scale)]
    for _ in range(8):
        loss = model.train_on_batch(images, labels, return_dict=True)["loss"]
        assert np.isfinite(loss) and model.jit_compile is True
        if any(not np.array_equal(b, w.numpy()) for b, w in zip(before, base_of(model).trainable_weights)):
            break
        scales.append(float(model.optimizer.dynamic_scale))
        assert scales[-1] == scales[-2] / 2
    else:
        pytest.fail(f"8 steps changed no weight of the backbone; loss scales {scales}")
    p = predict_proba(model, data.test.take(np.arange(4)))
    assert p.shape == (4,) and np.all((p >= 0) & (p <= 1))


# --- The command line, with the same stand-ins --------------------------------------------------------

def _run(*argv):
    """(exit code, stdout, stderr) of ``crossdomain-kit argv`` run in this process."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(a) for a in argv])
    return code, out.getvalue(), err.getvalue()


@needs_xrays
def test_the_cli_finetunes_resnet50_from_imagenet_weights(xrays, standins, tmp_path):
    code, out, err = _run("finetune", "--backbone", "resnet50", "--weights", "imagenet", "--data", xrays,
                          "--out", tmp_path / "run", "--epochs", 2, "--batch-size", 2 * PER_CLASS)
    assert code == 0, err
    assert "resnet50 at 224 px, ImageNet weights" in out
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert 0 <= metrics["test_auc"] <= 1
    saved = load_classifier(tmp_path / "run" / "model.keras", compile=False)
    assert saved.name == "resnet50_classifier" and saved.input_shape == (None, SIZE, SIZE, 3)
