"""The report as a notebook widget: drawn from the runs, redrawn in place when the Python object
changes, and changed by what the user does in it.

Python -> browser: the widget holds the rendered body (:func:`.html.render_body`); after every
cell that changes the displayed report (``report.blocks.append(...)``,
``report.blocks[2].panels[0].y = [...]``) it renders again, in place. Browser -> Python: the
smoothing slider, a run set's filter box, a panel's move/remove buttons and a markdown block's
editor send messages that change the ``Report`` itself, so ``report.save()`` stores what the user
sees. The display carries a ``text/html`` static fallback and the ``jupyter_tracker`` output
metadata marker, so a saved notebook shows the report without its kernel.
"""

from __future__ import annotations

import re
import threading
import weakref
from functools import lru_cache
from typing import Any

import anywidget
import traitlets

from jupyter_tracker.reports import model
from jupyter_tracker.reports.html import SHARED_STATIC_DIR, STATIC_DIR, render_body, report_css

#: output metadata key the saved-notebook hook looks for (saved_notebook.OUTPUT_MARKER)
OUTPUT_MARKER = "jupyter_tracker"
#: seconds between renders while runs of the report are still running
LIVE_INTERVAL = 5.0
_LIVE: weakref.WeakSet[ReportWidget] = weakref.WeakSet()
_HOOKED: list[Any] = []


@lru_cache(maxsize=1)
def widget_esm() -> str:
    """uPlot, the shared smoothing module, the chart code and the widget glue as one ES module."""
    uplot = (SHARED_STATIC_DIR / "uPlot.iife.min.js").read_text(encoding="utf-8")
    smoothing = (SHARED_STATIC_DIR / "smoothing.js").read_text(encoding="utf-8")
    smoothing = re.sub(r"^export function ", "function ", smoothing, flags=re.MULTILINE)
    charts = (STATIC_DIR / "report_charts.js").read_text(encoding="utf-8")
    glue = (STATIC_DIR / "report_widget.js").read_text(encoding="utf-8")
    return f"{uplot}\n{smoothing}\n{charts}\n{glue}"


