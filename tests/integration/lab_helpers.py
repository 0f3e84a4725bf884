"""What the browser tests share: JupyterLab on loopback, Debian's Chromium through Playwright, notebooks.

One place for the set-up every browser test module needs, so a change of JupyterLab's flags, of
Chromium's arguments or of the skip rule is made once. The module-scoped ``browser`` and
``jupyterlab`` fixtures at the end reach every test module through ``tests/integration/conftest.py``;
a module that needs notebooks in place before JupyterLab starts defines its own ``jupyterlab``
fixture with ``start_jupyterlab``.
"""

from __future__ import annotations

import os
import re
import secrets
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
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]
#: this checkout's built JupyterLab extension (``npm run build`` in ``labextension/``)
LABEXTENSION = ROOT / "jupyter_tracker" / "labextension"
WIDGET = "application/vnd.jupyter.widget-view+json"
PLOTLY = "application/vnd.plotly.v1+json"

#: skips a test without Chromium, unless CI says it is installed (``JT_REQUIRE_BROWSER=1``: then the test fails)
NEEDS_CHROMIUM = pytest.mark.skipif(
    not CHROMIUM.exists() and not REQUIRE_BROWSER,
    reason="needs Debian's Chromium at /usr/bin/chromium (set JT_REQUIRE_BROWSER=1 to make its absence a failure)",
)
#: the marks of every browser test module: ``pytestmark = BROWSER_MARKS``
BROWSER_MARKS = [pytest.mark.integration, pytest.mark.browser, NEEDS_CHROMIUM]

# the open notebook's kernel is idle (it has started and nothing runs)
KERNEL_IDLE = ("() => { const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;"
               " const k = w && w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel;"
               " return k && k.status === 'idle'; }")
#: JupyterLab's flags for a server with no kernel to give: a reader of a saved notebook sees what the file holds
NO_KERNEL = ("--KernelSpecManager.allowed_kernelspecs=['no-such-kernel']",)
# a saved notebook's charts are drawn: plotly's figures (where its renderer is installed) or the SVG charts
SAVED_CHARTS_SHOWN = ("() => document.querySelectorAll('.jp-OutputArea .js-plotly-plot .main-svg').length"
                      " || document.querySelectorAll('.jt-live-static svg').length")
# the input prompt of each code cell of the open notebook ("[*]:" while it runs)
CELL_PROMPTS = """() => Array.from(window.jupyterapp.shell.currentWidget.content.widgets)
  .filter((cell) => cell.model.type === 'code')
  .map((cell) => cell.node.querySelector('.jp-InputPrompt').textContent.trim())"""


def require_tools() -> None:
    """Fails (not skips) the test when Chromium, Playwright or JupyterLab is missing: the skip mark covers that."""
    if not CHROMIUM.exists():
        pytest.fail(f"JT_REQUIRE_BROWSER=1 but {CHROMIUM} does not exist: install Debian's chromium package")
    for module in ("playwright", "jupyterlab"):
        try:
            __import__(module)
        except ImportError:
            pytest.fail(f"the browser test needs {module!r} (pip install -e '.[test]')")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_until(condition: Callable[[], Any], timeout: float, message: str, interval: float = 0.1) -> Any:
    """Polls ``condition`` until it returns something true (returned) or ``timeout`` seconds pass (AssertionError)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f}s: {message}")


def launch(playwright: Any) -> Any:
    """Debian's headless Chromium, through Playwright."""
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)


def isolated_environment(overrides: dict[str, str]) -> dict[str, str]:
    """This process's environment without any ``WANDB_*``/``JUPYTER_TRACKER_*`` variable, plus ``overrides``."""
    environment = {key: value for key, value in os.environ.items() if not key.startswith(("WANDB_", "JUPYTER_TRACKER_"))}
    environment.update(overrides)
    return environment


class LabServer:
    """A JupyterLab process on ``127.0.0.1:port`` with a random token, serving ``work``; started when built."""

    def __init__(self, work: Path, port: int, environment: dict[str, str], log_path: Path,
                 extra: tuple[str, ...] = (), start_timeout: float = 90) -> None:
        self.work = work
        self.port = port
        self.token = secrets.token_hex(16)
        self.base = f"http://127.0.0.1:{port}"
        self.log_path = log_path
        command = [
            sys.executable, "-m", "jupyterlab", "--no-browser", "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.port={port}", "--ServerApp.port_retries=0", f"--IdentityProvider.token={self.token}",
            f"--ServerApp.root_dir={work}", "--LabApp.expose_app_in_browser=True", "--LabApp.news_url=None",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate", "--LabApp.extension_manager=readonly",
            *extra,
        ]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            command.append("--allow-root")  # CI containers run as root
        with open(log_path, "wb") as log:
            self.process = subprocess.Popen(command, cwd=work, env=environment, stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_until(self._ready, start_timeout, "JupyterLab did not start", interval=0.3)
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
        """The JupyterLab page of ``path`` (relative to ``work``), token included."""
        return f"{self.base}/lab/tree/{path}?token={self.token}"

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)


