import json
import os
import stat
from types import SimpleNamespace

import numpy as np
import pytest

from crossdomain_kit import evaluation as ev
from crossdomain_kit.evaluation import reports as rp


def _evaluation(name, separation, seed):
    y_val, p_val = ev.synthetic_predictions(120, 0.4, separation=separation, seed=seed)
    y_test, p_test = ev.synthetic_predictions(200, 0.3, separation=separation, seed=seed + 1)
    report = ev.evaluate_predictions(y_val, p_val, y_test, p_test, ("normal", "finding"), n_boot=50)
    return rp.ModelEvaluation(name, report, y_test, p_test)


@pytest.fixture(scope="module")
def before():
    return _evaluation("source model", 0.5, 0)


@pytest.fixture(scope="module")
def after():
    return _evaluation("fine-tuned", 2.5, 10)


def _training(epochs=4):
    history = {"loss": list(np.linspace(0.7, 0.4, epochs)), "val_loss": list(np.linspace(0.8, 0.5, epochs)),
               "auc": list(np.linspace(0.6, 0.9, epochs)), "val_auc": [0.6, 0.7, float("nan"), 0.8][:epochs]}
    return SimpleNamespace(history=history, phases=["head", "head", "finetune", "finetune"][:epochs],
                           monitor="val_auc", best_epoch=epochs - 1, best_value=0.8, interrupted=False)


def _listing(folder):
    return sorted(p.name for p in folder.iterdir())


def test_a_full_report_folder(tmp_path, before, after):
    folder = rp.write_report(tmp_path / "runs" / "one", "Fine-tuning on x", after, before,
                             stages=[("training", _training())], context={"data": {"path": "x"}},
                             notes=["Synthetic data."], files={"model.txt": lambda p: p.write_text("m")})
    assert folder == tmp_path / "runs" / "one"
    assert _listing(folder) == ["confusion_matrix.png", "learning_curves.png", "metrics.json", "model.txt",
                                "reliability.png", "report.md", "roc.png"]
    assert _listing(folder.parent) == ["one"]  # no staging folder left
    metrics = json.loads((folder / "metrics.json").read_text())
    assert metrics["tool"] == "crossdomain-kit" and metrics["model"] == "fine-tuned"
    assert metrics["test_auc"] == after.report.test.auc and metrics["threshold"] == after.report.threshold
    assert metrics["before"]["test_auc"] == before.report.test.auc
    assert metrics["before_after"][0]["metric"] == "auc"
    assert metrics["training"]["training"]["history"]["val_auc"][2] is None  # NaN is not JSON
    assert metrics["data"] == {"path": "x"}
    text = (folder / "report.md").read_text()
    assert text.startswith("# Fine-tuning on x\n\n> Synthetic data.")
    assert "| metric | source model | fine-tuned | change |" in text and "![roc](roc.png)" in text
    assert "- `model.txt`" in text
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(folder.stat().st_mode) == 0o777 & ~umask


def test_without_before_or_training_there_is_no_table_and_no_learning_curves(tmp_path, after):
    rp.write_report(tmp_path / "eval", "Evaluation", after)
    assert "learning_curves.png" not in _listing(tmp_path / "eval")
    metrics = json.loads((tmp_path / "eval" / "metrics.json").read_text())
    assert "before" not in metrics and "training" not in metrics


def test_a_report_of_an_interrupted_run_says_at_which_epoch_first(tmp_path, after):
    stopped = _training(3)
    stopped.interrupted, stopped.best_epoch = True, 1
    folder = rp.write_report(tmp_path / "run", "Fine-tuning on x", after, stages=[("fine-tuning", stopped)],
                             notes=["Synthetic data."])
    text = (folder / "report.md").read_text()
    assert text.startswith("# Fine-tuning on x\n\n> Fine-tuning was interrupted at epoch 4 (Ctrl-C): the model is "
                           "that of epoch 2, the best of the 3 finished, not the run that was planned; the metrics "
                           "below are that model's.\n> Synthetic data.\n")
    assert json.loads((folder / "metrics.json").read_text())["training"]["fine-tuning"]["interrupted"] is True
    stopped.best_epoch = None
    assert rp.interrupted_notes([("head", _training(2)), ("training", stopped)]) == [
        "Training was interrupted at epoch 4 (Ctrl-C): the model holds its starting weights, not the run that was "
        "planned; the metrics below are that model's."]
    assert "interrupted" not in rp.report_markdown("t", after)


def test_an_earlier_report_is_replaced_whole(tmp_path, before, after):
    rp.write_report(tmp_path / "out", "first", after, before, stages=[("t", _training())])
    rp.write_report(tmp_path / "out", "second", after)
    assert (tmp_path / "out" / "report.md").read_text().startswith("# second")
    assert "learning_curves.png" not in _listing(tmp_path / "out")
    assert _listing(tmp_path) == ["out"]


def _fail(path):
    path.write_text("half")
    raise RuntimeError("disk full")


