import dataclasses
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from crossdomain_kit.models import backbones
from crossdomain_kit.models.backbones import (BACKBONES, WeightsSpec, backbone_names, backbones_with_weights,
                                              block_names, block_of, get_backbone, imagenet_caffe, in_block,
                                              scale_to_unit, tinyimagenet_weights_name, weights_names)


def test_importing_the_registry_does_not_import_tensorflow():
    code = ("import sys, crossdomain_kit.models.backbones; "
            "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_registry_names_and_lookup():
    assert backbone_names() == ("resnet50", "mobilenetv2", "efficientnetb0", "small_cnn", "small_cnn_wide")
    assert get_backbone("ResNet50") is BACKBONES["resnet50"]
    spec = get_backbone("small_cnn")
    assert (spec.default_size, spec.channels, spec.application) == (64, 1, None)
    with pytest.raises(ValueError, match=r"choose one of .*Received: backbone='vgg16'"):
        get_backbone("vgg16")


@pytest.mark.parametrize("name, constructor", [
    ("resnet50", "ResNet50"), ("mobilenetv2", "MobileNetV2"), ("efficientnetb0", "EfficientNetB0")])
def test_constructors_come_from_keras_applications(name, constructor):
    import keras

    assert get_backbone(name).constructor() is getattr(keras.applications, constructor)


def test_the_small_cnn_has_no_keras_constructor():
    with pytest.raises(ValueError, match=r"not a keras.applications model.*Received: name='small_cnn'"):
        get_backbone("small_cnn").constructor()


@pytest.mark.parametrize("shape", [(2, 5, 7, 3), (5, 7, 3)])
@pytest.mark.parametrize("dtype", [np.uint8, np.float32])
def test_imagenet_caffe_equals_keras_resnet50_preprocessing(shape, dtype):
    import keras
    import tensorflow as tf

    images = np.random.default_rng(0).uniform(0, 255, shape).astype(dtype)
    expected = keras.applications.resnet50.preprocess_input(images.astype(np.float32))
    from_numpy = imagenet_caffe(images)
    assert isinstance(from_numpy, np.ndarray) and from_numpy.dtype == np.float32
    np.testing.assert_array_equal(from_numpy, expected)
    np.testing.assert_array_equal(imagenet_caffe(tf.constant(images)).numpy(), expected)


@pytest.mark.parametrize("name, low, high", [
    ("resnet50", -123.68, 255 - 103.939), ("mobilenetv2", -1.0, 1.0),
    ("efficientnetb0", 0.0, 255.0), ("small_cnn", 0.0, 1.0)])
def test_each_backbone_maps_0_255_to_its_own_range(name, low, high):
    import keras

    pixels = np.array([[[[0.0, 0.0, 0.0], [255.0, 255.0, 255.0]]]], np.float32)
    out = np.asarray(get_backbone(name).preprocess_input()(pixels.copy()))
    assert out.min() == pytest.approx(low, abs=1e-4) and out.max() == pytest.approx(high, abs=1e-4)
    if name == "mobilenetv2":
        assert get_backbone(name).preprocess_input() is keras.applications.mobilenet_v2.preprocess_input


def test_scale_to_unit():
    np.testing.assert_allclose(scale_to_unit(np.array([0.0, 51.0, 255.0])), [0.0, 0.2, 1.0])


@pytest.mark.parametrize("name, prefix, expected", [
    ("conv5_block1_1_conv", "conv5", True), ("conv5_block1_1_conv", "conv5_block1", True),
    ("block6a_expand_conv", "block6", True), ("block_16_expand", "block_1", False),
    ("conv1_conv", "con", False), ("block3_bn", "block3_bn", True), ("block3_bn", "block3_b", False)])
def test_block_prefix_rule(name, prefix, expected):
    assert in_block(name, prefix) is expected


@pytest.mark.parametrize("layer, block", [
    ("conv4_block6_out", "conv4"), ("conv1_conv", "conv1"), ("block_12_expand", "block_12"), ("Conv_1", "Conv_1"),
    ("expanded_conv_project", "expanded"), ("block2a_expand_conv", "block2"), ("block2b_se_reduce", "block2"),
    ("stem_conv", "stem"), ("top_conv", "top"), ("block3_conv", "block3"), ("block3_bn", "block3")])
def test_the_block_a_layer_belongs_to(layer, block):
    assert block_of(layer) == block


def test_block_names_are_every_underscore_prefix_of_a_layer_name():
    assert block_names(["conv5_block1_out", "pool"]) == ["conv5", "conv5_block1", "conv5_block1_out", "pool"]


def test_only_mobilenetv2_takes_a_width_multiplier():
    assert [name for name, spec in BACKBONES.items() if spec.takes_alpha] == ["mobilenetv2"]


def test_every_keras_application_has_imagenet_weights_and_the_kit_cnns_only_shipped_ones():
    for name, spec in BACKBONES.items():
        imagenet = spec.weights_spec("imagenet")
        assert (imagenet is None) == (spec.application is None), name
        assert spec.weights_spec("imagenet21k") is None
        assert all(w.packaged == (spec.application is None) for w in spec.weights), name
    assert [w.name for w in get_backbone("small_cnn").weights] == ["tinyimagenet"]
    shipped = get_backbone("small_cnn").weights_spec("tinyimagenet")
    card = (Path(backbones.__file__).parent / "pretrained" / shipped.file.replace(".weights.h5", ".md")).read_text()
    assert f"trained at {shipped.input_size} px" in card and shipped.input_size == 32
    assert [shipped.fitting_size(size) for size in (28, 32, 64)] == [32, 32, 64]  # up to it, never down
    assert get_backbone("resnet50").weights_spec("imagenet").fitting_size(28) == 28
    assert all(w.input_size is None for name in ("resnet50", "mobilenetv2") for w in get_backbone(name).weights)


def test_weights_names_and_the_backbones_that_have_them():
    assert weights_names() == ("imagenet", "tinyimagenet")
    assert backbones_with_weights("imagenet") == ("resnet50", "mobilenetv2", "efficientnetb0")
    assert backbones_with_weights("tinyimagenet") == ("small_cnn", "small_cnn_wide")
    assert backbones_with_weights("imagenet21k") == ()


@pytest.mark.parametrize("name", backbones_with_weights("tinyimagenet"))
def test_the_shipped_tiny_imagenet_weights_have_the_file_name_pretrain_writes(name):
    file = get_backbone(name).weights_spec("tinyimagenet").file
    assert file == f"{tinyimagenet_weights_name(name)}.weights.h5" == f"{name}_tinyimagenet.weights.h5"
    assert (Path(backbones.__file__).parent / "pretrained" / file).is_file()


@pytest.mark.parametrize("name, shape, alpha, file", [
    ("resnet50", (64, 48, 3), 1.0, "resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5"),
    ("efficientnetb0", (224, 224, 3), 1.0, "efficientnetb0_notop.h5"),
    ("mobilenetv2", (96, 96, 3), 1.0, "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_96_no_top.h5"),
    ("mobilenetv2", (32, 32, 3), 0.35, "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_0.35_224_no_top.h5"),
    ("mobilenetv2", (96, 128, 3), 1, "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224_no_top.h5"),
])
def test_weights_specs_name_the_file_for_an_input_shape_and_width(name, shape, alpha, file):
    imagenet = get_backbone(name).weights_spec("imagenet")
    assert isinstance(imagenet, WeightsSpec) and (imagenet.name, imagenet.title) == ("imagenet", "ImageNet")
    assert imagenet.file_name(shape, alpha) == file
    assert imagenet.url(shape, alpha) == imagenet.base_url + file
    assert imagenet.base_url.startswith("https://") and imagenet.base_url.endswith("/")


def test_a_weights_spec_is_a_frozen_record():
    spec = WeightsSpec("mine", "Mine", "mine.weights.h5", "https://example.org/")
    assert (spec.file_hash, spec.sizes, spec.alphas) == (None, (), ())
    assert spec.file_name((32, 32, 3)) == "mine.weights.h5"
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.file = "other.h5"
