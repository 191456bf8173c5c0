import numpy as np
import pytest

from crossdomain_kit.data.domains import Domain, DomainSplit, TransferTask, check_both_classes, check_finite_images


def _split(split="train", n=4, **kw):
    return DomainSplit(labels=np.arange(n) % 2, images=np.zeros((n, 8, 8, 1), np.uint8),
                       class_names=("normal", "pneumonia"), domain="chest", split=split, **kw)


def test_split_accepts_column_labels_and_counts_classes():
    s = DomainSplit(labels=np.array([[0], [1], [1]]), files=["a.png", "b.png", "c.png"],
                    class_names=("normal", "pneumonia"))
    assert s.labels.shape == (3,) and s.labels.dtype == np.int64
    assert s.class_counts() == {"normal": 1, "pneumonia": 2}
    assert s.positive_class == "pneumonia" and s.positive_fraction == pytest.approx(2 / 3)
    assert len(s) == 3 and "3 files" in repr(s)


@pytest.mark.parametrize("kwargs, match", [
    (dict(labels=[0, 1]), "exactly one of `images` and `files`"),
    (dict(labels=[0, 2], files=["a", "b"]), r"only 0 and 1"),
    (dict(labels=[0, 1, 1], files=["a", "b"]), r"3 labels for 2 images"),
    (dict(labels=[], files=[]), r"non-empty"),
    (dict(labels=[0, 1], files=["a", "b"], class_names=("x", "x")), r"Received: class_names="),
    (dict(labels=[0, 1], files=["a", "b"], split="validation"), r"Received: split='validation'"),
])
def test_bad_splits_are_rejected(kwargs, match):
    with pytest.raises(ValueError, match=match):
        DomainSplit(**kwargs)


def test_domain_checks_split_names_and_classes():
    domain = Domain("chest", train=_split(), test=_split("test"))
    assert list(domain.splits()) == ["train", "test"] and domain.class_names == ("normal", "pneumonia")
    with pytest.raises(ValueError, match=r"Received: val.split='test'"):
        Domain("chest", train=_split(), val=_split("test"))


def test_task_accepts_one_or_several_sources():
    a, b = Domain("a", _split()), Domain("b", _split())
    assert TransferTask(sources=a, target=b).sources == (a,)
    assert TransferTask(sources=[a, b], target=b).source is a
    with pytest.raises(ValueError, match="at least one"):
        TransferTask(sources=[], target=b)


def test_take_keeps_images_or_files_with_their_labels():
    images = np.arange(5)[:, None, None, None] * np.ones((5, 2, 2, 1), np.uint8)
    split = DomainSplit(labels=[0, 1, 1, 0, 1], images=images, class_names=("normal", "pneumonia"),
                        domain="chest", split="test")
    part = split.take([4, 0, -2])
    assert part.labels.tolist() == [1, 0, 0] and part.images[:, 0, 0, 0].tolist() == [4, 0, 3]
    assert (part.class_names, part.domain, part.split) == (split.class_names, "chest", "test")
    on_disk = DomainSplit(labels=[0, 1, 1], files=["a.png", "b.png", "c.png"])
    picked = on_disk.take(np.array([2, 1]))
    assert picked.files == ("c.png", "b.png") and picked.images is None and picked.labels.tolist() == [1, 1]
    assert len(split) == 5 and on_disk.files == ("a.png", "b.png", "c.png")  # the originals are untouched


@pytest.mark.parametrize("indices, match", [
    ([], r"non-empty 1-D"),
    ([0.5, 1.0], r"integers"),
    ([[0, 1]], r"1-D"),
    ([0, 4], r"\[-4, 4\) for a split of 4 examples. Received: indices=\[0, 4\]"),
    ([-5], r"Received: indices=\[-5\]"),
])
def test_take_rejects_bad_indices(indices, match):
    with pytest.raises(ValueError, match=match):
        _split().take(indices)


def test_sample_is_seeded_ordered_and_without_repeats():
    split = DomainSplit(labels=np.arange(100) % 2, files=[f"{i:03d}.png" for i in range(100)])
    a, b, c = split.sample(30, seed=1), split.sample(30, seed=1), split.sample(30, seed=2)
    assert len(a) == 30 and a.files == b.files and a.files != c.files
    assert list(a.files) == sorted(set(a.files))
    assert all(int(f[:3]) % 2 == label for f, label in zip(a.files, a.labels))
    assert split.sample(100) is split and split.sample(500) is split


@pytest.mark.parametrize("kwargs, match", [
    (dict(n=0), r"Received: n=0"), (dict(n=2.0), r"Received: n=2.0"), (dict(n=2, seed=-1), r"Received: seed=-1"),
])
def test_sample_rejects_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        _split().sample(**kwargs)


def test_a_carved_split_with_one_class_says_it_was_carved():
    split = DomainSplit(labels=np.zeros(3, int), images=np.zeros((3, 4, 4)), split="val")
    with pytest.raises(ValueError, match=r"^here: the val split \(carved out of train\) holds one class only.*"
                                         r"\(or to train, which it is carved from\)"):
        check_both_classes(split, where="here", carved=True)
    check_both_classes(DomainSplit(labels=np.arange(4) % 2, images=np.zeros((4, 4, 4)), split="val"))


def test_check_finite_images_names_files_and_counts_the_rest():
    images = np.zeros((8, 2, 2))
    images[:7, 0, 0] = np.nan
    with pytest.raises(ValueError, match=r"7 value\(s\).*in 7 image\(s\) \(files f0, f1, f2, f3, f4 and 2 more\)"):
        check_finite_images(images, "inputs", files=[f"f{i}" for i in range(8)])
    check_finite_images(np.zeros((2, 2, 2), np.uint8))  # integers are always finite
    check_finite_images(np.ones((2, 2, 2), np.float32))
