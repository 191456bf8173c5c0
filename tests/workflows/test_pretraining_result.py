"""Saving a pretrained backbone, its metrics and model card (workflows.pretraining_result)."""

import hashlib
import json

import numpy as np
import pytest

from crossdomain_kit.environment import cpu_description
from crossdomain_kit.models.classifier import base_of, build_classifier
from crossdomain_kit.workflows.pretraining import pretrain_backbone
from crossdomain_kit.workflows.pretraining_result import REPRODUCE_ELSEWHERE, TERMS, model_card
from tests.workflows._pretraining_data import small_plan


def test_saved_backbone_loads_into_a_28px_classifier(uninterrupted_run, tmp_path):
    path = tmp_path / "weights" / "small_cnn_test.weights.h5"
    sha = uninterrupted_run.save_backbone(path)
    assert sha == hashlib.sha256(path.read_bytes()).hexdigest() == uninterrupted_run.sha256
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary file left
    classifier = build_classifier("small_cnn", (28, 28, 1), weights=path)
    for mine, theirs in zip(base_of(classifier).get_weights(), uninterrupted_run.base.get_weights()):
        np.testing.assert_array_equal(mine, theirs)
    with pytest.raises(ValueError, match="Received: path="):
        uninterrupted_run.save_backbone(tmp_path / "backbone.h5")


def test_pretraining_model_card_names_sha256_command_and_terms(pretraining_data, tmp_path):
    result = pretrain_backbone(pretraining_data, small_plan(epochs=1), seed=2, progress=False)
    with pytest.raises(ValueError, match="save_backbone"):
        model_card(result, data_description="bands", command="x")
    command = "crossdomain-kit pretrain --out runs/bands --epochs 1 --seed 2"
    weights = result.save(tmp_path, name="small_cnn_bands", data_description="Four bands, grey 32 px",
                          command=command)
    assert weights == tmp_path / "small_cnn_bands.weights.h5"
    card = (tmp_path / "model_card.md").read_text()
    assert result.sha256 in card and command in card and TERMS in card and "Four bands, grey 32 px" in card
    assert "non-commercial research and educational use only" in card and "ImageNet" in card
    assert f"{result.val_top1:.4f}" in card and f"{result.val_top5:.4f}" in card and "1 of 1" in card
    assert f"| CPU | {cpu_description()} |" in card and REPRODUCE_ELSEWHERE in card
    size = result.plan.image_size
    assert f'build_classifier("small_cnn", ({size}, {size}, 1), weights="small_cnn_bands.weights.h5")' in card
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["sha256"] == result.sha256 == hashlib.sha256(weights.read_bytes()).hexdigest()
    assert metrics["val_top1"] == result.val_top1 and metrics["command"] == command
    assert metrics["plan"] == result.plan.as_dict() and metrics["seed"] == 2 and metrics["cpu"] == cpu_description()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["metrics.json", "model_card.md", weights.name]
