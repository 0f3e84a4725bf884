"""The live panel under the cell that starts a run: picks widget, static or off, and feeds it.

The kernel runs the training cell on its main thread, so the widget's comm is routed to a kernel
subshell (``busy_comm``): the browser's messages (which charts are on screen) arrive while the
cell runs. A refresher thread (one per panel, the only writer of its widget's data) wakes when
the writer thread has written new records or the browser's view changed, at most 4 times a
second, and sends only the charts on screen whose data changed since they were last sent, within
a byte budget per refresh: each downsampled to at most 1,500 points with min/max buckets, packed
as one binary buffer (float64 values, float32 times). Metrics off screen cost nothing but their
name, sent in a catalog when a new one appears. Smoothing, the x-axis, the metric filter and
search, the log scale and the groups are all computed in the browser (``static/live_panel.js``,
drawing with the vendored uPlot: see ``bench/bench_live_panel.py`` for why). Without a widget frontend
the same charts go out as plotly figures through a display handle (``live_static``).
Images and histograms go to the widget's media row (``live_media``): PNG bytes of the last
steps of each image key and one heatmap per histogram key, sent only when they change.

Entry point: :func:`show_live_panel`. Nothing here prints, and nothing here raises into the
training loop: a failure becomes one console warning.
"""

from __future__ import annotations

import contextlib
import gzip
import re
import sys
import threading
import time
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from jupyter_tracker import console
from jupyter_tracker.downsample import DEFAULT_POINTS, min_max_summary
from jupyter_tracker.lab.charts_mime import CHARTS_MIMETYPE
from jupyter_tracker.notebook.busy_comm import route_to_subshell
from jupyter_tracker.notebook.live_feed import FeedSnapshot, LiveFeed
from jupyter_tracker.notebook.live_media import MediaTrack, build_media_update
from jupyter_tracker.notebook.live_static import (
    DEFAULT_SMOOTHING,
    OUTPUT_MARKER,
    PLOTLY_MIMETYPE,
    StaticLiveView,
    static_bundle,
)

__all__ = ["PALETTE", "LivePanel", "build_update", "choose_mode", "metric_color", "natural_key", "show_live_panel"]

STATIC_DIR = Path(__file__).parent / "static"
WIDGET_MIMETYPE = "application/vnd.jupyter.widget-view+json"
#: the fastest refresh of each kind of view, in seconds
WIDGET_INTERVAL = 0.25
STATIC_INTERVAL = 1.0
#: above this many bytes a second the widget refreshes less often (remote kernels, Colab)
MAX_BYTES_PER_SECOND = 4_000_000
#: a refresh that took t seconds is followed by at least this many times t of rest (≤ 20% of a core)
MAX_CPU_SHARE_FACTOR = 5.0
MODES = ("auto", "widget", "static", "off")
#: charts the widget gets data for before the browser says which are on screen
DEFAULT_VISIBLE = 24
#: at most this many names are taken from one view's message (a screen holds far fewer charts)
MAX_VISIBLE = 400
#: views remembered; a reloaded page never says its old view closed, so the oldest is forgotten
MAX_VIEWS = 4
#: a catalog of more names than this is resent at most once per CATALOG_INTERVAL seconds
BIG_CATALOG = 1_000
CATALOG_INTERVAL = 1.0
#: bytes of series data in one widget refresh; charts beyond it follow in the next refreshes
BYTES_PER_TICK = int(MAX_BYTES_PER_SECOND * WIDGET_INTERVAL)


# the browser side ---------------------------------------------------------------------------------
@lru_cache(maxsize=1)
def bundled_esm() -> str:
    """The panel's ES module with uPlot and the smoothing module inlined (anywidget loads one module, no build)."""
    uplot = (STATIC_DIR / "uPlot.iife.min.js").read_text(encoding="utf-8")
    smoothing = (STATIC_DIR / "smoothing.js").read_text(encoding="utf-8")
    panel = (STATIC_DIR / "live_panel.js").read_text(encoding="utf-8")
    panel = re.sub(r'^import \{[^}]*\} from "\./smoothing\.js";\s*$', "", panel, flags=re.MULTILINE)
    return f"{uplot}\n{smoothing}\n{panel}"


@lru_cache(maxsize=1)
def panel_css() -> str:
    uplot = (STATIC_DIR / "uPlot.min.css").read_text(encoding="utf-8")
    return uplot + "\n" + (STATIC_DIR / "live_panel.css").read_text(encoding="utf-8")


