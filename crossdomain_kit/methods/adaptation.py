"""Domain adaptation beyond fine-tuning: CORAL, DANN, the proxy A-distance and domain maps.

* :func:`coral_loss` (NumPy) and :func:`coral_loss_tf` (its TensorFlow twin):
  ``‖C_S − C_T‖²_F / (4d²)``, the distance between the feature covariances of
  a source and a target batch (Deep CORAL, Sun & Saenko 2016).
* :class:`GradientReversal`: identity forward, ``−λ·gradient`` backward, and
  :func:`build_dann`, a domain-adversarial network (Ganin et al. 2016) around
  a kit classifier: its backbone and pooling are the feature extractor, its
  logit the label head, and a small domain head learns source vs target
  through the reversal, which pushes the features to hide the domain.
* :func:`train_adapted` trains a kit classifier with either alignment term
  added to its classification loss, through the kit's tape loop
  (:func:`crossdomain_kit.training.make_objective_step`,
  :func:`crossdomain_kit.training.run_epochs`). The methods form a registry
  (:func:`adaptation_methods`): adding one is adding an :class:`AdaptationMethod` entry.
* :func:`extract_features`, :func:`proxy_a_distance` and :func:`embed_domains`
  measure how far apart two domains are in a model's feature space: a
  domain classifier's held-out error gives ``PAD = 2(1 − 2·err)`` (0: the
  domains cannot be told apart; 2: perfectly separable), and PCA or t-SNE
  draws the map (``plots.plot_domain_map``).

Importing this module imports TensorFlow and Keras.

Introduced in ``notebooks/07_beyond_fine_tuning.ipynb``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import keras
import numpy as np
import tensorflow as tf

from .. import _checks
from ..models.backbones import get_backbone
from ..models.predict import as_prediction_inputs, backbone_of
from ..models.classifier import base_of
from ..data.pipeline import make_pipeline
from ..training.checks import check_dataset, check_validation
from ..training.loop import loop_metrics, make_objective_step, make_test_step, run_epochs
from ..training.results import TrainingResult
from ..training.runtime import optimizer_in_scope, set_global_seed

LABELLED = ("source", "target", "both")
EMBEDDINGS = ("pca", "tsne")
POOL_NAME = "pool"


# --- CORAL ----------------------------------------------------------------------------------------

def _feature_pair(source_features, target_features) -> tuple[np.ndarray, np.ndarray]:
    source = _checks.float_array(source_features, "source_features", ndim=2)
    target = _checks.float_array(target_features, "target_features", ndim=2)
    for name, array in (("source_features", source), ("target_features", target)):
        if array.shape[0] < 2:
            raise _checks.fail(f"`{name}` needs at least 2 rows (examples) for a covariance.", name, array)
    if source.shape[1] != target.shape[1]:
        raise _checks.fail(f"`target_features` must have as many columns (features) as "
                           f"`source_features` ({source.shape[1]}).", "target_features", target)
    return source, target


def feature_covariance(features) -> np.ndarray:
    """Unbiased covariance of the columns: ``(X − x̄)ᵀ(X − x̄) / (n − 1)``, shape (d, d).

    Args:
        features: array of shape (n, d), n >= 2.

    Returns:
        float64 array (d, d), equal to ``np.cov(features, rowvar=False)``.

    Raises:
        ValueError: for a non-2-D, non-finite array or fewer than 2 rows.

    Introduced in ``notebooks/07_beyond_fine_tuning.ipynb``.
    """
    features = _checks.float_array(features, "features", ndim=2)
    if features.shape[0] < 2:
        raise _checks.fail("`features` needs at least 2 rows (examples) for a covariance.", "features",
                           features)
    centred = features - features.mean(axis=0)
    return centred.T @ centred / (features.shape[0] - 1)


def coral_loss(source_features, target_features) -> float:
    """The CORAL loss ``‖C_S − C_T‖²_F / (4d²)`` between two batches of features.

    ``C_S`` and ``C_T`` are the unbiased covariances (:func:`feature_covariance`)
    of the source and target features, ``d`` their number of columns.

    Args:
        source_features: array (n_S, d), n_S >= 2.
        target_features: array (n_T, d), n_T >= 2 (n_T may differ from n_S).

    Returns:
        The loss, a float >= 0 (0 when the covariances are equal).

    Raises:
        ValueError: for arrays that are not 2-D and finite, with fewer than 2
            rows, or with different numbers of columns.

    Introduced in ``notebooks/07_beyond_fine_tuning.ipynb``.
    """
    source, target = _feature_pair(source_features, target_features)
    d = source.shape[1]
    difference = feature_covariance(source) - feature_covariance(target)
    return float(np.sum(difference ** 2) / (4 * d * d))


def _covariance_tf(features):
    n = tf.cast(tf.shape(features)[0], features.dtype)
    centred = features - tf.reduce_mean(features, axis=0, keepdims=True)
    return tf.matmul(centred, centred, transpose_a=True) / (n - 1)


def coral_loss_tf(source_features, target_features):
    """TensorFlow twin of :func:`coral_loss`, differentiable, for use inside a training step.

    Args:
        source_features: tensor (n_S, d), n_S >= 2.
        target_features: tensor (n_T, d), n_T >= 2.

    Returns:
        Scalar tensor in the features' float dtype (float32 features under
        mixed precision are the caller's cast).

    Introduced in ``notebooks/07_beyond_fine_tuning.ipynb``.
    """
    source = tf.convert_to_tensor(source_features)
    target = tf.cast(tf.convert_to_tensor(target_features), source.dtype)
    d = tf.cast(tf.shape(source)[1], source.dtype)
    difference = _covariance_tf(source) - _covariance_tf(target)
    return tf.reduce_sum(tf.square(difference)) / (4 * d * d)


# --- Gradient reversal and DANN ----------------------------------------------------------------------

@tf.custom_gradient
def _reverse_gradient(x, strength):
    def gradient(upstream):
        return -tf.cast(strength, upstream.dtype) * upstream, tf.zeros_like(strength)

    return tf.identity(x), gradient


@keras.saving.register_keras_serializable(package="crossdomain_kit")
class GradientReversal(keras.layers.Layer):
    """Identity on the way forward; the gradient times ``−strength`` on the way back.

    Placed between a feature extractor and a domain classifier, it lets the
    domain classifier learn to tell the domains apart while the features
    below it are pushed the other way, to make the domains indistinguishable.
    ``strength`` (λ) is a non-trainable variable: change it during training
    with ``layer.strength.assign(value)`` (the DANN schedule ramps it from 0).

    Args:
        strength: λ >= 0, the factor of the reversed gradient.
        **kwargs: Keras layer arguments (``name``, ...).

    Raises:
        ValueError: for a negative or non-finite strength.

    Introduced in ``notebooks/07_beyond_fine_tuning.ipynb``.
    """

    def __init__(self, strength: float = 1.0, **kwargs):
        super().__init__(**kwargs)
        strength = _checks.real_in(strength, "strength", 0.0)
        self.strength = self.add_weight(shape=(), initializer=keras.initializers.Constant(strength),
                                        trainable=False, name="strength", dtype="float32")

    def call(self, inputs):
        return _reverse_gradient(inputs, tf.convert_to_tensor(self.strength))

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "strength": float(keras.ops.convert_to_numpy(self.strength))}


def dann_strength(progress: float, gamma: float = 10.0) -> float:
    """DANN's schedule for λ: ``2 / (1 + exp(−γ p)) − 1``, from 0 at p = 0 towards 1.

    The domain head is random at first; ramping λ keeps its early noise out
    of the features.

    Args:
        progress: p, the fraction of training done, in [0, 1].
        gamma: γ > 0, how fast λ rises (10 in the DANN paper).

    Returns:
        λ in [0, 1).

    Raises:
        ValueError: for p outside [0, 1] or γ <= 0.

    Introduced in ``notebooks/07_beyond_fine_tuning.ipynb``.
    """
    progress = _checks.fraction(progress, "progress")
    gamma = _checks.positive(gamma, "gamma")
    return 2.0 / (1.0 + math.exp(-gamma * progress)) - 1.0


def _pool_of(classifier) -> keras.layers.Layer:
    base_of(classifier)
    try:
        return classifier.get_layer(POOL_NAME)
    except ValueError:
        raise _checks.fail(f"Expected a classifier from build_classifier, with a layer named {POOL_NAME!r}.",
                           "classifier", classifier) from None


def feature_model(classifier) -> keras.Model:
    """The classifier's feature extractor: its nested backbone and pooling (shared weights).

    Args:
        classifier: a kit classifier (:func:`crossdomain_kit.models.classifier.build_classifier`).

    Returns:
        A ``keras.Model`` from the classifier's input to its pooled features
        (shape (batch, d)); it shares the classifier's layers.

    Raises:
        ValueError: if ``classifier`` is not a kit classifier.

    Introduced in ``notebooks/07_beyond_fine_tuning.ipynb``.
    """
    pool = _pool_of(classifier)
    return keras.Model(classifier.input, pool.output, name="features")


def build_dann(classifier, *, domain_units: int = 64, strength: float = 1.0, seed: int | None = None
               ) -> keras.Model:
    """A domain-adversarial network around a kit classifier.

    Feature extractor: the classifier's nested ``backbone`` and ``pool``.
    Label head: its dropout and ``logit``. Domain head: :class:`GradientReversal`
    → ``Dense(domain_units, relu)`` → ``Dense(1)`` (the logit of "target").
    The network shares the classifier's layers, so training it trains the
    classifier itself, which stays usable (and evaluable) on its own.

    Args:
        classifier: a kit classifier.
        domain_units: width of the domain head's hidden layer (>= 1).
        strength: initial λ of the gradient reversal (>= 0).
        seed: seeds the domain head's initial weights (None: Keras's global state).

    Returns:
        A ``keras.Model`` with outputs ``[label_logit, domain_logit]``; its
        layer ``"gradient_reversal"`` holds λ.

    Raises:
        ValueError: for a model that is not a kit classifier, or a bad
            ``domain_units``, ``strength`` or seed.

    Introduced in ``notebooks/07_beyond_fine_tuning.ipynb``.
    """
    pool = _pool_of(classifier)
    domain_units = _checks.positive_int(domain_units, "domain_units")
    strength = _checks.real_in(strength, "strength", 0.0)
    seed = _checks.seed(seed, allow_none=True)
    x = GradientReversal(strength, name="gradient_reversal")(pool.output)
    x = keras.layers.Dense(domain_units, activation="relu", name="domain_hidden",
                           kernel_initializer=keras.initializers.GlorotUniform(seed))(x)
    domain = keras.layers.Dense(1, dtype="float32", name="domain_logit",
                                kernel_initializer=keras.initializers.GlorotUniform(
                                    None if seed is None else seed + 1))(x)
    return keras.Model(classifier.input, [classifier.output, domain], name="dann")


# --- Training with an alignment term -------------------------------------------------------------

def _labelled_rows(labelled: str, n_source, n_total):
    """(start, stop) of the rows whose labels count, in a concatenated [source; target] batch."""
    if labelled == "source":
        return 0, n_source
    return (n_source if labelled == "target" else 0), n_total


def _coral_network(classifier, *, domain_units, seed) -> keras.Model:
    """The classifier with its pooled features as a second output (``domain_units``, ``seed``: unused)."""
    return keras.Model(classifier.input, [classifier.output, _pool_of(classifier).output],
                       name="logit_and_features")


def _coral_alignment(features, n_source, n_total):
    features = tf.cast(features, tf.float32)
    return coral_loss_tf(features[:n_source], features[n_source:])


def _dann_network(classifier, *, domain_units, seed) -> keras.Model:
    return build_dann(classifier, domain_units=domain_units, strength=0.0, seed=seed)


def _dann_alignment(domain_logits, n_source, n_total):
    is_target = tf.concat([tf.zeros([n_source, 1]), tf.ones([n_total - n_source, 1])], axis=0)
    return keras.losses.BinaryCrossentropy(from_logits=True)(is_target, domain_logits)


def _dann_ramp(network):
    reversal = network.get_layer("gradient_reversal")

    def ramp(progress):  # dann_strength's schedule, γ = 10, in the step's graph
        reversal.strength.assign(2.0 / (1.0 + tf.exp(-10.0 * progress)) - 1.0)

    return ramp


@dataclass(frozen=True)
class AdaptationMethod:
    """A method of :func:`train_adapted`: the network it trains and its alignment term (one registry entry).

    Attributes:
        network: ``network(classifier, *, domain_units, seed)``: a ``keras.Model`` sharing the
            classifier's layers, outputs ``[label_logit, other]`` (``other``: what the alignment reads).
        alignment: ``alignment(other, n_source, n_total)``: the scalar alignment loss of a
            ``[source; target]`` batch of ``n_total`` rows, the ``n_source`` source rows first.
        ramp: None, or ``ramp(network)`` returning ``update(progress)``, run every step before
            the forward pass with the fraction of training done (float32 tensor in [0, 1]).
    """

    network: Callable
    alignment: Callable
    ramp: Callable | None = None


_METHODS = {
    "coral": AdaptationMethod(_coral_network, _coral_alignment),
    "dann": AdaptationMethod(_dann_network, _dann_alignment, ramp=_dann_ramp),
}
METHODS = tuple(_METHODS)


def adaptation_methods() -> tuple[str, ...]:
    """The names :func:`train_adapted` accepts as ``method``, e.g. ``("coral", "dann")``.

    Returns:
        The registered methods' names, in registration order.
    """
    return tuple(_METHODS)


def _adaptation_objective(method: AdaptationMethod, network, *, weight, labelled, total_steps, optimizer):
    bce = keras.losses.BinaryCrossentropy(from_logits=True)
    ramp = None if method.ramp is None else method.ramp(network)

    def objective(batch):
        (x_source, y_source), (x_target, y_target) = batch
        n_source = tf.shape(x_source)[0]
        x = tf.concat([x_source, tf.cast(x_target, x_source.dtype)], axis=0)
        y = tf.concat([y_source, tf.cast(y_target, y_source.dtype)], axis=0)
        n_total = tf.shape(x)[0]
        if ramp is not None:
            ramp(tf.minimum(tf.cast(optimizer.iterations, tf.float32) / total_steps, 1.0))
        logits, other = network(x, training=True)
        start, stop = _labelled_rows(labelled, n_source, n_total)
        y_used, logits_used = y[start:stop], logits[start:stop]
        loss = bce(y_used, logits_used)
        return loss + weight * method.alignment(other, n_source, n_total), y_used, logits_used

    return objective


def train_adapted(classifier, source_ds, target_ds, val_ds, *, method: str, epochs: int,
                  labelled: str = "target", weight: float = 1.0, learning_rate: float = 1e-3,
                  domain_units: int = 64, monitor: str = "val_auc", seed: int | None = 0,
                  verbose: bool = True) -> TrainingResult:
    """Train a kit classifier on its classification loss plus a domain-alignment term.

    Every step takes one batch of each domain, runs them through the
    network together (BatchNormalization sees both) and minimises

    * ``method="coral"``: ``BCE(labelled rows) + weight · coral_loss_tf(f_S, f_T)``
      on the pooled features ``f`` (Deep CORAL);
    * ``method="dann"``: ``BCE(labelled rows) + weight · BCE(domain head, is-target)``
      through :func:`build_dann`'s gradient reversal, with λ ramped by
      :func:`dann_strength` over the run.

    ``labelled`` says whose labels enter the classification loss: ``"source"``
    is unsupervised domain adaptation (the target's labels are never used;
    the classes must be the same in both domains); ``"target"`` trains on the
    target's task and uses the source only for alignment (when the domains'
    classes differ, e.g. pneumonia vs breast malignancy); ``"both"`` pools
    the two (same classes). One epoch is one pass over ``target_ds``; the
    source stream repeats as needed. The classifier ends with the weights of
    its best validation epoch; Ctrl-C keeps them too. Trains what is trainable.

    Args:
        classifier: a kit classifier; it is trained in place.
        source_ds: batched ``(images, labels)`` source training data.
        target_ds: batched ``(images, labels)`` target training data (labels
            unused unless ``labelled`` includes the target).
        val_ds: batched validation data with both classes (the target's).
        method: a name from :func:`adaptation_methods`: ``"coral"`` or ``"dann"``.
        epochs: number of epochs (>= 1).
        labelled: ``"source"``, ``"target"`` or ``"both"``.
        weight: the alignment term's weight (>= 0; 0 is plain training).
        learning_rate: Adam's learning rate (> 0).
        domain_units: DANN's domain-head width.
        monitor: ``"val_auc"``, ``"val_loss"`` or ``"val_accuracy"``.
        seed: seeds the global generators and the domain head (None: leaves them).
        verbose: progress bar over the epochs.

    Returns:
        :class:`~crossdomain_kit.training.TrainingResult` (phase ``method``).

    Raises:
        ValueError: before anything trains, for a model that is not a kit
            classifier, datasets that are not finite batched ``(images,
            labels)`` datasets, validation data with one class, or a bad
            method, labelled, weight, learning rate, epochs, monitor or seed.

    Introduced in ``notebooks/07_beyond_fine_tuning.ipynb``.
    """
    _pool_of(classifier)
    if method not in adaptation_methods():
        raise _checks.fail(f"`method` must be one of {adaptation_methods()}.", "method", method)
    if labelled not in LABELLED:
        raise _checks.fail(f"`labelled` must be one of {LABELLED}.", "labelled", labelled)
    check_dataset(source_ds, "source_ds", weights_allowed=False)
    check_dataset(target_ds, "target_ds", weights_allowed=False)
    epochs = _checks.positive_int(epochs, "epochs")
    weight = _checks.real_in(weight, "weight", 0.0)
    learning_rate = _checks.positive(learning_rate, "learning_rate")
    seed = _checks.seed(seed, allow_none=True)
    check_validation(val_ds)
    if seed is not None:
        set_global_seed(seed)

    steps_per_epoch = int(target_ds.cardinality())
    if steps_per_epoch < 1:  # unknown cardinality: count once
        steps_per_epoch = sum(1 for _ in target_ds)
    train_ds = tf.data.Dataset.zip((source_ds.repeat(), target_ds))
    adapter = _METHODS[method]
    with classifier.distribute_strategy.scope():
        network = adapter.network(classifier, domain_units=domain_units, seed=seed)
        optimizer = optimizer_in_scope(network, keras.optimizers.Adam(learning_rate))
        optimizer.build(network.trainable_variables)
        metrics = loop_metrics()
    objective = _adaptation_objective(adapter, network, weight=weight, labelled=labelled,
                                      total_steps=float(max(1, epochs * steps_per_epoch)),
                                      optimizer=optimizer)
    train_step = make_objective_step(network, optimizer, objective, metrics)
    test_step = make_test_step(classifier, keras.losses.BinaryCrossentropy(from_logits=True), metrics)
    return run_epochs(classifier, train_ds, val_ds, epochs, train_step, test_step, metrics,
                      optimizer=optimizer, phase=method, monitor=monitor, restore_best=True, verbose=verbose)


# --- Measuring the gap: features, proxy A-distance, maps -------------------------------------------

def extract_features(classifier, inputs, *, batch_size: int = 256) -> np.ndarray:
    """The pooled features of a kit classifier for a split's images (or files, or arrays).

    The images go through the same pipeline as for prediction
    (:func:`crossdomain_kit.models.predict.predict_proba`), resized to the model's input.

    Args:
        classifier: a kit classifier.
        inputs: a :class:`~crossdomain_kit.data.domains.DomainSplit`, image files,
            a folder or an array of 0–255 images.
        batch_size: images per batch.

    Returns:
        float64 array (n, d).

    Raises:
        ValueError: for a model that is not a kit classifier, or bad inputs.

    Introduced in ``notebooks/07_beyond_fine_tuning.ipynb``.
    """
    features = feature_model(classifier)
    batch_size = _checks.positive_int(batch_size, "batch_size")
    backbone = backbone_of(classifier)
    if backbone is None:
        raise _checks.fail("Cannot tell the classifier's backbone from its name; build it with "
                           "build_classifier.", "classifier", classifier)
    height, width, channels = classifier.input_shape[1:]
    dataset = make_pipeline(as_prediction_inputs(inputs), backbone=None,
                            preprocess=get_backbone(backbone).preprocess_input(),
                            image_size=(height, width), channels=channels, batch_size=batch_size,
                            cache=False)
    return np.asarray(features.predict(dataset.map(lambda images, _: images), verbose=0), np.float64)


@dataclass(frozen=True)
class ProxyADistance:
    """A proxy A-distance and how it was measured.

    Attributes:
        distance: ``2(1 − 2·error)``, in [−2, 2]; about 0 when a classifier
            cannot tell the domains apart, 2 when it always can. (Below 0 only
            by chance, with a held-out error above ½.)
        error: the domain classifier's error on the held-out half.
        n_train: examples the domain classifier was fitted on.
        n_test: held-out examples the error was measured on.
    """

    distance: float
    error: float
    n_train: int
    n_test: int


def proxy_a_distance(source_features, target_features, *, test_fraction: float = 0.5, C: float = 1.0,
                     seed: int = 0) -> ProxyADistance:
    """Proxy A-distance: how well a linear classifier tells two domains' features apart.

    Label source rows 0 and target rows 1, subsample the larger domain to the
    size of the smaller (so chance is ½ whatever the sizes), standardise,
    fit scikit-learn's ``LogisticRegression`` on a stratified part and
    measure its error on the held-out rest: ``PAD = 2(1 − 2·err)``
    (Ben-David et al. 2007; Ganin et al. 2016).

    Args:
        source_features: array (n_S, d).
        target_features: array (n_T, d).
        test_fraction: held-out share, in (0, 1).
        C: inverse L2 regularisation of the logistic regression (> 0).
        seed: seeds the subsampling and the split.

    Returns:
        :class:`ProxyADistance`.

    Raises:
        ValueError: for feature arrays as :func:`coral_loss` rejects them, or
            a bad ``test_fraction``, ``C`` or seed.

    Introduced in ``notebooks/07_beyond_fine_tuning.ipynb``.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import make_pipeline as sk_pipeline
    from sklearn.preprocessing import StandardScaler

    source, target = _feature_pair(source_features, target_features)
    test_fraction = _checks.real_in(test_fraction, "test_fraction", 0.0, 1.0, low_open=True)
    if test_fraction >= 1.0:
        raise _checks.fail("`test_fraction` must be a number in (0, 1).", "test_fraction", test_fraction)
    C = _checks.positive(C, "C")
    seed = _checks.seed(seed)
    rng = np.random.default_rng(seed)
    n = min(len(source), len(target))
    source = source[np.sort(rng.choice(len(source), n, replace=False))]
    target = target[np.sort(rng.choice(len(target), n, replace=False))]
    X = np.concatenate([source, target])
    y = np.r_[np.zeros(n), np.ones(n)]
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=test_fraction, stratify=y,
                                                        random_state=seed)
    classifier = sk_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=2000))
    error = float(1.0 - classifier.fit(X_train, y_train).score(X_test, y_test))
    return ProxyADistance(2.0 * (1.0 - 2.0 * error), error, len(y_train), len(y_test))


