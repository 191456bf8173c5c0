"""Synthetic radiograph-like image domains whose "scanner" is a set of shift knobs.

Each image is a grey, chest-radiograph-like picture: a body outline, two dark
lung fields crossed by bright rib bands, and a smooth random texture. Positive
images (label 1, "finding") also carry a blurry round opacity somewhere in a
lung, about as bright as the soft tissue around the lungs. The *patient* (anatomy, texture, where the finding would be) comes from
the seed; the *scanner* that images it is a :class:`ScannerSettings`:

* ``contrast``: gain around mid-grey (intensities become 0.5 + c·(I − 0.5)).
* ``brightness``: offset added after the gain, in [−1, 1] (1 = full scale).
* ``noise_std``: standard deviation of the detector's Gaussian noise, in
  intensity units (the image spans [0, 1]).
* ``blur_sigma``: the detector's Gaussian blur, as a fraction of the image
  width (0.02 is 1.28 pixels at 64 px).
* ``resolution``: the acquisition grid as a fraction of ``image_size``; the
  image is acquired on that coarser grid and resampled (bilinear) up to
  ``image_size``, so detail finer than the grid is lost.
* ``positive_fraction``: the label prior, the share of images with a finding.

:data:`SOURCE` and :data:`TARGET` are two scanners, and one number,
``shift`` in [0, 1], walks linearly from the first to the second
(:func:`interpolate_scanner`). The pipeline is acquire → blur → noise →
resample → window (contrast, brightness) → clip and round to ``uint8``.

Randomness: everything comes from ``np.random.default_rng`` streams derived
from ``(seed, domain, split)`` by ``np.random.SeedSequence``, so the same
arguments give byte-identical images (on one machine; another BLAS library may
round a rare pixel to the next grey level), while different splits and domain
names give independent patients. The patients do not depend on the scanner: the same
``seed``, ``domain`` and ``split`` imaged by two scanners shows the same
anatomy (and, for positives, the same finding) twice.

This is the kit's offline fallback wherever real data is absent.
Introduced in ``notebooks/03_transfer_shifted_domains.ipynb``.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, fields, replace

import numpy as np
from tqdm.auto import tqdm

from .. import _checks
from .domains import SPLITS, Domain, DomainSplit, TransferTask

CLASS_NAMES = ("no finding", "finding")
"""(negative, positive) class names of every synthetic split."""

MIN_IMAGE_SIZE = 8
"""Smallest accepted ``image_size`` (the lungs and the finding need a few pixels)."""

_CHUNK = 64  # images rendered at once: keeps temporaries to tens of MB even at 224 px
_N_WAVES = 12  # sine waves in the random background texture
_PROGRESS_PIXELS = 2 * 10**8  # splits above this many pixels show a progress bar (a few seconds)


@dataclass(frozen=True)
class ScannerSettings:
    """The knobs of one synthetic scanner (see the module docstring for units).

    Attributes:
        contrast: gain around mid-grey, > 0 (1 = unchanged).
        brightness: offset in [−1, 1] added after the gain.
        noise_std: Gaussian detector noise, >= 0, in intensity units.
        blur_sigma: Gaussian blur, >= 0, as a fraction of the image width.
        resolution: acquisition grid as a fraction of the image size, in (0, 1].
        positive_fraction: share of images with a finding, in [0, 1].

    Raises:
        ValueError: if a knob is out of range, ending "Received: knob=value".
    """

    contrast: float = 1.0
    brightness: float = 0.0
    noise_std: float = 0.02
    blur_sigma: float = 0.0
    resolution: float = 1.0
    positive_fraction: float = 0.5

    def __post_init__(self):
        checked = {
            "contrast": _checks.positive(self.contrast, "contrast"),
            "brightness": _checks.real_in(self.brightness, "brightness", -1.0, 1.0),
            "noise_std": _checks.real_in(self.noise_std, "noise_std", 0.0, np.inf),
            "blur_sigma": _checks.real_in(self.blur_sigma, "blur_sigma", 0.0, np.inf),
            "resolution": _checks.real_in(self.resolution, "resolution", 0.0, 1.0, low_open=True),
            "positive_fraction": _checks.fraction(self.positive_fraction, "positive_fraction"),
        }
        for name, value in checked.items():
            object.__setattr__(self, name, value)

    def __str__(self) -> str:
        knobs = ", ".join(f"{f.name}={getattr(self, f.name):.4g}" for f in fields(self))
        return f"ScannerSettings({knobs})"


SOURCE = ScannerSettings(contrast=1.0, brightness=0.0, noise_std=0.02, blur_sigma=0.0,
                         resolution=1.0, positive_fraction=0.5)
"""The source scanner: full contrast and resolution, little noise, balanced labels."""

TARGET = ScannerSettings(contrast=0.5, brightness=0.2, noise_std=0.10, blur_sigma=0.02,
                         resolution=0.5, positive_fraction=0.3)
"""The target scanner: washed out, brighter, noisier, blurrier, half resolution, fewer findings."""


def _check_scanner(value, name: str) -> ScannerSettings:
    if not isinstance(value, ScannerSettings):
        raise _checks.fail(f"`{name}` must be a ScannerSettings (e.g. synthetic.SOURCE).", name, value)
    return value


def _check_image_size(value) -> int:
    size = _checks.positive_int(value, "image_size")
    if size < MIN_IMAGE_SIZE:
        raise _checks.fail(f"`image_size` must be >= {MIN_IMAGE_SIZE}.", "image_size", value)
    return size


def _check_name(value, name: str) -> str:
    if not isinstance(value, str) or not value:
        raise _checks.fail(f"`{name}` must be a non-empty string.", name, value)
    return value


def interpolate_scanner(source: ScannerSettings, target: ScannerSettings, shift: float) -> ScannerSettings:
    """The scanner a fraction ``shift`` of the way from ``source`` to ``target``.

    Every knob moves linearly, so ``shift=0`` gives exactly ``source`` and
    ``shift=1`` exactly ``target``.

    Args:
        source: the scanner at shift 0.
        target: the scanner at shift 1.
        shift: a number in [0, 1].

    Returns:
        A new :class:`ScannerSettings`.

    Raises:
        ValueError: if ``shift`` is outside [0, 1] or a scanner is not a
            ``ScannerSettings``.
    """
    source = _check_scanner(source, "source")
    target = _check_scanner(target, "target")
    shift = _checks.fraction(shift, "shift")
    return ScannerSettings(**{
        f.name: (1.0 - shift) * getattr(source, f.name) + shift * getattr(target, f.name)
        for f in fields(ScannerSettings)
    })


def _streams(seed: int, domain: str, split: str, n_chunks: int) -> tuple[np.random.SeedSequence, ...]:
    """Independent seed sequences: one for the labels, then (anatomy, noise) per chunk."""
    root = np.random.SeedSequence([seed, SPLITS.index(split), zlib.crc32(domain.encode("utf-8"))])
    return tuple(root.spawn(1 + 2 * n_chunks))


def _draw_patients(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    """Anatomy and finding parameters for ``n`` patients (coordinates span [−1, 1]).

    The finding's position, size and strength are drawn for every patient and
    used only for positives, so a patient looks the same whatever the label prior.
    """
    def uniform(low, high, shape=(n,)):
        return rng.uniform(low, high, shape).astype(np.float32)

    rows = np.arange(n)
    finding_lung = (rng.random(n) < 0.5).astype(int)
    frequency, direction = uniform(0.6, 5.0, (n, _N_WAVES)), uniform(0.0, 2 * np.pi, (n, _N_WAVES))
    lung_cx = uniform(0.34, 0.44, (n, 2)) * np.array([-1.0, 1.0], np.float32)
    lung_cy, lung_ax = uniform(-0.18, -0.02, (n, 2)), uniform(0.27, 0.33, (n, 2))
    lung_ay = uniform(0.56, 0.68, (n, 2))
    radius, theta = 0.65 * np.sqrt(uniform(0.0, 1.0)), uniform(0.0, 2 * np.pi)  # uniform over the inner lung
    return {
        "body_ax": uniform(0.84, 0.96), "body_ay": uniform(1.15, 1.35), "body_cy": uniform(0.15, 0.30),
        "lung_cx": lung_cx, "lung_cy": lung_cy, "lung_ax": lung_ax, "lung_ay": lung_ay,
        "rib_frequency": uniform(3.6, 4.4), "rib_curvature": uniform(0.35, 0.65),
        "rib_phase": uniform(0.0, 2 * np.pi),
        "wave_fx": frequency * np.cos(direction), "wave_fy": frequency * np.sin(direction),
        "wave_phase": uniform(0.0, 2 * np.pi, (n, _N_WAVES)),
        "wave_amplitude": uniform(0.5, 1.0, (n, _N_WAVES)) / frequency / np.sqrt(_N_WAVES),  # ~1/f spectrum
        "finding_x": lung_cx[rows, finding_lung] + radius * lung_ax[rows, finding_lung] * np.cos(theta),
        "finding_y": lung_cy[rows, finding_lung] + radius * lung_ay[rows, finding_lung] * np.sin(theta),
        # Size and strength calibrated so a small CNN trained briefly on SOURCE at 32 px reaches
        # AUC ≈ 0.9-0.98 and clearly less on TARGET (tests/data/test_synthetic.py checks it).
        "finding_sigma": uniform(0.12, 0.20), "finding_amplitude": uniform(0.25, 0.35),
    }


def _soft_inside(x, y, cx, cy, ax, ay, edge: float) -> np.ndarray:
    """Soft ellipse mask, ≈1 inside and ≈0 outside; parameters of shape (n,)."""
    cx, cy, ax, ay = (v[:, None, None] for v in (cx, cy, ax, ay))
    r = ((x - cx) / ax) ** 2 + ((y - cy) / ay) ** 2
    return 0.5 + 0.5 * np.tanh((1.0 - r) / edge)


def _render_anatomy(p: dict[str, np.ndarray], labels: np.ndarray, m: int) -> np.ndarray:
    """Noise-free intensities in about [0, 1], shape (n, m, m), on an m×m grid."""
    grid = ((np.arange(m, dtype=np.float32) + 0.5) / m) * 2.0 - 1.0
    x, y = grid[None, None, :], grid[None, :, None]
    body = _soft_inside(x, y, np.zeros_like(p["body_cy"]), p["body_cy"], p["body_ax"], p["body_ay"], 0.15)
    lungs = sum(_soft_inside(x, y, p["lung_cx"][:, i], p["lung_cy"][:, i], p["lung_ax"][:, i],
                             p["lung_ay"][:, i], 0.25) for i in range(2))
    rib_arg = 2 * np.pi * p["rib_frequency"][:, None, None] * (
        y + p["rib_curvature"][:, None, None] * x * x) + p["rib_phase"][:, None, None]
    ribs = (0.5 + 0.5 * np.cos(rib_arg)) ** 4
    # Σ_k a_k cos(2π(fx x + fy y) + φ) as two batched matmuls, by cos(α+β) = cosα cosβ − sinα sinβ
    row = 2 * np.pi * p["wave_fy"][:, None, :] * grid[None, :, None] + p["wave_phase"][:, None, :]
    col = 2 * np.pi * p["wave_fx"][:, :, None] * grid[None, None, :]
    a = p["wave_amplitude"][:, None, :]
    texture = (a * np.cos(row)) @ np.cos(col) - (a * np.sin(row)) @ np.sin(col)
    sigma = p["finding_sigma"][:, None]
    gx = np.exp(-0.5 * ((grid[None, :] - p["finding_x"][:, None]) / sigma) ** 2)
    gy = np.exp(-0.5 * ((grid[None, :] - p["finding_y"][:, None]) / sigma) ** 2)
    finding = (labels * p["finding_amplitude"])[:, None, None] * gy[:, :, None] * gx[:, None, :]
    # Grey levels: air outside the body 0.06, soft tissue 0.62, lungs 0.32, ribs up to +0.10.
    return (0.06 + 0.56 * body - 0.30 * lungs * body + 0.10 * ribs * lungs
            + 0.10 * texture + finding).astype(np.float32)


def _gaussian_matrix(m: int, sigma_px: float) -> np.ndarray:
    """m×m matrix that blurs one image axis (rows renormalised at the borders)."""
    offsets = np.arange(m, dtype=np.float64)
    kernel = np.exp(-0.5 * ((offsets[:, None] - offsets[None, :]) / sigma_px) ** 2)
    return (kernel / kernel.sum(axis=1, keepdims=True)).astype(np.float32)


def _bilinear_matrix(size: int, m: int) -> np.ndarray:
    """size×m matrix that resamples one axis from m to ``size`` pixels (pixel centres aligned)."""
    u = np.clip((np.arange(size) + 0.5) * m / size - 0.5, 0.0, m - 1.0)
    lower = np.floor(u).astype(int)
    upper = np.minimum(lower + 1, m - 1)
    weight = u - lower
    matrix = np.zeros((size, m), dtype=np.float64)
    np.add.at(matrix, (np.arange(size), lower), 1.0 - weight)
    np.add.at(matrix, (np.arange(size), upper), weight)
    return matrix.astype(np.float32)


def _acquisition_size(scanner: ScannerSettings, image_size: int) -> int:
    return max(4, min(image_size, int(round(scanner.resolution * image_size))))


def _image(anatomy: np.ndarray, scanner: ScannerSettings, image_size: int,
           rng: np.random.Generator) -> np.ndarray:
    """Blur, noise, resample and window a batch of anatomy; return uint8 (n, size, size)."""
    m = anatomy.shape[-1]
    signal = anatomy
    if scanner.blur_sigma > 0:
        blur = _gaussian_matrix(m, scanner.blur_sigma * m)
        signal = blur @ signal @ blur.T
    noise = rng.standard_normal(signal.shape, dtype=np.float32)
    signal = signal + np.float32(scanner.noise_std) * noise
    if m != image_size:
        resample = _bilinear_matrix(image_size, m)
        signal = resample @ signal @ resample.T
    signal = 0.5 + np.float32(scanner.contrast) * (signal - 0.5) + np.float32(scanner.brightness)
    return np.rint(np.clip(signal, 0.0, 1.0) * 255.0).astype(np.uint8)


def make_synthetic_split(n: int, scanner: ScannerSettings = SOURCE, *, image_size: int = 64,
                         seed: int = 0, split: str = "train", domain: str = "synthetic",
                         progress: bool | None = None) -> DomainSplit:
    """One labelled split of synthetic radiographs taken by ``scanner``.

    Args:
        n: number of images.
        scanner: the scanner's knobs (:data:`SOURCE`, :data:`TARGET`, or
            :func:`interpolate_scanner` between them).
        image_size: height and width in pixels, >= 8.
        seed: integer >= 0; with ``domain`` and ``split`` it fixes the patients.
        split: ``"train"``, ``"val"`` or ``"test"``.
        domain: the domain's name; different names give different patients.
        progress: show a tqdm bar; None shows one only for large splits.

    Returns:
        A :class:`~crossdomain_kit.data.domains.DomainSplit` with ``uint8`` images
        of shape (n, image_size, image_size, 1), exactly
        ``round(n * scanner.positive_fraction)`` positives, and class names
        ``("no finding", "finding")``.

    Raises:
        ValueError: on a bad size, seed, split, domain name or scanner.
    """
    n = _checks.positive_int(n, "n")
    scanner = _check_scanner(scanner, "scanner")
    image_size, seed = _check_image_size(image_size), _checks.seed(seed)
    if split not in SPLITS:
        raise _checks.fail(f"`split` must be one of {SPLITS}.", "split", split)
    domain = _check_name(domain, "domain")

    n_chunks = -(-n // _CHUNK)
    label_stream, *chunk_streams = _streams(seed, domain, split, n_chunks)
    n_positive = int(np.floor(n * scanner.positive_fraction + 0.5))
    labels = np.zeros(n, dtype=np.int64)
    labels[np.argsort(np.random.default_rng(label_stream).random(n), kind="stable")[:n_positive]] = 1

    m = _acquisition_size(scanner, image_size)
    images = np.empty((n, image_size, image_size, 1), dtype=np.uint8)
    if progress is None:
        progress = n * image_size * image_size > _PROGRESS_PIXELS
    for i in tqdm(range(n_chunks), desc=f"{domain}/{split}", unit="chunk", disable=not progress):
        start, stop = i * _CHUNK, min(n, (i + 1) * _CHUNK)
        patients = _draw_patients(np.random.default_rng(chunk_streams[2 * i]), _CHUNK)
        patients = {key: value[: stop - start] for key, value in patients.items()}
        anatomy = _render_anatomy(patients, labels[start:stop].astype(np.float32), m)
        images[start:stop, :, :, 0] = _image(anatomy, scanner, image_size,
                                             np.random.default_rng(chunk_streams[2 * i + 1]))
    return DomainSplit(labels=labels, images=images, class_names=CLASS_NAMES, domain=domain, split=split)


def make_synthetic_domain(shift: float, *, n_train: int = 1000, n_val: int = 200, n_test: int = 400,
                          image_size: int = 64, seed: int = 0, name: str | None = None,
                          source: ScannerSettings = SOURCE, target: ScannerSettings = TARGET,
                          progress: bool | None = None) -> Domain:
    """A synthetic domain imaged by the scanner ``shift`` of the way from ``source`` to ``target``.

    Args:
        shift: a number in [0, 1]; 0 is ``source``'s scanner, 1 is ``target``'s.
        n_train: training images, >= 1.
        n_val: validation images, >= 0 (0 leaves ``val`` as None).
        n_test: test images, >= 0 (0 leaves ``test`` as None).
        image_size: height and width in pixels, >= 8.
        seed: integer >= 0.
        name: the domain's name, which also picks its patients; None gives
            ``"synthetic-shift0.50"`` style names. Pass the same name at several
            shifts to image the same patients with different scanners.
        source: the scanner at shift 0.
        target: the scanner at shift 1.
        progress: show tqdm bars; None shows them only for large splits.

    Returns:
        A :class:`~crossdomain_kit.data.domains.Domain` of ``uint8`` image splits.

    Raises:
        ValueError: on a bad shift, size, count, seed, name or scanner.
    """
    scanner = interpolate_scanner(source, target, shift)
    counts = _check_counts(n_train, n_val, n_test, "n_train")
    name = _check_name(f"synthetic-shift{shift:.2f}" if name is None else name, "name")
    image_size, seed = _check_image_size(image_size), _checks.seed(seed)
    return _build_domain(name, scanner, counts, image_size, seed, progress)


def make_synthetic_task(shift: float = 1.0, *, n_source_train: int = 1000, n_target_train: int = 200,
                        n_val: int = 200, n_test: int = 400, image_size: int = 64, seed: int = 0,
                        source: ScannerSettings = SOURCE, target: ScannerSettings = TARGET,
                        progress: bool | None = None) -> TransferTask:
    """A transfer task: a domain imaged by ``source``, and a target domain at ``shift``.

    The two domains hold different patients (they are named
    ``"synthetic-source"`` and ``"synthetic-target"``); the target's patients
    are the same at every ``shift``, so a sweep over ``shift`` changes only
    the scanner.

    Args:
        shift: how far the target's scanner is from ``source`` toward ``target``, in [0, 1].
        n_source_train: source training images, >= 1.
        n_target_train: target training images, >= 1 (usually few: that is the point).
        n_val: validation images per domain, >= 0.
        n_test: test images per domain, >= 0.
        image_size: height and width in pixels, >= 8.
        seed: integer >= 0.
        source: the source domain's scanner (shift 0).
        target: the scanner at shift 1.
        progress: show tqdm bars; None shows them only for large splits.

    Returns:
        A :class:`~crossdomain_kit.data.domains.TransferTask` whose ``notes`` give
        both scanners.

    Raises:
        ValueError: on a bad shift, size, count, seed or scanner.
    """
    target_scanner = interpolate_scanner(source, target, shift)
    source_counts = _check_counts(n_source_train, n_val, n_test, "n_source_train")
    target_counts = _check_counts(n_target_train, n_val, n_test, "n_target_train")
    image_size, seed = _check_image_size(image_size), _checks.seed(seed)
    source_domain = _build_domain("synthetic-source", source, source_counts, image_size, seed, progress)
    target_domain = _build_domain("synthetic-target", target_scanner, target_counts, image_size, seed,
                                  progress)
    notes = f"Synthetic scanners at shift={shift:g}. Source: {source}. Target: {target_scanner}."
    return TransferTask(sources=(source_domain,), target=target_domain, notes=notes)


def _check_counts(n_train, n_val, n_test, train_name: str) -> dict[str, int]:
    return {"train": _checks.positive_int(n_train, train_name),
            "val": _checks.non_negative_int(n_val, "n_val"), "test": _checks.non_negative_int(n_test, "n_test")}


def _build_domain(name: str, scanner: ScannerSettings, counts: dict[str, int], image_size: int,
                  seed: int, progress: bool | None) -> Domain:
    splits = {split: make_synthetic_split(n, scanner, image_size=image_size, seed=seed, split=split,
                                          domain=name, progress=progress)
              for split, n in counts.items() if n > 0}
    return Domain(name, **splits)


def invert_polarity(data):
    """The same images with inverted grey levels, ``255 − value``: dark becomes bright.

    Radiographs come in two polarities: DICOM's ``MONOCHROME2`` shows high
    values bright (as every scanner here does) and ``MONOCHROME1`` shows them
    dark. Inverting a domain keeps its patients, findings and labels and
    turns the finding from a bright into a dark spot: a shift no knob of
    :class:`ScannerSettings` makes, far from the source in a direction that
    contrast and brightness do not reach (the negative-transfer target of
    lesson 03).

    Args:
        data: a :class:`~crossdomain_kit.data.domains.Domain` or a
            :class:`~crossdomain_kit.data.domains.DomainSplit` of ``uint8`` images.

    Returns:
        The same kind of object, with the same name, labels and class names.

    Raises:
        ValueError: for anything else, or splits of files or of non-``uint8`` images.

    Introduced in ``notebooks/03_transfer_shifted_domains.ipynb``.
    """
    if isinstance(data, Domain):
        return Domain(data.name, **{name: invert_polarity(split) for name, split in data.splits().items()})
    if not isinstance(data, DomainSplit) or data.images is None or data.images.dtype != np.uint8:
        raise _checks.fail("`data` must be a Domain or DomainSplit of uint8 images (e.g. from "
                           "make_synthetic_domain).", "data", data)
    return replace(data, images=np.uint8(255) - data.images)
