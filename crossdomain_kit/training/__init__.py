"""Training classifiers: two-phase fine-tuning, the GradientTape loop, the LR finder, joint training.

* :func:`fine_tune` (:mod:`.fit`) trains the head on a frozen backbone, then
  unfreezes (part of) the backbone and continues with a lower learning rate,
  both phases through ``fit`` with ``EarlyStopping(restore_best_weights=True)``,
  ``ReduceLROnPlateau``, class weights and, optionally, a slower learning
  rate for the backbone than for the head.
* :func:`make_train_step`, :func:`train_epoch`, :func:`evaluate` and
  :func:`train_with_tape` (:mod:`.loop`) spell out what ``fit`` does, with an
  explicit ``tf.GradientTape``; on the same seed and data they give ``fit``'s
  result. :func:`make_objective_step` and :func:`run_epochs` are the extension
  points of trainers with their own objective (:mod:`crossdomain_kit.methods`).
* :func:`find_learning_rate` (:mod:`.lr_finder`) sweeps the learning rate
  exponentially over a few hundred batches and suggests one; the model is
  restored afterwards.
* :func:`mix_domains`, :func:`joint_datasets` and :func:`train_joint`
  (:mod:`.joint`) train on several domains at once with the risk of lesson 01,
  ``Σ_k λ_k R_k`` (``α R_S + (1 − α) R_T`` for a source and a target).

Every trainer returns a :class:`TrainingResult` (:mod:`.results`) holding the
per-epoch history; its ``val_auc`` is the exact AUC of the validation split
(:class:`ExactValidationAUC`, :mod:`.validation`), the number the evaluation
tables print, not Keras's approximate ``AUC`` metric. Ctrl-C (``KeyboardInterrupt``) during training is not an
error: the weights of the best epoch so far are restored, a message says so,
and the history of the finished epochs is returned.

Seeds, determinism, mixed precision and ``tf.distribute`` strategies are in
:mod:`.runtime` (:func:`set_global_seed`, :func:`enable_mixed_precision`): a
model built inside ``strategy.scope()`` trains under that strategy with every
function here. The argument checks the trainers share are in :mod:`.checks`;
:func:`recompute_batchnorm_statistics` and :class:`RecomputeBatchNormStatistics`
(:mod:`.batchnorm`) set BatchNorm's moving statistics to the mean of batch
statistics with the current weights (before every validation of a pretraining run);
:class:`EpochProgressBars` (:mod:`.progress`) draws a progress bar per epoch.

Importing this package imports TensorFlow and Keras.

Introduced in ``notebooks/04_freezing_hyperparameters_lab.ipynb`` (fine-tuning,
the tape loop, the LR finder) and ``notebooks/03_transfer_shifted_domains.ipynb``
(joint and multi-source training).
"""

from .checks import MONITORS
from .runtime import enable_mixed_precision, gpu_available, set_global_seed
from .results import TrainingResult
from .batchnorm import RecomputeBatchNormStatistics, recompute_batchnorm_statistics
from .fit import fine_tune
from .loop import (
    evaluate,
    loop_metrics,
    make_objective_step,
    make_test_step,
    make_train_step,
    run_epochs,
    train_epoch,
    train_with_tape,
)
from .lr_finder import (
    LearningRateSuggestion,
    LRFinderResult,
    find_learning_rate,
    smooth_losses,
    suggest_learning_rate,
)
from .joint import joint_datasets, mix_domains, train_joint
from .progress import EpochProgressBars
from .validation import ExactValidationAUC
