import hashlib
import io
import json
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from tests._http_server import http_server, send_body, serve_folder, unreachable_url  # noqa: F401  (fixture)

from crossdomain_kit import config
from crossdomain_kit.data import tinyimagenet
from crossdomain_kit.data.tinyimagenet import (ClassificationData, convert_tinyimagenet,
                                               fetch_tinyimagenet, load_tinyimagenet,
                                               tinyimagenet_info)

FILE = "tinyimagenet_grey32.npz"
URL = "http://cs231n.stanford.edu/tiny-imagenet-200.zip"


def _listing(folder):
    return sorted(p.name for p in Path(folder).iterdir())


@pytest.fixture(autouse=True)
def _no_mirror_settings(monkeypatch):
    """The official address and the packaged registry, whatever the shell has set."""
    monkeypatch.delenv(config.MIRROR_URL_ENV, raising=False)
    monkeypatch.delenv(config.REGISTRY_ENV, raising=False)


# --- a small release in the official layout ----------------------------------------------------------

# wnids.txt order is not sorted; the kit sorts the classes.
WNIDS = ("n03000003", "n01000001", "n02000002")
WORDS = {"n01000001": "goldfish, Carassius auratus", "n02000002": "brain coral",
         "n03000003": "acorn", "n09999999": "a class not in the release"}
TRAIN_NUMBERS = (10, 0, 2, 1)  # stored out of order; the kit sorts by number: 0, 1, 2, 10
VAL = (("val_2.JPEG", "n02000002"), ("val_0.JPEG", "n03000003"), ("val_1.JPEG", "n01000001"))
FLAT = (200, 100, 50)  # val_2 is this flat colour: 0.299*200 + 0.587*100 + 0.114*50 = 124.2


