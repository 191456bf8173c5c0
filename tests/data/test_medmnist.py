import hashlib
import io
import json
import re
import sys
from pathlib import Path

import numpy as np
import pytest
from tests._http_server import http_server, send_body, serve_folder, unreachable_url  # noqa: F401  (fixture)

from crossdomain_kit import config
from crossdomain_kit.data import medmnist
from crossdomain_kit.data.domains import SPLITS
from crossdomain_kit.data.download import DownloadError
from crossdomain_kit.data.medmnist import (fetch_medmnist, iter_npz_splits, load_medmnist,
                                      load_medmnist_domain, medmnist_dataset_of, medmnist_info,
                                      medmnist_names, medmnist_registry, medmnist_url)

# Split sizes and positive counts (kit labels: disease = 1) of the real 28 px files.
REAL_COUNTS = {
    "pneumoniamnist": {"train": (4708, 3494), "val": (524, 389), "test": (624, 390)},
    "breastmnist": {"train": (546, 147), "val": (78, 21), "test": (156, 42)},
}


def _listing(folder):
    return sorted(p.name for p in Path(folder).iterdir())


@pytest.fixture(autouse=True)
def _no_mirror_settings(monkeypatch):
    """The official addresses and the packaged registry, whatever the shell has set."""
    monkeypatch.delenv(config.MIRROR_URL_ENV, raising=False)
    monkeypatch.delenv(config.REGISTRY_ENV, raising=False)


def _arrays(n=6, size=28, **overrides):
    rng = np.random.default_rng(0)
    arrays = {}
    for split in SPLITS:
        arrays[f"{split}_images"] = rng.integers(0, 256, (n, size, size), dtype=np.uint8)
        arrays[f"{split}_labels"] = (np.arange(n) % 2).astype(np.uint8).reshape(n, 1)
    arrays.update(overrides)
    return {key: value for key, value in arrays.items() if value is not None}


def _write(path, **overrides):
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, **_arrays(**overrides))
    return path


# --- real data -------------------------------------------------------------------------------

@pytest.fixture
def real_dir():
    folder = config.data_dir()
    missing = [f"{name}.npz" for name in REAL_COUNTS if not (folder / f"{name}.npz").is_file()]
    if missing:
        pytest.skip(f"real MedMNIST files {missing} are not in {folder} "
                    f"(set {config.DATA_DIR_ENV} to a folder that holds them)")
    return folder


@pytest.mark.parametrize("name", list(REAL_COUNTS))
def test_real_files_load_with_official_counts_and_class_balance(real_dir, name):
    domain = load_medmnist_domain(name, download=False)
    info = medmnist_info(name)
    assert domain.name == name and domain.class_names == tuple(info["class_names"])
    for split_name, split in domain.splits().items():
        n, n_positive = REAL_COUNTS[name][split_name]
        assert len(split) == n == info["n_samples"][split_name]
        assert split.images.shape == (n, 28, 28, 1) and split.images.dtype == np.uint8
        assert split.class_counts()[split.positive_class] == n_positive
        assert 0 <= split.images.min() and split.images.max() > 200  # real 0-255 pixels


def test_real_pneumonia_has_a_prior_shift_between_val_and_test(real_dir):
    val = load_medmnist("pneumoniamnist", split="val", download=False)
    test = load_medmnist("pneumoniamnist", split="test", download=False)
    assert val.positive_fraction == pytest.approx(0.742, abs=1e-3)
    assert test.positive_fraction == pytest.approx(0.625, abs=1e-3)
    assert test.class_names == ("normal", "pneumonia")


def test_real_breast_labels_are_remapped_so_malignant_is_positive(real_dir):
    train = load_medmnist("breastmnist", split="train", download=False)
    with np.load(real_dir / "breastmnist.npz") as raw:
        official = raw["train_labels"][:, 0]
    assert train.positive_class == "malignant"
    np.testing.assert_array_equal(train.labels, 1 - official)  # official 0 = malignant
    assert train.class_counts() == {"normal or benign": 399, "malignant": 147}


def test_a_local_file_with_another_md5_is_used_not_rejected(real_dir):
    path = fetch_medmnist("pneumoniamnist", download=False)
    digest = hashlib.md5(path.read_bytes()).hexdigest()
    assert path == real_dir / "pneumoniamnist.npz"
    assert digest != medmnist_info("pneumoniamnist")["files"]["28"]["md5"]  # re-assembled copy
    assert len(load_medmnist("pneumoniamnist", split="val", download=False)) == 524


# --- local files: naming and shapes ----------------------------------------------------------

