"""The one fine-tune workflow (crossdomain_kit.workflows.finetune) and the places that must use it."""

import numpy as np
import pytest

from crossdomain_kit.data.pipeline import make_pipeline
from crossdomain_kit.data.synthetic import make_synthetic_domain
from crossdomain_kit.models.classifier import build_classifier
from crossdomain_kit.models.predict import scores_at_validation_threshold
from crossdomain_kit.training import fine_tune, train_joint
from crossdomain_kit.workflows import finetune
from crossdomain_kit.workflows.finetune import FineTuneResult, evaluate_model, run_fine_tune
from crossdomain_kit.workflows.plan import FineTunePlan


@pytest.fixture(scope="module")
def domain():
    return make_synthetic_domain(0.0, n_train=64, n_val=32, n_test=32, image_size=16, seed=0)


def _model(seed=0):
    return build_classifier("small_cnn", (16, 16, 1), seed=seed)


def _same(a, b):
    return all(np.array_equal(x, y) for x, y in zip(a, b))


# --- The run equals the steps it stands for ------------------------------------------------------------

def _pipelines(domain, seed):
    common = dict(backbone="small_cnn", image_size=16, batch_size=16, seed=seed)
    return (make_pipeline(domain.train, training=True, augment=False, **common),
            make_pipeline(domain.val, **common))


def test_a_one_phase_run_is_train_joint_then_the_validation_threshold(domain):
    plan = FineTunePlan(epochs=2, batch_size=16, augment=False)
    result = run_fine_tune(_model(), domain, plan, seed=3)
    by_hand = _model()
    train_ds, val_ds = _pipelines(domain, 3)
    history = train_joint(by_hand, [train_ds], val_ds, epochs=2, batch_size=16, seed=3, verbose=0)
    assert isinstance(result, FineTuneResult) and result.training.history == history.history
    assert _same(result.model.get_weights(), by_hand.get_weights())
    scores = scores_at_validation_threshold(by_hand, domain.val, batch_size=16)
    assert result.threshold == scores.threshold and result.validation == scores.validation
    assert result.evaluate(domain.test) == scores_at_validation_threshold(by_hand, domain.val, domain.test,
                                                                          batch_size=16).test
    assert result.settings["domain"] == domain.name and result.settings["seed"] == 3
    assert result.train_seconds > 0 and result.cpu_seconds >= 0


def test_a_two_phase_run_is_fine_tune_with_the_plan_s_settings(domain, monkeypatch):
    calls = []

    def recorded(model, train_ds, val_ds, **kwargs):
        calls.append(kwargs)
        return fine_tune(model, train_ds, val_ds, **kwargs)

    monkeypatch.setattr(finetune, "fine_tune", recorded)
    plan = FineTunePlan(epochs=1, head_epochs=1, batch_size=16, augment=False, learning_rate=2e-3,
                        unfreeze={"policy": "last_k", "k": 1}, class_weight="balanced", patience=2)
    result = run_fine_tune(_model(), domain, plan, seed=1)
    assert result.training.phases == ["head", "finetune"]
    assert calls == [dict(head_epochs=1, finetune_epochs=1, head_learning_rate=2e-3, finetune_learning_rate=2e-4,
                          unfreeze={"policy": "last_k", "k": 1}, class_weight="balanced", base_learning_rate=None,
                          optimizer="adam", patience=2, seed=1, callbacks=[], verbose=0)]


def test_the_report_chooses_the_threshold_on_validation(domain):
    result = run_fine_tune(_model(), domain, FineTunePlan(epochs=1, batch_size=16), seed=0)
    evaluation = result.report(domain, n_boot=20)
    assert evaluation.name == "fine-tuned" and evaluation.report.threshold == pytest.approx(result.threshold)
    again = evaluate_model(result.model, domain, "again", batch_size=16, n_boot=20)
    assert evaluation.report.test == again.report.test and np.array_equal(evaluation.p_test, again.p_test)


def test_run_refuses_what_it_cannot_train(domain):
    with pytest.raises(ValueError, match="Received: domain="):
        run_fine_tune(_model(), domain.train, FineTunePlan(epochs=1))
    with pytest.raises(ValueError, match="Received: plan="):
        run_fine_tune(_model(), domain, {"epochs": 1})


