"""JupyterLab with jupyter_tracker installed from its wheel into a fresh venv, as a user gets it.

The wheel is built from this checkout with no Node on PATH (it carries the committed, prebuilt
labextension) and pip-installed with JupyterLab into a new venv (``wheel_venv``). That venv's
``jupyter labextension list`` shows the extension enabled and its ``jupyter server extension list``
the server extensions; its JupyterLab, driven by Playwright with Debian's Chromium, loads the
extension from the venv: the Runs sidebar lists the runs of the local store, the run page's
smoothing slider redraws the chart, a run started in a notebook shows up live with its step and
sync state in the status bar, and the notebook, saved, shows its charts through the extension's
MIME renderer when reopened on a server with no kernel. Screenshots go to ``test-artifacts/wheel_*.png``.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from tests.integration.lab_helpers import (
    ARTIFACTS,
    BROWSER_MARKS,
    CELL_PROMPTS,
    KERNEL_IDLE,
    LABEXTENSION,
    WIDGET,
    open_without_kernel,
    save_notebook,
    wait_for_all_cells,
    wait_until,
    write_notebook,
)
from tests.integration.wheel_venv import SEEDED, VenvHosts, VenvLab, charts_output, venv_hosts

# the first browser test of the session builds the wheel and the venv (under a minute with a warm pip cache)
pytestmark = [*BROWSER_MARKS, pytest.mark.timeout(600)]

SHARED = "share/jupyter/labextensions/jupyter-tracker"
LIVE_NOTEBOOK = "lab-live.ipynb"
# trains until the test drops its stop file in the notebook's directory, then finishes the run
LIVE_CELL = """
import pathlib, time
import jupyter_tracker as jt
run = jt.init(project="wheel", name="live-notebook-run")
step = 0
while not pathlib.Path("stop-lab-run").exists() and step < 6000:
    run.log({"train/loss": 1.0 / (step + 1), "val/acc": step / 6000})
    step += 1
    time.sleep(0.05)