def test_a_failure_leaves_nothing_behind(tmp_path, after):
    with pytest.raises(RuntimeError, match="disk full"):
        rp.write_report(tmp_path / "new" / "deeper" / "out", "x", after, files={"model.keras": _fail})
    assert _listing(tmp_path) == []  # not even the folders created for it
    rp.write_report(tmp_path / "out", "kept", after)
    with pytest.raises(RuntimeError):
        rp.write_report(tmp_path / "out", "x", after, files={"model.keras": _fail})
    assert (tmp_path / "out" / "report.md").read_text().startswith("# kept")
    assert _listing(tmp_path) == ["out"]


def test_output_folder_checks(tmp_path, after):
    assert rp.check_output_folder(tmp_path / "missing") == tmp_path / "missing"
    (tmp_path / "empty").mkdir()
    rp.write_report(tmp_path / "empty", "x", after)  # an empty folder is fine
    (tmp_path / "file").write_text("x")
    with pytest.raises(ValueError, match=r"is a file.*Received: out="):
        rp.check_output_folder(tmp_path / "file")
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "thesis.tex").write_text("precious")
    with pytest.raises(ValueError, match="not a crossdomain-kit report"):
        rp.write_report(tmp_path / "mine", "x", after)
    assert _listing(tmp_path / "mine") == ["thesis.tex"]
    with pytest.raises(ValueError, match="which this run reads"):
        rp.check_output_folder(tmp_path / "empty", inputs=[tmp_path / "empty" / "model.keras"])
    rp.check_output_folder(tmp_path / "empty", inputs=[tmp_path / "emptyish" / "model.keras"])


def test_a_link_to_an_earlier_report_is_followed_and_kept(tmp_path, after):
    rp.write_report(tmp_path / "run-1", "first", after)
    (tmp_path / "latest").symlink_to("run-1")
    assert rp.write_report(tmp_path / "latest", "second", after) == tmp_path / "run-1"
    assert (tmp_path / "latest").is_symlink() and (tmp_path / "latest" / "report.md").read_text().startswith("# second")
    assert _listing(tmp_path) == ["latest", "run-1"]  # no hidden leftovers beside either


def test_a_link_cannot_hide_an_input_or_be_broken(tmp_path, after):
    rp.write_report(tmp_path / "run-1", "first", after)
    (tmp_path / "run-1" / "model.keras").write_text("the source model")
    (tmp_path / "latest").symlink_to(tmp_path / "run-1")
    with pytest.raises(ValueError, match=r"run-1 holds .*run-1/model\.keras, which this run reads"):
        rp.check_output_folder(tmp_path / "latest", inputs=[tmp_path / "run-1" / "model.keras"])
    with pytest.raises(ValueError, match=r"which this run reads"):
        rp.check_output_folder(tmp_path / "run-1", inputs=[tmp_path / "latest" / "model.keras"])
    (tmp_path / "gone").symlink_to(tmp_path / "nowhere")
    with pytest.raises(ValueError, match=r"gone is a broken symbolic link \(to .*nowhere\).*Received: out="):
        rp.check_output_folder(tmp_path / "gone")


def test_bad_arguments_are_named(after):
    with pytest.raises(ValueError, match="Received: p_test="):
        rp.ModelEvaluation("m", after.report, after.y_test, after.p_test + 2)
    with pytest.raises(ValueError, match="Received: report="):
        rp.ModelEvaluation("m", {"auc": 1}, after.y_test, after.p_test)
    with pytest.raises(ValueError, match="Received: context='test_auc'"):
        rp.report_metrics(after, context={"test_auc": 1.0})


def test_figures_have_one_panel_per_model(before, after):
    figures = rp.report_figures([before, after], [("a", _training()), ("b", _training(2))])
    assert list(figures) == ["learning_curves.png", "roc.png", "confusion_matrix.png", "reliability.png"]
    assert [len(f.axes) for f in figures.values()] == [2, 2, 2, 2]
    assert [ax.get_title() for ax in figures["roc.png"].axes] == ["source model: ROC curve",
                                                                  "fine-tuned: ROC curve"]
    loss = figures["learning_curves.png"].axes[0]
    assert len(loss.get_lines()) == 2 * 2 + 2 + 1 + 1  # curves, best dots, phase change, stage start


def test_report_metrics_are_read_back_only_from_the_kit_s_own_folders(tmp_path, after):
    folder = rp.write_report(tmp_path / "report", "A", after)
    saved = rp.read_report_metrics(folder)
    assert saved["tool"] == rp.TOOL and saved["threshold"] == pytest.approx(after.report.threshold)
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / rp.METRICS_FILE).write_text(json.dumps({"tool": "someone else", "threshold": 0.1}))
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / rp.METRICS_FILE).write_text("{not json")
    assert rp.read_report_metrics(tmp_path / "other") == {} == rp.read_report_metrics(tmp_path / "broken")
    assert rp.read_report_metrics(tmp_path / "missing") == {}