#: the live charts' colours (static/live_panel.js has the same list)
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#7f7f7f")


def metric_color(name: str) -> str:
    """The colour of ``name``'s chart: a hash of the name, the same in the browser (``colorFor``) and here.

    So a metric keeps its colour for the life of the run, across finish and in the static figures.

    >>> metric_color("train/loss")
    '#d62728'
    """
    value = 0x811C9DC5
    encoded = name.encode("utf-16-le", "surrogatepass")
    for position in range(0, len(encoded), 2):  # FNV-1a over UTF-16 code units, as JS charCodeAt
        value ^= encoded[position] | (encoded[position + 1] << 8)
        value = (value * 0x01000193) & 0xFFFFFFFF
    return PALETTE[value % len(PALETTE)]


def natural_key(name: str) -> tuple[Any, ...]:
    """Sort key that orders the numbers inside names by value: ``metric_2`` before ``metric_10``.

    >>> sorted(["m10", "m2", "M1"], key=natural_key)
    ['M1', 'm2', 'm10']
    """
    parts = re.split(r"(\d+)", name.casefold())
    return (*(int(part) if position % 2 else part for position, part in enumerate(parts)), name)


def plotly_js_path() -> Path:
    """plotly.min.js of the installed plotly package: the panel never fetches it from the internet."""
    import importlib.util

    spec = importlib.util.find_spec("plotly")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("the plotly package is not installed (pip install plotly)")
    return Path(next(iter(spec.submodule_search_locations))) / "package_data" / "plotly.min.js"


@lru_cache(maxsize=1)
def plotly_js_gzipped() -> bytes:
    """plotly.min.js, gzipped (about a third of its size); sent to the browser once.

    Level 1: the first panel's charts wait for this, and level 6 costs twice the time for 15% less.
    """
    return gzip.compress(plotly_js_path().read_bytes(), compresslevel=1, mtime=0)


# the data side ---------------------------------------------------------------------------------------
#: steps below this are exact in float32
_FLOAT32_EXACT = float(2**24)


def build_update(snapshot: FeedSnapshot, points_per_line: int = DEFAULT_POINTS) -> tuple[dict[str, Any], bytes]:
    """Downsamples every metric of ``snapshot`` and packs the columns the browser needs.

    Returns ``(index, data)``. ``data`` is one binary buffer; ``index`` says, per metric, where
    its columns start, how many points each holds, what they are (``step``, ``runtime``,
    ``wall``, ``value`` and ``axis:<step metric>``) and their types: values and step-metric
    columns are float64; times are float32 (``wall`` as seconds after ``index["wall_base"]``),
    and so are steps while they are below 2**24, where float32 is exact. 20 bytes a point. After
    the columns comes the metric's smoothing summary (``downsample.SmoothingSummary`` bytes, at
    ``summary.offset``), from which the browser smooths the full series at the kept points.
    System metrics (``time_axis``) have no ``step`` nor step-metric columns: the browser draws
    them against runtime, or wall time when that is the chosen x-axis.

    >>> feed = LiveFeed(); feed.observe(1, [("h", 0, 100.0, 0.0, {"loss": 1.0})])
    >>> index, data = build_update(feed.snapshot())
    >>> index["metrics"][0]["columns"], index["metrics"][0]["dtypes"], index["metrics"][0]["summary"]["offset"]
    (['step', 'runtime', 'wall', 'value'], ['f4', 'f4', 'f4', 'f8'], 20)
    """
    metrics: list[dict[str, Any]] = []
    chunks: list[bytes] = []
    offset = 0
    total = 0
    first_walls = [float(series.wall_time[0]) for series in snapshot.series.values() if len(series)]
    wall_base = min(first_walls) if first_walls else 0.0
    for name in sorted(snapshot.series, key=natural_key):
        series = snapshot.series[name]
        count = len(series)
        if not count:
            continue
        total += max(series.logged, count)
        # the smoothing summary of the full series beside the envelope: the browser's smoothed line
        # is TensorBoard's EMA of every logged point, not of the ≤ 1,500 kept ones
        kept, summary = min_max_summary(series.value, points_per_line)
        indices = kept if count > points_per_line else None

        def pick(values: np.ndarray, indices: np.ndarray | None = indices) -> np.ndarray:
            return values if indices is None else values[indices]

        columns: list[tuple[str, np.ndarray]] = []
        if not series.time_axis:
            step = pick(series.step)
            step_type = np.float32 if step.size and float(np.abs(step).max()) < _FLOAT32_EXACT else np.float64
            columns.append(("step", step.astype(step_type)))
        columns += [
            ("runtime", pick(series.runtime).astype(np.float32)),
            ("wall", (pick(series.wall_time) - wall_base).astype(np.float32)),
            ("value", np.ascontiguousarray(pick(series.value), dtype=np.float64)),
        ]
        if not series.time_axis:
            columns += [(f"axis:{axis}", pick(values).astype(np.float64)) for axis, values in series.axes.items()]
        size = 0
        for _, column in columns:
            chunks.append(column.tobytes())
            size += column.nbytes
        blob = summary.to_bytes()
        chunks.append(blob)
        metrics.append({
            "name": name, "offset": offset, "count": int(columns[0][1].size), "time_axis": series.time_axis,
            "columns": [label for label, _ in columns],
            "dtypes": ["f4" if column.dtype == np.float32 else "f8" for _, column in columns],
            "total": max(series.logged, count), "step_metric": series.step_metric,
            "summary": {"offset": offset + size, "length": len(blob)},
        })
        offset += size + len(blob)
    index = {
        "metrics": metrics, "axes": list(snapshot.axis_names), "start_time": snapshot.start_time,
        "wall_base": wall_base, "total_points": total, "version": snapshot.version,
    }
    return index, b"".join(chunks)


