"""One metric of several runs in one chart: which runs have it, against which x-axis, in the page's theme.

The x-axis defaults to the ``define_metric(..., step_metric=...)`` of the metric (the one most of
the compared runs define), else the step. A run without points of the metric (or of the x-axis)
is named in the chart's subtitle and in :attr:`Comparison.message`, never silently left out. The
chart's colours come from the notebook's theme as the browser reports it (:class:`ChartTheme`),
so a dark JupyterLab gets a dark chart.
"""

from __future__ import annotations

import dataclasses
import html
import re
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

#: at most this many runs are drawn in one chart (the rest are named as left out)
MAX_COMPARED = 20
STEP = "_step"
RUNTIME = "_runtime"
#: the x-axes every run has, with their labels
BUILTIN_AXES = {STEP: "step", RUNTIME: "time (s)"}
_NAMES_IN_MESSAGE = 8


@dataclasses.dataclass(frozen=True)
class MetricPoints:
    """The numeric points of one metric of one run against one x-axis."""

    x: list[float]
    y: list[float]
    x_axis: str
    #: the step metric ``define_metric`` gave this metric in this run, if any
    step_metric: str | None = None


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def read_metric(run_dir: str | Path, metric: str, x_axis: str | None = None) -> MetricPoints:
    """Points of ``metric`` from a run log, against ``x_axis`` (default: its step metric, else the step).

    A step metric not logged in a row takes its last logged value, as wandb's ``step_sync`` does.
    """
    from jupyter_tracker.run_summary import MetricDefinition, MetricDefinitions
    from jupyter_tracker.store import records
    from jupyter_tracker.store.reader import iter_log

    stream, _ = iter_log(Path(run_dir), warn=False)
    definitions = MetricDefinitions()
    last: dict[str, float] = {}
    x: list[float] = []
    y: list[float] = []
    chosen = x_axis
    for record in stream:
        if record.kind == records.DEFINE_METRIC:
            definitions.add(MetricDefinition.from_record(record.fields[0]))
            if x_axis is None:
                chosen = definitions.step_metric(metric)
            continue
        if record.kind != records.HISTORY:
            continue
        step, _timestamp, runtime, values = record.fields
        if chosen is not None and chosen not in BUILTIN_AXES:
            logged = _number(values.get(chosen))
            if logged is not None:
                last[chosen] = logged
        value = _number(values.get(metric))
        if value is None:
            continue
        if chosen is None or chosen == STEP:
            x_value: float | None = float(step)
        elif chosen == RUNTIME:
            x_value = float(runtime)
        else:
            x_value = last.get(chosen)
        if x_value is None:
            continue
        x.append(x_value)
        y.append(value)
    return MetricPoints(x, y, chosen or STEP, definitions.step_metric(metric))


@dataclasses.dataclass
class Comparison:
    """What a comparison chart shows, and what it had to leave out."""

    metric: str
    x_axis: str
    #: (run id, label, points) of each drawn run, in the order asked
    drawn: list[tuple[str, str, MetricPoints]]
    #: labels of runs with no points of the metric against the x-axis (or whose directory is gone)
    missing: list[str]
    #: labels of runs beyond :data:`MAX_COMPARED`
    left_out: list[str]

    @property
    def x_label(self) -> str:
        return BUILTIN_AXES.get(self.x_axis, self.x_axis)

    @property
    def message(self) -> str:
        """One line for the user: which runs lack the metric, which were left out (empty when none)."""
        parts = []
        if self.missing:
            against = "" if self.x_axis == STEP else f" against {self.x_label}"
            parts.append(f"no points of {self.metric}{against} in {_listing(self.missing)}")
        if self.left_out:
            parts.append(f"only the first {MAX_COMPARED} selected runs are drawn; left out: {_listing(self.left_out)}")
        return "; ".join(parts)


def _listing(labels: Sequence[str]) -> str:
    shown = ", ".join(labels[:_NAMES_IN_MESSAGE])
    more = len(labels) - _NAMES_IN_MESSAGE
    return f"{shown} and {more} more" if more > 0 else shown


Reader = Callable[[str, str, "str | None"], MetricPoints]


