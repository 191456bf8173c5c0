import subprocess
import sys

import numpy as np
import pytest

from crossdomain_kit.models.backbones import (BACKBONES, backbone_names, get_backbone, imagenet_caffe,
                                       scale_to_unit)


def test_importing_the_registry_does_not_import_tensorflow():
    code = "import sys, crossdomain_kit.models.backbones; assert 'tensorflow' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_registry_names_and_lookup():
    assert backbone_names() == ("resnet50", "mobilenetv2", "efficientnetb0", "small_cnn")
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