def sync_status(run: Any) -> str:
    """One line on where the run's data goes, for the panel header."""
    status = getattr(run, "sync_status", None)
    if callable(status):
        status = status()
    if isinstance(status, str) and status:
        return status
    settings = getattr(run, "settings", None)
    if getattr(run, "disabled", False):
        return "disabled: nothing is saved"
    if settings is None:
        return ""
    if getattr(settings, "offline", False):
        return "offline: saved locally"
    if not getattr(settings, "base_url", None):
        return "saved locally (no server configured)"
    return f"syncing to {settings.base_url}"


def run_header(run: Any) -> dict[str, Any]:
    return {
        "name": str(getattr(run, "name", "") or ""),
        "id": str(getattr(run, "id", "") or ""),
        "project": str(getattr(run, "project", "") or ""),
        "state": str(getattr(run, "state", "") or ""),
        "sync": sync_status(run),
    }


# choosing the view ---------------------------------------------------------------------------------
def _kernel_shell() -> Any:
    """The IPython shell when we run inside a Jupyter kernel (not a terminal IPython), else None."""
    if "IPython" not in sys.modules:
        return None
    try:
        from IPython import get_ipython

        shell = get_ipython()
    except Exception:
        return None
    if shell is None or getattr(shell, "kernel", None) is None:
        return None
    return shell


def _widgets_available() -> bool:
    try:
        import anywidget  # noqa: F401
        import ipywidgets  # noqa: F401
    except Exception:
        return False
    return True


def _enable_colab_widgets() -> bool:
    """In Colab, turns on the custom widget manager third-party widgets need; False elsewhere."""
    if "google.colab" not in sys.modules:
        return False
    try:
        from google.colab import output  # type: ignore[import-not-found]

        output.enable_custom_widget_manager()
        return True
    except Exception:
        return False


def choose_mode(requested: str | None, in_kernel: bool, widgets: bool) -> str:
    """``widget``, ``static`` or ``off`` for a requested mode (``auto`` when None).

    ``auto`` picks the widget in a kernel that has ipywidgets and anywidget (its display also
    carries the static figure, so a frontend without widgets still shows charts), the static
    figures in a kernel without them, and nothing outside a kernel.
    """
    mode = (requested or "auto").strip().lower()
    if mode not in MODES:
        raise ValueError(f"live panel mode must be one of {', '.join(MODES)}, not {requested!r}")
    if mode == "off" or not in_kernel:
        return "off"
    if mode == "auto":
        return "widget" if widgets else "static"
    if mode == "widget" and not widgets:
        return "static"
    return mode


