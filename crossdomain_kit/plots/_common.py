"""What the plot modules share: the ``ax=None`` convention and the check of labelled 2-D points.

Private to :mod:`crossdomain_kit.plots`.
"""

from __future__ import annotations


def axes_or_new(ax):
    """``ax``, or the axes of a new pyplot figure (shown inline by Jupyter) when None.

    Shared by every plot helper of the package: ``ax=None`` means "make me a figure"."""
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    return plt.subplots(figsize=(6, 4.5))[1]


def labelled_points(X, y, x_name: str, y_name: str):
    """Check a labelled 2-D point set: X of shape (n, 2), y of n labels in {0, 1}.

    Returns:
        ``(X, y)``: float64 arrays of shape (n, 2) and (n,).
    """
    from .. import _checks

    X = _checks.float_array(X, x_name, ndim=2)
    if X.shape[1] != 2:
        raise _checks.fail(f"`{x_name}` must have shape (n, 2): one row per 2-D point.", x_name, X)
    y = _checks.binary_labels(y, y_name)
    if y.shape != (X.shape[0],):
        raise ValueError(f"`{y_name}` must have one label per row of `{x_name}`. "
                         f"Received: {x_name}.shape={X.shape}, {y_name}.shape={y.shape}")
    return X, y
