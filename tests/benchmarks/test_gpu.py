"""benchmarks/gpu.py: its summary and table on made-up timings; without a GPU it says so and exits 0."""

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "benchmarks" / "gpu.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("gpu_benchmark", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _measurement(precision, xla, batch_size, rounds, error=None):
    return {"precision": precision, "xla": xla, "batch_size": batch_size, "rounds_images_per_s": rounds,
            "error": error}


def _run(*args):
    """The script in a fresh process that sees no GPU (CUDA_VISIBLE_DEVICES empty)."""
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": "", "TF_CPP_MIN_LOG_LEVEL": "3"}
    return subprocess.run([sys.executable, str(SCRIPT), *map(str, args)], capture_output=True, text=True,
                          cwd=ROOT, env=env, timeout=600)


def test_summary_means_spreads_and_ratios_to_float32_without_xla_at_the_same_batch(bench):
    rows = bench.summarize([
        _measurement("float32", False, 64, [100.0, 110.0, 90.0]),
        _measurement("mixed_float16", True, 64, [300.0, 330.0]),
        _measurement("float32", False, 128, [120.0]),
        _measurement("mixed_float16", False, 128, [], error="out of GPU memory"),
        _measurement("float32", True, 256, [50.0]),  # no float32-without-XLA row at 256
    ])
    assert [r["mean_images_per_s"] for r in rows] == [pytest.approx(100.0), pytest.approx(315.0), 120.0, None, 50.0]
    assert [r["spread"] for r in rows] == [20.0, 30.0, 0.0, None, 0.0]
    assert [r["vs_float32"] for r in rows] == [1.0, pytest.approx(3.15), 1.0, None, None]
    assert rows[1]["rounds_images_per_s"] == [300.0, 330.0] and rows[3]["error"] == "out of GPU memory"

    table = bench.markdown_table(rows).splitlines()
    assert table[0].startswith("| precision | XLA | batch | images/s") and len(table) == 2 + len(rows)
    assert table[3] == "| mixed_float16 | on | 64 | 315 ± 30 | 3.15 |"
    assert table[5] == "| mixed_float16 | off | 128 | out of GPU memory |  |"
    assert table[6] == "| float32 | on | 256 | 50 ± 0 |  |"
    json.dumps(rows)  # JSON-ready


def test_without_a_gpu_it_says_so_and_exits_0(tmp_path):
    result = _run("--json", tmp_path / "gpu.json")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "benchmarks/gpu.py needs a GPU: TensorFlow sees none here, so nothing was " \
        "measured (on Colab: Runtime > Change runtime type > a GPU). --allow-cpu runs it anyway, to check the script."
    report = json.loads((tmp_path / "gpu.json").read_text())
    assert report["measured"] is False and report["machine"]["gpus"] == []


def test_allowed_on_a_cpu_the_measuring_path_runs_on_standin_weights(tmp_path):
    result = _run("--allow-cpu", "--weights", "standin", "--image-size", 32, "--batch-sizes", 2, "--precisions",
                  "mixed_float16", "--xla", "off", "--warmup", 0, "--steps", 1, "--repeats", 2,
                  "--json", tmp_path / "gpu.json")
    assert result.returncode == 0, result.stderr
    assert "weights: stand-ins" in result.stdout and "| mixed_float16 | off | 2 |" in result.stdout
    report = json.loads((tmp_path / "gpu.json").read_text())
    (row,) = report["rows"]
    assert report["measured"] is True and len(row["rounds_images_per_s"]) == 2 and row["error"] is None
    assert row["mean_images_per_s"] > 0 and row["vs_float32"] is None  # no float32 row to compare with
