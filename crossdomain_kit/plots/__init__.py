"""Every figure of the course. Each helper takes ``ax=None`` and returns what it drew.

One module per kind of figure: :mod:`~crossdomain_kit.plots.theory` (risk
surfaces, descent paths, toy domains, decision boundaries),
:mod:`~crossdomain_kit.plots.images` (image grids, Grad-CAM overlays),
:mod:`~crossdomain_kit.plots.training` (learning-rate finder, learning curves,
data efficiency, seeds, robustness), :mod:`~crossdomain_kit.plots.evaluation`
(ROC, confusion matrix, reliability), :mod:`~crossdomain_kit.plots.domains`
(domain maps) and :mod:`~crossdomain_kit.plots.render` (figure to PNG bytes).
Their public names are all importable from here.
"""

from .theory import (
    CLASS_COLORS,
    plot_loss_surface,
    plot_descent_path,
    plot_domains,
    plot_decision_boundary,
)
from .images import plot_image_grid, plot_grad_cam
from .training import (
    plot_lr_finder,
    plot_learning_curves,
    plot_data_efficiency,
    plot_seed_comparison,
    plot_robustness,
)
from .evaluation import plot_roc, plot_confusion_matrix, plot_reliability
from .domains import DOMAIN_COLORS, plot_domain_map
from .render import figure_png
