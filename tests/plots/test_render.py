"""crossdomain_kit.plots.render: a figure as PNG bytes."""

import matplotlib
from matplotlib.figure import Figure

from crossdomain_kit import plots
from crossdomain_kit.plots.render import figure_png


def test_figure_png_renders_png_bytes_without_pyplot_or_global_settings():
    before = dict(matplotlib.rcParams)
    fig = Figure(figsize=(2, 1))
    fig.add_subplot().plot([0, 1], [1, 0])
    png = figure_png(fig, dpi=50)
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 100
    assert len(figure_png(fig, dpi=100)) > len(png)  # a higher dpi renders more pixels
    assert dict(matplotlib.rcParams) == before


def test_figure_png_is_re_exported_and_used_by_the_report_folders():
    from crossdomain_kit.evaluation import reports

    assert plots.figure_png is figure_png is reports.figure_png