@pytest.mark.parametrize("labels_shape", [(6, 1), (6,)])
@pytest.mark.parametrize("images_shape", [(6, 28, 28), (6, 28, 28, 1)])
def test_labels_of_both_shapes_and_images_with_or_without_channel_load(tmp_path, labels_shape,
                                                                      images_shape):
    labels = (np.arange(6) % 2).astype(np.uint8).reshape(labels_shape)
    images = np.full(images_shape, 7, np.uint8)
    _write(tmp_path / "pneumoniamnist.npz", train_labels=labels, train_images=images)
    split = load_medmnist("pneumoniamnist", data_dir=tmp_path, download=False)
    assert split.images.shape == (6, 28, 28, 1) and split.labels.tolist() == [0, 1, 0, 1, 0, 1]
    assert (split.domain, split.split) == ("pneumoniamnist", "train")


def test_breast_labels_are_flipped_on_synthetic_data(tmp_path):
    _write(tmp_path / "breastmnist.npz", val_labels=np.array([0, 0, 1, 1, 1, 1], np.uint8))
    val = load_medmnist("BreastMNIST", split="val", data_dir=tmp_path, download=False)
    assert val.labels.tolist() == [1, 1, 0, 0, 0, 0]
    assert val.class_names == ("normal or benign", "malignant")


def test_official_and_alias_file_names_are_found(tmp_path):
    _write(tmp_path / "pneumoniamnist_28.npz")
    _write(tmp_path / "breastmnist_64.npz", size=64)
    assert fetch_medmnist("pneumoniamnist", 28, tmp_path, download=False).name == "pneumoniamnist_28.npz"
    domain = load_medmnist_domain("breastmnist", 64, tmp_path, download=False)
    assert domain.train.images.shape == (6, 64, 64, 1) and list(domain.splits()) == list(SPLITS)
    _write(tmp_path / "pneumoniamnist.npz")  # the official name wins over the alias
    assert fetch_medmnist("pneumoniamnist", 28, tmp_path, download=False).name == "pneumoniamnist.npz"


# --- bad files: clear error, file untouched --------------------------------------------------

def _npz_bytes(**overrides):
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **_arrays(**overrides))
    return buffer.getvalue()


def _npy_bytes():
    buffer = io.BytesIO()
    np.save(buffer, np.zeros((6, 28, 28), np.uint8))
    return buffer.getvalue()


def _flip_middle(raw):
    return raw[:200] + bytes(b ^ 0xFF for b in raw[200:600]) + raw[600:]


CORRUPT = {
    "truncated": (lambda: _npz_bytes()[:5000], r"not a readable \.npz"),
    "empty": (lambda: b"", r"is empty \(0 bytes\)"),
    "not numpy": (lambda: b"<html>Too many requests</html>" * 20, r"is not an \.npz archive.*begins with b'<html>'"),
    "corrupt member": (lambda: _flip_middle(_npz_bytes()), r"is corrupt|not a readable"),
    "a .npy file": (_npy_bytes, r"single \.npy array"),
}


@pytest.mark.parametrize("case", list(CORRUPT))
def test_corrupt_files_raise_a_clear_error_and_stay_untouched(tmp_path, case):
    make, match = CORRUPT[case]
    path = tmp_path / "pneumoniamnist.npz"
    path.write_bytes(raw := make())
    # download=True: a local file, even a broken one, is never replaced behind the user's back
    with pytest.raises(ValueError, match=match) as info:
        load_medmnist("pneumoniamnist", data_dir=tmp_path)
    message = str(info.value)
    assert str(path) in message and "pneumoniamnist.npz?download=1" in message
    assert path.read_bytes() == raw and _listing(tmp_path) == ["pneumoniamnist.npz"]


BAD_CONTENTS = {
    "missing key": (dict(val_labels=None), "val", r"lacks val_labels"),
    "wrong image size": (dict(size=32), "train", r"32x32 images in train_images; expected 28x28"),
    "flat images": (dict(test_images=np.zeros((6, 784), np.uint8)), "test",
                    r"test_images of shape \(6, 784\)"),
    "three channels": (dict(train_images=np.zeros((6, 28, 28, 3), np.uint8)), "train",
                       r"shape \(6, 28, 28, 3\)"),
    "no images": (dict(n=0), "train", r"no images in train_images"),
    "labels (n, 2)": (dict(train_labels=np.zeros((6, 2), np.uint8)), "train",
                      r"train_labels of shape \(6, 2\)"),
    "label count": (dict(train_labels=np.zeros(5, np.uint8)), "train", r"5 entries in train_labels for 6"),
    "non-binary labels": (dict(train_labels=np.array([0, 1, 2, 0, 1, 5])), "train",
                          r"other than 0 and 1 in train_labels \(found \[2, 5\]\)"),
    "text labels": (dict(train_labels=np.array(list("abcdef"))), "train", r"dtype <U1"),
    "NaN pixels": (dict(train_images=np.where(np.eye(28) > 0, np.nan, 0.5)[None].repeat(6, 0)),
                   "train", r"168 NaN or infinite pixel\(s\) in train_images"),
    "float pixels": (dict(train_images=np.zeros((6, 28, 28), np.float32)), "train",
                     r"dtype float32; expected uint8"),
}


