"""What a general-domain pretrained start buys, by label budget: general vs X-ray vs scratch.

Run from the repository root:

    python benchmarks/label_budget.py                              # markdown tables, goals
    python benchmarks/label_budget.py --json label_budget.json --plot label_budget.png
    python benchmarks/label_budget.py --targets breastmnist --labels 64 all --seeds 0 1 --jobs 1
    python benchmarks/label_budget.py --targets breastmnist --labels 64 all --starts general lower scratch
    python benchmarks/label_budget.py --labels 64 --starts general scratch --finetune-lr 1e-3

Targets: BreastMNIST (28 px breast ultrasound, 1 = malignant) and
PneumoniaMNIST (28 px paediatric chest X-rays, 1 = pneumonia). For each
target, label budget n (32, 64, 128, 256 and all training labels) and seed
(0–4), three starts of the same backbone are fine-tuned on the same n
training images (``domain.train.sample(n, seed)``, as
:func:`crossdomain_kit.workflows.data_efficiency.transfer_vs_scratch` draws them):

* ``general``: the backbone pretrained on Tiny ImageNet (natural photographs,
  grey 32 px): the weights the kit ships as ``"tinyimagenet"``, or any backbone
  ``.weights.h5`` file (``--general-weights``);
* ``xray`` (BreastMNIST only): the small CNN pretrained on PneumoniaMNIST with
  :func:`crossdomain_kit.workflows.recipes.pretrain`, once per seed, reused for
  every label budget (it never sees BreastMNIST);
* ``scratch``: :func:`crossdomain_kit.workflows.recipes.scratch_baseline`, a random
  start with the same budget;
* ``lower`` (only when ``--starts`` asks for it): the general backbone's
  layers below ``--reset-from`` (default ``block2``: the first block), the
  rest a fresh start, everything trained like scratch
  (:func:`crossdomain_kit.workflows.recipes.transfer_lower_layers`).

The general and lower starts take the targets' 28 px images resized to the
size their backbone was pretrained at (``--general-size``, default 32 px
for ``tinyimagenet``), as an ImageNet network takes its 224 px: the
filters then meet structures at the scale they learned. Chosen on
validation (BreastMNIST, seeds 0–4, mean exact validation AUC): the general
start at 28 px gave 0.805 with 64 labels and 0.900 with all, at 32 px 0.817
and 0.948; on PneumoniaMNIST with 64 labels 0.952 at 28 px, 0.965 at 32 px
(``--backbone small_cnn_wide``, 64 labels: 0.824 at 28 px, 0.834 at 32 on
BreastMNIST; 0.953 and 0.965 on PneumoniaMNIST).
Scratch and the X-ray start stay at 28 px, their images' own size (scratch
at 32 px was no better on validation: BreastMNIST 0.808 vs 0.827 with 64
labels, 0.943 vs 0.944 with all; PneumoniaMNIST 0.971 vs 0.975 with 64).

``general`` and ``xray`` are fine-tuned with
:func:`crossdomain_kit.workflows.recipes.transfer` (a fresh seeded head, then two
phases; ``--finetune-lr`` sets the second phase's learning rate, default the
recipe's 3e-3). Lower rates did not help the general start on validation
(small CNN, 64 labels, seeds 0–4): 1e-3 and 3e-4 gave 0.820 and 0.818
against 0.815 on BreastMNIST (scratch 0.826), 0.962 and 0.956 against 0.965
on PneumoniaMNIST (scratch 0.975). Model selection and the threshold use
the target's FULL validation split; each model is scored once on the test split (test AUC). The gain of
a start is paired by seed: AUC_start − AUC_scratch on the same labels. A
second table per target gives the validation AUC of the kept epochs (exact,
the number model selection maximised): choose between starts and recipes
on it, never on the test table.

Goals (default profile, seeds 0–4):

* BreastMNIST with 64 labels: general ≥ scratch + 0.05 mean test AUC over
  seeds 0–4 and better than scratch on ≥ 4 of 5 seeds;
* BreastMNIST with all labels: general ≥ 0.905 mean test AUC (MedMNIST v2's
  ResNet-18 (28): 0.901);
* PneumoniaMNIST with 64 labels: general ≥ scratch on the mean (no negative
  transfer);
* the whole benchmark ≤ 60 min.

The (target, seed) units are independent: ``--jobs N`` (default 2 where
there are 2 CPUs or more) runs them in N spawned worker processes, the
longest first. Each run is seeded by its seed and builds its models afresh,
so the numbers are those of ``--jobs 1``; only the seconds change.

``CROSSDOMAIN_FAST=1`` (the fast profile): the recipes train 1 + 1 epochs,
the budgets are cut to 32 and all, the seeds to 0 and 1, and the X-ray
pretraining sees a few hundred images: a smoke test of the script, not a result.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import sys
import time
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

from crossdomain_kit import config  # noqa: E402
from crossdomain_kit.data.domains import Domain  # noqa: E402
from crossdomain_kit.environment import cpu_description  # noqa: E402
from crossdomain_kit.workflows.data_efficiency import DataEfficiency, gain_vanishes_at, over_seeds  # noqa: E402

TARGETS = ("breastmnist", "pneumoniamnist")
TITLES = {"breastmnist": "BreastMNIST", "pneumoniamnist": "PneumoniaMNIST"}
XRAY_SOURCE = "pneumoniamnist"
STARTS = ("general", "lower", "xray", "scratch")
DEFAULT_STARTS = ("general", "xray", "scratch")
BACKBONES = ("small_cnn", "small_cnn_wide")
IMAGE_SIZE = 28
BUDGETS = {"default": [32, 64, 128, 256, "all"], "fast": [32, "all"]}
SEEDS = {"default": [0, 1, 2, 3, 4], "fast": [0, 1]}
GOAL_SEEDS = [0, 1, 2, 3, 4]
DEFAULT_JOBS = min(2, os.cpu_count() or 1)  # two units side by side: the whole benchmark 64.0 -> 47.2 min on 2 cores
SMOKE_SOURCE = (300, 200)  # fast profile: X-ray pretraining on this many train / val images
REFERENCE = ("MedMNIST v2: ResNet-18 (28), from scratch", 0.901)  # BreastMNIST test AUC, Table 3

GOALS = (
    {"id": "breastmnist_64_margin", "target": "breastmnist", "n_labels": 64,
     "text": "BreastMNIST with 64 labels: general ≥ scratch + 0.05 mean test AUC over seeds 0–4 "
             "and better than scratch on ≥ 4 of 5 seeds",
     "margin": 0.05, "seeds_fraction": 0.8},
    {"id": "breastmnist_all_auc", "target": "breastmnist", "n_labels": "all",
     "text": "BreastMNIST with all labels: general ≥ 0.905 mean test AUC (MedMNIST v2's ResNet-18 (28): 0.901)",
     "mean_test_auc": 0.905},
    {"id": "pneumoniamnist_64_no_negative_transfer", "target": "pneumoniamnist", "n_labels": 64,
     "text": "PneumoniaMNIST with 64 labels: general ≥ scratch on the mean (no negative transfer)",
     "margin": 0.0},
    {"id": "whole_benchmark_minutes", "text": "the whole benchmark ≤ 60 min", "minutes": 60.0},
)

WEIGHTS_HELP = ("make them with `crossdomain-kit pretrain --out DIR`, then pass "
                "`--general-weights DIR/<file>` (a backbone .weights.h5 file)")


# --- Arguments ------------------------------------------------------------------------------------

def parse_budget(text: str):
    """``"all"`` or a positive integer number of training labels."""
    if text.strip().lower() == "all":
        return "all"
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"a label budget is a positive integer or 'all', not {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"a label budget must be >= 1, not {value}")
    return value


def label_counts(budgets, n_train: int) -> list[tuple[object, int]]:
    """``(budget, labels used)`` per budget, increasing; a budget at or above the split's size is ``"all"``.

    Budgets are sorted (``"all"`` last); two that use the same number of
    labels (e.g. 1000 and all of a 546-image split) are one.
    """
    pairs = sorted(((b, n_train if b == "all" else min(int(b), n_train)) for b in set(budgets)),
                   key=lambda p: (p[1], p[0] == "all"))
    kept: dict[int, object] = {}
    for budget, count in pairs:
        kept[count] = "all" if count >= n_train else budget
    return [(budget, count) for count, budget in kept.items()]


def budget_label(budget, count: int) -> str:
    return f"all ({count})" if budget == "all" else str(count)


# --- Summaries and goals (pure NumPy) ---------------------------------------------------------------

def _key(row) -> tuple:
    return row["target"], row["n_labels"]


def summarize(runs: list[dict]) -> list[dict]:
    """One row per (target, n_labels, start): mean test AUC over seeds, spread, and the paired gain.

    ``runs`` are dicts with ``target``, ``n_labels``, ``label_budget``
    (optional), ``start``, ``seed``, ``test_auc`` and (optional) ``val_auc``.
    The gain over scratch is taken per seed (same seed, same labels) before
    averaging; scratch's own gain fields are None. The validation fields
    (``mean_val_auc``, ``val_mean_gain_over_scratch``, ...: :func:`_paired_stats`)
    are there when every run of the row (and of scratch, which it is paired with) has ``val_auc``.
    """
    groups: dict[tuple, dict[str, dict[int, dict]]] = {}
    budgets: dict[tuple, object] = {}
    for run in runs:
        groups.setdefault(_key(run), {}).setdefault(run["start"], {})[run["seed"]] = run
        budgets[_key(run)] = run.get("label_budget", run["n_labels"])
    rows = []
    for (target, n), by_start in sorted(groups.items(), key=lambda item: (
            TARGETS.index(item[0][0]) if item[0][0] in TARGETS else len(TARGETS), item[0])):
        scratch = by_start.get("scratch")
        for start in sorted(by_start, key=lambda s: STARTS.index(s) if s in STARTS else len(STARTS)):
            seeds = sorted(by_start[start])
            if scratch is not None and start != "scratch" and sorted(scratch) != seeds:
                raise ValueError(f"{target}, {n} labels: {start} ran seeds {seeds}, scratch {sorted(scratch)}; "
                                 "the gain is paired by seed.")
            paired = scratch if start != "scratch" else None
            row = {"target": target, "n_labels": n, "label_budget": budgets[(target, n)], "start": start,
                   "seeds": seeds, **_paired_stats(by_start[start], paired, seeds, n, "test_auc", "")}
            if all("val_auc" in run for run in [*by_start[start].values(), *(paired or {}).values()]):
                row.update(_paired_stats(by_start[start], paired, seeds, n, "val_auc", "val_"))
            rows.append(row)
    return rows


def _paired_stats(runs: dict, scratch: dict | None, seeds: list, n: int, metric: str, prefix: str) -> dict:
    """One metric of a start's runs (by seed): values, mean, spread and the gain over scratch paired by seed.

    For ``metric="test_auc"`` and no prefix the keys are ``test_auc``, ``mean_test_auc``, ``spread``,
    ``min_test_auc``, ``max_test_auc``, ``mean_gain_over_scratch``, ``gain_min``, ``gain_max``,
    ``seeds_better_than_scratch`` and ``gain_per_seed``; for ``"val_auc"`` with prefix ``"val_"``:
    ``val_auc``, ``mean_val_auc``, ``val_spread``, ... ``val_gain_per_seed``. The gain fields are None
    without ``scratch`` (scratch's own row).
    """
    values = np.array([float(runs[s][metric]) for s in seeds])
    spread = over_seeds(values)
    name = metric.removesuffix("_auc")
    stats = {metric: [float(v) for v in values], f"mean_{name}_auc": float(spread.mean),
             f"{prefix}spread": float(spread.spread), f"min_{name}_auc": float(spread.low),
             f"max_{name}_auc": float(spread.high), f"{prefix}mean_gain_over_scratch": None,
             f"{prefix}gain_min": None, f"{prefix}gain_max": None, f"{prefix}seeds_better_than_scratch": None,
             f"{prefix}gain_per_seed": None}
    if scratch is not None:
        result = DataEfficiency(np.array([n]), tuple(seeds), values[None, :],
                                np.array([[float(scratch[s][metric]) for s in seeds]]), 0.0)
        gain = result.gain()
        stats.update({f"{prefix}mean_gain_over_scratch": float(gain.mean[0]), f"{prefix}gain_min": float(gain.low[0]),
                      f"{prefix}gain_max": float(gain.high[0]),
                      f"{prefix}seeds_better_than_scratch": int(result.seeds_better()[0]),
                      f"{prefix}gain_per_seed": [float(g) for g in result.transfer_auc[0] - result.scratch_auc[0]]})
    return stats


def _row(summary, target, budget, start):
    """The summary row of a target, a budget (an int or "all") and a start; None when not run."""
    return next((row for row in summary if row["target"] == target and row["start"] == start
                 and row["label_budget"] == budget), None)


def check_goals(summary: list[dict], minutes: float, *, seeds, profile: str, whole: bool) -> list[dict]:
    """The goals, each with what was measured, ``met`` (None when its runs are not there) and ``conditions``.

    ``conditions`` is True when the measurement is the goal's own (default
    profile, seeds 0–4; for the minutes, the whole benchmark), so a smoke test
    or a subset is never mistaken for a result.
    """
    own_seeds = sorted(seeds) == GOAL_SEEDS and profile == "default"
    goals = []
    for goal in GOALS:
        checked = {k: v for k, v in goal.items()}
        if "minutes" in goal:
            checked.update(measured={"minutes": minutes}, met=bool(minutes <= goal["minutes"]),
                           conditions=bool(whole and profile == "default"))
            goals.append(checked)
            continue
        general = _row(summary, goal["target"], goal["n_labels"], "general")
        scratch = _row(summary, goal["target"], goal["n_labels"], "scratch")
        checked.update(measured=None, met=None, conditions=own_seeds)
        if "mean_test_auc" in goal and general is not None:
            checked["measured"] = {"mean_test_auc": general["mean_test_auc"], "seeds": general["seeds"]}
            checked["met"] = bool(general["mean_test_auc"] >= goal["mean_test_auc"])
        elif "margin" in goal and general is not None and scratch is not None:
            gain, better, n = (general["mean_gain_over_scratch"], general["seeds_better_than_scratch"],
                               len(general["seeds"]))
            checked["measured"] = {"mean_gain_over_scratch": gain, "seeds_better_than_scratch": better,
                                   "seeds": general["seeds"], "mean_test_auc": general["mean_test_auc"],
                                   "scratch_mean_test_auc": scratch["mean_test_auc"]}
            met = gain >= goal["margin"] - 1e-12
            if "seeds_fraction" in goal:
                met = met and better >= goal["seeds_fraction"] * n - 1e-9
            checked["met"] = bool(met)
        goals.append(checked)
    return goals


SEED_MAJORITY = 0.8  # the share of seeds a verdict needs (4 of 5)


def verdict(row: dict) -> str:
    """What a start's paired gain over scratch measured, in words: helped, hurt, or no clear difference.

    "helped" (or "hurt") needs the mean gain's sign on at least 4 seeds in 5 (SEED_MAJORITY), as the
    goals do: with 5 seeds, a 3-to-2 split is what two equal methods give often.
    """
    gain, better, n = row["mean_gain_over_scratch"], row["seeds_better_than_scratch"], len(row["seeds"])
    if gain > 0 and better >= SEED_MAJORITY * n:
        word = "helped"
    elif gain < 0 and n - better >= SEED_MAJORITY * n:
        word = "hurt"
    else:
        word = "no clear difference"
    return (f"{TITLES.get(row['target'], row['target'])}, {budget_label(row['label_budget'], row['n_labels'])} "
            f"labels, {row['start']} start: {word} — mean test AUC {row['mean_test_auc']:.3f} against "
            f"scratch {row['mean_test_auc'] - gain:.3f}, gain {gain:+.3f} (seeds {row['gain_min']:+.3f} to "
            f"{row['gain_max']:+.3f}), better than scratch on {better} of {n} seeds.")


# --- Output ----------------------------------------------------------------------------------------

def _auc_cell(row, metric: str) -> str:
    prefix = "" if metric == "test" else f"{metric}_"
    return "" if row is None else f"{row[f'mean_{metric}_auc']:.3f} ± {row[f'{prefix}spread']:.3f}"


def _gain_cell(row, metric: str) -> str:
    prefix = "" if metric == "test" else f"{metric}_"
    if row is None or row[f"{prefix}mean_gain_over_scratch"] is None:
        return ""
    return (f"{row[f'{prefix}mean_gain_over_scratch']:+.3f} "
            f"({row[f'{prefix}seeds_better_than_scratch']}/{len(row['seeds'])})")


def markdown_table(summary: list[dict], target: str, metric: str = "test") -> str:
    """A target's table: a row per budget, per start its mean AUC ± spread and its paired gain over scratch.

    Args:
        summary: rows of :func:`summarize`.
        target: e.g. ``"breastmnist"``.
        metric: ``"test"`` (test AUC) or ``"val"`` (validation AUC of the kept epochs).
    """
    rows = sorted((r for r in summary if r["target"] == target), key=lambda r: r["n_labels"])
    starts = [s for s in STARTS if any(r["start"] == s for r in rows)]
    header, rule = ["labels"], ["---:"]
    for start in starts:
        header.append(f"{start} {metric} AUC")
        rule.append("---:")
        if start != "scratch":
            header.append(f"{start} − scratch (seeds better)")
            rule.append("---:")
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(rule) + "|"]
    for n in sorted({r["n_labels"] for r in rows}):
        at = {r["start"]: r for r in rows if r["n_labels"] == n}
        cells = [budget_label(next(iter(at.values()))["label_budget"], n)]
        for start in starts:
            cells.append(_auc_cell(at.get(start), metric))
            if start != "scratch":
                cells.append(_gain_cell(at.get(start), metric))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def goal_line(goal: dict, profile: str) -> str:
    mark = {True: "met", False: "NOT met", None: "not measured (its runs are not in this subset)"}
    measured = goal["measured"]
    if measured is None:
        found = ""
    elif "minutes" in measured:
        found = f" — {measured['minutes']:.1f} min measured against {goal['minutes']:.0f} min"
    elif "mean_gain_over_scratch" in measured:
        found = (f" — gain {measured['mean_gain_over_scratch']:+.3f} (general {measured['mean_test_auc']:.3f}, "
                 f"scratch {measured['scratch_mean_test_auc']:.3f}), better on "
                 f"{measured['seeds_better_than_scratch']} of {len(measured['seeds'])} seeds")
    else:
        found = f" — mean test AUC {measured['mean_test_auc']:.3f}"
    note = ""
    if goal["met"] is not None and not goal["conditions"]:
        note = (" (smoke test in the fast profile, not a result)" if profile == "fast" else
                " (measured on a subset, not the goal's conditions)")
    return f"- {goal['text']}: {mark[goal['met']]}{found}{note}"


def draw(summary: list[dict], targets, path: Path) -> None:
    """One panel per target: mean test AUC vs labels (log-2 x axis), min–max band over seeds, per start."""
    from matplotlib import rcParams
    from matplotlib.figure import Figure

    from crossdomain_kit.plots import plot_data_efficiency

    palette = rcParams["axes.prop_cycle"].by_key()["color"]
    figure = Figure(figsize=(6 * len(targets), 4.5), layout="constrained")
    axes = figure.subplots(1, len(targets), squeeze=False)[0]
    for ax, target in zip(axes, targets):
        rows = [r for r in summary if r["target"] == target]
        counts = sorted({r["n_labels"] for r in rows})
        curves = {start: np.array([next(r["test_auc"] for r in rows if r["start"] == start and r["n_labels"] == n)
                                   for n in counts])
                  for start in STARTS if any(r["start"] == start for r in rows)}
        ax.set_prop_cycle(color=[palette[STARTS.index(start) % len(palette)] for start in curves])  # same per start
        plot_data_efficiency(counts, curves, ax=ax, title=f"{TITLES[target]} ({counts[-1]} = all labels)")
    if config.is_fast():
        figure.suptitle("fast profile: a smoke test, not a result")
    figure.savefig(path, dpi=120)


# --- The runs -----------------------------------------------------------------------------------------

def _one_line(error: Exception, limit: int = 240) -> str:
    """An error in one short line (Keras's loading errors can run to pages)."""
    text = " ".join(str(error).split())
    return text if len(text) <= limit else text[:limit - 1] + "…"


def general_image_size(backbone: str, weights: str, size: int | None) -> int:
    """The general start's input size: ``size`` if given, else the targets' raised to the weights' training size.

    Named weights say it in the backbone registry (``input_size``); a file
    from ``crossdomain-kit pretrain`` was trained at the pretraining plan's
    default size unless its model card says otherwise.
    """
    from crossdomain_kit.models.backbones import get_backbone
    from crossdomain_kit.workflows.pretraining_plan import IMAGE_SIZE as PRETRAINING_SIZE

    if size is not None:
        return size
    named = get_backbone(backbone).weights_spec(weights)
    return named.fitting_size(IMAGE_SIZE) if named is not None else max(IMAGE_SIZE, PRETRAINING_SIZE)


def load_general(backbone: str, weights: str, size: int):
    """The general start (a classifier with the named or given backbone weights, at ``size`` px), its file and SHA-256.

    Raises:
        SystemExit: one line saying the weights are not available and how to make them.
    """
    from crossdomain_kit.models.classifier import build_classifier
    from crossdomain_kit.models.weights import packaged_weights_file, sha256_of

    try:
        model = build_classifier(backbone, (size, size, 1), weights=weights, seed=0)
    except (FileNotFoundError, ValueError) as error:
        raise SystemExit(f"label_budget.py: the general weights {weights!r} for backbone {backbone!r} are not "
                         f"available ({_one_line(error)}); {WEIGHTS_HELP}.") from None
    path = Path(weights).expanduser()
    if not path.is_file():
        try:
            path = packaged_weights_file(backbone, weights)
        except (FileNotFoundError, ValueError):
            path = None
    return model, (str(path) if path else None), (sha256_of(path) if path else None)


@dataclass(frozen=True)
class Work:
    """The runs of one (target, seed) unit: the X-ray pretraining it needs, then every budget and start.

    Attributes:
        plan: ``(target, budget, labels used, starts)`` per budget, as :func:`main` lays it out.
        backbone: the backbone of scratch and of the X-ray start.
        reset_from: the lower start's first fresh layer or block.
        finetune_lr: the learning rate of :func:`~crossdomain_kit.workflows.recipes.transfer`'s
            second phase (every layer) for the general and X-ray starts.
    """

    plan: tuple
    backbone: str
    reset_from: str
    finetune_lr: float

    def cost(self, unit: tuple) -> int:
        """Training images the unit fine-tunes on, summed over its runs: the longest units go first."""
        return sum(count * len(starts) for target, _, count, starts in self.plan if target == unit[0])

    def run(self, target: str, seed: int, domains: dict, general, report) -> tuple[list[dict], list[dict]]:
        """Train and test the unit's models; ``report(kind, record)`` hears of each as it ends.

        Returns:
            ``(runs, pretraining)``: a record per fine-tuned model (in plan order) and per X-ray pretraining.
        """
        from crossdomain_kit.workflows.recipes import pretrain, scratch_baseline, transfer, transfer_lower_layers

        domain = domains[target]
        runs, pretraining, xray = [], [], None
        plan = [p for p in self.plan if p[0] == target]
        if any("xray" in starts for *_, starts in plan):
            source = domains[XRAY_SOURCE]
            if config.is_fast():
                n_train, n_val = SMOKE_SOURCE
                source = Domain(source.name, source.train.sample(n_train, seed), source.val.sample(n_val, seed),
                                source.test)
            tick = time.perf_counter()
            xray = pretrain(source, seed=seed, backbone=self.backbone)
            pretraining.append({"target": target, "source": source.name, "seed": seed,
                                "n_train": len(source.train), "val_auc": xray.val_auc,
                                "seconds": time.perf_counter() - tick})
            report("pretraining", pretraining[-1])
        for _, budget, count, starts in plan:
            subset = Domain(domain.name, domain.train.sample(count, seed), domain.val, domain.test)
            for start in starts:
                tick = time.perf_counter()
                if start == "scratch":
                    tuned = scratch_baseline(subset, seed=seed, image_size=IMAGE_SIZE, backbone=self.backbone)
                elif start == "lower":
                    tuned = transfer_lower_layers(general, subset, reset_from=self.reset_from, seed=seed)
                else:
                    tuned = transfer(general if start == "general" else xray, subset, seed=seed,
                                     finetune_learning_rate=self.finetune_lr)
                test_auc = tuned.evaluate(domain.test).auc  # the test split, once per trained model
                runs.append({"target": target, "n_labels": count, "label_budget": budget, "start": start,
                             "seed": seed, "test_auc": float(test_auc), "val_auc": float(tuned.val_auc),
                             "seconds": time.perf_counter() - tick})
                report("run", runs[-1])
        return runs, pretraining


@dataclass(frozen=True)
class Loading:
    """What a worker process loads once: the general start and the domains."""

    backbone: str
    weights: str
    size: int
    data_dir: Path | None
    domains: tuple


_worker: dict = {}  # a worker process's general start, domains and report queue (set by _start_worker)


def _start_worker(loading: Loading, queue) -> None:
    from crossdomain_kit.data.medmnist import load_medmnist_domain

    _worker.update(general=load_general(loading.backbone, loading.weights, loading.size)[0], queue=queue,
                   domains={name: load_medmnist_domain(name, IMAGE_SIZE, data_dir=loading.data_dir)
                            for name in loading.domains})


def _run_in_worker(work: Work, target: str, seed: int):
    queue = _worker["queue"]
    return work.run(target, seed, _worker["domains"], _worker["general"],
                    lambda kind, record: queue.put((kind, record)))


def run_in_processes(work: Work, units: list, jobs: int, loading: Loading, announce) -> dict:
    """Each (target, seed) unit in one of ``jobs`` worker processes, the longest first; ``{unit: result}``.

    Every run is seeded by its own seed and its models are built afresh, so a
    unit gives the same numbers in any process as in the main one (the
    script's tests check it). Workers are spawned, not forked: TensorFlow is
    not fork-safe once it has run.

    A stop (Ctrl-C, SIGTERM, a worker's error) ends the workers too, in the
    middle of their units: SIGTERM is turned into ``SystemExit(143)`` here, and
    the workers are terminated before the error goes on.
    """
    import multiprocessing
    import signal
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    context = multiprocessing.get_context("spawn")

    def drain(queue) -> None:
        while not queue.empty():
            announce(*queue.get())

    def stop(signum, frame):
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, stop)  # by default SIGTERM would end this process, not the workers
    try:
        with context.Manager() as manager:
            queue = manager.Queue()
            ours = {child.pid for child in multiprocessing.active_children()}  # the manager's process
            with ProcessPoolExecutor(jobs, mp_context=context, initializer=_start_worker,
                                     initargs=(loading, queue)) as pool:
                futures = {pool.submit(_run_in_worker, work, *unit): unit
                           for unit in sorted(units, key=work.cost, reverse=True)}
                pending = set(futures)
                try:
                    while pending:
                        finished, pending = wait(pending, timeout=1.0, return_when=FIRST_COMPLETED)
                        drain(queue)
                        for future in finished:
                            future.result()  # a worker's error ends the benchmark here
                except BaseException:
                    pool.shutdown(wait=False, cancel_futures=True)
                    for worker in multiprocessing.active_children():  # else each would finish its unit first
                        if worker.pid not in ours:
                            worker.terminate()
                    raise
                drain(queue)  # a worker's reports reach the queue before its result does
    finally:
        signal.signal(signal.SIGTERM, previous)
    return {unit: future.result() for future, unit in futures.items()}


