"""benchmarks/notebooks.py: seconds and failures per notebook from pytest's JUnit XML."""

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _benchmark():
    spec = importlib.util.spec_from_file_location("notebooks_benchmark", ROOT / "benchmarks" / "notebooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_cells_are_summed_per_notebook_and_failures_counted(tmp_path):
    report = tmp_path / "junit.xml"
    report.write_text(
        '<testsuites><testsuite name="pytest">'
        '<testcase classname="notebooks.a.ipynb" name="Cell 0" file="notebooks/a.ipynb" time="1.5"/>'
        '<testcase classname="notebooks.a.ipynb" name="Cell 1" file="notebooks/a.ipynb" time="2.0">'
        '<failure message="x">x</failure></testcase>'
        '<testcase classname="notebooks.b.ipynb" name="Cell 0" file="notebooks/b.ipynb" time="0.25"/>'
        '</testsuite></testsuites>')
    seconds, failures = _benchmark().notebook_times(report)
    assert seconds == {"a.ipynb": 3.5, "b.ipynb": 0.25}
    assert failures == {"a.ipynb": 1, "b.ipynb": 0}
