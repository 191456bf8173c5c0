"""load_user_data: a user's image folder or .npz as a Domain with train, val and test."""

import csv
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from crossdomain_kit import config
from crossdomain_kit.data.image_folder import kaggle_patient_id
from crossdomain_kit.data.user_data import PositiveClassError, UserData, load_user_data, native_image_size

SHARED = config.data_dir()


def _patients(root: Path, n_normal=8, n_sick=10, per_patient=2, first=0) -> Path:
    """train/NORMAL/IM-<patient>-<k>.png and train/PNEUMONIA/person<patient>_virus_<k>.png."""
    for label, (class_name, n) in enumerate((("NORMAL", n_normal), ("PNEUMONIA", n_sick))):
        for p in range(first, first + n):
            for k in range(per_patient):
                name = f"IM-{p:04d}-{k:04d}.png" if label == 0 else f"person{p}_virus_{k}.png"
                path = root / "train" / class_name / name
                path.parent.mkdir(parents=True, exist_ok=True)
                Image.new("L", (8 + label, 8), 10 * p + k + 120 * label).save(path)  # no two alike
    return root


def _npz(path: Path, n=60, **arrays) -> Path:
    """train_images whose pixels all hold the image's index (so a split shows which images it has)."""
    labels = np.arange(n) % 2
    images = np.arange(n, dtype=np.uint8)[:, None, None].repeat(12, 1).repeat(10, 2)
    np.savez(path, train_images=images, train_labels=labels, **arrays)
    return path


def _names(split):
    return [Path(f).name for f in split.files]


def _ids(split):
    return split.images[:, 0, 0].tolist()


def test_importing_it_does_not_import_tensorflow():
    code = "import sys, crossdomain_kit.data.user_data; assert 'tensorflow' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


# --- image folders ------------------------------------------------------------------------------

# What the command line's loader carved out of _patients(...) with seed 3 before it moved here.
CARVED_FOLDER = {
    "train": ["IM-0000-0000.png", "IM-0000-0001.png", "IM-0001-0000.png", "IM-0001-0001.png",
              "IM-0003-0000.png", "IM-0003-0001.png", "IM-0004-0000.png", "IM-0004-0001.png",
              "person0_virus_0.png", "person0_virus_1.png", "person1_virus_0.png", "person1_virus_1.png",
              "person2_virus_0.png", "person2_virus_1.png", "person3_virus_0.png", "person3_virus_1.png",
              "person6_virus_0.png", "person6_virus_1.png", "person9_virus_0.png", "person9_virus_1.png"],
    "val": ["IM-0006-0000.png", "IM-0006-0001.png", "IM-0007-0000.png", "IM-0007-0001.png",
            "person4_virus_0.png", "person4_virus_1.png", "person5_virus_0.png", "person5_virus_1.png"],
    "test": ["IM-0002-0000.png", "IM-0002-0001.png", "IM-0005-0000.png", "IM-0005-0001.png",
             "person7_virus_0.png", "person7_virus_1.png", "person8_virus_0.png", "person8_virus_1.png"],
}


