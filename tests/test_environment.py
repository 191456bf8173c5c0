"""Tests of the environment report (crossdomain_kit.environment, lesson 00)."""

import subprocess
import sys
from pathlib import Path

import pytest

from crossdomain_kit import __version__, config
from crossdomain_kit.environment import (EnvironmentReport, ImageFolderSummary, LocalDatasets, MedmnistFile,
                                         cpu_description, environment_report, find_local_datasets, in_colab,
                                         installed_version)


def _touch(path: Path, content: bytes = b"x") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return path


@pytest.fixture
def data_dir(tmp_path):
    """A data folder with two MedMNIST files (official name and alias), one image folder and clutter."""
    _touch(tmp_path / "pneumoniamnist.npz", b"0" * 2048)
    _touch(tmp_path / "breastmnist_64.npz")
    for split, classes in {"train": {"NORMAL": 3, "PNEUMONIA": 2}, "test": {"NORMAL": 1, "PNEUMONIA": 1}}.items():
        for name, n in classes.items():
            for i in range(n):
                _touch(tmp_path / "xray" / split / name / f"im{i}.jpeg")
    _touch(tmp_path / "xray" / "train" / "NORMAL" / "notes.txt")      # not an image: not counted
    _touch(tmp_path / "xray" / "train" / "NORMAL" / ".DS_Store")
    _touch(tmp_path / "other" / "readme.md")                            # not the layout: not listed
    (tmp_path / "empty_train" / "train").mkdir(parents=True)            # train/ without images: not listed
    return tmp_path


def test_finds_medmnist_files_and_image_folders_without_reading_them(data_dir):
    found = find_local_datasets(data_dir)
    assert isinstance(found, LocalDatasets) and found.exists and found.data_dir == data_dir.resolve()
    assert found.medmnist == (
        MedmnistFile("pneumoniamnist", 28, data_dir.resolve() / "pneumoniamnist.npz", 2048),
        MedmnistFile("breastmnist", 64, data_dir.resolve() / "breastmnist_64.npz", 1),
    )
    assert found.image_folders == (ImageFolderSummary(
        data_dir.resolve() / "xray",
        {"train": {"NORMAL": 3, "PNEUMONIA": 2}, "test": {"NORMAL": 1, "PNEUMONIA": 1}}),)
    assert found.image_folders[0].n_images == 7
    lines = found.lines()
    assert lines[0] == "pneumoniamnist at 28 px: pneumoniamnist.npz (0.0 MiB)"
    assert lines[-1] == "image folder xray/: train NORMAL 3, PNEUMONIA 2; test NORMAL 1, PNEUMONIA 1"


def test_the_data_folder_itself_can_be_an_image_folder(tmp_path):
    _touch(tmp_path / "train" / "cats" / "a.png")
    _touch(tmp_path / "train" / "dogs" / "b.png")
    found = find_local_datasets(tmp_path)
    assert [f.path for f in found.image_folders] == [tmp_path.resolve()]
    assert found.lines() == ["image folder .: train cats 1, dogs 1"]


def test_reads_the_environment_variable_and_says_when_nothing_is_there(monkeypatch, tmp_path):
    monkeypatch.setenv(config.DATA_DIR_ENV, str(tmp_path))
    found = find_local_datasets()
    assert found.data_dir == tmp_path.resolve() and found.exists
    assert found.lines() == [f"no MedMNIST file and no image folder in {tmp_path.resolve()}"]
    missing = find_local_datasets(tmp_path / "nowhere")
    assert not missing.exists and missing.medmnist == () and missing.image_folders == ()
    assert "does not exist yet" in missing.lines()[0]


def test_bad_arguments_name_the_argument():
    with pytest.raises(ValueError, match=r"Received: data_dir=3"):
        find_local_datasets(3)
    with pytest.raises(ValueError, match=r"Received: check_gpu='yes'"):
        environment_report(check_gpu="yes")
    with pytest.raises(ValueError, match=r"Received: package='numpy'"):
        installed_version("numpy")


def test_report_without_gpu_check(data_dir, monkeypatch):
    monkeypatch.setenv(config.FAST_ENV, "1")
    report = environment_report(data_dir, check_gpu=False)
    assert isinstance(report, EnvironmentReport)
    assert report.python == ".".join(map(str, sys.version_info[:3])) and report.kit == __version__
    assert report.tensorflow == installed_version("tensorflow") is not None
    assert report.keras.startswith("3.") and report.ipywidgets is not None
    assert report.gpus is None and report.device == "not checked" and report.cpu_count >= 1
    assert report.profile == "fast" and report.colab is False
    text = str(report)
    assert "TensorFlow" in text and f"data directory   {data_dir.resolve()}" in text
    assert "  found          image folder xray/" in text


def test_report_lists_the_gpus_tensorflow_sees(data_dir):
    pytest.importorskip("tensorflow")
    report = environment_report(data_dir)
    assert isinstance(report.gpus, tuple)
    assert report.device == (f"GPU ({', '.join(report.gpus)})" if report.gpus else "CPU only")


def test_device_text():
    report = environment_report(check_gpu=False)
    with_gpu = EnvironmentReport(**{**report.__dict__, "gpus": ("NVIDIA T4",)})
    assert with_gpu.device == "GPU (NVIDIA T4)"
    assert EnvironmentReport(**{**report.__dict__, "gpus": ()}).device == "CPU only"


def test_cpu_description_names_the_model_and_its_vector_instruction_sets(tmp_path, monkeypatch):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nmodel name\t: AMD EPYC 9654\nflags\t\t: fpu sse2 avx2 fma avx512f bmi2\n\n"
                       "processor\t: 1\nmodel name\t: AMD EPYC 9654\nflags\t\t: fpu sse2 avx2 fma avx512f bmi2\n")
    assert cpu_description(cpuinfo) == "AMD EPYC 9654 (avx2, fma, avx512f)"
    cpuinfo.write_text("processor\t: 0\nmodel name\t: Old CPU\nflags\t\t: fpu sse2\n")
    assert cpu_description(cpuinfo) == "Old CPU"
    monkeypatch.setattr("platform.processor", lambda: "arm")
    assert cpu_description(tmp_path / "missing") == "arm"  # not Linux: what platform says
    assert cpu_description()  # this machine's, whatever it is


def test_colab_is_detected_by_its_module(monkeypatch):
    monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    assert not in_colab()
    monkeypatch.setitem(sys.modules, "google.colab", object())
    assert in_colab() and environment_report(check_gpu=False).colab


def test_no_tensorflow_import_without_the_gpu_check():
    code = ("import sys; from crossdomain_kit.environment import environment_report; "
            "environment_report(check_gpu=False); print('tensorflow' in sys.modules, 'keras' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]