class Lab(LabServer):
    """JupyterLab serving ``work`` with its Jupyter and tracker directories under ``home``.

    Several may share one ``home`` one after the other: the notebook signature database (what makes a
    saved notebook trusted) is in the shared ``home / "jupyter-data"``. ``env`` adds to the server's
    environment (the kernel inherits it).
    """

    def __init__(self, work: Path, home: Path, extra: tuple[str, ...] = (), env: dict[str, str] | None = None) -> None:
        port = free_port()
        environment = isolated_environment({
            "WANDB_DIR": str(home / "store"), "WANDB_MODE": "offline", "JUPYTER_TRACKER_HOME": str(home / "tracker"),
            "JUPYTER_DATA_DIR": str(home / "jupyter-data"),
            "JUPYTER_CONFIG_DIR": str(home / "jupyter-config"), "JUPYTER_RUNTIME_DIR": str(home / "jupyter-runtime"),
            "JUPYTERLAB_SETTINGS_DIR": str(home / "lab-settings"),
            "JUPYTERLAB_WORKSPACES_DIR": str(home / f"lab-workspaces-{port}"),
            **(env or {}),
        })
        # no "get notified about Jupyter news?" toast over the charts in the screenshots
        notification = home / "lab-settings" / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
        notification.parent.mkdir(parents=True, exist_ok=True)
        notification.write_text('{"fetchNews": "false"}', encoding="utf-8")
        super().__init__(work, port, environment, home / f"jupyterlab-{port}.log", extra)


def start_jupyterlab(tmp_path: Path) -> Iterator[dict[str, Any]]:
    """JupyterLab serving ``tmp_path / "lab"``, its directories under ``tmp_path``; stopped when the generator closes.

    Yields ``{"base", "token", "work", "log", "store"}`` (``store``: the runs' ``WANDB_DIR``). Meant for
    ``yield from start_jupyterlab(tmp_path)`` in a module-scoped fixture.
    """
    require_tools()
    work = tmp_path / "lab"
    work.mkdir(exist_ok=True)
    environment = isolated_environment({
        "WANDB_DIR": str(tmp_path / "store"),
        "WANDB_MODE": "offline",
        "JUPYTER_TRACKER_HOME": str(tmp_path / "home"),
        "JUPYTER_CONFIG_DIR": str(tmp_path / "jupyter-config"),
        "JUPYTER_RUNTIME_DIR": str(tmp_path / "jupyter-runtime"),
        "JUPYTERLAB_SETTINGS_DIR": str(tmp_path / "lab-settings"),
        "JUPYTERLAB_WORKSPACES_DIR": str(tmp_path / "lab-workspaces"),
    })
    server = LabServer(work, free_port(), environment, tmp_path / "jupyterlab.log", start_timeout=60)
    try:
        yield {"base": server.base, "token": server.token, "work": work, "log": server.log_path,
               "store": tmp_path / "store"}
    finally:
        server.stop()


def lab_url(jupyterlab: dict[str, Any], name: str) -> str:
    """The JupyterLab page of notebook ``name`` of a ``start_jupyterlab`` server, token included."""
    return f"{jupyterlab['base']}/lab/tree/{name}?token={jupyterlab['token']}"


def write_notebook(path: Path, cells: list[str]) -> None:
    """A notebook of code ``cells`` with the ``python3`` kernel, written to ``path``."""
    import nbformat

    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(source) for source in cells]
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(notebook, path)


def open_and_run_all(page: Any, url: str, timeout: float = 120_000) -> None:
    """Opens a notebook's ``url``, waits (``timeout`` ms) for its idle kernel and starts running every cell.

    Returns once the run is asked for, not when the cells are done (see ``wait_for_all_cells``).
    """
    page.goto(url)
    page.wait_for_function(KERNEL_IDLE, timeout=timeout)
    page.evaluate("() => { window.jupyterapp.commands.execute('notebook:run-all-cells'); }")  # do not await the run


def wait_for_all_cells(page: Any, timeout: float) -> None:
    """Waits ``timeout`` seconds at most until every code cell of the open notebook has run."""
    def done() -> bool:
        prompts = page.evaluate(CELL_PROMPTS)
        return all(prompt not in ("[ ]:", "[*]:") and "*" not in prompt for prompt in prompts)

    wait_until(done, timeout, "the notebook's cells did not all run")


def collect_console_errors(page: Any) -> list[str]:
    """The errors ``page`` logs to its console from now on: a list that fills as they come."""
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    return errors


