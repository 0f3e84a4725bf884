"""The static charts of a run that is still going, read from its log for a notebook saved mid-run.

A live panel's widget output holds no static figure until ``finish()``; a notebook saved before
that (by hand, by JupyterLab's autosave during a long training cell, or after the kernel died)
would reopen with nothing where the charts were. The save hook (``saved_notebook``) asks this
module for the charts of the run the output names (its directory, in the output's metadata): the
run's log is read from the local store, read-only, and drawn with the functions the panel uses at
``finish()`` (``live_static.static_bundle``), titled "as of step N, run still going".

A save must stay quick, so reading is bounded and remembered:

- each save reads the log for at most a time budget (about a second); a log that takes longer
  is read on over the following saves, each one going on from where the last stopped, and meanwhile
  the charts of an earlier save (if any, with their own "as of step") are kept;
- per run directory the records read so far are kept (the byte offset and the live panel's
  columns), so an autosave every two minutes reads only what the run wrote since; an unchanged log
  (same size and modification time) reuses the charts without reading anything;
- a torn tail (the writer's frame in progress) or a damaged stretch is skipped as the reader does,
  and read again at the next save once the writer has finished it.

Imported lazily by the save hook: it pulls in numpy and the chart code, which a Jupyter server
should not pay for at start-up.
"""

from __future__ import annotations

import math
import os
import stat
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jupyter_tracker.notebook.live_feed import LiveFeed
from jupyter_tracker.notebook.live_static import static_bundle
from jupyter_tracker.store import records
from jupyter_tracker.store.run_dir import run_log_path

__all__ = ["CACHED_RUNS", "MAX_CACHED_POINTS", "MAX_READ_BYTES", "ChartsAsOf", "NotReady", "RunChartsCache",
           "charts_of_run", "still_going_label"]

#: bytes of a log read by one save at most (the rest waits for the next save)
MAX_READ_BYTES = 64 << 20
#: points of a run's columns kept between saves; a bigger run is read again from the start when it grew
MAX_CACHED_POINTS = 2_000_000
#: runs whose progress is kept (least recently saved forgotten first)
CACHED_RUNS = 4


class NotReady(Exception):
    """The run's log could not be read to its end within the save's time budget (and no earlier charts exist)."""


@dataclass(frozen=True)
class ChartsAsOf:
    """A run's static charts as its log stood at one save."""

    #: the mimebundle (plotly figure where the run has few metrics, HTML with SVG charts, text)
    bundle: dict[str, Any]
    #: the last step logged, None before the first ``log``
    step: int | None
    #: True when the log ends with the run's finish (the panel's own final figure never reached the notebook)
    finished: bool
    #: the run's state at the end of the log (``running``, ``finished``, ``failed``...)
    state: str
    #: log bytes the charts cover
    log_bytes: int


def still_going_label(step: int | None, finished: bool = False, state: str = "running") -> str:
    """How the saved charts say when they were drawn.

    >>> still_going_label(120), still_going_label(None), still_going_label(9, True, "finished")
    ('as of step 120, run still going', 'no step logged yet, run still going', 'finished at step 9')
    """
    if finished:
        return f"{state} at step {step}" if step is not None else state
    if step is None:
        return "no step logged yet, run still going"
    return f"as of step {step}, run still going"


@dataclass
class _Progress:
    """What was read of one run's log so far."""

    feed: LiveFeed = field(default_factory=LiveFeed)
    #: where the next read starts: the end of the last intact frame read
    offset: int = 0
    #: the log file's identity (device, inode): a replaced log is read again from its start
    identity: tuple[int, int] = (0, 0)
    metadata: dict[str, Any] = field(default_factory=dict)
    step: int | None = None
    finished: bool = False
    state: str = "running"
    #: (size, modification time) of the log the charts were drawn from
    drawn_at: tuple[int, int] | None = None
    charts: ChartsAsOf | None = None


