"""The ``application/vnd.jupyter-tracker.charts+json`` output: a run's charts kept inside a notebook.

A notebook output holding this mimetype is drawn by the labextension's MIME renderer (smoothing
slider, x-axis choice, log scale) from the data in the notebook alone: no kernel, no server
extension, after the run's process is gone and in a fresh JupyterLab session. The payload is the
run page's (:func:`jupyter_tracker.lab.run_views.run_page`) plus the smoothing weight and x-axis to
start with, so the live panel's final figure can carry it beside its plotly and HTML fallbacks.
"""

from __future__ import annotations

from typing import Any

#: the mimetype the labextension renders (JupyterLab picks it over text/html when the extension is installed)
CHARTS_MIMETYPE = "application/vnd.jupyter-tracker.charts+json"
#: bumped when the payload changes shape; the renderer reads version 1
CHARTS_VERSION = 1


def charts_payload(page: dict[str, Any], smoothing: float = 0.6, x_axis: str = "_step") -> dict[str, Any]:
    """The mimetype's JSON for a run page's data (``run_views.run_page``), starting at ``smoothing`` and ``x_axis``."""
    if not 0 <= smoothing < 1:
        raise ValueError(f"smoothing must be in [0, 1), got {smoothing}")
    if x_axis not in page.get("axes", ()):
        raise ValueError(f"x_axis must be one of {page.get('axes')}, got {x_axis!r}")
    return {"version": CHARTS_VERSION, **page, "smoothing": smoothing, "x_axis": x_axis}


def charts_bundle(backend: Any, project: str, run_id: str, smoothing: float = 0.6, x_axis: str = "_step") -> dict[str, Any]:
    """A display bundle (mimetype -> data) of a stored run's charts: ``IPython.display.display(bundle, raw=True)``."""
    from jupyter_tracker.lab.run_views import run_page

    page = run_page(backend, project, run_id)
    run = page["run"]
    metrics = ", ".join(page["metrics"]) or "no metrics"
    return {
        CHARTS_MIMETYPE: charts_payload(page, smoothing, x_axis),
        "text/plain": f"<charts of run {run['name']} ({run['id']}): {metrics}>",
    }