def compare_runs(labels: Mapping[str, str], run_dirs: Mapping[str, Any], run_ids: Sequence[str], metric: str,
                 x_axis: str | None = None, read: Reader | None = None) -> Comparison:
    """Reads ``metric`` of each run; without ``x_axis``, uses the step metric most of them define (else the step)."""
    read = read or read_metric
    ids = list(dict.fromkeys(run_ids))
    label = {run_id: labels.get(run_id, str(run_id)) for run_id in ids}
    compared, left_out = ids[:MAX_COMPARED], [label[run_id] for run_id in ids[MAX_COMPARED:]]
    points: dict[str, MetricPoints | None] = {}
    for run_id in compared:
        run_dir = run_dirs.get(run_id)
        try:
            points[run_id] = read(str(run_dir), metric, x_axis) if run_dir else None
        except OSError:  # the run directory was moved or deleted; the index still lists it
            points[run_id] = None
    chosen = x_axis
    if chosen is None:
        defined = Counter(found.step_metric for found in points.values() if found is not None and found.step_metric)
        chosen = defined.most_common(1)[0][0] if defined else STEP
    for run_id, found in points.items():
        if found is not None and found.x_axis != chosen:  # this run defines another axis (or none): read again
            try:
                points[run_id] = read(str(run_dirs.get(run_id)), metric, chosen)
            except OSError:
                points[run_id] = None
    drawn = [(run_id, label[run_id], found) for run_id, found in points.items() if found is not None and found.x]
    missing = [label[run_id] for run_id, found in points.items() if found is None or not found.x]
    return Comparison(metric, chosen, drawn, missing, left_out)


# theme -------------------------------------------------------------------------------------------------
_COLOUR = re.compile(r"^(#[0-9a-fA-F]{3,8}|rgba?\([0-9., %]+\)|[a-zA-Z]{3,20})$")


@dataclasses.dataclass(frozen=True)
class ChartTheme:
    """The colours of the notebook's theme, as the browser computes JupyterLab's ``--jp-*`` variables."""

    dark: bool = False
    text: str = "#1f2937"
    grid: str = "rgba(127,127,127,0.25)"
    background: str = "rgba(0,0,0,0)"

    @classmethod
    def from_browser(cls, reported: Mapping[str, Any] | None) -> ChartTheme:
        """A theme from what the page reported; a value that is not a plain CSS colour keeps its default."""
        if not reported:
            return cls()
        default = cls(dark=bool(reported.get("dark")))
        if default.dark:
            default = dataclasses.replace(default, text="#e5e7eb")

        def colour(name: str) -> str:
            value = str(reported.get(name) or "").strip()
            return value if _COLOUR.match(value) else getattr(default, name)

        return cls(dark=default.dark, text=colour("text"), grid=colour("grid"), background=colour("background"))

    def layout(self) -> dict[str, Any]:
        """plotly layout settings: the dark or white template, with the page's own colours on top."""
        axis = {"gridcolor": self.grid, "zerolinecolor": self.grid, "linecolor": self.grid}
        return {
            "template": "plotly_dark" if self.dark else "plotly_white",
            "paper_bgcolor": self.background, "plot_bgcolor": self.background,
            "font": {"color": self.text}, "xaxis": axis, "yaxis": dict(axis),
        }


def comparison_figure(comparison: Comparison, theme: ChartTheme | None = None) -> Any:
    """A plotly figure with one line per drawn run (at most 1,500 points each); names are shown as typed."""
    import numpy as np
    import plotly.graph_objects as go

    from jupyter_tracker.downsample import min_max_buckets

    figure = go.Figure()
    for run_id, label, found in comparison.drawn:
        x, y = min_max_buckets(np.asarray(found.x, dtype=np.float64), np.asarray(found.y, dtype=np.float64))
        figure.add_trace(go.Scattergl(x=x, y=y, mode="lines+markers" if len(found.x) == 1 else "lines",
                                      name=html.escape(label), meta=[run_id]))
    title = html.escape(comparison.metric)
    if comparison.message:
        title += f"<br><sup>{html.escape(comparison.message)}</sup>"
    layout = (theme or ChartTheme()).layout()
    layout["xaxis"]["title"] = {"text": html.escape(comparison.x_label)}
    figure.update_layout(
        title={"text": title}, height=380, margin={"l": 50, "r": 20, "t": 80, "b": 40},
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.02, "xanchor": "right", "x": 1},
        **layout,
    )
    return figure


def figure_bundle(figure: Any, comparison: Comparison | None = None) -> dict[str, Any]:
    """A plotly figure as a display bundle that stays small in the saved notebook (no plotly.js inside)."""
    names = ", ".join(html.unescape(trace.name or "") for trace in figure.data)
    metric = comparison.metric if comparison is not None else html.unescape(str(figure.layout.title.text or "").split("<br>")[0])
    text = f"comparison chart of {metric}: {names}"
    if comparison is not None and comparison.message:
        text += f" ({comparison.message})"
    return {"application/vnd.plotly.v1+json": figure.to_plotly_json(), "text/plain": text}

