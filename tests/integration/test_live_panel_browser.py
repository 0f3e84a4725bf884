"""The live panel in a real browser: JupyterLab on loopback, driven by Playwright with Debian's Chromium.

Runs ``notebooks/quickstart.ipynb`` (slowed down so the checks happen while it runs) and checks,
while the training cell is still running, that the live charts are drawn and grow, that moving
the smoothing slider redraws the smoothed line with the new weight (computed in the browser: the
kernel is busy), and that define_metric's step metric is the default x-axis. A second notebook of
ten metrics checks the layout: charts keep a non-zero size inside their cells through a window
resize and a sidebar toggle, one-point series show a marker, names show as typed in natural order,
colours stay per metric, and the dark theme's text has enough contrast. One JupyterLab server
serves the module. Screenshots go to ``test-artifacts/``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from jupyter_tracker.smoothing import tensorboard_ema
from tests.integration.lab_helpers import (
    ARTIFACTS,
    BROWSER_MARKS,
    ROOT,
    collect_console_errors,
    contrast,
    launch,
    luminance,
    open_notebook,
    start_jupyterlab,
    wait_until,
    write_notebook,
)

pytestmark = BROWSER_MARKS


@pytest.fixture(scope="module")
def jupyterlab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """One JupyterLab for the module, serving the quickstart (2 s epochs) and the layout notebook."""
    tmp_path = tmp_path_factory.mktemp("live-panel-browser")
    work = tmp_path / "lab"
    work.mkdir()
    quickstart = (ROOT / "notebooks" / "quickstart.ipynb").read_text(encoding="utf-8")
    slowed = quickstart.replace("step_budget = 0.006", "step_budget = 0.012")
    assert slowed != quickstart, "the quickstart's step budget moved: update this fixture"
    (work / "quickstart.ipynb").write_text(slowed, encoding="utf-8")
    write_notebook(work / "layout.ipynb", [LAYOUT_SETUP, LAYOUT_TRAIN, SPIKY])
    yield from start_jupyterlab(tmp_path)


CHART = '.jt-live-chart[data-metric="train/loss"] .jt-live-plot'
VAL_CHART = '.jt-live-chart[data-metric="val/acc"] .jt-live-plot'

# the uPlot instance drawn in a chart cell: data = [x, raw, smoothed]
READ_CHART = """(selector) => {
  const plot = document.querySelector(selector);
  const chart = plot && plot.__jtChart;
  if (!chart || chart.data.length < 3) return null;
  return {raw: Array.from(chart.data[1]), smoothed: Array.from(chart.data[2]), x: chart.data[0].length,
          xs: Array.from(chart.data[0]), canvases: plot.querySelectorAll('canvas').length,
          time: Boolean(chart.scales.x.time), distr: chart.scales.y.distr, width: chart.width,
          stroke: chart.series[2]._stroke || null};
}"""

# JupyterLab may scroll to the running cell after the panel was shown: bring the panel back in view
SHOW_PANEL = "document.querySelector('.jt-live') && document.querySelector('.jt-live').scrollIntoView({block: 'start'});"

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
        browser = launch(playwright)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            console_errors = collect_console_errors(page)
            outside: list[str] = []
            local = (jupyterlab["base"], "blob:", "data:")
            page.on("request", lambda request: None if request.url.startswith(local) else outside.append(request.url))
            open_notebook(page, jupyterlab, "quickstart.ipynb")

            # the chart is drawn while the training cell runs
            page.wait_for_function(
                f"() => {{ const p = document.querySelector('{CHART}');"
                f" if (!p || !p.__jtChart) {{ {SHOW_PANEL} return false; }} return p.__jtChart.data[0].length > 20; }}",
                timeout=90_000,
            )
            running, found = training_running(page)
            assert running, f"the training cell finished before the chart could be checked: {found}"
            assert int(page.get_attribute(".jt-live", "data-reported") or 0) >= 1, "the view told the kernel its charts"
            parents = page.evaluate("() => window.__jtStatusParents")
            # from the first cell on (before it, JupyterLab's own widget manager talks to the kernel)
            since_run = parents[parents.index("execute_request"):]
            assert "comm_msg" not in since_run, f"the panel's messages must not flip the busy kernel's status: {parents}"
            first = page.evaluate(READ_CHART, CHART)
            assert first["canvases"] >= 1 and first["width"] > 100, "uPlot drew no canvas"

            # it grows while the same cell is still running
            page.wait_for_function(
                f"(count) => document.querySelector('{CHART}').__jtChart.data[0].length > count + 20", arg=first["x"],
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
                if not raw.size or smoothed.size != raw.size:
                    return None
                if np.array_equal(chart["xs"], np.arange(raw.size)):  # every step drawn: exactly TensorBoard's
                    exact = np.allclose(smoothed, expected, rtol=0, atol=1e-9, equal_nan=True)
                    return {"raw": raw, "smoothed": smoothed} if exact else None
                # a slow machine got past 1,500 steps: the line smooths the full series (checked to 1 % in
                # the layout test), close to but not exactly the smoothing of the drawn points
                near = np.nanmax(np.abs(smoothed - expected)) <= 0.15 * np.nanmax(raw) - 0.15 * np.nanmin(raw)
                return {"raw": raw, "smoothed": smoothed} if near else None

            after = wait_until(lambda: smoothed_with(0.95), 10, "the smoothed line did not follow the slider")
            assert not np.allclose(after["smoothed"], tensorboard_ema(after["raw"], 0.6), atol=1e-6, equal_nan=True)
            running, found = training_running(page)
            assert running, f"the slider was checked after the training cell ended: {found}"
            page.screenshot(path=str(ARTIFACTS / "live_panel_running.png"), full_page=False)

            # define_metric("val/*", step_metric="epoch"): epoch is val/*'s default x-axis, step stays train's
            page.wait_for_function(
                f"() => {{ const c = document.querySelector('{VAL_CHART}'); const u = c && c.__jtChart;"
                " return u && u.data[0].length >= 2 && Array.from(u.data[0]).every((value, i) => value === i); }",
                timeout=30_000,
            )
            assert page.evaluate(READ_CHART, CHART)["xs"][-1] > 100, "train/loss keeps the step axis"
            running, found = training_running(page)
            assert running, f"the default axis was checked after the training cell ended: {found}"

            # the run finishes; the panel says so and keeps its charts
            page.wait_for_function(
                "() => { const s = document.querySelector('.jt-live-state'); return s && s.textContent === 'finished'; }",
                timeout=120_000,
            )
            page.screenshot(path=str(ARTIFACTS / "live_panel_finished.png"), full_page=False)

            # the other controls, all in the browser: x-axis, metric filter, log scale
            options = page.eval_on_selector(".jt-live-axis", "(select) => Array.from(select.options, (o) => o.value)")
            assert options == ["auto", "step", "relative", "wall", "epoch"], options
            page.select_option(".jt-live-axis", "step")
            page.wait_for_function(
                f"() => {{ const u = document.querySelector('{VAL_CHART}').__jtChart;"
                " return u && u.data[0].length === 15 && u.data[0][1] > 100; }"
            )
            page.select_option(".jt-live-axis", "wall")
            page.wait_for_function(f"() => document.querySelector('{CHART}').__jtChart.scales.x.time === true")
            page.fill(".jt-live-filter", "^val/")
            page.wait_for_function(
                "() => !document.querySelector('.jt-live-chart[data-metric=\"train/loss\"]')"
                " && document.querySelector('.jt-live-chart[data-metric=\"val/acc\"]')"
            )
            page.check(".jt-live-log")
            page.wait_for_function(f"() => document.querySelector('{VAL_CHART}').__jtChart.scales.y.distr === 3")
            groups = page.evaluate("() => Array.from(document.querySelectorAll('.jt-live-group-name'), (n) => n.textContent)")
            assert "train" in groups and "val" in groups, groups
            panel_errors = [text for text in console_errors if "jupyter_tracker" in text]
            assert not panel_errors, panel_errors
            assert not outside, f"the page fetched from outside the server (no internet allowed): {outside[:5]}"
        finally:
            browser.close()
    assert (ARTIFACTS / "live_panel_running.png").stat().st_size > 0
    json.dumps(first)  # the chart read back is plain data


LAYOUT_SETUP = """\
import time
import jupyter_tracker as jt
run = jt.init(project="layout")
run.define_metric("val/*", step_metric="epoch")"""

LAYOUT_TRAIN = """\
names = [f"train/metric_{i}" for i in (1, 2, 10, 11, 3)] + ["<i>m</i>/x", "lr"]
for step in range(300):
    row = {name: (step + 1) ** -0.5 * (1 + position) for position, name in enumerate(names)}
    if step == 0:
        row["once"] = 0.5
    jt.log(row)
    time.sleep(0.005)
