"""The headless panel tests again, under ipywidgets 7.7.1 (what Colab ships).

ipywidgets 7.7.1, with the widgetsnbextension and jupyterlab_widgets released
with it, is installed once from PyPI into ``build/ipywidgets-7.7.1`` (ignored
by git; reused by later runs) and put first on ``PYTHONPATH`` of a pytest
subprocess that runs every other ``tests/panels/test_*.py`` (the browser test aside). ``--no-deps``:
everything else (ipykernel, traitlets, IPython) comes from this environment,
as on Colab, and widgetsnbextension's dependency on the classic Notebook
server is not needed headless.

Without PyPI the test fails with a message saying so when the environment
variable ``CI`` is set, and is skipped (saying why) when it is not.
"""

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

VERSION = "7.7.1"
PINS = (f"ipywidgets=={VERSION}", "widgetsnbextension==3.6.1", "jupyterlab_widgets==1.1.1",
        "ipython_genutils==0.2.0")
ROOT = Path(__file__).resolve().parents[2]
CACHE = ROOT / "build" / f"ipywidgets-{VERSION}"
TIMEOUT_S = 900
COMM_DEPRECATION = "The `ipykernel.comm.Comm` class has been deprecated"  # ipywidgets 7 on ipykernel >= 6.18


def _no_pypi(why: str):
    message = (f"Could not install ipywidgets {VERSION} from PyPI for the ipywidgets-7.7 panel tests: "
               f"{why}. Give this machine access to PyPI (or a mirror pip is configured for), or "
               f"put the packages {', '.join(PINS)} into {CACHE} yourself "
               f"(pip install --no-deps --target {CACHE} {' '.join(PINS)}).")
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message + " Skipped because the CI environment variable is unset; in CI this fails.")


def _ipywidgets77() -> Path:
    """The cached target folder, installed on first use (atomically: a failed install leaves nothing)."""
    if (CACHE / "ipywidgets" / "__init__.py").is_file():
        return CACHE
    CACHE.parent.mkdir(parents=True, exist_ok=True)
    partial = Path(tempfile.mkdtemp(prefix=f".{CACHE.name}-", dir=CACHE.parent))
    try:
        try:
            done = subprocess.run(
                [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                 "--no-deps", "--no-input", "--target", str(partial), *PINS],
                capture_output=True, text=True, timeout=300)
        except subprocess.TimeoutExpired:
            _no_pypi("pip did not finish within 300 s")
        if done.returncode != 0:
            _no_pypi(f"pip exited with {done.returncode}: {done.stderr.strip()[-800:]}")
        try:
            partial.rename(CACHE)
        except OSError:  # another run got there first
            if not (CACHE / "ipywidgets" / "__init__.py").is_file():
                raise
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    return CACHE


def test_panel_tests_pass_under_ipywidgets_7_7():
    target = _ipywidgets77()
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(target)] + ([os.environ["PYTHONPATH"]] if os.environ.get("PYTHONPATH") else [])))
    version = subprocess.run([sys.executable, "-c", "import ipywidgets; print(ipywidgets.__version__)"],
                             env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert version.stdout.strip() == VERSION, version.stdout + version.stderr

    here = Path(__file__).name
    files = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "tests" / "panels").glob("test_*.py")
                   if p.name not in (here, "test_browser.py"))
    assert files, "no panel tests found"
    run = subprocess.run(
        [sys.executable, "-m", "pytest", *files, "-q", "-p", "no:nbval", "-p", "no:cacheprovider",
         "-o", "addopts=", "-W", f"ignore:{COMM_DEPRECATION}:DeprecationWarning"],
        env=env, cwd=ROOT, capture_output=True, text=True, timeout=TIMEOUT_S)
    assert run.returncode == 0, (f"panel tests failed under ipywidgets {VERSION}:\n"
                                 f"{run.stdout[-6000:]}\n{run.stderr[-2000:]}")
