"""HTML pieces shared by the panels: a coloured message line and a table.

``ipywidgets.HTML`` renders the same in JupyterLab, Notebook, VS Code and
Colab, on ipywidgets 7.7 and 8, and its ``value`` is plain text that tests
can read.
"""

from __future__ import annotations

import html

MESSAGE_COLORS = {"info": "#444444", "ok": "#1a7f37", "warning": "#9a6700", "error": "#cf222e"}


def message_html(text: str, kind: str = "info") -> str:
    """``text`` as one coloured line (empty text gives an empty string)."""
    if not text:
        return ""
    return f'<span style="color:{MESSAGE_COLORS[kind]}">{html.escape(text)}</span>'


def show_message(widget, text: str, kind: str = "info") -> None:
    """Put ``text`` into an ``ipywidgets.HTML`` as a coloured line (``kind``: info/ok/warning/error)."""
    widget.value = message_html(text, kind)


def table_html(table) -> str:
    """An :class:`crossdomain_kit.evaluation.Table` as a compact HTML table."""
    cell = 'style="padding:1px 8px;white-space:nowrap;text-align:{}"'
    head = "".join(f"<th {cell.format('left')}>{html.escape(c)}</th>" for c in table.columns)
    body = "".join(
        "<tr>" + "".join(f"<td {cell.format('left' if i == 0 else 'right')}>{html.escape(v)}</td>"
                         for i, v in enumerate(row)) + "</tr>"
        for row in table.cells())
    return (f'<table style="border-collapse:collapse;font-size:90%"><thead><tr>{head}</tr></thead>'
            f"<tbody>{body}</tbody></table>")
