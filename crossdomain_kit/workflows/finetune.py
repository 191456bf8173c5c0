"""The one fine-tune workflow: pipelines → train → threshold on validation → score.

Every place that trains a classifier on a domain goes through
:func:`run_fine_tune` with a :class:`FineTunePlan`: the kit's recipes
(:mod:`crossdomain_kit.workflows.recipes`, and through them the benchmarks and
the ``demo`` command), the ``finetune`` command, the training dashboard and
the domain-shift explorer. The plan says how to train; the run builds the
input pipelines for the model's backbone and input shape, trains
(:func:`crossdomain_kit.training.fine_tune` in two phases from a pretrained
start, :func:`crossdomain_kit.training.train_joint` on one domain from a
random start), then chooses the decision threshold on the validation split.
The test split is never touched: score it once with
:meth:`FineTuneResult.evaluate`.

The plan and its defaults are in :mod:`crossdomain_kit.workflows.plan`.

Importing this module imports TensorFlow and Keras.

Introduced in ``notebooks/04_freezing_hyperparameters_lab.ipynb`` (the dashboard trains through it).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import keras
import numpy as np

from .. import _checks, config
from ..data.domains import Domain, DomainSplit, check_both_classes
from ..data.pipeline import make_pipeline
from ..evaluation import BinaryMetrics, binary_metrics, evaluate_predictions
from ..evaluation.reports import ModelEvaluation
from ..models.predict import backbone_of, predict_proba, scores_at_validation_threshold
from ..training import TrainingResult, fine_tune, train_joint
from .plan import THRESHOLD_METHOD, FineTunePlan


@dataclass
class FineTuneResult:
    """A model trained by :func:`run_fine_tune`, its validation-chosen threshold and how training went.

    Attributes:
        model: the trained classifier, holding the weights of its best validation epoch.
        threshold: decision threshold on the probability of class 1, chosen on
            the validation split (``p >= threshold`` is predicted positive).
        validation: :class:`~crossdomain_kit.evaluation.BinaryMetrics` on
            validation at that threshold.
        training: the run's :class:`~crossdomain_kit.training.TrainingResult`
            (per-epoch history, phases, best epoch, whether it was interrupted).
        train_seconds: wall-clock seconds of training (not of the threshold choice).
        cpu_seconds: CPU seconds of this process during training, all threads together.
        settings: the plan's settings, the domain, the seed and the image size.
        predict_batch_size: images per prediction batch.

    Introduced in ``notebooks/04_freezing_hyperparameters_lab.ipynb``.
    """

    model: keras.Model
    threshold: float
    validation: BinaryMetrics
    training: TrainingResult
    train_seconds: float
    cpu_seconds: float
    settings: dict = field(default_factory=dict)
    predict_batch_size: int = 32

    @property
    def val_auc(self) -> float:
        """Validation AUC of the kept epoch as Keras's ``AUC`` metric measured it during training.

        ``validation.auc`` is the exact (scikit-learn) AUC of the same weights.
        """
        return float(self.training.history["val_auc"][self.training.best_epoch])

    def predict(self, split: DomainSplit) -> np.ndarray:
        """Probabilities of class 1 for a split's images, shape (n,)."""
        return predict_proba(self.model, split, batch_size=self.predict_batch_size)

    def evaluate(self, split: DomainSplit) -> BinaryMetrics:
        """AUC and the metrics at :attr:`threshold` on a split (e.g. test, once)."""
        return binary_metrics(split.labels, self.predict(split), self.threshold)

    def report(self, domain: Domain, name: str = "fine-tuned", *, n_boot: int | None = None,
               seed: int = 0) -> ModelEvaluation:
        """The clinical evaluation of lesson 05 on ``domain``'s validation and test splits.

        Args:
            domain: the domain trained on, with val and test splits.
            name: how the report calls the model.
            n_boot: bootstrap resamples for the intervals (default ``pick(default=1000, fast=200)``).
            seed: seeds the bootstrap.

        Returns:
            :class:`~crossdomain_kit.evaluation.reports.ModelEvaluation`, its
            threshold chosen on validation as :attr:`threshold` was.
        """
        return evaluate_model(self.model, domain, name, batch_size=self.predict_batch_size, n_boot=n_boot,
                              seed=seed, method=self.settings.get("threshold_method", THRESHOLD_METHOD))


