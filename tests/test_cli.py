"""End-to-end tests of the ``crossdomain-kit`` command line (fast profile), in-process via main(argv)."""

import contextlib
import csv
import hashlib
import io
import json
import subprocess
import os
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
from tests._http_server import http_server, send_body  # noqa: F401  (fixture)
from PIL import Image

from crossdomain_kit import config
from crossdomain_kit.data import medmnist, tinyimagenet
from crossdomain_kit.cli import main

SHARED = config.data_dir()
REAL = all((SHARED / f"{name}.npz").is_file() for name in ("pneumoniamnist", "breastmnist"))
needs_real = pytest.mark.skipif(not REAL, reason=f"PneumoniaMNIST/BreastMNIST are not in {SHARED}")
REQUIRED = ("test_auc", "test_acc", "sensitivity", "specificity", "threshold")
PLOTS = ("learning_curves.png", "roc.png", "confusion_matrix.png", "reliability.png")


def run(*argv):
    """(exit code, stdout, stderr) of ``crossdomain-kit argv`` run in this process."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(a) for a in argv])
    return code, out.getvalue(), err.getvalue()


def metrics_of(folder: Path) -> dict:
    return json.loads((folder / "metrics.json").read_text())


def assert_report(folder: Path, plots=PLOTS, before=False):
    metrics = metrics_of(folder)
    assert all(isinstance(metrics[key], float) for key in REQUIRED), metrics
    assert 0 <= metrics["test_auc"] <= 1 and 0 <= metrics["threshold"] <= 1
    assert ("before" in metrics) == before
    if before:
        assert all(isinstance(metrics["before"][key], float) for key in REQUIRED)
    for name in plots:
        assert (folder / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert f"]({name})" in (folder / "report.md").read_text()
    assert not [p for p in folder.parent.iterdir() if p.name.startswith(".")]  # no staging left
    return metrics


# --- help and the entry point ------------------------------------------------------------------

def test_help_has_an_example_for_every_command_and_imports_no_tensorflow():
    code = ("import sys, contextlib, io\nfrom crossdomain_kit.cli import main\nout = io.StringIO()\n"
            "with contextlib.redirect_stdout(out):\n"
            "    codes = [main([*c, '--help']) for c in ([], ['demo'], ['finetune'], ['evaluate'], "
            "['predict'], ['fetch'])]\n"
            "print(out.getvalue().count('example:\\n  crossdomain-kit '), codes, "
            "'tensorflow' in sys.modules, 'matplotlib' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.splitlines()[-1] == "6 [0, 0, 0, 0, 0, 0] False False"


def test_python_dash_m_runs_the_command_line():
    result = subprocess.run([sys.executable, "-m", "crossdomain_kit", "--version"], capture_output=True,
                            text=True)
    assert result.returncode == 0 and result.stdout.startswith("crossdomain-kit ")
    result = subprocess.run([sys.executable, "-m", "crossdomain_kit"], capture_output=True, text=True)
    assert result.returncode == 2 and "choose a command" in result.stderr


def test_the_console_script_when_installed():
    script = Path(sys.executable).with_name("crossdomain-kit")
    if not script.exists():
        pytest.skip("the crossdomain-kit script is not installed (pip install -e . after adding "
                    "[project.scripts] to pyproject.toml)")
    result = subprocess.run([str(script), "predict", "--help"], capture_output=True, text=True)
    assert result.returncode == 0 and "example:" in result.stdout


# --- demo --------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    if not REAL:
        pytest.skip(f"PneumoniaMNIST/BreastMNIST are not in {SHARED}")
    folder = tmp_path_factory.mktemp("demo") / "report"
    return folder, run("demo", "--out", folder)


def test_demo_on_pneumoniamnist_to_breastmnist(demo):
    folder, (code, out, err) = demo
    assert code == 0, err
    assert "Real data: PneumoniaMNIST" in out and "BreastMNIST" in out
    assert "source model  fine-tuned  change" in out and out.count("\n") > 12
    metrics = assert_report(folder, before=True)
    assert metrics["class_names"] == ["normal or benign", "malignant"]
    assert [row["metric"] for row in metrics["before_after"]][:2] == ["auc", "accuracy"]
    assert set(metrics["training"]) == {"pretraining on pneumoniamnist", "fine-tuning on breastmnist",
                                        "Tiny ImageNet start, fine-tuning on breastmnist"}
    assert "pneumoniamnist start  Tiny ImageNet start  change" in out  # the general backbone, fine-tuned alike
    general = metrics["settings"]["general_start"]
    assert 0 <= general["auc"] <= 1 and f"the same fine-tuning reached test AUC {general['auc']:.3f}" in (
        folder / "report.md").read_text()
    assert (folder / "model.keras").stat().st_size > 0
    assert "epoch 1" in err  # progress bars on stderr


def test_demo_falls_back_to_synthetic_domains_and_says_why(tmp_path):
    code, out, err = run("demo", "--out", tmp_path / "report", "--data-dir", tmp_path / "empty")
    assert code == 0, err
    assert "Synthetic data" in out and "crossdomain-kit fetch pneumoniamnist" in out
    assert_report(tmp_path / "report", before=True)


# --- finetune, evaluate and predict on an image folder the kit has never seen -------------------

@pytest.fixture(scope="module")
def scans(tmp_path_factory):
    """train/{healthy,sick}/ only (no val/, no test/), mixed modes, sizes and formats, a stray file."""
    root = tmp_path_factory.mktemp("scans")
    rng = np.random.default_rng(0)
    modes = ("L", "RGB", "RGBA", "P")
    for label, name in enumerate(("healthy", "sick")):
        folder = root / "train" / name
        folder.mkdir(parents=True)
        for i in range(36):
            size = 24 + (i % 4) * 6
            pixels = rng.normal(90, 25, (size, size + i % 3, 3))
            if label:
                pixels[size // 3: 2 * size // 3, size // 3: 2 * size // 3] += 110
            image = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).convert(modes[i % 4])
            image.save(folder / f"scan{i:02d}.{'jpg' if i % 5 == 0 and modes[i % 4] in 'LRGB' else 'png'}")
    (root / "train" / "notes.txt").write_text("not an image")
    return root


@pytest.fixture(scope="module")
def finetuned(scans, tmp_path_factory):
    folder = tmp_path_factory.mktemp("finetune") / "run"
    return folder, run("finetune", "--data", scans, "--out", folder)


def test_finetune_with_defaults_on_an_unseen_folder(finetuned):
    folder, (code, out, err) = finetuned
    assert code == 0, err
    assert "healthy vs sick (positive)" in out and "val and test carved out of train by image" in out
    assert "Model: small_cnn at 30 px, random start" in out
    metrics = assert_report(folder)
    assert metrics["data"]["carved_from_train"] == ["val", "test"]
    assert metrics["settings"]["epochs"] == 2 and metrics["settings"]["profile"] == "fast"
    assert sum(s["n"] for s in metrics["data"]["splits"].values()) == 72
    assert (folder / "model.keras").is_file()


def test_finetune_from_the_shipped_tiny_imagenet_backbone_by_name(scans, tmp_path):
    code, out, err = run("finetune", "--data", scans, "--out", tmp_path / "run", "--weights", "tinyimagenet",
                         "--epochs", "2")
    assert code == 0, err
    assert "Model: small_cnn at 32 px, Tiny ImageNet (grey, 32 px) weights." in out
    metrics = assert_report(tmp_path / "run")
    assert '"weights": "tinyimagenet"' in json.dumps(metrics) and '"pretrained": true' in json.dumps(metrics)


def test_evaluate_reproduces_the_finetune_test_split(finetuned, scans, tmp_path):
    folder, _ = finetuned
    code, out, err = run("evaluate", folder / "model.keras", "--data", scans, "--out", tmp_path / "eval")
    assert code == 0, err
    assert "Threshold" in out and "test 95% CI" in out
    metrics = assert_report(tmp_path / "eval", plots=PLOTS[1:])
    assert metrics["test_auc"] == pytest.approx(metrics_of(folder)["test_auc"])
    assert metrics["test"]["n"] == metrics_of(folder)["test"]["n"]


def test_finetune_and_evaluate_a_folder_of_class_folders_and_record_the_split(scans, tmp_path):
    flat = tmp_path / "flat"
    shutil.copytree(scans / "train", flat)  # healthy/, sick/ and a stray notes.txt: no train/ folder
    code, out, err = run("finetune", "--data", flat, "--out", tmp_path / "run", "--epochs", "1")
    assert code == 0, err
    assert f"Data: {flat} (image folder, one folder per class): healthy vs sick (positive)" in out
    assert "val and test carved out of the class folders by image" in out and "splits.csv" in out
    metrics = assert_report(tmp_path / "run")
    assert metrics["data"]["layout"] == "class folders" and metrics["data"]["carved_from_train"] == ["val", "test"]
    with open(tmp_path / "run" / "splits.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert {name: sum(r["split"] == name for r in rows) for name in ("train", "val", "test")} == {
        name: split["n"] for name, split in metrics["data"]["splits"].items()}
    assert sorted(flat / r["file"] for r in rows) == sorted(p for p in flat.rglob("*") if p.suffix in (".png", ".jpg"))
    assert "splits.csv" in (tmp_path / "run" / "report.md").read_text()

    code, out, err = run("evaluate", tmp_path / "run" / "model.keras", "--data", flat, "--out", tmp_path / "eval")
    assert code == 0, err
    assert (tmp_path / "eval" / "splits.csv").read_text() == (tmp_path / "run" / "splits.csv").read_text()
    assert metrics_of(tmp_path / "eval")["test_auc"] == pytest.approx(metrics["test_auc"])


def test_a_report_never_replaces_the_folder_of_its_own_model(finetuned, scans):
    folder, _ = finetuned
    code, _, err = run("evaluate", folder / "model.keras", "--data", scans, "--out", folder)
    assert code == 1 and "which this run reads" in err and (folder / "model.keras").is_file()


def test_predict_prints_probability_and_label_per_file(finetuned, scans):
    folder, _ = finetuned
    files = sorted((scans / "train" / "sick").iterdir())[:5]
    code, out, err = run("predict", folder / "model.keras", scans / "train" / "healthy", *files)
    assert code == 0, err
    header, *rows = out.splitlines()
    assert header == "file\tprobability\tlabel" and len(rows) == 36 + 5
    for row in rows:
        file, p, label = row.split("\t")
        assert Path(file).is_file() and 0 <= float(p) <= 1 and label in ("healthy", "sick")
    assert "from " in err and "metrics.json" in err  # threshold read beside the model
    code, out, _ = run("predict", folder / "model.keras", files[0], "--threshold", "0")
    assert code == 0 and out.splitlines()[1].endswith("\tsick")


def test_predict_quotes_file_names_that_hold_a_tab_newline_or_quote(finetuned, scans, tmp_path):
    folder, _ = finetuned
    source = sorted((scans / "train" / "sick").glob("*.png"))[0]
    odd = [tmp_path / name for name in ("a\tb.png", "two\nlines.png", 'say "hi".png', "plain.png")]
    for path in odd:
        shutil.copy(source, path)
    code, out, err = run("predict", folder / "model.keras", *odd)
    assert code == 0, err
    rows = list(csv.reader(io.StringIO(out), delimiter="\t"))
    assert rows[0] == ["file", "probability", "label"]
    assert sorted(row[0] for row in rows[1:]) == sorted(map(str, odd))
    assert len({row[1] for row in rows[1:]}) == 1  # the same image under four names


# --- finetune on a real MedMNIST file, from a source model ----------------------------------------

def test_finetune_a_source_model_on_a_real_npz_reports_before_and_after(demo, tmp_path):
    report, _ = demo
    code, out, err = run("finetune", "--data", SHARED / "breastmnist.npz", "--source",
                         report / "model.keras", "--out", tmp_path / "run", "--epochs", "2")
    assert code == 0, err
    assert "MedMNIST .npz (breastmnist, 28 px)" in out and "fine-tuned in two phases" in out
    assert "source model  fine-tuned" in out
    metrics = assert_report(tmp_path / "run", before=True)
    assert metrics["test"]["n"] == 156 and metrics["data"]["carved_from_train"] == []


def test_evaluate_and_predict_with_the_demo_model_on_real_files(demo, tmp_path):
    report, _ = demo
    code, out, err = run("evaluate", report / "model.keras", "--data", SHARED / "breastmnist.npz",
                         "--out", tmp_path / "eval")
    assert code == 0, err
    metrics = assert_report(tmp_path / "eval", plots=PLOTS[1:])
    assert metrics["test_auc"] == pytest.approx(metrics_of(report)["test_auc"])  # the saved model
    xrays = sorted((SHARED / "chest_xray" / "test" / "NORMAL").glob("*.jpeg"))[:3]
    if not xrays:
        pytest.skip(f"no chest X-ray JPEGs in {SHARED}")
    code, out, err = run("predict", report / "model.keras", *xrays)
    assert code == 0, err
    rows = [row.split("\t") for row in out.splitlines()[1:]]
    assert [Path(r[0]) for r in rows] == xrays
    assert all(r[2] in ("normal or benign", "malignant") for r in rows)


def test_finetune_carves_val_and_test_out_of_a_train_only_npz(tmp_path):
    rng = np.random.default_rng(1)
    labels = np.arange(120) % 2
    images = (rng.integers(0, 120, (120, 16, 16)) + 100 * labels[:, None, None]).astype(np.uint8)
    np.savez(tmp_path / "mine.npz", train_images=images, train_labels=labels)
    code, out, err = run("finetune", "--data", tmp_path / "mine.npz", "--out", tmp_path / "run",
                         "--epochs", "1")
    assert code == 0, err
    metrics = assert_report(tmp_path / "run")
    assert metrics["data"]["carved_from_train"] == ["val", "test"]
    assert metrics["class_names"] == ["class 0", "class 1"]


# --- fetch ---------------------------------------------------------------------------------------

def _tiny_breastmnist() -> bytes:
    buffer = io.BytesIO()
    arrays = {}
    for split, n in (("train", 6), ("val", 4), ("test", 4)):
        arrays[f"{split}_images"] = np.zeros((n, 28, 28), np.uint8)
        arrays[f"{split}_labels"] = (np.arange(n) % 2).reshape(n, 1).astype(np.uint8)
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def _registry_pointing_at(url: str, md5: str):
    registry = medmnist.medmnist_registry()
    registry["datasets"]["breastmnist"]["files"]["28"].update(url=url, md5=md5)
    return lambda: registry


def test_fetch_downloads_verifies_and_reports(http_server, tmp_path, monkeypatch):  # noqa: F811
    body = _tiny_breastmnist()
    url = http_server.route("/breastmnist.npz", lambda h, hit: send_body(h, body))
    registry = _registry_pointing_at(url, hashlib.md5(body).hexdigest())
    monkeypatch.setattr(medmnist, "medmnist_registry", registry)
    code, out, err = run("fetch", "breastmnist", "--data-dir", tmp_path)
    assert code == 0, err
    assert "BreastMNIST at 28 px is ready" in out and "train 6, val 4, test 4" in out
    assert (tmp_path / "breastmnist.npz").read_bytes() == body


def test_fetch_failure_is_one_line_and_leaves_nothing(http_server, tmp_path, monkeypatch):  # noqa: F811
    url = http_server.url("/missing.npz")  # no route: HTTP 404
    monkeypatch.setattr(medmnist, "medmnist_registry", _registry_pointing_at(url, "0" * 32))
    code, out, err = run("fetch", "breastmnist", "--data-dir", tmp_path)
    assert code == 1 and out == ""
    assert err.count("\n") == 1 and err.startswith("crossdomain-kit: error: ") and "HTTP 404" in err
    assert list(tmp_path.iterdir()) == []


def test_fetch_force_repairs_a_corrupt_file_that_plain_fetch_refuses(http_server, tmp_path, monkeypatch):  # noqa: F811
    body = _tiny_breastmnist()
    url = http_server.route("/breastmnist.npz", lambda h, hit: send_body(h, body))
    monkeypatch.setattr(medmnist, "medmnist_registry", _registry_pointing_at(url, hashlib.md5(body).hexdigest()))
    (tmp_path / "breastmnist.npz").write_bytes(body[:300])  # an interrupted copy
    code, out, err = run("fetch", "breastmnist", "--data-dir", tmp_path)
    assert code == 1 and err.count("\n") == 1 and "run `crossdomain-kit fetch breastmnist --force`" in err
    assert http_server.hits["/breastmnist.npz"] == 0
    code, out, err = run("fetch", "breastmnist", "--data-dir", tmp_path, "--force", "--timeout", "5")
    assert code == 0, err
    assert (tmp_path / "breastmnist.npz").read_bytes() == body and "train 6, val 4, test 4" in out


def test_fetch_offline_leaves_no_folder_behind(tmp_path, monkeypatch):
    from tests._http_server import unreachable_url

    monkeypatch.setattr(medmnist, "medmnist_registry", _registry_pointing_at(unreachable_url(), "0" * 32))
    code, out, err = run("fetch", "breastmnist", "--data-dir", tmp_path / "new" / "data", "--timeout", "0.5")
    assert code == 1 and "network error" in err and "--timeout on the command line" in err
    assert list(tmp_path.iterdir()) == []


def test_fetch_tinyimagenet_downloads_converts_and_reports(http_server, tmp_path, monkeypatch):  # noqa: F811
    from tests.data.test_tinyimagenet import _zip_bytes  # a 3-class release in the official layout

    body = _zip_bytes()
    info = tinyimagenet.tinyimagenet_info()
    info["official"].update(url=http_server.route("/tiny.zip", lambda h, hit: send_body(h, body)),
                            md5=hashlib.md5(body).hexdigest())
    monkeypatch.setattr(tinyimagenet, "tinyimagenet_info", lambda: info)
    code, out, err = run("fetch", "tinyimagenet", "--data-dir", tmp_path)
    assert code == 0, err
    assert f"Ready in {tmp_path}: tinyimagenet: 3 classes, 12 train and 3 val images of 32x32x1" in out
    assert "non-commercial" in out and [p.name for p in tmp_path.iterdir()] == ["tinyimagenet_grey32.npz"]
    code, out, err = run("fetch", "tinyimagenet", "--size", "64", "--data-dir", tmp_path)
    assert code == 2 and out == "" and "--size is for MedMNIST: tinyimagenet comes at 32 px only" in err


# --- bad input: exit code and one clear line ---------------------------------------------------

@pytest.fixture(scope="module")
def bad_inputs(tmp_path_factory):
    root = tmp_path_factory.mktemp("bad")
    (root / "one" / "train" / "only").mkdir(parents=True)
    Image.new("L", (16, 16)).save(root / "one" / "train" / "only" / "a.png")
    for folder in ("one_top/only", "no_train/test/a", "no_train/test/b", "tiny/a", "tiny/b"):  # class-folder cases
        (root / folder).mkdir(parents=True)
        Image.new("L", (16, 16), sum(map(ord, folder)) % 256).save(root / folder / "a.png")
    (root / "broken.keras").write_bytes(b"this is not a zip file")
    (root / "broken.npz").write_bytes(b"PK\x03\x04 truncated")
    (root / "mine").mkdir()
    (root / "mine" / "thesis.txt").write_text("precious")
    for split in ("train", "test"):  # this split holds class 0 only, the others both classes
        np.savez(root / f"one_{split}.npz", **{f"{name}_{kind}": value for name, n in (("train", 40), ("val", 20),
                                                                                      ("test", 20))
                                               for kind, value in (("images", np.zeros((n, 8, 8), np.uint8)),
                                                                   ("labels", np.zeros(n, int) if name == split
                                                                    else np.arange(n) % 2))})
    return root


BAD = {
    "missing data path": (["finetune", "--data", "{root}/nowhere", "--out", "{root}/out"], 1,
                          "No such file or folder"),
    "one class": (["finetune", "--data", "{root}/one", "--out", "{root}/out"], 1, "single class folder"),
    "one class folder at the top": (["finetune", "--data", "{root}/one_top", "--out", "{root}/out"], 1,
                                    "./ holds a single class folder ['only']; a binary task needs two"),
    "test/ but no train/": (["finetune", "--data", "{root}/no_train", "--out", "{root}/out"], 1,
                            "must contain one folder per class (e.g. NORMAL/ and PNEUMONIA/), or a train/ folder"),
    "class folders too small to carve": (["finetune", "--data", "{root}/tiny", "--out", "{root}/out"], 1,
                                         "Too few images or patients in the train split to carve a val split"),
    "unknown backbone": (["finetune", "--data", "{root}/one", "--out", "{root}/out", "--backbone", "vgg16"],
                         2, "invalid choice: 'vgg16'"),
    "unreadable model": (["evaluate", "{root}/broken.keras", "--data", "{root}/one", "--out",
                          "{root}/out"], 1, "MODEL: {root}/broken.keras exists but cannot be read as a .keras file "
                                            "(a zip archive): it is truncated or another kind of file."),
    "unreadable model, predict": (["predict", "{root}/broken.keras", "{root}/one"], 1,
                                  "broken.keras exists but cannot be read as a .keras file"),
    "unreadable source model": (["finetune", "--data", "{root}/scans", "--out", "{root}/out", "--source",
                                 "{root}/broken.keras"], 1, "--source: {root}/broken.keras exists but cannot be read"),
    "unreadable weights": (["finetune", "--data", "{root}/scans", "--out", "{root}/out", "--weights",
                            "{root}/broken.keras"], 1, "--weights: {root}/broken.keras exists but cannot be read"),
    "one class in train": (["finetune", "--data", "{root}/one_train.npz", "--out", "{root}/out"], 1,
                           "one_train.npz: the train split holds one class only (class 0: 40, class 1: 0)"),
    "one class in test": (["finetune", "--data", "{root}/one_test.npz", "--out", "{root}/out"], 1,
                          "one_test.npz: the test split holds one class only (class 0: 20, class 1: 0)"),
    "out under a file": (["finetune", "--data", "{root}/scans", "--out", "{root}/mine/thesis.txt/run"], 1,
                         "Cannot write --out {root}/mine/thesis.txt/run: {root}/mine/thesis.txt is a file, not a "
                         "folder. Choose another --out"),
    "image size 1": (["finetune", "--data", "{root}/scans", "--out", "{root}/out", "--image-size", "1"], 2,
                     "--image-size 1 is out of range: the backbones take 8 to 1024 px"),
    "image size 100000": (["finetune", "--data", "{root}/scans", "--out", "{root}/out", "--image-size", "100000"], 2,
                          "--image-size 100000 is out of range"),
    "imagenet for the small CNN": (["finetune", "--data", "{root}/scans", "--out", "{root}/out", "--backbone",
                                    "small_cnn", "--weights", "imagenet"], 2,
                                   "--weights imagenet: small_cnn has no ImageNet weights"),
    "tinyimagenet for resnet50": (["finetune", "--data", "{root}/scans", "--out", "{root}/out", "--backbone",
                                   "resnet50", "--weights", "tinyimagenet"], 2,
                                  "--weights tinyimagenet: resnet50 has no Tiny ImageNet weights; pick a backbone "
                                  "that has them (small_cnn, small_cnn_wide)"),
    "unknown weights name": (["finetune", "--data", "{root}/scans", "--out", "{root}/out", "--weights", "places365"],
                             2, "argument --weights: must be imagenet, tinyimagenet, none or a .keras/.weights.h5 "
                                "file, got 'places365'"),
    "huge batch": (["finetune", "--data", "{root}/one", "--out", "{root}/out", "--batch-size", "100000000"], 2,
                   "argument --batch-size: must be an integer from 1 to 4096, got '100000000'"),
    "huge batch, predict": (["predict", "{root}/broken.keras", "{root}/one", "--batch-size", "5000"], 2,
                            "argument --batch-size: must be an integer from 1 to 4096"),
    "zero epochs": (["finetune", "--data", "{root}/one", "--out", "{root}/out", "--epochs", "0"], 2,
                    "argument --epochs: must be an integer >= 1, got '0'"),
    "bad freeze policy": (["finetune", "--data", "x", "--out", "y", "--freeze", "some"], 2,
                          "argument --freeze: must be one of head, all, last_k:K, from_layer:NAME"),
    "source and weights": (["finetune", "--data", "{root}/one", "--out", "{root}/out", "--source", "a.keras",
                            "--weights", "imagenet"], 2, "--source and --weights exclude each other"),
    "freeze without pretrained weights": (["finetune", "--data", "{root}/scans", "--out", "{root}/out",
                                           "--freeze", "head"], 2, "--freeze needs pretrained weights"),
    "out holds other files": (["finetune", "--data", "{root}/one", "--out", "{root}/mine"], 1,
                              "not a crossdomain-kit report"),
    "not a dataset": (["finetune", "--data", "{root}/mine/thesis.txt", "--out", "{root}/out"], 1,
                      "neither a folder nor a .npz file"),
    "corrupt npz": (["finetune", "--data", "{root}/broken.npz", "--out", "{root}/out"], 1,
                    "is not a readable .npz archive"),
    "fetch into a file": (["fetch", "breastmnist", "--data-dir", "{root}/mine/thesis.txt"], 2,
                          "--data-dir {root}/mine/thesis.txt is a file, not a folder"),
    "fetch with a zero timeout": (["fetch", "breastmnist", "--timeout", "0"], 2,
                                  "argument --timeout: must be a number > 0, got '0'"),
    "no command": ([], 2, "choose a command"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_input_gives_an_exit_code_and_one_clear_line(case, bad_inputs, scans):
    argv, expected_code, message = BAD[case]
    if not (bad_inputs / "scans").exists():
        (bad_inputs / "scans").symlink_to(scans)
    code, out, err = run(*[a.format(root=bad_inputs) for a in argv])
    assert code == expected_code
    *before, last = err.strip().split("\n")
    assert last.startswith("crossdomain-kit") and "error:" in last and message.format(root=bad_inputs) in last, err
    # anything before it: progress bars and one-line warnings of the work done until then
    assert all("Checking images" in line or line.startswith("crossdomain-kit: warning:")
               for line in before), err
    assert "Traceback" not in err
    assert not (bad_inputs / "out").exists()
    assert [p.name for p in (bad_inputs / "mine").iterdir()] == ["thesis.txt"]


@pytest.mark.parametrize("case", ["image size 1", "imagenet for the small CNN", "out under a file",
                                  "unreadable weights"])
def test_option_and_output_errors_come_before_the_images_are_read(case, bad_inputs, monkeypatch):
    from crossdomain_kit.data import user_data

    monkeypatch.setattr(user_data, "load_user_data", lambda *a, **k: pytest.fail("the data was read"))
    argv = [a.format(root=bad_inputs) for a in BAD[case][0]]
    assert run(*argv)[0] == BAD[case][1]


def test_a_source_model_of_another_size_is_a_usage_error(finetuned, scans, tmp_path):
    folder, _ = finetuned
    code, out, err = run("finetune", "--data", scans, "--source", folder / "model.keras", "--image-size", "64",
                         "--out", tmp_path / "run")
    assert code == 2 and err.strip().split("\n")[-1].startswith("crossdomain-kit finetune: error: --image-size 64 "
                                                                 "differs from the source model's input size 30")
    assert not (tmp_path / "run").exists()


def test_a_read_only_out_is_refused_before_any_work(scans, tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        if os.access(locked, os.W_OK):
            pytest.skip("running as root: chmod does not stop writing (the 'out under a file' case covers root)")
        code, out, err = run("finetune", "--data", scans, "--out", locked / "run")
        assert code == 1 and out == "" and err.count("\n") == 1
        assert err.startswith(f"crossdomain-kit: error: Cannot write --out {locked / 'run'}: {locked} is not "
                              "writable (Permission denied). Choose another --out")
        assert list(locked.iterdir()) == []
    finally:
        locked.chmod(0o700)


# --- Ctrl-C during finetune: exit 130, never over an earlier report ------------------------------------

def _toy_npz(path: Path) -> Path:
    rng = np.random.default_rng(0)
    arrays = {}
    for split, n in (("train", 48), ("val", 24), ("test", 24)):
        labels = np.arange(n) % 2
        arrays[f"{split}_images"] = (rng.integers(0, 120, (n, 16, 16)) + 100 * labels[:, None, None]).astype(np.uint8)
        arrays[f"{split}_labels"] = labels
    np.savez(path, **arrays)
    return path


def _ctrl_c_at_epoch(monkeypatch, k: int):
    """The finetune command's progress bars press Ctrl-C as epoch ``k`` (1-based) begins."""
    import keras

    from crossdomain_kit import training

    class CtrlC(keras.callbacks.Callback):
        def __init__(self, label):
            super().__init__()

        def on_epoch_begin(self, epoch, logs=None):
            if epoch == k - 1:
                raise KeyboardInterrupt

    monkeypatch.setattr(training, "EpochProgressBars", CtrlC)


