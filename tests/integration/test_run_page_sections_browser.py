"""The run page's warnings, system metrics, media browser and files, and the compare view of selected
runs, in Debian Chromium in both hosts of the shared views: JupyterLab (the labextension and its
server extension over a local store) and the tracking server's pages (signed in with a session cookie).

Seeded runs carry markup in their names, tags, config, image and audio captions, table cells and a
crossed limit's key: it stays text. The media browser plays logged audio and video, shows a logged
HTML page only in an iframe with an empty sandbox, and a logged table's rows. A file is fetched only
by its listed name (traversal attempts are refused), an HTML file is a download and never a page.
Screenshots go to ``test-artifacts/``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.integration.lab_helpers import (
    ARTIFACTS,
    BROWSER_MARKS,
    LABEXTENSION,
    isolated_environment,
    launch,
    start_jupyterlab,
)
from tests.integration.server_fixtures import ServerProcess, start_server

pytestmark = BROWSER_MARKS
ATTACK = '<img src=x onerror="window.__jtXss=1"><script>window.__jtXss=2</script>'
PROJECT = "sections"

#: three runs; the first logs images, histograms, audio, video, HTML, tables and system metrics, crosses
#: the one-value size limit and saves two files
SEED = """
import sys, time
from pathlib import Path
import numpy as np
import jupyter_tracker as jt

attack, settings = sys.argv[1], dict(__import__("json").loads(sys.argv[2]))
Path("notes.txt").write_text("learning-rate sweep notes\\n" * 50)
Path("page.html").write_text("<script>window.top.__jtXss = 3</script>")
Path("clip.webm").write_bytes(bytes.fromhex("1a45dfa3") + b" not a real clip")
ids = []
for index, lr in enumerate((0.1, 0.03, 0.01)):
    run = jt.init(project="sections", name=f"{attack}-{index}", tags=[attack, f"lr{index}"],
                  config={"lr": lr, "batch": 64, "note": attack, "opt": {"name": "adam"}},
                  settings={**settings, "system_sample_interval": 0.05, "system_window": 0.25})
    rng = np.random.default_rng(index)
    for step in range(240):
        row = {"loss": lr * (240 - step) / 24 + rng.normal(0, 0.05 * lr), "acc": 1 - lr * (240 - step) / 240}
        if index == 0 and step % 40 == 0:
            y, x = np.mgrid[0:32, 0:32]
            shade = np.stack([(x * 8 + step) % 256, (y * 8) % 256, np.full_like(x, (step * 5) % 256)], axis=-1)
            row["samples"] = [jt.Image(shade.astype(np.uint8), caption=f"{attack} step {step}"),
                              jt.Image(255 - shade.astype(np.uint8), caption="inverse")]
            row["weights"] = jt.Histogram(rng.normal(step / 80, 1, 2000))
        if index == 0 and step in (80, 200):
            tone = np.sin(np.linspace(0, 2 * np.pi * (220 if step == 80 else 440) * 0.5, 4000))
            row["speech"] = jt.Audio(tone, sample_rate=8000, caption=f"{attack} tone {step}")
            frames = np.zeros((6, 3, 24, 24), dtype=np.uint8)
            for frame in range(6):
                frames[frame, :, :, frame * 4:frame * 4 + 4] = 255
            row["moving"] = jt.Video(frames, format="gif", fps=4)
            row["page"] = jt.Html(f"<h1>Report at step {step}</h1><p>{attack}</p><b>bold</b>"
                                  "<script>window.top.__jtXss = 4</script>")
            row["predictions"] = jt.Table(columns=["id", "label", "picture"], data=[
                [i, attack if i == 0 else f"class {i + step}", jt.Image(np.full((6, 6, 3), (40 * i + step) % 256, dtype=np.uint8))]
                for i in range(3)])
        if index == 0 and step == 200:
            row["clip"] = jt.Video("clip.webm", caption="clip")
        if index == 0 and step == 10:
            row[f"blob {attack}"] = "x" * 1_100_000
        run.log(row)
        if index == 0 and step == 10:
            run.summary[f"blob {attack}"] = "1.1 MB of x"  # the warning is the point, not a 1 MB summary cell
        if index == 0:
            time.sleep(0.006)
    if index == 0:
        run.save("notes.txt")
        run.save("page.html")
    run.summary["best_acc"] = 1 - lr
    run.finish()
    ids.append(run.id)
