"""The report widget in real JupyterLab (Debian Chromium through Playwright): built from Python,
drawn, edited in the browser (smoothing slider, run set filter), changed from Python in place,
then saved from Python and reloaded with what the user set."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.integration.lab_helpers import (
    BROWSER_MARKS,
    KERNEL_IDLE,
    lab_url,
    launch,
    start_jupyterlab,
    wait_until,
    write_notebook,
)

pytestmark = BROWSER_MARKS

BUILD = """
import jupyter_tracker as jt
import jupyter_tracker.reports as wr
for lr in (0.1, 0.03, 0.01, 0.003):
    run = jt.init(project="lab-report", name=f"<img src=x onerror=alert(1)>lr-{lr}", config={"lr": lr}, settings={"live": "off", "console": "off"})
    for step in range(400):
        run.log({"loss": lr * (400 - step) + (step % 3) * 0.001})
    run.summary["acc"] = 1 - lr
    run.finish(quiet=True)
report = wr.Report("lab-report", title="Lab report", blocks=[
    wr.MarkdownBlock("Written in **Python**"),
    wr.PanelGrid(runsets=[wr.Runset("lab-report", name="All runs")],
                 panels=[wr.LinePlot(y=["loss"], smoothing_factor=0.2, range_y=(0, None), title_x="training step"),
                         wr.ScatterPlot(x="config.lr", y="summary.acc")]),
])
report
"""

#: the first line plot's axes as uPlot drew them (its range_x/range_y and title_x/title_y)
CHART_AXES = """() => {
  const plot = document.querySelector('.jt-report-widget .jt-line-plot')._jtChart.plot;
  return {x: [plot.scales.x.min, plot.scales.x.max], y_min: plot.scales.y.min,
          titles: plot.axes.map((axis) => axis.label || '')};
}"""

EXECUTE = """async (code) => {
  const kernel = window.jupyterapp.shell.currentWidget.sessionContext.session.kernel;
  const future = kernel.requestExecute({code});
  const reply = await future.done;
  return reply.content.status;
}"""


@pytest.fixture(scope="module")
def jupyterlab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    tmp_path = tmp_path_factory.mktemp("report-widget-browser")
    work = tmp_path / "lab"
    work.mkdir()
    write_notebook(work / "report.ipynb", [BUILD])
    yield from start_jupyterlab(tmp_path)


def test_report_widget_edits_round_trip_between_browser_and_python(jupyterlab: dict[str, Any],
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from playwright.sync_api import sync_playwright

    errors: list[str] = []
    with sync_playwright() as playwright:
        browser = launch(playwright)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.on("dialog", lambda dialog: (errors.append(f"dialog: {dialog.message}"), dialog.dismiss()))
            page.goto(lab_url(jupyterlab, "report.ipynb"))
            page.wait_for_function(KERNEL_IDLE, timeout=90_000)
            page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
            page.wait_for_selector(".jt-report-widget .jt-line-plot canvas", timeout=90_000)
            assert "4 of 4 runs" in page.inner_text(".jt-report-widget")

            page.eval_on_selector(".jt-report-widget .jt-smoothing input",
                                  "(input) => { input.value = '0.9'; input.dispatchEvent(new Event('input', {bubbles: true})); }")
            page.fill(".jt-report-widget .jt-filter-input", "config.lr < 0.05")
            page.press(".jt-report-widget .jt-filter-input", "Enter")
            page.wait_for_function(
                "() => document.querySelector('.jt-report-widget').innerText.includes('3 of 4 runs')", timeout=30_000)

            status = page.evaluate(EXECUTE, "report.blocks.append(wr.H2('Added from Python'))")
            assert status == "ok"
            page.wait_for_function(
                "() => document.querySelector('.jt-report-widget').innerText.includes('Added from Python')",
                timeout=30_000)

            axes = page.evaluate(CHART_AXES)  # range_y=(0, None): the y axis starts at 0, its top follows the data
            assert axes["y_min"] == 0 and axes["x"][1] > 100 and axes["titles"] == ["training step", ""]
            status = page.evaluate(EXECUTE, "report.blocks[1].panels[0].range_x = (0, 100)")
            assert status == "ok"  # set from Python: the chart is drawn again with the x axis cut at 100
            page.wait_for_function(f"() => {{ try {{ return ({CHART_AXES})().x[1] === 100; }} catch (e) {{ return false; }} }}",
                                   timeout=30_000)

            saved_path = jupyterlab["work"] / "saved.json"
            status = page.evaluate(EXECUTE, f"report.save(); open({str(saved_path)!r}, 'w').write(report.to_json())")
            assert status == "ok"
            wait_until(saved_path.exists, 30, "the kernel did not save the report")
        finally:
            browser.close()
    assert errors == []

    import jupyter_tracker.reports as wr

    saved = wr.Report.from_json(saved_path.read_text(encoding="utf-8"))
    assert saved.blocks[1].panels[0].smoothing_factor == 0.9
    assert saved.blocks[1].panels[0].range_x == (0.0, 100.0) and saved.blocks[1].panels[0].title_x == "training step"
    assert saved.blocks[1].runsets[0].filters == "config.lr < 0.05"
    assert saved.blocks[-1] == wr.H2("Added from Python")
    monkeypatch.setenv("WANDB_DIR", str(jupyterlab["store"]))
    from jupyter_tracker.api import Api

    reloaded = Api().report(saved.id)
    assert reloaded == saved
    assert json.loads(saved_path.read_text(encoding="utf-8"))["version"] == 1