@lru_cache(maxsize=1)
def _widget_class() -> type:
    import anywidget
    import traitlets

    class LivePanelWidget(anywidget.AnyWidget):
        """The live panel's widget model; its view is ``static/live_panel.js``."""

        _esm = bundled_esm()
        _css = panel_css()
        header = traitlets.Dict(help="run name, id, project, state and sync status").tag(sync=True)
        _index = traitlets.Dict(help="layout of `_data`: per metric its columns, offset and count").tag(sync=True)
        _data = traitlets.Bytes(b"", help="downsampled float64 columns of every metric").tag(sync=True)
        _media_index = traitlets.Dict(help="layout of `_media_data`: image steps per key, histogram heatmaps").tag(sync=True)
        _media_data = traitlets.Bytes(b"", help="PNG bytes of the kept image steps and float32 heatmaps").tag(sync=True)
        _plotly_gz = traitlets.Bytes(b"", help="gzipped plotly.min.js, sent when a view asks (histogram heatmaps)").tag(sync=True)
        smoothing = traitlets.Float(DEFAULT_SMOOTHING, min=0.0, max=0.999, help="EMA weight").tag(sync=True)
        _catalog = traitlets.Dict(help="every metric's name, its define_metric step metric, and the time-axis ones").tag(sync=True)
        x_axis = traitlets.Unicode("auto", help="auto (define_metric's step metric, else step), step, relative, wall "
                                               "or a step metric").tag(sync=True)
        metric_filter = traitlets.Unicode("", help="regular expression on metric names").tag(sync=True)
        log_scale = traitlets.Bool(False, help="logarithmic y axes").tag(sync=True)
        collapsed_groups = traitlets.List(traitlets.Unicode(), ["system"], help="groups shown folded").tag(sync=True)

        def _handle_msg(self, msg: dict[str, Any]) -> None:
            # the browser's messages arrive on a kernel subshell thread: one at a time with the refresher
            lock = getattr(self, "_message_lock", None)
            with lock if lock is not None else contextlib.nullcontext():
                super()._handle_msg(msg)

    return LivePanelWidget


