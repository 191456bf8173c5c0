"""Temporary names beside a destination, for writes that appear whole or not at all."""

from __future__ import annotations

import uuid
from pathlib import Path


def sibling_temp_path(destination: Path, suffix: str = ".part") -> Path:
    """A fresh hidden name in ``destination``'s folder (not created).

    Unlike ``tempfile.mkstemp`` (mode 0600), whoever creates the file gets the
    usual permissions from the umask, so the renamed result is readable as any
    file the user saves; being in the same folder makes ``os.replace`` atomic.
    """
    return destination.parent / f".{destination.name}.{uuid.uuid4().hex[:12]}{suffix}"
