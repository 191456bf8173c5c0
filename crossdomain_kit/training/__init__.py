"""Training classifiers: two-phase fine-tuning, the GradientTape loop, the LR finder, joint training.

Importing this package imports TensorFlow and Keras."""

from .fit import (
    MONITORS,
    gpu_available,
    set_global_seed,
    enable_mixed_precision,
    TrainingResult,
    FineTuneResult,
    fine_tune,
    classifier_metrics,
    make_train_step,
    make_objective_step,
    make_test_step,
    train_epoch,
    evaluate,
    train_with_tape,
    run_epochs,
    smooth_losses,
    LearningRateSuggestion,
    suggest_learning_rate,
    LRFinderResult,
    find_learning_rate,
    mix_domains,
    joint_datasets,
    train_joint,
)
