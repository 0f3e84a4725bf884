"""The JupyterLab extension in a real browser: JupyterLab on loopback with the built labextension
(``jupyter_tracker/labextension``) and its server extension, driven by Playwright with Debian's Chromium.

Checks what a user sees: the "Runs" sidebar lists the runs of the local store; a run started in a
notebook shows up there live and the status bar shows its step; the run page draws the charts and
its smoothing slider redraws the smoothed line (TensorBoard's EMA of the full series, as Python
computes it); run names with markup stay text; a saved notebook's charts output
(``application/vnd.jupyter-tracker.charts+json``) is drawn from the file with no kernel.
Screenshots go to ``test-artifacts/``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from jupyter_tracker.downsample import min_max_summary
from jupyter_tracker.smoothing import smooth_summary, tensorboard_ema
from tests.integration.lab_helpers import (
    ARTIFACTS,
    BROWSER_MARKS,
    LABEXTENSION,
    ROOT,
    isolated_environment,
    launch,
    read_chart,
    start_jupyterlab,
    write_notebook,
)

pytestmark = BROWSER_MARKS
XSS_NAME = '<img src=x onerror="window.__jtXss=1">'

SEED_RUNS = f"""
import jupyter_tracker as jt
run = jt.init(project="vision", name={XSS_NAME!r}, config={{"lr": 0.1, "note": "<script>window.__jtXss=2</script>"}}, tags=["<b>t</b>"])
for step in range(3000):
    run.log({{"train/loss": 1.0 / (step + 1) + (step % 7) * 0.01, "acc": step / 3000}})
run.finish()
"""

LIVE_CELL = """
import time
import jupyter_tracker as jt
run = jt.init(project="vision", name="live-notebook-run")
for step in range(3000):
    run.log({"train/loss": 1.0 / (step + 1)})
    time.sleep(0.05)
run.finish()
"""


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """JupyterLab with this checkout's labextension (first on JUPYTER_PATH) and server extension, over a seeded store."""
    if not (LABEXTENSION / "package.json").is_file():
        pytest.fail(f"the labextension is not built: run `npm ci && npm run build` in {ROOT / 'labextension'}")
    tmp_path = tmp_path_factory.mktemp("labextension-browser")
    extensions = tmp_path / "jupyter-data" / "labextensions"
    extensions.mkdir(parents=True)
    (extensions / "jupyter-tracker").symlink_to(LABEXTENSION, target_is_directory=True)
    config = tmp_path / "jupyter-config"
    config.mkdir()
    (config / "jupyter_server_config.json").write_text(
        json.dumps({"ServerApp": {"jpserver_extensions": {"jupyter_tracker.lab": True}}}), encoding="utf-8")
    store = tmp_path / "store"
    environment = isolated_environment({"WANDB_DIR": str(store), "WANDB_MODE": "offline", "WANDB_SILENT": "true",
                                        "JUPYTER_TRACKER_HOME": str(tmp_path / "home")})
    subprocess.run([sys.executable, "-c", SEED_RUNS], env=environment, cwd=tmp_path, check=True, timeout=120)
    work = tmp_path / "lab"
    work.mkdir()
    write_notebook(work / "live.ipynb", [LIVE_CELL])
    previous = os.environ.get("JUPYTER_PATH")
    os.environ["JUPYTER_PATH"] = str(tmp_path / "jupyter-data")
    servers = start_jupyterlab(tmp_path)
    try:
        info = next(servers)
    finally:
        if previous is None:
            os.environ.pop("JUPYTER_PATH", None)
        else:
            os.environ["JUPYTER_PATH"] = previous
    yield info
    servers.close()


@pytest.fixture(scope="module")
def page(lab: dict[str, Any]) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = launch(playwright)
        context = browser.new_context(viewport={"width": 1400, "height": 900})
        tab = context.new_page()
        errors: list[str] = []
        tab.on("pageerror", lambda error: errors.append(str(error)))
        tab.goto(f"{lab['base']}/lab?token={lab['token']}")
        tab.wait_for_function("() => window.jupyterapp && window.jupyterapp.shell && document.querySelector('.jp-LabShell')",
                              timeout=90_000)
        tab.__jt_errors = errors  # type: ignore[attr-defined]
        yield tab
        browser.close()