@pytest.mark.parametrize("case", list(BAD_CONTENTS))
def test_files_with_wrong_contents_name_the_file_and_the_problem(tmp_path, case):
    overrides, split, match = BAD_CONTENTS[case]
    path = _write(tmp_path / "pneumoniamnist.npz", **overrides)
    raw = path.read_bytes()
    with pytest.raises(ValueError, match=match) as info:
        load_medmnist("pneumoniamnist", split=split, data_dir=tmp_path, download=False)
    assert str(path) in str(info.value) and "official PneumoniaMNIST" in str(info.value)
    assert path.read_bytes() == raw


# --- the layout reader and the file names, shared with data.user_data --------------------------

@pytest.mark.parametrize("file_name, expected", [
    ("pneumoniamnist.npz", ("pneumoniamnist", 28)), ("pneumoniamnist_28.npz", ("pneumoniamnist", 28)),
    ("/data/breastmnist_224.npz", ("breastmnist", 224)), ("breastmnist_32.npz", None),
    ("mine.npz", None), ("BreastMNIST.npz", None),
])
def test_the_dataset_a_file_is_named_for(file_name, expected):
    assert medmnist_dataset_of(file_name) == expected


def test_iter_npz_splits_reads_split_by_split_and_passes_over_optional_splits(tmp_path):
    path = _write(tmp_path / "mine.npz", val_labels=None)
    read = [(split, images.shape, labels.shape) for split, images, labels
            in iter_npz_splits(path, ("test", "val", "train"), optional=("val",))]
    assert read == [("test", (6, 28, 28), (6, 1)), ("train", (6, 28, 28), (6, 1))]  # as stored
    with pytest.raises(ValueError, match=r"mine\.npz lacks val_labels \(it holds \[") as info:
        list(iter_npz_splits(path))
    assert str(info.value).startswith(str(path))
    seen = []
    with pytest.raises(KeyError, match="mine: lacks val_labels"):  # `bad` makes the error, after train
        for split, _, _ in iter_npz_splits(path, bad=lambda problem: KeyError(f"mine: {problem}")):
            seen.append(split)
    assert seen == ["train"]


# --- missing files: error or verified download -----------------------------------------------

def test_missing_file_without_download_names_file_url_and_folder(tmp_path):
    folder = tmp_path / "data"
    with pytest.raises(FileNotFoundError) as info:
        load_medmnist("breastmnist", 128, data_dir=folder, download=False)
    message = str(info.value)
    for part in ("breastmnist_128.npz", str(folder), config.DATA_DIR_ENV, "download=True",
                 "https://zenodo.org/records/10519652/files/breastmnist_128.npz?download=1"):
        assert part in message
    assert not folder.exists()


def _registry_with(name, size, **record):
    registry = medmnist_registry()
    registry["datasets"][name]["files"][str(size)].update(record)
    return lambda: registry


def test_offline_download_names_file_url_and_folder_and_leaves_nothing(tmp_path, monkeypatch):
    url = unreachable_url("/pneumoniamnist.npz")
    monkeypatch.setattr(medmnist, "medmnist_registry", _registry_with("pneumoniamnist", 28, url=url))
    with pytest.raises(DownloadError) as info:
        fetch_medmnist("pneumoniamnist", data_dir=tmp_path, retries=0, timeout=0.5, progress=False)
    message = str(info.value)
    for part in (url, str(tmp_path / "pneumoniamnist.npz"), config.DATA_DIR_ENV, "network error"):
        assert part in message
    assert _listing(tmp_path) == []