def test_ctrl_c_during_finetune_exits_130_and_writes_a_new_folder_not_over_the_earlier_report(tmp_path, monkeypatch):
    data, out = _toy_npz(tmp_path / "toy.npz"), tmp_path / "run"
    assert run("finetune", "--data", data, "--out", out, "--epochs", "1")[0] == 0
    earlier = {p.name: p.read_bytes() for p in out.iterdir()}
    _ctrl_c_at_epoch(monkeypatch, 2)
    code, stdout, err = run("finetune", "--data", data, "--out", out, "--epochs", "3")
    assert code == 130 and "Training interrupted (Ctrl-C) in epoch 2" in stdout
    assert {p.name: p.read_bytes() for p in out.iterdir()} == earlier  # the earlier report, untouched
    [kept] = [p for p in tmp_path.iterdir() if p.name.startswith("run.interrupted-")]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["toy.npz", "run", kept.name])  # no staging left
    assert err == (f"crossdomain-kit: interrupted; the best epoch's model and its report are in {kept}; {out} was "
                   "left as it was.\n")
    report = (kept / "report.md").read_text()
    assert "> Training was interrupted at epoch 2 (Ctrl-C): the model is that of epoch 1" in report
    metrics = assert_report(kept)
    assert metrics["training"]["training"]["interrupted"] is True and (kept / "model.keras").is_file()


