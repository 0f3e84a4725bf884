"""How media show themselves in a notebook (``_repr_png_``, ``_repr_html_``): small, escaped, self-contained."""

from __future__ import annotations

import base64
import html
from typing import Any

#: rows of a Table shown inline; the rest is counted, not drawn
TABLE_ROWS_SHOWN = 20


def histogram_svg(counts: Any, edges: Any, width: int = 320, height: int = 100) -> str:
    """An inline SVG bar chart of a histogram (no plotting library)."""
    peak = float(max(counts.max(), 1))
    bar = width / len(counts)
    bars = "".join(
        f'<rect x="{index * bar:.2f}" y="{height - height * count / peak:.2f}" width="{max(bar - 1, 0.5):.2f}" '
        f'height="{height * count / peak:.2f}" fill="#4c78a8"/>'
        for index, count in enumerate(counts.tolist())
    )
    low, high = float(edges[0]), float(edges[-1])
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height + 16}" role="img">{bars}'
            f'<text x="0" y="{height + 13}" font-size="11">{low:.4g}</text>'
            f'<text x="{width}" y="{height + 13}" font-size="11" text-anchor="end">{high:.4g}</text></svg>')


def table_html(columns: list[str], rows: list[list[Any]]) -> str:
    """The first rows of a table as an escaped HTML table; media cells show what they are."""
    head = "".join(f"<th>{html.escape(column)}</th>" for column in columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(_cell_text(value))}</td>" for value in row) + "</tr>"
        for row in rows[:TABLE_ROWS_SHOWN]
    )
    more = f"<caption>{len(rows) - TABLE_ROWS_SHOWN:,} more rows</caption>" if len(rows) > TABLE_ROWS_SHOWN else ""
    return f"<table>{more}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _cell_text(value: Any) -> str:
    return "" if value is None else repr(value) if not isinstance(value, str) else value


def audio_html(wav: bytes, caption: str | None) -> str:
    source = "data:audio/wav;base64," + base64.b64encode(wav).decode("ascii")
    label = f"<div>{html.escape(caption)}</div>" if caption else ""
    return f'{label}<audio controls src="{source}"></audio>'
