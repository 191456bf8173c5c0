"""The panels in a real browser: JupyterLab driven by Debian's headless Chromium through Playwright.

The test starts JupyterLab on 127.0.0.1 (no token, a temporary root folder
and temporary Jupyter settings), opens a notebook that builds the freezing
panel, the hyperparameter panel, the training dashboard and the shift
explorer, runs all cells, ticks a block's freeze checkbox, presses Train,
checks that the live curves appear while training runs, presses Stop (the
kernel must take the click while ``fit`` runs), and checks that the run's
row appears in the results table, marked as stopped. A screenshot is saved
in ``artifacts/browser/`` (also on failure), and the server is always shut
down with its kernels.

Needs the ``jupyterlab`` and ``playwright`` Python packages and Chromium
from the system (``apt-get install chromium``); Playwright's own browser
download is never used. A missing piece fails the test with the command
that installs it.
"""

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "artifacts" / "browser"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]
SERVER_START_S = 60
KERNEL_READY_MS = 60_000
PANELS_MS = 90_000
TRAINING_MS = 90_000

SETUP = """\
from crossdomain_kit.models.classifier import build_classifier
from crossdomain_kit.panels.dashboard import training_dashboard
from crossdomain_kit.panels.freezing import freezing_panel
from crossdomain_kit.panels.hyperparameters import Hyperparameters, hyperparameter_panel
from crossdomain_kit.data.synthetic import make_synthetic_domain
import ipywidgets as widgets

domain = make_synthetic_domain(0.0, n_train=48, n_val=32, n_test=32, image_size=16, seed=0)
model = build_classifier("small_cnn", (16, 16, 1), seed=0)
freezing = freezing_panel(model)
hyper = hyperparameter_panel(Hyperparameters(epochs=500, patience=500, batch_size=16),
                             n_train=len(domain.train))
dashboard = training_dashboard(domain, freezing, hyper)
widgets.VBox([freezing, hyper, dashboard])
"""

EXPLORER = """\
from crossdomain_kit.panels.shift_explorer import shift_explorer

explorer = shift_explorer(image_size=16, n_samples=4)
explorer.samples.add_class("cdk-samples")
explorer
"""


def _chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        pytest.fail("Chromium is not installed. Install Debian's package: "
                    "`apt-get update && apt-get install -y chromium` "
                    "(the test never downloads Playwright's own browser).")
    return path


def _require(module: str, package: str):
    try:
        __import__(module)
    except ImportError:
        pytest.fail(f"The browser test needs the `{package}` package: `pip install {package}` "
                    "(part of the test extra).")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _notebook(path: Path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(SETUP), nbformat.v4.new_code_cell(EXPLORER)]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)


def _lab_command(root: Path, port: int) -> list[str]:
    return [sys.executable, "-m", "jupyterlab", "--no-browser", "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.port={port}", "--ServerApp.port_retries=0", "--IdentityProvider.token=",
            "--ServerApp.password=", "--ServerApp.disable_check_xsrf=True", f"--ServerApp.root_dir={root}",
            "--ServerApp.allow_root=True", "--ServerApp.terminals_enabled=False",
            "--LabApp.expose_app_in_browser=True", "--LabApp.news_url=None",
            "--LabApp.extension_manager=readonly",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]


def _lab_environment(settings: Path) -> dict:
    """Jupyter settings of its own, so a user's settings and workspaces play no part."""
    news = settings / "lab-settings" / "@jupyterlab" / "apputils-extension"
    news.mkdir(parents=True)
    (news / "notification.jupyterlab-settings").write_text('{"fetchNews": "false"}')  # no news toast
    return dict(os.environ, JUPYTER_CONFIG_DIR=str(settings / "config"),
                JUPYTER_RUNTIME_DIR=str(settings / "runtime"),
                JUPYTERLAB_SETTINGS_DIR=str(settings / "lab-settings"),
                JUPYTERLAB_WORKSPACES_DIR=str(settings / "workspaces"))


