"""Where the kit is running: Python, TensorFlow, Keras, GPU, Colab, profile and local data.

:func:`environment_report` gathers it in one :class:`EnvironmentReport` that
prints as a short table, so a learner (or whoever helps them) sees at a glance
what the course will run on. :func:`find_local_datasets` lists what the data
directory already holds (MedMNIST ``.npz`` files and image folders in the
``train/ [val/] test/ × class/`` layout), counting files without reading or
downloading anything.

Importing this module does not import TensorFlow; :func:`environment_report`
imports it only to look for a GPU (``check_gpu=True``).
:func:`import_tensorflow_quietly` imports it without the start-up lines its
C++ libraries write to the process's standard error (the command line uses it).

Introduced in ``notebooks/00_start_here.ipynb``.
"""

from __future__ import annotations

import os
import platform
import sys
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from . import __version__, _checks, config
from .data.image_folder import find_split_folders, scan_split
from .data.medmnist import fetch_medmnist, medmnist_info, medmnist_names

_DISTRIBUTIONS = {  # package → the distribution names it is installed under, most common first
    "tensorflow": ("tensorflow", "tensorflow-cpu", "tensorflow-macos", "tf-nightly"),
    "keras": ("keras", "keras-nightly"),
    "ipywidgets": ("ipywidgets",),
}


def import_tensorflow_quietly() -> None:
    """Import TensorFlow without its native start-up lines on standard error.

    TensorFlow's C++ libraries log through absl before Python can configure
    anything (``WARNING: All log messages before absl::InitializeLog() ...``,
    the oneDNN and CUDA notices), and ``TF_CPP_MIN_LOG_LEVEL`` does not reach
    those: so file descriptor 2 points at ``os.devnull`` while TensorFlow is
    imported, and ``TF_CPP_MIN_LOG_LEVEL=3`` (unless already set) silences
    its later native messages. Python's own exceptions still come through.
    Set ``TF_CPP_MIN_LOG_LEVEL`` yourself, or skip this call, to see them.
    """
    if "tensorflow" in sys.modules:
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    sys.stderr.flush()
    saved, quiet = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(quiet, 2)
        import tensorflow  # noqa: F401  (imported for its side effect: loaded, quietly)
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(quiet)


@dataclass(frozen=True)
class MedmnistFile:
    """A MedMNIST file found in the data directory.

    Attributes:
        name: the dataset, e.g. ``"pneumoniamnist"``.
        size: its image side in pixels (28, 64, 128 or 224).
        path: the file.
        n_bytes: its size on disk.
    """

    name: str
    size: int
    path: Path
    n_bytes: int


@dataclass(frozen=True)
class ImageFolderSummary:
    """An image folder in the ``train/ [val/] test/ × class/`` layout, counted but not read.

    Attributes:
        path: the folder that holds ``train/``.
        counts: ``{split: {class folder: number of image files}}``.
    """

    path: Path
    counts: dict[str, dict[str, int]]

    @property
    def n_images(self) -> int:
        """Image files over all splits and classes."""
        return sum(sum(classes.values()) for classes in self.counts.values())


@dataclass(frozen=True)
class LocalDatasets:
    """What a data directory holds (see :func:`find_local_datasets`).

    Attributes:
        data_dir: the folder that was searched.
        exists: whether it exists.
        medmnist: the MedMNIST files found.
        image_folders: the image folders found (the folder itself and its subfolders).
    """

    data_dir: Path
    exists: bool
    medmnist: tuple[MedmnistFile, ...]
    image_folders: tuple[ImageFolderSummary, ...]

    def lines(self) -> list[str]:
        """One line per dataset found, or one line saying there is none."""
        if not self.exists:
            return [f"{self.data_dir} does not exist yet (a loader that downloads creates it)"]
        found = [f"{f.name} at {f.size} px: {f.path.name} ({f.n_bytes / 2**20:.1f} MiB)" for f in self.medmnist]
        for folder in self.image_folders:
            splits = "; ".join(f"{split} " + ", ".join(f"{name} {n}" for name, n in classes.items())
                               for split, classes in folder.counts.items())
            where = "." if folder.path == self.data_dir else folder.path.name + "/"
            found.append(f"image folder {where}: {splits}")
        return found or [f"no MedMNIST file and no image folder in {self.data_dir}"]