@pytest.mark.parametrize("md5_ok", [True, False], ids=["md5 ok", "md5 wrong"])
def test_download_is_verified_then_reused(http_server, tmp_path, monkeypatch, md5_ok):
    body = _npz_bytes()
    digest = hashlib.md5(body).hexdigest() if md5_ok else "f" * 32
    url = http_server.route("/breastmnist.npz", lambda h, hit: send_body(h, body))
    monkeypatch.setattr(medmnist, "medmnist_registry",
                        _registry_with("breastmnist", 28, url=url, md5=digest))
    if not md5_ok:
        with pytest.raises(DownloadError, match=r"has md5 .* expected f{32}"):
            load_medmnist("breastmnist", data_dir=tmp_path)
        assert _listing(tmp_path) == []
        return
    first = load_medmnist("breastmnist", split="test", data_dir=tmp_path)
    again = load_medmnist("breastmnist", split="val", data_dir=tmp_path)
    assert len(first) == len(again) == 6 and http_server.hits["/breastmnist.npz"] == 1
    assert _listing(tmp_path) == ["breastmnist.npz"]


# --- arguments and registry ------------------------------------------------------------------

@pytest.mark.parametrize("kwargs, match", [
    (dict(name="chestmnist"), r"Received: name='chestmnist'"),
    (dict(name=None), r"Received: name=None"),
    (dict(size=32), r"Received: size=32"),
    (dict(size="28"), r"Received: size='28'"),
    (dict(split="validation"), r"Received: split='validation'"),
])
def test_bad_arguments_are_rejected(tmp_path, kwargs, match):
    args = {"name": "pneumoniamnist", "data_dir": tmp_path, "download": False, **kwargs}
    with pytest.raises(ValueError, match=match):
        load_medmnist(**args)


def test_registry_names_source_and_every_file():
    registry = medmnist_registry()
    assert "10519652" in registry["source"]["record"] and "CC BY 4.0" in registry["source"]["licence"]
    assert "MedMNIST v2" in registry["source"]["citation"]
    assert medmnist_names() == ("pneumoniamnist", "breastmnist")
    for name in medmnist_names():
        info = medmnist_info(name)
        assert sorted(info["files"], key=int) == ["28", "64", "128", "224"]
        assert str(info["positive_official_label"]) in info["official_labels"]
        assert len(info["class_names"]) == 2 and set(info["n_samples"]) == set(SPLITS)
        for size, record in info["files"].items():
            assert re.fullmatch(r"[0-9a-f]{32}", record["md5"])
            assert record["file"] == (f"{name}.npz" if size == "28" else f"{name}_{size}.npz")
            assert record["url"] == f"https://zenodo.org/records/10519652/files/{record['file']}?download=1"
    assert medmnist_info("pneumoniamnist")["files"]["28"]["md5"] == "28209eda62fecd6e6a2d98b1501bb15f"
    assert medmnist_info("breastmnist")["official_labels"]["0"] == "malignant"


@pytest.mark.skipif(sys.version_info < (3, 11), reason="tomllib is in the standard library from 3.11")
def test_the_registry_ships_with_the_package():
    import tomllib

    pyproject = tomllib.loads((Path(__file__).parents[2] / "pyproject.toml").read_text())
    package_data = pyproject["tool"]["setuptools"].get("package-data", {})
    assert "data/registry/*.json" in package_data.get("crossdomain_kit", []), (
        'pyproject.toml needs [tool.setuptools.package-data] crossdomain_kit = ["data/registry/*.json"]')


# --- a local mirror and a registry with its checksums -------------------------------------------

@pytest.fixture
def mirror(http_server, tmp_path, monkeypatch):
    """A mirror on 127.0.0.1 holding a re-packed breastmnist.npz (not the official md5), set as the mirror."""
    served = tmp_path / "served"
    served.mkdir()
    body = _npz_bytes()
    (served / "breastmnist.npz").write_bytes(body)
    base = serve_folder(http_server, served)
    monkeypatch.setenv(config.MIRROR_URL_ENV, base)
    return base, hashlib.md5(body).hexdigest()


def _registry_folder(folder, md5):
    """A replacement registry: the packaged one with the mirror's md5 for breastmnist at 28 px."""
    registry = medmnist_registry()
    registry["datasets"]["breastmnist"]["files"]["28"]["md5"] = md5
    folder.mkdir()
    (folder / "medmnist.json").write_text(json.dumps(registry))
    return folder


def test_with_a_mirror_every_message_names_the_mirror_url(mirror, tmp_path):
    base, _ = mirror
    assert medmnist_url("breastmnist") == f"{base}/breastmnist.npz"
    assert medmnist_url("pneumoniamnist", 64) == f"{base}/pneumoniamnist_64.npz"
    with pytest.raises(FileNotFoundError, match=re.escape(f"download {base}/breastmnist.npz yourself")):
        fetch_medmnist("breastmnist", data_dir=tmp_path / "data", download=False)