def _jpeg(rgb: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(rgb.astype(np.uint8), "RGB").save(buffer, "JPEG", quality=95)
    return buffer.getvalue()


def _flat(colour) -> np.ndarray:
    return np.broadcast_to(np.array(colour, np.uint8), (64, 64, 3))


def _train_colour(wnid: str, number: int) -> tuple[int, int, int]:
    return 30 + 80 * sorted(WNIDS).index(wnid), 20 + 15 * number, 128


def _luma(colour) -> float:
    r, g, b = colour
    return 0.299 * r + 0.587 * g + 0.114 * b


NOISE = np.random.default_rng(0).integers(0, 256, (64, 64, 3))


def _members(root="tiny-imagenet-200/") -> dict[str, bytes]:
    members = {root + "wnids.txt": "\n".join(WNIDS).encode() + b"\n",
               root + "words.txt": "".join(f"{w}\t{n}\n" for w, n in WORDS.items()).encode()}
    for wnid in WNIDS:
        members[f"{root}train/{wnid}/{wnid}_boxes.txt"] = b"ignored\n"
        for number in TRAIN_NUMBERS:
            members[f"{root}train/{wnid}/images/{wnid}_{number}.JPEG"] = _jpeg(
                _flat(_train_colour(wnid, number)))
    images = {"val_2.JPEG": _flat(FLAT), "val_0.JPEG": NOISE, "val_1.JPEG": _flat((0, 255, 0))}
    for name, wnid in VAL:
        members[f"{root}val/images/{name}"] = _jpeg(images[name])
    members[root + "val/val_annotations.txt"] = "".join(
        f"{name}\t{wnid}\t0\t0\t63\t63\n" for name, wnid in VAL).encode()
    members[root + "test/images/test_0.JPEG"] = _jpeg(NOISE)  # unlabelled: ignored
    return members


def _write_zip(path: Path, members: dict[str, bytes]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def _zip_bytes(**kwargs) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in _members(**kwargs).items():
            archive.writestr(name, data)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def release(tmp_path_factory):
    """The small release and the arrays it converts to."""
    path = _write_zip(tmp_path_factory.mktemp("release") / "tiny-imagenet-200.zip", _members())
    out = convert_tinyimagenet(path, path.parent / FILE, progress=False)
    with np.load(out, allow_pickle=False) as arrays:
        return path, out, dict(arrays)


# --- converting the official layout ------------------------------------------------------------------

def test_conversion_writes_the_kit_layout(release):
    _, out, arrays = release
    assert out.name == FILE and sorted(arrays) == sorted(["train_images", "train_labels", "val_images",
                                                           "val_labels", "class_ids", "class_names"])
    assert arrays["train_images"].shape == (12, 32, 32) and arrays["train_images"].dtype == np.uint8
    assert arrays["val_images"].shape == (3, 32, 32) and arrays["val_images"].dtype == np.uint8
    assert arrays["train_labels"].dtype == arrays["val_labels"].dtype == np.int16
    assert arrays["class_ids"].dtype.kind == arrays["class_names"].dtype.kind == "U"  # no pickle
    # classes sorted by WordNet id, named from words.txt; train in class order; val in annotation order
    assert arrays["class_ids"].tolist() == ["n01000001", "n02000002", "n03000003"]
    assert arrays["class_names"].tolist() == ["goldfish, Carassius auratus", "brain coral", "acorn"]
    assert arrays["train_labels"].tolist() == [0] * 4 + [1] * 4 + [2] * 4
    assert arrays["val_labels"].tolist() == [1, 2, 0]


def test_conversion_is_grey_luma_of_each_image_in_number_order(release):
    _, _, arrays = release
    # a flat colour stays flat; its grey value is the ITU-R 601 luma, computed by hand
    assert np.all(np.abs(arrays["val_images"][0].astype(int) - 124) <= 1)
    assert np.all(np.abs(arrays["val_images"][2].astype(int) - round(0.587 * 255)) <= 1)  # pure green
    expected = [_luma(_train_colour(wnid, n)) for wnid in sorted(WNIDS) for n in sorted(TRAIN_NUMBERS)]
    found = arrays["train_images"].reshape(12, -1)
    assert np.all(found.max(axis=1) - found.min(axis=1) <= 2)
    np.testing.assert_allclose(found.mean(axis=1), expected, atol=2)  # 0, 1, 2, 10, not 0, 1, 10, 2


def test_conversion_is_grey_then_bilinear_resize_as_pillow_does_it(release):
    _, _, arrays = release
    decoded = Image.open(io.BytesIO(_jpeg(NOISE)))
    expected = np.asarray(decoded.convert("L").resize((32, 32), Image.Resampling.BILINEAR))
    np.testing.assert_array_equal(arrays["val_images"][1], expected)


def test_conversion_size_and_another_top_folder(tmp_path):
    path = _write_zip(tmp_path / "mine.zip", _members(root="tiny/"))
    out = convert_tinyimagenet(path, tmp_path / "out" / "grey16.npz", size=16, progress=False)
    with np.load(out) as arrays:
        assert arrays["train_images"].shape == (12, 16, 16) and arrays["val_images"].shape == (3, 16, 16)
    assert _listing(tmp_path / "out") == ["grey16.npz"]


def _without(name):
    return lambda members: {k: v for k, v in members.items() if not k.endswith(name)}


def _replaced(name, data):
    return lambda members: {k: (data if k.endswith(name) else v) for k, v in members.items()}


BROKEN_RELEASES = {
    "no wnids.txt": (_without("wnids.txt"), r"has no wnids\.txt"),
    "no words.txt": (_without("words.txt"), r"lacks tiny-imagenet-200/words\.txt"),
    "no annotations": (_without("val_annotations.txt"), r"lacks tiny-imagenet-200/val/val_annotations"),
    "class without images": (lambda m: {k: v for k, v in m.items() if "/images/n02000002_" not in k},
                             r"no training images for 1 class\(es\), e\.g\. .*train/n02000002/images/"),
    "unknown val class": (_replaced("val_annotations.txt", b"val_0.JPEG\tn07777777\t0\t0\t1\t1\n"),
                          r"without a class wnids\.txt lists"),
    "missing val image": (_without("val_1.JPEG"), r"lacks tiny-imagenet-200/val/images/val_1\.JPEG"),
    "unnamed class": (_replaced("words.txt", b"n01000001\tgoldfish\n"), r"no name in words\.txt"),
    "not an image": (_replaced("n01000001_2.JPEG", b"<html>not a jpeg</html>"),
                     r"is corrupt: reading .*n01000001_2\.JPEG"),
    "truncated image": (_replaced("val_0.JPEG", _jpeg(NOISE)[:300]), r"is corrupt: reading .*val_0\.JPEG"),
}


@pytest.mark.parametrize("case", list(BROKEN_RELEASES))
def test_a_broken_release_names_the_problem_and_writes_nothing(tmp_path, case):
    change, match = BROKEN_RELEASES[case]
    path = _write_zip(tmp_path / "release.zip", change(_members()))
    out = tmp_path / "out" / FILE
    with pytest.raises(ValueError, match=match) as info:
        convert_tinyimagenet(path, out, progress=False)
    assert str(path) in str(info.value) and URL in str(info.value)
    assert not (tmp_path / "out").exists() or _listing(tmp_path / "out") == []


@pytest.mark.parametrize("cut", [0, 40, 0.5], ids=["empty", "header only", "half"])
def test_a_corrupt_zip_leaves_no_file_and_keeps_an_older_one(tmp_path, cut):
    raw = _zip_bytes()
    path = tmp_path / "tiny-imagenet-200.zip"
    path.write_bytes(raw[:int(cut * len(raw)) if isinstance(cut, float) else cut])
    out = tmp_path / FILE
    out.write_bytes(b"an older file")
    with pytest.raises(ValueError, match=r"is not a readable zip archive|is corrupt|lacks") as info:
        convert_tinyimagenet(path, out, progress=False)
    assert str(path) in str(info.value)
    assert _listing(tmp_path) == sorted([path.name, FILE]) and out.read_bytes() == b"an older file"


def test_a_corrupt_member_found_by_its_crc_leaves_no_file(tmp_path):
    path = _write_zip(tmp_path / "release.zip", _members())
    raw = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo("tiny-imagenet-200/val/images/val_0.JPEG")
    start = info.header_offset + 30 + len(info.filename) + len(info.extra)
    raw[start + 400:start + 420] = bytes(20)  # stored (not deflated): only the CRC can tell
    path.write_bytes(bytes(raw))
    with pytest.raises(ValueError, match=r"val_0\.JPEG failed with Bad CRC-32"):
        convert_tinyimagenet(path, tmp_path / FILE, progress=False)
    assert _listing(tmp_path) == ["release.zip"]


# --- loading the converted file: validation ----------------------------------------------------------

def _arrays(n_classes=3, per_class=2, **overrides):
    rng = np.random.default_rng(0)
    arrays = {
        "train_images": rng.integers(0, 256, (n_classes * per_class, 32, 32), dtype=np.uint8),
        "train_labels": np.repeat(np.arange(n_classes), per_class).astype(np.int16),
        "val_images": rng.integers(0, 256, (n_classes, 32, 32), dtype=np.uint8),
        "val_labels": np.arange(n_classes, dtype=np.int16),
        "class_ids": np.array([f"n0{i}" for i in range(n_classes)]),
        "class_names": np.array([f"class {i}" for i in range(n_classes)]),
    }
    arrays.update(overrides)
    return {key: value for key, value in arrays.items() if value is not None}


def _write(folder, **overrides):
    folder.mkdir(parents=True, exist_ok=True)
    np.savez(folder / FILE, **_arrays(**overrides))
    return folder / FILE


@pytest.mark.parametrize("images_shape", [(6, 32, 32), (6, 32, 32, 1)])
def test_a_valid_file_loads_as_uint8_with_one_channel(tmp_path, images_shape):
    _write(tmp_path, train_images=np.full(images_shape, 7, np.uint8))
    data = load_tinyimagenet(tmp_path, download=False)
    assert isinstance(data, ClassificationData) and data.name == "tinyimagenet"
    assert data.train_images.shape == (6, 32, 32, 1) and data.train_images.dtype == np.uint8
    assert data.val_images.shape == (3, 32, 32, 1) and data.image_shape == (32, 32, 1)
    assert data.train_labels.tolist() == [0, 0, 1, 1, 2, 2] and data.val_labels.dtype == np.int64
    assert data.n_classes == 3 and data.class_ids == ("n00", "n01", "n02")
    assert data.class_names[2] == "class 2" and data.class_counts("val").tolist() == [1, 1, 1]
    assert data.describe() == ("tinyimagenet: 3 classes, 6 train and 3 val images of 32x32x1 (Tiny ImageNet "
                               "from Stanford CS231n, grey; ImageNet terms: non-commercial research and "
                               "educational use only)")


BAD_FILES = {
    "missing key": (dict(class_names=None), r"lacks class_names"),
    "wrong image dtype": (dict(val_images=np.zeros((3, 32, 32), np.float32)),
                          r"val_images of dtype float32; expected uint8"),
    "wrong image size": (dict(train_images=np.zeros((6, 64, 64), np.uint8)),
                         r"64x64 images in train_images; expected 32x32"),
    "colour images": (dict(train_images=np.zeros((6, 32, 32, 3), np.uint8)),
                      r"train_images of shape \(6, 32, 32, 3\)"),
    "float labels": (dict(train_labels=np.zeros(6, np.float64)), r"train_labels of dtype float64"),
    "label out of range": (dict(val_labels=np.array([0, 3, -1], np.int16)),
                           r"outside \[0, 3\) in val_labels \(found \[-1, 3\]\)"),
    "label count": (dict(val_labels=np.array([0, 1], np.int16)), r"2 entries in val_labels for 3 images"),
    "names count": (dict(class_names=np.array(["a", "b"])), r"2 entries in class_names for 3 class_ids"),
    "numeric ids": (dict(class_ids=np.arange(3)), r"class_ids of shape \(3,\) and dtype int64"),
    "repeated ids": (dict(class_ids=np.array(["n0", "n0", "n1"])), r"repeats identifiers in class_ids"),
    "class missing from train": (dict(train_labels=np.array([0, 0, 0, 2, 2, 2], np.int16)),
                                 r"no images in train_images for 1 class\(es\) \(labels \[1\], e\.g\. n01\)"),
}


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_a_file_with_wrong_contents_names_the_file_and_the_array(tmp_path, case):
    overrides, match = BAD_FILES[case]
    path = _write(tmp_path, **overrides)
    raw = path.read_bytes()
    with pytest.raises(ValueError, match=match) as info:
        load_tinyimagenet(tmp_path)  # download=True: a local file is never replaced behind your back
    assert str(path) in str(info.value) and URL in str(info.value)
    assert path.read_bytes() == raw and _listing(tmp_path) == [FILE]


def _pickled_names():
    buffer = io.BytesIO()
    np.savez(buffer, **_arrays(class_names=np.array(["a", "b", "c"], dtype=object)))
    return buffer.getvalue()


UNREADABLE = {
    "a text file": (lambda: b"this is a text file, not numpy\n" * 10, r"is not an \.npz archive.*begins with b.this i"),
    "truncated": (lambda: _pickled_names()[:300], r"not a readable \.npz|is corrupt"),
    "pickled names": (_pickled_names, r"reading class_names failed"),
}


@pytest.mark.parametrize("case", list(UNREADABLE))
def test_an_unreadable_file_names_the_file(tmp_path, case):
    make, match = UNREADABLE[case]
    (tmp_path / FILE).write_bytes(make())
    with pytest.raises(ValueError, match=match) as info:
        load_tinyimagenet(tmp_path, download=False)
    assert str(tmp_path / FILE) in str(info.value)


# --- missing file: error, local zip, verified download --------------------------------------------------

def test_missing_file_without_download_names_file_url_folder_and_command(tmp_path):
    folder = tmp_path / "data"
    with pytest.raises(FileNotFoundError) as info:
        load_tinyimagenet(folder, download=False)
    for part in (FILE, URL, str(folder), "tiny-imagenet-200.zip", config.DATA_DIR_ENV, "download=True",
                 "crossdomain-kit fetch tinyimagenet"):
        assert part in str(info.value)
    assert not folder.exists()


def _info_with(**official):
    info = tinyimagenet_info()
    info["official"].update(official)
    return lambda: info


def test_offline_download_names_file_url_and_folder_and_leaves_nothing(tmp_path, monkeypatch):
    url = unreachable_url("/tiny-imagenet-200.zip")
    monkeypatch.setattr(tinyimagenet, "tinyimagenet_info", _info_with(url=url))
    with pytest.raises(FileNotFoundError) as info:
        fetch_tinyimagenet(tmp_path, retries=0, timeout=0.5, progress=False)
    for part in (FILE, url, str(tmp_path), "network error", config.DATA_DIR_ENV):
        assert part in str(info.value)
    assert _listing(tmp_path) == []


@pytest.mark.parametrize("md5_ok", [True, False], ids=["md5 ok", "md5 wrong"])
def test_download_is_verified_converted_then_reused(http_server, tmp_path, monkeypatch, md5_ok):  # noqa: F811
    body = _zip_bytes()
    digest = hashlib.md5(body).hexdigest() if md5_ok else "f" * 32
    url = http_server.route("/tiny-imagenet-200.zip", lambda h, hit: send_body(h, body))
    monkeypatch.setattr(tinyimagenet, "tinyimagenet_info", _info_with(url=url, md5=digest))
    if not md5_ok:
        with pytest.raises(FileNotFoundError, match=r"has md5 [0-9a-f]{32}, expected f{32}") as info:
            load_tinyimagenet(tmp_path, progress=False)
        assert url in str(info.value) and str(tmp_path) in str(info.value)
        assert _listing(tmp_path) == []
        return
    data = load_tinyimagenet(tmp_path, progress=False)
    assert data.train_images.shape == (12, 32, 32, 1) and data.val_labels.tolist() == [1, 2, 0]
    assert data.class_names == ("goldfish, Carassius auratus", "brain coral", "acorn")
    assert _listing(tmp_path) == [FILE]  # the downloaded zip is deleted once converted
    assert len(load_tinyimagenet(tmp_path).val_images) == 3 and http_server.hits["/tiny-imagenet-200.zip"] == 1


def test_force_replaces_a_corrupt_file_with_a_fresh_download(http_server, tmp_path, monkeypatch):  # noqa: F811
    body = _zip_bytes()
    url = http_server.route("/tiny-imagenet-200.zip", lambda h, hit: send_body(h, body))
    monkeypatch.setattr(tinyimagenet, "tinyimagenet_info", _info_with(url=url, md5=hashlib.md5(body).hexdigest()))
    (tmp_path / FILE).write_bytes(b"PK\x03\x04 an interrupted copy")
    with pytest.raises(ValueError, match=r"run `crossdomain-kit fetch tinyimagenet --force`"):
        load_tinyimagenet(tmp_path, progress=False)
    assert fetch_tinyimagenet(tmp_path, force=True, progress=False) == tmp_path / FILE
    assert load_tinyimagenet(tmp_path, download=False).n_classes == 3 and _listing(tmp_path) == [FILE]


def test_a_zip_in_the_data_folder_is_converted_and_kept(tmp_path, monkeypatch):
    monkeypatch.setattr(tinyimagenet, "download_file", lambda *a, **k: pytest.fail("no download"))
    _write_zip(tmp_path / "tiny-imagenet-200.zip", _members())
    data = load_tinyimagenet(tmp_path, download=False, progress=False)
    assert data.n_classes == 3 and len(data.train_labels) == 12
    assert _listing(tmp_path) == ["tiny-imagenet-200.zip", FILE]


@pytest.mark.parametrize("md5_ok", [True, False], ids=["registry with the mirror's md5", "packaged md5"])
def test_a_mirror_serves_the_zip_checked_against_the_registry(http_server, tmp_path, monkeypatch,  # noqa: F811
                                                              md5_ok):
    served = tmp_path / "served"
    served.mkdir()
    (served / "tiny-imagenet-200.zip").write_bytes(_zip_bytes())
    base = serve_folder(http_server, served)
    monkeypatch.setenv(config.MIRROR_URL_ENV, base)
    if md5_ok:
        info = tinyimagenet_info()
        info["official"]["md5"] = hashlib.md5(_zip_bytes()).hexdigest()
        (tmp_path / "registry").mkdir()
        (tmp_path / "registry" / "tinyimagenet.json").write_text(json.dumps(info))
        monkeypatch.setenv(config.REGISTRY_ENV, str(tmp_path / "registry"))
    folder = tmp_path / "data"
    if not md5_ok:
        with pytest.raises(FileNotFoundError, match=r"expected 90528d7ca1a48142e341f4ef8d21d0de") as error:
            load_tinyimagenet(folder, progress=False)
        for part in (f"{base}/tiny-imagenet-200.zip", f"CROSSDOMAIN_MIRROR_URL={base!r}",
                     "CROSSDOMAIN_REGISTRY", URL):
            assert part in str(error.value)
        assert not folder.exists()  # the folder the download made is gone with it
        return
    assert load_tinyimagenet(folder, progress=False).n_classes == 3
    assert _listing(folder) == [FILE] and http_server.hits["/mirror/tiny-imagenet-200.zip"] == 1


@pytest.mark.parametrize("change, problem", [
    (lambda info: info["official"].pop("md5"), r"official\.md5=None; expected 32 hexadecimal"),
    (lambda info: info.update(file="../tiny.npz"), r"file='\.\./tiny\.npz'; expected a plain"),
    (lambda info: info.update(image_size=0), r"image_size=0; expected a positive number"),
    (lambda info: info.pop("note"), r"lacks note"),
])
def test_a_replacement_registry_is_checked_when_read(tmp_path, monkeypatch, change, problem):
    info = tinyimagenet_info()
    change(info)
    (tmp_path / "tinyimagenet.json").write_text(json.dumps(info))
    monkeypatch.setenv(config.REGISTRY_ENV, str(tmp_path))
    with pytest.raises(ValueError, match=problem) as error:
        fetch_tinyimagenet(tmp_path / "data", download=False)
    assert str(error.value).endswith(f"Received: CROSSDOMAIN_REGISTRY={str(tmp_path)!r}")


# --- the container -------------------------------------------------------------------------------------

def _data(n_classes=4, per_class=6, val_per_class=3):
    train_labels = np.repeat(np.arange(n_classes), per_class)
    val_labels = np.tile(np.arange(n_classes), val_per_class)
    return ClassificationData(
        np.arange(train_labels.size, dtype=np.uint8).reshape(-1, 1, 1, 1), train_labels,
        np.arange(val_labels.size, dtype=np.uint8).reshape(-1, 1, 1, 1), val_labels,
        [f"n{i}" for i in range(n_classes)], [f"name {i}" for i in range(n_classes)], "toy")


def test_subset_is_stratified_seeded_and_keeps_the_order():
    data = _data()
    small = data.subset(2, seed=3, val_per_class=1)
    assert small.class_counts().tolist() == [2, 2, 2, 2] and small.class_counts("val").tolist() == [1] * 4
    assert np.all(np.diff(small.train_images.ravel().astype(int)) > 0)  # original order, class order
    np.testing.assert_array_equal(small.train_labels, data.train_labels[small.train_images.ravel()])
    again = data.subset(2, seed=3, val_per_class=1)
    np.testing.assert_array_equal(small.train_images, again.train_images)
    others = [data.subset(2, seed=s).train_images.ravel().tolist() for s in range(5)]
    assert len({tuple(o) for o in others}) > 1
    assert data.subset(100).train_images.shape == data.train_images.shape  # fewer than asked: all
    assert data.describe() == "toy: 4 classes, 24 train and 12 val images of 1x1x1"  # no note
    assert len(data.subset(1).val_labels) == 12  # val_per_class=None: every val image


def test_subset_of_some_classes_renumbers_the_labels():
    data = _data(n_classes=6)
    small = data.subset(3, seed=1, classes=2)
    kept = [data.class_ids.index(c) for c in small.class_ids]
    assert small.n_classes == 2 and kept == sorted(kept)
    assert small.class_names == tuple(data.class_names[i] for i in kept)
    assert small.class_counts().tolist() == [3, 3] and set(small.val_labels.tolist()) == {0, 1}
    np.testing.assert_array_equal(np.array(kept)[small.train_labels],
                                  data.train_labels[small.train_images.ravel()])


@pytest.mark.parametrize("kwargs, match", [
    (dict(n_per_class=0), r"Received: n_per_class=0"),
    (dict(n_per_class=2, seed=-1), r"Received: seed=-1"),
    (dict(n_per_class=2, classes=5), r"at most 4\. Received: classes=5"),
    (dict(n_per_class=2, val_per_class=0), r"Received: val_per_class=0"),
])
def test_subset_rejects_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        _data().subset(**kwargs)


@pytest.mark.parametrize("change, match", [
    (dict(train_labels=np.array([0, 1, 4])), r"must lie in \[0, 2\)"),
    (dict(train_labels=np.array([0.0, 1.0, 1.0])), r"1-D array of integers"),
    (dict(val_labels=np.array([0])), r"one entry per image\. Received: 1 labels for 2 images"),
    (dict(class_names=("a",)), r"Received: 2 class_ids, 1 class_names"),
    (dict(class_ids=("x", "x")), r"must not repeat"),
    (dict(class_ids="xy"), r"Received: class_ids='xy'"),
    (dict(val_images=np.zeros((2, 4, 4, 1))), r"one shape\. Received: \(2, 2, 1\) and \(4, 4, 1\)"),
    (dict(train_images=np.zeros((3, 2, 2))), r"shape \(n, height, width, channels\)"),
])
def test_the_container_rejects_inconsistent_arrays(change, match):
    args = dict(train_images=np.zeros((3, 2, 2, 1)), train_labels=np.array([0, 1, 1]),
                val_images=np.zeros((2, 2, 2, 1)), val_labels=np.array([1, 0]),
                class_ids=("a", "b"), class_names=("A", "B"))
    with pytest.raises(ValueError, match=match):
        ClassificationData(**{**args, **change})


# --- the registry and the real file --------------------------------------------------------------------

def test_registry_names_source_zip_conversion_and_terms():
    info = tinyimagenet_info()
    assert info["official"]["url"] == URL and info["official"]["file"] == "tiny-imagenet-200.zip"
    assert info["official"]["md5"] == "90528d7ca1a48142e341f4ef8d21d0de"
    assert info["file"] == FILE and info["image_size"] == 32 and info["channels"] == 1
    assert "CS231n" in info["source"]["name"] and "0.299 R + 0.587 G + 0.114 B" in info["conversion"]
    assert "non-commercial research and educational" in info["terms"]
    assert "Tiny ImageNet" in info["citation"] and "ImageNet Large Scale" in info["citation"]
    assert re.fullmatch(r"[0-9a-f]{32}", info["official"]["md5"])


@pytest.fixture(scope="module")
def real():
    folder = config.data_dir()
    if not (folder / FILE).is_file():
        pytest.skip(f"the real {FILE} is not in {folder} (set {config.DATA_DIR_ENV} to a folder that "
                    "holds it)")
    return load_tinyimagenet(download=False, progress=False)


def test_the_real_file_loads_with_its_sizes_and_classes(real):
    assert real.train_images.shape == (101000, 32, 32, 1) and real.train_images.dtype == np.uint8
    assert real.val_images.shape == (10100, 32, 32, 1) and real.val_images.dtype == np.uint8
    assert real.n_classes == 202 and list(real.class_ids) == sorted(real.class_ids)
    assert set(real.class_counts().tolist()) == {500} and set(real.class_counts("val").tolist()) == {50}
    assert np.all(np.diff(real.train_labels) >= 0)  # class order: shuffle before use
    assert real.class_names[real.class_ids.index("n01443537")] == "goldfish, Carassius auratus"
    assert real.train_images.max() == 255 and real.train_images.min() == 0


def test_a_fast_profile_subset_of_the_real_file(real):
    small = real.subset(20, seed=0, val_per_class=5, classes=10)
    assert small.train_images.shape == (200, 32, 32, 1) and small.val_images.shape == (50, 32, 32, 1)
    assert small.class_counts().tolist() == [20] * 10 and set(small.class_ids) <= set(real.class_ids)
    assert small.note == real.note and "non-commercial" in small.describe()


def test_importing_the_module_imports_neither_tensorflow_nor_pillow():
    code = ("import sys, crossdomain_kit.data.tinyimagenet; "
            "print('tensorflow' in sys.modules, 'keras' in sys.modules, 'PIL' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False", "False"]