# the panel -------------------------------------------------------------------------------------------
class LivePanel:
    """A run's live view: the feed, the view (widget or static) and the refresher thread.

    >>> panel = show_live_panel(run)  # doctest: +SKIP
    >>> panel.mode  # doctest: +SKIP
    'widget'
    """

    def __init__(self, run: Any, mode: str, points_per_line: int = DEFAULT_POINTS, show: bool = True) -> None:
        if mode not in ("widget", "static"):
            raise ValueError(f"a live panel is a widget or static view, not {mode!r}")
        self.run = run
        self.mode = mode
        self.points_per_line = points_per_line
        # only the widget has a media row; the static figures leave images and histograms out
        self.media = MediaTrack(getattr(run, "dir", None))
        self.feed = LiveFeed(media=self.media if mode == "widget" else None)
        self._pushed_media_version = 0
        self.widget: Any = None
        self.static_view: StaticLiveView | None = None
        self.handle: Any = None
        self.refreshes = 0
        self.bytes_sent = 0
        self._stop = threading.Event()
        self._stopped = threading.Event()
        # reentrant: a browser message handled under it may push data (after the run finished)
        self._widget_lock = threading.RLock()
        #: view id -> names of the charts that view has on screen (several tabs may show one panel)
        self._views: dict[str, list[str]] = {}
        self._resend: set[str] = set()
        self._view_version = 0
        self._catalog_version = -1
        self._catalog_names: list[str] = []
        self._catalog_keys: dict[str, tuple[Any, ...]] = {}
        self._catalog_sent_at = 0.0
        self._catalog_deferred = False
        #: per chart: (points logged, step metric) when its data was last sent, and the refresh that sent it
        self._sent_marks: dict[str, tuple[int, str | None]] = {}
        self._sent_refresh: dict[str, int] = {}
        self._more_due = False
        #: True when the browser's messages reach the panel while a cell runs (a kernel subshell)
        self.hears_browser_while_busy = False
        self._last_header: dict[str, Any] = {}
        self._interval = WIDGET_INTERVAL if mode == "widget" else STATIC_INTERVAL
        load_earlier = self.feed.attach(run)
        if mode == "widget":
            self.widget = _widget_class()(header=run_header(run))
            self.widget._message_lock = self._widget_lock
            self.widget.on_msg(self._on_browser_message)
            self.hears_browser_while_busy = route_to_subshell(getattr(self.widget, "comm", None))
        else:
            self.static_view = StaticLiveView(points_per_line=points_per_line)
        if show:
            self.show()
        run.on_finish(self._on_finish)
        self._thread = threading.Thread(target=self._loop, args=(load_earlier,),
                                        name=f"jt-live-panel-{getattr(run, 'id', '')}", daemon=True)
        self._thread.start()

    # display ---------------------------------------------------------------------------------------
    def _widget_bundle(self) -> dict[str, Any]:
        return {
            WIDGET_MIMETYPE: {"version_major": 2, "version_minor": 1, "model_id": self.widget.model_id},
            "text/plain": f"<live panel of run {getattr(self.run, 'name', '')}>",
        }

    def show(self) -> None:
        """Displays the view under the running cell (a display handle, so it can be updated in place)."""
        from IPython.display import display

        if self.mode == "widget":
            self.handle = display(self._widget_bundle(), raw=True, display_id=True,
                                  metadata=self._output_metadata("widget"))
        else:
            assert self.static_view is not None
            self.static_view.show(self.feed.snapshot(), run_header(self.run))
            self.handle = self.static_view.handle

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        if self.mode == "widget":
            return self._widget_bundle()
        return static_bundle(self.feed.snapshot(), run_header(self.run), points_per_line=self.points_per_line)

    def _on_browser_message(self, widget: Any, content: Mapping[str, Any], buffers: Any) -> None:
        if not isinstance(content, Mapping):
            return
        kind = content.get("type")
        # plotly.js draws the histogram heatmaps only: a view asks for it when it has one to draw
        # (and no other panel on the page brought it), and says when it has it, so it leaves the state
        if kind == "need-plotly":
            payload = plotly_js_gzipped()
            with self._widget_lock:
                if not self.widget._plotly_gz:
                    self.widget._plotly_gz = payload
        elif kind == "have-plotly":
            with self._widget_lock:
                self.widget._plotly_gz = b""
        elif kind in ("view", "view-closed"):
            self._take_view(content)

    def _take_view(self, content: Mapping[str, Any]) -> None:
        """A view says which charts it has on screen (``visible``) and which it holds no data for (``missing``)."""
        view = str(content.get("view", ""))
        with self._widget_lock:
            if content.get("type") == "view-closed":
                self._views.pop(view, None)
            else:
                visible = content.get("visible")
                missing = content.get("missing")
                names = [name for name in visible if isinstance(name, str)] if isinstance(visible, list) else []
                self._views.pop(view, None)
                self._views[view] = names[:MAX_VISIBLE]
                while len(self._views) > MAX_VIEWS:
                    self._views.pop(next(iter(self._views)))
                if isinstance(missing, list):
                    self._resend.update(name for name in missing[:MAX_VISIBLE] if isinstance(name, str))
            self._view_version += 1
            if self._stopped.is_set():
                # the refresher is gone (run finished): a view opened now still gets its charts
                self.push(None, self._last_header or run_header(self.run), final=True)
                return
        self.feed._changed.set()

    def wanted_metrics(self) -> list[str]:
        """The charts the views have on screen (before any view spoke: the first ones of the catalog)."""
        with self._widget_lock:
            if not self._views:
                return self._catalog_names[:DEFAULT_VISIBLE]
            seen: dict[str, None] = {}
            for names in self._views.values():
                seen.update(dict.fromkeys(names))
            return list(seen)[:MAX_VISIBLE]

    # refreshing ------------------------------------------------------------------------------------
    def _loop(self, load_earlier: Any) -> None:
        try:
            load_earlier()
        except Exception as error:
            console.warn_once("live-panel-history", f"the live panel could not read the run's earlier history ({error})")
        pushed_version: tuple[int, int] = (-1, -1)
        last_push = 0.0
        try:
            while not self._stop.is_set():
                self.feed.wait_for_change(timeout=1.0)
                wait = last_push + self._interval - time.monotonic()
                if wait > 0 and self._stop.wait(wait):
                    break
                # the widget reads only the charts on screen; a full snapshot is for the static view
                snapshot = self.feed.snapshot() if self.mode == "static" else None
                header = run_header(self.run)
                version = (self.feed.version, self._view_version)
                if version == pushed_version and header == self._last_header and not self._more_due:
                    continue
                began = time.monotonic()
                sent = self.push(snapshot, header)
                pushed_version = version
                last_push = time.monotonic()
                # stay a small share of the kernel: a slow refresh (huge series) or a big one (a
                # remote browser) pushes the next one further out
                cost = last_push - began
                last_push += max(0.0, MAX_CPU_SHARE_FACTOR * cost - self._interval)
                if self.mode == "widget" and sent > MAX_BYTES_PER_SECOND * WIDGET_INTERVAL:
                    last_push += sent / MAX_BYTES_PER_SECOND - WIDGET_INTERVAL
            self.push(self.feed.snapshot() if self.mode == "static" else None, run_header(self.run), final=True)
        except Exception as error:
            console.warn_once("live-panel", f"the live panel stopped updating ({type(error).__name__}: {error}); "
                                            "logging goes on")
        finally:
            self._stopped.set()

    def _catalog_update(self, final: bool = False) -> dict[str, Any] | None:
        """Every metric's name (natural order) when a metric appeared since the last refresh, else None.

        A big catalog goes out at most once a second (names that trickle in, one a step, would
        otherwise resend 10,000 names 4 times a second); names seen before keep their sort keys.
        """
        version = self.feed.names_version
        if version == self._catalog_version:
            return None
        now = time.monotonic()
        if not final and len(self._catalog_names) > BIG_CATALOG and now - self._catalog_sent_at < CATALOG_INTERVAL:
            self._catalog_deferred = True
            return None
        self._catalog_deferred = False
        self._catalog_sent_at = now
        keys = self._catalog_keys
        entries = self.feed.catalog()
        for name, _, _ in entries:
            if name not in keys:
                keys[name] = natural_key(name)
        entries.sort(key=lambda entry: keys[entry[0]])
        names = [name for name, _, _ in entries]
        with self._widget_lock:
            self._catalog_version = version
            self._catalog_names = names
        return {
            "version": version, "names": names,
            "step_metric": {name: step_metric for name, step_metric, _ in entries if step_metric},
            "time_axis": [name for name, _, time_axis in entries if time_axis],
        }

    def _due_series(self, final: bool) -> FeedSnapshot:
        """The on-screen charts whose data changed since they were last sent, within the byte budget.

        Charts waiting longest go first, so a screen fuller than one refresh's budget is sent
        round-robin; ``final`` sends every on-screen chart whatever its mark, without a budget.
        """
        wanted = self.wanted_metrics()
        with self._widget_lock:
            for name in self._resend:
                self._sent_marks.pop(name, None)
            self._resend.clear()
        snapshot = self.feed.snapshot(wanted)
        changed = [name for name, series in snapshot.series.items()
                   if len(series) and (final or self._sent_marks.get(name) != (series.logged, series.step_metric))]
        changed.sort(key=lambda name: self._sent_refresh.get(name, -1))
        budget = BYTES_PER_TICK
        due: dict[str, Any] = {}
        for name in changed:
            series = snapshot.series[name]
            # columns, plus the smoothing summary: ~13 B a point, ~40 B a kept point of a long series
            summary_bytes = 13 if len(series) <= self.points_per_line else 40
            cost = min(len(series), self.points_per_line) * (28 + 8 * len(series.axes) + summary_bytes)
            if due and cost > budget and not final:
                break
            budget -= cost
            due[name] = series
        self._more_due = len(due) < len(changed)
        for name, series in due.items():
            self._sent_marks[name] = (series.logged, series.step_metric)
            self._sent_refresh[name] = self.refreshes
        return FeedSnapshot(snapshot.version, due, snapshot.axis_names, snapshot.start_time, snapshot.finished)

    def push(self, snapshot: FeedSnapshot | None, header: Mapping[str, Any], final: bool = False) -> int:
        """Sends one refresh to the view; returns the bytes of data sent.

        The widget sends its own selection (the charts on screen) and ignores ``snapshot``.
        """
        self._last_header = dict(header)
        if self.mode == "widget":
            with self._widget_lock:
                catalog = self._catalog_update(final)
                index, data = build_update(self._due_series(final), self.points_per_line)
                self._more_due = self._more_due or self._catalog_deferred
            if self._more_due:
                self.feed._changed.set()  # the rest follows at the next refresh, new records or not
            index["total_points"] = self.feed.points_logged
            index["metric_count"] = len(self._catalog_names)
            index["refresh"] = self.refreshes
            media_version = self.media.version
            media: tuple[dict[str, Any], bytes] | None = None
            if media_version != self._pushed_media_version or (final and media_version):
                media = build_media_update(self.media, final=final)
                self._pushed_media_version = media_version
            with self._widget_lock, self.widget.hold_sync():
                if catalog is not None:
                    self.widget._catalog = catalog
                self.widget._index = index
                self.widget._data = data
                if media is not None:
                    self.widget._media_index, self.widget._media_data = media
                self.widget.header = dict(header)
                if final:
                    # the browser has it by now; keep it out of saved widget state
                    self.widget._plotly_gz = b""
            sent = len(data) + (len(media[1]) if media is not None else 0)
        else:
            assert self.static_view is not None and snapshot is not None
            if final:
                return 0  # the finish hook shows the final figure from the finishing cell
            self.static_view.update(snapshot, header)
            sent = 0
        self.refreshes += 1
        self.bytes_sent += sent
        return sent

    def stop(self, timeout: float = 5.0) -> None:
        """Stops the refresher after one last refresh."""
        self._stop.set()
        self.feed._changed.set()
        if self._thread is not threading.current_thread():
            self._stopped.wait(timeout)

    def _on_finish(self, run: Any) -> None:
        """At ``finish()``: a last refresh, then the final static figure in the display handle."""
        try:
            self.stop()
            self._show_final()
        except Exception as error:
            console.warn_once("live-panel-final", f"could not draw the final live chart ({type(error).__name__}: {error})")

    def _show_final(self) -> None:
        """The final static charts (the widget's smoothing, x-axis and log scale) into the panel's display.

        The widget stays the view where widgets render; frontends without it, and a notebook
        saved by a Jupyter server with this package's save hook (``saved_notebook``), show the
        static figure: the charts mimetype where the labextension is installed (smoothing without
        a kernel), else plotly or the HTML with SVG. The output is marked in its metadata so the
        hook finds it.
        """
        if self.handle is None:
            return
        snapshot = self.feed.snapshot()
        header = run_header(self.run)
        smoothing = float(self.widget.smoothing) if self.widget is not None else DEFAULT_SMOOTHING
        log_scale = bool(getattr(self.widget, "log_scale", False))
        x_axis = str(getattr(self.widget, "x_axis", "auto") or "auto")
        bundle = static_bundle(snapshot, header, smoothing, self.points_per_line, log_scale, x_axis)
        view = "final-static"
        if self.mode == "widget":
            # the widget's view ranks first while its kernel holds the model; the save hook keeps the rest
            fallback = {mimetype: bundle[mimetype] for mimetype in (CHARTS_MIMETYPE, PLOTLY_MIMETYPE, "text/html")
                        if mimetype in bundle}
            bundle = {**self._widget_bundle(), **fallback}
            view = "widget-with-final-static"
        self.handle.update(bundle, raw=True, metadata=self._output_metadata(view))

    def _output_metadata(self, view: str) -> dict[str, Any]:
        """The output's marker, with the run's directory (absolute) and id: a notebook saved while the
        run goes gets its charts from the run's log through the save hook (``saved_notebook``)."""
        run_dir = str(getattr(self.run, "dir", "") or "")
        return {OUTPUT_MARKER: {"view": view, "run_dir": str(Path(run_dir).absolute()) if run_dir else "",
                                "run_id": str(getattr(self.run, "id", "") or "")}}


def show_live_panel(run: Any, mode: str | None = None) -> LivePanel | None:
    """Shows ``run``'s live panel under the running cell and returns it (None when off or impossible).

    ``mode`` overrides ``run.settings.live``: ``auto`` (widget where widgets work, else static
    figures), ``widget``, ``static`` or ``off``. Never raises: a failure is one console warning.

    >>> run = jupyter_tracker.init(project="mnist")  # doctest: +SKIP
    >>> show_live_panel(run, mode="static")  # doctest: +SKIP
    """
    try:
        if getattr(run, "disabled", False):
            return None
        requested = mode if mode is not None else getattr(getattr(run, "settings", None), "live", "auto")
        in_kernel = _kernel_shell() is not None
        widgets = in_kernel and (requested or "auto") in ("auto", "widget") and _widgets_available()
        chosen = choose_mode(requested, in_kernel, widgets)
        if chosen == "off":
            return None
        if chosen == "widget":
            _enable_colab_widgets()
        return LivePanel(run, chosen)
    except Exception as error:
        console.warn_once("live-panel-start", f"could not show the live panel ({type(error).__name__}: {error}); "
                                              "the run is logged as usual")
        return None
