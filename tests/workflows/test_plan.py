"""The fine-tune plan and its defaults (crossdomain_kit.workflows.plan)."""

import json
import subprocess
import sys

import pytest

from crossdomain_kit.workflows.plan import FINETUNE_LEARNING_RATE_FACTOR, FineTunePlan, default_epochs


def test_a_pretrained_plan_gives_a_quarter_of_the_epochs_to_the_head_and_a_tenth_of_the_rate():
    plan = FineTunePlan.pretrained(12, learning_rate=2e-3)
    assert (plan.head_epochs, plan.epochs, plan.total_epochs) == (3, 9, 12) and plan.two_phase
    assert plan.fine_tuning_rate == pytest.approx(2e-3 * FINETUNE_LEARNING_RATE_FACTOR)
    assert FineTunePlan.pretrained(1).head_epochs == 1 and FineTunePlan.pretrained(1).epochs == 1
    assert FineTunePlan.pretrained(8, finetune_learning_rate=5e-4).fine_tuning_rate == 5e-4


def test_a_one_phase_plan_and_its_settings():
    plan = FineTunePlan(epochs=5, learning_rate=3e-3, batch_size=64)
    assert not plan.two_phase and plan.total_epochs == 5
    settings = plan.as_dict()
    assert settings["epochs"] == 5 and settings["learning_rate"] == 3e-3 and "head_epochs" not in settings
    assert json.loads(json.dumps(settings)) == settings
    two = FineTunePlan(epochs=4, head_epochs=1, unfreeze={"policy": "last_k", "k": 2}).as_dict()
    assert (two["head_epochs"], two["finetune_epochs"], two["head_learning_rate"]) == (1, 4, 1e-3)
    assert "last_k" in FineTunePlan(epochs=4, head_epochs=1, unfreeze={"policy": "last_k", "k": 2}).describe()
    assert "all layers for at most 5 epochs" in plan.describe()


@pytest.mark.parametrize("kwargs, received", [
    ({"epochs": 0}, "Received: epochs=0"),
    ({"epochs": 2, "head_epochs": -1}, "Received: head_epochs=-1"),
    ({"epochs": 2, "learning_rate": 0}, "Received: learning_rate=0"),
    ({"epochs": 2, "batch_size": 0}, "Received: batch_size=0"),
    ({"epochs": 2, "patience": 0}, "Received: patience=0"),
    ({"epochs": 2, "finetune_learning_rate": -1e-3}, "Received: finetune_learning_rate=-0.001"),
    ({"epochs": 2, "class_weight": "balanced"}, "Received: class_weight='balanced'"),
])
def test_a_bad_plan_is_refused_when_it_is_made(kwargs, received):
    with pytest.raises(ValueError, match=received):
        FineTunePlan(**kwargs)


def test_default_epochs_see_about_the_step_budget_within_bounds():
    assert default_epochs(4708) == 7 and default_epochs(100) == 30 and default_epochs(100_000) == 5
    with pytest.raises(ValueError, match="Received: n_train=0"):
        default_epochs(0)


def test_the_plan_imports_no_tensorflow():
    code = "import sys, crossdomain_kit.workflows.plan; assert 'tensorflow' not in sys.modules"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0
