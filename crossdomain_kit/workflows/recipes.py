"""The kit's recommended training recipes, one call each: train, pretrain, transfer, baseline.

Each recipe is the kit's one fine-tune workflow
(:func:`~crossdomain_kit.workflows.finetune.run_fine_tune`) with a
:class:`~crossdomain_kit.workflows.finetune.FineTunePlan` whose settings work
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
* :func:`transfer_lower_layers` keeps only a pretrained backbone's lower
  layers and trains everything with the scratch baseline's budget: how far
  up a distant source carries over (``benchmarks/label_budget.py --starts lower``).

Model selection uses the validation split only: the epoch with the best
validation AUC is kept, and the decision threshold is chosen on validation
(Youden's J, which keeps its sensitivity and specificity when the test prior
differs, as PneumoniaMNIST's does). The test split is never touched: evaluate
on it once, with :meth:`~crossdomain_kit.workflows.finetune.FineTuneResult.evaluate`.

Sizes follow the profile (:func:`crossdomain_kit.config.pick`): the fast
profile trains for one or two epochs.

Importing this module imports TensorFlow and Keras.

Introduced in ``notebooks/07_beyond_fine_tuning.ipynb``.
"""

from __future__ import annotations

import keras

from .. import _checks, config
from ..data.domains import Domain
from ..models.classifier import base_of, build_classifier
from ..models.freezing import backbone_layers_from
from ..models.predict import backbone_of
from .finetune import FineTunePlan, FineTuneResult, run_fine_tune

BACKBONE = "small_cnn"
TARGET_LEARNING_RATE = 3e-3  # on the target: scratch_baseline, and transfer's defaults
_PREDICT_BATCH = 256


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


def _run(model, domain: Domain, plan: FineTunePlan, recipe: str, seed: int, callbacks, verbose) -> FineTuneResult:
    result = run_fine_tune(model, domain, plan, seed=seed, callbacks=callbacks, verbose=verbose)
    result.settings["recipe"] = recipe
    return result


# --- From scratch ---------------------------------------------------------------------------------

def train_small_cnn(domain: Domain, *, seed: int = 0, epochs: int | None = None,
                    batch_size: int = 128, learning_rate: float = 3e-3, patience: int | None = None,
                    backbone: str = BACKBONE, callbacks=(), verbose=0) -> FineTuneResult:
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
        backbone: the kit CNN to train (``"small_cnn"`` or ``"small_cnn_wide"``).
        callbacks: more Keras callbacks (e.g. a progress bar).
        verbose: ``fit``'s verbosity.

    Returns:
        :class:`FineTuneResult` (model, validation threshold, history, timings).

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
    model = build_classifier(backbone, (size, size, 1), seed=seed)
    plan = FineTunePlan(epochs=epochs, learning_rate=learning_rate, batch_size=batch_size, patience=patience,
                        predict_batch_size=_PREDICT_BATCH)
    return _run(model, domain, plan, "train_small_cnn", seed, callbacks, verbose)


def pretrain(source_domain: Domain, *, seed: int = 0, epochs: int | None = None, backbone: str = BACKBONE,
             callbacks=(), verbose=0) -> FineTuneResult:
    """Pretrain the small CNN on a source domain: :func:`train_small_cnn`, the start of transfer.

    Args:
        source_domain: the source :class:`~crossdomain_kit.data.domains.Domain`
            (e.g. PneumoniaMNIST).
        seed, epochs, backbone, callbacks, verbose: as in :func:`train_small_cnn`.

    Returns:
        :class:`FineTuneResult`; pass it (or its ``model``) to :func:`transfer`.

    Raises:
        ValueError: as :func:`train_small_cnn`.

    Introduced in ``notebooks/07_beyond_fine_tuning.ipynb``.
    """
    result = train_small_cnn(_check_domain(source_domain, "source_domain"), seed=seed, epochs=epochs,
                             backbone=backbone, callbacks=callbacks, verbose=verbose)
    result.settings["recipe"] = "pretrain"
    return result


# --- Transfer and its baseline ------------------------------------------------------------------------

def _pretrained_model(pretrained) -> keras.Model:
    """The kit classifier a recipe starts from: ``pretrained`` or its ``model``.

    Raises:
        ValueError: for anything else (a path, a model that is not a kit classifier).
    """
    model = pretrained.model if isinstance(pretrained, FineTuneResult) else pretrained
    if not isinstance(model, keras.Model):
        raise _checks.fail("`pretrained` must be a FineTuneResult from pretrain() or a kit classifier.",
                           "pretrained", pretrained)
    base_of(model)
    return model


def _fresh_head_copy(model, seed: int, reset=frozenset()) -> keras.Model:
    """A new classifier with ``model``'s backbone weights and a fresh head (``model`` stays as it is).

    The backbone layers named in ``reset`` keep the new classifier's seeded random start instead.
    """
    copy = build_classifier(backbone_of(model) or BACKBONE, model.input_shape[1:], seed=seed)
    source = base_of(model)
    for layer in base_of(copy).layers:
        if layer.weights and layer.name not in reset:
            layer.set_weights(source.get_layer(layer.name).get_weights())
    return copy


def _target_budget(head_epochs, finetune_epochs) -> tuple[int, int]:
    return (_epochs(head_epochs, 1, 1, "head_epochs"), _epochs(finetune_epochs, 34, 1, "finetune_epochs"))


