"""Shared by the tests of crossdomain_kit.models: tiny random images and small-CNN classifiers."""

import numpy as np

from crossdomain_kit.models.classifier import build_classifier

# The backbones that are keras.applications networks.
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