@dataclass(frozen=True)
class EnvironmentReport:
    """The machine and software the kit runs on (see :func:`environment_report`).

    Attributes:
        python: Python's version, e.g. ``"3.11.9"``.
        platform: operating system and machine, e.g. ``"Linux-6.1-x86_64"``.
        kit: crossdomain-kit's version.
        tensorflow, keras, ipywidgets: installed versions (None if not installed).
        gpus: names of the GPUs TensorFlow sees (empty: CPU only); None when not checked.
        cpu_count: logical CPU cores.
        colab: running in Google Colab.
        profile: ``"fast"`` or ``"default"`` (:func:`crossdomain_kit.config.profile_name`).
        data: what the data directory holds.
    """

    python: str
    platform: str
    kit: str
    tensorflow: str | None
    keras: str | None
    ipywidgets: str | None
    gpus: tuple[str, ...] | None
    cpu_count: int
    colab: bool
    profile: str
    data: LocalDatasets

    @property
    def device(self) -> str:
        """``"GPU (name, ...)"``, ``"CPU only"`` or ``"not checked"``."""
        if self.gpus is None:
            return "not checked"
        return f"GPU ({', '.join(self.gpus)})" if self.gpus else "CPU only"

    def rows(self) -> list[tuple[str, str]]:
        """The report as (what, value) rows."""
        missing = "not installed"
        rows = [("Python", self.python), ("platform", self.platform), ("crossdomain-kit", self.kit),
                ("TensorFlow", self.tensorflow or missing), ("Keras", self.keras or missing),
                ("ipywidgets", self.ipywidgets or missing),
                ("device", f"{self.device}, {self.cpu_count} CPU core(s)"),
                ("Colab", "yes" if self.colab else "no"), ("profile", self.profile),
                ("data directory", str(self.data.data_dir))]
        rows += [("  found", line) for line in self.data.lines()]
        return rows

    def __str__(self) -> str:
        width = max(len(what) for what, _ in self.rows())
        return "\n".join(f"{what:<{width}}  {value}" for what, value in self.rows())


_SIMD_FLAGS = ("avx2", "fma", "avx512f", "avx512_vnni", "avx512_bf16", "amx_tile")  # as /proc/cpuinfo spells them


def cpu_description(cpuinfo: str | os.PathLike = "/proc/cpuinfo") -> str:
    """The CPU's model and vector instruction sets, e.g. ``"AMD EPYC (avx2, fma, avx512f, avx512_bf16)"``.

    Benchmarks print it beside their numbers: on a CPU, TensorFlow's kernels
    (oneDNN's among them) pick code for the instruction sets they find, which
    rounds floats in another order, so a long training can end elsewhere on
    another machine (``benchmarks/README.md``: one seed's test AUC 0.845 with
    oneDNN free to use AVX-512, 0.876 with it held to AVX2).

    Args:
        cpuinfo: the file to read (Linux's); elsewhere, or where it cannot be
            read, what :func:`platform.processor` says.

    Returns:
        The model name, and the listed instruction sets the CPU has in brackets.
    """
    try:
        lines = Path(cpuinfo).read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        lines = []
    fields = {}
    for line in lines:  # the first processor's fields; every core has the same
        key, _, value = line.partition(":")
        fields.setdefault(key.strip(), value.strip())
    flags = set(fields.get("flags", "").split())
    found = [flag for flag in _SIMD_FLAGS if flag in flags]
    name = fields.get("model name") or platform.processor() or platform.machine() or "unknown CPU"
    return f"{name} ({', '.join(found)})" if found else name


def in_colab() -> bool:
    """Whether this Python runs in Google Colab (its ``google.colab`` module is loaded)."""
    return "google.colab" in sys.modules