class RunChartsCache:
    """Per run directory: the records read so far and the charts last drawn. Thread-safe; a few runs at most."""

    def __init__(self, runs: int = CACHED_RUNS, max_points: int = MAX_CACHED_POINTS,
                 max_read: int = MAX_READ_BYTES) -> None:
        self.runs = runs
        self.max_points = max_points
        self.max_read = max_read
        self._progress: OrderedDict[str, _Progress] = OrderedDict()
        self._lock = threading.Lock()
        #: saves answered from the charts drawn before, without reading the log
        self.hits = 0
        #: log bytes read in all
        self.bytes_read = 0
        #: times charts were drawn
        self.draws = 0

    def clear(self) -> None:
        with self._lock:
            self._progress.clear()

    def charts(self, run_dir: str, deadline: float) -> ChartsAsOf:
        """The charts of the run in ``run_dir`` as its log stands now, or as of an earlier save when reading
        the rest would pass ``deadline`` (a ``time.monotonic()`` value).

        Raises :class:`NotReady` when no charts can be drawn within the deadline, ``FileNotFoundError``
        when the directory holds no run log, ``ValueError`` for a directory that is not absolute or a
        log that is not a regular file.
        """
        directory = Path(run_dir)
        if not directory.is_absolute():
            raise ValueError(f"run directory {run_dir!r} is not an absolute path")
        path = run_log_path(directory)
        with self._lock:
            info = path.stat()
            if not stat.S_ISREG(info.st_mode):
                raise ValueError(f"{path} is not a regular file")
            key = str(directory)
            progress = self._progress.pop(key, None)
            identity = (info.st_dev, info.st_ino)
            if progress is None or progress.identity != identity or info.st_size < progress.offset:
                progress = _Progress(identity=identity)
            self._progress[key] = progress
            while len(self._progress) > self.runs:
                self._progress.popitem(last=False)
            drawn_at = (info.st_size, info.st_mtime_ns)
            if progress.charts is not None and progress.drawn_at == drawn_at:
                self.hits += 1
                return progress.charts
            caught_up = self._read(progress, path, info.st_size, deadline)
            if not caught_up:
                if progress.charts is not None:
                    return progress.charts
                raise NotReady(f"{path}: {progress.offset:,} of {info.st_size:,} bytes read within the save's "
                               "time budget; the rest is read at the next saves")
            progress.charts = self._draw(progress)
            progress.drawn_at = drawn_at
            self.draws += 1
            if progress.feed.points_logged > self.max_points:
                # too big to keep between saves: the next save with a grown log starts over (bounded by the budget)
                progress.feed, progress.offset, progress.metadata = LiveFeed(), 0, {}
                progress.step, progress.finished, progress.state = None, False, "running"
            return progress.charts

    def _read(self, progress: _Progress, path: Path, size: int, deadline: float) -> bool:
        """Reads the log from ``progress.offset`` into the run's columns; True when it got to the end in time."""
        with open(path, "rb") as log:
            log.seek(progress.offset)
            chunk = log.read(min(size - progress.offset, self.max_read))
        self.bytes_read += len(chunk)
        reached = progress.offset + len(chunk)
        if progress.offset == 0:
            data, base = chunk, 0
        else:
            data, base = records.MAGIC + chunk, progress.offset - len(records.MAGIC)
        result = records.ScanResult()
        feed = progress.feed
        batch: list[Any] = []
        first = 0
        frame_end = result.valid_end
        in_time = True
        for record in records.iter_records(data, result, source=str(path)):
            if result.valid_end != frame_end:
                # a frame was read whole: the place to stop when time is up (at least one frame per save)
                frame_end = result.valid_end
                if time.monotonic() > deadline:
                    in_time = False
                    break
            if batch and record.seq != first + len(batch):
                feed.observe(first, batch)
                batch = []
            if not batch:
                first = record.seq
            batch.append((record.kind, *record.fields))
            self._note(progress, record)
        if batch:
            feed.observe(first, batch)
        progress.offset = max(progress.offset, base + result.valid_end)
        return in_time and reached >= size

    @staticmethod
    def _note(progress: _Progress, record: records.Record) -> None:
        kind = record.kind
        if kind == records.HISTORY:
            step = record.fields[0]
            if isinstance(step, (int, float)) and math.isfinite(step):
                progress.step = int(step)
        elif kind == records.RUN and isinstance(record.fields[0], dict):
            progress.metadata.update(record.fields[0])
        elif kind == records.FINISH:
            info = record.fields[0] if isinstance(record.fields[0], dict) else {}
            progress.finished = True
            progress.state = str(info.get("state") or "finished")
        elif kind == records.RESUME:
            progress.finished = False
            progress.state = "running"

    @staticmethod
    def _draw(progress: _Progress) -> ChartsAsOf:
        metadata = progress.metadata
        header = {"name": str(metadata.get("name") or ""), "id": str(metadata.get("id") or metadata.get("run_id") or ""),
                  "project": str(metadata.get("project") or ""),
                  "state": still_going_label(progress.step, progress.finished, progress.state)}
        bundle = static_bundle(progress.feed.snapshot(), header)
        return ChartsAsOf(bundle, progress.step, progress.finished, progress.state, progress.offset)


#: the server's cache: one per process
CACHE = RunChartsCache()


def charts_of_run(run_dir: str, time_budget: float = 1.0) -> ChartsAsOf:
    """The static charts of the run in ``run_dir`` (absolute) as its log stands, within ``time_budget`` seconds of reading."""
    return CACHE.charts(os.fspath(run_dir), time.monotonic() + time_budget)
