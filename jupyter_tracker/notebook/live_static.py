"""The live charts without a widget frontend: plotly figures and HTML+SVG in a display handle.

Where widgets cannot render (nbconvert, GitHub or nbviewer, VS Code without widgets, Colab
without its custom widget manager, a notebook reopened without its kernel) the panel's charts
are a plotly figure (``application/vnd.plotly.v1+json``) with a plain HTML+SVG fallback that
shows even where scripts do not run. While the run goes on, the display handle is updated with
the HTML+SVG charts only: JupyterLab's plotly renderer draws a figure once and ignores later
updates of the same output, whereas HTML is redrawn on every update. At ``finish()`` the final
bundle adds the plotly figure (interactive where plotly renders).

Each chart draws the raw line faint and the smoothed line bold. The smoothed line is
``tensorboard_ema`` of the full series, read at the points kept by min/max downsampling, so
downsampling never biases it. The x-axis is the step metric ``define_metric`` named for the
metric, else the step (or what the user picked in the panel: step, time since the start, wall
time); system metrics are drawn against time. Names are shown as typed:
plotly reads a small HTML subset in text, so names are escaped before they reach a figure.
At most :data:`MAX_CHARTS` charts are drawn (the first in panel order); a run with more
metrics gets a table of every metric's last value instead, so a 10,000-metric run stays well
under 2 MB in the saved notebook.
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
from numpy.typing import NDArray

from jupyter_tracker.downsample import DEFAULT_POINTS, min_max_indices
from jupyter_tracker.notebook.live_feed import FeedSnapshot, SeriesView
from jupyter_tracker.smoothing import tensorboard_ema

__all__ = [
    "IncrementalEma",
    "MAX_CHARTS",
    "OUTPUT_MARKER",
    "PLOTLY_MIMETYPE",
    "StaticLiveView",
    "color_for",
    "figure_dict",
    "format_duration",
    "group_of",
    "live_bundle",
    "natural_key",
    "ordered_metrics",
    "static_bundle",
    "svg_html",
]

PLOTLY_MIMETYPE = "application/vnd.plotly.v1+json"
DEFAULT_SMOOTHING = 0.6
#: charts drawn in one static view; further metrics are listed in the table of last values
MAX_CHARTS = 24
#: points of all lines of one plotly figure together: fewer points per line when there are many charts
FIGURE_POINT_BUDGET = 36_000
#: the output metadata key that marks a display as this library's live charts (saved_notebook reads it)
OUTPUT_MARKER = "jupyter_tracker"
#: the live panel's palette (static/live_panel.js): a metric has the same colour in both views
_PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22",
            "#7f7f7f")
_COLUMNS = 3
_ROW_HEIGHT = 230
_SVG_POINTS = 300
_TIME_AXIS = "time since start"
_WALL_AXIS = "wall time"


# names and order --------------------------------------------------------------------------------
def group_of(name: str) -> str:
    """The chart group of a metric: the prefix before the first ``/`` outside ``<...>`` (``charts`` without one).

    >>> group_of("train/loss"), group_of("<i>m</i>"), group_of("a<b/>c/d")
    ('train', 'charts', 'a<b/>c')
    """
    depth = 0
    for position, character in enumerate(name):
        if character == "<":
            depth += 1
        elif character == ">" and depth:
            depth -= 1
        elif character == "/" and not depth:
            return name[:position] if position else "charts"
    return "charts"


def natural_key(name: str) -> tuple[Any, ...]:
    """Sort key that orders digit runs by number: ``metric_2`` before ``metric_10``.

    >>> sorted(["metric_10", "metric_2", "Metric_1"], key=natural_key)
    ['Metric_1', 'metric_2', 'metric_10']
    """
    parts = re.split(r"(\d+)", name)
    return (tuple((1, int(part), "") if index % 2 else (0, 0, part.casefold()) for index, part in enumerate(parts)), name)


def ordered_metrics(snapshot: FeedSnapshot) -> list[SeriesView]:
    """Metrics in panel order: by group (named groups, then ``charts``, ``system`` last), then by name, naturally."""

    def key(series: SeriesView) -> tuple[Any, ...]:
        group = group_of(series.name)
        return (group == "system", group == "charts", natural_key(group), natural_key(series.name))

    return sorted((series for series in snapshot.series.values() if len(series)), key=key)


def color_for(name: str) -> str:
    """A metric's colour, fixed by its name (FNV-1a over UTF-16 code units, as ``colorFor`` in live_panel.js).

    >>> color_for("train/loss") == color_for("train/loss")
    True
    """
    value = 0x811C9DC5
    encoded = name.encode("utf-16-le", "surrogatepass")
    for index in range(0, len(encoded), 2):
        value ^= encoded[index] | encoded[index + 1] << 8
        value = (value * 0x01000193) & 0xFFFFFFFF
    return _PALETTE[value % len(_PALETTE)]


def _plotly_text(text: str) -> str:
    """``text`` as plotly shows it literally: its HTML subset (``<i>``, ``<a href>``, ``<br>``) escaped."""
    return html.escape(text, quote=False)


# numbers --------------------------------------------------------------------------------------------
def format_duration(seconds: float) -> str:
    """A time since the start with its unit: ``15.1 s``, ``2 min 05 s``, ``1 h 02 min``.

    >>> format_duration(15.0896), format_duration(125.4), format_duration(3725)
    ('15.1 s', '2 min 05 s', '1 h 02 min')
    """
    if not math.isfinite(seconds):
        return str(seconds)
    sign = "-" if seconds < 0 else ""
    seconds = abs(seconds)
    if seconds < 60:
        return f"{sign}{seconds:.3g} s" if seconds < 10 else f"{sign}{seconds:.1f} s"
    if seconds < 3600:
        minutes, rest = divmod(int(round(seconds)), 60)
        return f"{sign}{minutes} min {rest:02d} s"
    hours, rest = divmod(int(round(seconds)), 3600)
    return f"{sign}{hours} h {rest // 60:02d} min"


def _format_x(value: float, kind: str) -> str:
    if kind == "time":
        return format_duration(value)
    if kind == "wall":
        return datetime.fromtimestamp(value).strftime("%H:%M:%S") if math.isfinite(value) else str(value)
    if math.isfinite(value) and value == round(value) and abs(value) < 1e15:
        return f"{int(round(value)):,}"
    return f"{value:.4g}"


def _rounded(values: NDArray[np.float64]) -> list[float | None]:
    """Six significant digits; non-finite values become null (a gap in the line)."""
    return [float(f"{value:.6g}") if math.isfinite(value) else None for value in values.tolist()]


def _x_list(values: NDArray[np.float64]) -> list[float | int | None]:
    if values.size and np.all(np.isfinite(values)) and np.all(values == np.round(values)) and np.abs(values).max() < 2**53:
        return values.astype(np.int64).tolist()
    return _rounded(values)


# smoothing -------------------------------------------------------------------------------------------
class IncrementalEma:
    """``tensorboard_ema`` of growing series, each point smoothed once: a refresh smooths only new points.

    The same loop, in the same order, as :func:`tensorboard_ema`, so the numbers are identical;
    a series that changed other than by growing (thinned, restarted) is smoothed again in full.

    >>> ema = IncrementalEma(0.5)
    >>> ema("loss", np.array([1.0, 2.0])).round(6).tolist(), ema("loss", np.array([1.0, 2.0, 3.0])).round(6).tolist()
    ([1.0, 1.666667], [1.0, 1.666667, 2.428571])
    """

    def __init__(self, weight: float) -> None:
        tensorboard_ema(np.zeros(1), weight)  # the same check of the weight
        self.weight = float(weight)
        #: name -> (points seen, first and last value seen, EMA state, all equal so far, smoothed so far)
        self._state: dict[str, tuple[int, bytes, float, int, bool, NDArray[np.float64]]] = {}

    def __call__(self, name: str, values: NDArray[np.float64]) -> NDArray[np.float64]:
        size = int(values.size)
        state = self._state.get(name)
        if size == 0:
            return values.copy()
        ends = values[[0, size - 1]].tobytes()
        if state is not None and (state[0] > size or values[[0, state[0] - 1]].tobytes() != state[1]):
            state = None
        if state is None:
            seen, last, count, all_equal, smoothed = 0, 0.0, 0, True, np.empty(0)
        else:
            seen, _, last, count, all_equal, smoothed = state
        if seen == size:
            new_part = np.empty(0)
        else:
            points = values[seen:].tolist()
            first = float(values[0])
            new = list(points)
            weight, complement, isfinite = self.weight, 1.0 - self.weight, math.isfinite
            for index, point in enumerate(points):
                if point != first:
                    all_equal = False
                if not isfinite(point):
                    continue
                last = last * weight + complement * point
                count += 1
                new[index] = last / (1.0 - weight**count)
            new_part = np.asarray(new, dtype=np.float64)
        smoothed = np.concatenate((smoothed, new_part)) if new_part.size else smoothed
        self._state[name] = (size, ends, last, count, all_equal, smoothed)
        return values.copy() if all_equal else smoothed


Smoothing = float | IncrementalEma


def _smoother(smoothing: Smoothing) -> IncrementalEma:
    return smoothing if isinstance(smoothing, IncrementalEma) else IncrementalEma(smoothing)


# one chart's points ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ChartLine:
    """What one chart draws: x, raw y and smoothed y at the kept points, and the x-axis's name."""

    name: str
    x: NDArray[np.float64]
    raw: NDArray[np.float64]
    smoothed: NDArray[np.float64]
    x_title: str
    #: ``step`` (steps or a step metric), ``time`` (seconds since the start) or ``wall`` (Unix time)
    kind: str

    @property
    def finite_points(self) -> int:
        return int(np.count_nonzero(np.isfinite(self.raw) & np.isfinite(self.x)))