run.finish()
"""
SIDEBAR = "#jupyter-tracker-runs.jt-runs"
STATUS_STEP = ("() => { const s = document.querySelector('.jt-status');"
               " const m = s && s.textContent.match(/live-notebook-run · step ([0-9,]+) · offline/);"
               " return m && Number(m[1].replace(/,/g, '')); }")
SAVED_CHARTS = ("() => { const p = document.querySelector('.jt-charts-output .jt-chart[data-metric=\"train/loss\"] .jt-chart-plot');"
                " return Boolean(p && p.__jtChart && p.__jtChart.data[0].length > 10); }")


@pytest.fixture(scope="module")
def hosts(request: pytest.FixtureRequest) -> VenvHosts:
    hosts = venv_hosts(request)
    write_notebook(hosts.work / LIVE_NOTEBOOK, [LIVE_CELL])
    return hosts


@pytest.fixture(scope="module")
def lab(hosts: VenvHosts) -> VenvLab:
    return hosts.lab()


@pytest.fixture(scope="module")
def page(lab: VenvLab, browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda error: errors.append(str(error)))
    tab.goto(lab.lab_url())
    tab.wait_for_function("() => window.jupyterapp && window.jupyterapp.shell && document.querySelector('.jp-LabShell')",
                          timeout=120_000)
    tab.__jt_errors = errors  # type: ignore[attr-defined]
    yield tab
    context.close()


def test_the_wheel_carries_the_prebuilt_extension_and_the_venv_lists_it_enabled(hosts: VenvHosts) -> None:
    installed, home = hosts.installed, hosts.home
    with zipfile.ZipFile(installed.wheel) as wheel:
        names = wheel.namelist()
        data = next(name.split("/data/", 1)[0] for name in names if ".data/data/" in name) + "/data/"
        shipped = json.loads(wheel.read(f"{data}{SHARED}/package.json"))
    assert shipped == json.loads((LABEXTENSION / "package.json").read_text(encoding="utf-8")), \
        "the wheel carries the committed build of the labextension"
    remote_entry = shipped["jupyterlab"]["_build"]["load"]
    assert f"{data}{SHARED}/{remote_entry}" in names
    for config in ("jupyter_tracker.json", "jupyter_tracker_lab.json"):
        assert f"{data}etc/jupyter/jupyter_server_config.d/{config}" in names
    assert not [name for name in names if name.startswith("jupyter_tracker/labextension/")], "the extension ships once"
    assert installed.wheel.stat().st_size < 2_000_000, installed.wheel.stat().st_size

    # the three commands at once: each is a fresh interpreter importing from a venv with no bytecode yet
    with ThreadPoolExecutor(3) as pool:
        located, listed, servers = pool.map(lambda command: installed.run(command, home), [
            ["python", "-c", "import jupyter_tracker; print(jupyter_tracker.__file__)"],
            ["jupyter", "labextension", "list"], ["jupyter", "server", "extension", "list"]])
    assert Path(located.strip()).is_relative_to(installed.venv), "the venv imports its own install, not the checkout"
    section = listed.split(f"{installed.venv}/share/jupyter/labextensions", 1)
    assert len(section) == 2, listed
    assert f"jupyter-tracker v{shipped['version']} enabled OK (python, jupyter_tracker)" in section[1].split("\n\n")[0], \
        "listed as installed by pip (install.json): " + listed
    for extension in ("jupyter_tracker.lab", "jupyter_tracker.notebook.saved_notebook"):
        assert f"{extension} enabled" in servers and f"{extension}  OK" in servers, servers


def show_runs_sidebar(page: Any, project: str = "wheel") -> None:
    """Opens the Runs sidebar and in it ``project``'s list (a lone project opens by itself, one of several on a click)."""
    page.wait_for_function("() => window.jupyterapp.commands.hasCommand('jupyter-tracker:open-runs')", timeout=30_000)
    page.evaluate("() => window.jupyterapp.commands.execute('jupyter-tracker:open-runs')")
    section = f"{SIDEBAR} .jt-project[data-project='{project}']"
    try:
        page.wait_for_selector(SIDEBAR, state="visible", timeout=30_000)
        page.wait_for_selector(section, timeout=30_000)
        if page.inner_text(f"{section} .jt-caret") != "\u25be":  # closed: its header opens it
            page.click(f"{section} .jt-project-header")
        page.wait_for_selector(f"{section} .jt-run-list", timeout=30_000)
    except Exception:
        page.screenshot(path=str(ARTIFACTS / "wheel_sidebar_failure.png"))
        raise


def read_chart(page: Any, container: str, metric: str) -> dict[str, Any] | None:
    return page.evaluate("""([container, metric]) => {
      const plot = document.querySelector(`${container} .jt-chart[data-metric="${metric}"] .jt-chart-plot`);
      const chart = plot && plot.__jtChart;
      if (!chart) return null;
      return {raw: Array.from(chart.data[1]), smoothed: Array.from(chart.data[2]), x: Array.from(chart.data[0])};
    }""", [container, metric])


def test_jupyterlab_loads_the_installed_extension_its_sidebar_lists_the_store_and_the_slider_smooths(
        hosts: VenvHosts, lab: VenvLab, page: Any) -> None:
    assert "jupyter_tracker.lab | extension was successfully loaded" in lab.log(), lab.log()[-3000:]
    federated = page.evaluate("() => JSON.parse(document.getElementById('jupyter-config-data').textContent)"
                              ".federated_extensions.map((e) => e.name)")
    assert "jupyter-tracker" in federated, federated
    assert page.evaluate("() => window.jupyterapp.isPluginActivated('jupyter-tracker:plugin')")
    store = hosts.store()
    assert SEEDED in store["wheel"], store
    show_runs_sidebar(page)
    # the sidebar lists the store: its projects, and the open project's runs by name
    assert sorted(page.eval_on_selector_all(f"{SIDEBAR} .jt-project-name", "nodes => nodes.map(n => n.textContent)")) \
        == sorted(store), store
    page.wait_for_function(
        "([sidebar, names]) => JSON.stringify(Array.from(document.querySelectorAll(`${sidebar} .jt-project[data-project='wheel']"
        " .jt-run-name`), (n) => n.textContent).sort()) === JSON.stringify(names)", arg=[SIDEBAR, store["wheel"]],
        timeout=30_000)
    item = page.locator(f"{SIDEBAR} .jt-run", has=page.locator(f".jt-run-name:text-is('{SEEDED}')"))
    assert "train/loss" in item.locator(".jt-run-values").inner_text()
    page.screenshot(path=str(ARTIFACTS / "wheel_sidebar.png"))

    item.click()
    page.wait_for_function("() => { const p = document.querySelector('.jt-run-page .jt-chart[data-metric=\"train/loss\"] .jt-chart-plot');"
                           " return p && p.__jtChart; }", timeout=30_000)
    assert page.inner_text(".jt-run-page .jt-run-title") == SEEDED
    before = read_chart(page, ".jt-run-page", "train/loss")
    assert before is not None and before["x"][-1] == 2999
    page.eval_on_selector(".jt-run-page .jt-smoothing",
                          "(slider) => { slider.value = '0.95'; slider.dispatchEvent(new Event('input', {bubbles: true})); }")
    after = read_chart(page, ".jt-run-page", "train/loss")
    assert after is not None and after["raw"] == before["raw"]
    assert after["smoothed"] != before["smoothed"], "moving the slider redraws the smoothed line"
    page.screenshot(path=str(ARTIFACTS / "wheel_run_page.png"))
    assert not page.__jt_errors, page.__jt_errors  # type: ignore[attr-defined]


