"""The live views' copy of a run's scalar history: per-metric columns that grow as records are written.

A :class:`LiveFeed` is a record observer of the run's writer (``run.add_record_observer``), so
it sees exactly what goes to disk, in order, from the writer thread, and never slows ``log``.
For every numeric scalar it keeps the step, the wall time, the runtime and the value, plus the
value of each ``define_metric`` step metric (``epoch``...) at that point, so the panel can
draw any metric against any of those x-axes. System metrics (``"system"`` records of the
sampler) have no step: their step column is NaN and their view says ``time_axis``, so they are
drawn against time whatever x-axis the user picked. Columns are numpy arrays that double when full;
readers take a :meth:`LiveFeed.snapshot` (views up to the current length, never copied).
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = ["LiveFeed", "MetricSeries", "SeriesView"]

_HISTORY = "h"
_SYSTEM = "system"
_DEFINE_METRIC = "define"
_FINISH = "finish"
_INITIAL_CAPACITY = 256
_NO_AXES: Mapping[str, list[float]] = {}
#: points kept per metric; beyond it the older half is thinned with min/max buckets (extremes kept)
MAX_POINTS_KEPT = 262_144
#: points a metric holds as Python tuples before they are copied into its numpy columns at once:
#: a row of 10,000 metrics costs one list append per metric, not one numpy call per metric
PENDING_POINTS = 32


def _numeric(value: Any) -> float | None:
    """The value as a float when it is a numeric scalar (bools, strings, arrays: None)."""
    kind = type(value)
    if kind is float or kind is int:
        return float(value)
    if kind is bool or value is None:
        return None
    if isinstance(value, (np.integer, np.floating)):
        return float(value)
    return None


@dataclass(frozen=True)
class SeriesView:
    """One metric's columns up to the length at snapshot time (read-only views)."""

    name: str
    step: NDArray[np.float64]
    wall_time: NDArray[np.float64]
    runtime: NDArray[np.float64]
    value: NDArray[np.float64]
    #: step metric name -> its value at each point (NaN before it was first logged)
    axes: Mapping[str, NDArray[np.float64]] = field(default_factory=dict)
    #: the step metric ``define_metric`` gave this metric, if any
    step_metric: str | None = None
    #: points logged in all (more than ``len`` once old points were thinned)
    logged: int = 0
    #: True for system metrics: no step, drawn against runtime or wall time
    time_axis: bool = False

    def __len__(self) -> int:
        return int(self.value.size)


