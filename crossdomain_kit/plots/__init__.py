"""Every figure of the course. Each helper takes ``ax=None`` and returns what it drew."""

from .figures import (
    plot_loss_surface,
    plot_descent_path,
    plot_roc,
    plot_confusion_matrix,
    plot_reliability,
    CLASS_COLORS,
    plot_domains,
    plot_decision_boundary,
    plot_image_grid,
    plot_lr_finder,
    plot_learning_curves,
    plot_grad_cam,
    DOMAIN_COLORS,
    plot_domain_map,
    plot_data_efficiency,
    plot_seed_comparison,
    plot_robustness,
)