def show_runs_sidebar(page: Any) -> None:
    page.wait_for_function("() => window.jupyterapp.commands.hasCommand('jupyter-tracker:open-runs')", timeout=30_000)
    page.evaluate("() => window.jupyterapp.commands.execute('jupyter-tracker:open-runs')")
    try:
        page.wait_for_selector("#jupyter-tracker-runs.jt-runs", state="visible", timeout=30_000)
    except Exception:
        page.screenshot(path=str(ARTIFACTS / "labextension_sidebar_failure.png"))
        raise


def test_sidebar_lists_the_store_and_the_run_page_smooths_in_the_browser(lab: dict[str, Any], page: Any) -> None:
    show_runs_sidebar(page)
    item = page.wait_for_selector("#jupyter-tracker-runs .jt-run", timeout=30_000)
    names = page.eval_on_selector_all("#jupyter-tracker-runs .jt-run-name", "nodes => nodes.map(n => n.textContent)")
    assert names == [XSS_NAME], "the sidebar shows the seeded run's name as text"
    values = page.inner_text("#jupyter-tracker-runs .jt-run-values")
    assert "train/loss" in values and "acc" in values, values
    page.screenshot(path=str(ARTIFACTS / "labextension_sidebar.png"))

    item.click()
    page.wait_for_function("() => { const p = document.querySelector('.jt-run-page .jt-chart[data-metric=\"train/loss\"] .jt-chart-plot');"
                           " return p && p.__jtChart; }", timeout=30_000)
    assert page.inner_text(".jt-run-page .jt-run-title") == XSS_NAME
    assert page.evaluate("() => window.__jtXss") is None, "markup in a run's name, tag or config ran"
    assert page.locator(".jt-run-page img, .jt-run-page script").count() == 0
    assert "<b>t</b>" in page.inner_text(".jt-run-page .jt-run-facts"), "a tag with markup shows as text"
    config = page.inner_text(".jt-run-page table[data-section='config']")
    assert "<script>" in config and "lr" in config

    before = read_chart(page, "train/loss")
    assert before and before["canvases"] >= 1 and before["width"] > 200
    assert len(before["raw"]) <= 1500, "the chart draws the downsampled points"
    page.eval_on_selector(".jt-run-page .jt-smoothing",
                          "(slider) => { slider.value = '0.95'; slider.dispatchEvent(new Event('input', {bubbles: true})); }")
    after = read_chart(page, "train/loss")
    assert after is not None and after["raw"] == before["raw"]
    assert after["smoothed"] != before["smoothed"], "moving the slider redraws the smoothed line"
    full = [1.0 / (step + 1) + (step % 7) * 0.01 for step in range(3000)]
    assert after["x"][-1] == 2999
    _, summary = min_max_summary(full)
    assert abs(after["smoothed"][-1] - smooth_summary(summary, 0.95)[-1]) < 1e-12, \
        "the browser smooths the downsampled line as jupyter_tracker.smoothing does"
    assert abs(after["smoothed"][-1] - tensorboard_ema(full, 0.95)[-1]) < 1e-6 * abs(tensorboard_ema(full, 0.95)[-1]), \
        "the drawn smoothed line is TensorBoard's EMA of the full series"
    page.select_option(".jt-run-page .jt-x-axis", "_runtime")
    runtime = read_chart(page, "train/loss")
    assert runtime is not None and runtime["x"][-1] < 600, "the x-axis switched to time since start"
    page.check(".jt-run-page .jt-log-scale")
    page.wait_for_timeout(200)
    page.screenshot(path=str(ARTIFACTS / "labextension_run_page.png"))
    assert not page.__jt_errors, page.__jt_errors  # type: ignore[attr-defined]