class MetricSeries:
    """Growable columns of one metric; written by one thread, read through :meth:`view`.

    New points wait in a short Python list (up to :data:`PENDING_POINTS`) and go into the numpy
    columns in one copy, then or when the series is viewed: wide rows stay cheap for the writer.
    """

    __slots__ = ("name", "size", "_columns", "_axes", "step_metric", "max_points", "thinned", "time_axis",
                 "_pending", "_pending_axes")

    def __init__(self, name: str, axis_names: Iterable[str] = (), max_points: int = MAX_POINTS_KEPT) -> None:
        self.name = name
        self.size = 0
        self.max_points = max_points
        #: points dropped by thinning
        self.thinned = 0
        self.step_metric: str | None = None
        self.time_axis = False
        self._columns = np.empty((4, _INITIAL_CAPACITY), dtype=np.float64)
        self._axes: dict[str, NDArray[np.float64]] = {}
        self._pending: list[tuple[float, float, float, float]] = []
        self._pending_axes: dict[str, list[float]] = {}
        for axis in axis_names:
            self.add_axis(axis)

    @property
    def capacity(self) -> int:
        return int(self._columns.shape[1])

    def add_axis(self, axis: str) -> None:
        """Starts a step-metric column; points recorded before it have NaN there."""
        if axis not in self._axes:
            self._axes[axis] = np.full(self.capacity, np.nan)

    def _grow(self, needed: int) -> None:
        capacity = self.capacity
        while capacity < needed:
            capacity *= 2
        # new arrays: readers holding views of the old ones keep valid data
        columns = np.empty((4, capacity), dtype=np.float64)
        columns[:, : self.size] = self._columns[:, : self.size]
        self._columns = columns
        for axis, old in self._axes.items():
            grown = np.full(capacity, np.nan)
            grown[: self.size] = old[: self.size]
            self._axes[axis] = grown

    def extend(self, points: list[tuple[float, float, float, float]], axis_points: Mapping[str, list[float]]) -> None:
        """Appends ``(step, wall_time, runtime, value)`` points and, per axis, the axis values."""
        count = len(points)
        if not count:
            return
        pending = self._pending
        before = len(pending)
        pending.extend(points)
        if not axis_points and not self._pending_axes:
            if len(pending) >= PENDING_POINTS:
                self._materialize()
            return
        for axis, values in axis_points.items():
            column = self._pending_axes.get(axis)
            if column is None:
                column = self._pending_axes[axis] = [math.nan] * before
            column.extend(values)
        for column in self._pending_axes.values():
            if len(column) < len(pending):  # an axis these points do not have: NaN, as in the columns
                column.extend([math.nan] * (len(pending) - len(column)))
        if len(pending) >= PENDING_POINTS:
            self._materialize()

    def _materialize(self) -> None:
        """Copies the pending points into the numpy columns (growing, then thinning, as needed)."""
        points = self._pending
        if not points:
            return
        end = self.size + len(points)
        if end > self.capacity:
            self._grow(end)
        self._columns[:, self.size : end] = np.asarray(points, dtype=np.float64).T
        for axis, values in self._pending_axes.items():
            if axis not in self._axes:
                self.add_axis(axis)
            self._axes[axis][self.size : end] = values
        self._pending = []
        self._pending_axes = {}
        self.size = end
        if end > self.max_points:
            self._thin()

    def _thin(self) -> None:
        """Keeps memory bounded: the newest half stays whole, the older part shrinks to min/max picks.

        The picks keep every extreme at a resolution far finer than the 1,500-point plot needs,
        so the plot of a thinned series looks the same. New arrays: readers' views stay valid.
        """
        from jupyter_tracker.downsample import min_max_indices

        recent = self.max_points // 2
        head = self.size - recent
        picks = min_max_indices(self._columns[3, :head], max(4, self.max_points // 4))
        size = picks.size + recent
        columns = np.empty_like(self._columns)
        columns[:, : picks.size] = self._columns[:, picks]
        columns[:, picks.size : size] = self._columns[:, head : self.size]
        for axis, old in list(self._axes.items()):
            thinned = np.full(old.size, np.nan)
            thinned[: picks.size] = old[picks]
            thinned[picks.size : size] = old[head : self.size]
            self._axes[axis] = thinned
        self._columns = columns
        self.thinned += head - picks.size
        self.size = size

    def view(self) -> SeriesView:
        self._materialize()
        size = self.size
        columns = self._columns
        return SeriesView(
            name=self.name,
            step=columns[0, :size],
            wall_time=columns[1, :size],
            runtime=columns[2, :size],
            value=columns[3, :size],
            axes={axis: values[:size] for axis, values in self._axes.items()},
            step_metric=self.step_metric,
            logged=size + self.thinned,
            time_axis=self.time_axis,
        )


@dataclass(frozen=True)
class FeedSnapshot:
    """What a view draws from: every visible metric's columns at one moment."""

    version: int
    series: dict[str, SeriesView]
    axis_names: tuple[str, ...]
    start_time: float | None
    finished: bool


class LiveFeed:
    """Per-metric columns of a run's numeric history, fed by the run's writer thread.

    >>> feed = LiveFeed()
    >>> feed.observe(1, [("h", 0, 100.0, 0.0, {"loss": 0.5, "note": "text"})])
    >>> feed.snapshot().series["loss"].value.tolist()
    [0.5]
    """

    def __init__(self, definitions: Iterable[Any] = (), media: Any = None) -> None:
        self._lock = threading.Lock()
        #: where images and histograms of the rows go (a ``live_media.MediaTrack``), if anywhere
        self.media = media
        self._series: dict[str, MetricSeries] = {}
        #: step metric name -> its last logged value
        self._axis_last: dict[str, float] = {}
        #: metric name or glob -> (step_metric, hidden), in definition order
        self._definitions: list[tuple[str, str | None, bool]] = []
        self._hidden_cache: dict[str, bool] = {}
        self.version = 0
        #: bumped when a metric appears or a definition changes which metrics show (the catalog changed)
        self.names_version = 0
        #: numeric points taken in all, over every metric
        self.points_logged = 0
        self.last_seq = 0
        self.finished = False
        self.start_time: float | None = None
        self._buffer: list[tuple[int, list[Any]]] | None = None
        self._changed = threading.Event()
        for definition in definitions:
            self._add_definition(definition)

    # feeding ------------------------------------------------------------------------------------
    def attach(self, run: Any, preload: bool = True) -> Callable[[], None]:
        """Observes ``run``'s records; returns a function that loads what was written before.

        Batches that arrive while the earlier history is being read are held back and replayed
        after it, each record taken once (by sequence number).
        """
        for definition in getattr(getattr(run, "metric_definitions", None), "definitions", ()):
            self._add_definition(definition)
        start = getattr(run, "start_time", None)
        self.start_time = float(start) if isinstance(start, (int, float)) else None
        if preload and str(getattr(run, "dir", "") or ""):
            self._buffer = []
        run.add_record_observer(self.observe)

        def load_earlier() -> None:
            try:
                self._preload(run)
            finally:
                self._release_buffer()

        return load_earlier

    def _preload(self, run: Any) -> None:
        if self._buffer is None:
            return
        from pathlib import Path

        from jupyter_tracker.store.reader import iter_log

        run.flush(timeout=5.0)
        stream, _ = iter_log(Path(run.dir), warn=False)
        batch: list[Any] = []
        first = 0
        for record in stream:
            if not batch:
                first = record.seq
            elif record.seq != first + len(batch):
                self._ingest(first, batch)
                batch, first = [], record.seq
            batch.append((record.kind, *record.fields))
        if batch:
            self._ingest(first, batch)

    def _release_buffer(self) -> None:
        with self._lock:
            pending, self._buffer = self._buffer or [], None
        for first_seq, batch in pending:
            self._ingest(first_seq, batch)

    def observe(self, first_seq: int, records: list[Any]) -> None:
        """The record observer (writer thread): takes the batch's history and definitions."""
        if self._buffer is not None:
            with self._lock:
                if self._buffer is not None:
                    self._buffer.append((first_seq, list(records)))
                    return
        self._ingest(first_seq, records)

    def _ingest(self, first_seq: int, records: list[Any]) -> None:
        skip = self.last_seq - first_seq + 1
        if skip >= len(records):
            return
        if skip > 0:
            records = records[skip:]
            first_seq += skip
        points: dict[str, list[tuple[float, float, float, float]]] = {}
        axis_points: dict[str, dict[str, list[float]]] = {}
        axis_last = self._axis_last
        media = self.media
        system_keys: set[str] = set()
        for record in records:
            kind = record[0]
            if kind == _HISTORY:
                _, step, wall_time, runtime, row = record
                for axis in axis_last:
                    value = _numeric(row.get(axis))
                    if value is not None:
                        axis_last[axis] = value
                if not axis_last:
                    # the common case, and the hot one at 10,000 metrics a row: no step metric to track
                    for key, raw in row.items():
                        kind_of_value = type(raw)
                        if kind_of_value is float or kind_of_value is int:
                            value = float(raw)
                        else:
                            value = _numeric(raw)
                            if value is None:
                                if media is not None and raw is not None and kind_of_value is not str:
                                    media.take(step, key, raw)
                                continue
                        metric_points = points.get(key)
                        if metric_points is None:
                            metric_points = points[key] = []
                        metric_points.append((step, wall_time, runtime, value))
                    continue
                for key, raw in row.items():
                    value = _numeric(raw)
                    if value is None:
                        if media is not None and raw is not None and type(raw) is not str:
                            media.take(step, key, raw)
                        continue
                    metric_points = points.get(key)
                    if metric_points is None:
                        metric_points = points[key] = []
                        axis_points[key] = {axis: [] for axis in axis_last}
                    metric_points.append((step, wall_time, runtime, value))
                    per_axis = axis_points.setdefault(key, {})  # a key first seen without axes has none
                    for axis, last in axis_last.items():
                        column = per_axis.get(axis)
                        if column is None:
                            # the axis was defined mid-batch: earlier points of the batch have none
                            column = per_axis[axis] = [math.nan] * (len(metric_points) - 1)
                        column.append(last)
            elif kind == _SYSTEM:
                _, wall_time, runtime, values = record
                for key, raw in values.items():
                    value = _numeric(raw)
                    if value is None:
                        continue
                    metric_points = points.get(key)
                    if metric_points is None:
                        metric_points = points[key] = []
                        axis_points[key] = {axis: [] for axis in axis_last}
                    system_keys.add(key)
                    metric_points.append((math.nan, wall_time, runtime, value))
                    per_axis = axis_points.setdefault(key, {})  # a key first seen without axes has none
                    for axis in axis_last:
                        column = per_axis.get(axis)
                        if column is None:
                            column = per_axis[axis] = [math.nan] * (len(metric_points) - 1)
                        column.append(math.nan)
            elif kind == _DEFINE_METRIC:
                self._add_definition(record[1])
            elif kind == _FINISH:
                self.finished = True
        with self._lock:
            for key, metric_points in points.items():
                series = self._series.get(key)
                if series is None:
                    series = self._series[key] = MetricSeries(key, axis_last)
                    series.step_metric = self._step_metric_of(key)
                    self.names_version += 1
                if key in system_keys and not series.time_axis:
                    series.time_axis = True
                    self.names_version += 1
                series.extend(metric_points, axis_points.get(key, _NO_AXES))
                self.points_logged += len(metric_points)
            self.last_seq = first_seq + len(records) - 1
            self.version += 1
        self._changed.set()

    def _add_definition(self, definition: Any) -> None:
        if isinstance(definition, Mapping):
            name, step_metric, hidden = definition.get("name"), definition.get("step_metric"), definition.get("hidden")
        else:
            name = getattr(definition, "name", None)
            step_metric = getattr(definition, "step_metric", None)
            hidden = getattr(definition, "hidden", False)
        if not isinstance(name, str):
            return
        self._definitions.append((name, step_metric, bool(hidden)))
        if step_metric and step_metric not in self._axis_last:
            self._axis_last[step_metric] = math.nan
        with self._lock:
            for key, series in self._series.items():
                series.step_metric = self._step_metric_of(key)
                if step_metric:
                    series.add_axis(step_metric)
            self._hidden_cache.clear()
            self.version += 1
            self.names_version += 1

    def _resolve(self, key: str) -> tuple[str, str | None, bool] | None:
        import fnmatch

        exact = glob = None
        for definition in self._definitions:
            name = definition[0]
            if any(char in name for char in "*?["):
                if fnmatch.fnmatchcase(key, name):
                    glob = definition
            elif name == key:
                exact = definition
        return exact or glob

    def _step_metric_of(self, key: str) -> str | None:
        definition = self._resolve(key)
        return definition[1] if definition else None

    def _is_hidden(self, key: str) -> bool:
        definition = self._resolve(key)
        return bool(definition and definition[2])

    def _visible(self, key: str) -> bool:
        hidden = self._hidden_cache.get(key)
        if hidden is None:
            hidden = self._hidden_cache[key] = self._is_hidden(key)
        return not hidden

    # reading --------------------------------------------------------------------------------------
    def snapshot(self, names: Iterable[str] | None = None) -> FeedSnapshot:
        """Views of every metric's columns as they are now, or of ``names`` only; cheap (no copies).

        The live widget asks for the few charts on screen: at 10,000 metrics a full snapshot
        costs tens of milliseconds, one of 20 names a few microseconds.
        """
        with self._lock:
            if names is None:
                series = {key: value.view() for key, value in self._series.items() if self._visible(key)}
            else:
                series = {}
                for key in names:
                    found = self._series.get(key)
                    if found is not None and self._visible(key):
                        series[key] = found.view()
            return FeedSnapshot(self.version, series, tuple(self._axis_last), self.start_time, self.finished)

    def catalog(self) -> list[tuple[str, str | None, bool]]:
        """``(name, step_metric, time_axis)`` of every shown metric, in arrival order (names only, no data)."""
        with self._lock:
            return [(key, series.step_metric, series.time_axis) for key, series in self._series.items()
                    if self._visible(key)]

    def wait_for_change(self, timeout: float) -> bool:
        """Blocks until new records arrived or ``timeout`` passed; True when something changed."""
        changed = self._changed.wait(timeout)
        self._changed.clear()
        return changed

    def metric_names(self) -> list[str]:
        with self._lock:
            return [key for key in self._series if self._visible(key)]
