"""Fixtures shared by the tests of crossdomain_kit.models: keras.applications classifiers, a trained small CNN."""

import pytest

from crossdomain_kit.models.classifier import build_classifier
from crossdomain_kit.models.compiling import compile_classifier
from tests.models._data import APPLICATIONS, _data


@pytest.fixture(scope="module")
def applications():
    """Each keras.applications classifier, built once per test module, at 32 px, random weights.

    Tests may re-freeze them.
    """
    kwargs = {"mobilenetv2": {"alpha": 0.35}}
    return {name: build_classifier(name, (32, 32, 3), **kwargs.get(name, {})) for name in APPLICATIONS}


@pytest.fixture
def trained(tmp_path):
    """A small classifier trained one epoch, so its weights are not the initial ones."""
    model = compile_classifier(build_classifier("small_cnn", (16, 16, 1), seed=1, dropout=0.0), 1e-2)
    model.fit(*_data(), epochs=1, verbose=0)
    return model
