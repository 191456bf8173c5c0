"""The checkpoint of a pretraining run: weights, optimizer and seed states, history; every file atomic.

:func:`crossdomain_kit.workflows.pretraining.pretrain_backbone` calls
:func:`save_checkpoint` after every epoch: the model's weights
(``epoch_NNNN.weights.h5``), the optimizer's variables and the dropout's
random-generator state (``epoch_NNNN.state.npz``), then :data:`PROGRESS_FILE`
(the run's plan, seed, data summary, history and times), the commit point;
older epochs' files are deleted. :func:`read_progress` and
:func:`check_same_run` read a checkpoint back and refuse one of another run;
:func:`restore_checkpoint` puts its states into a freshly compiled model.

Importing this module does not import TensorFlow; the functions take a
compiled Keras model.

Introduced in the README ("The package"); the command is ``crossdomain-kit pretrain``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from .. import _checks
from .._files import write_atomically

PROGRESS_FILE = "progress.json"
CHECKPOINT_FORMAT = 1  # "format" in PROGRESS_FILE: a checkpoint of another format is refused


def read_progress(folder: Path) -> dict | None:
    """The checkpoint's :data:`PROGRESS_FILE` as a dict, or None when ``folder`` has none.

    Raises:
        ValueError: if the file is unreadable or not a checkpoint of this format.
    """
    path = folder / PROGRESS_FILE
    if not path.is_file():
        return None
    try:
        progress = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise _checks.fail(f"The checkpoint file {path} is unreadable ({error}); delete the folder to start over.",
                           "checkpoint_dir", str(folder)) from error
    if not isinstance(progress, dict) or progress.get("format") != CHECKPOINT_FORMAT:
        raise _checks.fail(f"{path} is not a pretraining checkpoint of this kit.", "checkpoint_dir", str(folder))
    return progress


def check_same_run(progress: dict, run: dict, folder: Path) -> None:
    """Refuse to resume another run: the plan, the seed and the data must be the checkpoint's."""
    differences = [f"{key} {progress[section].get(key)!r} there, {value!r} here"
                   for section in ("plan", "data") for key, value in run[section].items()
                   if progress[section].get(key) != value]
    if progress["seed"] != run["seed"]:
        differences.insert(0, f"seed {progress['seed']} there, {run['seed']} here")
    if differences:
        raise _checks.fail(f"The checkpoint in {folder} is of another run ({'; '.join(differences)}). Resume it "
                           "with the same plan, seed and data, or use another folder (delete this one to start "
                           "over).", "checkpoint_dir", str(folder))


def save_checkpoint(folder: Path, model, progress: dict) -> None:
    """Write the model's weights, its optimizer and seed states, then ``progress`` (the commit point), into ``folder``.

    ``progress`` is the run's identity and ``history`` (its epochs count so
    far names the files); the files of earlier epochs are deleted after.
    """
    from ..models.checkpoints import random_generator_states  # imports Keras, which the model's caller has

    folder.mkdir(parents=True, exist_ok=True)
    tag = f"epoch_{len(progress['history']['loss']):04d}"
    weights, state = folder / f"{tag}.weights.h5", folder / f"{tag}.state.npz"
    arrays = {f"optimizer_{i:05d}": np.asarray(v.numpy()) for i, v in enumerate(model.optimizer.variables)}
    arrays.update({f"seed_{i:05d}": np.asarray(v.numpy()) for i, v in enumerate(random_generator_states(model))})
    write_atomically(weights, model.save_weights, suffix=".weights.h5")  # Keras wants the ending

    def write_state(path):
        with open(path, "wb") as file:
            np.savez(file, **arrays)
    write_atomically(state, write_state)
    text = json.dumps({**progress, "weights": weights.name, "state": state.name}, indent=1)
    write_atomically(folder / PROGRESS_FILE, lambda path: path.write_text(text))  # the commit point
    for stale in folder.glob("epoch_*"):
        if stale.name not in (weights.name, state.name):
            stale.unlink(missing_ok=True)


def restore_checkpoint(folder: Path, model, progress: dict) -> None:
    """Load the weights, optimizer and seed states that ``progress`` names into the compiled ``model``.

    Raises:
        ValueError: if the saved states do not fit the model's.
    """
    from ..models.checkpoints import random_generator_states  # imports Keras, which the model's caller has

    optimizer = model.optimizer
    optimizer.build(model.trainable_variables)  # before loading: the weights file holds its variables too
    model.load_weights(folder / progress["weights"])
    with np.load(folder / progress["state"]) as state:
        for prefix, variables in (("optimizer", optimizer.variables), ("seed", random_generator_states(model))):
            saved = sorted(key for key in state.files if key.startswith(prefix + "_"))
            if len(saved) != len(variables):
                raise _checks.fail(f"The checkpoint in {folder} does not fit this model ({len(saved)} {prefix} "
                                   f"states there, {len(variables)} here).", "checkpoint_dir", str(folder))
            for key, variable in zip(saved, variables):
                variable.assign(state[key])
