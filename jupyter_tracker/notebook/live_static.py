"""The live charts without a widget frontend: plotly figures in a display handle, updated in place.

Where widgets cannot render (nbconvert, GitHub or nbviewer, VS Code without widgets, Colab
without its custom widget manager) the panel's charts are sent as one
``application/vnd.plotly.v1+json`` figure with a plain HTML+SVG fallback (it renders even where
scripts do not run), updated through an IPython display handle about once a second and a last
time at ``finish()``. Every line is downsampled to at most 1,500 points and numbers are written
with six significant digits, so a finished run adds well under 200 KB per chart to the notebook.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping
from typing import Any

import numpy as np
from numpy.typing import NDArray

from jupyter_tracker.downsample import DEFAULT_POINTS, min_max_indices
from jupyter_tracker.notebook.live_feed import FeedSnapshot, SeriesView
from jupyter_tracker.smoothing import tensorboard_ema

__all__ = ["PLOTLY_MIMETYPE", "StaticLiveView", "figure_dict", "static_bundle", "svg_html"]

PLOTLY_MIMETYPE = "application/vnd.plotly.v1+json"
DEFAULT_SMOOTHING = 0.6
_PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22")
_COLUMNS = 3
_ROW_HEIGHT = 230
_SVG_POINTS = 300


def group_of(name: str) -> str:
    """The chart group of a metric: the prefix before the first ``/`` (``charts`` without one)."""
    prefix, slash, _ = name.partition("/")
    return prefix if slash and prefix else "charts"


def ordered_metrics(snapshot: FeedSnapshot) -> list[SeriesView]:
    """Metrics in panel order: by group (``system`` last), then by name."""
    return sorted(
        (series for series in snapshot.series.values() if len(series)),
        key=lambda series: (group_of(series.name) == "system", group_of(series.name) == "charts", group_of(series.name), series.name),
    )


def _rounded(values: NDArray[np.float64]) -> list[float | None]:
    """Six significant digits; non-finite values become null (a gap in the line)."""
    return [float(f"{value:.6g}") if math.isfinite(value) else None for value in values.tolist()]


def _x_list(values: NDArray[np.float64]) -> list[float | int | None]:
    if values.size and np.all(np.isfinite(values)) and np.all(values == np.round(values)) and np.abs(values).max() < 2**53:
        return values.astype(np.int64).tolist()
    return _rounded(values)


def _points(series: SeriesView, points_per_line: int) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    indices = min_max_indices(series.value, points_per_line)
    x = series.runtime if series.time_axis else series.step  # system metrics: seconds since the start
    return x[indices], series.value[indices]


def figure_dict(
    snapshot: FeedSnapshot,
    smoothing: float = DEFAULT_SMOOTHING,
    points_per_line: int = DEFAULT_POINTS,
    title: str | None = None,
) -> dict[str, Any]:
    """One plotly figure (as JSON-ready dict) with a small subplot per metric: raw faint, smoothed bold.

    >>> from jupyter_tracker.notebook.live_feed import LiveFeed
    >>> feed = LiveFeed(); feed.observe(1, [("h", 0, 0.0, 0.0, {"loss": 1.0})])
    >>> len(figure_dict(feed.snapshot())["data"])
    2
    """
    metrics = ordered_metrics(snapshot)
    rows = max(1, math.ceil(len(metrics) / _COLUMNS))
    columns = min(_COLUMNS, max(1, len(metrics)))
    data: list[dict[str, Any]] = []
    layout: dict[str, Any] = {
        "height": rows * _ROW_HEIGHT + 40,
        "margin": {"l": 50, "r": 16, "t": 50 if title else 30, "b": 30},
        "showlegend": False,
        "hovermode": "x",
        "annotations": [],
        "template": {"layout": {"font": {"size": 11}}},
    }
    if title:
        layout["title"] = {"text": html.escape(title), "x": 0.01, "xanchor": "left", "font": {"size": 13}}
    gap_x, gap_y = 0.06, 0.5 / rows
    for position, series in enumerate(metrics):
        row, column = divmod(position, columns)
        axis = "" if position == 0 else str(position + 1)
        x_start = column / columns + (gap_x / 2 if column else 0)
        x_end = (column + 1) / columns - (gap_x / 2 if column < columns - 1 else 0)
        y_end = 1 - row / rows - (gap_y / 2 if row else 0)
        y_start = 1 - (row + 1) / rows + (gap_y / 2 if row < rows - 1 else 0)
        color = _PALETTE[position % len(_PALETTE)]
        x, y = _points(series, points_per_line)
        x_values = _x_list(x)
        data.append({"type": "scatter", "mode": "lines", "x": x_values, "y": _rounded(y), "xaxis": f"x{axis}",
                     "yaxis": f"y{axis}", "line": {"color": color, "width": 1}, "opacity": 0.3,
                     "hoverinfo": "skip", "name": f"{series.name} (raw)"})
        data.append({"type": "scatter", "mode": "lines", "x": x_values, "y": _rounded(tensorboard_ema(y, smoothing)),
                     "xaxis": f"x{axis}", "yaxis": f"y{axis}", "line": {"color": color, "width": 2},
                     "name": html.escape(series.name)})
        layout[f"xaxis{axis}"] = {"domain": [x_start, x_end], "anchor": f"y{axis}", "automargin": True}
        layout[f"yaxis{axis}"] = {"domain": [y_start, y_end], "anchor": f"x{axis}", "automargin": True}
        layout["annotations"].append({
            "text": html.escape(series.name), "showarrow": False, "xref": "paper", "yref": "paper",
            "x": x_start, "y": y_end, "xanchor": "left", "yanchor": "bottom", "font": {"size": 12},
        })
    return {"data": data, "layout": layout}


def _polyline(x: NDArray[np.float64], y: NDArray[np.float64], box: tuple[float, float, float, float],
              limits: tuple[float, float, float, float]) -> str:
    left, top, width, height = box
    x_min, x_max, y_min, y_max = limits
    x_span = (x_max - x_min) or 1.0
    y_span = (y_max - y_min) or 1.0
    finite = np.isfinite(y) & np.isfinite(x)
    screen_x = left + (x - x_min) / x_span * width
    screen_y = top + height - (y - y_min) / y_span * height
    segments: list[str] = []
    current: list[str] = []
    for keep, sx, sy in zip(finite.tolist(), screen_x.tolist(), screen_y.tolist(), strict=True):
        if keep:
            current.append(f"{sx:.1f},{sy:.1f}")
        elif current:
            segments.append(" ".join(current))
            current = []
    if current:
        segments.append(" ".join(current))
    return "".join(f'<polyline points="{segment}"/>' for segment in segments)


def svg_html(snapshot: FeedSnapshot, smoothing: float = DEFAULT_SMOOTHING, title: str | None = None) -> str:
    """The charts as inline SVG in HTML: no script, so it shows on GitHub, nbviewer and in emails."""
    charts: list[str] = []
    width, height = 300.0, 150.0
    box = (44.0, 22.0, width - 54.0, height - 40.0)
    for position, series in enumerate(ordered_metrics(snapshot)):
        x, y = _points(series, _SVG_POINTS)
        smoothed = tensorboard_ema(y, smoothing)
        finite = np.isfinite(y)
        if finite.any():
            y_min, y_max = float(y[finite].min()), float(y[finite].max())
        else:
            y_min, y_max = 0.0, 1.0
        x_min, x_max = (float(x.min()), float(x.max())) if x.size else (0.0, 1.0)
        limits = (x_min, x_max, y_min, y_max)
        color = _PALETTE[position % len(_PALETTE)]
        name = html.escape(series.name)
        charts.append(
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
            f'viewBox="0 0 {width:.0f} {height:.0f}" role="img" aria-label="{name}" '
            'style="font:11px sans-serif;margin:2px">'
            f'<text x="4" y="14" font-weight="600" fill="currentColor">{name}</text>'
            f'<text x="4" y="{box[1] + 8:.0f}" fill="gray">{y_max:.4g}</text>'
            f'<text x="4" y="{box[1] + box[3]:.0f}" fill="gray">{y_min:.4g}</text>'
            f'<text x="{box[0]:.0f}" y="{height - 4:.0f}" fill="gray">{x_min:.6g}</text>'
            f'<text x="{width - 10:.0f}" y="{height - 4:.0f}" fill="gray" text-anchor="end">{x_max:.6g}</text>'
            f'<rect x="{box[0]:.0f}" y="{box[1]:.0f}" width="{box[2]:.0f}" height="{box[3]:.0f}" fill="none" '
            'stroke="gray" stroke-opacity="0.3"/>'
            f'<g fill="none" stroke="{color}" stroke-width="1" stroke-opacity="0.35">{_polyline(x, y, box, limits)}</g>'
            f'<g fill="none" stroke="{color}" stroke-width="2">{_polyline(x, smoothed, box, limits)}</g>'
            "</svg>"
        )
    heading = f"<div style=\"font:600 13px sans-serif\">{html.escape(title)}</div>" if title else ""
    body = "".join(charts) or '<div style="font:12px sans-serif;color:gray">no metrics logged yet</div>'
    return f'<div class="jt-live-static">{heading}<div style="display:flex;flex-wrap:wrap">{body}</div></div>'


def static_bundle(
    snapshot: FeedSnapshot,
    header: Mapping[str, Any] | None = None,
    smoothing: float = DEFAULT_SMOOTHING,
    points_per_line: int = DEFAULT_POINTS,
) -> dict[str, Any]:
    """The mimebundle of the static charts: plotly JSON, HTML with SVG, and a line of text."""
    header = header or {}
    title = " · ".join(str(part) for part in (header.get("name"), header.get("project"), header.get("state")) if part)
    points = sum(len(series) for series in snapshot.series.values())
    return {
        PLOTLY_MIMETYPE: figure_dict(snapshot, smoothing, points_per_line, title or None),
        "text/html": svg_html(snapshot, smoothing, title or None),
        "text/plain": f"<live charts: {title or 'run'}, {len(snapshot.series)} metrics, {points:,} points>",
    }


class StaticLiveView:
    """Shows the static charts under the cell and updates them in place through a display handle.

    Never clears the output: the user's own prints and progress bars in the cell stay.
    """

    def __init__(self, smoothing: float = DEFAULT_SMOOTHING, points_per_line: int = DEFAULT_POINTS) -> None:
        self.smoothing = smoothing
        self.points_per_line = points_per_line
        self.handle: Any = None
        self.updates = 0

    def bundle(self, snapshot: FeedSnapshot, header: Mapping[str, Any] | None = None) -> dict[str, Any]:
        return static_bundle(snapshot, header, self.smoothing, self.points_per_line)

    def show(self, snapshot: FeedSnapshot, header: Mapping[str, Any] | None = None) -> None:
        from IPython.display import display

        self.handle = display(self.bundle(snapshot, header), raw=True, display_id=True)

    def update(self, snapshot: FeedSnapshot, header: Mapping[str, Any] | None = None) -> None:
        if self.handle is None:
            self.show(snapshot, header)
            return
        self.handle.update(self.bundle(snapshot, header), raw=True)
        self.updates += 1
