"""PneumoniaMNIST 28 px with the kit's recommended CPU recipe, beside MedMNIST v2's published results.

Run from the repository root:

    python benchmarks/pneumonia.py                          # markdown table
    python benchmarks/pneumonia.py --json pneumonia.json    # and a JSON file

The recipe is :func:`crossdomain_kit.workflows.recipes.train_small_cnn` on PneumoniaMNIST
at 28 px (``$CROSSDOMAIN_DATA_DIR/pneumoniamnist.npz``): the small CNN from
scratch, mild augmentation, the epoch with the best validation AUC kept and
the decision threshold chosen on validation (Youden's J). Only then is the
test split predicted, once, for test AUC and test accuracy at that threshold
(with bootstrap 95 % intervals). ``train_seconds`` is the wall-clock time of
training alone; the process's CPU seconds are printed beside it, because on
a shared machine wall time depends on the other jobs.

The published rows are MedMNIST v2's test results on the same split (Yang et
al. 2023, Table 3; models trained from scratch). The goal on a 2-core CPU:
test AUC >= 0.975 and test ACC >= 0.91 in at most 3 minutes of training.

``CROSSDOMAIN_FAST=1`` (the fast profile) trains on a few hundred images for
two epochs: a smoke test of the script, not a result.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from crossdomain_kit import config  # noqa: E402
from crossdomain_kit.data.domains import Domain  # noqa: E402
from crossdomain_kit.environment import cpu_description  # noqa: E402
from crossdomain_kit.evaluation import evaluate_predictions  # noqa: E402
from crossdomain_kit.data.medmnist import load_medmnist_domain  # noqa: E402
from crossdomain_kit.workflows.recipes import train_small_cnn  # noqa: E402

PUBLISHED = (  # MedMNIST v2, Table 3: PneumoniaMNIST test AUC / ACC
    ("MedMNIST v2: ResNet-18 (28)", 0.944, 0.854),
    ("MedMNIST v2: ResNet-50 (224)", 0.962, 0.884),
    ("MedMNIST v2: AutoKeras", 0.947, 0.878),
    ("MedMNIST v2: Google AutoML Vision", 0.991, 0.946),
)
GOALS = {"test_auc": 0.975, "test_acc": 0.91, "train_seconds": 180.0}


def smoke_domain(domain: Domain, n_train: int, n_val: int, seed: int) -> Domain:
    """The fast profile's subset: fewer training and validation images (test unchanged)."""
    return Domain(domain.name, domain.train.sample(n_train, seed), domain.val.sample(n_val, seed), domain.test)


def goal_checks(result: dict) -> dict[str, bool]:
    return {"test_auc": result["test_auc"] >= GOALS["test_auc"],
            "test_acc": result["test_acc"] >= GOALS["test_acc"],
            "train_seconds": result["train_seconds"] <= GOALS["train_seconds"]}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=None, help="most epochs (default: the recipe's)")
    parser.add_argument("--data-dir", type=Path, default=None,
                        help="folder holding pneumoniamnist.npz (default: $CROSSDOMAIN_DATA_DIR)")
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write the numbers here as JSON")
    args = parser.parse_args(argv)

    domain = load_medmnist_domain("pneumoniamnist", 28, data_dir=args.data_dir, download=False)
    if config.is_fast():
        domain = smoke_domain(domain, n_train=300, n_val=200, seed=args.seed)
    load = os.getloadavg()[0]
    recipe = train_small_cnn(domain, seed=args.seed, epochs=args.epochs)
    p_val = recipe.predict(domain.val)
    p_test = recipe.predict(domain.test)  # the only time the test split is read
    report = evaluate_predictions(domain.val.labels, p_val, domain.test.labels, p_test, domain.class_names,
                                  n_boot=config.pick(default=1000, fast=50), seed=args.seed)
    assert report.threshold == recipe.threshold  # the recipe's own rule, on the same predictions

    result = {"benchmark": "pneumonia", "profile": config.profile_name(),
              "test_auc": report.test.auc, "test_acc": report.test.accuracy,
              "train_seconds": recipe.train_seconds, "cpu_seconds": recipe.cpu_seconds,
              "threshold": report.threshold, "val_auc": report.validation.auc,
              "val_acc": report.validation.accuracy,
              "sensitivity": report.test.sensitivity, "specificity": report.test.specificity,
              "test_acc_at_0_5": float(((p_test >= 0.5) == domain.test.labels).mean()),
              "ci": {name: report.intervals[name].as_dict() for name in ("auc", "accuracy")},
              "epochs_run": recipe.training.epochs, "best_epoch": recipe.training.best_epoch,
              "settings": recipe.settings, "cpu_count": os.cpu_count(), "cpu": cpu_description(),
              "load_average_at_start": load,
              "published": [{"model": m, "test_auc": auc, "test_acc": acc} for m, auc, acc in PUBLISHED],
              "goals": GOALS}
    result["goals_met"] = goal_checks(result)

    auc_ci, acc_ci = report.intervals["auc"], report.intervals["accuracy"]
    print(f"PneumoniaMNIST 28 px: train {len(domain.train)}, val {len(domain.val)}, test {len(domain.test)} "
          f"({report.test.positive_fraction:.1%} pneumonia; val {report.validation.positive_fraction:.1%}). "
          f"Profile {config.profile_name()}, seed {args.seed}, {os.cpu_count()} CPUs "
          f"({result['cpu']}), load average {load:.1f} at the start.\n")
    print("| model | test AUC | test ACC | training |")
    print("|---|---:|---:|---|")
    print(f"| kit: train_small_cnn (this run) | {report.test.auc:.3f} [{auc_ci.low:.3f}, {auc_ci.high:.3f}] | "
          f"{report.test.accuracy:.3f} [{acc_ci.low:.3f}, {acc_ci.high:.3f}] | "
          f"{recipe.train_seconds:.0f} s wall, {recipe.cpu_seconds:.0f} s CPU, "
          f"{recipe.training.epochs} epochs (best {recipe.training.best_epoch + 1}) |")
    for model, auc, acc in PUBLISHED:
        print(f"| {model} | {auc:.3f} | {acc:.3f} | |")
    print(f"\nThreshold {report.threshold:.3f} chosen on validation (Youden's J; validation AUC "
          f"{report.validation.auc:.3f}, ACC {report.validation.accuracy:.3f}). At that threshold on test: "
          f"sensitivity {report.test.sensitivity:.3f}, specificity {report.test.specificity:.3f}; "
          f"at 0.5 test ACC would be {result['test_acc_at_0_5']:.3f}. Intervals: bootstrap 95 %.")
    mark = {True: "met", False: "NOT met"}
    met = result["goals_met"]
    print(f"Goals: test AUC >= {GOALS['test_auc']}: {mark[met['test_auc']]}; test ACC >= {GOALS['test_acc']}: "
          f"{mark[met['test_acc']]}; training <= {GOALS['train_seconds']:.0f} s: {mark[met['train_seconds']]}.")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return result


if __name__ == "__main__":
    start = time.perf_counter()
    main()
    print(f"(whole script: {time.perf_counter() - start:.0f} s)")
