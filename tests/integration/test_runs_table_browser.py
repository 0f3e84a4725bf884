"""The runs table in a real browser: JupyterLab on loopback, driven by Playwright with Debian's Chromium.

A notebook logs 31 runs with 190 varying config keys (one of them with 12,000 metrics) and shows
``jt.runs_table``: a table of about 200 columns. The test scrolls it right (the id and name
columns and the controls stay in view), sorts by clicking a header, finds a column among 12,000
in the column picker, groups by group (``(none)`` for runs without one), ticks two runs and compares them, and switches JupyterLab to its dark theme (table and
comparison chart turn dark). The 12,000-metric run shows its limit box once. Screenshots go to
``test-artifacts/runs_table_200_columns.png`` and ``runs_table_dark.png``.
"""

from __future__ import annotations

from typing import Any

from tests.integration.lab_helpers import (
    ARTIFACTS,
    BROWSER_MARKS,
    collect_console_errors,
    contrast,
    launch,
    luminance,
    write_notebook,
)

pytestmark = BROWSER_MARKS

CONFIG_KEYS = 190
SETUP = f"""import os
os.environ["JUPYTER_TRACKER_LIVE"] = "off"
import jupyter_tracker as jt

for index in range(30):
    config = {{f"p_{{k:03d}}": (index * 7 + k) % 11 for k in range({CONFIG_KEYS})}}
    run = jt.init(project="wide", name=f"wide-{{index:02d}}", config=config,
                  group=None if index % 3 == 0 else f"g{{index % 3}}")
    for step in range(3):
        run.log({{"loss": (index % 10) + 1.0 / (step + 1), "acc": step / 3}})
    run.finish(quiet=True)
big = jt.init(project="wide", name="many-metrics", config={{f"p_{{k:03d}}": -1 for k in range({CONFIG_KEYS})}})
for step in range(3):
    big.log({{f"layer_{{k}}/grad": float(step + k) for k in range(12_000)}})
big.finish(quiet=True)
"""
SHOW = 'table = jt.runs_table("wide")\ntable'

TABLE = ".jt-runs-table"
GRID = f"{TABLE} .jt-runs-widget"

GEOMETRY = """() => {
  const grid = document.querySelector('.jt-runs-table .jt-runs-widget');
  const scroller = grid.querySelector('.jt-runs-scroll');
  const row = scroller.querySelector('tbody tr');
  const [idCell, nameCell] = row.querySelectorAll('td');
  const search = document.querySelector('.jt-runs-table input[placeholder^="search name"]');
  const output = grid.closest('.jp-OutputArea-output');
  const box = (node) => { const r = node.getBoundingClientRect(); return {left: r.left, right: r.right, top: r.top}; };
  const visible = (cell) => {
    const r = cell.getBoundingClientRect();
    const hit = document.elementFromPoint(r.left + 4, r.top + r.height / 2);
    return hit === cell || cell.contains(hit);
  };
  return {scrollLeft: scroller.scrollLeft, scrollWidth: scroller.scrollWidth, clientWidth: scroller.clientWidth,
          scroller: box(scroller), id: box(idCell), name: box(nameCell), idText: idCell.textContent,
          nameText: nameCell.textContent, idVisible: visible(idCell), nameVisible: visible(nameCell),
          search: box(search), outputScroll: output.scrollLeft,
          outputOverflow: output.scrollWidth - output.clientWidth,
          headers: scroller.querySelectorAll('thead th').length};
}"""

COLUMN_VALUES = """(column) => {
  const grid = document.querySelector('.jt-runs-table .jt-runs-widget');
  const headers = Array.from(grid.querySelectorAll('thead th'), (th) => th.dataset.column);
  const position = headers.indexOf(column);
  return Array.from(grid.querySelectorAll('tbody tr'), (tr) => tr.children[position].textContent);
}"""

COLOURS = """() => {
  const cell = document.querySelector('.jt-runs-table .jt-runs-widget tbody tr:not(.jt-selected) td');
  const style = getComputedStyle(cell);
  const plot = document.querySelector('.jt-runs-table .js-plotly-plot');
  return {text: style.color, background: style.backgroundColor,
          paper: plot && plot.layout ? plot.layout.paper_bgcolor : null,
          font: plot && plot.layout ? plot.layout.font.color : null};
}"""