def main(argv: list[str] | None = None) -> dict:
    started = time.perf_counter()
    load = os.getloadavg()[0]
    profile = config.profile_name()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--targets", nargs="+", choices=TARGETS, default=list(TARGETS))
    parser.add_argument("--labels", nargs="+", type=parse_budget, metavar="N|all", default=None,
                        help=f"training-label budgets (default: {BUDGETS['default']}; fast profile "
                             f"{BUDGETS['fast']})")
    parser.add_argument("--seeds", type=int, nargs="+", default=None,
                        help=f"seeds (default: {SEEDS['default']}; fast profile {SEEDS['fast']})")
    parser.add_argument("--starts", nargs="+", choices=STARTS, default=list(DEFAULT_STARTS),
                        help=f"the starts to compare (default: {' '.join(DEFAULT_STARTS)}; scratch always runs, "
                             "every gain is paired with it)")
    parser.add_argument("--reset-from", default="block2", metavar="LAYER",
                        help="the lower start: the first backbone layer or block that starts afresh (default: block2, "
                             "i.e. only the first block comes from the general backbone)")
    parser.add_argument("--backbone", choices=BACKBONES, default="small_cnn")
    parser.add_argument("--finetune-lr", type=float, default=None, metavar="LR",
                        help="learning rate of the transfer recipe's second phase (every layer) for the general and "
                             "xray starts (default: the recipe's own); scratch and lower keep theirs")
    parser.add_argument("--general-weights", default="tinyimagenet", metavar="NAME_OR_PATH",
                        help="the general start: the name of weights the kit ships (default: tinyimagenet) "
                             "or a backbone .weights.h5 file")
    parser.add_argument("--general-size", type=int, default=None, metavar="PX",
                        help="input size of the general and lower starts (default: the size their weights were "
                             "trained at, 32 for tinyimagenet; the targets' 28 px images are resized to it)")
    parser.add_argument("--data-dir", type=Path, default=None,
                        help="folder holding pneumoniamnist.npz and breastmnist.npz (default: $CROSSDOMAIN_DATA_DIR)")
    parser.add_argument("--jobs", type=int, default=DEFAULT_JOBS, metavar="N",
                        help=f"worker processes, each running whole (target, seed) units; the numbers are the same "
                             f"for any N (default: {DEFAULT_JOBS}, from this machine's {os.cpu_count()} CPUs)")
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write the numbers here as JSON")
    parser.add_argument("--plot", type=Path, metavar="PATH.png", help="also draw test AUC against labels here")
    args = parser.parse_args(argv)
    budgets = args.labels or BUDGETS[profile]
    seeds = sorted(set(args.seeds if args.seeds is not None else SEEDS[profile]))
    if any(s < 0 for s in seeds):
        parser.error("seeds must be >= 0")
    if args.jobs < 1:
        parser.error(f"--jobs must be at least 1, got {args.jobs}")
    if args.finetune_lr is not None and not 0 < args.finetune_lr < 1:
        parser.error(f"--finetune-lr must be between 0 and 1, got {args.finetune_lr}")
    targets = [t for t in TARGETS if t in args.targets]
    chosen = [s for s in STARTS if s in args.starts or s == "scratch"]
    whole = (targets == list(TARGETS) and seeds == SEEDS[profile] and chosen == list(DEFAULT_STARTS)
             and sorted(set(budgets), key=str) == sorted(set(BUDGETS[profile]), key=str))

    from tqdm.auto import tqdm

    from crossdomain_kit.data.medmnist import load_medmnist_domain
    from crossdomain_kit.models.backbones import get_backbone
    from crossdomain_kit.workflows.recipes import TARGET_LEARNING_RATE

    finetune_lr = TARGET_LEARNING_RATE if args.finetune_lr is None else args.finetune_lr

    smallest = get_backbone(args.backbone).min_size
    if args.general_size is not None and args.general_size < smallest:
        parser.error(f"--general-size must be at least {smallest} px for {args.backbone}, got {args.general_size}")
    general_size = general_image_size(args.backbone, args.general_weights, args.general_size)
    general, general_file, general_sha = load_general(args.backbone, args.general_weights, general_size)
    if "lower" in chosen:  # checked now, not after the first runs
        from crossdomain_kit.models.classifier import base_of
        from crossdomain_kit.models.freezing import backbone_layers_from

        try:
            backbone_layers_from(base_of(general), args.reset_from, argument="reset_from")
        except ValueError as error:
            parser.error(f"--reset-from: {_one_line(error)}")
    with_xray = "breastmnist" in targets and "xray" in chosen
    domains = {name: load_medmnist_domain(name, IMAGE_SIZE, data_dir=args.data_dir, download=True)
               for name in sorted(set(targets) | ({XRAY_SOURCE} if with_xray else set()))}

    plan = []  # (target, budget, count, starts)
    for target in targets:
        for budget, count in label_counts(budgets, len(domains[target].train)):
            starts = [s for s in chosen if s != "xray" or (target == "breastmnist" and with_xray)]
            plan.append((target, budget, count, starts))
    n_runs = len(seeds) * sum(len(p[3]) for p in plan)

    units = [(target, seed) for target in targets for seed in seeds]  # results are kept in this order
    jobs = min(args.jobs, len(units))
    # A line per finished run; the bar itself only on a terminal (in a log it would add a line per redraw).
    bar = tqdm(total=n_runs, desc="label budget", unit="run", file=sys.stderr, dynamic_ncols=True,
               disable=not sys.stderr.isatty())
    numbers = itertools.count(1)

    def announce(kind: str, record: dict) -> None:
        if kind == "pretraining":
            bar.write(f"xray start, seed {record['seed']}: pretrained on {record['n_train']} {TITLES[XRAY_SOURCE]} "
                      f"images, val AUC {record['val_auc']:.3f}, {record['seconds']:.0f} s", file=sys.stderr)
            return
        bar.write(f"[{next(numbers)}/{n_runs}] {TITLES[record['target']]}, "
                  f"{budget_label(record['label_budget'], record['n_labels'])} labels, {record['start']}, "
                  f"seed {record['seed']}: test AUC {record['test_auc']:.3f} (val {record['val_auc']:.3f}), "
                  f"{record['seconds']:.0f} s", file=sys.stderr)
        bar.update(1)

    work = Work(tuple(plan), args.backbone, args.reset_from, finetune_lr)
    if jobs == 1:
        done = {unit: work.run(*unit, domains, general, announce) for unit in units}
    else:
        done = run_in_processes(work, units, jobs, Loading(args.backbone, args.general_weights, general_size,
                                                           args.data_dir, tuple(sorted(domains))), announce)
    runs = [run for unit in units for run in done[unit][0]]
    pretraining = [record for unit in units for record in done[unit][1]]
    bar.close()

    summary = summarize(runs)
    seconds = time.perf_counter() - started
    goals = check_goals(summary, seconds / 60, seeds=seeds, profile=profile, whole=whole)
    machine = {"cpu_count": os.cpu_count(), "cpu": cpu_description(), "machine": platform.machine(),
               "platform": platform.platform(), "python": platform.python_version(), "load_average_at_start": load,
               "onednn": {name: os.environ.get(name) for name in ("TF_ENABLE_ONEDNN_OPTS", "ONEDNN_MAX_CPU_ISA")}}
    try:
        import keras
        import tensorflow as tf

        machine.update(tensorflow=tf.__version__, keras=keras.__version__,
                       gpus=len(tf.config.list_physical_devices("GPU")))
    except ImportError:  # pragma: no cover - the recipes imported them already
        pass
    result = {"benchmark": "label_budget", "runs": runs, "summary": summary, "goals": goals,
              "pretraining": pretraining,
              "settings": {"backbone": args.backbone, "general_weights": args.general_weights, "starts": chosen,
                           "reset_from": args.reset_from if "lower" in chosen else None,
                           "finetune_learning_rate": finetune_lr,
                           "general_weights_file": general_file, "general_weights_sha256": general_sha,
                           "targets": targets, "seeds": seeds, "budgets": budgets,
                           "label_counts": {t: [c for tt, _, c, _ in plan if tt == t] for t in targets},
                           "image_size": IMAGE_SIZE, "general_image_size": general_size,
                           "profile": profile, "whole_benchmark": whole, "jobs": jobs,
                           "xray": {"source": XRAY_SOURCE, "backbone": args.backbone,
                                    "fast_profile_source_images": list(SMOKE_SOURCE) if config.is_fast() else None},
                           "reference": {"model": REFERENCE[0], "breastmnist_test_auc": REFERENCE[1]}},
              "machine": machine, "seconds": seconds}

    smoke = (" — a smoke test of the script (1 + 1 epochs, X-ray pretraining on a few hundred images), "
             "not a result" if config.is_fast() else "")
    weights = args.general_weights
    if general_file:
        shown = general_file if Path(weights).expanduser().is_file() else f"{weights}: {general_file}"
        weights = f"{shown} (sha256 {general_sha[:12]}…)"
    described = {"general": "a general-domain pretrained start (general)",
                 "lower": f"its layers below {args.reset_from}, the rest afresh (lower)",
                 "xray": "an X-ray one (xray, pretrained on PneumoniaMNIST)", "scratch": "scratch"}
    print(f"Label budget: {' vs '.join(described[s] for s in chosen)}, "
          f"{IMAGE_SIZE} px images (the general and lower starts at {general_size} px), backbone {args.backbone}, "
          f"fine-tuning learning rate {finetune_lr:g}, "
          f"general weights {weights}. Profile {profile}{smoke}. "
          f"Seeds {seeds}. {os.cpu_count()} CPUs ({machine['cpu']}), {jobs} worker process"
          f"{'es' if jobs > 1 else ''}, load average {load:.1f} at the start.")
    for target in targets:
        d = domains[target]
        print(f"\n{TITLES[target]} (train {len(d.train)}, val {len(d.val)} for model selection, test {len(d.test)}, "
              f"{d.test.positive_fraction:.1%} {d.class_names[1]}):\n")
        print(markdown_table(summary, target))
        print(f"\nValidation AUC of the kept epochs ({len(d.val)} images; choose starts and recipes on these):\n")
        print(markdown_table(summary, target, "val"))
    print("\nAUC: mean over seeds ± spread (max − min). Gain: AUC_start − AUC_scratch paired by seed, "
          "its mean, and on how many seeds it was > 0. Every seed's AUC is in the JSON.")
    if "breastmnist" in targets:
        print(f"{REFERENCE[0]}: BreastMNIST test AUC {REFERENCE[1]:.3f} (all labels).")
    print(f"\nWhat was measured{' (fast profile: a smoke test, not a result)' if config.is_fast() else ''}:")
    for row in summary:
        if row["mean_gain_over_scratch"] is not None:
            print(f"- {verdict(row)}")
    for target in targets:
        rows = sorted((r for r in summary if r["target"] == target and r["start"] == "general"),
                      key=lambda r: r["n_labels"])
        if len(rows) > 1:
            vanish = gain_vanishes_at([r["n_labels"] for r in rows], [r["mean_gain_over_scratch"] for r in rows])
            print(f"- {TITLES[target]}: the general start's mean gain over scratch "
                  + ("is still above 0 at the largest budget." if vanish is None else
                     f"is at or below 0 at every budget from {vanish} labels on."))
    print(f"\nGoals ({'smoke test, ' if config.is_fast() else ''}seeds {seeds}):")
    for goal in goals:
        print(goal_line(goal, profile))
    print(f"\nWhole script: {seconds:.0f} s ({seconds / 60:.1f} min), load average {load:.1f} at the start.")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    if args.plot:
        draw(summary, targets, args.plot)
    return result


if __name__ == "__main__":
    main()
