"""Plots of training runs: learning-rate sweeps, learning curves, data efficiency, seeds, robustness.

Each takes ``ax=None`` (a new figure when None) and returns what it drew.
Nothing here changes matplotlib's global settings.
"""

from __future__ import annotations

from ._common import axes_or_new


# --- Learning-rate finder (lesson 04) ------------------------------------------------------

def plot_lr_finder(result, ax=None):
    """A learning-rate sweep: loss against learning rate (log scale), with the suggestion marked.

    The raw batch losses are drawn faintly behind the smoothed curve; a
    vertical line marks the suggested rate and a dot the steepest descent.
    The y-axis stops at twice the first smoothed loss, so a diverging tail
    does not flatten the interesting part.

    Args:
        result: a :class:`crossdomain_kit.training.LRFinderResult`.
        ax: matplotlib Axes to draw on; a new figure when None.

    Returns:
        dict with ``"raw"`` and ``"smoothed"`` (``Line2D``), ``"suggestion"``
        (the vertical ``Line2D``), ``"steepest"`` (``Line2D`` marker, None if
        undefined) and ``"legend"``.

    Raises:
        ValueError: if ``result`` is not an ``LRFinderResult``.

    Introduced in ``notebooks/04_freezing_hyperparameters_lab.ipynb``.
    """
    import numpy as np

    from .. import _checks
    from ..training import LRFinderResult

    if not isinstance(result, LRFinderResult):
        raise _checks.fail("`result` must be an LRFinderResult from "
                           "`crossdomain_kit.training.find_learning_rate`.", "result", result)
    ax = axes_or_new(ax)
    lrs, smoothed = result.learning_rates, result.losses
    (raw,) = ax.plot(lrs, result.raw_losses, color="tab:blue", alpha=0.25, linewidth=1,
                     label="batch loss")
    (smooth,) = ax.plot(lrs, smoothed, color="tab:blue", linewidth=1.8, label="smoothed loss")
    suggestion = ax.axvline(result.suggestion, color="tab:red", linestyle="--",
                            label=f"suggested {result.suggestion:.1e} (minimum / 10)")
    steepest = None
    if result.steepest_lr is not None:
        at = int(np.argmin(np.abs(lrs - result.steepest_lr)))
        (steepest,) = ax.plot(lrs[at], smoothed[at], "o", color="tab:orange", markersize=7,
                              label=f"steepest descent {result.steepest_lr:.1e}")
    ax.set_xscale("log")
    finite = smoothed[np.isfinite(smoothed)]
    if finite.size:
        low, high = float(finite.min()), float(min(finite.max(), 2 * abs(finite[0])))
        pad = 0.05 * max(high - low, 1e-12)
        ax.set_ylim(low - pad, high + pad)
    ax.set(xlabel="learning rate (log scale)", ylabel="training loss",
           title="learning-rate finder" + (" (stopped: loss diverged)" if result.diverged else ""))
    legend = ax.legend(loc="best")
    return {"raw": raw, "smoothed": smooth, "suggestion": suggestion, "steepest": steepest,
            "legend": legend}


# --- Learning curves (lesson 04, the dashboard, report folders) ----------------------------