def chart_line(series: SeriesView, smoothing: Smoothing, points_per_line: int, x_axis: str = "auto") -> ChartLine:
    """The x-axis, smoothing of the full series, then min/max downsampling.

    ``x_axis`` as in the live panel's menu: ``auto`` (the step metric ``define_metric`` gave the
    metric, else the step), ``step``, ``relative`` (seconds since the start), ``wall`` or the
    name of a step metric. System metrics have no step: they are drawn against time.
    """
    kind = "step"
    if x_axis == "wall":
        x, title, kind = series.wall_time, _WALL_AXIS, "wall"
    elif series.time_axis or x_axis == "relative":
        x, title, kind = series.runtime, _TIME_AXIS, "time"
    elif x_axis in series.axes:
        x, title = series.axes[x_axis], x_axis
    elif x_axis == "auto" and series.step_metric and series.step_metric in series.axes:
        x, title = series.axes[series.step_metric], series.step_metric
    else:
        x, title = series.step, "step"
    values = series.value
    known = np.isfinite(x)
    if not known.all():  # points logged before the step metric had a value have no place on its axis
        x, values = x[known], values[known]
    smoothed = _smoother(smoothing)(f"{series.name}\0{title}", values)
    indices = min_max_indices(values, max(4, points_per_line))
    return ChartLine(series.name, x[indices], values[indices], smoothed[indices], title, kind)


