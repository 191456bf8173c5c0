"""benchmarks/label_budget.py: summaries and goals on hand-made numbers, refusals (in process), fast-profile runs."""

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from crossdomain_kit import config
from crossdomain_kit.environment import cpu_description

ROOT = Path(__file__).resolve().parents[2]
DATA = [config.data_dir() / f"{name}.npz" for name in ("pneumoniamnist", "breastmnist")]
needs_data = pytest.mark.skipif(not all(p.is_file() for p in DATA),
                                reason=f"the real datasets {[str(p) for p in DATA]} are not there")
GOAL_SEEDS = [0, 1, 2, 3, 4]


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("label_budget_benchmark", ROOT / "benchmarks" / "label_budget.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    yield module
    del sys.modules[spec.name]


def _runs(target, n, budget, aucs: dict[str, list[float]]):
    return [{"target": target, "n_labels": n, "label_budget": budget, "start": start, "seed": seed,
             "test_auc": auc, "val_auc": 0.5, "seconds": 1.0}
            for start, values in aucs.items() for seed, auc in enumerate(values)]


def _summary(bench, breast64, breast_all, pneumonia64):
    return bench.summarize(_runs("breastmnist", 64, 64, breast64) + _runs("breastmnist", 546, "all", breast_all)
                           + _runs("pneumoniamnist", 64, 64, pneumonia64))


# --- Summaries ------------------------------------------------------------------------------------------

def test_summary_pairs_the_gain_by_seed(bench):
    rows = bench.summarize(_runs("breastmnist", 64, 64, {
        "scratch": [0.70, 0.80, 0.75], "general": [0.78, 0.79, 0.85], "xray": [0.60, 0.70, 0.65]}))
    assert [r["start"] for r in rows] == ["general", "xray", "scratch"]
    general, xray, scratch = rows
    assert general["test_auc"] == [0.78, 0.79, 0.85] and general["seeds"] == [0, 1, 2]
    assert general["mean_test_auc"] == pytest.approx(0.8066667)
    assert general["spread"] == pytest.approx(0.07)
    assert general["gain_per_seed"] == pytest.approx([0.08, -0.01, 0.10])
    assert general["mean_gain_over_scratch"] == pytest.approx(0.17 / 3)
    assert (general["gain_min"], general["gain_max"]) == pytest.approx((-0.01, 0.10))
    assert general["seeds_better_than_scratch"] == 2
    assert xray["seeds_better_than_scratch"] == 0 and xray["mean_gain_over_scratch"] == pytest.approx(-0.10)
    assert scratch["mean_gain_over_scratch"] is None and scratch["seeds_better_than_scratch"] is None
    assert scratch["spread"] == pytest.approx(0.10)


def test_summary_pairs_the_validation_auc_too(bench):
    runs = _runs("breastmnist", 64, 64, {"scratch": [0.70, 0.80], "lower": [0.75, 0.78]})
    for run, val in zip(runs, [0.90, 0.94, 0.93, 0.92]):
        run["val_auc"] = val
    scratch_row = next(r for r in bench.summarize(runs) if r["start"] == "scratch")
    lower, = [r for r in bench.summarize(runs) if r["start"] == "lower"]
    assert lower["val_auc"] == [0.93, 0.92] and lower["mean_val_auc"] == pytest.approx(0.925)
    assert lower["val_spread"] == pytest.approx(0.01) and (lower["min_val_auc"], lower["max_val_auc"]) == (0.92, 0.93)
    assert lower["val_gain_per_seed"] == pytest.approx([0.03, -0.02])
    assert lower["val_mean_gain_over_scratch"] == pytest.approx(0.005) and lower["val_seeds_better_than_scratch"] == 1
    assert lower["mean_gain_over_scratch"] == pytest.approx(0.015)  # the test AUC's gain, apart
    assert scratch_row["val_mean_gain_over_scratch"] is None
    table = bench.markdown_table(bench.summarize(runs), "breastmnist", "val").splitlines()
    assert table[0] == "| labels | lower val AUC | lower − scratch (seeds better) | scratch val AUC |"
    assert table[2] == "| 64 | 0.925 ± 0.010 | +0.005 (1/2) | 0.920 ± 0.040 |"
    del runs[0]["val_auc"]  # a scratch run without its validation AUC: the test AUC's fields only
    assert all("mean_val_auc" not in r and "mean_test_auc" in r for r in bench.summarize(runs))


def test_summary_refuses_unpaired_seeds(bench):
    runs = _runs("breastmnist", 64, 64, {"scratch": [0.7, 0.8], "general": [0.8, 0.8, 0.9]})
    with pytest.raises(ValueError, match="paired by seed"):
        bench.summarize(runs)


def test_label_counts_sort_cap_and_merge_budgets(bench):
    assert bench.label_counts([32, "all", 64], 546) == [(32, 32), (64, 64), ("all", 546)]
    assert bench.label_counts(["all", 1000, 256], 546) == [(256, 256), ("all", 546)]
    assert bench.label_counts([546], 546) == [("all", 546)]
    assert bench.budget_label("all", 546) == "all (546)" and bench.budget_label(32, 32) == "32"


def test_verdicts_say_what_was_measured(bench):
    rows = bench.summarize(_runs("breastmnist", 64, 64, {
        "scratch": [0.70] * 5, "general": [0.80, 0.75, 0.72, 0.71, 0.65], "xray": [0.60, 0.65, 0.69, 0.6, 0.75]})
        + _runs("pneumoniamnist", 64, 64, {"scratch": [0.9] * 5, "general": [0.95, 0.92, 0.91, 0.85, 0.8]}))
    general, xray, _, pneumonia, _ = rows
    assert bench.verdict(general).startswith("BreastMNIST, 64 labels, general start: helped — mean test AUC 0.726 "
                                             "against scratch 0.700, gain +0.026")
    assert "better than scratch on 4 of 5 seeds" in bench.verdict(general)
    assert ": hurt — " in bench.verdict(xray)
    assert ": no clear difference — " in bench.verdict(pneumonia)  # 3 of 5 seeds better: not a verdict


# --- Goals ----------------------------------------------------------------------------------------------

def _goals(bench, summary, minutes=42.0, seeds=GOAL_SEEDS, profile="default", whole=True):
    return {g["id"]: g for g in bench.check_goals(summary, minutes, seeds=seeds, profile=profile, whole=whole)}


def test_goals_met(bench):
    summary = _summary(bench,
                       {"scratch": [0.70] * 5, "general": [0.80, 0.78, 0.76, 0.74, 0.69]},  # +0.054, 4 of 5
                       {"scratch": [0.88] * 5, "general": [0.90, 0.91, 0.92, 0.90, 0.905]},
                       {"scratch": [0.90] * 5, "general": [0.90] * 5})  # equal: no negative transfer
    goals = _goals(bench, summary)
    assert [g["text"] for g in goals.values()] == [g["text"] for g in bench.GOALS]
    assert {k: g["met"] for k, g in goals.items()} == {
        "breastmnist_64_margin": True, "breastmnist_all_auc": True,
        "pneumoniamnist_64_no_negative_transfer": True, "whole_benchmark_minutes": True}
    assert all(g["conditions"] for g in goals.values())
    assert goals["breastmnist_64_margin"]["measured"]["seeds_better_than_scratch"] == 4
    assert goals["breastmnist_64_margin"]["measured"]["mean_gain_over_scratch"] == pytest.approx(0.054)
    assert goals["whole_benchmark_minutes"]["measured"] == {"minutes": 42.0}


def test_goals_not_met(bench):
    summary = _summary(bench,
                       {"scratch": [0.70] * 5, "general": [0.95, 0.90, 0.69, 0.69, 0.69]},  # +0.084, only 2 of 5
                       {"scratch": [0.88] * 5, "general": [0.90] * 5},  # 0.900 < 0.905
                       {"scratch": [0.90] * 5, "general": [0.91, 0.89, 0.89, 0.90, 0.90]})  # -0.002
    goals = _goals(bench, summary, minutes=61.0)
    assert {k: g["met"] for k, g in goals.items()} == dict.fromkeys(goals, False)
    margin_too_small = _summary(bench, {"scratch": [0.70] * 5, "general": [0.74] * 5},  # 5 of 5, +0.04
                                {"scratch": [0.9] * 5, "general": [0.9] * 5},
                                {"scratch": [0.9] * 5, "general": [0.9] * 5})
    assert _goals(bench, margin_too_small)["breastmnist_64_margin"]["met"] is False


def test_goals_of_a_subset_are_not_measured_or_flagged(bench):
    summary = bench.summarize(_runs("breastmnist", 546, "all", {"scratch": [0.8, 0.8], "general": [0.91, 0.92]}))
    goals = _goals(bench, summary, minutes=2.0, seeds=[0, 1], profile="fast", whole=False)
    assert goals["breastmnist_64_margin"]["met"] is None and goals["breastmnist_64_margin"]["measured"] is None
    assert goals["pneumoniamnist_64_no_negative_transfer"]["met"] is None
    assert goals["breastmnist_all_auc"]["met"] is True and goals["breastmnist_all_auc"]["conditions"] is False
    assert goals["whole_benchmark_minutes"]["conditions"] is False
    line = bench.goal_line(goals["breastmnist_all_auc"], "fast")
    assert line.startswith("- BreastMNIST with all labels: general ≥ 0.905 mean test AUC "
                           "(MedMNIST v2's ResNet-18 (28): 0.901): met — mean test AUC 0.915")
    assert line.endswith("(smoke test in the fast profile, not a result)")
    assert "not measured" in bench.goal_line(goals["breastmnist_64_margin"], "fast")


def test_markdown_table_has_a_row_per_budget_and_columns_per_start(bench):
    summary = bench.summarize(_runs("breastmnist", 32, 32, {"scratch": [0.6, 0.7], "general": [0.7, 0.8],
                                                           "xray": [0.5, 0.9]})
                              + _runs("breastmnist", 546, "all", {"scratch": [0.8, 0.88], "general": [0.85, 0.85],
                                                                  "xray": [0.8, 0.9]}))
    table = bench.markdown_table(summary, "breastmnist").splitlines()
    assert table[0] == ("| labels | general test AUC | general − scratch (seeds better) | xray test AUC | "
                        "xray − scratch (seeds better) | scratch test AUC |")
    assert table[2] == "| 32 | 0.750 ± 0.100 | +0.100 (2/2) | 0.700 ± 0.400 | +0.050 (1/2) | 0.650 ± 0.100 |"
    assert table[3].startswith("| all (546) | 0.850 ± 0.000 | +0.010 (1/2) |")


# --- The script ---------------------------------------------------------------------------------------

def _script(*args, timeout=300):
    env = {**os.environ, "CROSSDOMAIN_FAST": "1"}
    return subprocess.run([sys.executable, "benchmarks/label_budget.py", *map(str, args)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout)


def _refusal(bench, capsys, *args):
    """Run the script's ``main`` in this process on arguments it refuses before any run.

    In process, not as a subprocess: a refusal comes before any training, so a second Python that imports
    TensorFlow (about 20 s a test on a busy CI machine) would test nothing more. Nothing may reach stdout.

    Returns:
        ``(code, stderr)``: the ``SystemExit`` code (2 from argparse; a one-line message for a
        ``SystemExit(str)``, which Python prints to stderr and exits 1 on) and what reached stderr.
    """
    with pytest.raises(SystemExit) as stop:
        bench.main([str(a) for a in args])
    out, err = capsys.readouterr()
    assert out == ""
    return stop.value.code, err


@pytest.fixture(scope="module")
def general_weights(tmp_path_factory):
    from crossdomain_kit.models.classifier import base_of, build_classifier

    path = tmp_path_factory.mktemp("general") / "g.weights.h5"
    base_of(build_classifier("small_cnn", (28, 28, 1), seed=0)).save_weights(path)
    return path


@needs_data
def test_fast_run_prints_the_tables_and_writes_the_json(tmp_path, general_weights):
    out, plot = tmp_path / "label_budget.json", tmp_path / "label_budget.png"
    run = _script("--general-weights", general_weights, "--targets", "breastmnist", "--labels", "32",
                  "--seeds", "0", "--starts", "general", "lower", "xray", "--reset-from", "block3",
                  "--json", out, "--plot", plot)
    assert run.returncode == 0, run.stderr[-3000:]
    assert ("| labels | general test AUC | general − scratch (seeds better) | lower test AUC | "
            "lower − scratch (seeds better) | xray test AUC | xray − scratch (seeds better) | "
            "scratch test AUC |") in run.stdout
    assert "Validation AUC of the kept epochs (78 images;" in run.stdout
    assert "| labels | general val AUC | general − scratch (seeds better) | lower val AUC |" in run.stdout
    assert "its layers below block3, the rest afresh (lower)" in run.stdout
    assert "\n| 32 | " in run.stdout
    assert "Profile fast — a smoke test" in run.stdout and "load average" in run.stdout
    assert "28 px images (the general and lower starts at 32 px)" in run.stdout
    assert "fine-tuning learning rate 0.003," in run.stdout  # the transfer recipe's own
    assert "- BreastMNIST, 32 labels, general start: " in run.stdout
    for goal in ("BreastMNIST with 64 labels: general ≥ scratch + 0.05 mean test AUC over seeds 0–4 and better "
                 "than scratch on ≥ 4 of 5 seeds: not measured",
                 "PneumoniaMNIST with 64 labels: general ≥ scratch on the mean (no negative transfer): not measured",
                 "the whole benchmark ≤ 60 min: met — "):
        assert goal in run.stdout
    assert "Whole script: " in run.stdout
    assert sum("[" in line and "/4] BreastMNIST, 32 labels" in line for line in run.stderr.splitlines()) == 4
    assert plot.stat().st_size > 10_000

    result = json.loads(out.read_text())
    assert set(result) >= {"runs", "summary", "goals", "settings", "machine", "seconds"}
    assert [(r["start"], r["seed"], r["n_labels"]) for r in result["runs"]] == [
        ("general", 0, 32), ("lower", 0, 32), ("xray", 0, 32), ("scratch", 0, 32)]
    for run_ in result["runs"]:
        assert run_["target"] == "breastmnist"
        assert all(isinstance(run_[k], float) for k in ("test_auc", "val_auc", "seconds"))
        assert 0 <= run_["test_auc"] <= 1
    assert len(result["summary"]) == 4
    assert {(r["target"], r["n_labels"], r["start"]) for r in result["summary"]} == {
        ("breastmnist", 32, s) for s in ("general", "lower", "xray", "scratch")}
    for row in result["summary"]:
        assert isinstance(row["mean_test_auc"], float) and row["spread"] == 0.0
        assert isinstance(row["mean_val_auc"], float) and row["val_spread"] == 0.0
        if row["start"] == "scratch":
            assert row["mean_gain_over_scratch"] is None and row["seeds_better_than_scratch"] is None
        else:
            assert isinstance(row["mean_gain_over_scratch"], float)
            assert row["seeds_better_than_scratch"] in (0, 1)
    assert [g["id"] for g in result["goals"]] == [
        "breastmnist_64_margin", "breastmnist_all_auc", "pneumoniamnist_64_no_negative_transfer",
        "whole_benchmark_minutes"]
    settings = result["settings"]
    assert settings["backbone"] == "small_cnn" and settings["profile"] == "fast"
    assert settings["starts"] == ["general", "lower", "xray", "scratch"] and settings["reset_from"] == "block3"
    assert settings["finetune_learning_rate"] == 3e-3
    assert settings["whole_benchmark"] is False
    assert settings["seeds"] == [0] and settings["budgets"] == [32]
    assert (settings["image_size"], settings["general_image_size"]) == (28, 32)
    assert settings["general_weights_file"] == str(general_weights) and len(settings["general_weights_sha256"]) == 64
    assert result["machine"]["cpu_count"] == os.cpu_count() and result["machine"]["cpu"] == cpu_description()
    assert set(result["machine"]["onednn"]) == {"TF_ENABLE_ONEDNN_OPTS", "ONEDNN_MAX_CPU_ISA"}
    assert f"CPUs ({cpu_description()})" in run.stdout
    assert isinstance(result["machine"]["load_average_at_start"], float)
    assert len(result["pretraining"]) == 1 and result["pretraining"][0]["n_train"] == 300


@pytest.mark.parametrize("weights", ["no_such_weights", "missing/g.weights.h5"])
def test_missing_general_weights_exit_1_with_one_line(bench, capsys, weights):
    message, _ = _refusal(bench, capsys, "--general-weights", weights, "--targets", "breastmnist",
                          "--labels", "32", "--seeds", "0")
    assert isinstance(message, str) and "\n" not in message  # SystemExit(str): one line on stderr, exit status 1
    assert message.startswith(f"label_budget.py: the general weights {weights!r} for backbone 'small_cnn' are not "
                              "available")
    assert "crossdomain-kit pretrain --out DIR" in message and "--general-weights DIR/<file>" in message


def test_the_general_start_runs_at_the_size_its_weights_were_trained_at(bench):
    assert bench.general_image_size("small_cnn", "tinyimagenet", None) == 32  # from the registry
    assert bench.general_image_size("small_cnn", "runs/mine.weights.h5", None) == 32  # crossdomain-kit pretrain's
    assert bench.general_image_size("small_cnn", "tinyimagenet", 28) == 28  # --general-size


def test_a_general_size_below_the_backbones_minimum_is_refused_before_any_run(bench, capsys):
    code, err = _refusal(bench, capsys, "--general-size", "4", "--targets", "breastmnist", "--labels", "32",
                         "--seeds", "0")
    assert code == 2 and "--general-size must be at least 8 px for small_cnn, got 4" in err


def test_an_unknown_reset_layer_is_refused_before_any_run(bench, capsys, general_weights):
    code, err = _refusal(bench, capsys, "--general-weights", general_weights, "--starts", "lower",
                         "--reset-from", "blok2", "--targets", "breastmnist", "--labels", "32", "--seeds", "0")
    assert code == 2
    assert "--reset-from: No backbone layer or block is called 'blok2'. Did you mean 'block2'" in err
    assert "BreastMNIST, 32 labels" not in err


@needs_data
def test_worker_processes_give_the_numbers_one_process_gives(tmp_path):
    out = {jobs: tmp_path / f"jobs{jobs}.json" for jobs in (1, 2)}
    for jobs, path in out.items():
        run = _script("--targets", "breastmnist", "--labels", "32", "--seeds", "0", "1", "--starts", "general",
                      "xray", "--jobs", jobs, "--json", path)
        assert run.returncode == 0, run.stderr[-3000:]
        assert f"{jobs} worker process" in run.stdout
        assert sum(line.startswith("[") and "/6] BreastMNIST, 32 labels" in line
                   for line in run.stderr.splitlines()) == 6
    one, two = (json.loads(out[jobs].read_text()) for jobs in (1, 2))
    assert (one["settings"]["jobs"], two["settings"]["jobs"]) == (1, 2)

    def numbers(records):
        return [{k: v for k, v in record.items() if k != "seconds"} for record in records]

    assert [(r["seed"], r["start"]) for r in two["runs"]] == [
        (seed, start) for seed in (0, 1) for start in ("general", "xray", "scratch")]  # the serial order
    assert numbers(two["runs"]) == numbers(one["runs"])
    assert numbers(two["pretraining"]) == numbers(one["pretraining"])


@needs_data
def test_sigterm_ends_the_worker_processes_too():
    psutil = pytest.importorskip("psutil")
    env = {**os.environ, "CROSSDOMAIN_FAST": "1"}
    script = subprocess.Popen([sys.executable, "benchmarks/label_budget.py", "--targets", "breastmnist",
                               "--labels", "32", "64", "128", "all", "--seeds", "0", "1", "--starts", "general",
                               "--jobs", "2"],
                              cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        for line in script.stderr:  # until a worker has finished a run: both are busy with their units
            if line.startswith("[1/16]"):
                break
        else:
            pytest.fail(f"the script ended before its first run (exit {script.wait()})")
        children = psutil.Process(script.pid).children(recursive=True)
        assert len(children) >= 3  # the queue's manager and two workers
        script.terminate()
        out, _ = script.communicate(timeout=120)
        assert script.returncode == 143 and "Whole script" not in out
        _, alive = psutil.wait_procs(children, timeout=60)
        assert alive == []  # else each worker would have run on to the end of its unit
    finally:
        if script.poll() is None:
            script.kill()


def test_jobs_below_one_are_refused_before_any_run(bench, capsys):
    code, err = _refusal(bench, capsys, "--jobs", "0", "--targets", "breastmnist", "--labels", "32", "--seeds", "0")
    assert code == 2 and "--jobs must be at least 1, got 0" in err


@pytest.mark.parametrize("rate", ["0", "-0.001", "1.5"])
def test_a_finetune_learning_rate_outside_0_1_is_refused_before_any_run(bench, capsys, rate):
    code, err = _refusal(bench, capsys, "--finetune-lr", rate, "--targets", "breastmnist", "--labels", "32",
                         "--seeds", "0")
    assert code == 2 and f"--finetune-lr must be between 0 and 1, got {float(rate)}" in err


def test_the_finetune_learning_rate_reaches_the_transfer_recipe_of_the_pretrained_starts_only(bench, monkeypatch):
    from types import SimpleNamespace

    from crossdomain_kit.data.synthetic import make_synthetic_domain
    from crossdomain_kit.workflows import recipes

    calls = []

    def fake(name):
        def recipe(*args, **kwargs):
            calls.append((name, kwargs.get("finetune_learning_rate")))
            return SimpleNamespace(val_auc=0.5, evaluate=lambda split: SimpleNamespace(auc=0.5))
        return recipe

    monkeypatch.setattr(recipes, "transfer", fake("transfer"))
    monkeypatch.setattr(recipes, "scratch_baseline", fake("scratch_baseline"))
    domain = make_synthetic_domain(0.0, n_train=40, n_val=20, n_test=20, image_size=28, seed=0)
    work = bench.Work((("breastmnist", 32, 32, ["general", "scratch"]),), "small_cnn", "block2", 1e-3)
    runs, _ = work.run("breastmnist", 0, {"breastmnist": domain}, object(), lambda kind, record: None)
    assert calls == [("transfer", 1e-3), ("scratch_baseline", None)]
    assert [r["start"] for r in runs] == ["general", "scratch"]
