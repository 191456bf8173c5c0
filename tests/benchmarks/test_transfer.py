"""benchmarks/transfer.py: the summary and goal checks, and a fast-profile smoke run as a subprocess."""

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from crossdomain_kit import config

ROOT = Path(__file__).resolve().parents[2]
DATA = [config.data_dir() / f"{name}.npz" for name in ("pneumoniamnist", "breastmnist")]


def _benchmark():
    spec = importlib.util.spec_from_file_location("transfer_benchmark", ROOT / "benchmarks" / "transfer.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_summary_means_spreads_and_margin():
    summary = _benchmark().summarize([0.93, 0.95, 0.94], [0.85, 0.88, 0.86])
    assert summary["mean_transfer_auc"] == pytest.approx(0.94)
    assert summary["transfer_spread"] == pytest.approx(0.02)
    assert summary["scratch_spread"] == pytest.approx(0.03)
    assert summary["margin"] == pytest.approx(0.94 - 0.8633333)
    assert "goals_met" not in summary


@pytest.mark.skipif(not all(p.is_file() for p in DATA), reason=f"{DATA} are not there")
def test_fast_run_prints_the_table_and_writes_the_json(tmp_path):
    out = tmp_path / "transfer.json"
    env = {**os.environ, "CROSSDOMAIN_FAST": "1"}
    run = subprocess.run([sys.executable, "benchmarks/transfer.py", "--seeds", "0", "--json", str(out)],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "No goals here" in run.stdout and "| spread (max − min) |" in run.stdout and "| MedMNIST v2: ResNet-18 (28), from scratch | | 0.901 |" in run.stdout
    result = json.loads(out.read_text())
    assert result["profile"] == "fast" and result["seeds"] == [0]
    assert len(result["transfer_auc"]) == 1 and len(result["scratch_auc"]) == 1
    assert all(0 <= a <= 1 for a in result["transfer_auc"] + result["scratch_auc"])
    assert result["runs"][0]["transfer_epochs"] == result["runs"][0]["scratch_epochs"]
