"""Pretraining runs shared by the tests of workflows.pretraining, its checkpoints and its result.

Each is trained once for the whole package of tests (a few seconds each).
"""

import pytest

from crossdomain_kit.workflows.pretraining import pretrain_backbone
from tests.workflows._pretraining_data import InterruptAt, make_data, small_plan


@pytest.fixture(scope="package")
def pretraining_data():
    return make_data()


@pytest.fixture(scope="package")
def uninterrupted_run(pretraining_data):
    return pretrain_backbone(pretraining_data, small_plan(), seed=0, progress=False)


@pytest.fixture(scope="package")
def resumed_runs(pretraining_data, tmp_path_factory):
    """2 epochs, Ctrl-C at the start of the third, then the same call again: (first, second, folder)."""
    folder = tmp_path_factory.mktemp("pretraining") / "checkpoint"
    first = pretrain_backbone(pretraining_data, small_plan(), seed=0, checkpoint_dir=folder,
                              callbacks=[InterruptAt(2)], progress=False)
    second = pretrain_backbone(pretraining_data, small_plan(), seed=0, checkpoint_dir=folder, progress=False)
    return first, second, folder