def _wait_until_serving(server, url: str):
    deadline = time.monotonic() + SERVER_START_S
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise AssertionError(f"JupyterLab exited with {server.returncode} before serving")
        try:
            with urllib.request.urlopen(f"{url}/api/status", timeout=2) as reply:
                if reply.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise AssertionError(f"JupyterLab did not serve {url} within {SERVER_START_S} s")


def _stop(server, url: str):
    """Shut the server down with its kernels; kill its process group if it does not go."""
    if server.poll() is None:
        try:
            urllib.request.urlopen(urllib.request.Request(f"{url}/api/shutdown", method="POST"), timeout=10)
        except OSError:
            pass
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGTERM)
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait()


@contextmanager
def _jupyterlab(tmp_path: Path):
    """A JupyterLab serving tmp_path/root; yields its URL; always shut down (log printed on failure)."""
    root = tmp_path / "root"
    root.mkdir()
    _notebook(root / "panels.ipynb")
    url = f"http://127.0.0.1:{(port := _free_port())}"
    log_path = tmp_path / "jupyterlab.log"
    with open(log_path, "wb") as log:
        server = subprocess.Popen(_lab_command(root, port), env=_lab_environment(tmp_path / "jupyter"),
                                  stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            _wait_until_serving(server, url)
            yield url
        except BaseException:
            log.flush()
            print("JupyterLab log (tail):\n" + log_path.read_text(errors="replace")[-4000:])
            raise
        finally:
            _stop(server, url)


def _open_and_run_all(page, url: str):
    page.goto(f"{url}/lab/tree/panels.ipynb")
    page.wait_for_function("window.jupyterapp && window.jupyterapp.shell.currentWidget "
                           "&& window.jupyterapp.shell.currentWidget.sessionContext", timeout=KERNEL_READY_MS)
    page.evaluate("""async () => {
        const panel = window.jupyterapp.shell.currentWidget;
        await panel.sessionContext.ready;
        await panel.context.ready;
        window.jupyterapp.shell.collapseLeft();
        await window.jupyterapp.commands.execute('notebook:run-all-cells');
    }""")


def _tick_train_and_stop(page, expect):
    block = page.locator(".cdk-freeze-block3 input[type=checkbox]")
    expect(block).to_be_visible(timeout=PANELS_MS)
    expect(block).not_to_be_checked()
    block.check()
    expect(page.locator(".cdk-freeze-block4 input[type=checkbox]")).to_be_checked(timeout=30_000)
    expect(page.get_by_text("head + block3-block4").first).to_be_visible(timeout=30_000)
    expect(page.locator(".cdk-samples img")).to_be_visible(timeout=PANELS_MS)

    page.locator("button.cdk-train").click()
    expect(page.locator(".cdk-curves img")).to_be_visible(timeout=TRAINING_MS)
    rows = page.locator(".cdk-results tbody tr")
    assert rows.count() == 0  # 500 epochs: still training, so the curves are live
    page.locator("button.cdk-stop").click()  # the kernel must take it while fit runs
    expect(rows).to_have_count(1, timeout=TRAINING_MS)
    cells = rows.locator("td").all_inner_texts()
    assert cells[:2] == ["1", "head + block3-block4"] and cells[14] == "yes", cells  # run 1, stopped
    expect(page.locator(".cdk-message")).to_contain_text("Run 1 stopped by you:")


def test_panels_train_and_stop_in_jupyterlab(tmp_path):
    chromium = _chromium()
    _require("jupyterlab", "jupyterlab")
    _require("playwright", "playwright")
    from playwright.sync_api import expect, sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for old in ARTIFACTS.glob("*.png"):
        old.unlink()
    with _jupyterlab(tmp_path) as url, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1500, "height": 2000})
        try:
            _open_and_run_all(page, url)
            _tick_train_and_stop(page, expect)
            page.locator(".cdk-results").scroll_into_view_if_needed()
            page.screenshot(path=str(ARTIFACTS / "panels.png"))
        except BaseException:
            page.screenshot(path=str(ARTIFACTS / "failure.png"))
            raise
        finally:
            browser.close()
