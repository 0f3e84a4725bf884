"""What a notebook saved through a Jupyter server shows without its kernel: the live panel's charts.

A widget output renders only while its kernel holds the widget's model. JupyterLab and
Notebook 7 prefer the widget view to every other representation a trusted output carries, so a
saved notebook reopened without its kernel shows "Error displaying widget: model not found"
where the charts were, although the output also holds the final static figure. This module is
a Jupyter server extension that hooks every notebook save: in the copy written to disk, the
live panel's widget outputs keep only their static representations (the labextension's charts
mimetype, the plotly figure and the HTML+SVG charts the panel puts there at ``finish()``). A panel saved while its run is still
going (by hand, by autosave, or after the kernel died) has no static figure yet: its output names
the run's directory, and the hook draws the charts from the run's log in the local store
(``midrun_charts``: bounded time, remembered between saves), titled "as of step N, run still
going". Where that cannot be done in time, or fails, the panel becomes one line saying so (the
reason goes to the server's log); a save never fails because of this hook. The runs table's
widget likewise keeps its HTML table. The notebook open in the browser keeps its live widgets.

The hook imports no chart code until a notebook holds a panel saved mid-run: a server pays
nothing at start-up.

Enabled by ``jupyter-config/jupyter_server_config.d/jupyter_tracker.json``, which the wheel
installs into the environment's ``etc/jupyter``; by hand:
``jupyter server extension enable jupyter_tracker.notebook.saved_notebook``.
"""

from __future__ import annotations

import html
import time
from collections.abc import Mapping
from typing import Any

__all__ = ["CHARTS_MIMETYPE", "WIDGET_MIMETYPE", "pre_save_hook", "static_outputs"]

WIDGET_MIMETYPE = "application/vnd.jupyter.widget-view+json"
#: the output metadata key the live panel marks its displays with (live_static.OUTPUT_MARKER)
OUTPUT_MARKER = "jupyter_tracker"
#: how this package's widget outputs start their text/plain representation: the live panel
#: (live_panel.py) and the runs table (runs_table.py, whose HTML table is its static form)
WIDGET_TEXT_PREFIXES = ("<live panel of run", "<RunsTable ")
#: seconds a save may spend drawing the charts of live panels saved mid-run from their runs' logs
TIME_BUDGET_S = 1.0
#: the labextension's mimetype of a run's charts (``jupyter_tracker.lab.charts_mime.CHARTS_MIMETYPE``, not
#: imported: the hook loads no chart code): drawn with a smoothing slider and no kernel where the extension is
CHARTS_MIMETYPE = "application/vnd.jupyter-tracker.charts+json"
_STATIC_MIMETYPES = (CHARTS_MIMETYPE, "application/vnd.plotly.v1+json", "text/html", "image/png", "image/svg+xml")


def _text(value: Any) -> str:
    return "".join(value) if isinstance(value, list) else str(value or "")


def _is_ours(output: Mapping[str, Any]) -> bool:
    data = output.get("data") or {}
    if WIDGET_MIMETYPE not in data:
        return False
    metadata = output.get("metadata") or {}
    return OUTPUT_MARKER in metadata or _text(data.get("text/plain")).startswith(WIDGET_TEXT_PREFIXES)


def _note(data: Mapping[str, Any], reason: str = "") -> dict[str, Any]:
    """The one line a panel saved mid-run becomes when its charts cannot be drawn."""
    plain = _text(data.get("text/plain")).strip("<>") or "live panel"
    note = f"{plain}: saved while the run was going; its charts are saved once the run finishes"
    if reason:
        note = f"{note} ({reason})"
    return {"text/plain": note,
            "text/html": f'<div class="jt-live-static" style="font:12px sans-serif;color:gray">{html.escape(note)}</div>'}