def save_notebook(page: Any, path: Path) -> None:
    """Saves the open notebook with JupyterLab's save command; returns once the file at ``path`` has changed."""
    before = path.stat().st_mtime_ns
    page.evaluate("() => { window.jupyterapp.commands.execute('docmanager:save'); }")
    wait_until(lambda: path.stat().st_mtime_ns != before, 30, "the notebook was not saved")
    time.sleep(0.5)


def open_without_kernel(page: Any, url: str, timeout: float = 120_000) -> None:
    """Opens a notebook's ``url`` on a server started with ``NO_KERNEL``: waits for its cells, closes the kernel dialog."""
    page.goto(url)
    page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=timeout)
    dismiss_kernel_dialog(page)


def dismiss_kernel_dialog(page: Any) -> None:
    """Closes the "Select Kernel" dialog a server without the notebook's kernel shows, keeping "No Kernel"."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        page.wait_for_selector(".jp-Dialog", timeout=15_000, state="attached")
    except PlaywrightTimeout:
        return
    page.keyboard.press("Escape")


def open_notebook(page: Any, jupyterlab: dict[str, Any], name: str, before_run: str | None = None) -> None:
    """Opens ``name`` in JupyterLab, waits for its idle kernel and runs every cell until the live panel shows.

    ``before_run``: JS to run first. The page records in ``window.__jtStatusParents`` what each kernel
    status message answers (the live panel's comm messages must publish none); the panel ends in view.
    """
    page.goto(lab_url(jupyterlab, name))
    page.wait_for_function(
        "(name) => { const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;"
        " return w && w.context && w.context.path === name && w.sessionContext.session"
        " && w.sessionContext.session.kernel && w.sessionContext.session.kernel.status === 'idle'; }",
        arg=name, timeout=90_000,
    )
    if before_run:
        page.evaluate(before_run)
    page.evaluate("""() => {
      // what each kernel status message answers: the panel's comm messages must publish none
      window.__jtStatusParents = [];
      const kernel = window.jupyterapp.shell.currentWidget.sessionContext.session.kernel;
      kernel.iopubMessage.connect((_, message) => {
        if (message.header.msg_type === 'status') window.__jtStatusParents.push(message.parent_header.msg_type);
      });
      window.jupyterapp.commands.execute('notebook:run-all-cells');
    }""")
    # run-all leaves the last cell in view; the panel draws only the charts on screen
    page.wait_for_selector(".jt-live", timeout=90_000)
    page.wait_for_timeout(300)
    page.evaluate("() => document.querySelector('.jt-live').scrollIntoView({block: 'start'})")


def read_chart(page: Any, metric: str) -> dict[str, Any] | None:
    """The extension's chart of ``metric`` on the open run page (uPlot data: x, raw, smoothed), or None."""
    return page.evaluate("""(metric) => {
      const plot = document.querySelector(`.jt-run-page .jt-chart[data-metric="${metric}"] .jt-chart-plot`);
      const chart = plot && plot.__jtChart;
      if (!chart) return null;
      return {raw: Array.from(chart.data[1]), smoothed: Array.from(chart.data[2]), x: Array.from(chart.data[0]),
              canvases: plot.querySelectorAll('canvas').length, width: chart.width};
    }""", metric)


def _rgb(colour: str) -> tuple[float, float, float]:
    if colour.startswith("#"):
        digits = colour[1:]
        if len(digits) == 3:
            digits = "".join(digit * 2 for digit in digits)
        return tuple(int(digits[i:i + 2], 16) / 255 for i in (0, 2, 4))  # type: ignore[return-value]
    numbers = [float(part) for part in re.findall(r"[\d.]+", colour)[:3]]
    return tuple(number / 255 for number in numbers)  # type: ignore[return-value]


def luminance(colour: str) -> float:
    """WCAG relative luminance of a CSS colour (``#rgb``, ``#rrggbb``, ``rgb(...)`` or ``rgba(...)``)."""
    def channel(value: float) -> float:
        return value / 12.92 if value <= 0.03928 else ((value + 0.055) / 1.055) ** 2.4

    red, green, blue = (channel(value) for value in _rgb(colour))
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def contrast(first: str, second: str) -> float:
    """WCAG contrast ratio of two CSS colours (4.5 is AA for text, 7 AAA)."""
    lighter, darker = sorted((luminance(first), luminance(second)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's headless Chromium for the module (``test-artifacts/`` exists for its screenshots)."""
    require_tools()
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        chromium = launch(playwright)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture(scope="module")
def jupyterlab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """JupyterLab for the module, serving an empty ``jupyterlab["work"]`` (see ``lab_helpers.start_jupyterlab``).

    A module that needs its notebooks there before JupyterLab starts defines its own ``jupyterlab``.
    """
    yield from start_jupyterlab(tmp_path_factory.mktemp("jupyterlab"))
