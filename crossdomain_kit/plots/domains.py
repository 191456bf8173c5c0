"""Plots of two domains' 2-D feature maps (e.g. embeddings before and after adaptation).

Each takes ``ax=None`` (a new figure when None) and returns what it drew.
Nothing here changes matplotlib's global settings.
"""

from __future__ import annotations

from ._common import axes_or_new, labelled_points


DOMAIN_COLORS = ("tab:blue", "tab:orange")


def plot_domain_map(source_points, target_points, ax=None, *, source_labels=None, target_labels=None,
                    names=("source", "target"), title: str | None = None):
    """Scatter two domains' 2-D feature maps in one plot: colour = domain, marker = class.

    Args:
        source_points: array (n_S, 2), e.g. the first output of
            :func:`crossdomain_kit.methods.adaptation.embed_domains`.
        target_points: array (n_T, 2).
        ax: matplotlib Axes to draw on; a new figure when None.
        source_labels, target_labels: optional labels in {0, 1} (both or
            neither): class 0 is drawn as circles, class 1 as triangles.
        names: the two domains' names for the legend.
        title: the Axes title (None: none).

    Returns:
        dict with ``"source"`` and ``"target"`` (lists of ``PathCollection``,
        one per class drawn) and ``"legend"``.

    Raises:
        ValueError: for point arrays not of shape (n, 2), labels not in {0, 1}
            or not one per point, one label array without the other, or
            names that are not two strings.

    Introduced in ``notebooks/07_beyond_fine_tuning.ipynb``.
    """
    import numpy as np

    from .. import _checks

    if (source_labels is None) != (target_labels is None):
        raise ValueError("Pass both `source_labels` and `target_labels`, or neither. "
                         f"Received: source_labels={'set' if source_labels is not None else None}, "
                         f"target_labels={'set' if target_labels is not None else None}")
    names = _checks.class_names(names, "names")
    layers = []
    for which, points, labels in (("source", source_points, source_labels),
                                  ("target", target_points, target_labels)):
        name = f"{which}_points"
        if labels is None:
            points = _checks.float_array(points, name, ndim=2)
            if points.shape[1] != 2:
                raise _checks.fail(f"`{name}` must have shape (n, 2): one row per point.", name, points)
            labels = np.zeros(len(points))
        else:
            points, _ = labelled_points(points, labels, name, f"{which}_labels")
            labels = np.asarray(labels, dtype=np.float64).ravel()
        layers.append((which, points, labels))
    with_classes = source_labels is not None
    ax = axes_or_new(ax)
    drawn = {}
    for (which, points, labels), color, name in zip(layers, DOMAIN_COLORS, names):
        drawn[which] = []
        for label, marker in ((0, "o"), (1, "^")):
            chosen = points[labels == label]
            if len(chosen):
                text = f"{name}, class {label}" if with_classes else f"{name} (n = {len(points)})"
                drawn[which].append(ax.scatter(chosen[:, 0], chosen[:, 1], s=12, marker=marker,
                                               color=color, alpha=0.5, linewidths=0, label=text))
    ax.set(xticks=[], yticks=[])
    if title is not None:
        ax.set_title(title)
    drawn["legend"] = ax.legend(loc="best", fontsize="small", markerscale=1.5)
    return drawn