jt.log({"val/acc": 0.7, "epoch": 0})
run.flush()"""

SPIKY = """\
import numpy as np
spiky = np.linspace(2.0, 1.0, 6_000) + np.random.default_rng(7).exponential(0.3, 6_000)
for value in spiky:
    jt.log({"noise/spiky": float(value)})
run.flush()"""

LAYOUT_METRICS = 11


def spiky_series() -> np.ndarray:
    """The values the SPIKY cell logs: a slope with skewed (exponential, loss-spike-like) noise."""
    return np.linspace(2.0, 1.0, 6_000) + np.random.default_rng(7).exponential(0.3, 6_000)

# every drawn chart: its cell's box, its canvas's box, and how many chart cells exist
CHART_BOXES = """() => Array.from(document.querySelectorAll('.jt-live-chart[data-metric]'), (cell) => {
  const canvas = cell.querySelector('.jt-live-plot canvas');
  const c = cell.getBoundingClientRect();
  const p = canvas ? canvas.getBoundingClientRect() : null;
  return {name: cell.dataset.metric, drawn: cell.dataset.drawn === 'true', cell: [c.left, c.right, c.width],
          canvas: p ? [p.left, p.right, p.width, p.height] : null};
})"""

# pixels of the series colour on a chart's canvas (a one-point series must show its marker)
COLOURED_PIXELS = """(name) => {
  const cell = document.querySelector(`.jt-live-chart[data-metric="${name}"]`);
  const canvas = cell.querySelector('.jt-live-plot canvas');
  const hex = cell.dataset.color;
  const want = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
  const pixels = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
  let count = 0;
  for (let i = 0; i < pixels.length; i += 4) {
    if (pixels[i + 3] > 200 && Math.abs(pixels[i] - want[0]) + Math.abs(pixels[i + 1] - want[1]) + Math.abs(pixels[i + 2] - want[2]) < 30) count++;
  }
  return count;
}"""

COLOURS = """() => {
  const root = document.querySelector('.jt-live');
  const title = document.querySelector('.jt-live-chart-title');
  let paper = getComputedStyle(root).backgroundColor;
  if (paper === 'rgba(0, 0, 0, 0)') paper = getComputedStyle(document.querySelector('.jp-Notebook')).backgroundColor;
  const probe = document.createElement('span');
  probe.style.color = getComputedStyle(root).getPropertyValue('--jt-ink');
  root.append(probe);
  const ink = getComputedStyle(probe).color;
  probe.remove();
  return {title: getComputedStyle(title).color, ink, paper, light: document.body.dataset.jpThemeLight};
}"""


def _charts_fit(page: Any, what: str) -> list[dict[str, Any]]:
    def fitting() -> list[dict[str, Any]] | None:
        boxes = page.evaluate(CHART_BOXES)
        drawn = [box for box in boxes if box["drawn"] and box["canvas"]]
        ok = len(drawn) == LAYOUT_METRICS and all(
            box["canvas"][2] > 50 and box["canvas"][3] > 50 and box["canvas"][0] >= box["cell"][0] - 1
            and box["canvas"][1] <= box["cell"][1] + 1 for box in drawn)
        return drawn if ok else None

    try:
        return wait_until(fitting, 5, what)
    except AssertionError:
        page.screenshot(path=str(ARTIFACTS / "live_panel_layout_failure.png"), full_page=False)
        raise AssertionError(f"{what}: {page.evaluate(CHART_BOXES)}") from None


def test_layout_survives_resize_and_sidebar_and_follows_the_dark_theme(jupyterlab: dict[str, Any]) -> None:
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = launch(playwright)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1600})
            console_errors = collect_console_errors(page)
            open_notebook(page, jupyterlab, "layout.ipynb")
            page.wait_for_function(
                f"() => {{ {SHOW_PANEL} return document.querySelectorAll('.jt-live-chart[data-drawn=\"true\"]').length === {LAYOUT_METRICS}"
                " && document.querySelector('.jt-live-chart[data-metric=\"train/metric_1\"]').dataset.points === '300'; }",
                timeout=90_000,
            )
            page.wait_for_function("() => document.querySelector('.jt-live-chart[data-metric=\"val/acc\"]').dataset.drawn === 'true'")
            drawn = _charts_fit(page, "charts drawn inside their cells")
            # the grid fills the output area's width (not half of it)
            used = page.evaluate("""() => { const grid = document.querySelector('.jt-live-group[data-group="train"] .jt-live-grid');
                const area = document.querySelector('.jt-live').getBoundingClientRect();
                return grid.getBoundingClientRect().width / area.width; }""")
            assert used > 0.9, f"the grid uses {used:.0%} of the panel's width"
            page.screenshot(path=str(ARTIFACTS / "live_panel_10_metrics.png"), full_page=False)

            # natural order, names as typed (never markup)
            order = page.evaluate("() => Array.from(document.querySelectorAll('.jt-live-group[data-group=\"train\"] .jt-live-chart-title'), (n) => n.textContent)")
            assert order == [f"train/metric_{i}" for i in (1, 2, 3, 10, 11)], order
            titles = page.evaluate("() => Array.from(document.querySelectorAll('.jt-live-chart-title'), (n) => n.textContent)")
            assert "<i>m</i>/x" in titles, titles
            assert page.evaluate("() => document.querySelectorAll('.jt-live i, .jt-live a').length") == 0

            # one point: a marker in the series colour
            one = page.evaluate(READ_CHART, '.jt-live-chart[data-metric="once"] .jt-live-plot')
            assert one["x"] == 1
            assert page.evaluate(COLOURED_PIXELS, "once") > 10, "a one-point series shows its marker"
            assert page.evaluate(COLOURED_PIXELS, "val/acc") > 10, "val/acc's first epoch shows as a marker"

            # 6,000 skewed points drawn from ≤ 1,500: the smoothed line is TensorBoard's EMA of all 6,000
            spiky = ".jt-live-chart[data-metric='noise/spiky'] .jt-live-plot"
            page.wait_for_function(f"() => document.querySelector(\"{spiky}\").__jtChart.data[0].length > 100")
            drawn_spiky = page.evaluate(READ_CHART, spiky)
            steps = np.array(drawn_spiky["xs"], dtype=np.int64)
            full = spiky_series()
            assert steps.size <= 1_500 and steps[-1] - steps[0] == full.size - 1, "the series is downsampled"
            expected = tensorboard_ema(full, 0.6)[steps - steps[0]]
            error = np.max(np.abs(_floats(drawn_spiky["smoothed"]) - expected)) / np.ptp(full)
            assert error <= 0.01, f"smoothed line off TensorBoard's EMA of the full series by {error:.2%} of the range"
            biased = np.max(np.abs(tensorboard_ema(_floats(drawn_spiky["raw"]), 0.6) - expected)) / np.ptp(full)
            assert biased > 0.01, "the case is one where smoothing the drawn points alone would be biased"

            # resizing the window and toggling the sidebar: every chart keeps its size inside its cell
            for width in (1300, 1400, 1300):
                page.set_viewport_size({"width": width, "height": 1600})
                _charts_fit(page, f"charts after a resize to {width} px")
            widths = {box["name"]: box["canvas"][2] for box in _charts_fit(page, "before the sidebar toggle")}
            page.evaluate("() => window.jupyterapp.commands.execute('application:toggle-left-area')")
            wait_until(lambda: {box["name"]: box["canvas"][2] for box in _charts_fit(page, "sidebar")} != widths, 5,
                       "the charts did not follow the sidebar toggle")
            _charts_fit(page, "charts after the sidebar toggle")
            page.evaluate("() => window.jupyterapp.commands.execute('application:toggle-left-area')")
            _charts_fit(page, "charts after the sidebar came back")
            assert all(box["canvas"][2] > 200 for box in drawn)

            # JupyterLab's dark theme: the panel's text stays readable (WCAG AA, 4.5:1)
            page.evaluate("() => window.jupyterapp.commands.execute('apputils:change-theme', {theme: 'JupyterLab Dark'})")
            page.wait_for_function("() => document.body.dataset.jpThemeLight === 'false'", timeout=30_000)
            page.wait_for_timeout(500)
            colours = page.evaluate(COLOURS)
            assert contrast(colours["title"], colours["paper"]) >= 4.5, colours
            assert contrast(colours["ink"], colours["paper"]) >= 4.5, colours
            assert luminance(colours["paper"]) < 0.1, f"the plot background follows the dark theme: {colours}"
            _charts_fit(page, "charts after the theme change")
            page.screenshot(path=str(ARTIFACTS / "live_panel_dark.png"), full_page=False)
            # and its high-contrast variant
            page.evaluate("() => window.jupyterapp.commands.execute('apputils:change-theme',"
                          " {theme: 'JupyterLab Dark High Contrast'})")
            page.wait_for_function("() => document.body.dataset.jpThemeName === 'JupyterLab Dark High Contrast'",
                                   timeout=30_000)
            page.wait_for_timeout(500)
            high = page.evaluate(COLOURS)
            assert contrast(high["title"], high["paper"]) >= 7 and contrast(high["ink"], high["paper"]) >= 7, high
            page.evaluate("() => window.jupyterapp.commands.execute('apputils:change-theme', {theme: 'JupyterLab Light'})")
            page.wait_for_function("() => document.body.dataset.jpThemeLight === 'true'", timeout=30_000)
            ours = [text for text in console_errors if "jupyter_tracker" in text or "uPlot" in text]
            assert not ours, ours
        finally:
            browser.close()