def evaluate_model(model, domain: Domain, name: str, *, batch_size: int = 32, n_boot: int | None = None,
                   seed: int = 0, method: str = THRESHOLD_METHOD) -> ModelEvaluation:
    """Any kit classifier's clinical evaluation on a domain: threshold on val, metrics and intervals on test.

    Args:
        model: a kit classifier (one logit).
        domain: a :class:`~crossdomain_kit.data.domains.Domain` with val and test splits.
        name: how the report calls the model, e.g. ``"source model"``.
        batch_size: images per prediction batch.
        n_boot: bootstrap resamples (default ``pick(default=1000, fast=200)``).
        seed: seeds the bootstrap.
        method: how the threshold is chosen on validation.

    Returns:
        :class:`~crossdomain_kit.evaluation.reports.ModelEvaluation` (the
        report and the test predictions behind its plots).

    Raises:
        ValueError: for a domain without val or test, or one class in either.
    """
    if not isinstance(domain, Domain) or domain.val is None or domain.test is None:
        raise _checks.fail("`domain` must be a Domain with val and test splits.", "domain", domain)
    for split in (domain.val, domain.test):
        check_both_classes(split, where=f"domain {domain.name!r}")
    p_val = predict_proba(model, domain.val, batch_size=batch_size)
    p_test = predict_proba(model, domain.test, batch_size=batch_size)
    n_boot = config.pick(default=1000, fast=200) if n_boot is None else n_boot
    report = evaluate_predictions(domain.val.labels, p_val, domain.test.labels, p_test, domain.class_names,
                                  method=method, n_boot=n_boot, seed=seed)
    return ModelEvaluation(name, report, domain.test.labels, p_test)


def _pipelines(model, domain: Domain, plan: FineTunePlan, seed: int):
    height, width, channels = model.input_shape[1:]
    common = dict(backbone=backbone_of(model), image_size=(height, width), channels=channels,
                  batch_size=plan.batch_size, seed=seed)
    return (make_pipeline(domain.train, training=True, augment=plan.augment, **common),
            make_pipeline(domain.val, **common))


def run_fine_tune(model, domain: Domain, plan: FineTunePlan, *, seed: int = 0, callbacks=(),
                  verbose=0) -> FineTuneResult:
    """Train ``model`` on ``domain`` as ``plan`` says, then choose the threshold on validation.

    The input pipelines follow the model: its backbone's preprocessing, its
    input size and channels (:func:`crossdomain_kit.data.pipeline.make_pipeline`),
    the plan's augmentation on the training split only. The model is trained
    in place and keeps the weights of its best validation epoch.

    Args:
        model: a kit classifier (e.g. from
            :func:`crossdomain_kit.models.classifier.build_classifier`, or
            pretrained elsewhere with a fresh head).
        domain: a :class:`~crossdomain_kit.data.domains.Domain` with train and
            val splits (the test split is not used).
        plan: the :class:`FineTunePlan`.
        seed: seeds the shuffling, the augmentation and Keras's global generators.
        callbacks: more Keras callbacks (progress bars, a Stop button).
        verbose: ``fit``'s verbosity.

    Returns:
        :class:`FineTuneResult`.

    Raises:
        ValueError: for a domain without a validation split, one class in
            train or validation (before any training), a model that is not a
            kit classifier or a bad seed.

    Introduced in ``notebooks/04_freezing_hyperparameters_lab.ipynb``.
    """
    if not isinstance(domain, Domain) or domain.val is None:
        raise _checks.fail("`domain` must be a Domain with train and val splits, e.g. from "
                           "crossdomain_kit.data.medmnist.load_medmnist_domain.", "domain", domain)
    if not isinstance(plan, FineTunePlan):
        raise _checks.fail("`plan` must be a FineTunePlan.", "plan", plan)
    seed = _checks.seed(seed)
    for split in (domain.train, domain.val):
        check_both_classes(split, where=f"domain {domain.name!r}")
    train_ds, val_ds = _pipelines(model, domain, plan, seed)
    start_wall, start_cpu = time.perf_counter(), time.process_time()
    common = dict(base_learning_rate=plan.base_learning_rate, optimizer=plan.optimizer, patience=plan.patience,
                  seed=seed, callbacks=list(callbacks), verbose=verbose)
    if plan.two_phase:
        training = fine_tune(model, train_ds, val_ds, head_epochs=plan.head_epochs, finetune_epochs=plan.epochs,
                             head_learning_rate=plan.learning_rate,
                             finetune_learning_rate=plan.fine_tuning_rate, unfreeze=plan.unfreeze,
                             class_weight=plan.class_weight, **common)
    else:
        training = train_joint(model, [train_ds], val_ds, epochs=plan.epochs, learning_rate=plan.learning_rate,
                               batch_size=plan.batch_size, **common)
    wall, cpu = time.perf_counter() - start_wall, time.process_time() - start_cpu
    batch = plan.predict_batch_size or plan.batch_size
    scores = scores_at_validation_threshold(model, domain.val, method=plan.threshold_method, batch_size=batch)
    settings = {"domain": domain.name, "image_size": int(model.input_shape[1]), "seed": seed, **plan.as_dict()}
    return FineTuneResult(model, scores.threshold, scores.validation, training, wall, cpu, settings, batch)
