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
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = ROOT / "test-artifacts"
REQUIRE_BROWSER = os.environ.get("JT_REQUIRE_BROWSER") == "1"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
WIDGET = "application/vnd.jupyter.widget-view+json"
PLOTLY = "application/vnd.plotly.v1+json"

pytestmark = [
    pytest.mark.integration,
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists() and not REQUIRE_BROWSER,
        reason="needs Debian's Chromium at /usr/bin/chromium (set JT_REQUIRE_BROWSER=1 to make its absence a failure)",
    ),
]


def wait_until(condition: Callable[[], Any], timeout: float, message: str, interval: float = 0.2) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f}s: {message}")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Lab:
    """One JupyterLab server on loopback with a random token, serving ``work``."""

    def __init__(self, work: Path, home: Path, extra: tuple[str, ...] = (), env: dict[str, str] | None = None) -> None:
        self.work = work
        self.port = _free_port()
        self.token = secrets.token_hex(16)
        self.base = f"http://127.0.0.1:{self.port}"
        environment = {key: value for key, value in os.environ.items()
                       if not key.startswith(("WANDB_", "JUPYTER_TRACKER_"))}
        environment.update({
            "WANDB_DIR": str(home / "store"), "WANDB_MODE": "offline", "JUPYTER_TRACKER_HOME": str(home / "tracker"),
            # a shared data directory: the notebook signature database that makes a saved notebook trusted
            "JUPYTER_DATA_DIR": str(home / "jupyter-data"),
            "JUPYTER_CONFIG_DIR": str(home / "jupyter-config"), "JUPYTER_RUNTIME_DIR": str(home / "jupyter-runtime"),
            "JUPYTERLAB_SETTINGS_DIR": str(home / "lab-settings"),
            "JUPYTERLAB_WORKSPACES_DIR": str(home / f"lab-workspaces-{self.port}"),
            **(env or {}),
        })
        # no "get notified about Jupyter news?" toast over the charts in the screenshots
        notification = home / "lab-settings" / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
        notification.parent.mkdir(parents=True, exist_ok=True)
        notification.write_text('{"fetchNews": "false"}', encoding="utf-8")
        command = [
            sys.executable, "-m", "jupyterlab", "--no-browser", "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.port={self.port}", "--ServerApp.port_retries=0", f"--IdentityProvider.token={self.token}",
            f"--ServerApp.root_dir={work}", "--LabApp.expose_app_in_browser=True", "--LabApp.news_url=None",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate", "--LabApp.extension_manager=readonly",
            *extra,
        ]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            command.append("--allow-root")  # CI containers run as root
        self.log_path = home / f"jupyterlab-{self.port}.log"
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(command, cwd=work, env=environment, stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_until(self._ready, 90, "JupyterLab did not start", interval=0.3)
        except BaseException:
            self.stop()
            raise

    def _ready(self) -> bool:
        if self.process.poll() is not None:
            raise AssertionError(f"JupyterLab exited early:\n{self.log_path.read_text(errors='replace')[-3000:]}")
        try:
            with urllib.request.urlopen(f"{self.base}/api/status?token={self.token}", timeout=2) as response:
                return response.status == 200
        except OSError:
            return False

    def url(self, path: str) -> str:
        return f"{self.base}/lab/tree/{path}?token={self.token}"

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.fail(f"JT_REQUIRE_BROWSER=1 but {CHROMIUM} does not exist: install Debian's chromium package")
    for module in ("playwright", "jupyterlab"):
        try:
            __import__(module)
        except ImportError:
            pytest.fail(f"the browser test needs {module!r} (pip install -e '.[test]')")
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            yield chromium
        finally:
            chromium.close()


def quickstart_copy(work: Path) -> str:
    """``notebooks/quickstart.ipynb`` copied into ``work``."""
    name = "quickstart.ipynb"
    shutil.copy(ROOT / "notebooks" / name, work / name)
    return name


KERNEL_IDLE = ("() => { const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;"
               " const k = w && w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel;"
               " return k && k.status === 'idle'; }")
CELL_PROMPTS = """() => Array.from(window.jupyterapp.shell.currentWidget.content.widgets)
  .filter((cell) => cell.model.type === 'code')
  .map((cell) => cell.node.querySelector('.jp-InputPrompt').textContent.trim())"""
STATIC_CHART = """() => {
  const cell = window.jupyterapp.shell.currentWidget.content.widgets.filter((c) => c.model.type === 'code')[0];
  const charts = cell.node.querySelectorAll('.jt-live-static svg[aria-label="train/loss"] polyline');
  return Array.from(charts, (line) => line.getAttribute('points')).join('|');
}"""


def open_and_run_all(page: Any, lab: Lab, name: str) -> None:
    page.goto(lab.url(name))
    page.wait_for_function(KERNEL_IDLE, timeout=120_000)
    page.evaluate("() => { window.jupyterapp.commands.execute('notebook:run-all-cells'); }")  # do not await the run


def wait_for_all_cells(page: Any, timeout: float) -> None:
    def done() -> bool:
        prompts = page.evaluate(CELL_PROMPTS)
        return all(prompt not in ("[ ]:", "[*]:") and "*" not in prompt for prompt in prompts)

    wait_until(done, timeout, "the notebook's cells did not all run")


def test_static_mode_redraws_during_the_run_in_jupyterlab(browser: Any, tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    name = quickstart_copy(work)
    path = work / name
    lab = Lab(work, tmp_path, env={"JUPYTER_TRACKER_LIVE": "static"})  # the kernel inherits the server's environment
    try:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        open_and_run_all(page, lab, name)
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
        before = path.stat().st_mtime_ns
        page.evaluate("() => { window.jupyterapp.commands.execute('docmanager:save'); }")
        wait_until(lambda: path.stat().st_mtime_ns != before, 30, "the notebook was not saved")
        time.sleep(0.5)
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
        open_and_run_all(page, lab, name)
        page.wait_for_selector(".jt-live-state", timeout=120_000)
        wait_for_all_cells(page, 240)
        page.wait_for_function(
            "() => { const s = document.querySelector('.jt-live-state'); return s && s.textContent === 'finished'; }",
            timeout=60_000)
        assert page.query_selector(".jt-live-state"), "the open notebook keeps its live widget after the run"
        before = path.stat().st_mtime_ns
        page.evaluate("() => { window.jupyterapp.commands.execute('docmanager:save'); }")
        wait_until(lambda: path.stat().st_mtime_ns != before, 30, "the notebook was not saved")
        time.sleep(0.5)
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
    reader = Lab(work, tmp_path, extra=("--KernelSpecManager.allowed_kernelspecs=['no-such-kernel']",))
    try:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(reader.url(name))
        page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=120_000)
        dismiss_kernel_dialog(page)
        page.wait_for_function(
            "() => document.querySelectorAll('.jp-OutputArea .js-plotly-plot .main-svg').length"
            " || document.querySelectorAll('.jt-live-static svg').length", timeout=60_000)
        time.sleep(1.0)  # let plotly finish drawing before the screenshot
        page.screenshot(path=str(ARTIFACTS / "reopened_notebook.png"), full_page=False)
        assert not page.query_selector("text=Error displaying widget")
        check_charts_drawn(page)
        if importlib.util.find_spec("notebook") is not None:  # Notebook 7, on the same server
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(f"{reader.base}/notebooks/{name}?token={reader.token}")
            page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=120_000)
            dismiss_kernel_dialog(page)
            page.wait_for_function(
                "() => document.querySelectorAll('.jp-OutputArea .js-plotly-plot .main-svg').length"
                " || document.querySelectorAll('.jt-live-static svg').length", timeout=60_000)
            time.sleep(1.0)
            page.screenshot(path=str(ARTIFACTS / "reopened_notebook7.png"), full_page=False)
            assert not page.query_selector("text=Error displaying widget")
            check_charts_drawn(page)
    finally:
        reader.stop()


def dismiss_kernel_dialog(page: Any) -> None:
    """Closes the "Select Kernel" dialog a server without the notebook's kernel shows, keeping "No Kernel"."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        page.wait_for_selector(".jp-Dialog", timeout=15_000, state="attached")
    except PlaywrightTimeout:
        return
    page.keyboard.press("Escape")


def check_charts_drawn(page: Any) -> None:
    drawn = page.evaluate(
        "() => ({plotly: document.querySelectorAll('.jp-OutputArea .js-plotly-plot .scatterlayer path.js-line').length,"
        " svg: document.querySelectorAll('.jt-live-static svg polyline').length,"
        " titles: Array.from(document.querySelectorAll('.jp-OutputArea .js-plotly-plot .annotation-text'),"
        " (n) => n.textContent)})")
    assert drawn["plotly"] >= 8 or drawn["svg"] >= 8, drawn
    if drawn["plotly"]:
        assert {"train/loss", "val/acc"} <= set(drawn["titles"]), drawn
