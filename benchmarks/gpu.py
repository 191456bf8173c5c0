"""Images per second of ResNet50's 224 px fine-tuning step on a GPU: float32 vs mixed precision, XLA off and on.

Run from the repository root, on a machine with a GPU:

    python benchmarks/gpu.py                     # markdown table
    python benchmarks/gpu.py --json gpu.json     # and a JSON file

The step is phase 2 of lesson 05's full configuration: ``build_classifier(
"resnet50", (224, 224, 3), weights="imagenet")`` with every layer but
BatchNorm trainable (``freeze(model, "all")``), compiled by
``compile_classifier(model, 1e-5, jit_compile=...)``, one ``train_on_batch``
per step on a batch already in GPU memory (the input pipeline is not
measured; each step waits for the one before). For each precision
(``float32``; ``mixed_float16`` through ``enable_mixed_precision``), XLA (off,
on) and batch size (64, 128): ``--warmup`` steps (they compile), then
``--repeats`` rounds of ``--steps`` timed steps. A row gives images/s as the
mean over the rounds ± their spread (max − min), and its ratio to float32
without XLA at the same batch size; every round is in the JSON. A
configuration that runs out of GPU memory is reported as such.

ImageNet weights: ResNet50's file from Keras's cache (downloaded once when
online); when it cannot be had, stand-in files with the same name, layout
and shapes (:func:`crossdomain_kit.models.weights.standin_imagenet_weights`,
random values), which run at the same speed. ``--weights`` chooses.

Without a GPU the script says that it needs one and exits 0, measuring
nothing. ``--allow-cpu`` runs it on a CPU anyway, with small settings
(``--image-size 32 --batch-sizes 2 --steps 2``): a check of the script, not a
measurement.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import os
import platform
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

PRECISIONS = ("float32", "mixed_float16")
XLA = {"off": False, "on": True}
BATCH_SIZES = (64, 128)
BACKBONE = "resnet50"
NEEDS_A_GPU = ("benchmarks/gpu.py needs a GPU: TensorFlow sees none here, so nothing was measured "
               "(on Colab: Runtime > Change runtime type > a GPU). --allow-cpu runs it anyway, to check the script.")


# --- Summaries and output (no TensorFlow) ------------------------------------------------------------

def summarize(measurements: list[dict]) -> list[dict]:
    """One row per measured configuration: mean and spread of images/s, and the ratio to float32 without XLA.

    Args:
        measurements: dicts with ``precision``, ``xla`` (bool), ``batch_size``,
            ``rounds_images_per_s`` (a list, empty when it failed) and ``error``
            (None, or why it failed, e.g. out of GPU memory).

    Returns:
        The same dicts in order, each with ``mean_images_per_s``, ``spread``
        (max − min) and ``vs_float32`` (the mean over float32 without XLA's at
        the same batch size) added; None where not measured.
    """
    rows = []
    for m in measurements:
        values = list(m["rounds_images_per_s"])
        rows.append({**m, "mean_images_per_s": sum(values) / len(values) if values else None,
                     "spread": max(values) - min(values) if values else None})
    baselines = {r["batch_size"]: r["mean_images_per_s"] for r in rows
                 if r["precision"] == "float32" and not r["xla"] and r["mean_images_per_s"]}
    for row in rows:
        base = baselines.get(row["batch_size"])
        row["vs_float32"] = row["mean_images_per_s"] / base if base and row["mean_images_per_s"] else None
    return rows


def markdown_table(rows: list[dict]) -> str:
    """The summary as a markdown table: precision, XLA, batch, images/s (mean ± spread), × float32 without XLA."""
    lines = ["| precision | XLA | batch | images/s (mean ± spread) | × float32, no XLA |", "|---|---|---:|---:|---:|"]
    for row in rows:
        if row["mean_images_per_s"] is None:
            rate, ratio = row.get("error") or "not measured", ""
        else:
            rate = f"{row['mean_images_per_s']:,.0f} ± {row['spread']:,.0f}"
            ratio = "" if row["vs_float32"] is None else f"{row['vs_float32']:.2f}"
        xla = "on" if row["xla"] else "off"
        lines.append(f"| {row['precision']} | {xla} | {row['batch_size']} | {rate} | {ratio} |")
    return "\n".join(lines)


def machine_info() -> dict:
    """CPUs, load, Python, TensorFlow and Keras versions, and the GPUs TensorFlow sees (by name)."""
    from crossdomain_kit.environment import cpu_description

    info = {"cpu_count": os.cpu_count(), "cpu": cpu_description(), "machine": platform.machine(),
            "platform": platform.platform(), "python": platform.python_version(), "load_average": os.getloadavg()[0]}
    import keras
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    names = [tf.config.experimental.get_device_details(gpu).get("device_name", gpu.name) for gpu in gpus]
    info.update(tensorflow=tf.__version__, keras=keras.__version__, gpus=names)
    return info


# --- Measuring ---------------------------------------------------------------------------------------

@contextlib.contextmanager
def imagenet_weights(choice: str, input_shape):
    """Yield how ``weights="imagenet"`` is served: the real file, or stand-ins for the block.

    Args:
        choice: ``"auto"`` (the real file when cached or downloadable, else
            stand-ins), ``"imagenet"`` (the real file or an error) or ``"standin"``.
        input_shape: the input shape the models are built at.
    """
    from crossdomain_kit.models.classifier import build_classifier
    from crossdomain_kit.models.weights import imagenet_weights_location, standin_imagenet_weights

    real = False
    if choice != "standin":
        try:
            build_classifier(BACKBONE, input_shape, weights="imagenet")  # downloads the file once when online
            real = True
        except FileNotFoundError:
            if choice == "imagenet":
                raise
    if real:
        yield f"ImageNet ({imagenet_weights_location(BACKBONE, input_shape).path})"
        return
    with standin_imagenet_weights([BACKBONE], input_shape=input_shape):
        yield "stand-ins (random values in ImageNet's files: the real ones could not be had here; same speed)"


def measure(precision: str, xla: bool, batch_size: int, *, image_size: int, warmup: int, steps: int,
            repeats: int) -> dict:
    """Images/s of ``repeats`` rounds of ``steps`` fine-tuning steps, after ``warmup`` steps.

    Returns:
        A measurement for :func:`summarize` (``error`` set, no rounds, when the
        GPU runs out of memory).
    """
    import keras
    import numpy as np
    import tensorflow as tf

    from crossdomain_kit.models.classifier import build_classifier
    from crossdomain_kit.models.compiling import compile_classifier
    from crossdomain_kit.models.freezing import freeze
    from crossdomain_kit.training import enable_mixed_precision

    result = {"precision": precision, "xla": xla, "batch_size": batch_size, "rounds_images_per_s": [], "error": None}
    keras.backend.clear_session()
    gc.collect()
    enable_mixed_precision(precision == "mixed_float16")
    try:
        model = build_classifier(BACKBONE, (image_size, image_size, 3), weights="imagenet", seed=0)
        freeze(model, "all", recompile=False)  # phase 2: every layer but BatchNorm trains
        compile_classifier(model, 1e-5, jit_compile=xla)
        rng = np.random.default_rng(0)
        x = tf.constant(rng.normal(0, 50, (batch_size, image_size, image_size, 3)).astype("float32"))
        y = tf.constant((rng.random((batch_size, 1)) < 0.5).astype("float32"))
        for _ in range(warmup):
            model.train_on_batch(x, y)
        for _ in range(repeats):
            start = time.perf_counter()
            for _ in range(steps):
                model.train_on_batch(x, y)  # returns the logs as numbers: waits for the step
            result["rounds_images_per_s"].append(steps * batch_size / (time.perf_counter() - start))
    except tf.errors.ResourceExhaustedError:
        result["rounds_images_per_s"], result["error"] = [], "out of GPU memory"
    finally:
        keras.config.set_dtype_policy("float32")
        keras.backend.clear_session()
        gc.collect()
    return result


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--precisions", nargs="+", choices=PRECISIONS, default=list(PRECISIONS))
    parser.add_argument("--xla", nargs="+", choices=list(XLA), default=list(XLA))
    parser.add_argument("--batch-sizes", nargs="+", type=int, default=list(BATCH_SIZES), metavar="N")
    parser.add_argument("--image-size", type=int, default=224)
    parser.add_argument("--warmup", type=int, default=5, help="untimed steps first (they compile)")
    parser.add_argument("--steps", type=int, default=30, help="timed steps per round")
    parser.add_argument("--repeats", type=int, default=3, help="timed rounds: mean ± spread")
    parser.add_argument("--weights", choices=("auto", "imagenet", "standin"), default="auto",
                        help="auto: ResNet50's ImageNet file when cached or downloadable, else stand-ins")
    parser.add_argument("--allow-cpu", action="store_true", help="run without a GPU (checks the script only)")
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write the numbers here as JSON")
    args = parser.parse_args(argv)
    if min(args.batch_sizes + [args.warmup + 1, args.steps, args.repeats]) < 1 or args.image_size < 32:
        parser.error("batch sizes, steps and repeats must be >= 1, --warmup >= 0, --image-size >= 32")

    import keras

    machine = machine_info()
    report = {"benchmark": "gpu", "machine": machine}
    if not machine["gpus"] and not args.allow_cpu:
        print(NEEDS_A_GPU)
        report.update(measured=False, reason=NEEDS_A_GPU)
        if args.json:
            args.json.write_text(json.dumps(report, indent=2) + "\n")
        return report

    started, policy = time.perf_counter(), keras.config.dtype_policy()
    shape = (args.image_size, args.image_size, 3)
    measurements = []
    try:
        with imagenet_weights(args.weights, shape) as weights:
            for batch_size in args.batch_sizes:
                for precision in (p for p in PRECISIONS if p in args.precisions):
                    for xla in (XLA[x] for x in XLA if x in args.xla):
                        measurements.append(measure(precision, xla, batch_size, image_size=args.image_size,
                                                    warmup=args.warmup, steps=args.steps, repeats=args.repeats))
    finally:
        keras.config.set_dtype_policy(policy)
    rows = summarize(measurements)
    seconds = time.perf_counter() - started

    device = ", ".join(machine["gpus"]) or f"NO GPU: {machine['cpu_count']} CPUs (a check of the script, not a result)"
    print(f"ResNet50 fine-tuning step (lesson 05's phase 2: every layer but BatchNorm trains), "
          f"{args.image_size}×{args.image_size}, weights: {weights}. Mean ± spread (max − min) over "
          f"{args.repeats} rounds of {args.steps} steps after {args.warmup} warm-up steps. {device}; "
          f"TensorFlow {machine['tensorflow']}, Keras {machine['keras']}.\n")
    print(markdown_table(rows))
    print(f"\nWhole script: {seconds:.0f} s.")
    report.update(measured=True, weights=weights, rows=rows, seconds=seconds,
                  settings={"image_size": args.image_size, "batch_sizes": args.batch_sizes,
                            "precisions": args.precisions, "xla": args.xla, "warmup": args.warmup,
                            "steps": args.steps, "repeats": args.repeats, "weights": args.weights})
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    return report


if __name__ == "__main__":
    main()
