"""Compiling a kit classifier, with one learning rate or a slower one for the backbone.

:func:`compile_classifier` gives every kit classifier the same loss
(``BinaryCrossentropy(from_logits=True)``) and metrics
(:func:`classifier_metrics`); with ``base_learning_rate`` it trains the
backbone at its own rate through :class:`DiscriminativeOptimizer`.

Importing this module imports Keras (and TensorFlow).

Introduced in ``notebooks/04_freezing_hyperparameters_lab.ipynb``.
"""

from __future__ import annotations

import keras

from .. import _checks
from .classifier import _head_weights, base_of


@keras.saving.register_keras_serializable(package="crossdomain_kit")
class DiscriminativeOptimizer(keras.optimizers.Optimizer):
    """One optimizer, two learning rates: the head's and the backbone's.

    It routes each variable to one of two copies of the same optimizer (say
    Adam): the head's variables to a copy at ``learning_rate``, all others
    (the backbone's) to a copy at ``base_learning_rate``. Scaling gradients
    would not do this for Adam, whose steps do not depend on the gradient's
    scale; two inner optimizers do it for any algorithm.

    ``optimizer.learning_rate`` reads the head's rate; setting it (as
    ``ReduceLROnPlateau`` or a learning-rate finder does) sets both and keeps
    their ratio. The optimizer is serializable, so it survives
    ``get_compile_config``/``compile_from_config`` (used when freezing
    recompiles) and a ``.keras`` save and load. Global gradient clipping, if
    configured, applies to each group separately.

    Args:
        optimizer: the head's optimizer: an instance, a name or a config dict.
            Its learning rate must be a number, not a schedule.
        base_learning_rate: the backbone's learning rate (>= 0).
        head_paths: ``variable.path`` of every head variable.
        name: optimizer name.

    Introduced in ``notebooks/04_freezing_hyperparameters_lab.ipynb``.
    """

    def __init__(self, optimizer, base_learning_rate, head_paths, name="discriminative"):
        super().__init__(learning_rate=0.0, name=name)
        self.head_optimizer = keras.optimizers.get(optimizer)
        head_rate = self.head_optimizer.learning_rate
        if not isinstance(head_rate, keras.Variable):
            raise _checks.fail("The head optimizer needs a numeric learning rate, not a schedule.",
                               "optimizer", optimizer)
        base_learning_rate = _checks.real_in(base_learning_rate, "base_learning_rate", 0.0)
        config = self.head_optimizer.get_config()
        config.update(name=f"{config['name']}_base", learning_rate=base_learning_rate)
        self.base_optimizer = type(self.head_optimizer).from_config(config)
        self.head_paths = tuple(head_paths)
        self._base_ratio = base_learning_rate / float(head_rate.numpy())

    @property
    def learning_rate(self):
        return self.head_optimizer.learning_rate

    @learning_rate.setter
    def learning_rate(self, value):
        self.head_optimizer.learning_rate = value
        self.base_optimizer.learning_rate = value * self._base_ratio

    @property
    def base_learning_rate(self):
        """The backbone's learning rate (a variable)."""
        return self.base_optimizer.learning_rate

    @property
    def variables(self):
        return self._variables[:] + self.head_optimizer.variables + self.base_optimizer.variables

    def _split(self, variables, values=None):
        """Pairs (optimizer, [values], [variables]) for the head and the backbone."""
        values = variables if values is None else values
        groups = {True: ([], []), False: ([], [])}
        for value, variable in zip(values, variables):
            in_head = self._var_key(variable) in self._head_keys
            groups[in_head][0].append(value)
            groups[in_head][1].append(variable)
        return [(self.head_optimizer, *groups[True]), (self.base_optimizer, *groups[False])]

    def build(self, variables):
        if self.built:
            return
        paths = set(self.head_paths)
        self._head_keys = frozenset(self._var_key(v) for v in variables if v.path in paths)
        for optimizer, group, _ in self._split(variables):
            optimizer.build(group)
        super().build(variables)

    def apply(self, grads, trainable_variables=None):
        grads = list(grads)
        if not grads:
            return
        if trainable_variables is None:
            if not self.built:
                raise ValueError("Call `build(variables)` before applying gradients without variables.")
            trainable_variables = self._trainable_variables
        trainable_variables = list(trainable_variables)
        if not self.built:
            self.build(trainable_variables)
        for optimizer, group_grads, group_vars in self._split(trainable_variables, grads):
            if group_grads:
                optimizer.apply(group_grads, group_vars)
        self._iterations.assign_add(1)

    def finalize_variable_values(self, var_list):
        for optimizer, group, _ in self._split(var_list):
            if group:
                optimizer.finalize_variable_values(group)

    def get_config(self):
        return {
            "name": self.name,
            "optimizer": keras.optimizers.serialize(self.head_optimizer),
            "base_learning_rate": float(self.base_optimizer.learning_rate.numpy()),
            "head_paths": list(self.head_paths),
        }


