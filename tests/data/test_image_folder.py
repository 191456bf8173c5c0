import hashlib
import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from crossdomain_kit import config
from crossdomain_kit.data.image_folder import (ImageFolderDomain, MissingGroupIdWarning, kaggle_patient_id,
                                              load_image_folder)
from crossdomain_kit.data.pipeline import make_pipeline


def test_importing_the_loader_does_not_import_tensorflow():
    code = "import sys, crossdomain_kit.data.image_folder; assert 'tensorflow' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def _image(path: Path, mode="RGB", size=(20, 16), value=128, fmt=None):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, (value, value // 2, 255 - value)).convert(mode).save(path, format=fmt)
    return path


def _corrupt_jpeg(path: Path):
    _image(path, size=(64, 64))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


def _snapshot(root: Path) -> dict:
    return {p: (hashlib.md5(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
            for p in root.rglob("*") if p.is_file()}


def _two_class(root: Path, split="train", n=(4, 6), prefix=""):
    for offset, class_name, count in zip((0, 5), ("cats", "dogs"), n):
        for i in range(count):  # distinct pixels, so no two files are byte-identical
            _image(root / split / class_name / f"{prefix}{class_name}{i}.png", value=10 * i + offset + len(prefix))


@pytest.fixture
def messy(tmp_path):
    """A folder with every kind of trouble the loader must survive."""
    root = tmp_path / "messy"
    normal, pneumonia = root / "train" / "NORMAL", root / "train" / "PNEUMONIA"
    modes = ["P", "L", "RGB", "RGBA", "LA"]
    for i, mode in enumerate(modes):
        _image(normal / f"IM-00{i}0-0001.png", mode=mode, size=(20 + 7 * i, 30 - 3 * i), value=40 * i)
        _image(pneumonia / f"person{i}_bacteria_{i}.png", mode=mode, size=(12, 40), value=200 - 30 * i)
    _image(normal / "IM-0900-0001.jpeg", mode="L", size=(50, 50))
    _image(normal / "nested" / "IM-0910-0001.gif", mode="P", size=(9, 9))
    _image(pneumonia / "person9_virus_1.bmp", mode="RGB", size=(15, 15))
    _corrupt_jpeg(pneumonia / "person10_virus_2.jpeg")
    (pneumonia / "person11_virus_3.jpg").write_text("not an image at all")
    (root / "train" / "README.txt").write_text("notes")
    (normal / "scan_notes.csv").write_text("a,b")
    (normal / ".DS_Store").write_bytes(b"\x00\x01junk")
    (normal / "._IM-0010-0001.png").write_bytes(b"\x00\x05AppleDouble")
    for i, mode in enumerate(["RGB", "L"]):
        _image(root / "test" / "NORMAL" / f"IM-9{i}00-0001.jpeg", mode=mode)
        _image(root / "test" / "PNEUMONIA" / f"person9{i}_virus_1.png", mode=mode)
    return root


def _load(path, **kwargs):
    kwargs.setdefault("progress", False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return load_image_folder(path, **kwargs)


def test_messy_folder_skips_bad_files_by_name_and_touches_nothing(messy):
    before = _snapshot(messy)
    with pytest.warns(UserWarning, match=r"Skipped 2 unusable.*person10_virus_2\.jpeg.*person11_virus_3\.jpg"):
        domain = load_image_folder(messy, val_fraction=0, progress=False)
    assert _snapshot(messy) == before
    assert isinstance(domain, ImageFolderDomain) and domain.name == "messy" and domain.val is None
    skipped = dict(domain.skipped)
    assert sorted(Path(p).name for p in skipped) == ["person10_virus_2.jpeg", "person11_virus_3.jpg"]
    assert "Unknown image file format" in skipped[str(messy / "train/PNEUMONIA/person11_virus_3.jpg")]
    assert sorted(Path(p).name for p in domain.ignored) == ["README.txt", "scan_notes.csv"]
    assert domain.class_names == ("NORMAL", "PNEUMONIA")
    assert domain.train.class_counts() == {"NORMAL": 7, "PNEUMONIA": 6}
    assert any(f.endswith("nested/IM-0910-0001.gif") for f in domain.train.files)
    assert domain.test.class_counts() == {"NORMAL": 2, "PNEUMONIA": 2}


@pytest.mark.parametrize("channels", [1, 3])
def test_mixed_modes_and_sizes_all_decode_to_the_model_shape(messy, channels):
    domain = _load(messy, val_fraction=0)
    dataset = make_pipeline(domain.train, preprocess=lambda x: x, image_size=(24, 32),
                            channels=channels, batch_size=5)
    batches = list(dataset.as_numpy_iterator())
    images = np.concatenate([x for x, _ in batches])
    assert images.shape == (len(domain.train), 24, 32, channels)
    assert np.all((images >= 0) & (images <= 255))
    np.testing.assert_array_equal(np.concatenate([y for _, y in batches])[:, 0], domain.train.labels)


def test_grey_palette_and_alpha_images_become_the_right_pixels(tmp_path):
    colour = (200, 100, 50)
    class_a = tmp_path / "train" / "a"
    class_a.mkdir(parents=True)
    for name, mode in [("grey.png", "L"), ("pal.png", "P"), ("rgba.png", "RGBA"), ("rgb.jpeg", "RGB")]:
        Image.new("RGB", (8, 8), colour).convert(mode).save(class_a / name)
    _image(tmp_path / "train" / "b" / "x.png")
    domain = _load(tmp_path, val_fraction=0, deduplicate=False)
    rgb = next(make_pipeline(domain.train, preprocess=lambda x: x, image_size=8, channels=3,
                             batch_size=8).as_numpy_iterator())[0]
    by_name = dict(zip((Path(f).name for f in domain.train.files), rgb))
    np.testing.assert_allclose(by_name["grey.png"], 124, atol=1)  # PIL's luma of the colour, in all channels
    np.testing.assert_allclose(by_name["pal.png"][0, 0], colour, atol=8)
    np.testing.assert_array_equal(by_name["rgba.png"][0, 0], colour)  # alpha dropped
    np.testing.assert_allclose(by_name["rgb.jpeg"][0, 0], colour, atol=4)


def test_one_class_folder_is_rejected(tmp_path):
    _image(tmp_path / "train" / "NORMAL" / "a.png")
    with pytest.raises(ValueError, match=r"single class folder \['NORMAL'\].*Received: path="):
        _load(tmp_path)


def test_three_classes_are_rejected(tmp_path):
    for name in ("a", "b", "c"):
        _image(tmp_path / "train" / name / "x.png")
    with pytest.raises(ValueError, match=r"3 class folders.*exactly two"):
        _load(tmp_path)


@pytest.mark.parametrize("make_empty", [
    lambda root: (root / "train").mkdir(parents=True),
    lambda root: [(root / "train" / c).mkdir(parents=True) for c in ("a", "b")],
    lambda root: (root / "train" / "a").mkdir(parents=True) or (root / "train" / "a" / "notes.txt").write_text("x"),
])
def test_empty_train_split_is_rejected(tmp_path, make_empty):
    make_empty(tmp_path)
    with pytest.raises(ValueError, match=r"train/ holds no image files"):
        _load(tmp_path)


def test_empty_test_split_is_rejected(tmp_path):
    _two_class(tmp_path)
    (tmp_path / "test" / "cats").mkdir(parents=True)
    with pytest.raises(ValueError, match=r"test/ holds no image files"):
        _load(tmp_path)


def test_a_class_with_only_broken_files_is_rejected(tmp_path):
    _two_class(tmp_path)
    _corrupt_jpeg(tmp_path / "test" / "cats" / "bad.jpeg")
    _image(tmp_path / "test" / "dogs" / "ok.png")
    with pytest.raises(ValueError, match=r"test/cats/ has no usable image.*Received: class_name='cats'"):
        _load(tmp_path)


def test_splits_must_name_the_same_classes(tmp_path):
    _two_class(tmp_path)
    _image(tmp_path / "test" / "cats" / "a.png")
    _image(tmp_path / "test" / "horses" / "b.png")
    with pytest.raises(ValueError, match=r"same class folders as train/ \['cats', 'dogs'\]"):
        _load(tmp_path)


def test_missing_train_folder_names_what_was_found(tmp_path):
    _image(tmp_path / "test" / "NORMAL" / "a.png")
    with pytest.raises(ValueError, match=r"must contain one folder per class.*or a train/ folder.*"
                                         r"found folders \['test'\]"):
        _load(tmp_path)


def test_a_folder_with_nothing_inside_names_both_layouts(tmp_path):
    (tmp_path / "a.png").write_bytes(b"")
    with pytest.raises(ValueError, match=r"must contain one folder per class.*found folders \[\]"):
        _load(tmp_path)


# --- the class-folder layout: ROOT/<class>/..., nothing else -------------------------------------

def _class_folders(root: Path, n=(10, 12)):
    for offset, class_name, count in zip((0, 5), ("cats", "dogs"), n):
        for i in range(count):
            _image(root / class_name / ("nested" if i % 3 == 0 else "") / f"{class_name}{i}.png",
                   value=10 * i + offset)
    return root


def test_a_folder_of_class_folders_is_the_training_pool_with_val_and_test_carved_out(tmp_path):
    _class_folders(tmp_path)
    (tmp_path / "README.txt").write_text("notes")
    with pytest.warns(MissingGroupIdWarning, match=r"22 of 22 training files have no group id") as record:
        domain = load_image_folder(tmp_path, val_fraction=0.2, test_fraction=0.25, seed=1, progress=False)
    assert sum(issubclass(w.category, MissingGroupIdWarning) for w in record) == 1  # said once, not per split
    assert (domain.layout, domain.carved, domain.ungrouped) == ("class folders", ("val", "test"), 22)
    assert domain.class_names == ("cats", "dogs") and domain.ignored == (str(tmp_path / "README.txt"),)
    files = [f for split in domain.splits().values() for f in split.files]
    assert sorted(files) == sorted(str(p) for p in tmp_path.rglob("*.png"))  # every image in exactly one split
    for split in domain.splits().values():
        assert split.labels.tolist() == [int("/dogs/" in f) for f in split.files]
        assert set(split.class_counts().values()) != {0}
    assert {name: len(split) for name, split in domain.splits().items()} == {"train": 12, "val": 5, "test": 5}
    again = _load(tmp_path, val_fraction=0.2, test_fraction=0.25, seed=1)
    assert all(a.files == b.files for a, b in zip(again.splits().values(), domain.splits().values()))


def test_class_folders_carve_val_only_by_default_and_keep_patients_together(tmp_path):
    for label, class_name in enumerate(("NORMAL", "PNEUMONIA")):
        for patient in range(6):
            for k in range(3):
                name = f"IM-{patient:04d}-{k:04d}.png" if label == 0 else f"person{patient}_virus_{k}.png"
                _image(tmp_path / class_name / name, value=20 * patient + k + 7 * label)
    domain = load_image_folder(tmp_path, progress=False)
    assert (domain.layout, domain.carved, domain.ungrouped, domain.test) == ("class folders", ("val",), 0, None)
    assert not {kaggle_patient_id(f) for f in domain.train.files} & {kaggle_patient_id(f) for f in domain.val.files}


def test_split_folders_report_their_layout_and_what_was_carved(tmp_path):
    _two_class(tmp_path, n=(8, 8))
    with pytest.warns(MissingGroupIdWarning):
        domain = load_image_folder(tmp_path, test_fraction=0.3, progress=False)
    assert (domain.layout, domain.carved, domain.ungrouped) == ("split folders", ("val", "test"), 16)
    assert len(domain.test) >= 2


def test_a_single_class_folder_at_the_top_is_one_class_not_a_missing_train_folder(tmp_path):
    _image(tmp_path / "NORMAL" / "a.png")
    with pytest.raises(ValueError, match=r"holds a single class folder \['NORMAL'\]; a binary task needs two"):
        _load(tmp_path)


def test_too_few_groups_to_carve_test_names_the_split(tmp_path):
    _class_folders(tmp_path, n=(2, 3))  # val takes one of the two cats: one is left for test
    with pytest.raises(ValueError, match=r"carve a test split.*class 0 has 1 group.*Add images, or a test/ folder "
                                         r"beside train/.*Received: test_fraction=0.5"):
        _load(tmp_path, group_by=None, val_fraction=0.3, test_fraction=0.5)


def test_missing_folder_names_both_places_tried(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValueError, match=r"No image folder at .*nowhere or .*data.*Received: path='nowhere'"):
        _load("nowhere", data_dir=tmp_path / "data")


def test_relative_path_is_found_in_the_data_directory(tmp_path, monkeypatch):
    _two_class(tmp_path / "data" / "pets")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(config.DATA_DIR_ENV, str(tmp_path / "data"))
    assert _load("pets", val_fraction=0).root == str(tmp_path / "data" / "pets")


def test_positive_class_sets_label_one(tmp_path):
    _two_class(tmp_path, n=(4, 6))
    default = _load(tmp_path, val_fraction=0)
    assert default.class_names == ("cats", "dogs") and default.train.labels.sum() == 6
    flipped = _load(tmp_path, val_fraction=0, positive_class="cats")
    assert flipped.class_names == ("dogs", "cats") and flipped.train.labels.sum() == 4
    assert flipped.train.files == default.train.files
    with pytest.raises(ValueError, match=r"Received: positive_class='horses'"):
        _load(tmp_path, positive_class="horses")


@pytest.mark.parametrize("name, group", [
    ("person123_bacteria_456.jpeg", "person123"),
    ("/data/train/PNEUMONIA/person7_virus_12.jpeg", "person7"),
    ("IM-0115-0001.jpeg", "IM-0115"),
    ("IM-0429-0001-0002.jpeg", "IM-0429"),
    ("NORMAL2-IM-0395-0001.jpeg", "NORMAL2-IM-0395"),
    ("scan_001.png", None),
])
def test_kaggle_patient_id(name, group):
    assert kaggle_patient_id(name) == group


def _patients(root: Path, n_normal=30, n_pneumonia=40, images_per_patient=3):
    for p in range(n_normal):
        for k in range(images_per_patient):
            _image(root / "train" / "NORMAL" / f"IM-{p:04d}-{k:04d}.jpeg", value=(p * 7 + k) % 250, size=(8, 8))
    for p in range(n_pneumonia):
        for k in range(images_per_patient):
            kind = "virus" if p % 2 else "bacteria"
            _image(root / "train" / "PNEUMONIA" / f"person{p}_{kind}_{k}.jpeg", value=(p * 5 + k) % 250,
                   size=(9, 9))


def test_validation_is_carved_by_patient_and_by_class(tmp_path):
    _patients(tmp_path)
    domain = _load(tmp_path, val_fraction=0.2, seed=3, deduplicate=False)
    train_groups = {kaggle_patient_id(f) for f in domain.train.files}
    val_groups = {kaggle_patient_id(f) for f in domain.val.files}
    assert not train_groups & val_groups
    assert len(domain.train) + len(domain.val) == 210
    assert domain.val.class_counts() == {"NORMAL": 18, "PNEUMONIA": 24}
    again = _load(tmp_path, val_fraction=0.2, seed=3, deduplicate=False)
    other = _load(tmp_path, val_fraction=0.2, seed=4, deduplicate=False)
    assert again.val.files == domain.val.files and other.val.files != domain.val.files


def test_files_without_group_ids_are_their_own_group_with_a_warning(tmp_path):
    _two_class(tmp_path, n=(6, 6))
    with pytest.warns(UserWarning, match=r"12 of 12 training files have no group id"):
        domain = load_image_folder(tmp_path, progress=False)
    assert len(domain.val) >= 2 and len(domain.train) + len(domain.val) == 12


def test_a_custom_group_by_keeps_its_groups_together(tmp_path):
    _two_class(tmp_path, n=(8, 8))
    pair = lambda f: Path(f).stem[:-1] + str(int(Path(f).stem[-1]) // 2)  # noqa: E731  (cats0+cats1, ...)
    domain = _load(tmp_path, group_by=pair, val_fraction=0.25, seed=1)
    assert len(domain.val) == 4
    assert not {pair(f) for f in domain.train.files} & {pair(f) for f in domain.val.files}


def test_too_few_groups_to_carve_is_a_clear_error(tmp_path):
    _two_class(tmp_path)
    with pytest.raises(ValueError, match=r"needs at least 2.*Received: val_fraction=0.15"):
        _load(tmp_path, group_by=lambda f: Path(f).parent.name)


def test_a_val_folder_is_used_as_given(tmp_path):
    _two_class(tmp_path)
    _two_class(tmp_path, split="validation", n=(2, 2), prefix="v")
    domain = _load(tmp_path)
    assert len(domain.train) == 10 and len(domain.val) == 4 and domain.test is None


@pytest.mark.parametrize("value", [1.0, -0.1, "0.2"])
@pytest.mark.parametrize("name", ["val_fraction", "test_fraction"])
def test_bad_fractions(tmp_path, name, value):
    with pytest.raises(ValueError, match=rf"Received: {name}="):
        _load(tmp_path, **{name: value})


def test_duplicates_are_removed_from_train_and_test_is_never_thinned(tmp_path):
    _two_class(tmp_path, n=(5, 5))
    cats = tmp_path / "train" / "cats"
    (cats / "copy_of_cat0.png").write_bytes((cats / "cats0.png").read_bytes())
    (tmp_path / "test" / "cats").mkdir(parents=True)
    (tmp_path / "test" / "dogs").mkdir(parents=True)
    (tmp_path / "test" / "cats" / "t.png").write_bytes((cats / "cats1.png").read_bytes())
    (tmp_path / "test" / "cats" / "t_again.png").write_bytes((cats / "cats1.png").read_bytes())
    _image(tmp_path / "test" / "dogs" / "d.png", value=77)
    (tmp_path / "train" / "dogs" / "cat_in_dogs.png").write_bytes((cats / "cats2.png").read_bytes())
    before = _snapshot(tmp_path)
    with pytest.warns(UserWarning) as caught:
        domain = load_image_folder(tmp_path, val_fraction=0, group_by=None, progress=False)
    messages = " | ".join(str(w.message) for w in caught)
    assert "Removed 2 byte-identical" in messages and "Skipped 2 unusable" in messages
    assert _snapshot(tmp_path) == before
    names = {(Path(a).name, Path(b).name) for a, b in domain.duplicates}
    assert names == {("copy_of_cat0.png", "cats0.png"), ("cats1.png", "t.png")}
    assert {Path(p).name for p, _ in domain.skipped} == {"cats2.png", "cat_in_dogs.png"}
    assert len(domain.test) == 3 and len(domain.train) == 10 + 2 - 4


def test_arguments_are_checked(tmp_path):
    with pytest.raises(ValueError, match=r"Received: group_by='person'"):
        _load(tmp_path, group_by="person")
    with pytest.raises(ValueError, match=r"Received: path=3"):
        _load(3)
    with pytest.raises(ValueError, match=r"Received: seed=-1"):
        _load(tmp_path, seed=-1)


# --- the real Kaggle chest X-ray folder (skipped when ../shared/datasets is absent) ---

@pytest.fixture(scope="module")
def chest_xray():
    root = config.data_dir() / "chest_xray"
    if not (root / "train").is_dir():
        pytest.skip(f"real chest X-ray folder not found at {root} (set CROSSDOMAIN_DATA_DIR)")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        domain = load_image_folder("chest_xray", positive_class="PNEUMONIA", progress=False)
    return domain, [str(w.message) for w in caught]


def test_real_chest_xray_counts_and_balance(chest_xray):
    domain, _ = chest_xray
    assert domain.class_names == ("NORMAL", "PNEUMONIA") and domain.skipped == ()
    assert domain.test.class_counts() == {"NORMAL": 234, "PNEUMONIA": 390}
    counts = {c: domain.train.class_counts()[c] + domain.val.class_counts()[c] for c in domain.class_names}
    removed = [Path(p).parent.name for p, _ in domain.duplicates]
    assert counts == {"NORMAL": 1341 - removed.count("NORMAL"), "PNEUMONIA": 3875 - removed.count("PNEUMONIA")}
    assert domain.train.positive_fraction == pytest.approx(3875 / 5216, abs=0.01)
    assert domain.val.positive_fraction == pytest.approx(domain.train.positive_fraction, abs=0.02)
    assert len(domain.val) / (len(domain.train) + len(domain.val)) == pytest.approx(0.15, abs=0.01)


def test_real_chest_xray_split_keeps_patients_apart_and_drops_copies(chest_xray):
    domain, messages = chest_xray
    train = {kaggle_patient_id(f) for f in domain.train.files}
    val = {kaggle_patient_id(f) for f in domain.val.files}
    assert None not in train | val and not train & val
    assert len(domain.duplicates) == 26  # 24 groups of identical files in train, two of them triples
    for removed, kept in domain.duplicates:
        assert Path(removed).read_bytes() == Path(kept).read_bytes()
        assert kaggle_patient_id(removed) == kaggle_patient_id(kept)
    kept_files = set(domain.train.files) | set(domain.val.files)
    assert not {removed for removed, _ in domain.duplicates} & kept_files
    assert any("appear in both train/ and test/" in m for m in messages)


def test_real_chest_xray_decodes_to_resnet_batches(chest_xray):
    domain, _ = chest_xray
    batches = list(make_pipeline(domain.val, backbone="resnet50", batch_size=16).take(2).as_numpy_iterator())
    images = np.concatenate([x for x, _ in batches])
    assert images.shape == (32, 224, 224, 3) and images.dtype == np.float32
    assert np.isfinite(images).all() and -124 < images.min() < images.max() < 152
    np.testing.assert_array_equal(np.concatenate([y for _, y in batches])[:, 0], domain.val.labels[:32])
    assert os.path.isfile(domain.val.files[0])
