"""What each panel shows, computed from stored runs (local store or server) through the ``Api``.

A run set is resolved to runs with the runs table's filter language; each panel then becomes
plain JSON-ready data (:func:`panel_data`) that the HTML renderer, the widget and the server page
draw. Line data is cut to at most :data:`POINTS_PER_LINE` points per line with min/max buckets,
and its smoothing is computed on the full series (exactly at the saved weight, plus the
per-bucket summary that lets a browser re-smooth at any weight without bias).
"""

from __future__ import annotations

import base64
import math
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from jupyter_tracker.reports import model
from jupyter_tracker.reports.runset_filter import field_name, store_query, to_expression

if TYPE_CHECKING:
    import pandas as pd

    from jupyter_tracker.api.public import Api

#: drawn points per line (DESIGN.md: plots are downsampled to 1,500 points per line)
POINTS_PER_LINE = 1500
#: runs fetched per page when a run set is resolved
RUNS_PER_PAGE = 500
#: line colours, one per run or group in a grid (cycled)
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
           "#bcbd22", "#17becf")
#: the x-axes wandb names, and the history column each one is
X_AXES = {"step": "_step", "_step": "_step", "_runtime": "_runtime", "relative time (wall)": "_runtime",
          "runtime": "_runtime", "_timestamp": "_timestamp", "wall time": "_timestamp"}
MEDIA_TYPES = ("image-file",)
FINAL_STATES = frozenset({"finished", "failed", "crashed", "killed"})


