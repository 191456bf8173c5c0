"""What a pretraining run leaves: :class:`PretrainingResult`, its saved backbone, metrics and model card.

:func:`crossdomain_kit.workflows.pretraining.pretrain_backbone` returns a
:class:`PretrainingResult`: the multi-class model, its backbone and the
history. :meth:`PretrainingResult.save_backbone` writes the backbone's
weights (returning their sha256), :meth:`PretrainingResult.save` writes them
with ``model_card.md`` and ``metrics.json``, and :func:`model_card` describes
the weights: data, recipe, epochs, the command that reproduces them and the
:data:`TERMS` of the ImageNet-derived images.

Importing this module does not import TensorFlow; saving does.

Introduced in the README ("The package"); the command is ``crossdomain-kit pretrain``.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from pathlib import Path

from .. import _checks, config
from .._files import write_atomically
from ..environment import cpu_description
from .pretraining_plan import PretrainingPlan

TERMS = ("The training images come from Tiny ImageNet (Stanford CS231n), a subset of ImageNet "
         "(Deng et al. 2009), whose terms allow non-commercial research and educational use only. "
         "These weights are derived from those images: use them for non-commercial research and "
         "education only. The images' copyrights stay with their owners; no image is shipped with the weights.")


@dataclass
class PretrainingResult:
    """A pretrained backbone, its multi-class model and how training went.

    :func:`~crossdomain_kit.workflows.pretraining.pretrain_backbone` returns it.

    Attributes:
        model: the multi-class model (inputs → backbone → pool → dropout → logits).
        base: its backbone, the nested model named ``"backbone"`` that
            :func:`~crossdomain_kit.models.classifier.build_classifier` builds.
        history: ``{name: [value per epoch]}``: ``loss``, ``top1``, ``top5``,
            their ``val_`` twins (validation) and ``learning_rate`` (reached at
            the end of the epoch). Epochs trained before a resume are included.
        plan: the :class:`PretrainingPlan`.
        seed: the run's seed.
        seconds: wall-clock seconds of all finished epochs (before a resume too).
        cpu_seconds: CPU seconds of those epochs, all threads together.
        data: ``n_train``, ``n_val``, ``n_classes``, ``image_shape`` and the
            ``sha256`` of the arrays trained and validated on.
        class_names: the data's class names, if it had them.
        resumed_epochs: epochs read from the checkpoint rather than trained in this call.
        interrupted: Ctrl-C stopped the run; the model holds the last finished epoch's weights.
        checkpoint_dir: the checkpoint folder, or None.
        weights_file, sha256: set by :meth:`save_backbone`.
    """

    model: object
    base: object
    history: dict[str, list[float]]
    plan: PretrainingPlan
    seed: int
    seconds: float
    cpu_seconds: float
    data: dict
    class_names: tuple[str, ...] | None = None
    resumed_epochs: int = 0
    interrupted: bool = False
    checkpoint_dir: Path | None = None
    weights_file: Path | None = None
    sha256: str | None = None

    @property
    def epochs(self) -> int:
        """Number of finished epochs."""
        return len(self.history.get("loss", []))

    def _final(self, name: str) -> float:
        values = self.history.get(name, [])
        return float(values[-1]) if values else math.nan

    @property
    def val_top1(self) -> float:
        """Top-1 accuracy on validation after the last finished epoch."""
        return self._final("val_top1")

    @property
    def val_top5(self) -> float:
        """Top-5 accuracy on validation after the last finished epoch."""
        return self._final("val_top5")

    def save_backbone(self, path) -> str:
        """Write the backbone's weights alone, atomically, and return the file's sha256.

        ``build_classifier(plan.backbone, (size, size, 1), weights=path)`` loads
        the file (at any size the backbone accepts: it is fully convolutional)
        and starts a fresh head on it.

        Args:
            path: destination ending in ``.weights.h5``; missing folders are created.

        Returns:
            The sha256 (hex) of the file written.

        Raises:
            ValueError: if ``path`` does not end in ``.weights.h5``.
        """
        if not isinstance(path, (str, os.PathLike)) or not str(path).endswith(".weights.h5"):
            raise _checks.fail("`path` must be a file path ending in .weights.h5.", "path", path)
        from ..models.weights import sha256_of

        path = Path(path).expanduser()
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(path, self.base.save_weights, suffix=".weights.h5")
        self.weights_file, self.sha256 = path, sha256_of(path)
        return self.sha256

    def metrics(self) -> dict:
        """The run as JSON-ready data: final top-1/top-5, epochs, seconds, plan, seed, data, history, file."""
        return {"val_top1": self.val_top1, "val_top5": self.val_top5, "epochs": self.epochs,
                "planned_epochs": self.plan.epochs, "interrupted": self.interrupted,
                "seconds": round(self.seconds, 1), "cpu_seconds": round(self.cpu_seconds, 1),
                "weights_file": self.weights_file.name if self.weights_file else None, "sha256": self.sha256,
                "seed": self.seed, "plan": self.plan.as_dict(), "data": self.data, "history": self.history}

    def save(self, folder, *, name: str, data_description: str, command: str) -> Path:
        """Write ``<name>.weights.h5`` (:meth:`save_backbone`), ``model_card.md`` and ``metrics.json`` into ``folder``.

        Each file is written atomically. Returns the weights file's path.
        """
        folder = Path(folder).expanduser()
        weights = folder / f"{name}.weights.h5"
        self.save_backbone(weights)
        card = model_card(self, data_description=data_description, command=command)
        write_atomically(folder / "model_card.md", lambda path: path.write_text(card))
        text = json.dumps({**self.metrics(), "data_description": data_description, "command": command,
                           "profile": config.profile_name(), "cpu": cpu_description()}, indent=2)
        write_atomically(folder / "metrics.json", lambda path: path.write_text(text + "\n"))
        return weights


# --- The model card --------------------------------------------------------------------------------------

def _table(rows) -> list[str]:
    return ["| | |", "|---|---|", *(f"| {key} | {value} |" for key, value in rows)]


REPRODUCE_ELSEWHERE = ("On another CPU the same command trains the same recipe, but TensorFlow's kernels may "
                       "pick code for other instruction sets and round floats in another order: expect other bytes "
                       "(another sha256) and a top-1 that need not match to the last digit.")


def model_card(result: PretrainingResult, *, data_description: str, command: str) -> str:
    """A markdown model card for a pretrained backbone saved with :meth:`PretrainingResult.save_backbone`.

    It names the data, the recipe (every setting of the plan), the epochs,
    top-1/top-5 on validation, the seconds, the CPU, the weights file and its
    sha256, the command that reproduces it (byte for byte on the same CPU), how
    to use the weights and the terms
    (ImageNet-derived: non-commercial research and education only).

    Args:
        result: a :class:`PretrainingResult` whose backbone has been saved.
        data_description: what the data is, e.g. ``"Tiny ImageNet, grey, 32 px"``.
        command: the exact command that reproduces the weights.

    Returns:
        The card's markdown text.

    Raises:
        ValueError: if the backbone has not been saved yet (the card needs its sha256).
    """
    if not isinstance(result, PretrainingResult) or result.sha256 is None:
        raise _checks.fail("`result` must be a PretrainingResult whose backbone was saved (save_backbone) "
                           "first: the card names the file's sha256.", "result", result)
    plan, data = result.plan, result.data
    file = result.weights_file.name
    status = (f"**Interrupted after {result.epochs} of {plan.epochs} epochs**: resume it before using the weights."
              if result.interrupted else f"{result.epochs} epochs, as planned.")
    epochs = [f"| {i + 1} | {result.history['loss'][i]:.4f} | {result.history['top1'][i]:.4f} | "
              f"{result.history['val_loss'][i]:.4f} | {result.history['val_top1'][i]:.4f} | "
              f"{result.history['val_top5'][i]:.4f} |" for i in range(result.epochs)]
    lines = [
        f"# {plan.backbone} pretrained on {data_description}", "",
        f"A backbone of [crossdomain-kit](https://github.com/crossdomain-kit/crossdomain-kit) pretrained with a "
        f"{data['n_classes']}-class head, for transfer to small grey (e.g. medical) images. {status}", "",
        *_table([("file", f"`{file}` (the backbone's weights alone)"), ("sha256", f"`{result.sha256}`"),
                 ("backbone", f"`{plan.backbone}`, 1 grey channel, trained at {plan.image_size} px"),
                 ("parameters", f"{result.base.count_params():,}"),
                 ("validation top-1", f"{result.val_top1:.4f}"), ("validation top-5", f"{result.val_top5:.4f}"),
                 ("epochs", f"{result.epochs} of {plan.epochs}"),
                 ("training time", f"{result.seconds:.0f} s wall, {result.cpu_seconds:.0f} s CPU"),
                 ("CPU", cpu_description()), ("seed", result.seed)]),
        "", "## Data", "", data_description, "",
        *_table([("training images", f"{data['n_train']:,}"), ("validation images", f"{data['n_val']:,}"),
                 ("classes", data["n_classes"]), ("image shape", " × ".join(map(str, data["image_shape"]))),
                 ("arrays' sha256", f"`{data['sha256']}`")]),
        "", "## Recipe", "", plan.describe(), "",
        *_table((key, f"`{value}`") for key, value in plan.as_dict().items()),
        "", f"Loss: cross-entropy on the logits, label smoothing {plan.label_smoothing:g}; top-1 and top-5 "
            "accuracy on the validation split, without augmentation.", "", "## Epochs", "",
        "| epoch | loss | top-1 | val loss | val top-1 | val top-5 |", "|---|---|---|---|---|---|", *epochs,
        "", "## Reproduce", "", "```bash", command, "```", "", REPRODUCE_ELSEWHERE, "",
        "## Use", "", "```python", "from crossdomain_kit.models.classifier import build_classifier", "",
        f"# at {plan.image_size} px, the size it was trained at: the kit's pipelines resize smaller images up to it",
        f'model = build_classifier("{plan.backbone}", ({plan.image_size}, {plan.image_size}, 1), weights="{file}")'
        "  # a fresh binary head",
        "```", "", "## Terms", "", TERMS, ""]
    return "\n".join(lines)
