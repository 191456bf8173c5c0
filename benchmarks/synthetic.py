"""How many synthetic radiographs per second `crossdomain_kit.data.synthetic` makes.

Run from the repository root:

    python benchmarks/synthetic.py                       # markdown table
    python benchmarks/synthetic.py --json synthetic.json # and a JSON file

Each size is timed on the scanner halfway between SOURCE and TARGET, where every
stage of the pipeline runs (blur, noise, resampling, windowing), on one CPU
thread (BLAS is limited to one thread), as the best of a few repeats.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from threadpoolctl import threadpool_limits

from crossdomain_kit.data.synthetic import SOURCE, TARGET, interpolate_scanner, make_synthetic_split
from crossdomain_kit.environment import cpu_description

SIZES = (28, 64, 128)
SHIFT = 0.5


def measure_images_per_s(image_size: int, n: int = 2000, repeats: int = 3, shift: float = SHIFT) -> float:
    """Images per second for ``n`` images of ``image_size`` pixels, best of ``repeats``, one thread.

    Args:
        image_size: height and width in pixels.
        n: images generated per repeat.
        repeats: timed repeats; the fastest counts.
        shift: scanner position between SOURCE (0) and TARGET (1).

    Returns:
        Images per second.
    """
    scanner = interpolate_scanner(SOURCE, TARGET, shift)
    best = float("inf")
    with threadpool_limits(limits=1):
        for repeat in range(repeats):
            start = time.perf_counter()
            make_synthetic_split(n, scanner, image_size=image_size, seed=repeat, progress=False)
            best = min(best, time.perf_counter() - start)
    return n / best


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000, help="images per repeat (default 2000)")
    parser.add_argument("--repeats", type=int, default=3, help="repeats per size; the best counts")
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES), help="image sizes in pixels")
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write the results here as JSON")
    args = parser.parse_args(argv)

    results = {str(size): {"images_per_s": measure_images_per_s(size, args.n, args.repeats)}
               for size in args.sizes}
    cpu = cpu_description()
    print(f"Synthetic images, shift={SHIFT}, n={args.n}, best of {args.repeats}, one thread "
          f"({cpu}):\n")
    print("| image size | images/s | ms per 1000 images |")
    print("|---:|---:|---:|")
    for size, row in results.items():
        print(f"| {size}×{size} | {row['images_per_s']:,.0f} | {1e6 / row['images_per_s']:,.1f} |")
    report = {"benchmark": "synthetic", "shift": SHIFT, "n": args.n, "repeats": args.repeats,
              "threads": 1, "cpu": cpu, "sizes": results}
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    return report


if __name__ == "__main__":
    main()