def plot_learning_curves(history, axes=None, *, label: str | None = None, epoch_offset: int = 0,
                         phases=None, best_epoch: int | None = None):
    """Loss and AUC per epoch: training solid, validation dashed.

    The kit's trainers record the exact validation AUC (the tables' number);
    the training AUC is Keras's approximate metric, running over each epoch's
    batches; the AUC panel's title says so.

    Call it once per run on the same two axes to draw runs one after the other.

    Args:
        history: ``{name: [value per epoch]}`` with ``loss``/``val_loss`` and
            ``auc``/``val_auc`` (``TrainingResult.history`` or Keras's
            ``History.history``); missing keys are skipped.
        axes: two Axes (loss, AUC), or None for a new pyplot figure.
        label: prefix of the legend entries (to tell runs apart).
        epoch_offset: epochs already drawn on these axes; a solid grey line
            marks where this run starts when it is > 0.
        phases: one phase name per epoch; phase changes get dotted lines.
        best_epoch: index of the epoch whose weights were kept; marked and
            annotated on the validation curves.

    Returns:
        ``{"loss": [Line2D, ...], "auc": [Line2D, ...]}``.

    Introduced in ``notebooks/04_freezing_hyperparameters_lab.ipynb``.
    """
    import numpy as np
    from matplotlib.ticker import MaxNLocator

    if axes is None:
        import matplotlib.pyplot as plt

        axes = plt.subplots(1, 2, figsize=(10, 3.5), layout="constrained")[1]
    loss_ax, auc_ax = axes
    drawn = {"loss": [], "auc": []}
    for ax, metric in ((loss_ax, "loss"), (auc_ax, "auc")):
        for key, style, kind in ((metric, "-", "training"), (f"val_{metric}", "--", "validation")):
            values = history.get(key)
            if values:
                epochs = np.arange(epoch_offset + 1, epoch_offset + len(values) + 1)
                name = f"{label}: {kind}" if label else kind
                drawn[metric] += ax.plot(epochs, values, style, marker="o", markersize=3, label=name)
        validation = history.get(f"val_{metric}")
        if best_epoch is not None and validation:
            x, y = epoch_offset + best_epoch + 1, validation[best_epoch]
            ax.plot(x, y, "o", color="black", markersize=6)
            ax.annotate(f"kept {y:.3f}", (x, y), textcoords="offset points", xytext=(4, -12),
                        fontsize="small")
        if epoch_offset:
            ax.axvline(epoch_offset + 0.5, color="grey", linewidth=1)
        for i in range(1, len(phases or ())):
            if phases[i] != phases[i - 1]:
                ax.axvline(epoch_offset + i + 0.5, color="grey", linestyle=":", linewidth=1)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.legend(loc="best", fontsize="small")
    loss_ax.set(xlabel="epoch", ylabel="binary cross-entropy", title="loss")
    auc_ax.set(xlabel="epoch", ylabel="ROC AUC", title="AUC (validation exact, training running)")
    return drawn


# --- Data-efficiency curves (lesson 03) ------------------------------------------------------

def plot_data_efficiency(label_counts, curves, ax=None, *, ylabel: str = "target test AUC",
                         title: str | None = None):
    """Mean over seeds against the number of labels, one line per method, its min–max range as a band.

    Args:
        label_counts: increasing positive integers (the x axis, drawn on a log-2 scale).
        curves: ``{name: values}``, values of shape (n_counts, n_seeds), e.g.
            :meth:`crossdomain_kit.workflows.data_efficiency.DataEfficiency.curves`; one
            seed draws no band.
        ax: matplotlib Axes to draw on; a new figure when None.
        ylabel: the y axis's label.
        title: the Axes title (None: none).

    Returns:
        dict with ``"lines"`` and ``"bands"`` (``{name: Line2D}`` and
        ``{name: PolyCollection}``, no band for one seed) and ``"legend"``.

    Raises:
        ValueError: for counts that are not increasing positive integers, no
            curves, or values that are not finite with one row per count.

    Introduced in ``notebooks/03_transfer_shifted_domains.ipynb``.
    """
    import numpy as np

    from .. import _checks

    counts = np.asarray(label_counts)
    if (counts.ndim != 1 or counts.size == 0 or not np.issubdtype(counts.dtype, np.integer)
            or np.any(counts < 1) or np.any(np.diff(counts) <= 0)):
        raise _checks.fail("`label_counts` must be increasing positive integers.", "label_counts",
                           label_counts)
    if not isinstance(curves, dict) or not curves:
        raise _checks.fail("`curves` must be a non-empty dict {name: values (n_counts, n_seeds)}.",
                           "curves", curves)
    checked = {}
    for name, values in curves.items():
        array = _checks.float_array(values, f"curves[{name!r}]", ndim=2)
        if array.shape[0] != counts.size:
            raise _checks.fail(f"`curves[{name!r}]` must have one row per label count ({counts.size}).",
                               f"curves[{name!r}]", array)
        checked[str(name)] = array
    ax = axes_or_new(ax)
    drawn = {"lines": {}, "bands": {}}
    for name, array in checked.items():
        (line,) = ax.plot(counts, array.mean(axis=1), marker="o", label=name)
        drawn["lines"][name] = line
        if array.shape[1] > 1:
            drawn["bands"][name] = ax.fill_between(counts, array.min(axis=1), array.max(axis=1),
                                                   color=line.get_color(), alpha=0.2, linewidth=0)
    ax.set_xscale("log", base=2)
    ax.set_xticks(counts, [str(int(n)) for n in counts])
    ax.minorticks_off()
    ax.set(xlabel="target training labels", ylabel=ylabel)
    if title is not None:
        ax.set_title(title)
    most_seeds = max(a.shape[1] for a in checked.values())
    drawn["legend"] = ax.legend(loc="best", fontsize="small", title_fontsize="small",
                                title=f"mean; band: min–max over {most_seeds} seeds" if most_seeds > 1 else None)
    ax.grid(alpha=0.3)
    return drawn


