"""The demo's data (crossdomain_kit.workflows.demo)."""

from pathlib import Path

import pytest

from crossdomain_kit import config
from crossdomain_kit.workflows.demo import demo_domains

SHARED = Path(__file__).resolve().parents[3] / "shared" / "datasets"


@pytest.mark.skipif(not (SHARED / "breastmnist.npz").is_file(), reason=f"real data not at {SHARED}")
def test_the_real_pair_when_both_files_are_there():
    demo = demo_domains(SHARED, seed=0)
    assert (demo.source.name, demo.target.name) == ("pneumoniamnist", "breastmnist")
    assert len(demo.source.train) == config.pick(default=4708, fast=600) and "Real data" in demo.note


def test_the_synthetic_pair_says_which_files_are_missing(tmp_path):
    demo = demo_domains(tmp_path, seed=0)
    assert "pneumoniamnist and breastmnist not found" in demo.note and "crossdomain-kit fetch" in demo.note
    assert demo.target.test is not None and len(demo.source.train) == config.pick(default=2000, fast=300)


def test_synthetic_on_request_even_with_the_files(tmp_path):
    assert "--synthetic was given" in demo_domains(tmp_path, synthetic=True).note
