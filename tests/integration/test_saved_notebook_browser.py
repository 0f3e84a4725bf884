"""Saved notebooks and static mode in real JupyterLab 4, driven by Playwright with Debian's Chromium.

1. Static mode (``JUPYTER_TRACKER_LIVE=static``): the charts under the ``init`` cell change
   while the training cell is still running, the final figure replaces them at ``finish()``,
   and the saved notebook holds it within the size bound.
2. A saved notebook reopened without its kernel: run ``notebooks/quickstart.ipynb`` in the
   widget view, save it, stop the server, and open the file in a new JupyterLab that has no
   kernel to give it. Its charts are visible and no "Error displaying widget" shows. The
   screenshot is ``test-artifacts/reopened_notebook.png``. The saved file also converts to
   HTML (nbconvert) with its SVG charts, and Notebook 7 (where installed) shows them too
   (``test-artifacts/reopened_notebook7.png``).
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from tests.integration.lab_helpers import (
    ARTIFACTS,
    BROWSER_MARKS,
    CELL_PROMPTS,
    NO_KERNEL,
    PLOTLY,
    ROOT,
    SAVED_CHARTS_SHOWN,
    WIDGET,
    Lab,
    open_and_run_all,
    open_without_kernel,
    save_notebook,
    wait_for_all_cells,
    wait_until,
)

pytestmark = BROWSER_MARKS


def quickstart_copy(work: Path) -> str:
    """``notebooks/quickstart.ipynb`` copied into ``work``."""
    name = "quickstart.ipynb"
    shutil.copy(ROOT / "notebooks" / name, work / name)
    return name


STATIC_CHART = """() => {
  const cell = window.jupyterapp.shell.currentWidget.content.widgets.filter((c) => c.model.type === 'code')[0];
  const charts = cell.node.querySelectorAll('.jt-live-static svg[aria-label="train/loss"] polyline');
  return Array.from(charts, (line) => line.getAttribute('points')).join('|');
}"""


def test_static_mode_redraws_during_the_run_in_jupyterlab(browser: Any, tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    name = quickstart_copy(work)
    path = work / name
    lab = Lab(work, tmp_path, env={"JUPYTER_TRACKER_LIVE": "static"})  # the kernel inherits the server's environment
    try:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        open_and_run_all(page, lab.url(name))
        first = wait_until(lambda: page.evaluate(STATIC_CHART), 120, "no static chart of train/loss appeared")
        assert "[*]" in page.evaluate(CELL_PROMPTS)[2], "the training cell ended before the chart was read"
        changed = wait_until(lambda: (lambda now: now if now and now != first else None)(page.evaluate(STATIC_CHART)),
                             60, "the static chart did not change while the training cell ran")
        prompts = page.evaluate(CELL_PROMPTS)
        assert "[*]" in prompts[2], f"the chart changed only after the training cell ended: {prompts}"
        assert len(changed) != len(first) or changed != first
        page.locator(".jt-live-static").first.screenshot(path=str(ARTIFACTS / "static_mode_running.png"))
        wait_for_all_cells(page, 180)
        # the final figure: plotly where its renderer is installed, else the SVG charts
        page.wait_for_function(
            "() => document.querySelector('.jp-OutputArea .js-plotly-plot .main-svg')"
            " || document.querySelector('.jt-live-static svg[aria-label=\"val/acc\"]')", timeout=60_000)
        assert not page.query_selector("text=Error displaying widget")
        check_charts_drawn(page)
        # saved, it holds the final figure (plus the PNG snapshot JupyterLab's plotly renderer adds) and stays small
        time.sleep(2.0)
        save_notebook(page, path)
        (panel,) = [output for output in _saved_outputs(path) if "jupyter_tracker" in output.get("metadata", {})]
        assert PLOTLY in panel["data"] and WIDGET not in panel["data"]
        charts = len({trace.get("xaxis", "x") for trace in panel["data"][PLOTLY]["data"]})
        assert charts >= 4 and path.stat().st_size <= 200_000 * charts, (charts, path.stat().st_size)
    finally:
        lab.stop()


def _saved_outputs(path: Path) -> list[dict[str, Any]]:
    notebook = json.loads(path.read_text(encoding="utf-8"))
    return [output for cell in notebook["cells"] if cell["cell_type"] == "code" for output in cell.get("outputs", [])]


def test_a_saved_notebook_reopened_without_its_kernel_shows_its_charts(browser: Any, tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    name = quickstart_copy(work)
    path = work / name
    lab = Lab(work, tmp_path)
    try:
        loaded = "jupyter_tracker.notebook.saved_notebook | extension was successfully loaded"
        assert loaded in lab.log_path.read_text(errors="replace"), (
            "the save hook's server extension is off: `pip install -e .` installs "
            "etc/jupyter/jupyter_server_config.d/jupyter_tracker.json, which turns it on")
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        open_and_run_all(page, lab.url(name))
        page.wait_for_selector(".jt-live-state", timeout=120_000)
        wait_for_all_cells(page, 240)
        page.wait_for_function(
            "() => { const s = document.querySelector('.jt-live-state'); return s && s.textContent === 'finished'; }",
            timeout=60_000)
        assert page.query_selector(".jt-live-state"), "the open notebook keeps its live widget after the run"
        save_notebook(page, path)
        outputs = _saved_outputs(path)
        assert not [output for output in outputs if WIDGET in output.get("data", {})], \
            "the saved file must not hold a widget view that needs the kernel"
        (panel,) = [output for output in outputs if "jupyter_tracker" in output.get("metadata", {})]
        assert PLOTLY in panel["data"] and "<svg" in "".join(panel["data"]["text/html"])
        # the file on disk differs from the open notebook: saving again must not ask about a changed file
        first_save = path.stat().st_mtime_ns
        page.evaluate("() => { window.jupyterapp.commands.execute('docmanager:save'); }")
        wait_until(lambda: path.stat().st_mtime_ns != first_save or page.query_selector(".jp-Dialog"), 30,
                   "the notebook was not saved a second time")
        assert not page.query_selector(".jp-Dialog"), page.inner_text(".jp-Dialog")
        charts = len({trace.get("xaxis", "x") for trace in panel["data"][PLOTLY]["data"]})
        assert charts >= 4 and path.stat().st_size <= 200_000 * charts, (charts, path.stat().st_size)
        # nbconvert (and GitHub, which runs no script) read the HTML with the SVG charts
        converted = subprocess.run([sys.executable, "-m", "nbconvert", "--to", "html", "--stdout", str(path)],
                                   capture_output=True, text=True, timeout=120, check=True).stdout
        assert 'aria-label="train/loss"' in converted and converted.count("<polyline") >= 8
        assert "widget-view+json" not in converted.split("</head>", 1)[1]
    finally:
        lab.stop()

    # a new server with no kernel to give: the reader sees what the file holds
    reader = Lab(work, tmp_path, extra=NO_KERNEL)
    try:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        open_without_kernel(page, reader.url(name))
        page.wait_for_function(SAVED_CHARTS_SHOWN, timeout=60_000)
        time.sleep(1.0)  # let plotly finish drawing before the screenshot
        page.screenshot(path=str(ARTIFACTS / "reopened_notebook.png"), full_page=False)
        assert not page.query_selector("text=Error displaying widget")
        check_charts_drawn(page)
        if importlib.util.find_spec("notebook") is not None:  # Notebook 7, on the same server
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            open_without_kernel(page, f"{reader.base}/notebooks/{name}?token={reader.token}")
            page.wait_for_function(SAVED_CHARTS_SHOWN, timeout=60_000)
            time.sleep(1.0)
            page.screenshot(path=str(ARTIFACTS / "reopened_notebook7.png"), full_page=False)
            assert not page.query_selector("text=Error displaying widget")
            check_charts_drawn(page)
    finally:
        reader.stop()


def check_charts_drawn(page: Any) -> None:
    drawn = page.evaluate(
        "() => ({plotly: document.querySelectorAll('.jp-OutputArea .js-plotly-plot .scatterlayer path.js-line').length,"
        " svg: document.querySelectorAll('.jt-live-static svg polyline').length,"
        " titles: Array.from(document.querySelectorAll('.jp-OutputArea .js-plotly-plot .annotation-text'),"
        " (n) => n.textContent)})")
    assert drawn["plotly"] >= 8 or drawn["svg"] >= 8, drawn
    if drawn["plotly"]:
        assert {"train/loss", "val/acc"} <= set(drawn["titles"]), drawn