def test_a_train_only_folder_gets_val_and_test_carved_by_patient_as_before(tmp_path):
    root = _patients(tmp_path / "scans")
    data = load_user_data(root, seed=3)
    assert isinstance(data, UserData)
    domain = data.domain
    assert {name: _names(split) for name, split in domain.splits().items()} == CARVED_FOLDER
    for name, split in domain.splits().items():
        assert (split.split, split.domain, split.class_names) == (name, "scans", ("NORMAL", "PNEUMONIA"))
        assert split.labels.tolist() == [int("person" in f) for f in _names(split)]
        assert all(Path(f).is_absolute() for f in split.files)
    assert data.description == {
        "path": str(root), "format": "image folder", "layout": "split folders", "carved_by": "patient",
        "files_without_patient_id": 0, "skipped_files": 0, "duplicates_removed": 0, "class_names": ["NORMAL", "PNEUMONIA"], "positive_class": "PNEUMONIA",
        "splits": {"train": {"n": 20, "NORMAL": 8, "PNEUMONIA": 12},
                   "val": {"n": 8, "NORMAL": 4, "PNEUMONIA": 4},
                   "test": {"n": 8, "NORMAL": 4, "PNEUMONIA": 4}},
        "carved_from_train": ["val", "test"]}
    assert data.describe() == (f"Data: {root} (image folder): NORMAL vs PNEUMONIA (positive); train 20, "
                               "val 8, test 8; val and test carved out of train by patient.")


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_carving_by_patient_keeps_every_patient_in_one_split(tmp_path, seed):
    domain = load_user_data(_patients(tmp_path, n_normal=12, n_sick=12, per_patient=3), seed=seed,
                            val_fraction=0.2, test_fraction=0.3).domain
    owners = {}
    for name, split in domain.splits().items():
        for patient in map(kaggle_patient_id, split.files):
            owners.setdefault(patient, set()).add(name)
    assert len(owners) == 24 and all(len(splits) == 1 for splits in owners.values())
    assert sum(len(s) for s in domain.splits().values()) == 72


def test_the_same_seed_carves_the_same_splits(tmp_path):
    root = _patients(tmp_path)
    first, again = (load_user_data(root, seed=4).domain for _ in range(2))
    other = load_user_data(root, seed=5).domain
    assert _names(first.test) == _names(again.test) and _names(first.val) == _names(again.val)
    assert _names(other.test) != _names(first.test)


def test_given_val_and_test_folders_are_used_and_only_what_is_missing_is_carved(tmp_path):
    root = _patients(tmp_path / "data")
    _patients(tmp_path / "extra", n_normal=3, n_sick=3, first=10)
    (tmp_path / "extra" / "train").rename(root / "val")
    data = load_user_data(root, seed=2)
    assert data.description["carved_from_train"] == ["test"]
    assert len(data.domain.val) == 12 and len(data.domain.test) > 0
    assert "; test carved out of train by patient." in data.describe()

    (root / "val").rename(root / "test")
    data = load_user_data(root, seed=2)
    assert data.description["carved_from_train"] == ["val"]
    assert len(data.domain.test) == 12 and all("/test/" in f for f in data.domain.test.files)


def test_positive_class_picks_the_class_labelled_1(tmp_path):
    data = load_user_data(_patients(tmp_path), positive_class="NORMAL")
    assert data.domain.class_names == ("PNEUMONIA", "NORMAL")
    assert data.description["positive_class"] == "NORMAL"


def test_too_few_patients_to_carve_a_test_split_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match=r"Too few images or patients in the train split to carve a "
                                         r"test split.*Add images, or a test/ folder beside train/"):
        load_user_data(_patients(tmp_path, n_normal=2, n_sick=2, per_patient=1))


def _flatten(root: Path) -> Path:
    """The same images as ``root/<class>/…``: the class-folder layout, no train/."""
    for class_folder in (root / "train").iterdir():
        class_folder.rename(root / class_folder.name)
    (root / "train").rmdir()
    return root


def test_a_folder_of_class_folders_gets_train_val_and_test_carved_by_patient(tmp_path):
    root = _flatten(_patients(tmp_path / "scans"))
    data = load_user_data(root, seed=3)
    assert data.description["layout"] == "class folders" and data.description["carved_by"] == "patient"
    assert data.description["carved_from_train"] == ["val", "test"]
    assert data.describe() == (f"Data: {root} (image folder, one folder per class): NORMAL vs PNEUMONIA "
                               "(positive); train 20, val 8, test 8; val and test carved out of the class "
                               "folders by patient.")
    owners = {}
    for name, split in data.domain.splits().items():
        for patient in map(kaggle_patient_id, split.files):
            owners.setdefault(patient, set()).add(name)
    assert len(owners) == 18 and all(len(splits) == 1 for splits in owners.values())
    # the same carving as the train/ layout it came from: only where the folders sit changed
    assert {name: _names(split) for name, split in data.domain.splits().items()} == CARVED_FOLDER