def test_a_mirror_file_with_another_md5_is_refused_and_leaves_no_file(mirror, http_server, tmp_path):
    base, _ = mirror
    folder = tmp_path / "data"
    official = medmnist_info("breastmnist")["files"]["28"]
    with pytest.raises(DownloadError, match=rf"has md5 [0-9a-f]{{32}}, expected {official['md5']}") as info:
        load_medmnist("breastmnist", data_dir=folder)
    message = str(info.value)
    assert info.value.url == f"{base}/breastmnist.npz" and info.value.url in message
    for part in (f"CROSSDOMAIN_MIRROR_URL={base!r}", "CROSSDOMAIN_REGISTRY", official["url"]):
        assert part in message
    assert not folder.exists() and http_server.hits["/mirror/breastmnist.npz"] == 1  # nor the folder it made


def test_a_registry_with_the_mirror_checksums_downloads_through_the_mirror(mirror, http_server, tmp_path,
                                                                          monkeypatch):
    base, md5 = mirror
    monkeypatch.setenv(config.REGISTRY_ENV, str(_registry_folder(tmp_path / "registry", md5)))
    assert medmnist_info("breastmnist")["files"]["28"]["md5"] == md5
    folder = tmp_path / "data"
    domain = load_medmnist_domain("breastmnist", data_dir=folder)
    assert len(domain.test) == 6 and _listing(folder) == ["breastmnist.npz"]
    load_medmnist("breastmnist", data_dir=folder)
    assert http_server.hits["/mirror/breastmnist.npz"] == 1  # downloaded once, then read locally


def test_a_mirror_without_the_file_says_so(mirror, tmp_path):
    with pytest.raises(DownloadError, match=r"HTTP 404.*check that the mirror holds pneumoniamnist\.npz"):
        fetch_medmnist("pneumoniamnist", data_dir=tmp_path / "data", progress=False)
    assert not (tmp_path / "data").exists() or _listing(tmp_path / "data") == []


def _broken(registry, change):
    datasets = registry["datasets"]
    breast = datasets["breastmnist"]
    if change == "no datasets":
        del registry["datasets"]
    elif change == "upper-case name":
        datasets["BreastMNIST"] = datasets.pop("breastmnist")
    elif change == "no md5":
        del breast["files"]["28"]["md5"]
    elif change == "bad url":
        breast["files"]["28"]["url"] = "zenodo.org/breastmnist.npz"
    elif change == "path in file name":
        breast["files"]["28"]["file"] = "../../breastmnist.npz"
    elif change == "bad size":
        breast["files"]["twenty-eight"] = breast["files"].pop("28")
    elif change == "three class names":
        breast["class_names"] = ["a", "b", "c"]
    elif change == "positive label 2":
        breast["positive_official_label"] = 2
    elif change == "no licence":
        del breast["licence"]
    return registry


@pytest.mark.parametrize("change, problem", [
    ("no datasets", r"has no 'datasets' object"),
    ("upper-case name", r"dataset name 'BreastMNIST'; expected lower case"),
    ("no md5", r"datasets\.breastmnist\.files\.28\.md5=None; expected 32 hexadecimal"),
    ("bad url", r"files\.28\.url='zenodo\.org/breastmnist\.npz'; expected an http"),
    ("path in file name", r"files\.28\.file='\.\./\.\./breastmnist\.npz'; expected a plain file name"),
    ("bad size", r"the size 'twenty-eight' in datasets\.breastmnist\.files"),
    ("three class names", r"class_names=\['a', 'b', 'c'\]"),
    ("positive label 2", r"positive_official_label=2; expected 0 or 1"),
    ("no licence", r"datasets\.breastmnist without licence"),
])
def test_a_replacement_registry_is_checked_when_read(tmp_path, monkeypatch, change, problem):
    folder = tmp_path / "registry"
    folder.mkdir()
    (folder / "medmnist.json").write_text(json.dumps(_broken(medmnist_registry(), change)))
    monkeypatch.setenv(config.REGISTRY_ENV, str(folder))
    with pytest.raises(ValueError, match=problem) as info:
        load_medmnist("breastmnist", data_dir=tmp_path / "data", download=False)
    message = str(info.value)
    assert str(folder / "medmnist.json") in message and "unset CROSSDOMAIN_REGISTRY" in message
    assert message.endswith(f"Received: CROSSDOMAIN_REGISTRY={str(folder)!r}")
    assert not (tmp_path / "data").exists()
