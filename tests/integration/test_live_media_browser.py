"""The live panel's media row in a real browser: image steps under a slider and a histogram heatmap.

JupyterLab on loopback (the ``jupyterlab`` fixture of the browser tests) runs a small notebook that logs
a list of images and a histogram each step; Chromium then shows the latest images, the slider
goes back to an earlier step in the browser alone, and the histogram keys draw as heatmaps.
"""

from __future__ import annotations

from typing import Any

from tests.integration.lab_helpers import (
    ARTIFACTS,
    BROWSER_MARKS,
    collect_console_errors,
    lab_url,
    launch,
    open_and_run_all,
    write_notebook,
)

pytestmark = BROWSER_MARKS

CELLS = [
    """\
import numpy as np
import jupyter_tracker as jt
from jupyter_tracker.notebook.live_panel import show_live_panel
run = jt.init(project="media", settings={"live": "off"})
panel = show_live_panel(run, mode="widget")""",
    """\
rng = np.random.default_rng(0)
for step in range(25):
    shade = np.full((16, 16, 3), step * 10, np.uint8)
    run.log({"samples": [jt.Image(shade, caption=f"step {step}"), jt.Image(rng.random((16, 16)))],
             "weights": jt.Histogram(rng.normal(step / 5, 1.0, 500)), "loss": 1 / (step + 1)})
run.finish()""",
]

IMAGES = '.jt-live-media-card[data-media="samples"]'
HEATMAP = '.jt-live-media-card[data-media="weights"] .jt-live-plot'


def test_media_row_shows_images_with_a_step_slider_and_histogram_heatmaps(jupyterlab: dict[str, Any]) -> None:
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    write_notebook(jupyterlab["work"] / "media.ipynb", CELLS)
    with sync_playwright() as playwright:
        browser = launch(playwright)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            console_errors = collect_console_errors(page)
            open_and_run_all(page, lab_url(jupyterlab, "media.ipynb"), timeout=90_000)
            page.wait_for_function(
                "() => { const s = document.querySelector('.jt-live-state'); return s && s.textContent === 'finished'; }",
                timeout=90_000,
            )
            # the latest step: both images of the list, decoded from the PNG bytes the kernel sent
            page.wait_for_function(
                f"() => {{ const label = document.querySelector('{IMAGES} .jt-live-step-label');"
                " return label && label.textContent === 'step 24 (20/20)'; }"
            )
            page.wait_for_function(
                f"() => {{ const images = document.querySelectorAll('{IMAGES} img');"
                " return images.length === 2 && Array.from(images).every((image) => image.complete && image.naturalWidth === 16); }"
            )
            assert page.inner_text(f"{IMAGES} figcaption") == "step 24"
            latest = page.get_attribute(f"{IMAGES} img", "src")
            assert latest and latest.startswith("blob:")

            # the slider goes back in the browser alone
            page.fill(f"{IMAGES} .jt-live-step-slider", "0")
            page.wait_for_function(
                f"() => document.querySelector('{IMAGES} .jt-live-step-label').textContent === 'step 5 (1/20)'"
            )
            assert page.inner_text(f"{IMAGES} figcaption") == "step 5"
            assert page.get_attribute(f"{IMAGES} img", "src") != latest

            # the histogram over time: a heatmap of 64 bins × 25 steps
            page.wait_for_function(
                f"() => {{ const plot = document.querySelector('{HEATMAP}');"
                " return plot && plot.data && plot.data[0].type === 'heatmap'; }"
            )
            shape = page.evaluate(
                f"() => {{ const trace = document.querySelector('{HEATMAP}').data[0];"
                " return [trace.z.length, trace.x.length, trace.z[0].length]; }"
            )
            assert shape == [64, 25, 25], shape
            titles = page.evaluate("() => Array.from(document.querySelectorAll('.jt-live-group-title'), (n) => n.textContent)")
            assert titles[0] == "media", titles
            page.screenshot(path=str(ARTIFACTS / "live_panel_media.png"), full_page=False)
            ours = [text for text in console_errors if "jupyter_tracker" in text]
            assert not ours, ours
        finally:
            browser.close()
