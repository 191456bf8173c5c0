"""Grad-CAM heat maps for the kit's classifiers, whose backbone is ONE nested model.

Grad-CAM (Selvaraju et al., 2017) asks which places of a convolutional feature
map A (shape h × w × K) raise the logit y. It weighs each channel k by the mean
gradient over the map, α_k = (1/hw) Σ_ij ∂y/∂A_ij^k, and keeps the positive part
of the weighted sum, L = ReLU(Σ_k α_k A^k). When A is the backbone's output and
the head is global average pooling then one dense unit with weights w, the
gradient is w_k / (hw) at every place, so L = ReLU(Σ_k w_k A^k) / (hw): Grad-CAM
is then exactly the class activation map of Zhou et al. (2016).

**Why the usual recipe fails here.** The Keras example builds
``keras.Model(model.inputs, [model.get_layer(name).output, model.output])``.
In a kit classifier the convolutional layers live inside the nested
``backbone`` model, and ``model.get_layer`` cannot see them; asking the backbone
for a layer gives a tensor of the backbone's own graph, which is not connected
to ``model.inputs`` ("Graph disconnected"). :func:`grad_cam` instead builds a
model over the *backbone's* graph that returns both the chosen feature map and
the backbone's output, then runs the classifier's head layers on that output,
all under one ``tf.GradientTape``.

Importing this module imports TensorFlow and Keras; :func:`gradcam_map` is
plain NumPy.

Introduced in ``notebooks/05_medical_imaging_finetune.ipynb``.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from .. import _checks
from .classifier import base_of


def gradcam_map(feature_maps, gradients) -> np.ndarray:
    """Combine feature maps and the logit's gradients into Grad-CAM maps (NumPy).

    Args:
        feature_maps: A, shape (n, h, w, K): a convolutional layer's output.
        gradients: ∂y/∂A for each image's logit y, the same shape.

    Returns:
        float64 array (n, h, w): ReLU(Σ_k α_k A^k) with α_k the mean of the
        gradients of channel k over the h × w places. Not normalised.

    Raises:
        ValueError: if the arrays are not 4-D, not finite or differ in shape.

    Introduced in ``notebooks/05_medical_imaging_finetune.ipynb``.
    """
    maps = _checks.float_array(feature_maps, "feature_maps", ndim=4)
    grads = _checks.float_array(gradients, "gradients", ndim=4)
    _checks.same_shape(maps, grads, "feature_maps", "gradients")
    weights = grads.mean(axis=(1, 2), keepdims=True)  # α_k, shape (n, 1, 1, K)
    return np.maximum((weights * maps).sum(axis=-1), 0.0)


def _feature_layer_output(base, layer_name):
    """The symbolic output of the chosen layer of the backbone (its last feature map by default)."""
    if layer_name is None:
        output = base.outputs[0]
    else:
        names = [layer.name for layer in base.layers]
        if layer_name not in names:
            close = [n for n in names if layer_name.lower() in n.lower()][:5] or names[-5:]
            raise _checks.fail(f"`layer_name` must name a layer of the backbone (e.g. {close}).",
                               "layer_name", layer_name)
        output = base.get_layer(layer_name).output
    if len(output.shape) != 4:
        raise _checks.fail(f"Grad-CAM needs a layer with a 4-D feature map (batch, height, width, "
                           f"channels); this one outputs shape {tuple(output.shape)}.",
                           "layer_name", layer_name)
    return output


def _head_layers(model, base):
    """The layers that follow the backbone, in order (kit classifiers: pool, dropout, logit)."""
    layers = model.layers
    position = layers.index(base)
    if any(not isinstance(layer, keras.layers.InputLayer) for layer in layers[:position]):
        raise _checks.fail("Grad-CAM expects a classifier whose input goes straight into the "
                           "backbone (as build_classifier makes it).", "model", model)
    return layers[position + 1:]


def _checked_images(model, images) -> np.ndarray:
    array = images.numpy() if isinstance(images, tf.Tensor) else images
    array = _checks.float_array(array, "images")
    if array.ndim == 3 and model.input_shape[-1] == 1:
        array = array[..., None]
    expected = tuple(model.input_shape[1:])
    if array.ndim != 4 or any(e is not None and e != s for e, s in zip(expected, array.shape[1:])):
        raise _checks.fail(f"`images` must be a batch the model takes, shape (n, *{expected}), "
                           "preprocessed as for training (e.g. a batch of make_pipeline).",
                           "images", array)
    return array.astype(np.float32)


def grad_cam(model, images, layer_name: str | None = None, *, for_class: int = 1,
             upsample: bool = True, batch_size: int = 32) -> np.ndarray:
    """Grad-CAM heat maps of a kit classifier, one per image, scaled to [0, 1].

    Args:
        model: a classifier from :func:`crossdomain_kit.models.classifier.build_classifier`
            (a nested ``backbone`` model followed by its head), fine-tuned or
            not, float32 or mixed precision.
        images: a batch the model takes, shape (n, height, width, channels),
            already preprocessed for its backbone (e.g. images of a batch from
            :func:`crossdomain_kit.data.pipeline.make_pipeline`); a NumPy array or tensor.
        layer_name: a layer inside the backbone whose output is a feature
            map, e.g. ``"conv4_block6_out"`` (ResNet50) or ``"block3_relu"``
            (small CNN); None for the backbone's last feature map.
        for_class: 1 maps the evidence for the positive class (the logit),
            0 the evidence for the negative class (minus the logit).
        upsample: resize the maps (bilinear) to the images' height and width;
            False keeps the feature map's resolution.
        batch_size: images per gradient computation.

    Returns:
        float64 array of shape (n, height, width) (or the feature map's size
        without ``upsample``), each map divided by its maximum; a map with no
        positive evidence is all zeros.

    Raises:
        ValueError: for a model that is not a kit classifier, an unknown layer
            or one without a 4-D output, images of the wrong shape or not
            finite, ``for_class`` not 0 or 1, or a bad ``batch_size``.

    Introduced in ``notebooks/05_medical_imaging_finetune.ipynb``.
    """
    base = base_of(model)
    if for_class not in (0, 1) or isinstance(for_class, bool):
        raise _checks.fail("`for_class` must be 1 (positive class) or 0 (negative class).",
                           "for_class", for_class)
    batch_size = _checks.positive_int(batch_size, "batch_size")
    feature_output = _feature_layer_output(base, layer_name)
    head = _head_layers(model, base)
    array = _checked_images(model, images)
    # One model over the backbone's own graph: the feature map and the backbone's output together.
    features_and_output = keras.Model(base.inputs, [feature_output, base.outputs[0]])
    sign = 1.0 if for_class == 1 else -1.0

    # Traced, not eager: an eager tape backpropagates through every op it recorded, the layers below
    # the feature map included (a whole ResNet50 backward pass, a minute per batch in float16 on a
    # CPU); the traced graph runs only the ops the returned gradient needs.
    @tf.function(input_signature=[tf.TensorSpec((None, *array.shape[1:]), tf.float32)])
    def maps_and_gradients(batch):
        with tf.GradientTape() as tape:
            feature_maps, x = features_and_output(batch, training=False)
            for layer in head:
                x = layer(x, training=False)
            score = sign * tf.reduce_sum(tf.cast(x, tf.float32))  # each logit depends on its image only
        return tf.cast(feature_maps, tf.float32), tf.cast(tape.gradient(score, feature_maps), tf.float32)
    # Each call traces its own function for its own model and layer, on purpose: TensorFlow's warning
    # about functions retraced call after call (advice for training loops) does not apply.
    maps_and_gradients._omit_frequent_tracing_warning = True

    maps = []
    for start in range(0, len(array), batch_size):
        feature_maps, gradients = maps_and_gradients(tf.constant(array[start:start + batch_size]))
        maps.append(gradcam_map(feature_maps.numpy(), gradients.numpy()))
    heat = np.concatenate(maps)
    if upsample:
        heat = tf.image.resize(heat[..., None], array.shape[1:3], method="bilinear").numpy()[..., 0]
        heat = np.maximum(heat.astype(np.float64), 0.0)
    peak = heat.max(axis=(1, 2), keepdims=True)
    return np.divide(heat, peak, out=np.zeros_like(heat), where=peak > 0)
