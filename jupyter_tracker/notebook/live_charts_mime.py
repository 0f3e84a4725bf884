"""The live panel's final charts as ``application/vnd.jupyter-tracker.charts+json``: kernel-free smoothing in JupyterLab.

A notebook output that carries this mimetype beside the plotly figure and the HTML+SVG charts is
drawn, in JupyterLab or Notebook 7 with this package's labextension, by the extension's MIME
renderer (its rank beats plotly's and HTML's), with a smoothing slider, x-axis choice and log
scale that work from the notebook alone: no kernel, no server, after the run's process is gone.
Frontends without the extension (nbconvert, GitHub, nbviewer) do not know the mimetype and keep
showing the HTML+SVG charts or the plotly figure.

The payload has the shape of the run page's (``jupyter_tracker.lab.run_views.run_page``), built
from the live panel's columns rather than from the store: each charted metric is its min/max
envelope of at most :data:`CHART_POINTS` points plus the smoothing summary of the FULL series
(so the browser's EMA is the one of every point, at any weight), numbers rounded to what a chart
shows. Only the first :data:`~jupyter_tracker.notebook.live_static.MAX_CHARTS` metrics in panel
order are charted; the payload's summary lists every metric's last value, so a run with more
metrics keeps the table the HTML shows where the renderer is preferred. That keeps a chart under
~35 KB of JSON and a 10,000-metric run well under the saved notebook's 2 MB.
"""

from __future__ import annotations

import base64
import math
import time
from collections.abc import Mapping
from typing import Any

import numpy as np
from numpy.typing import NDArray

from jupyter_tracker.downsample import min_max_summary
from jupyter_tracker.lab.charts_mime import CHARTS_MIMETYPE, charts_payload
from jupyter_tracker.lab.run_views import ROW_AXES
from jupyter_tracker.notebook.live_feed import SeriesView

__all__ = ["CHARTS_MIMETYPE", "CHART_POINTS", "charts_mime_payload", "metric_payload"]

#: points of a metric's drawn envelope in the saved payload (the smoothing summary covers all points)
CHART_POINTS = 400
#: the live panel's x-axis choices (widget ``x_axis``) as the run page's axis names
_PANEL_AXES = {"step": "_step", "relative": "_runtime", "time": "_runtime", "wall": "_timestamp"}


def _numbers(values: NDArray[np.float64], digits: str) -> list[Any]:
    """Values as short JSON numbers (``digits`` a format spec); non-finite ones as the strings the renderer reads."""
    out: list[Any] = []
    for value in values.tolist():
        if math.isfinite(value):
            rounded = float(format(value, digits))
            out.append(int(rounded) if rounded.is_integer() and abs(rounded) < 2**53 else rounded)
        else:
            out.append("NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity"))
    return out


def metric_payload(series: SeriesView, points: int = CHART_POINTS) -> dict[str, Any]:
    """One metric's chart data: its min/max envelope (``points`` at most) on each x-axis and its smoothing summary."""
    values = np.asarray(series.value, dtype=np.float64)
    indices, summary = min_max_summary(values, points)
    x: dict[str, list[Any]] = {
        "_step": _numbers(np.asarray(series.step)[indices], ".15g"),
        "_runtime": _numbers(np.asarray(series.runtime)[indices], ".6g"),
        "_timestamp": _numbers(np.round(np.asarray(series.wall_time)[indices], 3), ".15g"),
    }
    if series.step_metric and series.step_metric in series.axes:
        x[series.step_metric] = _numbers(np.asarray(series.axes[series.step_metric])[indices], ".10g")
    return {
        "points": int(max(series.logged, values.size)),
        "x": x,
        "y": _numbers(values[indices], ".6g"),
        "summary": base64.b64encode(summary.to_bytes()).decode("ascii"),
    }


def _last_value(series: SeriesView) -> Any:
    return _numbers(np.asarray(series.value[-1:], dtype=np.float64), ".6g")[0]


def charts_mime_payload(
    metrics: list[SeriesView],
    charted: int,
    header: Mapping[str, Any] | None = None,
    smoothing: float = 0.6,
    x_axis: str = "auto",
    start_time: float | None = None,
) -> dict[str, Any]:
    """The mimetype's JSON for ``metrics`` (in panel order): charts for the first ``charted``, last values of all.

    ``header`` is the panel's run header (name, id, project, state); ``smoothing`` and ``x_axis``
    (the panel's choices) are where the renderer's slider and axis menu start.
    """
    header = dict(header or {})
    charts = {series.name: metric_payload(series) for series in metrics[:charted]}
    step_metrics = sorted({series.step_metric for series in metrics[:charted]
                           if series.step_metric and series.step_metric in series.axes})
    axes = [*ROW_AXES, *(name for name in step_metrics if name not in ROW_AXES)]
    summary = {series.name: _last_value(series) for series in metrics if len(series)}
    runtime = max((float(series.runtime[-1]) for series in metrics if len(series) and math.isfinite(series.runtime[-1])),
                  default=None)
    page: dict[str, Any] = {
        "run": {
            "id": str(header.get("id") or ""),
            "name": str(header.get("name") or header.get("id") or "run"),
            "project": str(header.get("project") or ""),
            "entity": None,
            "state": str(header.get("state") or "finished"),
            "group": None,
            "tags": [],
            "created": start_time,
            "updated": None,
            "runtime": runtime,
            "summary": {},
            "now": time.time(),
        },
        "config": {},
        "summary": summary,
        "notes": (f"{len(metrics):,} metrics: charts for the first {charted:,}, the last value of every one below"
                  if len(metrics) > charted else None),
        "metrics": charts,
        "axes": axes,
    }
    axis = _PANEL_AXES.get(x_axis, "_step")
    return charts_payload(page, min(max(float(smoothing), 0.0), 0.999), axis)

