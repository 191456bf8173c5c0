"""Every lesson on a fresh runtime: an empty data directory, the data fetched through a loopback mirror.

A fresh Colab runtime has no datasets, so each lesson must fetch what it needs
through the kit's verified download. Here each notebook runs top to bottom
(fast profile, from ``notebooks/``) in its own kernel with:

* ``CROSSDOMAIN_DATA_DIR``: a new, empty folder;
* ``CROSSDOMAIN_MIRROR_URL``: a server on 127.0.0.1 serving the files of the
  test data folder (``config.data_dir()`` of the test session: ``../shared/datasets``
  beside the checkout, or the folder ``CROSSDOMAIN_DATA_DIR`` names);
* ``CROSSDOMAIN_REGISTRY``: the packaged MedMNIST registry with the md5s of
  the mirrored files (ours are re-packed copies): verification stays on.

Afterwards the data folder must hold exactly the files the lesson needs, each
requested once from the mirror. Lesson 00 downloads only on Colab, so it runs
twice: as it is (nothing downloaded, it says where to put the files) and as
on Colab (a stand-in ``google.colab`` module, which is what the kit checks).
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import sys
from pathlib import Path

import nbformat
import pytest
from tests._http_server import running_server, serve_folder

from crossdomain_kit import config
from crossdomain_kit.data.medmnist import medmnist_registry

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
MIRRORED = config.data_dir()  # the test session's data folder; conftest.py points it at ../shared/datasets
MEDMNIST = ("pneumoniamnist.npz", "breastmnist.npz")
BOTH, PNEUMONIA = {"breastmnist.npz", "pneumoniamnist.npz"}, {"pneumoniamnist.npz"}

# What each lesson downloads into an empty data folder in the fast profile.
EXPECTED = {
    "00_start_here.ipynb": set(),  # downloads only on Colab; elsewhere it says where to put the files
    "01_joint_empirical_risk.ipynb": set(),
    "02_bce_gradient.ipynb": set(),
    "03_transfer_shifted_domains.ipynb": {"breastmnist.npz"},  # synthetic scanners, then real BreastMNIST
    "04_freezing_hyperparameters_lab.ipynb": BOTH,
    "05_medical_imaging_finetune.ipynb": PNEUMONIA,  # no chest_xray folder: PneumoniaMNIST, 28 px resized to 32
    "06_overfitting_controls.ipynb": PNEUMONIA,
    "07_beyond_fine_tuning.ipynb": BOTH,
    "08_repair_the_articles_code.ipynb": PNEUMONIA,  # no chest_xray folder; packaged Tiny ImageNet weights
}
AS_ON_COLAB = "00_start_here.ipynb as on Colab"
RUNS = {**EXPECTED, AS_ON_COLAB: BOTH}
COLAB_STAND_IN = 'import sys, types\nsys.modules["google.colab"] = types.ModuleType("google.colab")'

pytestmark = pytest.mark.skipif(
    not all((MIRRORED / name).is_file() for name in MEDMNIST),
    reason=f"the mirror serves {' and '.join(MEDMNIST)} from {MIRRORED}, which lacks them "
           f"(set {config.DATA_DIR_ENV} to a folder that holds them)")


def test_every_lesson_is_listed():
    assert sorted(EXPECTED) == sorted(p.name for p in NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))


@pytest.fixture(scope="module")
def mirror(tmp_path_factory):
    """A loopback mirror of the data folder and a registry holding the mirrored files' md5s."""
    registry = medmnist_registry()
    for info in registry["datasets"].values():
        for record in info["files"].values():
            if (MIRRORED / record["file"]).is_file():
                record["md5"] = hashlib.md5((MIRRORED / record["file"]).read_bytes()).hexdigest()
    folder = tmp_path_factory.mktemp("registry")
    (folder / "medmnist.json").write_text(json.dumps(registry, indent=1), encoding="utf-8")
    with running_server() as server:
        yield server, serve_folder(server, MIRRORED), folder


def _kernel_manager():
    """A kernel manager whose ``python3`` kernel is this Python (as nbval's --nbval-current-env)."""
    from jupyter_client.kernelspec import KernelSpec, KernelSpecManager
    from jupyter_client.manager import AsyncKernelManager

    class ThisPython(KernelSpecManager):
        def get_kernel_spec(self, kernel_name):
            return KernelSpec(argv=[sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                              display_name="this Python", language="python")

    return AsyncKernelManager(kernel_name="python3", kernel_spec_manager=ThisPython())


@pytest.mark.parametrize("run", list(RUNS))
def test_the_lesson_runs_on_a_fresh_runtime_and_fetches_its_data_through_the_mirror(mirror, tmp_path, run):
    from nbclient import NotebookClient

    server, mirror_url, registry = mirror
    data_dir = tmp_path / "datasets"
    data_dir.mkdir()
    notebook = nbformat.read(NOTEBOOKS / run.split(" ")[0], as_version=4)
    if run == AS_ON_COLAB:
        notebook = copy.deepcopy(notebook)
        notebook.cells.insert(0, nbformat.v4.new_code_cell(COLAB_STAND_IN))
    env = {**os.environ, config.FAST_ENV: "1", config.DATA_DIR_ENV: str(data_dir),
           config.MIRROR_URL_ENV: mirror_url, config.REGISTRY_ENV: str(registry), "MPLBACKEND": "Agg"}
    server.hits.clear()
    client = NotebookClient(notebook, km=_kernel_manager(), timeout=600,
                            resources={"metadata": {"path": str(NOTEBOOKS)}})
    client.execute(env=env)  # raises CellExecutionError, with the cell and its traceback, on any error

    downloaded = {path.name for path in data_dir.iterdir()}
    assert downloaded == RUNS[run]  # every file the lesson needs, no temporary or partial file
    assert dict(server.hits) == {f"/mirror/{name}": 1 for name in RUNS[run]}
