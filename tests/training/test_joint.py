"""Tests for crossdomain_kit.training.joint: mixed batches whose epoch loss is lesson 01's risk; train_joint.

Tiny small-CNN classifiers on 8-pixel synthetic images (``_data``) keep every test to
seconds.
"""

import numpy as np
import pytest
import tensorflow as tf

from crossdomain_kit.theory import risk
from crossdomain_kit import training
from crossdomain_kit.theory.losses import binary_cross_entropy_from_logits
from crossdomain_kit.models.compiling import compile_classifier
from tests.training._data import SIZE, _EpochWeights, _ds, _model, _same

@pytest.fixture(scope="module")
def fixed_model():
    model = _model(seed=3)
    return compile_classifier(model)


def _per_example_losses(model, dataset):
    y = np.concatenate([labels for _, labels in dataset.as_numpy_iterator()]).ravel()
    return binary_cross_entropy_from_logits(y, model.predict(dataset, verbose=0).ravel())


@pytest.mark.parametrize("alpha", [None, 0.0, 0.3, 0.9])
def test_the_joint_epoch_loss_is_lesson_01s_risk(fixed_model, alpha):
    source, target = _ds(40), _ds(12, seed=2, shift=30)
    joint = training.joint_datasets(source, target, alpha, batch_size=16)  # last batch: 4 of 16
    keras_loss = fixed_model.evaluate(joint, verbose=0, return_dict=True)["loss"]
    ls, lt = _per_example_losses(fixed_model, source), _per_example_losses(fixed_model, target)
    expected = risk.joint_empirical_risk(ls, lt) if alpha is None else risk.weighted_risk(ls, lt, alpha)
    assert keras_loss == pytest.approx(expected, rel=1e-5)


def test_the_multi_source_epoch_loss_is_the_weighted_sum_of_domain_risks(fixed_model):
    domains = [_ds(16), _ds(24, seed=2, shift=-20), _ds(8, seed=3, shift=30)]
    weights = [0.2, 0.3, 0.5]
    mixed = training.mix_domains(domains, weights, batch_size=8)
    keras_loss = fixed_model.evaluate(mixed, verbose=0, return_dict=True)["loss"]
    expected = sum(w * _per_example_losses(fixed_model, d).mean() for w, d in zip(weights, domains))
    assert keras_loss == pytest.approx(expected, rel=1e-5)


def _id_domain(ids):
    """A dataset whose images are filled with the example's id, to follow each example."""
    x = np.repeat(np.asarray(ids, "float32"), SIZE * SIZE).reshape(-1, SIZE, SIZE, 1)
    return tf.data.Dataset.from_tensor_slices((x, (np.asarray(ids) % 2)[:, None].astype("float32"))).batch(5)


def test_mix_domains_shows_every_example_once_per_epoch_in_mixed_reshuffled_batches():
    source, target = range(0, 30), range(100, 110)
    mixed = training.mix_domains([_id_domain(source), _id_domain(target)], [0.25, 0.75], batch_size=8, seed=1)
    assert int(mixed.cardinality()) == 5

    def epoch(dataset):
        batches = [(x[:, 0, 0, 0].astype(int), w) for x, _, w in dataset.as_numpy_iterator()]
        ids = [b[0] for b in batches]
        return ids, np.concatenate(ids), np.concatenate([b[1] for b in batches])

    batches, ids, weights = epoch(mixed)
    assert sorted(ids) == [*source, *target]
    np.testing.assert_allclose(weights, np.where(ids < 100, 0.25 * 40 / 30, 0.75 * 40 / 10))
    assert weights.sum() == pytest.approx(40)  # mean weight 1: Keras's batch-size average stays a mean
    assert any((b < 100).any() and (b >= 100).any() for b in batches)
    second_epoch = epoch(mixed)[1]
    same_seed = epoch(training.mix_domains([_id_domain(source), _id_domain(target)], [0.25, 0.75],
                                           batch_size=8, seed=1))[1]
    assert not np.array_equal(ids, second_epoch) and np.array_equal(ids, same_seed)


def test_train_joint_trains_on_the_mixture_and_keeps_the_best_epoch():
    model = _model()
    spy = _EpochWeights()
    result = training.train_joint(model, [_ds(24, training_=True), _ds(8, seed=2, shift=30, training_=True)],
                                  _ds(seed=1), weights=[0.4, 0.6], epochs=2, seed=None, verbose=0,
                                  callbacks=[spy])
    assert result.phases == ["joint", "joint"] and not result.interrupted
    best = int(np.argmax(result.history["val_auc"]))
    assert _same(model.get_weights(), spy.weights[best])