print(",".join(ids))
"""


def seed(directory: Path, environment: dict[str, str], settings: dict[str, Any]) -> list[str]:
    directory.mkdir(parents=True, exist_ok=True)
    done = subprocess.run([sys.executable, "-c", SEED, ATTACK, json.dumps(settings)], env=environment, cwd=directory,
                          check=True, timeout=180, capture_output=True, text=True)
    return done.stdout.strip().splitlines()[-1].split(",")


def open_browser(playwright: Any) -> tuple[Any, Any, list[str]]:
    browser = launch(playwright)
    context = browser.new_context(viewport={"width": 1400, "height": 950})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("dialog", lambda dialog: (errors.append(f"dialog: {dialog.message}"), dialog.dismiss()))
    return browser, page, errors


def check_run_sections(page: Any, scope: str) -> dict[str, Any]:
    """What a run page's sections show (``scope`` is the run page's selector); asserts what both hosts share."""
    page.wait_for_selector(f"{scope} .jt-section[data-section=system] .jt-chart[data-metric='system/cpu_percent'] canvas",
                           timeout=30_000)
    try:
        page.wait_for_function(f"""() => Array.from(document.querySelectorAll("{scope} .jt-media[data-key=samples] img"))
                                   .filter((img) => img.complete && img.naturalWidth === 32).length === 2""", timeout=30_000)
    except Exception as error:
        page.screenshot(path=str(ARTIFACTS / "run_sections_failure.png"))
        answers = page.evaluate(f"""async () => Promise.all(Array.from(document.querySelectorAll("{scope} .jt-media img"),
          async (img) => [img.src, (await fetch(img.src)).status]))""")
        raise AssertionError(f"the media browser's images did not load: {answers}") from error
    page.wait_for_selector(f"{scope} .jt-media[data-key=weights] .jt-histogram-plot canvas", timeout=30_000)
    page.wait_for_selector(f"{scope} .jt-section[data-section=files] a.jt-file-link", timeout=30_000)
    seen = page.evaluate(f"""() => {{
      const scope = document.querySelector("{scope}");
      const cpu = scope.querySelector(".jt-section[data-section=system] .jt-chart[data-metric='system/cpu_percent'] .jt-chart-plot").__jtChart;
      const card = scope.querySelector(".jt-media[data-key=samples]");
      return {{
        system: Array.from(scope.querySelectorAll(".jt-section[data-section=system] .jt-chart"), (c) => c.dataset.metric),
        cpuX: Array.from(cpu.data[0]), cpuTime: cpu.scales.x.time,
        step: card.dataset.step, label: card.querySelector(".jt-media-step-label").textContent,
        captions: Array.from(card.querySelectorAll("figcaption"), (c) => c.textContent),
        sources: Array.from(card.querySelectorAll("img"), (img) => img.src),
        files: Array.from(scope.querySelectorAll(".jt-files tr"), (row) => [row.dataset.file, row.children[1].textContent]),
        links: Object.fromEntries(Array.from(scope.querySelectorAll("a.jt-file-link"), (a) => [a.textContent, a.href])),
      }};
    }}""")
    assert "system/memory_percent" in seen["system"]
    assert seen["cpuTime"] is True and seen["cpuX"][0] > 1e9, "system metrics are charted against wall time"
    assert seen["step"] == "200" and seen["label"] == "step 200 (6 of 6)", "the media browser opens at the last step"
    assert seen["captions"] == [f"{ATTACK} step 200", "inverse"], "a caption with markup is text"
    files = dict(seen["files"])
    assert "notes.txt" in files and "page.html" in files and files["notes.txt"] == "1.3 KB"
    assert sum(name.startswith("media/images/") for name in files) == 12 + 6, "the tables' image cells are files too"

    # the step slider goes back through the logged steps
    page.eval_on_selector(f"{scope} .jt-media[data-key=samples] .jt-media-step",
                          "(slider) => { slider.value = '1'; slider.dispatchEvent(new Event('input', {bubbles: true})); }")
    page.wait_for_function(f"""() => {{ const card = document.querySelector("{scope} .jt-media[data-key=samples]");
      return card.dataset.step === '40' && Array.from(card.querySelectorAll('img')).every((img) => img.complete && img.naturalWidth === 32); }}""")
    assert page.evaluate(f"""() => Array.from(document.querySelectorAll("{scope} .jt-media[data-key=samples] img"), (img) => img.src)""") \
        != seen["sources"], "another step shows its own images"
    page.eval_on_selector(f"{scope} .jt-media[data-key=weights] .jt-media-step",
                          "(slider) => { slider.value = '0'; slider.dispatchEvent(new Event('input', {bubbles: true})); }")
    assert page.text_content(f"{scope} .jt-media[data-key=weights] .jt-media-step-label") == "step 0 (1 of 6)"

    # downloads: a saved file comes back whole, an HTML file only ever as an attachment
    fetched = page.evaluate("""async (links) => {
      const answers = {};
      for (const [name, url] of Object.entries(links)) {
        const answer = await fetch(url);
        answers[name] = {status: answer.status, type: answer.headers.get('content-type'),
                         disposition: answer.headers.get('content-disposition'), text: await answer.text()};
      }
      return answers;
    }""", {"notes.txt": seen["links"]["notes.txt"], "page.html": seen["links"]["page.html"]})
    assert fetched["notes.txt"]["status"] == 200 and fetched["notes.txt"]["text"].count("sweep notes") == 50
    assert fetched["page.html"]["type"].startswith("application/octet-stream")
    assert fetched["page.html"]["disposition"].startswith("attachment")
    assert page.evaluate("() => window.__jtXss") is None
    assert page.locator(f"{scope} img[src=x], {scope} script").count() == 0
    return seen


def check_warnings_and_media_kinds(page: Any, scope: str) -> None:
    """The run's warning, and its audio, video, HTML and table cards; asserts what both hosts share."""
    warnings = f"{scope} .jt-section[data-section=warnings]"
    page.wait_for_selector(f"{warnings}:not([hidden]) .jt-warning[data-kind=value_size]", timeout=30_000)
    shown = page.evaluate(f"""() => {{ const section = document.querySelector("{warnings}");
      const item = section.querySelector(".jt-warning");
      return {{heading: section.querySelector(".jt-section-title").textContent,
               title: item.querySelector(".jt-warning-title").textContent,
               subject: item.querySelector(".jt-warning-subject").textContent,
               message: item.querySelector(".jt-warning-message").textContent,
               advice: item.querySelector(".jt-warning-advice").textContent,
               above: section.compareDocumentPosition(document.querySelector("{scope} .jt-chart-grid")) === 4}}; }}""")
    assert shown["heading"] == "Warnings (1)" and shown["title"] == "one logged value"
    assert shown["subject"] == f"blob {ATTACK}", "the key with markup in it is text"
    assert "more than the recommended 1,000,000. The data is kept." in shown["message"]
    assert "Histogram" in shown["advice"] and shown["above"], "the warnings come before the charts"

    # audio: a player whose clip loads from the host's file route (0.5 s at 8 kHz), captions as text
    speech = f"{scope} .jt-media[data-key=speech]"
    page.wait_for_function(f"""() => {{ const audio = document.querySelector("{speech} audio");
      return audio && audio.readyState >= 1 && Math.abs(audio.duration - 0.5) < 0.01; }}""", timeout=30_000)
    assert page.text_content(f"{speech} figcaption") == f"{ATTACK} tone 200 — 0.50 s · 8,000 Hz · mono"
    assert page.get_attribute(f"{speech} audio", "controls") is not None
    first_clip = page.get_attribute(f"{speech} audio", "src")
    page.eval_on_selector(f"{speech} .jt-media-step",
                          "(slider) => { slider.value = '0'; slider.dispatchEvent(new Event('input', {bubbles: true})); }")
    page.wait_for_function(f"""() => {{ const audio = document.querySelector("{speech} audio");
      return document.querySelector("{speech} figcaption").textContent.includes('tone 80') && audio.readyState >= 1
        && Math.abs(audio.duration - 0.5) < 0.01; }}""", timeout=30_000)
    assert page.get_attribute(f"{speech} audio", "src") != first_clip, "another step plays its own clip"

    # video: a GIF is an animated image; another format gets a <video> player on the file route
    page.wait_for_function(f"""() => {{ const img = document.querySelector("{scope} .jt-media[data-key=moving] img");
      return img && img.complete && img.naturalWidth === 24 && img.width === 120; }}""", timeout=30_000)
    video = page.evaluate(f"""() => {{ const video = document.querySelector("{scope} .jt-media[data-key=clip] video");
      return video && {{controls: video.controls, src: video.src, caption: video.parentElement.querySelector('figcaption').textContent}}; }}""")
    assert video and video["controls"] and "media" in video["src"] and video["caption"] == "clip"

    # HTML: in an iframe with an empty sandbox (no script, a unique origin), sanitised when logged
    frame = f"{scope} .jt-media[data-key=page] iframe.jt-media-html-frame"
    page.wait_for_function(f"""() => {{ const frame = document.querySelector("{frame}");
      return frame && frame.srcdoc.includes('Report at step 200'); }}""", timeout=30_000)
    assert page.get_attribute(frame, "sandbox") == ""
    assert page.evaluate(f"""() => document.querySelector("{frame}").contentDocument""") is None, \
        "the page cannot reach into the frame, nor the frame into the page"
    assert page.frame_locator(frame).locator("h1").text_content(timeout=10_000) == "Report at step 200"
    assert page.frame_locator(frame).locator("b").text_content() == "bold", "the logged page's own markup is drawn"
    assert page.frame_locator(frame).locator("script, [onerror]").count() == 0, "its script and handlers were dropped"

    # a table: its first rows, markup in a cell as text, image cells as pictures from the file route
    table = f"{scope} .jt-media[data-key=predictions] table.jt-table-rows"
    page.wait_for_function(f"""() => {{ const images = document.querySelectorAll("{table} img");
      return images.length === 3 && Array.from(images).every((img) => img.complete && img.naturalWidth === 6); }}""",
                           timeout=30_000)
    cells = page.evaluate(f"""() => ({{caption: document.querySelector("{table} caption").textContent,
      head: Array.from(document.querySelectorAll("{table} th"), (th) => th.textContent),
      rows: Array.from(document.querySelectorAll("{table} tr"), (tr) => Array.from(tr.querySelectorAll('td'), (td) => td.textContent))
               .filter((row) => row.length)}})""")
    assert cells["caption"] == "3 rows × 3 columns" and cells["head"] == ["id", "label", "picture"]
    assert [row[:2] for row in cells["rows"]] == [["0", ATTACK], ["1", "class 201"], ["2", "class 202"]]
    assert page.evaluate("() => window.__jtXss") is None
    assert page.locator(f"{scope} img[src=x], {scope} script").count() == 0


