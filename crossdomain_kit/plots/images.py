"""Plots of images: tiled image grids and Grad-CAM overlays.

Each takes ``ax=None`` (a new figure when None) and returns what it drew.
Nothing here changes matplotlib's global settings.
"""

from __future__ import annotations

from ._common import axes_or_new


# --- Image grids (synthetic and real image domains, lesson 03) ------------------------------

def plot_image_grid(images, labels=None, class_names=None, ax=None, n_cols: int | None = None,
                    max_images: int = 32, title: str | None = None):
    """Show the first images of a set as one tiled mosaic, each tile captioned with its class.

    The tiles are joined into a single picture on one Axes (white gaps between
    them), so the helper takes ``ax`` like every other plot here. Grey images
    are drawn on a fixed scale (0-255 for ``uint8``, 0-1 for values in [0, 1];
    any other range is stretched), so brightness and contrast shifts stay
    visible from one grid to the next.

    Args:
        images: array of shape (n, h, w), (n, h, w, 1) or (n, h, w, 3), e.g.
            ``DomainSplit.images``; ``uint8`` or real numbers.
        labels: optional labels in {0, 1}, one per image, for the captions.
        class_names: optional (negative, positive) names for the captions;
            without them the captions are "0" and "1".
        ax: matplotlib Axes to draw on; a new figure when None.
        n_cols: tiles per row; default about square.
        max_images: show at most this many (the first ones).
        title: Axes title; default says how many images are shown.

    Returns:
        dict with ``"image"`` (the ``AxesImage`` of the mosaic) and ``"texts"``
        (one caption ``Text`` per shown image; empty without labels).

    Raises:
        ValueError: on a bad image array, labels that are not one 0/1 per
            image, bad class names, or a non-positive ``n_cols``/``max_images``.

    Introduced in ``notebooks/03_transfer_shifted_domains.ipynb``.
    """
    import numpy as np

    from .. import _checks

    array = np.asarray(images)
    if array.ndim == 4 and array.shape[-1] == 1:
        array = array[..., 0]
    if not (array.ndim == 3 or (array.ndim == 4 and array.shape[-1] == 3)) or array.size == 0 \
            or not (np.issubdtype(array.dtype, np.integer) or np.issubdtype(array.dtype, np.floating)):
        raise _checks.fail("`images` must be a non-empty numeric array of shape (n, h, w), "
                           "(n, h, w, 1) or (n, h, w, 3).", "images", images)
    if labels is not None:
        labels = _checks.binary_labels(labels, "labels").astype(int).reshape(-1)
        if labels.size != len(array):
            raise ValueError("`labels` must have one entry per image. "
                             f"Received: {labels.size} labels for {len(array)} images")
    names = ("0", "1") if class_names is None else _checks.class_names(class_names)
    total = len(array)
    shown = min(total, _checks.positive_int(max_images, "max_images"))
    cols = int(np.ceil(np.sqrt(shown))) if n_cols is None else _checks.positive_int(n_cols, "n_cols")
    cols = min(cols, shown)
    rows = int(np.ceil(shown / cols))

    array = array[:shown]
    finite = array[np.isfinite(array)]
    if array.dtype == np.uint8:
        bottom, top = 0.0, 255.0
    elif finite.size == 0 or (finite.min() >= 0 and finite.max() <= 1):
        bottom, top = 0.0, 1.0
    else:  # any other range: stretch it
        bottom, top = float(finite.min()), float(max(finite.max(), finite.min() + 1e-12))
    height, width = array.shape[1:3]
    gap = max(1, min(height, width) // 16)
    mosaic = np.full((rows * (height + gap) - gap, cols * (width + gap) - gap) + array.shape[3:], top)
    for k in range(shown):
        r, c = divmod(k, cols)
        mosaic[r * (height + gap): r * (height + gap) + height,
               c * (width + gap): c * (width + gap) + width] = array[k]
    if array.ndim == 4:  # RGB: imshow wants floats in [0, 1]
        mosaic = np.clip((mosaic - bottom) / (top - bottom), 0.0, 1.0)

    created = ax is None
    ax = axes_or_new(ax)
    if created:
        ax.figure.set_size_inches(min(1.3 * cols, 12), min(1.3 * rows, 12) + 0.4)
    image = ax.imshow(mosaic, cmap="gray", vmin=bottom, vmax=top, interpolation="nearest")
    texts = []
    if labels is not None:
        for k in range(shown):
            r, c = divmod(k, cols)
            texts.append(ax.text(c * (width + gap) - 0.5, r * (height + gap) - 0.5, names[labels[k]],
                                 ha="left", va="top", fontsize="x-small", color="white",
                                 bbox={"facecolor": "black", "alpha": 0.55, "pad": 1, "linewidth": 0}))
    ax.set_axis_off()
    ax.set_title(title if title is not None else f"{shown} of {total} images")
    return {"image": image, "texts": texts}


# --- Grad-CAM overlays (lesson 05) -----------------------------------------------------------

def plot_grad_cam(images, heatmaps, axes=None, *, labels=None, probabilities=None, class_names=None,
                  alpha: float = 0.4, cmap: str = "jet"):
    """Each image in grey with its Grad-CAM heat map laid over it, one Axes per image.

    Args:
        images: array (n, h, w), (n, h, w, 1) or (n, h, w, 3) in any value
            range, e.g. the preprocessed batch given to
            :func:`crossdomain_kit.models.gradcam.grad_cam`. Each is shown in grey
            (the mean of its channels), stretched from its own minimum to
            maximum, so ImageNet-preprocessed X-rays display as they look.
        heatmaps: non-negative array (n, h', w'), e.g. from ``grad_cam``; each
            is stretched over its whole image (any resolution) and scaled by
            its maximum.
        axes: n Axes, or None for a new pyplot figure (up to 4 per row).
        labels: optional true labels in {0, 1}, one per image, for the titles.
        probabilities: optional predicted probabilities of the positive class,
            one per image, for the titles.
        class_names: optional (negative, positive) names for the titles.
        alpha: opacity of the heat map in (0, 1].
        cmap: matplotlib colour map of the heat map.

    Returns:
        dict with ``"images"`` and ``"heatmaps"`` (one ``AxesImage`` each per
        image) and ``"titles"`` (the title ``Text`` of each Axes).

    Raises:
        ValueError: on images or heat maps of the wrong shape, a negative or
            non-finite heat map, labels or probabilities that are not one per
            image, bad class names, too few axes or a bad ``alpha``.

    Introduced in ``notebooks/05_medical_imaging_finetune.ipynb``.
    """
    import numpy as np

    from .. import _checks

    pictures = _checks.float_array(images, "images")
    if pictures.ndim == 4 and pictures.shape[-1] in (1, 3):
        pictures = pictures.mean(axis=-1)
    if pictures.ndim != 3:
        raise _checks.fail("`images` must have shape (n, h, w), (n, h, w, 1) or (n, h, w, 3).",
                           "images", images)
    n = len(pictures)
    heat = _checks.float_array(heatmaps, "heatmaps", ndim=3)
    if len(heat) != n or np.any(heat < 0):
        raise _checks.fail(f"`heatmaps` must hold {n} non-negative maps, one per image.",
                           "heatmaps", heat)
    alpha = _checks.real_in(alpha, "alpha", 0.0, 1.0, low_open=True)
    captions = [[] for _ in range(n)]
    names = ("0", "1") if class_names is None else _checks.class_names(class_names)
    if labels is not None:
        labels = _checks.binary_labels(labels, "labels").astype(int).reshape(-1)
        if labels.size != n:
            raise _checks.fail(f"`labels` must have one entry per image ({n}).", "labels", labels)
        for caption, label in zip(captions, labels):
            caption.append(names[label])
    if probabilities is not None:
        probabilities = _checks.probabilities(probabilities, "probabilities").reshape(-1)
        if probabilities.size != n:
            raise _checks.fail(f"`probabilities` must have one entry per image ({n}).",
                               "probabilities", probabilities)
        for caption, p in zip(captions, probabilities):
            caption.append(f"p({names[1]}) {p:.2f}")
    if axes is None:
        import matplotlib.pyplot as plt

        cols = min(n, 4)
        rows = -(-n // cols)
        axes = plt.subplots(rows, cols, figsize=(2.6 * cols, 2.8 * rows), squeeze=False)[1].ravel()
    axes = list(np.ravel(axes))
    if len(axes) < n:
        raise _checks.fail(f"`axes` must hold at least one Axes per image ({n}).", "axes", axes)
    drawn = {"images": [], "heatmaps": [], "titles": []}
    for ax, picture, heat_map, caption in zip(axes, pictures, heat, captions):
        height, width = picture.shape
        low, high = float(picture.min()), float(picture.max())
        drawn["images"].append(ax.imshow(picture, cmap="gray", vmin=low, vmax=max(high, low + 1e-12)))
        peak = heat_map.max()
        drawn["heatmaps"].append(ax.imshow(heat_map / peak if peak > 0 else heat_map, cmap=cmap,
                                           alpha=alpha, vmin=0.0, vmax=1.0, interpolation="bilinear",
                                           extent=(-0.5, width - 0.5, height - 0.5, -0.5)))
        drawn["titles"].append(ax.set_title(" · ".join(caption), fontsize="small"))
        ax.set_axis_off()
    for ax in axes[n:]:
        ax.set_axis_off()
    return drawn
