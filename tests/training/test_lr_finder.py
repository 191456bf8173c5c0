"""Tests for crossdomain_kit.training.lr_finder: smoothing, the suggestion, the sweep that restores the model.

Tiny small-CNN classifiers on 8-pixel synthetic images (``_data``) keep every test to
seconds.
"""

import numpy as np
import pytest

from crossdomain_kit import training
from crossdomain_kit.models.compiling import compile_classifier
from tests.training._data import _ds, _model, _same

def test_smooth_losses_is_a_bias_corrected_moving_average():
    np.testing.assert_allclose(training.smooth_losses([2.0, 2.0, 2.0]), [2.0, 2.0, 2.0])
    np.testing.assert_allclose(training.smooth_losses([1.0, 4.0], beta=0.0), [1.0, 4.0])
    beta = 0.9
    np.testing.assert_allclose(training.smooth_losses([1.0, 4.0], beta=beta), [1.0, (beta + 4) / (1 + beta)])
    with pytest.raises(ValueError, match=r"Received: beta=1"):
        training.smooth_losses([1.0], beta=1)


def test_suggest_learning_rate_finds_the_steepest_point_and_the_minimum():
    lrs = np.geomspace(1e-6, 1, 61)
    x = np.log10(lrs)
    loss = 1 - 0.8 / (1 + np.exp(-3 * (x + 3.5))) + np.where(x > -1.5, (x + 1.5) ** 2, 0)
    found = training.suggest_learning_rate(lrs, loss)
    assert found.steepest_lr == pytest.approx(10 ** -3.5, rel=0.05)
    assert found.min_loss_lr == lrs[np.argmin(loss)]
    assert found.suggestion == pytest.approx(found.min_loss_lr / 10)
    with pytest.raises(ValueError, match=r"increasing.*Received: learning_rates="):
        training.suggest_learning_rate(lrs[::-1], loss)
    # a noisy start, steeper than the real descent, is skipped (a tenth of the points by default)
    noisy = loss + np.where(np.arange(lrs.size) < 3, [1.0, 0.5, 0.0] + [0.0] * (lrs.size - 3), 0.0)
    assert training.suggest_learning_rate(lrs, noisy).steepest_lr == pytest.approx(10 ** -3.5, rel=0.05)
    assert training.suggest_learning_rate(lrs, noisy, skip_start=0).steepest_lr < 1e-5
    with pytest.raises(ValueError, match=r"Received: skip_start=-1"):
        training.suggest_learning_rate(lrs, loss, skip_start=-1)


def test_find_learning_rate_sweeps_then_restores_the_model_and_optimizer():
    model = _model()
    compile_classifier(model, 3e-4, base_learning_rate=3e-5)
    model.fit(_ds(n=16), epochs=1, shuffle=False, verbose=0)  # moments and iterations now non-zero
    weights = model.get_weights()
    state = [v.numpy() for v in model.optimizer.variables]
    result = training.find_learning_rate(model, _ds(n=16, training_=True), min_learning_rate=1e-5,
                                         max_learning_rate=10.0, steps=24, seed=None, verbose=False)
    assert _same(model.get_weights(), weights)
    assert _same([v.numpy() for v in model.optimizer.variables], state)
    assert float(model.optimizer.learning_rate.numpy()) == pytest.approx(3e-4)
    assert float(model.optimizer.base_learning_rate.numpy()) == pytest.approx(3e-5)
    n = len(result.learning_rates)
    assert 5 <= n <= 24 and result.learning_rates[0] == pytest.approx(1e-5)
    np.testing.assert_allclose(result.learning_rates, np.geomspace(1e-5, 10.0, 24)[:n])
    np.testing.assert_allclose(result.losses, training.smooth_losses(result.raw_losses))
    assert result.diverged == (n < 24)
    assert result.suggestion == pytest.approx(result.min_loss_lr / 10)
