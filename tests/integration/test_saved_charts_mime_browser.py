"""A notebook saved after a run, reopened in JupyterLab with the labextension and no kernel: the extension's
MIME renderer draws the live panel's final charts (``application/vnd.jupyter-tracker.charts+json``) and its
smoothing slider redraws them in the browser, as TensorBoard's EMA of the full series.

Real JupyterLab 4 on loopback with this checkout's built labextension (``jupyter_tracker/labextension``,
found through the server's Jupyter data directory) and the save hook, driven by Playwright with Debian's
Chromium. The screenshot is ``test-artifacts/reopened_notebook_charts_mime.png``.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from jupyter_tracker.downsample import SmoothingSummary
from jupyter_tracker.lab.charts_mime import CHARTS_MIMETYPE
from jupyter_tracker.smoothing import smooth_summary
from tests.integration.lab_helpers import (
    ARTIFACTS,
    BROWSER_MARKS,
    CELL_PROMPTS,
    LABEXTENSION,
    NO_KERNEL,
    PLOTLY,
    WIDGET,
    Lab,
    open_and_run_all,
    open_without_kernel,
    read_chart,
    save_notebook,
    wait_for_all_cells,
    write_notebook,
)

pytestmark = BROWSER_MARKS

INIT_CELL = """
import jupyter_tracker as jt
run = jt.init(project="saved-charts", name="<b>saved</b> run")
"""
TRAIN_CELL = """
for step in range(3000):
    run.log({"train/loss": 1.0 / (step + 1) + (step % 7) * 0.05, "val/acc": step / 3000})
run.finish()
"""
RENDERED = ("() => { const p = document.querySelector('.jt-charts-output .jt-chart[data-metric=\"train/loss\"] .jt-chart-plot');"
            " return Boolean(p && p.__jtChart && p.__jtChart.data[0].length > 100); }")


def _with_labextension(home: Path) -> None:
    """This checkout's built labextension in the servers' Jupyter data directory (``Lab`` sets JUPYTER_DATA_DIR)."""
    if not (LABEXTENSION / "package.json").is_file():
        pytest.fail(f"the labextension is not built: run `npm ci && npm run build` in {LABEXTENSION.parent.parent / 'labextension'}")
    extensions = home / "jupyter-data" / "labextensions"
    extensions.mkdir(parents=True, exist_ok=True)
    (extensions / "jupyter-tracker").symlink_to(LABEXTENSION, target_is_directory=True)


def _panel_output(path: Path) -> dict[str, Any]:
    notebook = json.loads(path.read_text(encoding="utf-8"))
    (panel,) = [output for cell in notebook["cells"] if cell["cell_type"] == "code" for output in cell.get("outputs", [])
                if "jupyter_tracker" in output.get("metadata", {})]
    return panel


def test_a_saved_notebook_reopened_without_a_kernel_is_drawn_by_the_extension_and_its_slider_smooths(
        browser: Any, tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    path = work / "train.ipynb"
    write_notebook(path, [INIT_CELL, TRAIN_CELL])
    _with_labextension(tmp_path)
    lab = Lab(work, tmp_path)
    try:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        open_and_run_all(page, lab.url(path.name))
        wait_for_all_cells(page, 180)
        page.wait_for_function(
            "() => { const s = document.querySelector('.jt-live-state'); return s && s.textContent === 'finished'; }",
            timeout=60_000)
        assert page.query_selector(".jt-live-state"), "with its kernel, the open notebook keeps the live widget"
        save_notebook(page, path)
        assert "[1]" in page.evaluate(CELL_PROMPTS)[0]
    finally:
        lab.stop()
    data = _panel_output(path)["data"]
    assert WIDGET not in data and CHARTS_MIMETYPE in data, sorted(data)
    assert PLOTLY in data and "<svg" in "".join(data["text/html"]), "hosts without the extension keep their figures"
    saved = data[CHARTS_MIMETYPE]
    assert path.stat().st_size <= 200_000 * len(saved["metrics"]), path.stat().st_size

    # a new server with no kernel to give, the same labextension: the renderer draws the file's charts
    reader = Lab(work, tmp_path, extra=NO_KERNEL)
    try:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        open_without_kernel(page, reader.url(path.name))
        page.wait_for_function(RENDERED, timeout=60_000)
        kernel = page.evaluate("() => { const w = window.jupyterapp.shell.currentWidget;"
                               " return Boolean(w.sessionContext.session && w.sessionContext.session.kernel); }")
        assert kernel is False, "the charts were drawn with no kernel"
        assert not page.query_selector("text=Error displaying widget")
        assert not page.query_selector(".jt-charts-output .js-plotly-plot"), "the extension's renderer, not plotly"
        assert page.inner_text(".jt-charts-output .jt-run-title") == "<b>saved</b> run", "the name as typed"
        assert page.input_value(".jt-charts-output .jt-smoothing") == str(saved["smoothing"])
        before_slide = read_chart(page, "train/loss")
        assert before_slide is not None
        page.eval_on_selector(".jt-charts-output .jt-smoothing",
                              "(slider) => { slider.value = '0.95'; slider.dispatchEvent(new Event('input', {bubbles: true})); }")
        page.wait_for_function(
            "(before) => { const p = document.querySelector('.jt-charts-output .jt-chart[data-metric=\"train/loss\"] .jt-chart-plot');"
            " return p.__jtChart.data[2][p.__jtChart.data[2].length - 1] !== before; }",
            arg=before_slide["smoothed"][-1], timeout=10_000)
        after_slide = read_chart(page, "train/loss")
        assert after_slide is not None and after_slide["smoothed"] != before_slide["smoothed"], "the slider redraws the chart"
        summary = SmoothingSummary.from_bytes(base64.b64decode(saved["metrics"]["train/loss"]["summary"]))
        assert abs(after_slide["smoothed"][-1] - smooth_summary(summary, 0.95)[-1]) < 1e-9, \
            "the browser's smoothing of the full series equals Python's"
        page.locator(".jt-charts-output").first.screenshot(path=str(ARTIFACTS / "reopened_notebook_charts_mime.png"))
        assert not errors, errors
    finally:
        reader.stop()
