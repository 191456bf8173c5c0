"""Run-time settings: the fast profile, the data directory, a download mirror and its registry.

This is the one module that reads the kit's environment variables. All are
read at call time, never cached at import, so a notebook or a test can change
them with ``os.environ`` and the next call sees the new value.

* ``CROSSDOMAIN_FAST=1`` turns on the **fast profile**: smaller datasets,
  smaller images and fewer epochs, for tests and CI. Unset (the default) is
  what a learner runs.
* ``CROSSDOMAIN_DATA_DIR`` is where every loader looks for local datasets
  first (``~/.crossdomain_kit/datasets`` when unset).
* ``CROSSDOMAIN_MIRROR_URL`` is the ``http://`` or ``https://`` address of a
  **local mirror**, a folder on a web server that holds the registry's files
  under their file names (hospitals and classrooms keep one so that every
  machine does not fetch from the internet). When it is set, every registry
  download (MedMNIST, the Tiny ImageNet zip) fetches ``<mirror>/<file name>``,
  e.g. ``http://mirror.local/datasets/pneumoniamnist.npz``, instead of the
  official address; unset, the official address. The md5 is checked either way.
* ``CROSSDOMAIN_REGISTRY`` names a **folder of registry files** that replace
  the packaged ones (``crossdomain_kit/data/registry/``): ``medmnist.json``
  and/or ``tinyimagenet.json``, in the same format; a file the folder lacks
  stays the packaged one. Use it for a mirror whose files differ from the
  official ones (a re-packed copy): copy the packaged file and write the
  mirror's md5s into it. Checksums are always verified; there is no setting
  that turns them off.

Introduced in ``notebooks/01_joint_empirical_risk.ipynb``.
"""

from __future__ import annotations

import os
import urllib.parse
from pathlib import Path
from typing import TypeVar

FAST_ENV = "CROSSDOMAIN_FAST"
DATA_DIR_ENV = "CROSSDOMAIN_DATA_DIR"
DEFAULT_DATA_DIR = Path("~/.crossdomain_kit/datasets")
MIRROR_URL_ENV = "CROSSDOMAIN_MIRROR_URL"
REGISTRY_ENV = "CROSSDOMAIN_REGISTRY"
REGISTRY_FILES = ("medmnist.json", "tinyimagenet.json")

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"", "0", "false", "no", "off"}

T = TypeVar("T")


def is_fast() -> bool:
    """Whether the fast profile is on.

    Returns:
        True when ``CROSSDOMAIN_FAST`` is ``1``/``true``/``yes``/``on``.

    Raises:
        ValueError: if the variable holds anything else, so a typo never
            silently runs the slow profile in CI.
    """
    raw = os.environ.get(FAST_ENV, "").strip().lower()
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise ValueError(
        f"{FAST_ENV} must be one of 1/true/yes/on or 0/false/no/off (or unset). "
        f"Received: {FAST_ENV}={os.environ[FAST_ENV]!r}"
    )


def profile_name() -> str:
    """``"fast"`` or ``"default"``, for printing in notebooks and reports."""
    return "fast" if is_fast() else "default"


def pick(default: T, fast: T) -> T:
    """Choose a size, count or epoch number by profile.

    Args:
        default: value for the default (learner) profile.
        fast: value for the fast (test/CI) profile.

    Returns:
        ``fast`` when the fast profile is on, else ``default``.

    Example:
        >>> n_source = pick(default=400, fast=100)
    """
    return fast if is_fast() else default


def data_dir(path: str | os.PathLike | None = None) -> Path:
    """The folder where loaders look for local datasets first.

    Args:
        path: explicit folder; wins over the environment variable.

    Returns:
        ``path`` if given, else ``$CROSSDOMAIN_DATA_DIR``, else
        ``~/.crossdomain_kit/datasets``; user-expanded and absolute. The folder
        is not created here: a loader that downloads creates it.
    """
    if path is None:
        path = os.environ.get(DATA_DIR_ENV) or DEFAULT_DATA_DIR
    return Path(path).expanduser().resolve()


def mirror_url() -> str | None:
    """The base address of the download mirror, or None to use the official addresses.

    Returns:
        ``$CROSSDOMAIN_MIRROR_URL`` without trailing slashes (a registry file
        is fetched from ``<mirror>/<file name>``), or None when the variable
        is unset or empty.

    Raises:
        ValueError: if the value is not an ``http://`` or ``https://`` address
            with a host (or carries a ``?query`` or ``#fragment``).
    """
    raw = os.environ.get(MIRROR_URL_ENV, "")
    url = raw.strip()
    if not url:
        return None
    try:
        parts = urllib.parse.urlsplit(url)
        parts.port  # noqa: B018  (raises ValueError for a port that is not a number)
    except ValueError:
        parts = None
    if (parts is None or parts.scheme.lower() not in ("http", "https") or not parts.hostname
            or parts.query or parts.fragment or any(c.isspace() or ord(c) < 32 for c in url)):
        raise ValueError(
            f"{MIRROR_URL_ENV} must be the http:// or https:// address of a folder that holds the "
            "registry's files under their file names (e.g. http://mirror.local/datasets), with no "
            f"?query or #fragment; unset it to download from the official addresses. "
            f"Received: {MIRROR_URL_ENV}={raw!r}")
    return url.rstrip("/")


def registry_file(name: str) -> Path | None:
    """The registry file ``name`` from the folder that ``CROSSDOMAIN_REGISTRY`` names, if any.

    Args:
        name: one of :data:`REGISTRY_FILES`, e.g. ``"medmnist.json"``.

    Returns:
        The file's absolute path when the variable is set and its folder
        holds ``name``; None when the variable is unset or empty, or the
        folder lacks ``name`` (the packaged registry is used).

    Raises:
        ValueError: if ``name`` is not a registry file's name, or the variable
            does not name a folder holding at least one of :data:`REGISTRY_FILES`.
    """
    if name not in REGISTRY_FILES:
        raise ValueError(f"`name` must be one of {REGISTRY_FILES}. Received: name={name!r}")
    raw = os.environ.get(REGISTRY_ENV, "")
    if not raw.strip():
        return None
    folder = Path(raw.strip()).expanduser().resolve()
    if not folder.is_dir() or not any((folder / n).is_file() for n in REGISTRY_FILES):
        problem = ("is a file, not a folder" if folder.is_file() else
                   "does not exist" if not folder.exists() else
                   f"holds none of {', '.join(REGISTRY_FILES)}")
        raise ValueError(
            f"{REGISTRY_ENV} must name a folder holding {' and/or '.join(REGISTRY_FILES)} (copies of "
            "the packaged files in crossdomain_kit/data/registry with your mirror's md5s), but "
            f"{folder} {problem}. Fix the folder, or unset {REGISTRY_ENV} to use the packaged "
            f"registry. Received: {REGISTRY_ENV}={raw!r}")
    path = folder / name
    return path if path.is_file() else None
