"""The kit's recommended training recipes, one call each: train, pretrain, transfer, baseline.

Each recipe is the engine of lessons 03–05 (:func:`~crossdomain_kit.models.classifier.build_classifier`,
:func:`~crossdomain_kit.data.pipeline.make_pipeline`, :func:`~crossdomain_kit.training.fine_tune`,
:func:`~crossdomain_kit.evaluation.choose_threshold`) with settings that work
on a laptop CPU with 28–64 px grey images (MedMNIST), so that notebooks,
the command line and the benchmarks share them instead of re-writing them:

* :func:`train_small_cnn` trains the small CNN from scratch on one domain
  (PneumoniaMNIST 28 px: ``benchmarks/pneumonia.py``).
* :func:`pretrain` is that recipe on a *source* domain, the start of transfer.
* :func:`transfer` fine-tunes a pretrained classifier on a *target* domain in
  two phases (head, then everything, BatchNorm included);
  :func:`scratch_baseline` trains the same network from a random start on
  the target with the same budget (epochs, batch size, augmentation, early
  stopping), the comparison that says whether transfer helped
  (``benchmarks/transfer.py``).

Model selection uses the validation split only: the epoch with the best
validation AUC is kept, and the decision threshold is chosen on validation
(Youden's J, which keeps its sensitivity and specificity when the test prior
differs, as PneumoniaMNIST's does). The test split is never touched: evaluate
on it once, with :meth:`RecipeResult.evaluate`.

Sizes follow the profile (:func:`crossdomain_kit.config.pick`): the fast
profile trains for one or two epochs.

Importing this module imports TensorFlow and Keras.

Introduced in ``notebooks/07_beyond_fine_tuning.ipynb``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import keras
import numpy as np

from .. import _checks, config
from ..data.domains import Domain, DomainSplit
from ..evaluation import BinaryMetrics, binary_metrics
from ..models.predict import predict_proba, scores_at_validation_threshold
from ..models.classifier import base_of, build_classifier
from ..data.pipeline import make_pipeline
from ..training import TrainingResult, fine_tune, train_joint

BACKBONE = "small_cnn"
THRESHOLD_METHOD = "youden"
TARGET_LEARNING_RATE = 3e-3  # on the target: scratch_baseline, and transfer's defaults
_PREDICT_BATCH = 256


@dataclass
class RecipeResult:
    """A model trained by a recipe, its validation-chosen threshold and how training went.

    Attributes:
        model: the trained classifier, holding the weights of its best
            validation epoch.
        threshold: decision threshold on the probability of class 1, chosen on
            the validation split (``p >= threshold`` is predicted positive).
        training: the run's :class:`~crossdomain_kit.training.TrainingResult`
            (per-epoch history, phases, best epoch).
        train_seconds: wall-clock seconds of training (not of the threshold
            choice or data loading).
        cpu_seconds: CPU seconds of this process during training, all threads
            together; on a shared machine, wall time alone says little.
        settings: the recipe's settings, for reports and JSON files.
    """

    model: keras.Model
    threshold: float
    training: TrainingResult
    train_seconds: float
    cpu_seconds: float
    settings: dict = field(default_factory=dict)

    @property
    def val_auc(self) -> float:
        """Validation AUC of the kept epoch."""
        return float(self.training.history["val_auc"][self.training.best_epoch])

    def predict(self, split: DomainSplit) -> np.ndarray:
        """Probabilities of class 1 for a split's images, shape (n,)."""
        return predict_proba(self.model, split, batch_size=_PREDICT_BATCH)

    def evaluate(self, split: DomainSplit) -> BinaryMetrics:
        """AUC and the metrics at :attr:`threshold` on a split (e.g. test, once)."""
        return binary_metrics(split.labels, self.predict(split), self.threshold)


# --- Checks and shared steps -------------------------------------------------------------------