def embed_domains(source_features, target_features, *, method: str = "pca", seed: int = 0,
                  perplexity: float = 30.0) -> tuple[np.ndarray, np.ndarray]:
    """2-D coordinates of both domains' features in one map (PCA or t-SNE, fitted on both).

    Args:
        source_features: array (n_S, d).
        target_features: array (n_T, d).
        method: ``"pca"`` (linear: distances along the axes mean something)
            or ``"tsne"`` (neighbourhoods only; slower).
        seed: seeds t-SNE (PCA is exact).
        perplexity: t-SNE's perplexity (> 0, below the number of points).

    Returns:
        ``(source_2d, target_2d)``, arrays (n_S, 2) and (n_T, 2).

    Raises:
        ValueError: for feature arrays as :func:`coral_loss` rejects them, an
            unknown method, or a bad seed or perplexity.

    Introduced in ``notebooks/07_beyond_fine_tuning.ipynb``.
    """
    from sklearn.decomposition import PCA
    from sklearn.manifold import TSNE
    from sklearn.preprocessing import StandardScaler

    source, target = _feature_pair(source_features, target_features)
    if method not in EMBEDDINGS:
        raise _checks.fail(f"`method` must be one of {EMBEDDINGS}.", "method", method)
    seed = _checks.seed(seed)
    X = StandardScaler().fit_transform(np.concatenate([source, target]))
    if method == "pca":
        points = PCA(n_components=2).fit_transform(X)
    else:
        perplexity = _checks.positive(perplexity, "perplexity")
        if perplexity >= len(X):
            raise _checks.fail(f"`perplexity` must be below the number of points ({len(X)}).",
                               "perplexity", perplexity)
        points = TSNE(n_components=2, perplexity=perplexity, init="pca", random_state=seed).fit_transform(X)
    return points[:len(source)], points[len(source):]
