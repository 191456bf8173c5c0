"""Run-time settings: the fast profile switch and the data directory.

This is the one module that reads the kit's environment variables. Both are
read at call time, never cached at import, so a notebook or a test can change
them with ``os.environ`` and the next call sees the new value.

* ``CROSSDOMAIN_FAST=1`` turns on the **fast profile**: smaller datasets,
  smaller images and fewer epochs, for tests and CI. Unset (the default) is
  what a learner runs.
* ``CROSSDOMAIN_DATA_DIR`` is where every loader looks for local datasets
  first (``~/.crossdomain_kit/datasets`` when unset).

Introduced in ``notebooks/01_joint_empirical_risk.ipynb``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TypeVar

FAST_ENV = "CROSSDOMAIN_FAST"
DATA_DIR_ENV = "CROSSDOMAIN_DATA_DIR"
DEFAULT_DATA_DIR = Path("~/.crossdomain_kit/datasets")

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
