"""The sweep view in real JupyterLab (Debian's Chromium via Playwright): it follows the agent's trials
while the agent's cell keeps the kernel busy, and ends with every trial, the best run and importance."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.lab_helpers import (
    ARTIFACTS,
    BROWSER_MARKS,
    collect_console_errors,
    lab_url,
    launch,
    open_and_run_all,
    start_jupyterlab,
    write_notebook,
)

pytestmark = BROWSER_MARKS

SETUP = """%env JUPYTER_TRACKER_LIVE=off
%env WANDB_SILENT=true
%env WANDB_DISABLE_CODE=true
%env JUPYTER_TRACKER_DISABLE_SYSTEM_METRICS=true
import time
import jupyter_tracker as wandb"""
SWEEP = """import os

def train():
    run = wandb.init()
    while len(wandb.sweeps.sweep_store().trials(sweep_id)) > 2 and not os.path.exists("gate"):
        time.sleep(0.05)  # from the third trial on, wait for the test to have looked at the running view
    wandb.log({"loss": (run.config.lr - 0.3) ** 2 + 0.1 * run.config.depth})

sweep_id = wandb.sweep({"method": "grid", "metric": {"name": "loss"},
                        "parameters": {"lr": {"values": [0.1, 0.3, 0.5, 0.7]}, "depth": {"values": [1, 2]}}},
                       project="browser-sweep")
trials = wandb.agent(sweep_id, function=train)"""

PROGRESS = """() => {
  const node = document.querySelector('.jt-sweep-progress');
  if (!node) return null;
  const cells = window.jupyterapp.shell.currentWidget.content.widgets.filter((cell) => cell.model.type === 'code');
  const prompt = cells[1].node.querySelector('.jp-InputPrompt').textContent;
  return {done: Number(node.dataset.done), total: Number(node.dataset.total), running: prompt.includes('*'),
          lines: document.querySelectorAll('.jt-sweep-parallel polyline').length,
          best: (document.querySelector('.jt-sweep-best') || {}).textContent || '',
          importance: document.querySelectorAll('.jt-sweep-importance tr').length};
}"""


@pytest.fixture(scope="module")
def jupyterlab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    tmp_path = tmp_path_factory.mktemp("sweep-view-browser")
    (tmp_path / "lab").mkdir()
    write_notebook(tmp_path / "lab" / "sweep.ipynb", [SETUP, SWEEP])
    yield from start_jupyterlab(tmp_path)


def test_the_sweep_view_follows_the_agent_in_jupyterlab(jupyterlab: dict[str, Any]) -> None:
    import nbformat
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = launch(playwright)
        try:
            page = browser.new_page(viewport={"width": 1300, "height": 1000})
            errors = collect_console_errors(page)
            open_and_run_all(page, lab_url(jupyterlab, "sweep.ipynb"), timeout=90_000)
            page.wait_for_selector(".jt-sweep-progress", timeout=90_000)
            # the view moves on while the agent's cell is still running (the kernel is busy with trials)
            try:
                page.wait_for_function(f"() => {{ const p = ({PROGRESS})(); return p && p.done === 2; }}", timeout=90_000)
            finally:
                page.screenshot(path=str(ARTIFACTS / "sweep_view_running.png"), full_page=True)
            during = page.evaluate(PROGRESS)
            assert during["running"] and during["done"] == 2 and during["total"] == 8 and during["lines"] == 2, during
            (Path(jupyterlab["work"]) / "gate").write_text("")
            page.wait_for_function(f"() => {{ const p = ({PROGRESS})(); return p && !p.running && p.done === 8; }}", timeout=90_000)
            final = page.evaluate(PROGRESS)
            assert final["lines"] == 8
            assert "best: trial" in final["best"] and "lr=0.3" in final["best"] and "depth=1" in final["best"]
            assert final["importance"] == 3  # a header and the two parameters
            page.screenshot(path=str(ARTIFACTS / "sweep_view_done.png"), full_page=True)
            assert not [error for error in errors if "jt-sweep" in error or "anywidget" in error.lower()], errors
            # saved by JupyterLab, the notebook keeps the final view for readers without a kernel
            page.evaluate("() => window.jupyterapp.commands.execute('docmanager:save')")
            path = Path(jupyterlab["work"]) / "sweep.ipynb"
            page.wait_for_function("() => !window.jupyterapp.shell.currentWidget.context.model.dirty", timeout=30_000)
        finally:
            browser.close()
    saved = nbformat.read(path, as_version=4)
    html = "".join(output.get("data", {}).get("text/html", "") for output in saved.cells[1].get("outputs", []))
    assert "8 of 8 done" in html and "<polyline" in html

