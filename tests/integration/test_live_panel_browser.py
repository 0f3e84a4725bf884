"""The live panel in a real browser: JupyterLab on loopback, driven by Playwright with Debian's Chromium.

Runs ``notebooks/quickstart.ipynb`` and checks, while the training cell is still running, that
the live charts are drawn and grow, and that moving the smoothing slider redraws the smoothed
line with the new weight (computed in the browser: the kernel is busy). A screenshot goes to
``test-artifacts/``.
"""

from __future__ import annotations

import json
import math
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

import numpy as np
import pytest

from jupyter_tracker.smoothing import tensorboard_ema

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = ROOT / "test-artifacts"
REQUIRE_BROWSER = os.environ.get("JT_REQUIRE_BROWSER") == "1"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]

pytestmark = [
    pytest.mark.integration,
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists() and not REQUIRE_BROWSER,
        reason="needs Debian's Chromium at /usr/bin/chromium (set JT_REQUIRE_BROWSER=1 to make its absence a failure)",
    ),
]


def _require_tools() -> None:
    if not CHROMIUM.exists():
        pytest.fail(f"JT_REQUIRE_BROWSER=1 but {CHROMIUM} does not exist: install Debian's chromium package")
    for module in ("playwright", "jupyterlab"):
        try:
            __import__(module)
        except ImportError:
            pytest.fail(f"the browser test needs {module!r} (pip install -e '.[test]')")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_until(condition: Callable[[], Any], timeout: float, message: str, interval: float = 0.1) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f}s: {message}")


@pytest.fixture
def jupyterlab(tmp_path: Path) -> Iterator[dict[str, Any]]:
    """JupyterLab on 127.0.0.1 with a random token, serving a copy of the quickstart notebook."""
    _require_tools()
    work = tmp_path / "lab"
    work.mkdir()
    shutil.copy(ROOT / "notebooks" / "quickstart.ipynb", work / "quickstart.ipynb")
    port = _free_port()
    token = secrets.token_hex(16)
    environment = {key: value for key, value in os.environ.items() if not key.startswith(("WANDB_", "JUPYTER_TRACKER_"))}
    environment.update({
        "WANDB_DIR": str(tmp_path / "store"),
        "WANDB_MODE": "offline",
        "JUPYTER_TRACKER_HOME": str(tmp_path / "home"),
        "JUPYTER_CONFIG_DIR": str(tmp_path / "jupyter-config"),
        "JUPYTER_RUNTIME_DIR": str(tmp_path / "jupyter-runtime"),
        "JUPYTERLAB_SETTINGS_DIR": str(tmp_path / "lab-settings"),
        "JUPYTERLAB_WORKSPACES_DIR": str(tmp_path / "lab-workspaces"),
    })
    command = [
        sys.executable, "-m", "jupyterlab", "--no-browser", "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={work}",
        "--LabApp.expose_app_in_browser=True", "--LabApp.news_url=None",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate", "--LabApp.extension_manager=readonly",
    ]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-root")  # CI containers run as root
    log_path = tmp_path / "jupyterlab.log"
    with open(log_path, "wb") as log:
        server = subprocess.Popen(command, cwd=work, env=environment, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"

    def ready() -> bool:
        if server.poll() is not None:
            raise AssertionError(f"JupyterLab exited early:\n{log_path.read_text(errors='replace')[-3000:]}")
        try:
            with urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2) as response:
                return response.status == 200
        except OSError:
            return False

    try:
        wait_until(ready, 60, "JupyterLab did not start", interval=0.3)
        yield {"base": base, "token": token, "work": work, "log": log_path}
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=5)


CHART = '.jt-live-chart[data-metric="train/loss"] .jt-live-plot'
VAL_CHART = '.jt-live-chart[data-metric="val/acc"] .jt-live-plot'

READ_CHART = """(selector) => {
  const plot = document.querySelector(selector);
  if (!plot || !plot.data || plot.data.length < 2) return null;
  return {raw: plot.data[0].y, smoothed: plot.data[1].y, x: plot.data[0].x.length,
          paths: plot.querySelectorAll('path.js-line').length};
}"""

TRAINING_RUNNING = """() => {
  const panel = window.jupyterapp.shell.currentWidget;
  const cells = panel.content.widgets.filter((cell) => cell.model.type === 'code');
  const prompt = cells[2].node.querySelector('.jp-InputPrompt').textContent;
  const state = document.querySelector('.jt-live-state');
  return {running: prompt.includes('*') && state !== null && state.textContent === 'running',
          prompt, state: state && state.textContent};
}"""


def training_running(page: Any) -> tuple[bool, dict[str, Any]]:
    found = page.evaluate(TRAINING_RUNNING)
    if not found["running"]:
        page.screenshot(path=str(ARTIFACTS / "live_panel_failure.png"), full_page=True)
    return bool(found["running"]), found


def _floats(values: list[Any]) -> np.ndarray:
    return np.array([math.nan if value is None else float(value) for value in values], dtype=np.float64)


