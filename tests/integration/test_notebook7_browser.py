"""Notebook 7 (the ``notebook`` package, version 7) with jupyter_tracker installed from its wheel into a fresh venv.

Notebook 7 loads the same prebuilt labextensions as JupyterLab (``share/jupyter/labextensions``), so
the wheel alone gives it both parts a notebook user sees: the live panel (an anywidget) under the
cell that starts a run, drawing and growing while the cell runs, and the extension's MIME renderer
that draws a saved notebook's charts (``application/vnd.jupyter-tracker.charts+json``) with no
kernel, its smoothing slider redrawing them in the browser; the Runs sidebar opens in its left panel. Real Notebook 7 on loopback (the venv's
server at ``/notebooks/``), driven by Playwright with Debian's Chromium; the venv is the one of
``wheel_venv`` (built once per session). Screenshots: ``test-artifacts/notebook7_*.png``.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from jupyter_tracker.lab.charts_mime import CHARTS_MIMETYPE
from tests.integration.lab_helpers import (
    ARTIFACTS,
    BROWSER_MARKS,
    KERNEL_IDLE,
    WIDGET,
    dismiss_kernel_dialog,
    save_notebook,
    wait_for_all_cells,
    wait_until,
    write_notebook,
)
from tests.integration.wheel_venv import SEEDED, VenvHosts, charts_output, venv_hosts

# the first browser test of the session builds the wheel and the venv (under a minute with a warm pip cache)
pytestmark = [*BROWSER_MARKS, pytest.mark.timeout(600)]

# the charts output a saved notebook holds, made by the venv's jupyter_tracker from the seeded run
SAVED_BUNDLE = f"""
import json, sys
from jupyter_tracker.api import backend_for
from jupyter_tracker.settings import resolve
from jupyter_tracker.lab.charts_mime import charts_bundle
backend = backend_for(resolve())
run = backend.list_runs(None, "wheel", {{"display_name": {SEEDED!r}}}, None, 5).page(1)[0]
with open(sys.argv[1], "w", encoding="utf-8") as out:
    json.dump(charts_bundle(backend, "wheel", run["id"], smoothing=0.5), out)
"""
# trains until the test drops the stop file in the notebook's directory, then finishes the run
LIVE_CELL = """
import pathlib, time
import jupyter_tracker as jt
run = jt.init(project="wheel", name="notebook7-run")  # the session store's one project: its sidebar opens it
step = 0
while not pathlib.Path("stop-notebook7-run").exists() and step < 6000:
    run.log({"train/loss": 1.0 / (step + 1), "val/acc": step / 6000})
    step += 1
    time.sleep(0.05)