def _make_optimizer(optimizer, learning_rate: float) -> keras.optimizers.Optimizer:
    if isinstance(optimizer, keras.optimizers.Optimizer):
        if isinstance(optimizer, DiscriminativeOptimizer):
            raise _checks.fail("Pass the head's optimizer and `base_learning_rate` instead of a "
                               "DiscriminativeOptimizer.", "optimizer", optimizer)
        config = optimizer.get_config()
        config["learning_rate"] = learning_rate
        return type(optimizer).from_config(config)
    if isinstance(optimizer, str):
        try:
            template = keras.optimizers.get(optimizer)
        except ValueError:
            template = None
        if template is not None:
            return _make_optimizer(template, learning_rate)
    raise _checks.fail("`optimizer` must be a Keras optimizer name (e.g. 'adam', 'sgd') or instance.",
                       "optimizer", optimizer)


def classifier_metrics() -> list:
    """Fresh metrics every kit classifier reports: ``auc`` and ``accuracy`` (logit threshold 0).

    Returns:
        ``[AUC(from_logits=True, name="auc"), BinaryAccuracy(threshold=0.0, name="accuracy")]``.

    Introduced in ``notebooks/04_freezing_hyperparameters_lab.ipynb``.
    """
    return [keras.metrics.AUC(from_logits=True, name="auc"),
            keras.metrics.BinaryAccuracy(threshold=0.0, name="accuracy")]


def compile_classifier(model, learning_rate: float = 1e-3, *, optimizer="adam",
                       base_learning_rate: float | None = None, jit_compile="auto") -> keras.Model:
    """Compile a classifier for binary labels with a from-logits loss.

    Loss ``BinaryCrossentropy(from_logits=True)``; metrics ``auc``
    (``AUC(from_logits=True)``) and ``accuracy`` (``BinaryAccuracy`` at logit
    0, i.e. probability 0.5). The optimizer is built right away on the
    currently trainable variables, so :func:`crossdomain_kit.models.freezing.needs_recompile`
    can tell when they change.

    Args:
        model: a classifier from :func:`crossdomain_kit.models.classifier.build_classifier`.
        learning_rate: the learning rate (the head's, with ``base_learning_rate``).
        optimizer: a Keras optimizer name or instance; an instance is a
            template whose settings (momentum, ...) are kept and whose
            learning rate is replaced by ``learning_rate``.
        base_learning_rate: None for one learning rate everywhere, or the
            backbone's own (>= 0), usually smaller: discriminative fine-tuning
            via :class:`DiscriminativeOptimizer`.
        jit_compile: ``"auto"`` (XLA on GPUs only), True or False.

    Returns:
        ``model``, compiled.

    Raises:
        ValueError: for a model that is not a kit classifier, a learning rate
            that is not a finite number > 0, a negative ``base_learning_rate``,
            an unknown optimizer, or a bad ``jit_compile``.
    """
    base_of(model)
    learning_rate = _checks.positive(learning_rate, "learning_rate")
    if base_learning_rate is not None:
        base_learning_rate = _checks.real_in(base_learning_rate, "base_learning_rate", 0.0)
    if jit_compile not in ("auto", True, False):
        raise _checks.fail("`jit_compile` must be 'auto', True or False.", "jit_compile", jit_compile)
    head_optimizer = _make_optimizer(optimizer, learning_rate)
    if base_learning_rate is None:
        chosen = head_optimizer
    else:
        chosen = DiscriminativeOptimizer(head_optimizer, base_learning_rate,
                                         head_paths=[w.path for w in _head_weights(model)])
    model.compile(optimizer=chosen,
                  loss=keras.losses.BinaryCrossentropy(from_logits=True),
                  metrics=classifier_metrics(),
                  jit_compile=jit_compile)
    model.optimizer.build(model.trainable_variables)
    return model