def check_compare(page: Any, scope: str) -> None:
    """A compare view of the three runs: overlaid smoothed lines, the slider re-smooths, the diff marks lr."""
    page.wait_for_function(f"""() => {{ const p = document.querySelector("{scope} .jt-overlay-chart[data-metric=loss] .jt-chart-plot");
      return p && p.__jtChart && p.__jtChart.series.length === 7; }}""", timeout=30_000)
    legend = page.eval_on_selector_all(f"{scope} .jt-compare-run-name", "(nodes) => nodes.map((n) => n.textContent)")
    assert sorted(legend) == [f"{ATTACK}-{index}" for index in range(3)]
    smoothed = f"""() => {{ const chart = document.querySelector("{scope} .jt-overlay-chart[data-metric=loss] .jt-chart-plot").__jtChart;
      return [2, 4, 6].map((i) => Array.from(chart.data[i]).filter((v) => v !== null && v !== undefined).slice(0, 40)); }}"""
    before = page.evaluate(smoothed)
    assert all(len(line) == 40 for line in before), "each run has its own smoothed line"
    page.eval_on_selector(f"{scope} .jt-smoothing",
                          "(slider) => { slider.value = '0.95'; slider.dispatchEvent(new Event('input', {bubbles: true})); }")
    assert page.evaluate(smoothed) != before, "the smoothing slider redraws every run's line"
    rows = page.evaluate(f"""() => Object.fromEntries(Array.from(document.querySelectorAll("{scope} .jt-diff-table tbody tr"),
      (row) => [row.dataset.key, row.classList.contains('jt-differs')]))""")
    assert rows["config.lr"] is True and rows["config.batch"] is False and rows["summary.best_acc"] is True
    assert rows["config.note"] is False
    page.check(f"{scope} .jt-only-different")
    only = page.eval_on_selector_all(f"{scope} .jt-diff-table tbody tr", "(rows) => rows.map((row) => row.dataset.key)")
    assert "config.lr" in only and "config.batch" not in only
    assert page.evaluate("() => window.__jtXss") is None


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """JupyterLab with this checkout's labextension and server extension over a store of the seeded runs."""
    if not (LABEXTENSION / "package.json").is_file():
        pytest.fail("the labextension is not built: run `npm ci && npm run build` in labextension/")
    import os

    tmp_path = tmp_path_factory.mktemp("run-sections-lab")
    extensions = tmp_path / "jupyter-data" / "labextensions"
    extensions.mkdir(parents=True)
    (extensions / "jupyter-tracker").symlink_to(LABEXTENSION, target_is_directory=True)
    config = tmp_path / "jupyter-config"
    config.mkdir()
    (config / "jupyter_server_config.json").write_text(
        json.dumps({"ServerApp": {"jpserver_extensions": {"jupyter_tracker.lab": True}}}), encoding="utf-8")
    environment = isolated_environment({"WANDB_DIR": str(tmp_path / "store"), "WANDB_MODE": "offline",
                                        "WANDB_SILENT": "true", "JUPYTER_TRACKER_HOME": str(tmp_path / "home")})
    ids = seed(tmp_path / "seed", environment, {})
    (tmp_path / "lab").mkdir()
    # no "get notified about Jupyter news?" toast over the screenshots
    notification = tmp_path / "lab-settings" / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
    notification.parent.mkdir(parents=True)
    notification.write_text('{"fetchNews": "false"}', encoding="utf-8")
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
    yield {**info, "ids": ids}
    servers.close()


