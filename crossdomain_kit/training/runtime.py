"""Where training runs: seeds and determinism, mixed precision, GPUs and ``tf.distribute`` strategies.

Reproducibility. Keras draws from global random generators, so the trainers'
``seed`` argument seeds them (:func:`set_global_seed`) and, on a machine
without a GPU, turns on TensorFlow's op determinism: the same seed, model and
freshly built datasets then give the same metrics. On a GPU determinism stays
off unless you ask for it, because it also switches off XLA.

Accelerators. ``fit`` uses XLA on a GPU (``jit_compile="auto"``), and so does
:func:`crossdomain_kit.training.make_train_step`; :func:`enable_mixed_precision`
switches Keras to ``mixed_float16`` when a GPU is present (the kit's logit
layer stays float32). A model built inside ``strategy.scope()`` of a
``tf.distribute`` strategy trains under that strategy with every trainer of
:mod:`crossdomain_kit.training`: :func:`distribute_dataset` and
:func:`optimizer_in_scope` are the two pieces a custom trainer needs for it.

Importing this module imports TensorFlow and Keras.

Introduced in ``notebooks/04_freezing_hyperparameters_lab.ipynb``.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from .. import _checks


def gpu_available() -> bool:
    """Whether TensorFlow sees a GPU."""
    return bool(tf.config.list_physical_devices("GPU"))


def set_global_seed(seed: int, *, deterministic: bool | None = None) -> None:
    """Seed Python's, NumPy's and TensorFlow's global random generators (Keras's way).

    This changes global state for the rest of the session, which is how Keras
    works: unseeded layers, initialisers and dataset shuffles draw from these
    generators. The trainers here call it when given a ``seed``.

    Args:
        seed: an integer >= 0.
        deterministic: also turn on ``tf.config.experimental.enable_op_determinism()``
            (cannot be turned off again in the session). None: on when there is
            no GPU, where it costs nothing; off on a GPU, where it would slow
            cuDNN and switch off XLA.

    Raises:
        ValueError: for a seed that is not an integer >= 0 or a non-boolean flag.

    Introduced in ``notebooks/04_freezing_hyperparameters_lab.ipynb``.
    """
    seed = _checks.seed(seed)
    if deterministic is None:
        deterministic = not gpu_available()
    elif not isinstance(deterministic, bool):
        raise _checks.fail("`deterministic` must be True, False or None.", "deterministic", deterministic)
    keras.utils.set_random_seed(seed)
    if deterministic:
        tf.config.experimental.enable_op_determinism()


def enable_mixed_precision(enabled="auto") -> str:
    """Set Keras's global dtype policy to ``mixed_float16`` (or back to ``float32``).

    Call it before building the model: layers take the policy in force when
    they are created. The kit's logit layer computes in float32 whatever the
    policy (the from-logits loss needs it), ``compile`` wraps the optimizer in
    a ``LossScaleOptimizer`` and :func:`crossdomain_kit.training.train_with_tape`
    does the same.

    Args:
        enabled: True, False, or ``"auto"``: mixed precision only when a GPU is
            present (on a CPU float16 is slower, not faster).

    Returns:
        The policy now in force, ``"mixed_float16"`` or ``"float32"``.

    Raises:
        ValueError: if ``enabled`` is not True, False or ``"auto"``.

    Introduced in ``notebooks/04_freezing_hyperparameters_lab.ipynb``.
    """
    if enabled == "auto":
        enabled = gpu_available()
    elif not isinstance(enabled, bool):
        raise _checks.fail("`enabled` must be True, False or 'auto'.", "enabled", enabled)
    policy = "mixed_float16" if enabled else "float32"
    keras.config.set_dtype_policy(policy)
    return policy


def distribute_dataset(dataset, model):
    """The dataset as a step compiled for ``model`` consumes it, under the model's strategy.

    Args:
        dataset: a batched ``tf.data.Dataset`` (the global batch).
        model: the model the steps train or evaluate.

    Returns:
        ``dataset`` itself with one replica; otherwise the strategy's
        distributed dataset, each replica getting its part of every batch.
    """
    strategy = model.distribute_strategy
    if strategy.num_replicas_in_sync == 1:
        return dataset
    return strategy.experimental_distribute_dataset(dataset)


def optimizer_in_scope(model, optimizer):
    """The optimizer as ``compile`` would use it; call inside the model's strategy scope.

    An optimizer created outside that scope (it records the strategy of its
    creation) is re-created from its config inside it, and it is wrapped in a
    ``LossScaleOptimizer`` under ``mixed_float16``.

    Args:
        model: the model to train (its strategy and dtype policy decide).
        optimizer: a Keras optimizer instance.

    Returns:
        The optimizer to build and use: ``optimizer`` itself, a fresh copy
        of it made in the scope, or either wrapped in a ``LossScaleOptimizer``.

    Raises:
        ValueError: if ``optimizer`` was already built under another strategy
            than the model's (its state cannot move).
    """
    strategy = model.distribute_strategy
    if getattr(optimizer, "_distribution_strategy", strategy) is not strategy:
        if optimizer.built:
            raise _checks.fail("`optimizer` was built under another tf.distribute strategy than the "
                               "model's; create it inside strategy.scope().", "optimizer", optimizer)
        optimizer = type(optimizer).from_config(optimizer.get_config())
    mixed = model.dtype_policy.name == "mixed_float16"
    if mixed and not isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
        return keras.optimizers.LossScaleOptimizer(optimizer)
    return optimizer