def transfer(pretrained, target_domain: Domain, *, seed: int = 0, head_epochs: int | None = None,
             finetune_epochs: int | None = None, batch_size: int = 32, head_learning_rate: float = TARGET_LEARNING_RATE,
             finetune_learning_rate: float = TARGET_LEARNING_RATE, callbacks=(), verbose=0) -> FineTuneResult:
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
        pretrained: a :class:`FineTuneResult` from :func:`pretrain`, or a kit
            classifier (e.g. from :func:`~crossdomain_kit.models.checkpoints.load_classifier`)
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
        :class:`FineTuneResult` (phases ``"head"`` and ``"finetune"``).

    Raises:
        ValueError: for a model that is not a kit classifier, a domain without
            a validation split, one class in validation, or a bad seed,
            epochs or batch size.

    Introduced in ``notebooks/07_beyond_fine_tuning.ipynb``.
    """
    model = _pretrained_model(pretrained)
    domain = _check_domain(target_domain, "target_domain")
    seed = _checks.seed(seed)
    head_epochs, finetune_epochs = _target_budget(head_epochs, finetune_epochs)
    plan = FineTunePlan(epochs=finetune_epochs, head_epochs=head_epochs, learning_rate=head_learning_rate,
                        finetune_learning_rate=finetune_learning_rate, batch_size=batch_size,
                        unfreeze={"policy": "all", "train_batchnorm": True},
                        patience=max(head_epochs, finetune_epochs), predict_batch_size=_PREDICT_BATCH)
    return _run(_fresh_head_copy(model, seed), domain, plan, "transfer", seed, callbacks, verbose)


def _one_phase_plan(epochs: int, batch_size: int) -> FineTunePlan:
    """The scratch baseline's plan: every layer, the target learning rate, no early stop."""
    return FineTunePlan(epochs=epochs, learning_rate=TARGET_LEARNING_RATE, batch_size=batch_size, patience=epochs,
                        predict_batch_size=_PREDICT_BATCH)


def scratch_baseline(target_domain: Domain, *, seed: int = 0, head_epochs: int | None = None,
                     finetune_epochs: int | None = None, batch_size: int = 32, image_size: int | None = None,
                     backbone: str = BACKBONE, callbacks=(), verbose=0) -> FineTuneResult:
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
        backbone: the pretrained model's kit CNN (``"small_cnn"`` or ``"small_cnn_wide"``).
        callbacks, verbose: as in :func:`train_small_cnn`.

    Returns:
        :class:`FineTuneResult` (phase ``"joint"``: one domain, all layers).

    Raises:
        ValueError: as :func:`transfer`.

    Introduced in ``notebooks/07_beyond_fine_tuning.ipynb``.
    """
    domain = _check_domain(target_domain, "target_domain")
    seed = _checks.seed(seed)
    epochs = sum(_target_budget(head_epochs, finetune_epochs))
    size = _image_size(domain) if image_size is None else _checks.positive_int(image_size, "image_size")
    model = build_classifier(backbone, (size, size, 1), seed=seed)
    return _run(model, domain, _one_phase_plan(epochs, batch_size), "scratch_baseline", seed, callbacks, verbose)


def transfer_lower_layers(pretrained, target_domain: Domain, *, reset_from: str | None, seed: int = 0,
                          head_epochs: int | None = None, finetune_epochs: int | None = None, batch_size: int = 32,
                          callbacks=(), verbose=0) -> FineTuneResult:
    """Keep the pretrained backbone's lower layers, start the rest afresh, train everything like scratch.

    A new classifier gets the seeded random weights :func:`scratch_baseline`
    would start from, then the pretrained weights of every backbone layer
    before ``reset_from``; ``reset_from`` and the layers after it keep their
    random start, and so does the head. Everything trains in one phase with
    the scratch baseline's budget and learning rate. From a distant source,
    the low-level filters (edges, blobs) may carry over where the upper
    layers' features only get in the way; comparing ``reset_from`` values
    on validation shows how far up the source helps
    (``benchmarks/label_budget.py --starts lower``).

    Args:
        pretrained: as in :func:`transfer`.
        target_domain: the target :class:`~crossdomain_kit.data.domains.Domain`
            (its images are resized to the model's input).
        reset_from: the first backbone layer or block that starts afresh,
            e.g. ``"block2"`` (keep only the small CNN's first block); None
            keeps the whole backbone (only the head is new).
        seed: seeds the random start, the shuffling and the augmentation.
        head_epochs, finetune_epochs: their sum is the number of epochs, as
            in :func:`scratch_baseline` (the defaults match).
        batch_size: images per batch.
        callbacks, verbose: as in :func:`train_small_cnn`.

    Returns:
        :class:`FineTuneResult` (phase ``"joint"``); its ``settings`` hold
        ``reset_from``.

    Raises:
        ValueError: as :func:`transfer`, or for a ``reset_from`` that names no
            backbone layer or block (close names are suggested).

    Introduced in the README ("Benchmarks"): ``benchmarks/label_budget.py --starts lower``.
    """
    model = _pretrained_model(pretrained)
    reset = set()
    if reset_from is not None:
        if not isinstance(reset_from, str):
            raise _checks.fail("`reset_from` must be a backbone layer or block name, or None.",
                               "reset_from", reset_from)
        reset = {layer.name for layer in backbone_layers_from(base_of(model), reset_from, argument="reset_from")}
    domain = _check_domain(target_domain, "target_domain")
    seed = _checks.seed(seed)
    epochs = sum(_target_budget(head_epochs, finetune_epochs))
    result = _run(_fresh_head_copy(model, seed, reset), domain, _one_phase_plan(epochs, batch_size),
                  "transfer_lower_layers", seed, callbacks, verbose)
    result.settings["reset_from"] = reset_from
    return result