def _check_domain(domain, name: str) -> Domain:
    if not isinstance(domain, Domain) or domain.val is None:
        raise _checks.fail(f"`{name}` must be a Domain with train and val splits, e.g. from "
                           "crossdomain_kit.data.medmnist.load_medmnist_domain.", name, domain)
    return domain


def _epochs(value, default: int, fast: int, name: str) -> int:
    return config.pick(default=default, fast=fast) if value is None else _checks.positive_int(value, name)


def _image_size(domain: Domain) -> int:
    images = domain.train.images
    return int(images.shape[1]) if images is not None else 64


def _datasets(domain: Domain, *, batch_size: int, seed: int, image_size: int):
    common = dict(backbone=BACKBONE, image_size=image_size, batch_size=batch_size)
    return (make_pipeline(domain.train, training=True, augment=True, seed=seed, **common),
            make_pipeline(domain.val, **common))


def _finish(model, domain: Domain, training: TrainingResult, start: tuple[float, float],
            settings: dict) -> RecipeResult:
    wall, cpu = time.perf_counter() - start[0], time.process_time() - start[1]
    threshold = scores_at_validation_threshold(model, domain.val, method=THRESHOLD_METHOD,
                                               batch_size=_PREDICT_BATCH)[0]
    return RecipeResult(model, threshold, training, wall, cpu, settings)


def _clock() -> tuple[float, float]:
    return time.perf_counter(), time.process_time()


# --- From scratch ---------------------------------------------------------------------------------

def train_small_cnn(domain: Domain, *, seed: int = 0, epochs: int | None = None,
                    batch_size: int = 128, learning_rate: float = 3e-3, patience: int | None = None,
                    callbacks=(), verbose=0) -> RecipeResult:
    """The kit's recommended CPU recipe: the small CNN from scratch on one domain.

    Small CNN (:func:`~crossdomain_kit.models.classifier.build_classifier`) at the
    domain's image size, the pipeline's mild augmentation (small rotations,
    zooms, shifts, contrast; no flips), Adam, the learning rate halved when
    validation AUC stalls, and the epoch with the best validation AUC kept.

    Args:
        domain: a :class:`~crossdomain_kit.data.domains.Domain` with train and val
            splits (test is not used), e.g. PneumoniaMNIST at 28 px.
        seed: seeds the weights, the shuffling, the augmentation and Keras's
            global generators.
        epochs: most epochs; default ``pick(default=..., fast=2)``.
        batch_size: images per batch.
        learning_rate: Adam's starting learning rate.
        patience: epochs without a better validation AUC before stopping;
            default: never stop early.
        callbacks: more Keras callbacks (e.g. a progress bar).
        verbose: ``fit``'s verbosity.

    Returns:
        :class:`RecipeResult` (model, validation threshold, history, timings).

    Raises:
        ValueError: for a domain without a validation split, one class in
            validation, or a bad seed, epochs, batch size or learning rate.

    Introduced in ``notebooks/07_beyond_fine_tuning.ipynb``.
    """
    domain = _check_domain(domain, "domain")
    seed = _checks.seed(seed)
    epochs = _epochs(epochs, 16, 2, "epochs")
    patience = epochs if patience is None else _checks.positive_int(patience, "patience")
    size = _image_size(domain)
    model = build_classifier(BACKBONE, (size, size, 1), seed=seed)
    train_ds, val_ds = _datasets(domain, batch_size=batch_size, seed=seed, image_size=size)
    start = _clock()
    training = train_joint(model, [train_ds], val_ds, epochs=epochs, learning_rate=learning_rate,
                           batch_size=batch_size, patience=patience, seed=seed,
                           callbacks=list(callbacks), verbose=verbose)
    settings = {"recipe": "train_small_cnn", "domain": domain.name, "image_size": size, "seed": seed,
                "epochs": epochs, "batch_size": batch_size, "learning_rate": learning_rate,
                "patience": patience, "threshold_method": THRESHOLD_METHOD}
    return _finish(model, domain, training, start, settings)