def test_runs_table_with_200_columns_scrolls_sorts_picks_columns_and_goes_dark(jupyterlab: dict[str, Any]) -> None:
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    write_notebook(jupyterlab["work"] / "runs_table.ipynb", [SETUP, SHOW])
    with sync_playwright() as playwright:
        browser = launch(playwright)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            console_errors = collect_console_errors(page)
            page.goto(f"{jupyterlab['base']}/lab/tree/runs_table.ipynb?token={jupyterlab['token']}")
            page.wait_for_function(
                "() => { const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;"
                " return w && w.context && w.context.path === 'runs_table.ipynb' && w.sessionContext.session"
                " && w.sessionContext.session.kernel && w.sessionContext.session.kernel.status === 'idle'; }",
                timeout=60_000,
            )
            page.evaluate("() => { window.jupyterapp.commands.execute('notebook:run-all-cells'); }")
            page.wait_for_selector(f"{GRID} tbody tr", timeout=60_000)

            # the 12,000-metric run's limit box shows once
            assert page.locator(".jt-limit-warning").count() == 1

            page.eval_on_selector(TABLE, "(node) => node.scrollIntoView({block: 'start'})")
            before = page.evaluate(GEOMETRY)
            assert before["headers"] >= 200, before["headers"]
            assert before["nameText"] == "many-metrics"  # newest first
            assert before["scrollWidth"] > 3 * before["clientWidth"]
            assert before["outputOverflow"] <= 1, "the table must scroll inside itself, not the output area"

            # scrolled right: id, name and the controls stay where they were
            page.eval_on_selector(f"{GRID} .jt-runs-scroll", "(node) => { node.scrollLeft = node.scrollWidth; }")
            page.wait_for_function(
                "() => document.querySelector('.jt-runs-table .jt-runs-scroll').scrollLeft > 1000", timeout=5_000)
            after = page.evaluate(GEOMETRY)
            assert after["idVisible"] and after["nameVisible"], after
            assert abs(after["id"]["left"] - before["id"]["left"]) < 1, (before["id"], after["id"])
            assert abs(after["name"]["left"] - before["name"]["left"]) < 1, (before["name"], after["name"])
            assert after["search"] == before["search"] and after["outputScroll"] == 0
            page.screenshot(path=str(ARTIFACTS / "runs_table_200_columns.png"), full_page=False)

            # a click on a header (visible at the far right) sorts by it; a second click flips the order
            header = f'{GRID} th[data-column="summary.loss"] button'
            page.click(header)
            page.wait_for_selector(f'{GRID} th[data-column="summary.loss"][aria-sort="ascending"]', timeout=15_000)
            losses = [float(value) for value in page.evaluate(COLUMN_VALUES, "summary.loss") if value]
            assert losses == sorted(losses) and len(losses) == 25, losses
            page.click(header)
            page.wait_for_selector(f'{GRID} th[data-column="summary.loss"][aria-sort="descending"]', timeout=15_000)
            losses = [float(value) for value in page.evaluate(COLUMN_VALUES, "summary.loss") if value]
            assert losses == sorted(losses, reverse=True), losses

            # the column picker finds one key among 12,000 and adds it
            page.click(f'{TABLE} button:has-text("columns")')
            search = page.locator(f'{TABLE} input[placeholder="search config and summary keys"]')
            search.fill("layer_11999")
            page.wait_for_function(
                "() => { const boxes = document.querySelectorAll('.jt-runs-table .widget-checkbox');"
                " return boxes.length === 1 && boxes[0].textContent.includes('summary.layer_11999/grad'); }",
                timeout=15_000,
            )
            page.check(f"{TABLE} .widget-checkbox input")
            page.wait_for_selector(f'{GRID} th[data-column="summary.layer_11999/grad"]', timeout=15_000)

            # group by group: runs without one are "(none)", listed last; the menu never shows blank
            group_menu = f'{TABLE} select:has(option:has-text("(no grouping)"))'
            page.select_option(group_menu, label="group")
            page.wait_for_function(
                "() => Array.from(document.querySelectorAll('.jt-runs-table .jt-runs-widget tbody td.jt-index'),"
                " (td) => td.textContent).join('|') === 'g1|g2|(none)'", timeout=15_000)
            page.select_option(group_menu, label="(no grouping)")
            page.wait_for_selector(f'{GRID} th[data-column="summary.loss"]', timeout=15_000)
            chosen = page.eval_on_selector(group_menu, "(s) => s.selectedIndex >= 0 ? s.options[s.selectedIndex].text : ''")
            assert chosen.replace("\xa0", " ") == "(no grouping)", chosen  # ipywidgets writes spaces as nbsp

            # compare two runs in the light theme, then switch JupyterLab to dark
            page.check(f"{GRID} tbody tr:nth-child(1) .jt-pick")
            page.wait_for_selector(f"{GRID} tbody tr.jt-selected", timeout=15_000)
            page.check(f"{GRID} tbody tr:nth-child(4) .jt-pick")
            page.wait_for_function(
                "() => document.querySelectorAll('.jt-runs-table .jt-runs-widget tbody tr.jt-selected').length === 2",
                timeout=15_000)
            page.wait_for_function("() => document.querySelector('.jt-runs-table').textContent.includes('2 selected: ')",
                                   timeout=15_000)
            page.fill(f'{TABLE} input[placeholder="type to find a metric"]', "loss")
            page.click(f'{TABLE} button:has-text("compare")')
            page.wait_for_function(
                "() => { const p = document.querySelector('.jt-runs-table .js-plotly-plot'); return p && p.data; }",
                timeout=30_000,
            )
            assert page.evaluate("() => document.querySelector('.jt-runs-table .js-plotly-plot').data.length") == 2
            light = page.evaluate(COLOURS)
            assert luminance(light["background"]) > 0.5, light
            page.evaluate("() => window.jupyterapp.commands.execute('apputils:change-theme', {theme: 'JupyterLab Dark'})")
            page.wait_for_function("() => document.body.dataset.jpThemeLight === 'false'", timeout=30_000)
            page.wait_for_function(
                """() => { const p = document.querySelector('.jt-runs-table .js-plotly-plot');
                           return p && p.layout && p.layout.template && p.layout.paper_bgcolor !== 'rgba(0,0,0,0)'
                                  && p.layout.template.layout.paper_bgcolor === 'rgb(17,17,17)'; }""",
                timeout=30_000,
            )
            dark = page.evaluate(COLOURS)
            assert luminance(dark["background"]) < 0.1, dark
            assert contrast(dark["text"], dark["background"]) >= 4.5, dark
            assert luminance(dark["paper"]) < 0.1 and contrast(dark["font"], dark["paper"]) >= 4.5, dark
            page.eval_on_selector(f"{TABLE} .js-plotly-plot", "(node) => node.scrollIntoView({block: 'end'})")
            page.screenshot(path=str(ARTIFACTS / "runs_table_dark.png"), full_page=False)
            errors = [text for text in console_errors if "jt-runs" in text or "runs_table" in text]
            assert not errors, errors
        finally:
            browser.close()