@dataclass
class RunSelection:
    """The runs of one run set, in order: their records and the runs-table frame over them."""

    runset: model.Runset
    records: list[dict[str, Any]]
    frame: pd.DataFrame
    colors: dict[str, str] = field(default_factory=dict)
    total: int = 0
    #: (x, metric) pairs the grid's line plots draw: each run's history is read once for all of them
    wanted: set[tuple[str, str]] = field(default_factory=set)
    #: (run id, x, metric) -> (x values, metric values), filled as runs are read
    series: dict[tuple[str, str, str], tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    #: series of finished runs, which never change: kept across renders by whoever passes it (the widget)
    #: and their drawn lines (``("line", run id, x, metric, smoothing type, factor)`` keys)
    finished_series: dict[Any, Any] = field(default_factory=dict)

    def name(self, run_id: str) -> str:
        value = self.frame.at[run_id, "name"] if run_id in self.frame.index else None
        return str(value) if value is not None and value == value else run_id


def select_runs(api: Api, runset: model.Runset, project: str, entity: str = "", limit: int | None = None,
                cache: dict[Any, Any] | None = None) -> RunSelection:
    """The runs of ``runset`` (its project, else ``project``) that pass its filter, in its order.

    The filter's simple parts (tags, state, group, job_type) go to the store as one flat query
    (:func:`.runset_filter.store_query`), so a local store answers them from its index; when they
    are the whole filter, a ``limit`` and a one-field order go there too. ``cache`` (the widget's
    dict, kept between renders) holds each run set's listing until the local run index changes,
    so a redraw after an edit lists nothing; listings holding a running run are not kept.
    """
    project_name = runset.project or project
    entity_name = runset.entity or entity or None
    expression = to_expression(runset.filters)
    key = ("runset", entity_name, project_name, expression, tuple(runset.order), limit)
    signature = index_signature(api) if cache is not None else None
    if cache is not None and signature is not None:
        held = cache.get(key)
        if held is not None and held[0] == signature:
            records, frame, colors, total = held[1]
            return RunSelection(runset, records, frame, colors, total)
    selection = _resolve(api, runset, project_name, entity_name, expression, limit)
    if cache is not None and signature is not None \
            and all(record.get("state") in FINAL_STATES for record in selection.records):
        cache[key] = (signature, (selection.records, selection.frame, selection.colors, selection.total))
    return selection


def index_signature(api: Api) -> tuple[Any, ...] | None:
    """What changes whenever the local run index is written (its file's and its WAL's size and time).

    None for a store that is not a local index (a server): its listings are not kept.
    """
    from jupyter_tracker.api.local import LocalBackend

    backend = api.backend
    if not isinstance(backend, LocalBackend):
        return None
    path = backend.index.path
    parts: list[Any] = [str(path)]
    for file in (path, path.with_name(path.name + "-wal")):
        try:
            stat = file.stat()
        except OSError:
            parts.append(None)
            continue
        parts.append((stat.st_ino, stat.st_size, stat.st_mtime_ns))
    return tuple(parts)


def _store_order(order: Sequence[str]) -> str | None:
    """A run set's order as the store's order string, when it is one field the store sorts alike."""
    if len(order) != 1:
        return None
    text = order[0].strip()
    name = field_name(text.lstrip("+-"))
    if not (name.startswith(("config.", "summary.")) or name in ("created", "created_at")):
        return None
    return ("-" if text.startswith("-") else "+") + name


def _resolve(api: Api, runset: model.Runset, project_name: str, entity_name: str | None, expression: str,
             limit: int | None) -> RunSelection:
    from jupyter_tracker.notebook.runs_filter import FilterExpression
    from jupyter_tracker.notebook.runs_view import build_frame

    filters, complete = store_query(expression)
    order = "-created_at"
    per_page = RUNS_PER_PAGE
    if limit is not None and complete:
        store_order = _store_order(runset.order) if runset.order else order
        if store_order is not None:
            # the store's answer is the run set: only its first ``limit`` runs are decoded
            order, per_page = store_order, max(1, limit)
    pages = api.backend.list_runs(entity_name, project_name or None, filters, order, per_page)
    records: list[dict[str, Any]] = []
    number = 1
    while True:
        page = pages.page(number)
        records.extend(dict(record) for record in page)
        if len(page) < per_page or per_page != RUNS_PER_PAGE:
            break
        number += 1
    total = pages.total() if filters is None else _project_total(api, entity_name, project_name)
    frame, _ = build_frame(records)
    if expression and len(frame):
        frame = frame[FilterExpression(expression, list(frame.columns)).mask(frame)]
    frame = _ordered(frame, runset.order)
    if limit is not None:
        frame = frame.iloc[:limit]
    kept = {str(run_id) for run_id in frame.index}
    by_id = {str(record["id"]): record for record in records if str(record.get("id")) in kept}
    ordered = [by_id[str(run_id)] for run_id in frame.index]
    colors = {str(run_id): PALETTE[position % len(PALETTE)] for position, run_id in enumerate(frame.index)}
    return RunSelection(runset, ordered, frame, colors, total)


def _project_total(api: Api, entity_name: str | None, project_name: str) -> int:
    """How many runs the project holds (the "of N runs" a grid shows): counted by a local index, not listed."""
    from jupyter_tracker.api.local import LocalBackend

    backend = api.backend
    if isinstance(backend, LocalBackend) and project_name and entity_name is None and backend.index.path.is_file():
        return backend.index.count(project_name)
    return api.backend.list_runs(entity_name, project_name or None, None, None, 1).total()


def _ordered(frame: pd.DataFrame, order: Sequence[str]) -> pd.DataFrame:
    from jupyter_tracker.notebook.runs_filter import FilterError, resolve_column

    if not order or not len(frame):
        return frame
    columns, ascending = [], []
    for item in order:
        text = item.strip()
        descending = text.startswith("-")
        name = field_name(text.lstrip("+-"))
        name = {"created_at": "created", "runtime": "duration"}.get(name, name)
        try:
            columns.append(resolve_column(name, list(frame.columns)))
        except FilterError as error:
            raise FilterError(f"run set order {item!r}: {error}") from None
        ascending.append(not descending)
    return frame.sort_values(columns, ascending=ascending, na_position="last", kind="stable")


# values of runs ------------------------------------------------------------------------------------
def run_value(selection: RunSelection, run_id: str, name: str) -> Any:
    """A run's value of a field (``config.lr``, ``summary.acc``, ``lr``, ``state``); None when absent."""
    column = _column(selection, name)
    if column is None:
        return None
    value = selection.frame.at[run_id, column]
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def _column(selection: RunSelection, name: str) -> str | None:
    from jupyter_tracker.notebook.runs_filter import FilterError, resolve_column

    try:
        return resolve_column(field_name(name), list(selection.frame.columns))
    except FilterError:
        return None


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _plain(value: Any) -> Any:
    """A frame cell as JSON-ready data (numpy scalars, tuples and timestamps made plain)."""
    if value is None:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None if math.isnan(value) else str(value)
    if isinstance(value, tuple):
        return [_plain(item) for item in value]
    if isinstance(value, (str, int, float, bool, list, dict)):
        return value
    return str(value)


def _group_key(selection: RunSelection, run_id: str, groupby: str) -> str:
    from jupyter_tracker.notebook.runs_view import MISSING_GROUP

    value = run_value(selection, run_id, groupby)
    if value is None or value == ():
        return MISSING_GROUP
    return str(_plain(value))


# line plots ---------------------------------------------------------------------------------------
def _x_key(x: str) -> str:
    return X_AXES.get(x.strip().lower(), x.strip()) if x else "_step"


def _series(api: Api, selection: RunSelection, run_id: str, x_key: str, metric: str) -> tuple[np.ndarray, np.ndarray]:
    """``(x, metric)`` of one run over its full history, read once per run for every series the grid wants."""
    key = (run_id, x_key, metric)
    record = next(record for record in selection.records if str(record["id"]) == run_id)
    finished = record.get("state") in FINAL_STATES
    if finished and key in selection.finished_series:
        return selection.finished_series[key]
    if key not in selection.series:
        wanted = {(x, y) for x, y in selection.wanted} | {(x_key, metric)}
        columns: dict[tuple[str, str], tuple[list[float], list[float]]] = {pair: ([], []) for pair in wanted}
        names = sorted({name for pair in wanted for name in pair})
        rows = list(api.backend.history_rows(record.get("entity"), record["project"], run_id, keys=names))
        values = {name: [row.get(name) for row in rows] for name in names}  # x is shared by every metric
        for pair in list(columns):
            arrays = _plain_number_columns(values[pair[0]], values[pair[1]])
            if arrays is not None:
                selection.series[(run_id, pair[0], pair[1])] = arrays
                del columns[pair]
        plain = (int, float)
        specs = [(x_name, y_name, xs.append, ys.append) for (x_name, y_name), (xs, ys) in columns.items()]
        for row in rows if specs else ():  # only series with other values (bools, strings, numpy) come here
            for x_name, y_name, add_x, add_y in specs:
                y_value = row.get(y_name)
                # the hot loop: exact types first, the rest checked slowly (NaN and inf stay: they pass through)
                if type(y_value) not in plain and (y_value is None or isinstance(y_value, (bool, str, dict, list))):
                    continue
                x_value = row.get(x_name)
                if type(x_value) not in plain or x_value != x_value:
                    x_value = _number(x_value)
                    if x_value is None:
                        continue
                add_x(float(x_value))  # type: ignore[arg-type]
                add_y(float(y_value))  # type: ignore[arg-type]
        for (x_name, y_name), (xs, ys) in columns.items():
            selection.series[(run_id, x_name, y_name)] = (np.asarray(xs, dtype=float), np.asarray(ys, dtype=float))
        if finished:
            for x_name, y_name in wanted:
                selection.finished_series[(run_id, x_name, y_name)] = selection.series[(run_id, x_name, y_name)]
    return selection.series[key]


_PLAIN_TYPES = frozenset({int, float, type(None)})


def _plain_number_columns(xs: list[Any], ys: list[Any]) -> tuple[np.ndarray, np.ndarray] | None:
    """``(x, y)`` of the rows that have both (each row's x and y values, None where it has none),
    built in bulk when every value is a plain int, float or None.

    The same points as the row-by-row loop of :func:`_series` (rows without ``y`` or with a NaN
    ``x`` are left out; NaN and inf ``y`` stay); None when any value needs that loop's checks.
    """
    if not (set(map(type, xs)) | set(map(type, ys))) <= _PLAIN_TYPES:
        return None
    # None becomes NaN in a float array: a missing or NaN x drops the point, a missing y does too
    # (a NaN y stays), so only y needs its Nones told apart from NaNs
    x = np.array(xs, dtype=float)
    y = np.array(ys, dtype=float)
    keep = ~np.isnan(x)
    if None in ys:
        keep &= np.fromiter((value is not None for value in ys), dtype=bool, count=len(ys))
    return np.ascontiguousarray(x[keep]), np.ascontiguousarray(y[keep])


def smoothed(values: np.ndarray, smoothing_type: str, factor: float) -> np.ndarray:
    """The full series smoothed as a line plot's settings say (the series itself for ``none``)."""
    from jupyter_tracker import smoothing

    if smoothing_type not in model.SMOOTHING_TYPES:
        raise ValueError(f"smoothing_type must be one of {', '.join(model.SMOOTHING_TYPES)}, got {smoothing_type!r}")
    if smoothing_type == "none" or factor <= 0 or not len(values):
        return values.astype(float)
    if smoothing_type == "exponential":
        if not 0 <= factor < 1:
            raise ValueError(f"smoothing_factor for exponential smoothing must be in [0, 1), got {factor}")
        return smoothing.tensorboard_ema(values, factor)
    window = max(1, int(round(factor * 100)))
    if smoothing_type == "average":
        return smoothing.running_average(values, window)
    return smoothing.gaussian(values, max(window / 2.0, 0.5))


def _line(x: np.ndarray, y: np.ndarray, panel: model.LinePlot) -> dict[str, Any]:
    from jupyter_tracker.downsample import min_max_summary

    smooth = smoothed(y, panel.smoothing_type, panel.smoothing_factor)
    indices, summary = min_max_summary(y, POINTS_PER_LINE)
    line: dict[str, Any] = {
        "x": _floats(x[indices]), "y": _floats(y[indices]), "smooth": _floats(smooth[indices]), "points": int(len(y)),
    }
    if panel.smoothing_type == "exponential" and len(indices) < len(y):
        # only a downsampled line needs the summary; a whole line is re-smoothed from its points
        line["summary"] = base64.b64encode(summary.to_bytes()).decode("ascii")
    return line


def _run_line(selection: RunSelection, run_id: str, x_key: str, metric: str, x: np.ndarray, y: np.ndarray,
              panel: model.LinePlot) -> dict[str, Any]:
    """One run's drawn line; a finished run's is kept with its series, so a redraw does not cut and smooth it again."""
    record = next(record for record in selection.records if str(record["id"]) == run_id)
    if record.get("state") not in FINAL_STATES:
        return _line(x, y, panel)
    key = ("line", run_id, x_key, metric, panel.smoothing_type, panel.smoothing_factor)
    held = selection.finished_series.get(key)
    if held is None:
        held = selection.finished_series[key] = _line(x, y, panel)
    return dict(held)


def _floats(values: np.ndarray) -> list[float | None]:
    """JSON numbers to 7 significant digits (drawn, not computed on: smoothing used the full values)."""
    if len(values) and np.isfinite(values).all() and (values == np.trunc(values)).all() \
            and float(np.abs(values).max()) < 2**53:
        return values.astype(np.int64).tolist()  # type: ignore[no-any-return]  # steps: 12, not 12.0
    # the same numbers as _short per value, in bulk: whole ones as ints, the rest through one
    # "%.7g" formatting of them all (the format _short uses), non-finite ones as None
    values = np.asarray(values, dtype=float)
    finite = np.isfinite(values)
    whole = finite & (values == np.trunc(np.where(finite, values, 0.0))) & (np.abs(values) < 2**53)
    fraction = finite & ~whole
    result: list[float | None] = [None] * len(values)
    for position, value in zip(np.flatnonzero(whole).tolist(), values[whole].astype(np.int64).tolist(), strict=True):
        result[position] = value
    parts = values[fraction].tolist()
    shorts = map(float, ("%.7g " * len(parts) % tuple(parts)).split())
    for position, value in zip(np.flatnonzero(fraction).tolist(), shorts, strict=True):
        result[position] = value
    return result


def _short(value: float) -> float:
    if value == int(value) and abs(value) < 2**53:
        return int(value)  # type: ignore[return-value]  # steps print as 12, not 12.0
    return float(f"{value:.7g}")


def line_plot(api: Api, selection: RunSelection, panel: model.LinePlot) -> dict[str, Any]:
    """One line per run and metric, or per group with its band (mean and min/max or deviation)."""
    if panel.groupby_rangefunc not in model.RANGE_FUNCTIONS:
        raise ValueError(f"groupby_rangefunc must be one of {', '.join(model.RANGE_FUNCTIONS)}")
    x_key = _x_key(panel.x)
    run_ids = [str(run_id) for run_id in selection.frame.index[: max(1, panel.max_runs_to_show)]]
    lines: list[dict[str, Any]] = []
    selection.wanted |= {(x_key, metric) for metric in panel.y}
    groupby = panel.groupby or (selection.runset.groupby[0] if selection.runset.groupby else "")
    for metric in panel.y:
        series = {run_id: _series(api, selection, run_id, x_key, metric) for run_id in run_ids}
        if groupby:
            groups: dict[str, list[str]] = {}
            for run_id in run_ids:
                groups.setdefault(_group_key(selection, run_id, groupby), []).append(run_id)
            for position, (group, members) in enumerate(groups.items()):
                band = _group_band([series[run_id] for run_id in members], panel)
                if band is None:
                    continue
                band.update(label=f"{group} · {metric}" if len(panel.y) > 1 else group, metric=metric,
                            group=group, runs=len(members), color=PALETTE[position % len(PALETTE)])
                lines.append(band)
            continue
        for run_id in run_ids:
            x, y = series[run_id]
            if not len(y):
                continue
            line = _run_line(selection, run_id, x_key, metric, x, y, panel)
            name = selection.name(run_id)
            line.update(label=f"{name} · {metric}" if len(panel.y) > 1 else name, metric=metric, run=run_id,
                        color=selection.colors[run_id])
            lines.append(line)
    return {"x_label": panel.x or "Step", "lines": lines, "log_x": panel.log_x, "log_y": panel.log_y,
            "smoothing_type": panel.smoothing_type, "smoothing_factor": panel.smoothing_factor,
            "show_original": panel.smoothing_show_original,
            "range_x": list(model.axis_range(panel.range_x, "range_x")),
            "range_y": list(model.axis_range(panel.range_y, "range_y")),
            "title_x": panel.title_x or "", "title_y": panel.title_y or ""}


def _group_band(series: list[tuple[np.ndarray, np.ndarray]], panel: model.LinePlot) -> dict[str, Any] | None:
    import pandas as pd

    parts = [pd.DataFrame({"x": x, "y": y}) for x, y in series if len(y)]
    if not parts:
        return None
    stacked = pd.concat(parts, ignore_index=True)
    stacked = stacked[np.isfinite(stacked["y"])]
    if stacked.empty:
        return None
    stats = stacked.groupby("x", sort=True)["y"].agg(["mean", "median", "min", "max", "std", "count"])
    center = stats["median" if panel.groupby_aggfunc == "median" else "mean"].to_numpy(dtype=float)
    if panel.groupby_aggfunc in ("min", "max"):
        center = stats[panel.groupby_aggfunc].to_numpy(dtype=float)
    std = np.nan_to_num(stats["std"].to_numpy(dtype=float))
    if panel.groupby_rangefunc == "minmax":
        low, high = stats["min"].to_numpy(dtype=float), stats["max"].to_numpy(dtype=float)
    elif panel.groupby_rangefunc in ("stddev", "stderr"):
        spread = std if panel.groupby_rangefunc == "stddev" else std / np.sqrt(stats["count"].to_numpy(dtype=float))
        low, high = center - spread, center + spread
    else:
        low = high = None
    x = stats.index.to_numpy(dtype=float)
    line = _line(x, center, panel)
    from jupyter_tracker.downsample import min_max_indices

    indices = min_max_indices(center, POINTS_PER_LINE)
    if low is not None and high is not None:
        line["low"], line["high"] = _floats(low[indices]), _floats(high[indices])
    return line


# summary panels -----------------------------------------------------------------------------------
def scatter_plot(selection: RunSelection, panel: model.ScatterPlot) -> dict[str, Any]:
    """One point per run with numeric ``x`` and ``y``; ``z`` colours it."""
    points = []
    for run_id in map(str, selection.frame.index):
        x, y = _number(run_value(selection, run_id, panel.x)), _number(run_value(selection, run_id, panel.y))
        if x is None or y is None:
            continue
        z = _plain(run_value(selection, run_id, panel.z)) if panel.z else None
        points.append({"run": run_id, "name": selection.name(run_id), "x": x, "y": y, "z": z,
                       "color": selection.colors[run_id]})
    return {"x_label": panel.x, "y_label": panel.y, "z_label": panel.z, "points": points,
            "log_x": panel.log_x, "log_y": panel.log_y}


def parallel_coordinates(selection: RunSelection, panel: model.ParallelCoordinatesPlot) -> dict[str, Any]:
    """An axis per column (numbers scaled to their range, strings as categories) and a line per run."""
    run_ids = list(map(str, selection.frame.index))
    axes, table = [], []
    for column in panel.columns:
        values = [_plain(run_value(selection, run_id, column)) for run_id in run_ids]
        numbers = [_number(value) for value in values]
        if all(number is not None or value is None for number, value in zip(numbers, values, strict=True)) \
                and any(number is not None for number in numbers):
            finite = [number for number in numbers if number is not None]
            axes.append({"name": column, "kind": "number", "min": min(finite), "max": max(finite)})
            table.append(numbers)
        else:
            categories = sorted({str(value) for value in values if value is not None})
            axes.append({"name": column, "kind": "category", "categories": categories})
            table.append([categories.index(str(value)) if value is not None else None for value in values])
    lines = [{"run": run_id, "name": selection.name(run_id), "color": selection.colors[run_id],
              "values": [table[axis][position] for axis in range(len(axes))]} for position, run_id in enumerate(run_ids)]
    return {"axes": axes, "lines": lines}


_AGGREGATE = {
    "mean": lambda values: float(np.mean(values)), "median": lambda values: float(np.median(values)),
    "min": lambda values: float(np.min(values)), "max": lambda values: float(np.max(values)),
    "sum": lambda values: float(np.sum(values)), "count": lambda values: float(len(values)),
    "first": lambda values: float(values[0]), "last": lambda values: float(values[-1]),
}


def _aggregate(values: list[float], aggregation: str) -> float | None:
    if aggregation not in _AGGREGATE:
        raise ValueError(f"aggregation must be one of {', '.join(model.AGGREGATIONS)}, got {aggregation!r}")
    if not values:
        return 0.0 if aggregation == "count" else None
    return _AGGREGATE[aggregation](values)


def bar_plot(selection: RunSelection, panel: model.BarPlot) -> dict[str, Any]:
    """A bar per run, or per group (aggregated), for each metric."""
    charts = []
    run_ids = list(map(str, selection.frame.index))
    groupby = panel.groupby or (selection.runset.groupby[0] if selection.runset.groupby else "")
    for metric in panel.metrics:
        bars = []
        if groupby:
            groups: dict[str, list[float]] = {}
            for run_id in run_ids:
                number = _number(run_value(selection, run_id, metric))
                if number is not None:
                    groups.setdefault(_group_key(selection, run_id, groupby), []).append(number)
            for position, (group, values) in enumerate(groups.items()):
                bars.append({"label": group, "value": _aggregate(values, panel.groupby_aggfunc), "runs": len(values),
                             "color": PALETTE[position % len(PALETTE)]})
        else:
            for run_id in run_ids:
                number = _number(run_value(selection, run_id, metric))
                if number is not None:
                    bars.append({"label": selection.name(run_id), "run": run_id, "value": number,
                                 "color": selection.colors[run_id]})
        charts.append({"metric": metric, "bars": bars})
    return {"charts": charts}


def scalar_chart(selection: RunSelection, panel: model.ScalarChart) -> dict[str, Any]:
    """``metric`` over the run set, aggregated."""
    values = [number for run_id in map(str, selection.frame.index)
              if (number := _number(run_value(selection, run_id, panel.metric))) is not None]
    return {"metric": panel.metric, "aggregation": panel.aggregation,
            "value": _aggregate(values, panel.aggregation), "runs": len(values)}


def run_comparer(selection: RunSelection, panel: model.RunComparer) -> dict[str, Any]:
    """Rows of config and summary values, a column per run; only differing rows with ``diff_only``."""
    run_ids = list(map(str, selection.frame.index))
    keys = [column for column in selection.frame.columns if column.startswith(("config.", "summary."))]
    rows = []
    for key in ("state", "group", "tags", *keys):
        values = [_plain(run_value(selection, run_id, key)) for run_id in run_ids]
        if all(value is None for value in values):
            continue
        if panel.diff_only and len({repr(value) for value in values}) <= 1:
            continue
        rows.append({"key": key, "values": values})
    return {"runs": [{"run": run_id, "name": selection.name(run_id), "color": selection.colors[run_id]}
                     for run_id in run_ids], "rows": rows}


def parameter_importance(selection: RunSelection, panel: model.ParameterImportancePlot) -> dict[str, Any]:
    """Each varying config value's correlation with the metric and its random-forest importance.

    Strings are coded by first appearance; the forest (scikit-learn, imported only here) is
    fitted when at least five runs have the metric.
    """
    target = panel.with_respect_to
    run_ids = [run_id for run_id in map(str, selection.frame.index)
               if _number(run_value(selection, run_id, target)) is not None]
    values = np.array([_number(run_value(selection, run_id, target)) for run_id in run_ids], dtype=float)
    names, columns = [], []
    for column in (column for column in selection.frame.columns if column.startswith("config.")):
        raw = [_plain(run_value(selection, run_id, column)) for run_id in run_ids]
        codes: dict[str, int] = {}
        coded = []
        for value in raw:
            number = _number(value)
            if number is None and value is not None and not isinstance(value, (int, float)):
                number = float(codes.setdefault(repr(value), len(codes)))
            coded.append(number if number is not None else math.nan)
        array = np.asarray(coded, dtype=float)
        if np.isfinite(array).sum() >= 2 and np.nanstd(array) > 0:
            names.append(column)
            columns.append(array)
    rows: list[dict[str, Any]] = []
    if len(run_ids) >= 2 and names:
        matrix = np.column_stack(columns)
        forest = _forest(matrix, values) if len(run_ids) >= 5 else [None] * len(names)
        for index, name in enumerate(names):
            x = matrix[:, index]
            finite = np.isfinite(x)
            correlation = None
            if finite.sum() >= 2 and np.std(x[finite]) > 0 and np.std(values[finite]) > 0:
                correlation = float(np.corrcoef(x[finite], values[finite])[0, 1])
            rows.append({"parameter": name, "correlation": correlation, "importance": forest[index]})
        rows.sort(key=lambda row: -(row["importance"] if row["importance"] is not None else abs(row["correlation"] or 0)))
    return {"with_respect_to": target, "runs": len(run_ids), "parameters": rows}


def _forest(matrix: np.ndarray, values: np.ndarray) -> list[float | None]:
    from sklearn.ensemble import RandomForestRegressor

    model_ = RandomForestRegressor(n_estimators=100, random_state=0, n_jobs=1)
    filled = np.where(np.isfinite(matrix), matrix, np.nanmean(np.where(np.isfinite(matrix), matrix, np.nan), axis=0))
    model_.fit(np.nan_to_num(filled), values)
    return [float(share) for share in model_.feature_importances_]


def media_browser(api: Api, selection: RunSelection, panel: model.MediaBrowser) -> dict[str, Any]:
    """The last image of each media key per run, embedded as data (PNG/JPEG/GIF bytes)."""
    items = []
    for record in selection.records:
        run_id = str(record["id"])
        summary = record.get("summary") or {}
        for key in panel.media_keys:
            value = summary.get(key)
            if not _is_media(value):
                value = _last_media(api, record, key)
            if value is None:
                continue
            data = _run_file(api, record, str(value["path"]))
            if data is None:
                continue
            items.append({"run": run_id, "name": selection.name(run_id), "key": key, "image": data})
    return {"columns": panel.num_columns, "items": items}


def _is_media(value: Any) -> bool:
    return isinstance(value, dict) and value.get("_type") in MEDIA_TYPES and bool(value.get("path"))


def _last_media(api: Api, record: dict[str, Any], key: str) -> dict[str, Any] | None:
    """The last logged media reference of ``key`` (a summary may hold only a description of it)."""
    last = None
    for row in api.backend.history_rows(record.get("entity"), record["project"], str(record["id"]), keys=[key]):
        value = row.get(key)
        if _is_media(value):
            last = value
    return last


def _run_file(api: Api, record: dict[str, Any], name: str) -> str | None:
    from jupyter_tracker.api.backend import ApiError

    suffix = Path(name).suffix.lower().lstrip(".")
    mime = {"png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg", "gif": "image/gif"}.get(suffix)
    if mime is None:
        return None
    with tempfile.TemporaryDirectory() as folder:
        try:
            path = api.backend.download_file(record.get("entity"), record["project"], str(record["id"]), name,
                                             Path(folder))
        except (ApiError, OSError):
            return None
        return f"data:{mime};base64," + base64.b64encode(path.read_bytes()).decode("ascii")


def code_comparer(api: Api, selection: RunSelection, panel: model.CodeComparer) -> dict[str, Any]:
    """The saved code of the first two runs (``code/`` files), line by line, for a diff."""
    texts = []
    for record in selection.records[:2]:
        texts.append({"run": str(record["id"]), "name": selection.name(str(record["id"])),
                      "code": _code_text(api, record)})
    return {"diff": panel.diff, "runs": texts}


def _code_text(api: Api, record: dict[str, Any]) -> str:
    from jupyter_tracker.api.backend import ApiError

    try:
        files = api.backend.files(record.get("entity"), record["project"], str(record["id"]))
    except ApiError:
        return ""
    names = sorted(item["name"] for item in files if item["name"].startswith("code/"))
    parts = []
    with tempfile.TemporaryDirectory() as folder:
        for name in names[:5]:
            try:
                path = api.backend.download_file(record.get("entity"), record["project"], str(record["id"]), name,
                                                 Path(folder))
                parts.append(f"# {name}\n" + path.read_text(encoding="utf-8", errors="replace"))
            except (ApiError, OSError):
                continue
    return "\n".join(parts)


def want_series(selection: RunSelection, panels: Sequence[model.Panel]) -> None:
    """Declares every line the grid's panels draw, so each run's history is read once for all."""
    for panel in panels:
        if isinstance(panel, model.LinePlot):
            selection.wanted |= {(_x_key(panel.x), metric) for metric in panel.y}


def panel_data(api: Api, selection: RunSelection, panel: model.Panel) -> dict[str, Any]:
    """The data one panel draws over one run selection."""
    if isinstance(panel, model.LinePlot):
        return line_plot(api, selection, panel)
    if isinstance(panel, model.ScatterPlot):
        return scatter_plot(selection, panel)
    if isinstance(panel, model.ParallelCoordinatesPlot):
        return parallel_coordinates(selection, panel)
    if isinstance(panel, model.BarPlot):
        return bar_plot(selection, panel)
    if isinstance(panel, model.ScalarChart):
        return scalar_chart(selection, panel)
    if isinstance(panel, model.RunComparer):
        return run_comparer(selection, panel)
    if isinstance(panel, model.ParameterImportancePlot):
        return parameter_importance(selection, panel)
    if isinstance(panel, model.MediaBrowser):
        return media_browser(api, selection, panel)
    if isinstance(panel, model.CodeComparer):
        return code_comparer(api, selection, panel)
    return {}