def _log_axis(values: NDArray[np.float64]) -> dict[str, Any]:
    """A log y-axis labelled at decades when the data spans two or more, else at 1, 2 and 5."""
    positive = values[np.isfinite(values) & (values > 0)]
    decades = float(np.log10(positive.max() / positive.min())) if positive.size else 0.0
    return {"type": "log", "dtick": 1 if decades >= 2 else "D2", "exponentformat": "power" if decades >= 4 else "none"}


# plotly figure ----------------------------------------------------------------------------------------
def figure_dict(
    snapshot: FeedSnapshot,
    smoothing: Smoothing = DEFAULT_SMOOTHING,
    points_per_line: int = DEFAULT_POINTS,
    title: str | None = None,
    log_scale: bool = False,
    x_axis: str = "auto",
) -> dict[str, Any]:
    """One plotly figure (as JSON-ready dict) with a small subplot per metric: raw faint, smoothed bold.

    At most :data:`MAX_CHARTS` subplots; a one-point line is drawn as a marker.

    >>> from jupyter_tracker.notebook.live_feed import LiveFeed
    >>> feed = LiveFeed(); feed.observe(1, [("h", 0, 0.0, 0.0, {"loss": 1.0})])
    >>> len(figure_dict(feed.snapshot())["data"])
    2
    """
    metrics = ordered_metrics(snapshot)[:MAX_CHARTS]
    points_per_line = min(points_per_line, max(200, FIGURE_POINT_BUDGET // max(1, len(metrics))))
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
        layout["title"] = {"text": _plotly_text(title), "x": 0.01, "xanchor": "left", "font": {"size": 13}}
    gap_x, gap_y = 0.06, 0.5 / rows
    for position, series in enumerate(metrics):
        line = chart_line(series, smoothing, points_per_line, x_axis)
        row, column = divmod(position, columns)
        axis = "" if position == 0 else str(position + 1)
        x_start = column / columns + (gap_x / 2 if column else 0)
        x_end = (column + 1) / columns - (gap_x / 2 if column < columns - 1 else 0)
        y_end = 1 - row / rows - (gap_y / 2 if row else 0)
        y_start = 1 - (row + 1) / rows + (gap_y / 2 if row < rows - 1 else 0)
        color = color_for(series.name)
        x_values = _x_list(np.round(line.x * 1000.0) if line.kind == "wall" else line.x)  # dates: ms since 1970
        shown_name = _plotly_text(series.name)
        mode = "lines+markers" if line.finite_points == 1 else "lines"
        data.append({"type": "scatter", "mode": mode, "x": x_values, "y": _rounded(line.raw), "xaxis": f"x{axis}",
                     "yaxis": f"y{axis}", "line": {"color": color, "width": 1}, "marker": {"color": color, "size": 4},
                     "opacity": 0.3, "hoverinfo": "skip", "name": f"{shown_name} (raw)"})
        data.append({"type": "scatter", "mode": mode, "x": x_values, "y": _rounded(line.smoothed),
                     "xaxis": f"x{axis}", "yaxis": f"y{axis}", "line": {"color": color, "width": 2},
                     "marker": {"color": color, "size": 8}, "name": shown_name})
        axis_layout: dict[str, Any] = {"domain": [x_start, x_end], "anchor": f"y{axis}", "automargin": True}
        if line.kind == "time":
            axis_layout["ticksuffix"] = " s"
        elif line.kind == "wall":
            axis_layout["type"] = "date"
        if line.x_title != "step":
            axis_layout["title"] = {"text": _plotly_text(line.x_title), "font": {"size": 10}, "standoff": 2}
        layout[f"xaxis{axis}"] = axis_layout
        y_axis: dict[str, Any] = {"domain": [y_start, y_end], "anchor": f"x{axis}", "automargin": True}
        if log_scale:
            y_axis.update(_log_axis(line.raw))
        layout[f"yaxis{axis}"] = y_axis
        layout["annotations"].append({
            "text": shown_name, "showarrow": False, "xref": "paper", "yref": "paper",
            "x": x_start, "y": y_end, "xanchor": "left", "yanchor": "bottom", "font": {"size": 12},
        })
    return {"data": data, "layout": layout}


# HTML with SVG ----------------------------------------------------------------------------------------
def _screen(x: NDArray[np.float64], y: NDArray[np.float64], box: tuple[float, float, float, float],
            limits: tuple[float, float, float, float]) -> tuple[NDArray[np.bool_], list[float], list[float]]:
    left, top, width, height = box
    x_min, x_max, y_min, y_max = limits
    x_span = (x_max - x_min) or 1.0
    y_span = (y_max - y_min) or 1.0
    finite = np.isfinite(y) & np.isfinite(x)
    # a single x or y value sits in the middle of the box
    screen_x = left + (x - x_min) / x_span * width if x_max > x_min else np.full(x.shape, left + width / 2)
    screen_y = top + height - (y - y_min) / y_span * height if y_max > y_min else np.full(y.shape, top + height / 2)
    return finite, screen_x.tolist(), screen_y.tolist()


def _polyline(x: NDArray[np.float64], y: NDArray[np.float64], box: tuple[float, float, float, float],
              limits: tuple[float, float, float, float], marker_radius: float = 0.0) -> str:
    """SVG polylines of the finite runs of ``(x, y)``; a run of one point is a circle of ``marker_radius``."""
    finite, screen_x, screen_y = _screen(x, y, box, limits)
    segments: list[list[str]] = []
    current: list[str] = []
    for keep, sx, sy in zip(finite.tolist(), screen_x, screen_y, strict=True):
        if keep:
            current.append(f"{sx:.1f},{sy:.1f}")
        elif current:
            segments.append(current)
            current = []
    if current:
        segments.append(current)
    shapes = []
    for segment in segments:
        if len(segment) > 1:
            shapes.append(f'<polyline points="{" ".join(segment)}"/>')
        elif marker_radius:
            cx, cy = segment[0].split(",")
            shapes.append(f'<circle cx="{cx}" cy="{cy}" r="{marker_radius:g}" fill="currentColor" stroke="none"/>')
    return "".join(shapes)


def _log10(values: NDArray[np.float64]) -> NDArray[np.float64]:
    """log10 of the positive values; the rest become gaps (as on plotly's log axes)."""
    positive = np.isfinite(values) & (values > 0)
    return np.log10(values, out=np.full(values.shape, np.nan), where=positive)


def _svg_chart(line: ChartLine, color: str, log_scale: bool = False) -> str:
    width, height = 300.0, 160.0
    box = (52.0, 22.0, width - 62.0, 104.0)
    left, top, box_width, box_height = box
    raw, smoothed = (_log10(line.raw), _log10(line.smoothed)) if log_scale else (line.raw, line.smoothed)
    finite_y = raw[np.isfinite(raw)]
    low, high = (float(finite_y.min()), float(finite_y.max())) if finite_y.size else (0.0, 1.0)
    # labels in the data's units; on a log scale the box spans log10 of them
    y_min, y_max = (10.0**low, 10.0**high) if log_scale and finite_y.size else (low, high)
    finite_x = line.x[np.isfinite(line.x)]
    x_min, x_max = (float(finite_x.min()), float(finite_x.max())) if finite_x.size else (0.0, 1.0)
    limits = (x_min, x_max, low, high)
    name = html.escape(line.name)
    gray = 'fill="gray"'
    if y_max > y_min:
        y_labels = (f'<text x="{left - 4:.0f}" y="{top + 8:.0f}" {gray} text-anchor="end">{y_max:.4g}</text>'
                    f'<text x="{left - 4:.0f}" y="{top + box_height:.0f}" {gray} text-anchor="end">{y_min:.4g}</text>')
    else:
        y_labels = f'<text x="{left - 4:.0f}" y="{top + box_height / 2 + 4:.0f}" {gray} text-anchor="end">{y_min:.4g}</text>'
    ticks_y = top + box_height + 14
    if x_max > x_min:
        x_labels = (f'<text x="{left:.0f}" y="{ticks_y:.0f}" {gray}>{html.escape(_format_x(x_min, line.kind))}</text>'
                    f'<text x="{left + box_width:.0f}" y="{ticks_y:.0f}" {gray} text-anchor="end">'
                    f'{html.escape(_format_x(x_max, line.kind))}</text>')
    else:
        x_labels = (f'<text x="{left + box_width / 2:.0f}" y="{ticks_y:.0f}" {gray} text-anchor="middle">'
                    f'{html.escape(_format_x(x_min, line.kind))}</text>')
    log_note = f'<text x="{left + box_width:.0f}" y="14" {gray} text-anchor="end">log scale</text>' if log_scale else ""
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
        f'viewBox="0 0 {width:.0f} {height:.0f}" role="img" aria-label="{name}" '
        'style="font:11px sans-serif;margin:2px">'
        f'<title>{name}</title>'
        f'<text x="4" y="14" font-weight="600" fill="currentColor">{name}</text>'
        f'{y_labels}{x_labels}'
        f'<text x="{left + box_width / 2:.0f}" y="{height - 4:.0f}" {gray} text-anchor="middle">'
        f'{html.escape(line.x_title)}</text>{log_note}'
        f'<rect x="{left:.0f}" y="{top:.0f}" width="{box_width:.0f}" height="{box_height:.0f}" fill="none" '
        'stroke="gray" stroke-opacity="0.3"/>'
        f'<g fill="none" stroke="{color}" stroke-width="1" stroke-opacity="0.35">'
        f'{_polyline(line.x, raw, box, limits)}</g>'
        f'<g fill="none" stroke="{color}" stroke-width="2" color="{color}">'
        f'{_polyline(line.x, smoothed, box, limits, marker_radius=3.5)}</g>'
        "</svg>"
    )


def _last_values_table(metrics: list[SeriesView], charted: int) -> str:
    """Every metric's last value, minimum and point count: what a run with more than MAX_CHARTS metrics shows."""
    rows = []
    for series in metrics:
        finite = series.value[np.isfinite(series.value)]
        low = f"{float(finite.min()):.4g}" if finite.size else ""
        rows.append(f"<tr><td>{html.escape(series.name)}</td><td>{float(series.value[-1]):.6g}</td><td>{low}</td>"
                    f"<td>{max(series.logged, len(series)):,}</td></tr>")
    return (
        f'<details class="jt-live-summary"><summary style="font:12px sans-serif">{len(metrics):,} metrics '
        f'(charts for the first {charted:,}): last values</summary>'
        '<table style="font:11px monospace;border-collapse:collapse"><thead><tr><th>metric</th><th>last</th>'
        f'<th>min</th><th>points</th></tr></thead><tbody>{"".join(rows)}</tbody></table></details>'
    )


def svg_html(snapshot: FeedSnapshot, smoothing: Smoothing = DEFAULT_SMOOTHING, title: str | None = None,
             x_axis: str = "auto", table: bool = True, log_scale: bool = False) -> str:
    """The charts as inline SVG in HTML: no script, so it shows on GitHub, nbviewer and in emails.

    The first :data:`MAX_CHARTS` metrics get a chart; a run with more also gets a table of every
    metric's last value (with ``table``; else one line saying how many are not charted).
    """
    metrics = ordered_metrics(snapshot)
    charts = [_svg_chart(chart_line(series, smoothing, _SVG_POINTS, x_axis), color_for(series.name), log_scale)
              for series in metrics[:MAX_CHARTS]]
    heading = f"<div style=\"font:600 13px sans-serif\">{html.escape(title)}</div>" if title else ""
    body = "".join(charts) or '<div style="font:12px sans-serif;color:gray">no metrics logged yet</div>'
    more = ""
    if len(metrics) > MAX_CHARTS:
        more = _last_values_table(metrics, MAX_CHARTS) if table else (
            f'<div style="font:12px sans-serif;color:gray">{len(metrics) - MAX_CHARTS:,} more metrics: '
            "a table of their last values comes at finish()</div>")
    return f'<div class="jt-live-static">{heading}<div style="display:flex;flex-wrap:wrap">{body}</div>{more}</div>'


# the bundle -----------------------------------------------------------------------------------------
def _title(header: Mapping[str, Any]) -> str:
    return " · ".join(str(part) for part in (header.get("name"), header.get("project"), header.get("state")) if part)


def static_bundle(
    snapshot: FeedSnapshot,
    header: Mapping[str, Any] | None = None,
    smoothing: Smoothing = DEFAULT_SMOOTHING,
    points_per_line: int = DEFAULT_POINTS,
    log_scale: bool = False,
    x_axis: str = "auto",
) -> dict[str, Any]:
    """The mimebundle of the final static charts: the charts mimetype, plotly JSON, HTML with SVG, and a line of text.

    JupyterLab and Notebook 7 with this package's labextension draw the charts mimetype
    (``live_charts_mime``: smoothing slider without a kernel); without it they draw the plotly
    figure; nbconvert, GitHub and nbviewer show the HTML with SVG. A run with more than
    :data:`MAX_CHARTS` metrics gets no plotly figure: frontends prefer it to the HTML, which
    holds the table of every metric's last value (the charts mimetype lists them too).
    """
    from jupyter_tracker.notebook.live_charts_mime import CHARTS_MIMETYPE, charts_mime_payload

    smoothing = _smoother(smoothing)  # the plotly figure and the SVG charts smooth each series once
    bundle = live_bundle(snapshot, header, smoothing, x_axis, table=True, log_scale=log_scale)
    metrics = ordered_metrics(snapshot)
    if len(metrics) <= MAX_CHARTS:
        bundle[PLOTLY_MIMETYPE] = figure_dict(snapshot, smoothing, points_per_line, _title(header or {}) or None,
                                              log_scale, x_axis)
    bundle[CHARTS_MIMETYPE] = charts_mime_payload(metrics, MAX_CHARTS, header, smoothing.weight, x_axis,
                                                  snapshot.start_time)
    return bundle


def live_bundle(snapshot: FeedSnapshot, header: Mapping[str, Any] | None = None,
                smoothing: Smoothing = DEFAULT_SMOOTHING, x_axis: str = "auto", table: bool = False,
                log_scale: bool = False) -> dict[str, Any]:
    """The mimebundle of a refresh during the run: HTML with SVG (redrawn on each update everywhere) and text.

    A refresh leaves out the table of last values of a run with many metrics (``table``): it
    comes with the final bundle.
    """
    title = _title(header or {})
    points = sum(len(series) for series in snapshot.series.values())
    return {
        "text/html": svg_html(snapshot, smoothing, title or None, x_axis, table, log_scale),
        "text/plain": f"<live charts: {title or 'run'}, {len(snapshot.series)} metrics, {points:,} points>",
    }


class StaticLiveView:
    """Shows the static charts under the cell and updates them in place through a display handle.

    Never clears the output: the user's own prints and progress bars in the cell stay.
    """

    def __init__(self, smoothing: float = DEFAULT_SMOOTHING, points_per_line: int = DEFAULT_POINTS) -> None:
        self.smoothing = smoothing
        #: smooths each point once over the run's refreshes (a full-series EMA costs ~45 ms per 100,000 points)
        self.smoother = IncrementalEma(smoothing)
        self.points_per_line = points_per_line
        self.handle: Any = None
        self.updates = 0

    def bundle(self, snapshot: FeedSnapshot, header: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The final bundle (plotly figure included)."""
        return static_bundle(snapshot, header, self.smoother, self.points_per_line)

    def show(self, snapshot: FeedSnapshot, header: Mapping[str, Any] | None = None) -> None:
        from IPython.display import display

        self.handle = display(live_bundle(snapshot, header, self.smoother), raw=True, display_id=True,
                              metadata={OUTPUT_MARKER: {"view": "live-static"}})

    def update(self, snapshot: FeedSnapshot, header: Mapping[str, Any] | None = None) -> None:
        if self.handle is None:
            self.show(snapshot, header)
            return
        self.handle.update(live_bundle(snapshot, header, self.smoother), raw=True,
                           metadata={OUTPUT_MARKER: {"view": "live-static"}})
        self.updates += 1