run.finish()
"""
LIVE_POINTS = ("() => { const p = document.querySelector('.jt-live-chart[data-metric=\"train/loss\"] .jt-live-plot');"
               " return p && p.__jtChart && p.__jtChart.data[0].length; }")
SAVED_CHART = ".jt-charts-output .jt-chart[data-metric=\"train/loss\"] .jt-chart-plot"
LAST_SMOOTHED = f"() => {{ const p = document.querySelector('{SAVED_CHART}'); const s = p && p.__jtChart && p.__jtChart.data[2];" \
                " return s && s.length > 100 ? s[s.length - 1] : null; }"


@pytest.fixture(scope="module")
def hosts(request: pytest.FixtureRequest) -> VenvHosts:
    return venv_hosts(request)


def _notebook7s_own(error: Any) -> bool:
    """An error Notebook 7 raises from its own bundle on every page load, with or without any extension
    ("Cannot read properties of undefined (reading 'schema')" while loading settings, notebook 7.6)."""
    frames = [line.strip() for line in (getattr(error, "stack", "") or "").splitlines() if line.strip().startswith("at ")]
    return bool(frames) and "/static/notebook/" in frames[0] and "jupyter-tracker" not in str(error.stack)


def _notebook7_page(browser: Any, url: str) -> Any:
    page = browser.new_page(viewport={"width": 1300, "height": 1000})
    page.__jt_errors = []  # type: ignore[attr-defined]
    page.on("pageerror", lambda error: None if _notebook7s_own(error) else page.__jt_errors.append(str(error)))  # type: ignore[attr-defined]
    page.goto(url)
    page.wait_for_selector("#main-panel .jp-Notebook .jp-Cell", timeout=120_000)
    assert page.evaluate("() => Boolean(window.jupyterapp && window.jupyterapp.name === 'Jupyter Notebook')"), \
        "the page is Notebook 7's, not JupyterLab's"
    return page


def test_notebook7_shows_the_live_panel_growing_while_the_cell_runs_and_saves_its_charts(
        hosts: VenvHosts, browser: Any) -> None:
    path = hosts.work / "notebook7-live.ipynb"
    write_notebook(path, [LIVE_CELL])
    page = _notebook7_page(browser, hosts.lab().notebook7_url(path.name))
    try:
        page.wait_for_function(KERNEL_IDLE, timeout=120_000)
        page.evaluate("() => { window.jupyterapp.commands.execute('notebook:run-all-cells'); }")  # settles when training ends
        try:
            first = page.wait_for_function(f"() => {{ const n = ({LIVE_POINTS})(); return n >= 2 && n; }}",
                                           timeout=90_000).json_value()
            later = page.wait_for_function(f"() => {{ const n = ({LIVE_POINTS})(); return n > {first} && n; }}",
                                           timeout=60_000).json_value()
            assert later > first, "the live panel grows while the cell runs"
            assert page.inner_text(".jt-live-state") == "running"
            page.evaluate("() => document.querySelector('.jt-live').scrollIntoView({block: 'start'})")
            page.wait_for_timeout(300)
            page.screenshot(path=str(ARTIFACTS / "notebook7_live_panel.png"))
        except Exception:
            page.screenshot(path=str(ARTIFACTS / "notebook7_live_panel_failure.png"))
            raise
        finally:
            (hosts.work / "stop-notebook7-run").touch()
        wait_for_all_cells(page, 120)
        page.wait_for_function("() => { const s = document.querySelector('.jt-live-state'); return s && s.textContent === 'finished'; }",
                               timeout=60_000)
        assert not page.query_selector("text=Error displaying widget")
        save_notebook(page, path)
        saved = wait_until(lambda: charts_output(path), 10, "the saved notebook has no charts output")
        assert WIDGET not in saved and saved[CHARTS_MIMETYPE]["metrics"], sorted(saved)
        assert not page.__jt_errors, page.__jt_errors  # type: ignore[attr-defined]
    finally:
        page.close()


def test_notebook7_draws_a_saved_notebooks_charts_without_a_kernel_and_its_slider_smooths(
        hosts: VenvHosts, browser: Any) -> None:
    import nbformat

    bundle_path = hosts.home / "notebook7-bundle.json"
    hosts.installed.run(["python", "-c", SAVED_BUNDLE, str(bundle_path)], hosts.home)
    bundle = json.loads(bundle_path.read_text(encoding="utf-8"))
    notebook = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("run  # the charts of a finished run")
    cell.outputs = [nbformat.v4.new_output("display_data", data=bundle)]
    notebook.cells = [cell]
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(notebook, hosts.work / "notebook7-saved.ipynb")

    # a server with no kernel to give: what shows is drawn from the file by the extension's renderer
    page = _notebook7_page(browser, hosts.reader().notebook7_url("notebook7-saved.ipynb"))
    try:
        dismiss_kernel_dialog(page)
        before = page.wait_for_function(LAST_SMOOTHED, timeout=60_000).json_value()
        assert page.evaluate("() => { const w = window.jupyterapp.shell.currentWidget;"
                             " return Boolean(w.sessionContext.session && w.sessionContext.session.kernel); }") is False
        assert page.inner_text(".jt-charts-output .jt-run-title") == SEEDED
        assert page.input_value(".jt-charts-output .jt-smoothing") == "0.5"
        page.eval_on_selector(".jt-charts-output .jt-smoothing",
                              "(slider) => { slider.value = '0.95'; slider.dispatchEvent(new Event('input', {bubbles: true})); }")
        page.wait_for_function(f"(before) => {{ const last = ({LAST_SMOOTHED})(); return last !== null && last !== before; }}",
                               arg=before, timeout=10_000)
        page.eval_on_selector(SAVED_CHART, "(plot) => plot.scrollIntoView({block: 'center'})")
        page.wait_for_timeout(300)
        page.screenshot(path=str(ARTIFACTS / "notebook7_saved_charts.png"))
        # the Runs sidebar opens in Notebook 7's left panel too, listing the local store
        page.evaluate("() => window.jupyterapp.commands.execute('jupyter-tracker:open-runs')")
        page.wait_for_function("(name) => Array.from(document.querySelectorAll('#jupyter-tracker-runs .jt-run-name'))"
                               ".some((n) => n.textContent === name)", arg=SEEDED, timeout=30_000)
        assert not page.__jt_errors, page.__jt_errors  # type: ignore[attr-defined]
    finally:
        page.close()