def pretrain(source_domain: Domain, *, seed: int = 0, epochs: int | None = None, callbacks=(),
             verbose=0) -> RecipeResult:
    """Pretrain the small CNN on a source domain: :func:`train_small_cnn`, the start of transfer.

    Args:
        source_domain: the source :class:`~crossdomain_kit.data.domains.Domain`
            (e.g. PneumoniaMNIST).
        seed, epochs, callbacks, verbose: as in :func:`train_small_cnn`.

    Returns:
        :class:`RecipeResult`; pass it (or its ``model``) to :func:`transfer`.

    Raises:
        ValueError: as :func:`train_small_cnn`.

    Introduced in ``notebooks/07_beyond_fine_tuning.ipynb``.
    """
    result = train_small_cnn(_check_domain(source_domain, "source_domain"), seed=seed, epochs=epochs,
                             callbacks=callbacks, verbose=verbose)
    result.settings["recipe"] = "pretrain"
    return result


# --- Transfer and its baseline ------------------------------------------------------------------------

def _fresh_head_copy(model, seed: int) -> keras.Model:
    """A new classifier with ``model``'s backbone weights and a fresh head (``model`` stays as it is)."""
    copy = build_classifier(BACKBONE, model.input_shape[1:], seed=seed)
    base_of(copy).set_weights(base_of(model).get_weights())
    return copy


def _target_budget(head_epochs, finetune_epochs) -> tuple[int, int]:
    return (_epochs(head_epochs, 1, 1, "head_epochs"), _epochs(finetune_epochs, 34, 1, "finetune_epochs"))


def transfer(pretrained, target_domain: Domain, *, seed: int = 0, head_epochs: int | None = None,
             finetune_epochs: int | None = None, batch_size: int = 32, head_learning_rate: float = TARGET_LEARNING_RATE,
             finetune_learning_rate: float = TARGET_LEARNING_RATE, callbacks=(), verbose=0) -> RecipeResult:
    """Fine-tune a pretrained classifier on a target domain, in two phases.

    The pretrained backbone's weights go into a new classifier with a fresh,
    seeded head (the pretrained model stays as it is, so it can start several
    runs). Phase 1 trains the head on the frozen backbone; phase 2 trains
    everything, BatchNorm statistics included
    (:func:`~crossdomain_kit.training.fine_tune`). Phase 1 is one epoch by
    default: from chest X-rays to breast ultrasound, the frozen backbone's
    BatchNorm statistics do not fit the target's images and the head alone
    learns little (validation AUC below 0.5); phase 2, which re-estimates
    them, is where the learning happens, at the scratch baseline's learning
    rate (a lower one, 3e-4 or 1e-3, gave lower validation AUC on
    PneumoniaMNIST → BreastMNIST).

    Args:
        pretrained: a :class:`RecipeResult` from :func:`pretrain`, or a kit
            classifier (e.g. from :func:`~crossdomain_kit.models.classifier.load_classifier`)
            with one input channel.
        target_domain: the target :class:`~crossdomain_kit.data.domains.Domain`
            (e.g. BreastMNIST); its images are resized to the model's input.
        seed: seeds the new head, the shuffling, the augmentation and
            Keras's global generators.
        head_epochs: most epochs of phase 1; default ``pick(default=..., fast=1)``.
        finetune_epochs: most epochs of phase 2; default ``pick(default=..., fast=1)``.
        batch_size: images per batch.
        head_learning_rate: Adam's learning rate in phase 1.
        finetune_learning_rate: Adam's learning rate in phase 2.
        callbacks, verbose: as in :func:`train_small_cnn`.

    Returns:
        :class:`RecipeResult` (phases ``"head"`` and ``"finetune"``).

    Raises:
        ValueError: for a model that is not a kit classifier, a domain without
            a validation split, one class in validation, or a bad seed,
            epochs or batch size.

    Introduced in ``notebooks/07_beyond_fine_tuning.ipynb``.
    """
    model = pretrained.model if isinstance(pretrained, RecipeResult) else pretrained
    if not isinstance(model, keras.Model):
        raise _checks.fail("`pretrained` must be a RecipeResult from pretrain() or a kit classifier.",
                           "pretrained", pretrained)
    base_of(model)
    domain = _check_domain(target_domain, "target_domain")
    seed = _checks.seed(seed)
    head_epochs, finetune_epochs = _target_budget(head_epochs, finetune_epochs)
    model = _fresh_head_copy(model, seed)
    size = int(model.input_shape[1])
    train_ds, val_ds = _datasets(domain, batch_size=batch_size, seed=seed, image_size=size)
    start = _clock()
    training = fine_tune(model, train_ds, val_ds, head_epochs=head_epochs, finetune_epochs=finetune_epochs,
                         head_learning_rate=head_learning_rate,
                         finetune_learning_rate=finetune_learning_rate,
                         unfreeze={"policy": "all", "train_batchnorm": True},
                         patience=max(head_epochs, finetune_epochs),
                         seed=seed, callbacks=list(callbacks), verbose=verbose)
    settings = {"recipe": "transfer", "domain": domain.name, "image_size": size, "seed": seed,
                "head_epochs": head_epochs, "finetune_epochs": finetune_epochs, "batch_size": batch_size,
                "head_learning_rate": head_learning_rate, "finetune_learning_rate": finetune_learning_rate,
                "threshold_method": THRESHOLD_METHOD}
    return _finish(model, domain, training, start, settings)