def test_a_run_started_in_a_notebook_shows_up_live_with_its_step_in_the_status_bar(lab: dict[str, Any], page: Any) -> None:
    page.goto(f"{lab['base']}/lab/tree/live.ipynb?token={lab['token']}")
    page.wait_for_function(
        "() => { const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;"
        " return w && w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel"
        " && w.sessionContext.session.kernel.status === 'idle'; }", timeout=90_000)
    # not awaited: the command's promise settles only when the training cell ends
    page.evaluate("() => { window.jupyterapp.commands.execute('notebook:run-all-cells'); }")
    show_runs_sidebar(page)
    page.wait_for_function(
        "() => Array.from(document.querySelectorAll('#jupyter-tracker-runs .jt-run.jt-state-running .jt-run-name'))"
        ".some(n => n.textContent === 'live-notebook-run')", timeout=60_000)
    try:
        first = page.wait_for_function(
            "() => { const s = document.querySelector('.jt-status'); const m = s && s.textContent.match(/live-notebook-run · step ([0-9,]+) · offline/);"
            " return m && Number(m[1].replace(/,/g, '')); }", timeout=60_000).json_value()
        later = page.wait_for_function(
            f"() => {{ const s = document.querySelector('.jt-status'); const m = s && s.textContent.match(/step ([0-9,]+)/);"
            f" const step = m && Number(m[1].replace(/,/g, '')); return step > {first} && step; }}", timeout=60_000).json_value()
    except Exception as error:
        page.screenshot(path=str(ARTIFACTS / "labextension_status_bar_failure.png"))
        status = page.evaluate("() => Array.from(document.querySelectorAll('.jt-status')).map(s => s.textContent)")
        active = page.evaluate("(token) => fetch('/jupyter-tracker/active?token=' + token).then(r => r.text())", lab["token"])
        raise AssertionError(f"the status bar did not follow the run: {status}; the server says {active[:500]}") from error
    assert later > first, "the status bar follows the run's step"
    page.screenshot(path=str(ARTIFACTS / "labextension_status_bar.png"))
    page.evaluate("() => window.jupyterapp.commands.execute('notebook:interrupt-kernel')")


def test_a_saved_notebooks_charts_show_without_a_kernel(lab: dict[str, Any], page: Any) -> None:
    import nbformat

    code = f"""
import json, sys
from jupyter_tracker.api import backend_for
from jupyter_tracker.settings import resolve
from jupyter_tracker.lab.charts_mime import charts_bundle
backend = backend_for(resolve())
run = backend.list_runs(None, "vision", {{"display_name": {XSS_NAME!r}}}, None, 5).page(1)[0]
json.dump(charts_bundle(backend, "vision", run["id"], smoothing=0.8), sys.stdout)
"""
    environment = {key: value for key, value in os.environ.items() if not key.startswith(("WANDB_", "JUPYTER_TRACKER_"))}
    environment.update({"WANDB_DIR": str(lab["store"]), "WANDB_MODE": "offline", "WANDB_SILENT": "true"})
    bundle = json.loads(subprocess.run([sys.executable, "-c", code], env=environment, check=True, timeout=120,
                                       capture_output=True, text=True).stdout)
    notebook = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("run  # charts of a finished run")
    cell.outputs = [nbformat.v4.new_output("display_data", data=bundle)]
    notebook.cells = [cell]
    nbformat.write(notebook, lab["work"] / "saved.ipynb")  # no kernelspec: JupyterLab opens it with no kernel

    page.goto(f"{lab['base']}/lab/tree/saved.ipynb?token={lab['token']}")
    page.wait_for_function("() => { const p = document.querySelector('.jt-charts-output .jt-chart[data-metric=\"acc\"] .jt-chart-plot');"
                           " return p && p.__jtChart && p.__jtChart.data[0].length > 100; }", timeout=60_000)
    kernel = page.evaluate("() => { const w = window.jupyterapp.shell.currentWidget;"
                           " return Boolean(w.sessionContext.session && w.sessionContext.session.kernel); }")
    assert kernel is False, "the charts were drawn with no kernel"
    assert page.input_value(".jt-charts-output .jt-smoothing") == "0.8"
    assert page.evaluate("() => window.__jtXss") is None
    no_kernel = page.locator(".jp-Dialog button", has_text="No Kernel")
    if no_kernel.count():
        no_kernel.first.click()  # JupyterLab asks for a kernel; the charts need none
    page.screenshot(path=str(ARTIFACTS / "labextension_saved_notebook.png"))
