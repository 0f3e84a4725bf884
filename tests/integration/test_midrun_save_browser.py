"""A notebook saved while its training cell runs keeps the run's charts, in real JupyterLab 4 with Chromium.

A long training cell runs under the live panel; Ctrl+S saves the notebook mid-run. The file on
disk holds, where the panel was, the run's static charts drawn from its log by the server's save
hook ("as of step N, run still going") and no widget view that would need the kernel. The server
then stops (the kernel dies mid-run), and a new JupyterLab with no kernel to give opens the file:
its charts are visible. Screenshot: ``test-artifacts/midrun_saved_notebook.png``.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from tests.integration.lab_helpers import (
    ARTIFACTS,
    BROWSER_MARKS,
    CELL_PROMPTS,
    NO_KERNEL,
    PLOTLY,
    SAVED_CHARTS_SHOWN,
    WIDGET,
    Lab,
    open_and_run_all,
    open_without_kernel,
    wait_until,
    write_notebook,
)

pytestmark = BROWSER_MARKS

SETUP = """\
import math, time
import jupyter_tracker as jt
run = jt.init(project="midrun")"""

TRAIN = """\
for step in range(100_000):  # a long training cell: still running when the notebook is saved
    jt.log({"train/loss": 1 / math.sqrt(step + 1) + 0.05 * math.sin(step / 7), "train/acc": 1 - 1 / (step + 2),
            "lr": 0.1 * 0.999 ** step})
    time.sleep(0.01)"""

DRAWN = """() => ({
  plotly: document.querySelectorAll('.jp-OutputArea .js-plotly-plot .scatterlayer path.js-line').length,
  svg: document.querySelectorAll('.jt-live-static svg polyline').length,
  text: Array.from(document.querySelectorAll('.jp-OutputArea'), (n) => n.textContent).join(' '),
})"""


def _panel_outputs(path: Path) -> list[dict[str, Any]]:
    notebook = json.loads(path.read_text(encoding="utf-8"))
    return [output for cell in notebook["cells"] if cell["cell_type"] == "code"
            for output in cell.get("outputs", []) if "jupyter_tracker" in output.get("metadata", {})]


def test_a_notebook_saved_mid_run_keeps_the_charts_as_of_its_last_step(browser: Any, tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    name = "midrun.ipynb"
    path = work / name
    write_notebook(path, [SETUP, TRAIN])
    lab = Lab(work, tmp_path)
    try:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        open_and_run_all(page, lab.url(name))
        page.wait_for_selector(".jt-live-state", timeout=90_000)
        wait_until(lambda: "[*]" in page.evaluate(CELL_PROMPTS)[1], 30, "the training cell did not start")
        time.sleep(3.0)  # a few hundred steps into the run
        before = path.stat().st_mtime_ns
        page.click(".jp-Notebook .jp-Cell .jp-InputPrompt")  # focus the notebook, then save as a user does
        page.keyboard.press("Control+s")
        wait_until(lambda: path.stat().st_mtime_ns != before, 30, "Ctrl+S did not save the notebook")
        time.sleep(0.5)
        assert "[*]" in page.evaluate(CELL_PROMPTS)[1], "the run must still be going when the notebook is saved"
        assert page.query_selector(".jt-live-state"), "the open notebook keeps its live widget"

        notebook = json.loads(path.read_text(encoding="utf-8"))
        everything = [output for cell in notebook["cells"] for output in cell.get("outputs", [])]
        assert not [output for output in everything if WIDGET in output.get("data", {})], \
            "the saved file must not hold a widget view that needs the kernel"
        (panel,) = _panel_outputs(path)
        marker = panel["metadata"]["jupyter_tracker"]
        page_html = "".join(panel["data"]["text/html"])
        assert marker["view"] == "saved-mid-run" and marker["as_of_step"] > 10, marker
        assert f"as of step {marker['as_of_step']}, run still going" in page_html
        assert 'aria-label="train/loss"' in page_html and page_html.count("<polyline") >= 6
        assert PLOTLY in panel["data"] and path.stat().st_size <= 3 * 200_000
    finally:
        lab.stop()  # the kernel dies mid-run: the file on disk is what a reader gets

    reader = Lab(work, tmp_path, extra=NO_KERNEL)
    try:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        open_without_kernel(page, reader.url(name), timeout=90_000)
        page.wait_for_function(SAVED_CHARTS_SHOWN, timeout=60_000)
        time.sleep(1.0)  # let plotly finish drawing before the screenshot
        page.screenshot(path=str(ARTIFACTS / "midrun_saved_notebook.png"), full_page=False)
        drawn = page.evaluate(DRAWN)
        assert not page.query_selector("text=Error displaying widget")
        assert drawn["plotly"] >= 3 or drawn["svg"] >= 3, drawn
        assert "run still going" in drawn["text"] or drawn["plotly"], drawn["text"][-500:]
    finally:
        reader.stop()
