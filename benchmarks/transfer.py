"""Real cross-domain transfer, chest X-ray → breast ultrasound, against training from scratch.

Run from the repository root:

    python benchmarks/transfer.py                         # markdown table, seeds 0, 1, 2
    python benchmarks/transfer.py --json transfer.json    # and a JSON file

For each seed, with the kit's recipes (:mod:`crossdomain_kit.workflows.recipes`):

1. :func:`~crossdomain_kit.workflows.recipes.pretrain`: the small CNN on PneumoniaMNIST
   (28 px paediatric chest X-rays, the source);
2. :func:`~crossdomain_kit.workflows.recipes.transfer`: a copy of it fine-tuned on
   BreastMNIST (28 px breast ultrasound, the target; 1 = malignant) in two
   phases, head then everything;
3. :func:`~crossdomain_kit.workflows.recipes.scratch_baseline`: the same network from a
   random start on BreastMNIST with the same budget (epochs, batch size,
   augmentation, model selection on validation).

Both target models are then evaluated once on BreastMNIST's test split: test
AUC, and test accuracy at the threshold chosen on validation. The seed
changes the pretraining, the new head, the shuffling and the augmentation.

No goals here: this is lesson 07's X-ray → ultrasound comparison with all of
BreastMNIST's labels. The goals for a pretrained start (the general-domain
backbone against the X-ray one and scratch, by label budget) are in
``benchmarks/label_budget.py``; the X-ray start's earlier goals (mean 0.92,
+0.05 over scratch) were out of its reach and were replaced by those.

``CROSSDOMAIN_FAST=1`` (the fast profile) pretrains on a few hundred images
for a couple of epochs: a smoke test of the script, not a result.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

from crossdomain_kit import config  # noqa: E402
from crossdomain_kit.data.domains import Domain  # noqa: E402
from crossdomain_kit.data.medmnist import load_medmnist_domain  # noqa: E402
from crossdomain_kit.environment import cpu_description  # noqa: E402
from crossdomain_kit.workflows.recipes import pretrain, scratch_baseline, transfer  # noqa: E402

REFERENCE = ("MedMNIST v2: ResNet-18 (28), from scratch", 0.901)  # BreastMNIST test AUC, Table 3


def smoke_domain(domain: Domain, n_train: int, n_val: int, seed: int) -> Domain:
    """The fast profile's subset of the source: fewer training and validation images."""
    return Domain(domain.name, domain.train.sample(n_train, seed), domain.val.sample(n_val, seed), domain.test)


def summarize(transfer_auc: list[float], scratch_auc: list[float]) -> dict:
    """Means, spreads and the mean margin over scratch of per-seed test AUCs."""
    t, s = np.asarray(transfer_auc), np.asarray(scratch_auc)
    summary = {"mean_transfer_auc": float(t.mean()), "mean_scratch_auc": float(s.mean()),
               "transfer_spread": float(t.max() - t.min()), "scratch_spread": float(s.max() - s.min())}
    summary["margin"] = summary["mean_transfer_auc"] - summary["mean_scratch_auc"]
    return summary


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--data-dir", type=Path, default=None,
                        help="folder holding pneumoniamnist.npz and breastmnist.npz "
                             "(default: $CROSSDOMAIN_DATA_DIR)")
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write the numbers here as JSON")
    args = parser.parse_args(argv)

    source = load_medmnist_domain("pneumoniamnist", 28, data_dir=args.data_dir, download=False)
    target = load_medmnist_domain("breastmnist", 28, data_dir=args.data_dir, download=False)
    load = os.getloadavg()[0]
    runs = []
    for seed in args.seeds:
        source_data = smoke_domain(source, 300, 200, seed) if config.is_fast() else source
        pre = pretrain(source_data, seed=seed)
        tl = transfer(pre, target, seed=seed)
        base = scratch_baseline(target, seed=seed, image_size=int(pre.model.input_shape[1]))
        # BreastMNIST's test split is read here, once per trained model.
        tl_test, base_test = tl.evaluate(target.test), base.evaluate(target.test)
        runs.append({"seed": seed, "transfer_auc": tl_test.auc, "scratch_auc": base_test.auc,
                     "transfer_acc": tl_test.accuracy, "scratch_acc": base_test.accuracy,
                     "transfer_val_auc": tl.val_auc, "scratch_val_auc": base.val_auc,
                     "source_val_auc": pre.val_auc,
                     "pretrain_seconds": pre.train_seconds, "transfer_seconds": tl.train_seconds,
                     "scratch_seconds": base.train_seconds, "pretrain_cpu_seconds": pre.cpu_seconds,
                     "transfer_cpu_seconds": tl.cpu_seconds, "scratch_cpu_seconds": base.cpu_seconds,
                     "transfer_epochs": tl.training.epochs, "scratch_epochs": base.training.epochs,
                     "settings": {"pretrain": pre.settings, "transfer": tl.settings,
                                  "scratch": base.settings}})

    transfer_auc = [r["transfer_auc"] for r in runs]
    scratch_auc = [r["scratch_auc"] for r in runs]
    summary = summarize(transfer_auc, scratch_auc)
    result = {"benchmark": "transfer", "source": source.name, "target": target.name,
              "profile": config.profile_name(), "seeds": args.seeds, "transfer_auc": transfer_auc,
              "scratch_auc": scratch_auc, **summary, "runs": runs,
              "reference": {"model": REFERENCE[0], "test_auc": REFERENCE[1]},
              "cpu_count": os.cpu_count(), "cpu": cpu_description(), "load_average_at_start": load}

    print(f"PneumoniaMNIST (source, train {len(source.train)}) → BreastMNIST (target: train {len(target.train)}, "
          f"val {len(target.val)}, test {len(target.test)}, {target.test.positive_fraction:.1%} malignant), "
          f"28 px. Profile {config.profile_name()}, {os.cpu_count()} CPUs ({result['cpu']}), "
          f"load average {load:.1f} at the start.\n")
    print("| seed | transfer test AUC | scratch test AUC | transfer test ACC | scratch test ACC | "
          "pretrain / transfer / scratch (s wall) |")
    print("|---:|---:|---:|---:|---:|---|")
    for r in runs:
        print(f"| {r['seed']} | {r['transfer_auc']:.3f} | {r['scratch_auc']:.3f} | {r['transfer_acc']:.3f} | "
              f"{r['scratch_acc']:.3f} | {r['pretrain_seconds']:.0f} / {r['transfer_seconds']:.0f} / "
              f"{r['scratch_seconds']:.0f} |")
    print(f"| mean | {summary['mean_transfer_auc']:.3f} | {summary['mean_scratch_auc']:.3f} | "
          f"{np.mean([r['transfer_acc'] for r in runs]):.3f} | {np.mean([r['scratch_acc'] for r in runs]):.3f} | |")
    print(f"| spread (max − min) | {summary['transfer_spread']:.3f} | {summary['scratch_spread']:.3f} | | | |")
    print(f"| {REFERENCE[0]} | | {REFERENCE[1]:.3f} | | | |")
    print(f"\nMean margin of the X-ray start over scratch: {summary['margin']:+.3f} test AUC. No goals here: "
          "the goals for a pretrained start are in benchmarks/label_budget.py.")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return result


if __name__ == "__main__":
    start = time.perf_counter()
    main()
    print(f"(whole script: {time.perf_counter() - start:.0f} s)")
