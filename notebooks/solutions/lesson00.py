"""Reference answers to the exercises of ``notebooks/00_start_here.ipynb``."""

import os
from pathlib import Path


def data_folder(data_dir, env_value):
    """The argument wins, then the environment variable (an empty value counts as unset), then the default."""
    if data_dir is not None:
        chosen = data_dir
    elif env_value:  # None and "" both mean "not set"
        chosen = env_value
    else:
        chosen = "~/.crossdomain_kit/datasets"
    return Path(os.path.expanduser(chosen))  # the checker's usual catch: "~" left unexpanded


def medmnist_file_name(name, size):
    """28 px keeps the bare name; the larger sizes carry their size after an underscore."""
    return f"{name}.npz" if size == 28 else f"{name}_{size}.npz"
