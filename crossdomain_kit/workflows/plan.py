"""How a classifier is trained on a domain: the fine-tune plan and its defaults, defined once.

:class:`FineTunePlan` is plain data (no TensorFlow), so the command line can
show its defaults in ``--help`` without importing TensorFlow; the workflow
that carries it out is :func:`crossdomain_kit.workflows.finetune.run_fine_tune`.
The defaults of a two-phase run are here, once (:meth:`FineTunePlan.pretrained`):
a quarter of the epochs for the head, the rest for fine-tuning at a tenth of
the head's learning rate; :func:`default_epochs` sets the epochs from the
training set's size.

Introduced in ``notebooks/04_freezing_hyperparameters_lab.ipynb``.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from .. import _checks

HEAD_EPOCH_SHARE = 4  # a pretrained start gives 1/HEAD_EPOCH_SHARE of its epochs to the head
FINETUNE_LEARNING_RATE_FACTOR = 0.1  # fine-tuning runs at this fraction of the head's rate
THRESHOLD_METHOD = "youden"
LEARNING_RATE = 1e-3
BATCH_SIZE = 32
STEP_BUDGET = 30_000  # images seen in a default run: sets the epochs from the training set's size
EPOCH_RANGE = (5, 30)


def default_epochs(n_train: int) -> int:
    """Epochs for a default run: about STEP_BUDGET images seen, between 5 and 30 epochs.

    Raises:
        ValueError: for a training set size below 1.
    """
    n_train = _checks.positive_int(n_train, "n_train")
    return min(EPOCH_RANGE[1], max(EPOCH_RANGE[0], math.ceil(STEP_BUDGET / n_train)))


@dataclass(frozen=True)
class FineTunePlan:
    """How to train a classifier on a domain: one phase from a random start, or two from a pretrained one.

    With ``head_epochs == 0`` every layer trains for ``epochs`` epochs
    (:func:`~crossdomain_kit.training.train_joint` on one domain). With
    ``head_epochs >= 1`` the head first trains alone on the frozen backbone at
    ``learning_rate``, then the ``unfreeze`` policy opens (part of) the
    backbone for ``epochs`` more epochs at ``finetune_learning_rate``
    (:func:`~crossdomain_kit.training.fine_tune`).

    Attributes:
        epochs: most epochs of the one phase, or of the fine-tuning phase (>= 1).
        head_epochs: most epochs of the head phase; 0 for a random start.
        learning_rate: the one phase's rate, or the head phase's.
        finetune_learning_rate: the fine-tuning phase's rate (two phases only;
            default ``FINETUNE_LEARNING_RATE_FACTOR × learning_rate``).
        base_learning_rate: the backbone's own rate (None: one rate everywhere).
        optimizer: Keras optimizer name or template instance.
        batch_size: images per training batch.
        unfreeze: the fine-tuning phase's freezing policy (see
            :func:`crossdomain_kit.models.freezing.freeze`).
        augment: the pipeline's default augmentation on the training split.
        class_weight: None, ``"balanced"`` or a ``{class: weight}`` dict (two phases only).
        patience: epochs without a better validation AUC before a phase stops.
        threshold_method: how the threshold is chosen on validation.
        predict_batch_size: images per prediction batch (default: ``batch_size``).

    Introduced in ``notebooks/04_freezing_hyperparameters_lab.ipynb``.
    """

    epochs: int
    head_epochs: int = 0
    learning_rate: float = LEARNING_RATE
    finetune_learning_rate: float | None = None
    base_learning_rate: float | None = None
    optimizer: object = "adam"
    batch_size: int = BATCH_SIZE
    unfreeze: object = "all"
    augment: bool = True
    class_weight: object = None
    patience: int = 3
    threshold_method: str = THRESHOLD_METHOD
    predict_batch_size: int | None = None

    def __post_init__(self):
        _checks.positive_int(self.epochs, "epochs")
        _checks.non_negative_int(self.head_epochs, "head_epochs")
        _checks.positive(self.learning_rate, "learning_rate")
        _checks.positive_int(self.batch_size, "batch_size")
        _checks.positive_int(self.patience, "patience")
        if self.finetune_learning_rate is not None:
            _checks.positive(self.finetune_learning_rate, "finetune_learning_rate")
        if self.predict_batch_size is not None:
            _checks.positive_int(self.predict_batch_size, "predict_batch_size")
        if self.class_weight is not None and not self.two_phase:
            raise _checks.fail("`class_weight` applies to two-phase plans (head_epochs >= 1); a one-phase "
                               "run trains on the data as they come.", "class_weight", self.class_weight)

    @classmethod
    def pretrained(cls, epochs: int, learning_rate: float = LEARNING_RATE, **settings) -> FineTunePlan:
        """A two-phase plan with the kit's split of ``epochs`` in all: a quarter for the head.

        Args:
            epochs: most epochs of both phases together (>= 2 for two full phases).
            learning_rate: the head's rate; fine-tuning runs at a tenth of it.
            **settings: any other :class:`FineTunePlan` field.

        Raises:
            ValueError: for epochs below 1 or a learning rate that is not > 0.
        """
        epochs = _checks.positive_int(epochs, "epochs")
        head = max(1, epochs // HEAD_EPOCH_SHARE)
        settings.setdefault("finetune_learning_rate",
                            _checks.positive(learning_rate, "learning_rate") * FINETUNE_LEARNING_RATE_FACTOR)
        return cls(epochs=max(1, epochs - head), head_epochs=head, learning_rate=learning_rate, **settings)

    @property
    def two_phase(self) -> bool:
        """True when the head trains alone first (a pretrained start)."""
        return self.head_epochs > 0

    @property
    def total_epochs(self) -> int:
        """Most epochs of the whole run."""
        return self.head_epochs + self.epochs

    @property
    def fine_tuning_rate(self) -> float:
        """The fine-tuning phase's learning rate, the default filled in."""
        if self.finetune_learning_rate is not None:
            return self.finetune_learning_rate
        return self.learning_rate * FINETUNE_LEARNING_RATE_FACTOR

    def describe(self) -> str:
        """One sentence: how the model will be trained."""
        if self.two_phase:
            policy = self.unfreeze["policy"] if isinstance(self.unfreeze, dict) else self.unfreeze
            how = (f"fine-tuned in two phases: the head for at most {self.head_epochs} epoch(s) at learning rate "
                   f"{self.learning_rate:g}, then {policy} for at most {self.epochs} at "
                   f"{self.fine_tuning_rate:g}")
        else:
            how = (f"trained from scratch: all layers for at most {self.epochs} epochs at learning rate "
                   f"{self.learning_rate:g}")
        return f"Training: {how}; batch size {self.batch_size}, patience {self.patience}."

    def as_dict(self) -> dict:
        """The settings for reports and JSON files (epochs named by phase)."""
        settings = {key: value for key, value in asdict(self).items()
                    if key not in ("epochs", "head_epochs", "finetune_learning_rate", "optimizer")}
        if self.two_phase:
            settings.update(head_epochs=self.head_epochs, finetune_epochs=self.epochs,
                            head_learning_rate=self.learning_rate,
                            finetune_learning_rate=self.fine_tuning_rate)
            del settings["learning_rate"]
        else:
            settings["epochs"] = self.epochs
        settings["optimizer"] = self.optimizer if isinstance(self.optimizer, str) else type(self.optimizer).__name__
        return settings
