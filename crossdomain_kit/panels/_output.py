"""Put a matplotlib figure into an ``Output`` widget in one atomic update."""

from __future__ import annotations

import base64

from matplotlib.figure import Figure

from ..plots import figure_png


def show_figure(output, fig: Figure, text: str | None = None, dpi: int = 90) -> None:
    """Replace everything in ``output`` with ``fig`` (and an optional text line).

    The outputs are assigned in one step instead of ``clear_output`` then
    ``display``, so the plot does not flicker on redraw, and it works the same
    headless (tests), in JupyterLab and in Colab.

    Args:
        output: an ``ipywidgets.Output``.
        fig: a ``matplotlib.figure.Figure`` (build it with ``Figure()``, not
            ``plt.figure()``, so pyplot keeps no reference to it).
        text: optional plain text shown under the figure.
        dpi: resolution of the PNG.
    """
    items = [{
        "output_type": "display_data",
        "data": {
            "image/png": base64.b64encode(figure_png(fig, dpi)).decode("ascii"),
            "text/plain": f"<Figure of {len(fig.axes)} axes>",
        },
        "metadata": {},
    }]
    if text:
        items.append({"output_type": "stream", "name": "stdout", "text": text + "\n"})
    output.outputs = tuple(items)
