"""What a notebook saved through a Jupyter server shows without its kernel: the live panel's charts.

A widget output renders only while its kernel holds the widget's model. JupyterLab and
Notebook 7 prefer the widget view to every other representation a trusted output carries, so a
saved notebook reopened without its kernel shows "Error displaying widget: model not found"
where the charts were, although the output also holds the final static figure. This module is
a Jupyter server extension that hooks every notebook save: in the copy written to disk, the
live panel's widget outputs keep only their static representations (the plotly figure and the
HTML+SVG charts the panel puts there at ``finish()``); a panel saved while its run is still
going becomes one line saying so. The runs table's widget likewise keeps its HTML table. The
notebook open in the browser keeps its live widgets.

Enabled by ``jupyter-config/jupyter_server_config.d/jupyter_tracker.json``, which the wheel
installs into the environment's ``etc/jupyter``; by hand:
``jupyter server extension enable jupyter_tracker.notebook.saved_notebook``.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any

__all__ = ["WIDGET_MIMETYPE", "pre_save_hook", "static_outputs"]

WIDGET_MIMETYPE = "application/vnd.jupyter.widget-view+json"
#: the output metadata key the live panel marks its displays with (live_static.OUTPUT_MARKER)
OUTPUT_MARKER = "jupyter_tracker"
#: how this package's widget outputs start their text/plain representation: the live panel
#: (live_panel.py) and the runs table (runs_table.py, whose HTML table is its static form)
WIDGET_TEXT_PREFIXES = ("<live panel of run", "<RunsTable ")
_STATIC_MIMETYPES = ("application/vnd.plotly.v1+json", "text/html", "image/png", "image/svg+xml")


def _text(value: Any) -> str:
    return "".join(value) if isinstance(value, list) else str(value or "")


def _is_ours(output: Mapping[str, Any]) -> bool:
    data = output.get("data") or {}
    if WIDGET_MIMETYPE not in data:
        return False
    metadata = output.get("metadata") or {}
    return OUTPUT_MARKER in metadata or _text(data.get("text/plain")).startswith(WIDGET_TEXT_PREFIXES)


def _without_widget(output: dict[str, Any]) -> None:
    data = dict(output["data"])
    data.pop(WIDGET_MIMETYPE, None)
    metadata = dict(output.get("metadata") or {})
    metadata.pop(WIDGET_MIMETYPE, None)
    if not any(mimetype in data for mimetype in _STATIC_MIMETYPES):
        plain = _text(data.get("text/plain")).strip("<>") or "live panel"
        note = f"{plain}: saved while the run was going; its charts are saved once the run finishes"
        data = {"text/plain": note,
                "text/html": f'<div class="jt-live-static" style="font:12px sans-serif;color:gray">{html.escape(note)}</div>'}
    output["data"] = data
    output["metadata"] = metadata


def static_outputs(notebook: Mapping[str, Any]) -> int:
    """Turns this package's widget outputs of ``notebook`` (nbformat 4 JSON) into their static forms.

    Returns how many outputs changed; other outputs, other widgets included, are left alone.

    >>> cell = {"cell_type": "code", "source": "", "outputs": [{"output_type": "display_data", "metadata": {},
    ...     "data": {WIDGET_MIMETYPE: {"model_id": "m"}, "text/plain": "<live panel of run r>", "text/html": "<svg/>"}}]}
    >>> static_outputs({"cells": [cell]}), sorted(cell["outputs"][0]["data"])
    (1, ['text/html', 'text/plain'])
    """
    changed = 0
    for cell in notebook.get("cells") or []:
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        for output in cell.get("outputs") or []:
            if isinstance(output, dict) and isinstance(output.get("data"), dict) and _is_ours(output):
                _without_widget(output)
                changed += 1
    return changed


def pre_save_hook(model: dict[str, Any], path: str = "", contents_manager: Any = None, **kwargs: Any) -> None:
    """A Jupyter contents manager pre-save hook: notebooks go to disk with static live charts."""
    if model.get("type") == "notebook" and isinstance(model.get("content"), dict):
        changed = static_outputs(model["content"])
        log = getattr(contents_manager, "log", None)
        if changed and log is not None:
            log.debug("jupyter_tracker: %d live panel output(s) of %s saved as static charts", changed, path)


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    return [{"module": "jupyter_tracker.notebook.saved_notebook"}]


def _load_jupyter_server_extension(serverapp: Any) -> None:
    """Registers :func:`pre_save_hook` with the server's contents manager."""
    serverapp.contents_manager.register_pre_save_hook(pre_save_hook)
