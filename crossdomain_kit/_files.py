"""Temporary names beside a destination, for writes that appear whole or not at all, and whether it can be written."""

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


def unwritable_reason(destination: Path) -> str | None:
    """Why ``destination`` (a file or folder to create or replace) cannot be written, or None when it can.

    The nearest existing folder above it must be a folder in which a new
    entry can be made: a probe folder is created there and removed at once
    (a real test, unlike ``os.access``: read-only file systems, ACLs and
    network mounts answer it truthfully). Nothing is left behind.

    Args:
        destination: the path to create (missing folders above it included).

    Returns:
        A short reason naming the folder that is in the way, or None.
    """
    destination = Path(destination).expanduser().absolute()
    ancestor = destination.parent
    try:
        while not ancestor.exists() and ancestor != ancestor.parent:
            ancestor = ancestor.parent
        if not ancestor.is_dir():
            return f"{ancestor} is a file, not a folder"
        probe = ancestor / f".{destination.name}.{uuid.uuid4().hex[:12]}.probe"
        probe.mkdir()
    except OSError as error:  # e.g. a folder above it that this user may not enter
        return f"{ancestor} is not writable ({error.strerror or type(error).__name__})"
    probe.rmdir()
    return None
