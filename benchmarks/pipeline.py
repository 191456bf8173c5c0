"""Images per second: the kit's image-folder pipeline vs Keras 2's ImageDataGenerator and the bare decode limit.

Run from the repository root (the baseline needs Keras 2, see below):

    python benchmarks/pipeline.py                        # markdown table
    python benchmarks/pipeline.py --json pipeline.json   # and a JSON file

Both sides read the same files, the ``train/`` folder of the chest X-ray
folder (``$CROSSDOMAIN_DATA_DIR/chest_xray`` unless ``--data`` says otherwise),
at the same size and batch size, shuffled, without augmentation, with
ResNet50's preprocessing:

* baseline: ``ImageDataGenerator(preprocessing_function=preprocess_input)
  .flow_from_directory(...)``, the seed's approach (Keras 2 only: ``tf_keras``);
* kit: ``load_image_folder(..., val_fraction=0, deduplicate=False)`` then
  ``make_pipeline(train, backbone="resnet50", training=True, augment=False)``,
  as a user gets it (decoded images cached in memory), and the same with
  ``cache=False``, which is what the first epoch costs;
* bare limit: what this machine can decode at all, ``tf.io.decode_jpeg`` +
  ``tf.image.resize`` in parallel (``AUTOTUNE``) on the same files, batched
  and prefetched, nothing else (no shuffle, channels, EXIF, preprocessing or
  cache). The kit's rates are also printed as a share of it: the uncached
  pipeline is the one that decodes, so its share is what the kit's own
  overhead leaves; the cached one reads decoded images from memory.

Every pipeline first runs one full epoch (it fills the kit's cache and the
operating system's file cache for all). Then, ``--repeats`` times, each in
turn gets a fresh iterator, 5 warm-up batches and the same number of timed
batches; the best round counts (as in ``benchmarks/synthetic.py`` and
``timeit``: load from other processes only ever slows a round down), and no
pipeline's background prefetching runs while another is timed. Every round
is kept in the JSON file.
The kit's one-off file check (decoding every file once) is timed separately.
The last row is the synthetic generator (``benchmarks/synthetic.py``) at the
same size, on one thread.

The baseline needs ``tf_keras`` matching your TensorFlow's minor version, e.g.
``pip install "tf-keras==2.21.*"`` for TensorFlow 2.21. It is a benchmark-only
dependency; the kit itself never imports it.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import warnings
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from synthetic import measure_images_per_s  # noqa: E402  (benchmarks/synthetic.py, beside this file)

from crossdomain_kit import config  # noqa: E402
from crossdomain_kit.data.image_folder import load_image_folder  # noqa: E402
from crossdomain_kit.data.pipeline import make_pipeline  # noqa: E402
from crossdomain_kit.environment import cpu_description  # noqa: E402

WARMUP_BATCHES = 5


def baseline_batches(train_dir: Path, image_size: int, batch_size: int, seed: int):
    """The seed's generator: an endless iterator of preprocessed batches (needs tf_keras)."""
    try:
        from tf_keras.applications.resnet50 import preprocess_input
        from tf_keras.preprocessing.image import ImageDataGenerator
    except ImportError:
        import tensorflow as tf

        minor = ".".join(tf.__version__.split(".")[:2])
        sys.exit(f"The baseline needs Keras 2's ImageDataGenerator: pip install \"tf-keras=={minor}.*\"")
    generator = ImageDataGenerator(preprocessing_function=preprocess_input)
    return generator.flow_from_directory(str(train_dir), target_size=(image_size, image_size),
                                         batch_size=batch_size, class_mode="binary", shuffle=True,
                                         seed=seed)


def bare_batches(files: list[str], image_size: int, batch_size: int):
    """The physical limit: parallel decode_jpeg + resize of the same files, nothing else (endless)."""
    import tensorflow as tf

    def load(path):
        image = tf.io.decode_jpeg(tf.io.read_file(path), channels=3)
        return tf.image.resize(image, (image_size, image_size)), 0.0

    dataset = tf.data.Dataset.from_tensor_slices(files).repeat().map(load, num_parallel_calls=tf.data.AUTOTUNE)
    return iter(dataset.batch(batch_size).prefetch(tf.data.AUTOTUNE))