def installed_version(package: str) -> str | None:
    """The installed version of ``tensorflow``, ``keras`` or ``ipywidgets``, without importing it.

    Raises:
        ValueError: for another package name.
    """
    if package not in _DISTRIBUTIONS:
        raise _checks.fail(f"`package` must be one of {tuple(_DISTRIBUTIONS)}.", "package", package)
    for distribution in _DISTRIBUTIONS[package]:
        try:
            return metadata.version(distribution)
        except metadata.PackageNotFoundError:
            continue
    return None


def _medmnist_files(folder: Path) -> list[MedmnistFile]:
    found = []
    for name in medmnist_names():
        for size in sorted(int(s) for s in medmnist_info(name)["files"]):
            try:
                path = fetch_medmnist(name, size, folder, download=False)
            except FileNotFoundError:
                continue
            found.append(MedmnistFile(name, size, path, path.stat().st_size))
    return found


def _image_folder(folder: Path) -> ImageFolderSummary | None:
    try:
        splits, _ = find_split_folders(folder)
        counts = {split: {name: len(files) for name, files in scan_split(path, folder)[0].items()}
                  for split, path in splits.items()}
    except (ValueError, OSError):  # not the layout, or unreadable: not an image folder
        return None
    return ImageFolderSummary(folder, counts)


def find_local_datasets(data_dir: str | os.PathLike | None = None) -> LocalDatasets:
    """What a data directory already holds, without reading images or downloading.

    Looks for every MedMNIST file the kit knows, under its official name or the
    ``<name>_<size>.npz`` alias (:func:`crossdomain_kit.data.medmnist.fetch_medmnist`),
    and for image folders in the layout of
    :func:`crossdomain_kit.data.image_folder.load_image_folder`: the directory
    itself and each of its visible subfolders, image files counted per split
    and class.

    Args:
        data_dir: the folder; default :func:`crossdomain_kit.config.data_dir`
            (``$CROSSDOMAIN_DATA_DIR`` or ``~/.crossdomain_kit/datasets``).

    Returns:
        :class:`LocalDatasets`.

    Raises:
        ValueError: if ``data_dir`` is not a path.

    Introduced in ``notebooks/00_start_here.ipynb``.
    """
    if data_dir is not None and not isinstance(data_dir, (str, os.PathLike)):
        raise _checks.fail("`data_dir` must be a folder path or None.", "data_dir", data_dir)
    folder = config.data_dir(data_dir)
    if not folder.is_dir():
        return LocalDatasets(folder, False, (), ())
    candidates = [folder] + sorted(Path(e.path) for e in os.scandir(folder)
                                   if e.is_dir() and not e.name.startswith("."))
    folders = [summary for summary in map(_image_folder, candidates) if summary is not None]
    return LocalDatasets(folder, True, tuple(_medmnist_files(folder)), tuple(folders))


def environment_report(data_dir: str | os.PathLike | None = None, *, check_gpu: bool = True) -> EnvironmentReport:
    """Python, TensorFlow, Keras and ipywidgets versions, GPU, Colab, profile and local data.

    Args:
        data_dir: the data folder to describe; default
            :func:`crossdomain_kit.config.data_dir`.
        check_gpu: import TensorFlow (a few seconds) to list the GPUs it sees;
            False leaves ``gpus`` None and TensorFlow unimported.

    Returns:
        :class:`EnvironmentReport`; ``print`` it for a table.

    Raises:
        ValueError: for a ``data_dir`` that is not a path or a ``check_gpu``
            that is not a bool.

    Introduced in ``notebooks/00_start_here.ipynb``.
    """
    if not isinstance(check_gpu, bool):
        raise _checks.fail("`check_gpu` must be True or False.", "check_gpu", check_gpu)
    data = find_local_datasets(data_dir)
    gpus = None
    if check_gpu:
        import tensorflow as tf

        gpus = tuple(tf.config.experimental.get_device_details(device).get("device_name", device.name)
                     for device in tf.config.list_physical_devices("GPU"))
    return EnvironmentReport(
        python=platform.python_version(), platform=platform.platform(terse=True), kit=__version__,
        tensorflow=installed_version("tensorflow"), keras=installed_version("keras"),
        ipywidgets=installed_version("ipywidgets"), gpus=gpus, cpu_count=os.cpu_count() or 1,
        colab=in_colab(), profile=config.profile_name(), data=data)
