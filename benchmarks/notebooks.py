"""Seconds per lesson notebook under nbval, in the fast and the default profile.

Run from the repository root:

    python benchmarks/notebooks.py                          # both profiles (the default one takes long)
    python benchmarks/notebooks.py --profile fast           # what CI runs
    python benchmarks/notebooks.py --json notebooks.json    # and a JSON file

Each profile is one ``pytest`` run over the notebooks, exactly as the test
command runs them (nbval, the repository's ``pyproject.toml`` options and
``conftest.py``), with ``CROSSDOMAIN_FAST`` set to 1 or 0. A notebook's
seconds are the sum of its cells' setup, run and teardown times from pytest's
JUnit XML report, so the kernel's start counts; the total is the wall time of
the whole run. The goal of the course issue: the fast suite in at most
5 minutes on a 2-core machine, and each lesson but 05 in at most 10 minutes in
the default profile on a CPU.

The JSON file holds ``seconds`` (notebook → profile → seconds),
``failures`` (notebook → profile → failed cells) and ``total_fast_seconds`` /
``total_default_seconds`` for the profiles that ran.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ElementTree
from collections import defaultdict
from pathlib import Path

from crossdomain_kit.environment import cpu_description

ROOT = Path(__file__).resolve().parent.parent
PROFILES = {"fast": "1", "default": "0"}
FAST_GOAL_S = 300
DEFAULT_GOAL_S = 600


def notebook_times(junit_xml: Path) -> tuple[dict[str, float], dict[str, int]]:
    """Seconds and failed cells per notebook file from a pytest JUnit XML report."""
    seconds, failures = defaultdict(float), defaultdict(int)
    for case in ElementTree.parse(junit_xml).iter("testcase"):
        name = Path(case.get("file", "")).name  # xunit1 reports name each cell's file
        seconds[name] += float(case.get("time", 0.0))
        failures[name] += sum(1 for child in case if child.tag in ("failure", "error"))
    return dict(seconds), dict(failures)


def run_profile(profile: str, notebooks: list[Path], data_dir: Path | None) -> tuple[dict, dict, float]:
    """One pytest run of ``notebooks`` in ``profile``: (seconds, failures, wall seconds)."""
    env = dict(os.environ, **{"CROSSDOMAIN_FAST": PROFILES[profile]})
    if data_dir is not None:
        env["CROSSDOMAIN_DATA_DIR"] = str(data_dir)
    with tempfile.TemporaryDirectory() as folder:
        report = Path(folder) / "junit.xml"
        command = [sys.executable, "-m", "pytest", "-q", "-o", "junit_family=xunit1",
                   f"--junitxml={report}", *map(str, notebooks)]
        start = time.perf_counter()
        subprocess.run(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, check=False)
        wall = time.perf_counter() - start
        if not report.is_file():
            raise SystemExit(f"pytest wrote no report for the {profile} profile; run "
                             f"`{' '.join(command)}` to see why.")
        seconds, failures = notebook_times(report)
    return seconds, failures, wall


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", choices=["fast", "default", "both"], default="both")
    parser.add_argument("--notebooks", nargs="*", type=Path, default=None,
                        help="notebook files (default: notebooks/*.ipynb)")
    parser.add_argument("--data-dir", type=Path, default=None,
                        help="CROSSDOMAIN_DATA_DIR for the runs (default: as conftest.py sets it)")
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write the numbers here as JSON")
    args = parser.parse_args(argv)
    notebooks = args.notebooks or sorted((ROOT / "notebooks").glob("*.ipynb"))
    profiles = ["fast", "default"] if args.profile == "both" else [args.profile]

    seconds, failures, totals = defaultdict(dict), defaultdict(dict), {}
    for profile in profiles:
        print(f"running {len(notebooks)} notebooks in the {profile} profile ...", file=sys.stderr, flush=True)
        profile_seconds, profile_failures, totals[profile] = run_profile(profile, notebooks, args.data_dir)
        for notebook in notebooks:
            seconds[notebook.name][profile] = profile_seconds.get(notebook.name)
            failures[notebook.name][profile] = profile_failures.get(notebook.name, 0)

    cpu = cpu_description()
    print(f"nbval, {os.cpu_count()} CPUs ({cpu}), load average "
          f"{os.getloadavg()[0]:.1f} at the end.\n")
    print("| notebook | " + " | ".join(f"{p} (s)" for p in profiles) + " |")
    print("|---|" + "---:|" * len(profiles))
    for notebook in notebooks:
        cells = []
        for profile in profiles:
            value, failed = seconds[notebook.name][profile], failures[notebook.name][profile]
            cells.append("not run" if value is None else f"{value:.0f}" + (f" ({failed} failed)" if failed else ""))
        print(f"| {notebook.name} | " + " | ".join(cells) + " |")
    print("| **total (wall)** | " + " | ".join(f"**{totals[p]:.0f}**" for p in profiles) + " |")
    if "fast" in totals:
        print(f"\nFast suite: {totals['fast']:.0f} s (goal ≤ {FAST_GOAL_S} s: "
              f"{'met' if totals['fast'] <= FAST_GOAL_S else 'NOT met'}).")
    if "default" in totals:
        slow = [name for name, by_profile in seconds.items() if not name.startswith("05_")
                and (by_profile.get("default") or 0) > DEFAULT_GOAL_S]
        print(f"Default profile over {DEFAULT_GOAL_S} s (05 excepted): {', '.join(slow) or 'none'}.")

    report = {"benchmark": "notebooks", "cpu_count": os.cpu_count(), "cpu": cpu, "seconds": dict(seconds),
              "failures": dict(failures)}
    report.update({f"total_{profile}_seconds": total for profile, total in totals.items()})
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    failed = sum(count for by_profile in failures.values() for count in by_profile.values())
    if failed:
        raise SystemExit(f"{failed} notebook cells failed; run pytest on the notebooks to see them.")
    return report


if __name__ == "__main__":
    main()
