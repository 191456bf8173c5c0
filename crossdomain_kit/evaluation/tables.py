"""Small printable tables of metrics, and the same predictions cut at several thresholds.

Introduced in ``notebooks/05_medical_imaging_finetune.ipynb``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Mapping, Sequence

from .. import _checks
from . import _core
from .metrics import METRICS, binary_metrics


def _cell(value, spec: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    if isinstance(value, str):
        return value
    return format(value, spec)


@dataclass(frozen=True)
class Table:
    """A small table: rows of values under named columns, printable as text or markdown.

    Attributes:
        columns: column names.
        rows: one tuple of values per row (str, int or float; NaN prints ``n/a``).
        formats: one format spec per column for numbers (e.g. ``".3f"``, ``"+.3f"``).
    """

    columns: tuple[str, ...]
    rows: tuple[tuple, ...]
    formats: tuple[str, ...]

    def cells(self) -> list[list[str]]:
        """The rows formatted as strings."""
        return [[_cell(v, f) for v, f in zip(row, self.formats)] for row in self.rows]

    def as_dicts(self) -> list[dict]:
        """One dict per row (column name → value), NaN as None: JSON-serialisable."""
        return [{c: (v if isinstance(v, str) else _core.json_number(v)) for c, v in zip(self.columns, row)}
                for row in self.rows]

    def to_markdown(self) -> str:
        """GitHub-flavoured markdown table."""
        lines = ["| " + " | ".join(self.columns) + " |",
                 "|" + "|".join("---" if i == 0 else "---:" for i in range(len(self.columns))) + "|"]
        lines += ["| " + " | ".join(row) + " |" for row in self.cells()]
        return "\n".join(lines)

    def _repr_markdown_(self) -> str:
        return self.to_markdown()

    def __str__(self) -> str:
        cells = [list(self.columns)] + self.cells()
        widths = [max(len(row[i]) for row in cells) for i in range(len(self.columns))]
        return "\n".join("  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                                   for i, (c, w) in enumerate(zip(row, widths))) for row in cells)


def compare_thresholds(y_true, y_prob, thresholds: Mapping[str, float],
                       metrics: Sequence[str] = ("accuracy", "sensitivity", "specificity",
                                                 "balanced_accuracy", "ppv", "npv")) -> Table:
    """The same predictions cut at several thresholds, one row per threshold.

    Use it to show what a threshold costs, e.g. on test:
    ``compare_thresholds(y_test, p_test, {"0.5": 0.5, "chosen on val": t})``.

    Args:
        y_true, y_prob: labels and probabilities (both classes needed).
        thresholds: name → threshold in [0, 1].
        metrics: thresholded names from :data:`METRICS`.

    Returns:
        A :class:`Table` with columns ``rule``, ``threshold`` and the metrics.

    Raises:
        ValueError: on invalid predictions, an empty or invalid ``thresholds``
            mapping, or an unknown metric.

    Introduced in ``notebooks/05_medical_imaging_finetune.ipynb``.
    """
    if not isinstance(thresholds, Mapping) or not thresholds:
        raise _checks.fail("`thresholds` must be a non-empty dict of name -> threshold.",
                           "thresholds", thresholds)
    for name in metrics:
        _core.choice(name, "metrics", METRICS[1:])
    rows = []
    for rule, threshold in thresholds.items():
        m = binary_metrics(y_true, y_prob, threshold)
        rows.append((str(rule), m.threshold, *(getattr(m, name) for name in metrics)))
    return Table(columns=("rule", "threshold", *metrics), rows=tuple(rows),
                 formats=("", ".3f") + (".3f",) * len(metrics))
