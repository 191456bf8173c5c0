"""Temporary names beside a destination, for writes that appear whole or not at all."""

from __future__ import annotations

import os
import uuid
from pathlib import Path


def sibling_temp_path(destination: Path, suffix: str = ".part") -> Path:
    """A fresh hidden name in ``destination``'s folder (not created).

    Unlike ``tempfile.mkstemp`` (mode 0600), whoever creates the file gets the
    usual permissions from the umask, so the renamed result is readable as any
    file the user saves; being in the same folder makes ``os.replace`` atomic.
    """
    return destination.parent / f".{destination.name}.{uuid.uuid4().hex[:12]}{suffix}"


def write_atomically(destination: Path, write, suffix: str = ".part") -> None:
    """Write ``destination`` whole or not at all: ``write(temp)`` on a sibling temporary path, then rename it.

    Args:
        destination: the file to create or replace.
        write: a function that writes the file at the path it is given.
        suffix: how the temporary name ends (Keras wants ``.weights.h5`` for weights).

    The temporary file is removed whatever happens; ``destination`` is left
    as it was when ``write`` fails.
    """
    temp = sibling_temp_path(destination, suffix=suffix)
    try:
        write(temp)
        os.replace(temp, destination)
    finally:
        temp.unlink(missing_ok=True)