def _charts_from_log(marker: dict[str, Any], data: Mapping[str, Any], saving: _Saving) -> dict[str, Any]:
    """The static charts of the panel's run as its log stands (marking the output), else the note."""
    run_dir = marker.get("run_dir")
    if not isinstance(run_dir, str) or not run_dir:
        return _note(data)
    try:
        from jupyter_tracker.notebook import midrun_charts

        charts = midrun_charts.charts_of_run(run_dir, max(0.0, saving.deadline - time.monotonic()))
    except Exception as error:
        not_ready = type(error).__name__ == "NotReady"
        if saving.log is not None:
            (saving.log.info if not_ready else saving.log.warning)(
                "jupyter_tracker: the live panel of run %s in %s is saved without charts: %s: %s",
                marker.get("run_id", "?"), saving.path, type(error).__name__, error)
        return _note(data, "its log is still being read" if not_ready else "its run's log could not be read")
    marker.update(view="saved-mid-run" if not charts.finished else "saved-from-log", as_of_step=charts.step,
                  run_state=charts.state)
    return dict(charts.bundle)


class _Saving:
    """One save: where it goes, the server's logger and the time left for drawing charts from run logs."""

    def __init__(self, path: str, log: Any, time_budget: float) -> None:
        self.path = path
        self.log = log
        self.deadline = time.monotonic() + time_budget

    def warn(self, error: BaseException) -> None:
        if self.log is not None:
            self.log.warning("jupyter_tracker: a live panel output of %s is saved as a note: %s: %s",
                             self.path, type(error).__name__, error)


def _without_widget(output: dict[str, Any], saving: _Saving) -> None:
    data = dict(output["data"])
    data.pop(WIDGET_MIMETYPE, None)
    metadata = dict(output.get("metadata") or {})
    metadata.pop(WIDGET_MIMETYPE, None)
    if not any(mimetype in data for mimetype in _STATIC_MIMETYPES):
        marker = metadata.get(OUTPUT_MARKER)
        if isinstance(marker, dict):
            marker = metadata[OUTPUT_MARKER] = dict(marker)
            data = _charts_from_log(marker, data, saving)
        else:
            data = _note(data)
    output["data"] = data
    output["metadata"] = metadata


def static_outputs(notebook: Mapping[str, Any], log: Any = None, path: str = "",
                   time_budget: float = TIME_BUDGET_S) -> int:
    """Turns this package's widget outputs of ``notebook`` (nbformat 4 JSON) into their static forms.

    Returns how many outputs changed; other outputs, other widgets included, are left alone. A
    live panel saved mid-run gets its run's charts from the run's log, read for ``time_budget``
    seconds at most over the whole notebook; what goes wrong goes to ``log`` (a ``logging.Logger``).

    >>> cell = {"cell_type": "code", "source": "", "outputs": [{"output_type": "display_data", "metadata": {},
    ...     "data": {WIDGET_MIMETYPE: {"model_id": "m"}, "text/plain": "<live panel of run r>", "text/html": "<svg/>"}}]}
    >>> static_outputs({"cells": [cell]}), sorted(cell["outputs"][0]["data"])
    (1, ['text/html', 'text/plain'])
    """
    changed = 0
    saving = _Saving(path, log, time_budget)
    for cell in notebook.get("cells") or []:
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        for output in cell.get("outputs") or []:
            if isinstance(output, dict) and isinstance(output.get("data"), dict) and _is_ours(output):
                try:
                    _without_widget(output, saving)
                except Exception as error:  # an odd output: the note, never the widget nor a failed save
                    saving.warn(error)
                    output["data"] = _note(output["data"], "its output could not be read")
                changed += 1
    return changed


def pre_save_hook(model: dict[str, Any], path: str = "", contents_manager: Any = None, **kwargs: Any) -> None:
    """A Jupyter contents manager pre-save hook: notebooks go to disk with static live charts."""
    if model.get("type") != "notebook" or not isinstance(model.get("content"), dict):
        return
    log = getattr(contents_manager, "log", None)
    try:
        changed = static_outputs(model["content"], log, path)
    except Exception as error:  # the notebook must be saved whatever happens here
        if log is not None:
            log.warning("jupyter_tracker: live panel outputs of %s saved as they are: %s: %s",
                        path, type(error).__name__, error, exc_info=True)
        return
    if changed and log is not None:
        log.debug("jupyter_tracker: %d live panel output(s) of %s saved as static charts", changed, path)


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    return [{"module": "jupyter_tracker.notebook.saved_notebook"}]


def _load_jupyter_server_extension(serverapp: Any) -> None:
    """Registers :func:`pre_save_hook` with the server's contents manager."""
    serverapp.contents_manager.register_pre_save_hook(pre_save_hook)