def test_ctrl_c_before_the_first_epoch_finished_writes_nothing(tmp_path, monkeypatch):
    data = _toy_npz(tmp_path / "toy.npz")
    _ctrl_c_at_epoch(monkeypatch, 1)
    code, _, err = run("finetune", "--data", data, "--out", tmp_path / "run", "--epochs", "2")
    assert code == 130
    assert err == ("crossdomain-kit: interrupted; training was stopped before its first epoch finished; nothing "
                   "was written.\n")
    assert [p.name for p in tmp_path.iterdir()] == ["toy.npz"]


def test_debug_shows_the_traceback(bad_inputs):
    with pytest.raises(FileNotFoundError, match="No such file or folder"):
        main(["finetune", "--data", str(bad_inputs / "nowhere"), "--out", str(bad_inputs / "out"), "--debug"])


# --- pretrain: Tiny ImageNet, resumable -----------------------------------------------------------------

TINY = SHARED / "tinyimagenet_grey32.npz"


def test_pretrain_help_has_an_example_and_imports_no_tensorflow():
    code = ("import sys, contextlib, io\nfrom crossdomain_kit.cli import main\nout = io.StringIO()\n"
            "with contextlib.redirect_stdout(out):\n    code = main(['pretrain', '--help'])\n"
            "print(code, out.getvalue().count('example:\\n  crossdomain-kit pretrain --out '), "
            "'DIR/checkpoint' in out.getvalue(), 'tensorflow' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.splitlines()[-1] == "0 1 True False"


@pytest.mark.skipif(not TINY.is_file(), reason=f"Tiny ImageNet (tinyimagenet_grey32.npz) is not in {SHARED}")
def test_pretrain_on_tiny_imagenet_writes_weights_card_and_metrics_then_resumes(tmp_path):
    import shlex

    out = tmp_path / "run"
    code, stdout, err = run("pretrain", "--out", out, "--seed", "1")
    assert code == 0, err
    weights = out / "small_cnn_tinyimagenet.weights.h5"
    metrics = metrics_of(out)
    sha = hashlib.sha256(weights.read_bytes()).hexdigest()
    assert metrics["sha256"] == sha and f"sha256 {sha}" in stdout and "Validation top-1 " in stdout
    assert metrics["epochs"] == 1 and metrics["data"]["n_train"] == 2048 and metrics["data"]["n_classes"] == 202
    assert 0 <= metrics["val_top1"] <= metrics["val_top5"] <= 1 and "pretraining epoch 1" in err
    command = (f"CROSSDOMAIN_FAST=1 crossdomain-kit pretrain --out {shlex.quote(str(out))} --backbone small_cnn "
               "--epochs 1 --batch-size 128 --lr 0.1 --seed 1")
    card = (out / "model_card.md").read_text()
    assert metrics["command"] == command and command in card and sha in card and "non-commercial" in card
    assert sorted(p.name for p in out.iterdir()) == ["checkpoint", "metrics.json", "model_card.md", weights.name]
    # the same command again: the finished checkpoint is read back, nothing trains
    code, _, err = run("pretrain", "--out", out, "--seed", "1")
    assert code == 0 and "pretraining epoch" not in err and metrics_of(out)["history"] == metrics["history"]
    # another plan for the same folder: refused in one line
    code, _, err = run("pretrain", "--out", out, "--seed", "1", "--epochs", "2")
    assert code == 1 and err.count("\n") == 1 and "is of another run (epochs 1 there, 2 here)" in err


def test_pretrain_ctrl_c_exits_130_and_says_how_to_resume(tmp_path, monkeypatch):
    import types

    from crossdomain_kit.data import tinyimagenet as tiny
    from crossdomain_kit.workflows import pretraining

    monkeypatch.setattr(tiny, "load_tinyimagenet", lambda *a, **k: types.SimpleNamespace(describe=lambda: "tiny"))
    monkeypatch.setattr(pretraining, "pretrain_backbone", lambda *a, **k: types.SimpleNamespace(interrupted=True))
    code, out, err = run("pretrain", "--out", tmp_path)
    assert code == 130 and "Pretraining small_cnn" in out
    assert err == (f"crossdomain-kit: interrupted; the finished epochs are in {tmp_path / 'checkpoint'}: "
                   "run the same command to resume.\n")


@pytest.mark.parametrize("argv", [
    ["finetune", "--data", "{missing}", "--out", "{tmp}/out"],
    ["evaluate", "{tmp}/missing.keras", "--data", "{missing}", "--out", "{tmp}/out"],
])
def test_an_error_in_a_tensorflow_command_is_one_line_on_stderr_without_native_log_lines(argv, tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}  # as a user's shell has it
    args = [a.format(missing=tmp_path / "nope", tmp=tmp_path) for a in argv]
    done = subprocess.run([sys.executable, "-m", "crossdomain_kit", *args], env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("crossdomain-kit: error: "), done.stderr