def scratch_baseline(target_domain: Domain, *, seed: int = 0, head_epochs: int | None = None,
                     finetune_epochs: int | None = None, batch_size: int = 32, image_size: int | None = None,
                     callbacks=(), verbose=0) -> RecipeResult:
    """The baseline for :func:`transfer`: the same network from a random start, same budget.

    It trains every layer of a fresh small CNN on the target for
    ``head_epochs + finetune_epochs`` epochs (the number :func:`transfer`
    gets), with the same batch size, augmentation and model selection on
    validation.

    Args:
        target_domain: the target :class:`~crossdomain_kit.data.domains.Domain`.
        seed: as in :func:`transfer`.
        head_epochs, finetune_epochs: give the same values as to :func:`transfer`
            (the defaults match).
        batch_size: images per batch.
        image_size: the pretrained model's input size (default: the target's own).
        callbacks, verbose: as in :func:`train_small_cnn`.

    Returns:
        :class:`RecipeResult` (phase ``"joint"``: one domain, all layers).

    Raises:
        ValueError: as :func:`transfer`.

    Introduced in ``notebooks/07_beyond_fine_tuning.ipynb``.
    """
    domain = _check_domain(target_domain, "target_domain")
    seed = _checks.seed(seed)
    epochs = sum(_target_budget(head_epochs, finetune_epochs))
    size = _image_size(domain) if image_size is None else _checks.positive_int(image_size, "image_size")
    model = build_classifier(BACKBONE, (size, size, 1), seed=seed)
    train_ds, val_ds = _datasets(domain, batch_size=batch_size, seed=seed, image_size=size)
    start = _clock()
    training = train_joint(model, [train_ds], val_ds, epochs=epochs, learning_rate=TARGET_LEARNING_RATE,
                           batch_size=batch_size, patience=epochs, seed=seed,
                           callbacks=list(callbacks), verbose=verbose)
    settings = {"recipe": "scratch_baseline", "domain": domain.name, "image_size": size, "seed": seed,
                "epochs": epochs, "batch_size": batch_size, "learning_rate": TARGET_LEARNING_RATE,
                "threshold_method": THRESHOLD_METHOD}
    return _finish(model, domain, training, start, settings)