class ReportWidget(anywidget.AnyWidget):  # type: ignore[misc]
    """One displayed report. ``report`` is the object it shows and edits.

    >>> widget = ReportWidget(model.Report("mnist", blocks=[model.H1("Hi")]), api=None)  # doctest: +SKIP
    """

    _esm = traitlets.Unicode(widget_esm()).tag(sync=True)
    _css = traitlets.Unicode(report_css()).tag(sync=True)
    body = traitlets.Unicode("", help="the rendered report (HTML built with every value escaped)").tag(sync=True)
    error = traitlets.Unicode("", help="why the last edit from the browser was not applied").tag(sync=True)
    painted_ms = traitlets.Float(0.0, help="how long the browser took to draw the last body (ms)")

    def __init__(self, report: model.Report, api: Any = None, live_interval: float = LIVE_INTERVAL,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.report = report
        self.api = api
        self.live_interval = live_interval
        self._snapshot = ""
        #: finished runs' histories, read once for every render of this widget
        self._series_cache: dict[Any, Any] = {}
        #: run sets' listings, listed again only when the run index changes
        self._listing_cache: dict[Any, Any] = {}
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._follower: threading.Thread | None = None
        self.on_msg(self._on_browser_message)
        self.refresh()
        _LIVE.add(self)
        _watch_cells()

    def refresh(self) -> None:
        """Renders the report again from the runs (also after a browser edit)."""
        with self._lock:
            self._snapshot = self.report.to_json()
            self.body = render_body(self.report, self._api(), editable=True, series_cache=self._series_cache,
                                     listing_cache=self._listing_cache)
        if self.running_runs() and (self._follower is None or not self._follower.is_alive()):
            self._follower = threading.Thread(target=self._follow, name="jt-report-live", daemon=True)
            self._follower.start()

    def running_runs(self) -> int:
        """How many runs of the report's run sets are still running (their panels then follow them)."""
        backend = self._api().backend
        projects = {(runset.entity or self.report.entity or None, runset.project or self.report.project)
                    for block in self.report.blocks if isinstance(block, model.PanelGrid)
                    for runset in (block.runsets or [model.Runset()])}
        try:
            return sum(backend.list_runs(entity, project or None, {"state": "running"}, None, 1).total()
                       for entity, project in projects)
        except Exception:  # noqa: BLE001 - a store that cannot answer just stops the live updates
            return 0

    def _follow(self) -> None:
        """While runs are running, renders again every ``live_interval`` seconds; then once more and stops."""
        while not self._stop.wait(self.live_interval):
            running = self.running_runs()
            try:
                self._api().flush()
                with self._lock:
                    self.body = render_body(self.report, self._api(), editable=True,
                                            series_cache=self._series_cache, listing_cache=self._listing_cache)
            except Exception as error:  # noqa: BLE001 - say why on the widget, keep the last drawing
                self.error = f"cannot update the report: {error}"
            if not running:
                return

    def close(self) -> None:
        self._stop.set()
        super().close()

    def refresh_if_changed(self) -> bool:
        """Renders again when the Python object changed since the last render; True when it did."""
        if self.report.to_json() == self._snapshot:
            return False
        self.refresh()
        return True

    def _api(self) -> Any:
        if self.api is None:
            from jupyter_tracker.api import Api

            self.api = Api()
        return self.api

    # browser -> Python ----------------------------------------------------------------------------
    def _on_browser_message(self, _widget: Any, content: Any, _buffers: Any) -> None:
        if not isinstance(content, dict):
            return
        try:
            redraw = apply_edit(self.report, content)
        except (IndexError, KeyError, TypeError, ValueError) as error:
            self.error = f"edit not applied: {error}"
            return
        if content.get("kind") == "painted":
            self.painted_ms = float(content.get("milliseconds") or 0.0)
            return
        self.error = ""
        if redraw:
            self.refresh()
        else:
            self._snapshot = self.report.to_json()  # the browser already shows it

    def static_html(self) -> str:
        """What a saved notebook shows without a kernel: the rendered report with its styles."""
        body = render_body(self.report, self._api(), static=True, series_cache=self._series_cache,
                           listing_cache=self._listing_cache)
        return f'<style>{_static_css()}</style><div class="jt-report">{body}</div>'

    def _repr_mimebundle_(self, **kwargs: Any) -> tuple[dict[str, Any], dict[str, Any]]:
        bundle = super()._repr_mimebundle_(**kwargs)
        data, metadata = bundle if isinstance(bundle, tuple) else (bundle, {})
        data = dict(data or {})
        data["text/html"] = self.static_html()
        data["text/plain"] = f"<Report {self.report.title!r} of project {self.report.project!r}>"
        metadata = dict(metadata or {})
        metadata[OUTPUT_MARKER] = {"kind": "report", "id": self.report.id}
        return data, metadata


@lru_cache(maxsize=1)
def _static_css() -> str:
    return (STATIC_DIR / "report.css").read_text(encoding="utf-8")


def _panel_list(report: model.Report, content: dict[str, Any]) -> list[model.Panel]:
    block = report.blocks[int(content["block"])]
    if not isinstance(block, model.PanelGrid):
        raise ValueError(f"block {content['block']} is not a panel grid")
    return block.panels


def apply_edit(report: model.Report, content: dict[str, Any]) -> bool:
    """Applies one edit made in the browser to ``report``; True when the widget must render again."""
    kind = content.get("kind")
    if kind == "smoothing":
        panel = _panel_list(report, content)[int(content["panel"])]
        if not isinstance(panel, model.LinePlot):
            raise ValueError("only a line plot has smoothing")
        weight = float(content["weight"])
        if not 0 <= weight < 1:
            raise ValueError(f"smoothing weight {weight} is not in [0, 1)")
        panel.smoothing_factor = round(weight, 3)
        return False
    if kind == "filter":
        block = report.blocks[int(content["block"])]
        if not isinstance(block, model.PanelGrid):
            raise ValueError(f"block {content['block']} is not a panel grid")
        index = int(content["runset"])
        if not block.runsets and index == 0:
            block.runsets.append(model.Runset(project=report.project))
        block.runsets[index].filters = str(content["text"]).strip()
        return True
    if kind == "move_panel":
        panels = _panel_list(report, content)
        index = int(content["panel"])
        target = min(max(index + int(content["step"]), 0), len(panels) - 1)
        panels.insert(target, panels.pop(index))
        return True
    if kind == "remove_panel":
        panels = _panel_list(report, content)
        del panels[int(content["panel"])]
        return True
    if kind == "markdown":
        block = report.blocks[int(content["block"])]
        if not isinstance(block, (model.MarkdownBlock, model.P)):
            raise ValueError(f"block {content['block']} is not markdown text")
        block.text = str(content["text"])
        return True
    return False


def _refresh_changed(*_args: Any) -> None:
    for widget in list(_LIVE):
        try:
            widget.refresh_if_changed()
        except Exception as error:  # noqa: BLE001 - a report that cannot render says why, the cell is done
            widget.error = f"cannot render the report: {error}"


def _watch_cells() -> None:
    """After each cell, widgets whose report changed render again (registered once per shell)."""
    if _HOOKED:
        return
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython is a dependency
        return
    shell = get_ipython()
    if shell is None:
        return
    shell.events.register("post_run_cell", _refresh_changed)
    _HOOKED.append(shell)


def show(report: model.Report, api: Any = None) -> ReportWidget:
    """The widget for ``report`` (display it, or let the cell's last value show it)."""
    return ReportWidget(report, api=api)
