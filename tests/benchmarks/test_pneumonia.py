"""benchmarks/pneumonia.py in the fast profile: a smoke test of the script, as a subprocess."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from crossdomain_kit import config

ROOT = Path(__file__).resolve().parents[2]
DATA = config.data_dir() / "pneumoniamnist.npz"


@pytest.mark.skipif(not DATA.is_file(), reason=f"{DATA} is not there")
def test_fast_run_prints_the_table_and_writes_the_json(tmp_path):
    out = tmp_path / "pneumonia.json"
    env = {**os.environ, "CROSSDOMAIN_FAST": "1"}
    run = subprocess.run([sys.executable, "benchmarks/pneumonia.py", "--json", str(out)], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "| kit: train_small_cnn (this run) |" in run.stdout
    assert "| MedMNIST v2: Google AutoML Vision | 0.991 | 0.946 |" in run.stdout
    assert "Goals: test AUC >= 0.975" in run.stdout
    result = json.loads(out.read_text())
    assert result["profile"] == "fast"
    for key in ("test_auc", "test_acc", "train_seconds", "cpu_seconds", "threshold"):
        assert isinstance(result[key], float), key
    assert 0 <= result["test_auc"] <= 1 and 0 <= result["test_acc"] <= 1 and result["train_seconds"] > 0
    assert set(result["goals_met"]) == {"test_auc", "test_acc", "train_seconds"}
