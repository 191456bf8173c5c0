"""Checkers for the exercises of ``notebooks/00_start_here.ipynb``.

Both exercises are about finding data offline: which folder the kit searches
(the ``data_dir=`` argument, then ``$CROSSDOMAIN_DATA_DIR``, then
``~/.crossdomain_kit/datasets``) and which file name it looks for there. The
checkers compare the learner's function with :func:`crossdomain_kit.config.data_dir`
and the MedMNIST registry, and recognise the usual mistakes: the environment
variable winning over the argument, no default, ``~`` left unexpanded, the
size suffix at 28 px, a missing ``.npz`` or a capitalised name.
"""

from __future__ import annotations

import os
from pathlib import Path

from .. import config
from ..data.medmnist import medmnist_info, medmnist_names
from ._feedback import Feedback, call_learner


def _as_path(result) -> Path | None:
    return Path(result) if isinstance(result, (str, os.PathLike)) else None


def check_data_folder(fn) -> Feedback:
    """Check ``fn(data_dir, env_value)`` returns the folder a kit loader searches.

    The rule of :func:`crossdomain_kit.config.data_dir`: the ``data_dir``
    argument if given, else the value of ``CROSSDOMAIN_DATA_DIR`` if set and
    not empty, else ``~/.crossdomain_kit/datasets``; ``~`` expanded.

    Args:
        fn: the learner's function of ``data_dir`` (a string or None) and
            ``env_value`` (the variable's value, a string, or None when unset),
            returning a path (``str`` or ``pathlib.Path``).

    Returns:
        :class:`Feedback`: passed, or what is wrong and how to fix it.
    """
    cases = [("/data/given", "/data/from_env"), (None, "/data/from_env"), (None, None), (None, ""),
             ("~/given", None)]
    for given, env in cases:
        result, failure = call_learner(fn, (given, env))
        if failure is not None:
            return failure
        path = _as_path(result)
        if path is None:
            return Feedback(False, f"Return a path (a str or a pathlib.Path); your function returned "
                            f"a {type(result).__name__}.")
        expected = config.data_dir(given if given is not None else (env or config.DEFAULT_DATA_DIR))
        if path.expanduser().resolve() == expected:
            if str(path).startswith("~"):
                return Feedback(False, f"Right folder, but `{path}` still starts with ~: Python's file "
                                "functions do not expand it. Call `.expanduser()` on the Path.")
            continue
        call = f"data_dir={given!r}, env_value={env!r}"
        if given is not None and env and path.expanduser().resolve() == config.data_dir(env):
            return Feedback(False, f"For {call} you returned the environment variable's folder. The "
                            "argument wins: a `data_dir=` passed to a loader is the most specific choice.")
        if given is None and env == "" and path == Path(""):
            return Feedback(False, "An empty CROSSDOMAIN_DATA_DIR counts as unset: fall back to "
                            "~/.crossdomain_kit/datasets (test `if env_value:`, not `is not None`).")
        if given is None and not env:
            return Feedback(False, f"For {call} (no argument, variable unset) the kit uses "
                            f"{config.DEFAULT_DATA_DIR}, expanded: {expected}; you returned {path}.")
        return Feedback(False, f"Not quite: for {call} the kit searches {expected}; you returned {path}.")
    return Feedback(True, "Correct: argument, then CROSSDOMAIN_DATA_DIR, then ~/.crossdomain_kit/datasets "
                    "(`crossdomain_kit.config.data_dir`).")


def check_medmnist_file_name(fn) -> Feedback:
    """Check ``fn(name, size)`` returns the official MedMNIST file name the kit looks for.

    The registry's names: ``<name>.npz`` at 28 px and ``<name>_<size>.npz`` at
    64, 128 and 224 px (e.g. ``pneumoniamnist_64.npz``).

    Args:
        fn: the learner's function of a lower-case dataset name and a size in
            pixels, returning a file name (a string).

    Returns:
        :class:`Feedback`: passed, or what is wrong and how to fix it.
    """
    for name in medmnist_names():
        for size in sorted(int(s) for s in medmnist_info(name)["files"]):
            result, failure = call_learner(fn, (name, size))
            if failure is not None:
                return failure
            if not isinstance(result, str):
                return Feedback(False, f"Return the file name as a string; your function returned a "
                                f"{type(result).__name__}.")
            expected = medmnist_info(name)["files"][str(size)]["file"]
            if result == expected:
                continue
            call = f"({name!r}, {size})"
            if "/" in result or "\\" in result:
                return Feedback(False, f"Return the file name only ({expected!r}), not a path: the "
                                "folder is the data directory.")
            if result.lower() == expected:
                return Feedback(False, f"Names are case-sensitive on Linux (and Colab): expected "
                                f"{expected!r}, got {result!r}. Use the lower-case dataset name.")
            if result + ".npz" == expected:
                return Feedback(False, f"The extension is missing: expected {expected!r} for {call}.")
            if size == 28 and result == f"{name}_28.npz":
                return Feedback(False, f"At 28 px the official file has no size suffix: {expected!r}. "
                                f"(The kit also accepts {result!r} as an alias, but the download and "
                                "the registry use the official name.)")
            return Feedback(False, f"Not quite: for {call} the official file is {expected!r}; your "
                            f"function returned {result!r}.")
    return Feedback(True, "Correct: <name>.npz at 28 px, <name>_<size>.npz above "
                    "(`crossdomain_kit.data.medmnist.medmnist_info(name)['files']`).")
