"""Tests of the lesson-00 exercise checkers: correct answers pass, typical mistakes get their diagnosis."""

import os
from pathlib import Path

import pytest

from tests._exercise_checks import COMMON_FAILURES, assert_fails_with, assert_passes

from crossdomain_kit.exercises.lesson00 import check_data_folder, check_medmnist_file_name


# ------------------------------------------------------------------ data folder

def _folder(data_dir, env_value):
    chosen = data_dir if data_dir is not None else (env_value or "~/.crossdomain_kit/datasets")
    return Path(chosen).expanduser()


@pytest.mark.parametrize("fn", [
    _folder,
    lambda d, e: str(_folder(d, e)),
    lambda d, e: os.path.expanduser(d or e or os.path.join("~", ".crossdomain_kit", "datasets")),
    lambda d, e: _folder(d, e).resolve(),
])
def test_correct_data_folders_pass(fn):
    assert_passes(check_data_folder(fn))


@pytest.mark.parametrize("fn, diagnosis", COMMON_FAILURES + [
    (lambda d, e: _folder(e, d), "The argument wins"),
    (lambda d, e: Path(d if d is not None else e if e is not None else "~/.crossdomain_kit/datasets").expanduser(),
     "An empty CROSSDOMAIN_DATA_DIR counts as unset"),
    (lambda d, e: Path(d or e or "/tmp/datasets"), "the kit uses ~/.crossdomain_kit/datasets"),
    (lambda d, e: Path(d or e or "~/.crossdomain_kit/datasets"), "still starts with ~"),
    (lambda d, e: 42, "Return a path"),
    (lambda d, e: Path("/somewhere/else"), "Not quite"),
])
def test_data_folder_mistakes_are_named(fn, diagnosis):
    assert_fails_with(check_data_folder(fn), diagnosis)


# ------------------------------------------------------------------ MedMNIST file name

@pytest.mark.parametrize("fn", [
    lambda name, size: f"{name}.npz" if size == 28 else f"{name}_{size}.npz",
    lambda name, size: name + ("" if size == 28 else "_" + str(size)) + ".npz",
])
def test_correct_file_names_pass(fn):
    assert_passes(check_medmnist_file_name(fn))


@pytest.mark.parametrize("fn, diagnosis", COMMON_FAILURES + [
    (lambda name, size: f"{name}_{size}.npz", "At 28 px the official file has no size suffix"),
    (lambda name, size: name if size == 28 else f"{name}_{size}", "The extension is missing"),
    (lambda name, size: (f"{name}.npz" if size == 28 else f"{name}_{size}.npz").replace("mnist", "MNIST"),
     "case-sensitive"),
    (lambda name, size: f"/data/{name}.npz" if size == 28 else f"/data/{name}_{size}.npz", "not a path"),
    (lambda name, size: f"{name}.npz", "Not quite"),
    (lambda name, size: Path(f"{name}.npz"), "as a string"),
])
def test_file_name_mistakes_are_named(fn, diagnosis):
    assert_fails_with(check_medmnist_file_name(fn), diagnosis)