def images_per_s(batches, n_batches: int, batch_size: int) -> float:
    """Draw ``n_batches`` from an iterator; images per second (last batches may be short, so count)."""
    start = time.perf_counter()
    n_images = sum(len(next(batches)[1]) for _ in range(n_batches))
    return n_images / (time.perf_counter() - start)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=None,
                        help="folder holding train/ (default: the data directory's chest_xray)")
    parser.add_argument("--image-size", type=int, default=224)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--batches", type=int, default=100, help="timed batches per pipeline and repeat")
    parser.add_argument("--repeats", type=int, default=7, help="timed rounds; the best counts")
    parser.add_argument("--synthetic-n", type=int, default=256, help="synthetic images per repeat")
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write the numbers here as JSON")
    args = parser.parse_args(argv)
    root = args.data or config.data_dir() / "chest_xray"
    size, batch = args.image_size, args.batch_size

    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the known patient overlap of train/ and test/
        train = load_image_folder(root, val_fraction=0, deduplicate=False, progress=False).train
    check_s = time.perf_counter() - start
    epoch = -(-len(train) // batch)

    def kit(cache):
        dataset = make_pipeline(train, backbone="resnet50", image_size=size, batch_size=batch,
                                training=True, augment=False, cache=cache).repeat()
        return lambda: iter(dataset)  # new iterators share the dataset's in-memory cache

    pipelines = {
        "kit: make_pipeline (default, cached)": kit(cache=True),
        "kit: make_pipeline(cache=False) (first epoch)": kit(cache=False),
        "baseline: ImageDataGenerator.flow_from_directory": lambda: baseline_batches(
            root / "train", size, batch, seed=0),
        "bare limit: parallel decode_jpeg + resize": lambda: bare_batches(list(train.files), size, batch),
    }
    for new_iterator in pipelines.values():
        images_per_s(new_iterator(), epoch, batch)
    rounds = {name: [] for name in pipelines}
    for _ in range(args.repeats):
        for name, new_iterator in pipelines.items():
            # A fresh iterator per round, dropped after it: no pipeline's background
            # prefetching runs while another one is timed.
            batches = new_iterator()
            images_per_s(batches, WARMUP_BATCHES, batch)
            rounds[name].append(images_per_s(batches, args.batches, batch))
            del batches
    rates = {name: max(values) for name, values in rounds.items()}
    kit, uncached, baseline, bare = rates.values()
    synthetic = measure_images_per_s(size, n=args.synthetic_n, repeats=args.repeats)
    cpu = cpu_description()

    print(f"{len(train)} files of {root / 'train'}, {size}×{size}, batch {batch}, ResNet50 preprocessing; "
          f"best of {args.repeats} rounds of {args.batches} batches after a one-epoch warm-up; "
          f"{os.cpu_count()} CPUs ({cpu}), load average {os.getloadavg()[0]:.1f}.\n")
    print("| pipeline | images/s | × baseline | share of the bare limit |")
    print("|---|---:|---:|---:|")
    for name, rate in rates.items():
        print(f"| {name} | {rate:,.0f} | {rate / baseline:.2f} | {rate / bare:.0%} |")
    print(f"| synthetic generator (make_synthetic_split, one thread) | {synthetic:,.0f} | "
          f"{synthetic / baseline:.2f} | |")
    print(f"\nThe kit's one-off file check (list, decode every file once): {check_s:.1f} s.")

    report = {"benchmark": "pipeline", "files": len(train), "image_size": size, "batch_size": batch,
              "batches": args.batches, "repeats": args.repeats, "cpu_count": os.cpu_count(), "cpu": cpu,
              "kit_images_per_s": kit, "baseline_images_per_s": baseline, "ratio": kit / baseline,
              "kit_uncached_images_per_s": uncached, "uncached_ratio": uncached / baseline,
              "bare_limit_images_per_s": bare, "share_of_bare_limit": kit / bare,
              "uncached_share_of_bare_limit": uncached / bare,
              "synthetic_images_per_s": synthetic, "file_check_s": check_s,
              "rounds_images_per_s": rounds}
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    return report


if __name__ == "__main__":
    main()