# --- Overfitting controls and adversarial robustness (lesson 06) ---------------------------

def plot_seed_comparison(values, ax=None, *, ylabel: str, title: str | None = None, reference: str | None = None):
    """One bar per setting at its mean over seeds, each seed's value as a dot on it.

    Showing the seeds, not only the mean, lets a reader see whether two
    settings differ by more than the seeds do.

    Args:
        values: ``{setting: per-seed values}`` (one or more finite numbers each).
        ax: matplotlib Axes to draw on; a new figure when None.
        ylabel: the y axis's label.
        title: the Axes title (None: none).
        reference: a setting whose mean is drawn across the plot as a dashed
            line (e.g. the baseline); None draws none.

    Returns:
        dict with ``"bars"`` (``{setting: Rectangle}``), ``"dots"``
        (``{setting: PathCollection}``) and ``"reference"`` (a Line2D or None).

    Raises:
        ValueError: for no settings, values that are not finite numbers, or a
            ``reference`` that is not one of the settings.

    Introduced in ``notebooks/06_overfitting_controls.ipynb``.
    """
    import numpy as np

    from .. import _checks

    if not isinstance(values, dict) or not values:
        raise _checks.fail("`values` must be a non-empty dict {setting: per-seed values}.", "values", values)
    checked = {str(name): _checks.float_array(np.ravel(v), f"values[{name!r}]", ndim=1)
               for name, v in values.items()}
    if reference is not None and reference not in checked:
        raise _checks.fail(f"`reference` must be one of {list(checked)}.", "reference", reference)
    ax = axes_or_new(ax)
    drawn = {"bars": {}, "dots": {}, "reference": None}
    for position, (name, seeds) in enumerate(checked.items()):
        drawn["bars"][name] = ax.bar(position, seeds.mean(), width=0.6, color="tab:blue", alpha=0.35)[0]
        offsets = np.linspace(-0.15, 0.15, seeds.size) if seeds.size > 1 else np.zeros(1)
        drawn["dots"][name] = ax.scatter(position + offsets, seeds, color="tab:blue", s=18, zorder=3)
    if reference is not None:
        drawn["reference"] = ax.axhline(checked[reference].mean(), color="grey", linestyle="--", linewidth=1)
    ax.set_xticks(range(len(checked)), list(checked), rotation=30, ha="right")
    ax.set_ylabel(ylabel)
    if title is not None:
        ax.set_title(title)
    ax.grid(axis="y", alpha=0.3)
    return drawn


def plot_robustness(scores, ax=None, *, title: str | None = None):
    """AUC against the FGSM attack's ε in grey levels (ε·255), one line per model.

    Args:
        scores: ``{name: scores}``, each a list of objects with ``epsilon`` and
            ``auc`` (:func:`crossdomain_kit.methods.adversarial.robust_scores`' result),
            ε in the units of inputs scaled to [0, 1].
        ax: matplotlib Axes to draw on; a new figure when None.
        title: the Axes title (None: none).

    Returns:
        ``{name: Line2D}``.

    Raises:
        ValueError: for no models, or a model without scores.

    Introduced in ``notebooks/06_overfitting_controls.ipynb``.
    """
    from .. import _checks

    if not isinstance(scores, dict) or not scores or not all(len(s) for s in scores.values()):
        raise _checks.fail("`scores` must be a non-empty dict {name: robust scores}, each non-empty.",
                           "scores", scores)
    ax = axes_or_new(ax)
    lines = {}
    for name, curve in scores.items():
        (lines[name],) = ax.plot([s.epsilon * 255 for s in curve], [s.auc for s in curve], marker="o",
                                 label=str(name))
    ax.axhline(0.5, color="grey", linestyle=":", linewidth=1)
    ax.set(xlabel="FGSM ε (grey levels of 255)", ylabel="test AUC under attack", ylim=(0, 1))
    if title is not None:
        ax.set_title(title)
    ax.legend(loc="best", fontsize="small")
    ax.grid(alpha=0.3)
    return lines
