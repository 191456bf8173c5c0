import numpy as np
import pytest

from crossdomain_kit.domains import Domain, DomainSplit, TransferTask


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