def test_file_names_without_patient_ids_are_said_once_in_the_description_not_warned(tmp_path):
    root = tmp_path / "photos"
    for label, class_name in enumerate(("benign", "malignant")):
        for i in range(12):
            path = root / class_name / f"img_{i:03d}.png"
            path.parent.mkdir(parents=True, exist_ok=True)
            Image.new("L", (8, 8), 10 * i + 3 * label).save(path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        data = load_user_data(root)
    assert data.description["carved_by"] == "image" and data.description["files_without_patient_id"] == 24
    assert data.describe().endswith("carved out of the class folders by image (no file name carries a "
                                    "patient id: each image is its own group).")

    (root / "benign" / "IM-0001-0001.png").write_bytes((root / "benign" / "img_000.png").read_bytes())
    (root / "benign" / "img_000.png").unlink()  # one name with an id, 23 without
    data = load_user_data(root)
    assert data.description["carved_by"] == "patient" and data.description["files_without_patient_id"] == 23
    assert "by patient (23 file names carry no patient id: each of those images is its own group)." in data.describe()


def test_write_splits_lists_every_image_file_with_its_split_and_class(tmp_path):
    root = _flatten(_patients(tmp_path / "scans"))
    data = load_user_data(root, seed=3)
    path = data.write_splits(tmp_path / "splits.csv")
    with open(path, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["split"] for r in rows] == ["train"] * 20 + ["val"] * 8 + ["test"] * 8
    assert {(r["split"], Path(r["file"]).name) for r in rows} == {
        (name, f) for name, files in CARVED_FOLDER.items() for f in files}
    assert all(r["file"].startswith(r["class"] + "/") and r["label"] == str(int(r["class"] == "PNEUMONIA"))
               for r in rows)
    assert sorted(root / r["file"] for r in rows) == sorted(root.rglob("*.png"))


def test_write_splits_of_an_npz_says_the_seed_reproduces_them(tmp_path):
    data = load_user_data(_npz(tmp_path / "mine.npz"))
    with pytest.raises(ValueError, match=r"holds arrays, not image files"):
        data.write_splits(tmp_path / "splits.csv")


def test_native_image_size_of_files_and_of_arrays(tmp_path):
    domain = load_user_data(_patients(tmp_path)).domain
    assert native_image_size(domain.train) == 8  # 8x8 and 9x8 images: the smaller side
    domain = load_user_data(_npz(tmp_path / "mine.npz")).domain
    assert native_image_size(domain.train) == 10  # (n, 12, 10)


# --- .npz files ---------------------------------------------------------------------------------

# What the command line's loader carved out of _npz(...) with seed 5 before it moved here.
CARVED_NPZ = {
    "train": [0, 1, 2, 5, 6, 9, 10, 12, 13, 15, 16, 19, 20, 21, 22, 23, 25, 26, 27, 28, 29, 31, 32, 34,
              35, 36, 37, 39, 40, 41, 42, 47, 48, 50, 51, 52, 54, 55, 57, 58],
    "val": [3, 4, 7, 14, 18, 33, 38, 45, 46, 49],
    "test": [8, 11, 17, 24, 30, 43, 44, 53, 56, 59],
}


def test_a_train_only_npz_gets_val_and_test_carved_by_image_as_before(tmp_path):
    path = _npz(tmp_path / "mine.npz")
    data = load_user_data(path, seed=5)
    assert {name: _ids(split) for name, split in data.domain.splits().items()} == CARVED_NPZ
    for name, split in data.domain.splits().items():
        assert (split.split, split.domain, split.class_names) == (name, "mine", ("class 0", "class 1"))
        assert split.images.shape[1:] == (12, 10) and split.images.dtype == np.uint8
        assert split.labels.tolist() == [i % 2 for i in _ids(split)]
    assert data.domain.name == "mine"
    assert data.description["carved_from_train"] == ["val", "test"]
    assert data.describe() == (f"Data: {path} (.npz (MedMNIST layout)): class 0 vs class 1 (positive); "
                               "train 40, val 10, test 10; val and test carved out of train by image.")


def test_an_npz_with_val_and_test_is_used_as_it_is(tmp_path):
    val = np.full((6, 12, 10, 1), 0.5, np.float32)
    path = _npz(tmp_path / "full.npz", val_images=val, val_labels=np.arange(6) % 2,
                test_images=np.zeros((4, 12, 10), np.uint8), test_labels=np.array([[0], [1], [1], [0]]))
    data = load_user_data(path)
    assert data.description["carved_from_train"] == [] and "carved" not in data.describe()
    assert {name: len(split) for name, split in data.domain.splits().items()} == {
        "train": 60, "val": 6, "test": 4}
    assert data.domain.val.images.dtype == np.float32 and data.domain.test.labels.tolist() == [0, 1, 1, 0]


def test_an_npz_split_with_images_but_no_labels_is_carved_instead(tmp_path):
    path = _npz(tmp_path / "half.npz", val_images=np.zeros((6, 12, 10), np.uint8),
                test_images=np.zeros((4, 12, 10), np.uint8), test_labels=np.arange(4) % 2)
    data = load_user_data(path, seed=1)
    assert data.description["carved_from_train"] == ["val"] and len(data.domain.test) == 4


def test_a_file_named_like_a_registry_file_is_loaded_as_that_dataset(tmp_path):
    arrays = {}
    for split in ("train", "val", "test"):
        arrays[f"{split}_images"] = np.zeros((6, 28, 28), np.uint8)
        arrays[f"{split}_labels"] = (np.arange(6) % 3 == 0).astype(np.uint8).reshape(6, 1)
    np.savez(tmp_path / "breastmnist_28.npz", **arrays)
    data = load_user_data(tmp_path / "breastmnist_28.npz")
    assert data.domain.class_names == ("normal or benign", "malignant")
    assert data.domain.train.labels.tolist() == [0, 1, 1, 0, 1, 1]  # official 0 = malignant: remapped
    assert data.domain.train.images.shape == (6, 28, 28, 1)
    assert data.description["format"] == "MedMNIST .npz (breastmnist, 28 px)"
    assert data.description["carved_from_train"] == [] and "carved_by" not in data.description


@pytest.mark.skipif(not (SHARED / "breastmnist.npz").is_file(), reason=f"BreastMNIST is not in {SHARED}")
def test_the_real_breastmnist_by_name_from_the_data_directory():
    data = load_user_data("breastmnist.npz")
    assert data.description["path"] == str((SHARED / "breastmnist.npz").resolve())
    assert {name: info["n"] for name, info in data.description["splits"].items()} == {
        "train": 546, "val": 78, "test": 156}
    assert data.describe().endswith("normal or benign vs malignant (positive); train 546, val 78, test 156.")


def test_positive_class_with_an_npz_is_refused(tmp_path):
    with pytest.raises(PositiveClassError, match=r"label 1") as info:
        load_user_data(_npz(tmp_path / "mine.npz"), positive_class="class 0")
    assert isinstance(info.value, ValueError) and str(tmp_path / "mine.npz") in str(info.value)


def _single_npy(path: Path):
    np.save(path.with_suffix(".npy"), np.zeros(3))
    path.write_bytes(path.with_suffix(".npy").read_bytes())


BAD_NPZ = {
    "truncated": (lambda p: p.write_bytes(b"PK\x03\x04 truncated"), r"is not a readable \.npz archive"),
    "a .npy inside": (_single_npy, r"holds a single \.npy array"),
    "no train labels": (lambda p: np.savez(p, train_images=np.zeros((4, 5, 5))),
                        r"lacks train_labels \(it holds \['train_images'\]\); a \.npz in MedMNIST layout"),
    "flat images": (lambda p: _npz(p, val_images=np.zeros((6, 12), np.uint8), val_labels=np.arange(6) % 2),
                    r"val_images must be numeric images shaped \(n, height, width\[, channels\]\); found "
                    r"uint8 of shape \(6, 12\)"),
    "text images": (lambda p: _npz(p, test_images=np.array([["a"]] * 4), test_labels=np.arange(4) % 2),
                    r"test_images must be numeric"),
    "a text file named .npz": (lambda p: p.write_text("label,file\n1,a.png\n"),
                               r"is not an \.npz archive \(a zip of \.npy arrays\): it begins with b'label,'"),
    "labels 0 and 2": (lambda p: _npz(p, test_images=np.zeros((6, 5, 5)), test_labels=np.arange(6) % 3),
                       r"test_labels holds the values 0, 1, 2; the kit's tasks are binary.*Map your labels to 0 and 1"),
    "float labels": (lambda p: _npz(p, val_images=np.zeros((4, 5, 5)), val_labels=np.array([0, 0.5, 1, 1])),
                     r"val_labels holds the values 0, 0\.5, 1"),
    "NaN labels": (lambda p: _npz(p, val_images=np.zeros((4, 5, 5)), val_labels=np.array([0, 1, np.nan, 1])),
                   r"val_labels holds 1 NaN or infinite value\(s\) \(first at index 2\)"),
    "one-hot labels": (lambda p: _npz(p, val_images=np.zeros((4, 5, 5)), val_labels=np.eye(2)[[0, 1, 0, 1]]),
                       r"val_labels is one-hot or multi-label, shape \(4, 2\).*val_labels\.argmax\(axis=1\)"),
    "more labels than images": (lambda p: _npz(p, val_images=np.zeros((4, 5, 5)), val_labels=np.arange(5) % 2),
                                r"val_labels has 5 labels for 4 images in val_images"),
    "empty train": (lambda p: np.savez(p, train_images=np.zeros((0, 5, 5)), train_labels=np.zeros(0)),
                    r"train_images and train_labels are empty"),
    "pixels in [0, 1]": (lambda p: np.savez(p, train_images=np.linspace(0, 1, 60 * 25).reshape(60, 5, 5),
                                            train_labels=np.arange(60) % 2),
                         r"train_images holds float64 pixels in \[0, 1\].*np\.round\(train_images \* 255\)"),
    "standardised pixels": (lambda p: np.savez(p, train_images=np.linspace(-2, 3, 60 * 25).reshape(60, 5, 5),
                                               train_labels=np.arange(60) % 2),
                            r"train_images holds pixel values from -2 to 3; the kit reads pixels as 0-255"),
    "16-bit pixels": (lambda p: np.savez(p, train_images=np.full((60, 5, 5), 4095, np.uint16),
                                         train_labels=np.arange(60) % 2),
                      r"train_images holds pixel values from 4095 to 4095"),
}


@pytest.mark.parametrize("case", list(BAD_NPZ))
def test_a_bad_npz_is_a_clear_error_that_names_the_file(tmp_path, case):
    make, match = BAD_NPZ[case]
    make(path := tmp_path / "mine.npz")
    with pytest.raises(ValueError, match=match) as info:
        load_user_data(path)
    assert str(path) in str(info.value)


def test_labels_stored_as_floats_bools_or_a_column_are_read_as_0_and_1(tmp_path):
    for labels in ((np.arange(60) % 2).astype(float), (np.arange(60) % 2).astype(bool), (np.arange(60) % 2)[:, None]):
        data = load_user_data(_labelled(tmp_path, labels))
        assert data.domain.train.labels.dtype == np.int64 and set(data.domain.train.labels.tolist()) == {0, 1}


def _labelled(tmp_path: Path, labels: np.ndarray) -> Path:
    np.savez(path := tmp_path / "mine.npz", train_images=np.zeros((60, 6, 6), np.float32) + 200, train_labels=labels)
    return path


# --- one class in a split, non-finite pixels: refused before any training -------------------------

def _one_class_npz(path: Path, split: str) -> Path:
    """Train 40, val 20, test 20 images; ``split`` holds class 0 only."""
    arrays = {}
    for name, n in (("train", 40), ("val", 20), ("test", 20)):
        arrays[f"{name}_images"] = np.full((n, 8, 8), 7, np.uint8)
        arrays[f"{name}_labels"] = np.zeros(n, int) if name == split else np.arange(n) % 2
    np.savez(path, **arrays)
    return path


@pytest.mark.parametrize("split", ["train", "val", "test"])
def test_a_split_with_one_class_is_refused_naming_the_split_and_its_counts(tmp_path, split):
    path = _one_class_npz(tmp_path / "mine.npz", split)
    n = {"train": 40, "val": 20, "test": 20}[split]
    with pytest.raises(ValueError, match=rf"the {split} split holds one class only \(class 0: {n}, class 1: 0\).*"
                                         rf"Add images of 'class 1' to {split}\. "
                                         rf"Received: {split}_class_counts=\{{'class 0': {n}, 'class 1': 0\}}"
                       ) as info:
        load_user_data(path)
    assert str(path) in str(info.value)


def test_a_one_class_train_without_val_is_blamed_on_the_class_not_on_too_few_images(tmp_path):
    np.savez(tmp_path / "mine.npz", train_images=np.zeros((40, 8, 8), np.uint8), train_labels=np.ones(40, int))
    with pytest.raises(ValueError, match=r"the train split holds one class only \(class 0: 0, class 1: 40\)"):
        load_user_data(tmp_path / "mine.npz")


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_pixels_in_an_npz_are_refused_naming_the_file_array_count_and_images(tmp_path, bad):
    images = np.full((30, 8, 8), 0.5, np.float32)
    images[3, 0, :2] = bad
    images[17, 4, 4] = bad
    np.savez(tmp_path / "mine.npz", train_images=images, train_labels=np.arange(30) % 2)
    with pytest.raises(ValueError, match=r"mine\.npz: `train_images` must hold finite pixel values; 3 value\(s\) "
                                         r"are NaN or infinite, in 2 image\(s\) \(indices 3, 17\).*Received: "):
        load_user_data(tmp_path / "mine.npz")


# --- paths --------------------------------------------------------------------------------------

def test_neither_a_folder_nor_an_npz_is_refused(tmp_path):
    (tmp_path / "notes.txt").write_text("not data")
    with pytest.raises(ValueError, match=r"notes\.txt is neither a folder nor a \.npz file"):
        load_user_data(tmp_path / "notes.txt")


def test_a_relative_path_is_looked_up_in_the_data_directory(tmp_path, monkeypatch):
    data_dir = tmp_path / "datasets"
    data_dir.mkdir()
    _npz(data_dir / "mine.npz")
    _patients(data_dir / "scans")
    monkeypatch.setenv(config.DATA_DIR_ENV, str(data_dir))
    monkeypatch.chdir(tmp_path)
    assert load_user_data("mine.npz").description["path"] == str(data_dir / "mine.npz")
    assert load_user_data("scans").description["path"] == str(data_dir / "scans")
    _npz(tmp_path / "mine.npz", n=20)  # here wins over the data directory
    assert load_user_data("mine.npz").description["path"] == str(tmp_path / "mine.npz")


def test_a_missing_path_names_where_it_was_looked_for(tmp_path, monkeypatch):
    monkeypatch.setenv(config.DATA_DIR_ENV, str(tmp_path / "datasets"))
    monkeypatch.chdir(tmp_path)
    with pytest.raises(FileNotFoundError, match=r"No such file or folder: nowhere \(also looked in the "
                                                r"data directory .*datasets\)"):
        load_user_data("nowhere")