def _one_class(split):
    return split.take(np.flatnonzero(split.labels == 0))


@pytest.mark.parametrize("split", ["train", "val"])
def test_run_refuses_a_one_class_split_before_any_training(domain, split, monkeypatch):
    from dataclasses import replace

    def no_training(*args, **kwargs):
        raise AssertionError("trained on a one-class split")

    monkeypatch.setattr(finetune, "train_joint", no_training)
    one = replace(domain, **{split: _one_class(getattr(domain, split))})
    with pytest.raises(ValueError, match=rf"domain '{domain.name}': the {split} split holds one class only"):
        run_fine_tune(_model(), one, FineTunePlan(epochs=1))


def test_evaluation_refuses_a_one_class_test_split_naming_it(domain):
    from dataclasses import replace

    one = replace(domain, test=_one_class(domain.test))
    with pytest.raises(ValueError, match=r"the test split holds one class only \(.*: 0\).*Received: test_class_counts="):
        evaluate_model(_model(), one, "model")


# --- Every place that trains goes through it ---------------------------------------------------------

@pytest.fixture
def spy(monkeypatch):
    """Counts the calls of run_fine_tune from the module given (the real function still runs)."""
    calls = []

    def install(module):
        real = finetune.run_fine_tune
        assert module.run_fine_tune is real, f"{module.__name__} does not use workflows.finetune.run_fine_tune"

        def counted(*args, **kwargs):
            calls.append(args[2] if len(args) > 2 else kwargs["plan"])
            return real(*args, **kwargs)

        monkeypatch.setattr(module, "run_fine_tune", counted)
        return calls

    return install


def test_the_recipes_train_through_the_workflow(spy, domain):
    from crossdomain_kit.workflows import recipes

    calls = spy(recipes)
    pre = recipes.train_small_cnn(domain, epochs=1)
    recipes.transfer(pre, domain, head_epochs=1, finetune_epochs=1)
    recipes.scratch_baseline(domain, head_epochs=1, finetune_epochs=1)
    assert [plan.two_phase for plan in calls] == [False, True, False]


def test_the_dashboard_trains_through_the_workflow(spy, domain):
    from crossdomain_kit.panels import dashboard
    from crossdomain_kit.panels.freezing import freezing_panel
    from crossdomain_kit.panels.hyperparameters import Hyperparameters, hyperparameter_panel

    calls = spy(dashboard)
    freezing = freezing_panel(_model())
    hyper = hyperparameter_panel(Hyperparameters(epochs=1, batch_size=16))
    panel = dashboard.training_dashboard(domain, freezing, hyper)
    panel.controls["train"].click()
    assert panel.wait(120) and panel.state.error is None
    assert len(calls) == 1 and calls[0].epochs == 1 and calls[0].batch_size == 16


def test_the_shift_explorer_trains_through_the_workflow(spy):
    from crossdomain_kit.panels import shift_explorer

    calls = spy(shift_explorer)
    panel = shift_explorer.shift_explorer(image_size=16, n_source_train=48, n_target_train=24, n_val=24, n_test=24,
                                          epochs=1, n_samples=4, seed=0)
    panel.controls["compare"].click()
    assert panel.wait(120) and panel.state.error is None
    assert [plan.two_phase for plan in calls] == [False, True]


def test_the_finetune_command_trains_through_the_workflow(spy, tmp_path, monkeypatch):
    from crossdomain_kit import cli

    rng = np.random.default_rng(0)
    arrays = {f"{split}_{kind}": value for split, n in (("train", 48), ("val", 24), ("test", 24))
              for kind, value in (("images", rng.integers(0, 255, (n, 16, 16), dtype=np.uint8)),
                                  ("labels", (np.arange(n) % 2)[:, None].astype(np.uint8)))}
    np.savez(tmp_path / "toy.npz", **arrays)
    calls = spy(finetune)  # the command imports it when it runs
    code = cli.main(["finetune", "--data", str(tmp_path / "toy.npz"), "--out", str(tmp_path / "run"),
                     "--epochs", "1"])
    assert code == 0 and len(calls) == 1 and (tmp_path / "run" / "report.md").is_file()