def test_live_panel_draws_grows_and_smooths_while_the_cell_runs(jupyterlab: dict[str, Any]) -> None:
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            console_errors: list[str] = []
            page.on("console", lambda message: console_errors.append(message.text) if message.type == "error" else None)
            outside: list[str] = []
            local = (jupyterlab["base"], "blob:", "data:")
            page.on("request", lambda request: None if request.url.startswith(local) else outside.append(request.url))
            page.goto(f"{jupyterlab['base']}/lab/tree/quickstart.ipynb?token={jupyterlab['token']}")
            page.wait_for_function(
                "() => window.jupyterapp && window.jupyterapp.shell.currentWidget"
                " && window.jupyterapp.shell.currentWidget.sessionContext"
                " && window.jupyterapp.shell.currentWidget.sessionContext.session"
                " && window.jupyterapp.shell.currentWidget.sessionContext.session.kernel",
                timeout=90_000,
            )
            page.wait_for_function(
                "() => window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.status === 'idle'",
                timeout=90_000,
            )
            page.evaluate("() => { window.jupyterapp.commands.execute('notebook:run-all-cells'); }")

            # the chart is drawn while the training cell runs
            page.wait_for_function(
                f"() => {{ const p = document.querySelector('{CHART}'); return p && p.data && p.data[0].x.length > 20; }}",
                timeout=90_000,
            )
            running, found = training_running(page)
            assert running, f"the training cell finished before the chart could be checked: {found}"
            first = page.evaluate(READ_CHART, CHART)
            assert first["paths"] >= 2, "plotly drew no line paths for the raw and smoothed traces"

            # it grows while the same cell is still running
            page.wait_for_function(
                f"(count) => document.querySelector('{CHART}').data[0].x.length > count + 20", arg=first["x"],
                timeout=30_000,
            )
            running, found = training_running(page)
            assert running, f"the chart only grew after the training cell ended: {found}"

            # the smoothing slider acts in the browser while the kernel is busy
            page.fill(".jt-live-smoothing", "0.95")
            page.wait_for_function("() => document.querySelector('.jt-live-smoothing-value').textContent === '0.950'")

            def smoothed_with(weight: float) -> dict[str, Any] | None:
                chart = page.evaluate(READ_CHART, CHART)
                raw, smoothed = _floats(chart["raw"]), _floats(chart["smoothed"])
                expected = tensorboard_ema(raw, weight)
                if raw.size and np.allclose(smoothed, expected, rtol=0, atol=1e-9, equal_nan=True):
                    return {"raw": raw, "smoothed": smoothed}
                return None

            after = wait_until(lambda: smoothed_with(0.95), 10, "the smoothed line did not follow the slider")
            assert not np.allclose(after["smoothed"], tensorboard_ema(after["raw"], 0.6), atol=1e-6, equal_nan=True)
            running, found = training_running(page)
            assert running, f"the slider was checked after the training cell ended: {found}"
            page.screenshot(path=str(ARTIFACTS / "live_panel_running.png"), full_page=False)

            # the run finishes; the panel says so and keeps its charts
            page.wait_for_function(
                "() => { const s = document.querySelector('.jt-live-state'); return s && s.textContent === 'finished'; }",
                timeout=120_000,
            )
            page.screenshot(path=str(ARTIFACTS / "live_panel_finished.png"), full_page=False)

            # the other controls, all in the browser: x-axis, metric filter, log scale
            options = page.eval_on_selector(".jt-live-axis", "(select) => Array.from(select.options, (o) => o.value)")
            assert options == ["step", "relative", "wall", "epoch"], options
            page.select_option(".jt-live-axis", "epoch")
            page.wait_for_function(
                f"() => {{ const x = document.querySelector('{VAL_CHART}').data[0].x;"
                " return x.length === 15 && x.every((value, i) => value === i); }"
            )
            page.select_option(".jt-live-axis", "wall")
            page.wait_for_function(f"() => document.querySelector('{CHART}').layout.xaxis.type === 'date'")
            page.fill(".jt-live-filter", "^val/")
            page.wait_for_function(
                "() => document.querySelector('.jt-live-chart[data-metric=\"train/loss\"]').hidden"
                " && !document.querySelector('.jt-live-chart[data-metric=\"val/acc\"]').hidden"
            )
            page.check(".jt-live-log")
            page.wait_for_function(f"() => document.querySelector('{VAL_CHART}').layout.yaxis.type === 'log'")
            groups = page.evaluate("() => Array.from(document.querySelectorAll('.jt-live-group-title'), (n) => n.textContent)")
            assert "train" in groups and "val" in groups, groups
            plotly_errors = [text for text in console_errors if "jupyter_tracker" in text]
            assert not plotly_errors, plotly_errors
            loads = page.evaluate("() => document.querySelectorAll('script[data-jupyter-tracker=\"plotly\"]').length")
            assert loads == 1, f"plotly.js must be loaded once per page, was loaded {loads} times"
            assert page.evaluate("() => typeof window.Plotly.react") == "function"
            assert not outside, f"the page fetched from outside the server (no internet allowed): {outside[:5]}"
        finally:
            browser.close()
    assert (ARTIFACTS / "live_panel_running.png").stat().st_size > 0
    json.dumps(first)  # the chart read back is plain data
