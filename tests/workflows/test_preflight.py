"""crossdomain_kit.workflows.preflight: what the commands check before any work, and interrupted runs' folders."""

import os
import stat
import subprocess
import sys
import time
import zipfile
from types import SimpleNamespace

import pytest

from crossdomain_kit.workflows import preflight
from crossdomain_kit.workflows.preflight import (OptionError, check_model_file, check_model_options,
                                                 check_report_folder, check_writable_output,
                                                 interrupted_run_folder)


def test_importing_it_imports_neither_tensorflow_nor_matplotlib():
    code = ("import sys, crossdomain_kit.workflows.preflight\n"
            "assert 'tensorflow' not in sys.modules and 'matplotlib' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)


# --- model options ---------------------------------------------------------------------------------

OPTIONS = {
    "source and weights": (dict(source="a.keras", weights="imagenet"), r"--source and --weights exclude each other"),
    "image size 1": (dict(image_size=1), r"--image-size 1 is out of range: the backbones take 8 to 1024 px"),
    "image size 100000": (dict(image_size=100000), r"--image-size 100000 is out of range"),
    "below the backbone's minimum": (dict(backbone="mobilenetv2", image_size=16),
                                     r"--image-size 16 is out of range: mobilenetv2 takes 32 to 1024 px"),
    "imagenet for the small CNN": (dict(backbone="small_cnn", weights="imagenet"),
                                   r"--weights imagenet: small_cnn has no ImageNet weights; pick a backbone that "
                                   r"has them \(resnet50, mobilenetv2, efficientnetb0\)"),
    "freeze with no weights": (dict(weights="none", freeze={"policy": "head"}), r"--freeze needs pretrained weights"),
    "freeze with the small CNN's default": (dict(backbone="small_cnn", freeze={"policy": "head"}),
                                            r"--freeze needs pretrained weights"),
}


@pytest.mark.parametrize("case", list(OPTIONS))
def test_model_options_that_cannot_work_are_an_option_error(case):
    kwargs, match = OPTIONS[case]
    with pytest.raises(OptionError, match=match) as info:
        check_model_options(**kwargs)
    assert isinstance(info.value, ValueError)  # the Python API catches it as any bad argument


@pytest.mark.parametrize("kwargs", [
    {}, dict(image_size=8), dict(image_size=1024), dict(backbone="mobilenetv2", weights="imagenet", image_size=32),
    dict(weights="imagenet", freeze={"policy": "head"}), dict(source="a.keras", freeze={"policy": "all"}),
    dict(freeze={"policy": "head"}),  # the default weights depend on the data: decided later
])
def test_model_options_that_can_work_pass(kwargs):
    check_model_options(**kwargs)


# --- model files -----------------------------------------------------------------------------------

def test_a_missing_model_file_is_named(tmp_path):
    with pytest.raises(ValueError, match=r"^MODEL: no such file .*absent\.keras.*Received: model='"):
        check_model_file(tmp_path / "absent.keras")


@pytest.mark.parametrize("name, content, kind", [
    ("broken.keras", b"this is not a zip file", r"a \.keras file \(a zip archive\)"),
    ("truncated.keras", b"PK\x03\x04 truncated", r"a \.keras file \(a zip archive\)"),
    ("broken.weights.h5", b"PK\x03\x04 a zip, not HDF5", r"a \.weights\.h5 file \(HDF5\)"),
])
def test_an_existing_but_corrupt_model_file_is_not_called_missing(tmp_path, name, content, kind):
    (tmp_path / name).write_bytes(content)
    with pytest.raises(ValueError, match=rf"^--source: .*{name} exists but cannot be read as {kind}: it is "
                                         r"truncated or another kind of file\. .*Received: source='") as info:
        check_model_file(tmp_path / name, "--source")
    assert "not found" not in str(info.value).lower()


def test_a_zip_or_an_hdf5_file_passes(tmp_path):
    h5py = pytest.importorskip("h5py")
    with zipfile.ZipFile(tmp_path / "model.keras", "w") as archive:
        archive.writestr("config.json", "{}")
    with h5py.File(tmp_path / "w.weights.h5", "w") as handle:
        handle["x"] = [1, 2]
    assert check_model_file(tmp_path / "model.keras", "MODEL") == tmp_path / "model.keras"
    assert check_model_file(str(tmp_path / "w.weights.h5"), "--weights") == tmp_path / "w.weights.h5"


# --- the output folder -----------------------------------------------------------------------------

def test_an_output_under_a_file_is_refused_and_nothing_is_created(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(ValueError, match=r"^Cannot write --out .*notes\.txt/run/deeper: .*notes\.txt is a file, not "
                                         r"a folder\. Choose another --out, in a folder you can write to\. "
                                         r"Received: out='"):
        check_writable_output(tmp_path / "notes.txt" / "run" / "deeper")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


def test_an_output_in_a_read_only_folder_is_refused_and_nothing_is_left(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(stat.S_IRUSR | stat.S_IXUSR)  # 0o500
    try:
        if os.access(locked, os.W_OK):
            pytest.skip("running as root: chmod does not stop writing")
        with pytest.raises(ValueError, match=r"Cannot write --out .*locked/new/report: .*locked is not writable "
                                             r"\(Permission denied\)\. Choose another --out"):
            check_report_folder(locked / "new" / "report")
        assert list(locked.iterdir()) == []
    finally:
        locked.chmod(stat.S_IRWXU)


def test_a_folder_that_refuses_new_entries_is_named_with_the_reason(tmp_path, monkeypatch):
    """What a read-only mount or a folder of another user answers, also when the tests run as root."""
    real_mkdir = type(tmp_path).mkdir

    def refuse(self, *args, **kwargs):
        if self.parent == tmp_path:
            raise OSError(30, "Read-only file system")
        return real_mkdir(self, *args, **kwargs)

    monkeypatch.setattr(type(tmp_path), "mkdir", refuse)
    with pytest.raises(ValueError, match=rf"Cannot write --out {tmp_path}/run: {tmp_path} is not writable "
                                         r"\(Read-only file system\)"):
        check_writable_output(tmp_path / "run")


def test_a_writable_output_passes_and_leaves_no_probe(tmp_path):
    assert check_report_folder(tmp_path / "a" / "b") == tmp_path / "a" / "b"
    assert check_writable_output(tmp_path / "c", "--out") == tmp_path / "c"
    assert list(tmp_path.iterdir()) == []


def test_check_report_folder_keeps_the_report_folder_checks(tmp_path):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "thesis.txt").write_text("precious")
    with pytest.raises(ValueError, match=r"not a crossdomain-kit report"):
        check_report_folder(tmp_path / "mine")
    with pytest.raises(ValueError, match=r"which this run reads"):
        check_report_folder(tmp_path / "run", [tmp_path / "run" / "model.keras"])


# --- interrupted runs ------------------------------------------------------------------------------

def test_an_interrupted_run_goes_to_a_new_folder_beside_out(tmp_path):
    training = SimpleNamespace(epochs=2, interrupted=True)
    now = time.mktime((2024, 3, 5, 14, 7, 9, 0, 0, -1))
    folder = interrupted_run_folder(tmp_path / "run", training, now=now)
    assert folder == tmp_path / "run.interrupted-20240305-140709" and not folder.exists()
    folder.mkdir()
    assert interrupted_run_folder(tmp_path / "run", training, now=now).name == "run.interrupted-20240305-140709-2"
    assert preflight.INTERRUPTED_SUFFIX in folder.name


def test_an_interrupted_run_without_a_finished_epoch_writes_nothing(tmp_path):
    with pytest.raises(KeyboardInterrupt, match=r"before its first epoch finished; nothing was written"):
        interrupted_run_folder(tmp_path / "run", SimpleNamespace(epochs=0, interrupted=True))
    assert list(tmp_path.iterdir()) == []
