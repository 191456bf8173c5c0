"""Tests for the trainers' argument checks (crossdomain_kit.training.checks and each trainer's own).

Every bad argument is a ``ValueError`` naming the argument and the value,
raised before anything trains.
Tiny small-CNN classifiers on 8-pixel synthetic images (``_data``) keep every test to
seconds.
"""

import re

import keras
import numpy as np
import pytest
import tensorflow as tf

from crossdomain_kit import training
from crossdomain_kit.models.compiling import compile_classifier
from tests.training._data import _arrays, _ds, _fine_tune, _model

def test_single_class_validation_data_is_a_clear_error():
    x, _ = _arrays(16, 1)
    only_positive = tf.data.Dataset.from_tensor_slices((x, np.ones((16, 1), "float32"))).batch(8)
    message = r"both classes.*AUC.*undefined.*Received: val_ds='dataset of 16 examples, all labelled 1'"
    with pytest.raises(ValueError, match=message):
        _fine_tune(val=only_positive)
    with pytest.raises(ValueError, match=message):
        training.train_with_tape(_model(), _ds(), only_positive, 1, keras.optimizers.Adam(), verbose=False)
    with pytest.raises(ValueError, match=message):
        training.train_joint(_model(), [_ds()], only_positive, epochs=1)


def test_datasets_must_be_finite_batched_tf_data():
    with pytest.raises(ValueError, match=r"tf.data.Dataset.*Received: train_ds="):
        _fine_tune(train=_arrays(16, 0))
    with pytest.raises(ValueError, match=r"finite.*Received: train_ds="):
        _fine_tune(train=_ds(n=16).repeat())
    with pytest.raises(ValueError, match=r"same shape.*Received: datasets\[1\]="):
        training.mix_domains([_ds(8), _ds(8).map(lambda x, y: (x[:, :4], y))])
    with pytest.raises(ValueError, match=r"\(images, labels\)\.? Received: datasets\[0\]="):
        training.mix_domains([training.joint_datasets(_ds(8), _ds(8))])

@pytest.mark.parametrize("call, received", [
    (lambda: training.train_with_tape(_model(), _ds(), _ds(), 0, keras.optimizers.Adam()), "epochs=0"),
    (lambda: training.train_with_tape(_model(), _ds(), _ds(), 1, "adam"), "optimizer='adam'"),
    (lambda: training.train_joint(_model(), [_ds()], _ds(), epochs=0), "epochs=0"),
    (lambda: training.train_joint(_model(), [_ds()], _ds(), epochs=1, learning_rate=0), "learning_rate=0"),
    (lambda: training.joint_datasets(_ds(), _ds(), alpha=1.5), "alpha=1.5"),
    (lambda: training.mix_domains([_ds(), _ds()], [0.5, 0.6]), "weights=[0.5, 0.6]"),
    (lambda: training.mix_domains(_ds()), "datasets="),
    (lambda: training.find_learning_rate(_model(), _ds()), "model="),
    (lambda: training.find_learning_rate(compile_classifier(_model()), _ds(), min_learning_rate=1.0,
                                         max_learning_rate=0.1), "max_learning_rate=0.1"),
    (lambda: training.find_learning_rate(compile_classifier(_model()), _ds(), steps=3), "steps=3"),
    (lambda: training.make_test_step(_model(), keras.losses.BinaryCrossentropy(), jit_compile="yes"),
     "jit_compile='yes'"),
    (lambda: training.set_global_seed(1.5), "seed=1.5"),
    (lambda: training.set_global_seed(0, deterministic="yes"), "deterministic='yes'"),
])
def test_other_bad_arguments_name_the_argument_and_value(call, received):
    with pytest.raises(ValueError, match="Received: " + re.escape(received)):
        call()