def test_jupyterlab_run_page_sections_and_compare_view(lab: dict[str, Any]) -> None:
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    first = lab["ids"][0]
    with sync_playwright() as playwright:
        browser, page, errors = open_browser(playwright)
        try:
            page.goto(f"{lab['base']}/lab?token={lab['token']}")
            page.wait_for_function("() => window.jupyterapp && window.jupyterapp.shell && document.querySelector('.jp-LabShell')"
                                   " && window.jupyterapp.commands.hasCommand('jupyter-tracker:open-runs')", timeout=90_000)
            # the shell may restore its layout after a first activation: ask until the sidebar shows
            page.wait_for_function("""() => { const runs = document.querySelector('#jupyter-tracker-runs');
              if (runs && runs.offsetParent !== null) return true;
              window.jupyterapp.commands.execute('jupyter-tracker:open-runs'); return false; }""",
                                   polling=500, timeout=30_000)
            page.wait_for_selector(f"#jupyter-tracker-runs .jt-run[data-run-id='{first}']", timeout=30_000)
            page.click(f"#jupyter-tracker-runs .jt-run[data-run-id='{first}'] .jt-run-name")
            scope = ".jp-MainAreaWidget:not(.lm-mod-hidden) .jt-run-page"
            seen = check_run_sections(page, scope)
            assert all("/jupyter-tracker/file?" in url for url in seen["links"].values())
            assert "sync offline" in page.inner_text(f"{scope} .jt-run-facts"), "a local run's sync state"

            # a file outside the run's listing is refused, whatever the name says
            statuses = page.evaluate("""async ([id]) => {
              const out = [];
              for (const name of ['../../run.log', '/etc/passwd', 'media/../../../secret', 'files/../run.log']) {
                const query = new URLSearchParams({project: 'sections', id, name});
                out.push((await fetch('/jupyter-tracker/file?' + query)).status);
              }
              return out;
            }""", [first])
            assert statuses == [404, 404, 404, 404]
            check_warnings_and_media_kinds(page, scope)
            tables = page.evaluate("""async ([id]) => {
              const out = [];
              for (const name of ['../../run.log', 'notes.txt', 'nope.parquet']) {
                const query = new URLSearchParams({project: 'sections', id, name});
                out.push((await fetch('/jupyter-tracker/table?' + query)).status);
              }
              return out;
            }""", [first])
            assert tables == [404, 400, 404], "a table is read only by a name the run lists, and only a table"
            page.eval_on_selector(f"{scope} .jt-run-header", "(node) => node.scrollIntoView()")
            page.wait_for_timeout(200)
            page.screenshot(path=str(ARTIFACTS / "labextension_run_warnings.png"))
            page.eval_on_selector(f"{scope} .jt-media[data-key=page]", "(node) => node.scrollIntoView()")
            page.wait_for_timeout(300)
            page.screenshot(path=str(ARTIFACTS / "labextension_run_media_kinds.png"))
            page.eval_on_selector(f"{scope} .jt-section[data-section=system]", "(node) => node.scrollIntoView()")
            page.wait_for_timeout(300)
            page.screenshot(path=str(ARTIFACTS / "labextension_run_system_media.png"))
            page.eval_on_selector(f"{scope} .jt-section[data-section=files]", "(node) => node.scrollIntoView()")
            page.wait_for_timeout(200)
            page.screenshot(path=str(ARTIFACTS / "labextension_run_files.png"))

            # select the three runs in the sidebar, open their compare view
            for run_id in lab["ids"]:
                page.check(f"#jupyter-tracker-runs .jt-run[data-run-id='{run_id}'] .jt-run-select")
            page.click("#jupyter-tracker-runs .jt-compare-button")
            compare = ".jp-MainAreaWidget:not(.lm-mod-hidden) .jt-compare-page"
            check_compare(page, compare)
            page.uncheck(f"{compare} .jt-only-different")
            page.wait_for_timeout(300)
            page.screenshot(path=str(ARTIFACTS / "labextension_compare.png"))
        finally:
            browser.close()
    assert errors == [], errors


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A tracking server holding the seeded runs (synced by the client), and a second user's key."""
    root = tmp_path_factory.mktemp("run-sections-server")
    with start_server(root / "server") as server:
        environment = isolated_environment({"WANDB_DIR": str(root / "runs"), "WANDB_SILENT": "true",
                                            "JUPYTER_TRACKER_HOME": str(root / "home")})
        ids = seed(root / "seed", environment, {"base_url": server.base_url, "api_key": server.api_key,
                                                 "sync_interval": 0.2, "console": "off", "live": "off",
                                                 "sync_unsynced_on_init": False})
        yield {"server": server, "ids": ids, "bob_key": server.create_key(user="bob")}