def test_a_notebook_run_shows_up_live_and_its_saved_charts_reopen_without_a_kernel(
        hosts: VenvHosts, lab: VenvLab, page: Any, browser: Any) -> None:
    path = lab.work / LIVE_NOTEBOOK
    page.goto(lab.lab_url(path.name))
    page.wait_for_function(KERNEL_IDLE, timeout=120_000)
    page.evaluate("() => { window.jupyterapp.commands.execute('notebook:run-all-cells'); }")  # settles when training ends
    try:
        show_runs_sidebar(page)
        page.wait_for_function(
            "() => Array.from(document.querySelectorAll('#jupyter-tracker-runs .jt-run.jt-state-running .jt-run-name'))"
            ".some(n => n.textContent === 'live-notebook-run')", timeout=90_000)
        first = page.wait_for_function(STATUS_STEP, timeout=60_000).json_value()
        later = page.wait_for_function(f"() => {{ const step = ({STATUS_STEP})(); return step > {first} && step; }}",
                                       timeout=60_000).json_value()
        assert later > first, "the status bar follows the run's step"
        page.screenshot(path=str(ARTIFACTS / "wheel_status_bar.png"))
    finally:
        (lab.work / "stop-lab-run").touch()
    wait_for_all_cells(page, 120)
    page.wait_for_function("() => { const s = document.querySelector('.jt-live-state'); return s && s.textContent === 'finished'; }",
                           timeout=60_000)
    save_notebook(page, path)
    saved = wait_until(lambda: charts_output(path), 10, "the saved notebook has no charts output")
    assert WIDGET not in saved, sorted(saved)

    # another server of the same venv with no kernel to give: the extension's MIME renderer draws the saved charts
    reader = hosts.reader()
    tab = browser.new_page(viewport={"width": 1400, "height": 1000})
    errors: list[str] = []
    tab.on("pageerror", lambda error: errors.append(str(error)))
    try:
        open_without_kernel(tab, reader.lab_url(path.name))
        tab.wait_for_function(SAVED_CHARTS, timeout=60_000)
        assert tab.evaluate("() => { const w = window.jupyterapp.shell.currentWidget;"
                            " return Boolean(w.sessionContext.session && w.sessionContext.session.kernel); }") is False
        assert tab.inner_text(".jt-charts-output .jt-run-title") == "live-notebook-run"
        assert not tab.query_selector(".jt-charts-output .js-plotly-plot"), "the extension's renderer, not plotly"
        tab.eval_on_selector(".jt-charts-output .jt-chart[data-metric=\"train/loss\"]",
                             "(chart) => chart.scrollIntoView({block: 'center'})")
        tab.wait_for_timeout(300)
        tab.screenshot(path=str(ARTIFACTS / "wheel_saved_notebook.png"))
        assert not errors, errors
    finally:
        tab.close()
    assert page.evaluate(CELL_PROMPTS)  # the first server's notebook is still open

