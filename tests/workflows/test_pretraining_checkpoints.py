"""Resuming pretraining from its checkpoint (workflows.pretraining_checkpoints) on small generated images."""

import numpy as np
import pytest

from crossdomain_kit.workflows.pretraining import pretrain_backbone
from crossdomain_kit.workflows.pretraining_checkpoints import PROGRESS_FILE
from tests.workflows._pretraining_data import make_data, small_plan


def test_pretraining_resumed_run_equals_an_uninterrupted_one(resumed_runs, uninterrupted_run, capsys):
    first, second, folder = resumed_runs
    assert first.interrupted and first.epochs == 2 and not second.interrupted and second.resumed_epochs == 2
    assert sorted(p.name for p in folder.iterdir()) == ["epoch_0003.state.npz", "epoch_0003.weights.h5",
                                                        PROGRESS_FILE]  # older epochs and temp files gone
    assert set(second.history) == set(uninterrupted_run.history)
    for name, values in uninterrupted_run.history.items():
        np.testing.assert_allclose(second.history[name], values, rtol=1e-6, atol=1e-7, err_msg=name)
    for mine, theirs in zip(second.model.get_weights(), uninterrupted_run.model.get_weights()):
        np.testing.assert_allclose(mine, theirs, rtol=1e-5, atol=1e-6)
    for mine, theirs in zip(second.model.optimizer.variables, uninterrupted_run.model.optimizer.variables):
        np.testing.assert_allclose(mine.numpy(), theirs.numpy(), rtol=1e-5, atol=1e-6, err_msg=mine.path)
    assert int(second.model.optimizer.iterations.numpy()) == 3 * 6  # 192 images in batches of 32
    assert second.seconds >= first.seconds > 0


def test_a_finished_pretraining_checkpoint_is_read_back_without_training(resumed_runs, uninterrupted_run):
    _, second, folder = resumed_runs
    again = pretrain_backbone(make_data(), small_plan(), seed=0, checkpoint_dir=folder, progress=False)
    assert again.resumed_epochs == 3 and again.history == second.history and again.seconds == second.seconds
    for mine, theirs in zip(again.model.get_weights(), second.model.get_weights()):
        np.testing.assert_array_equal(mine, theirs)


@pytest.mark.parametrize("change, message", [
    ({"plan": small_plan(epochs=4)}, "epochs 3 there, 4 here"),
    ({"plan": small_plan(label_smoothing=0.0)}, "label_smoothing 0.1 there, 0.0 here"),
    ({"seed": 1}, "seed 0 there, 1 here"),
    ({"data": make_data(seed=5)}, "sha256"),
])
def test_pretraining_refuses_a_checkpoint_of_another_run(resumed_runs, change, message):
    _, _, folder = resumed_runs
    arguments = {"data": make_data(), "plan": small_plan(), "seed": 0, **change}
    with pytest.raises(ValueError, match="is of another run") as error:
        pretrain_backbone(arguments.pop("data"), arguments.pop("plan"), checkpoint_dir=folder, progress=False,
                          **arguments)
    assert message in str(error.value) and f"Received: checkpoint_dir='{folder}'" in str(error.value)