def test_server_run_page_sections_and_compare_view(site: dict[str, Any]) -> None:
    from playwright.sync_api import sync_playwright

    server: ServerProcess = site["server"]
    base = server.base_url
    first = site["ids"][0]
    entity = server.username
    ARTIFACTS.mkdir(exist_ok=True)
    run_url = f"{base}/{entity}/{PROJECT}/runs/{first}"

    # no session, no data; another user's session, no data either
    with httpx.Client(base_url=base, timeout=30) as client:
        for path in (f"/_pages/api/media/{entity}/{PROJECT}/{first}", f"/_pages/api/files/{entity}/{PROJECT}/{first}",
                     f"/_pages/api/file/{entity}/{PROJECT}/{first}/notes.txt",
                     f"/_pages/api/compare/{entity}/{PROJECT}?runs={first}",
                     f"/_pages/api/warnings/{entity}/{PROJECT}/{first}",
                     f"/_pages/api/table/{entity}/{PROJECT}/{first}/media/tables/x.parquet"):
            assert client.get(path).status_code == 401, path
        client.get("/sign-in")
        client.post("/_pages/sign-in", data={"api_key": site["bob_key"], "csrf": client.cookies["jt_csrf"]})
        assert client.get(f"/_pages/api/file/{entity}/{PROJECT}/{first}/notes.txt").status_code == 403
        assert client.get(f"/_pages/api/system/{entity}/{PROJECT}/{first}").status_code == 403
        assert client.get(f"/_pages/api/warnings/{entity}/{PROJECT}/{first}").status_code == 403

    with sync_playwright() as playwright:
        browser, page, errors = open_browser(playwright)
        try:
            page.goto(run_url)
            page.fill("input[name=api_key]", server.api_key)
            page.click("button[type=submit]")
            page.wait_for_url(run_url)
            seen = check_run_sections(page, ".jt-run-page")
            assert seen["links"]["notes.txt"] == f"{base}/_pages/api/file/{entity}/{PROJECT}/{first}/notes.txt?download=1"
            assert "sync" not in page.inner_text(".jt-run-facts"), "a run read from the server has no upload to show"
            statuses = page.evaluate("""async (prefix) => {
              const out = [];
              for (const name of ['..%2F..%2Fweb_session.secret', '%2E%2E/%2E%2E/x', 'media/..%2F..%2Fx', 'nope.txt']) {
                out.push((await fetch(prefix + name)).status);
              }
              return out;
            }""", f"/_pages/api/file/{entity}/{PROJECT}/{first}/")
            assert all(status in (400, 404) for status in statuses), statuses
            check_warnings_and_media_kinds(page, ".jt-run-page")
            tables = page.evaluate("""async (prefix) => {
              const out = [];
              for (const name of ['..%2F..%2Fweb_session.secret', 'notes.txt', 'media/tables/nope.parquet']) {
                out.push((await fetch(prefix + name)).status);
              }
              return out;
            }""", f"/_pages/api/table/{entity}/{PROJECT}/{first}/")
            assert all(status in (400, 404) for status in tables), tables
            page.screenshot(path=str(ARTIFACTS / "server_run_sections.png"), full_page=True)
            page.locator(".jt-section[data-section=media]").screenshot(path=str(ARTIFACTS / "server_run_media_kinds.png"))

            # the runs table: tick the three runs, open their compare view
            page.goto(f"{base}/{entity}/{PROJECT}")
            page.wait_for_selector(".jt-runs-table tbody tr .jt-run-select")
            assert page.is_hidden(".jt-compare-button")
            for run_id in site["ids"]:
                page.check(f".jt-runs-table tr[data-run-id='{run_id}'] .jt-run-select")
            assert page.text_content(".jt-compare-button") == "Compare 3 selected"
            page.click(".jt-compare-button")
            page.wait_for_url("**/sections?compare=*")
            check_compare(page, ".jt-compare-page")
            page.uncheck(".jt-compare-page .jt-only-different")
            page.wait_for_timeout(300)
            page.screenshot(path=str(ARTIFACTS / "server_compare.png"), full_page=True)
            headers = page.goto(page.url)
            assert headers is not None and "script-src 'self'" in headers.headers["content-security-policy"]
        finally:
            browser.close()
    assert errors == [], errors
