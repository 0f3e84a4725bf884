"""Reports on the tracking server: saved with versions, loaded back, a page per report for readers
of the project only, and share links that work until revoked; pages and exports checked in Chromium."""

# ruff: noqa: F811  (the server fixtures are imported by name and used as parameters)
from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

import jupyter_tracker as jt
import jupyter_tracker.reports as wr
from jupyter_tracker.api import Api
from tests.integration.lab_helpers import CHROMIUM, NEEDS_CHROMIUM, REQUIRE_BROWSER, launch
from tests.integration.server_fixtures import (  # noqa: F401  (fixtures)
    ServerProcess,
    server_backend,
    server_factory,
    shared_server,
)

pytestmark = pytest.mark.integration

ATTACK = '<img src=x onerror="alert(1)"><script>alert(2)</script>'


@pytest.fixture(autouse=True)
def isolated_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JUPYTER_TRACKER_HOME", str(tmp_path / "home"))
    for name in ("WANDB_BASE_URL", "WANDB_API_KEY", "WANDB_MODE", "WANDB_SILENT", "WANDB_DIR", "WANDB_ENTITY"):
        monkeypatch.delenv(name, raising=False)


def log_runs(server: ServerProcess, tmp_path: Path, project: str) -> None:
    for index, lr in enumerate((0.1, 0.01, 0.001)):
        run = jt.init(project=project, dir=tmp_path, name=f"{ATTACK}-{index}", config={"lr": lr},
                      settings={"base_url": server.base_url, "api_key": server.api_key, "sync_interval": 0.2,
                                "console": "off", "sync_unsynced_on_init": False})
        for step in range(200):
            run.log({"loss": lr * (200 - step)})
        run.summary["acc"] = 1 - lr
        run.finish()


def report_for(project: str) -> wr.Report:
    return wr.Report(project, title="Server report", blocks=[
        wr.H1("Learning rates"), wr.P(f"runs named {ATTACK}"),
        wr.PanelGrid(runsets=[wr.Runset(project, filters="Config('lr') < 0.05")],
                     panels=[wr.LinePlot(y=["loss"], smoothing_factor=0.6, range_x=(0, 150), range_y=(0, None),
                                         title_x="training step", title_y="loss value"),
                             wr.ScatterPlot(x="config.lr", y="summary.acc"),
                             wr.RunComparer()]),
        wr.Image(url="/etc/hostname.png", caption="a server path is never read"),
    ])


def console_problems(page_url: str, headers: dict[str, str] | None = None, offline: bool = False) -> dict[str, Any]:
    """Opens a page in Chromium; returns its console errors, dialogs and the number of drawn charts."""
    from playwright.sync_api import sync_playwright

    problems: list[str] = []
    with sync_playwright() as playwright:
        browser = launch(playwright)
        try:
            context = browser.new_context(offline=offline, extra_http_headers=headers or {})
            page = context.new_page()
            page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
            page.on("pageerror", lambda error: problems.append(str(error)))
            page.on("dialog", lambda dialog: (problems.append(f"dialog: {dialog.message}"), dialog.dismiss()))
            if offline:
                page.route("**/*", lambda route: route.abort() if not route.request.url.startswith("file:")
                           else route.continue_())
            page.goto(page_url)
            page.wait_for_function("document.querySelectorAll('.jt-line-plot canvas').length > 0", timeout=15_000)
            page.eval_on_selector(
                ".jt-smoothing input", "(input) => { input.value = '0.9'; input.dispatchEvent(new Event('input')); }")
            shown = page.eval_on_selector(".jt-smoothing output", "(output) => output.textContent")
            charts = page.evaluate("document.querySelectorAll('.jt-line-plot canvas').length")
            axes = page.evaluate("""() => {
                const plot = document.querySelector('.jt-line-plot')._jtChart.plot;
                return {x: [plot.scales.x.min, plot.scales.x.max], y_min: plot.scales.y.min,
                        titles: plot.axes.map((axis) => axis.label || '')};
            }""")
            text = page.inner_text("body")
        finally:
            browser.close()
    return {"problems": problems, "charts": charts, "smoothing": shown, "text": text, "axes": axes}


def test_reports_save_version_load_page_and_share(shared_server: ServerProcess, tmp_path: Path) -> None:
    server = shared_server
    project = "reports-page"
    log_runs(server, tmp_path, project)
    api = Api({"base_url": server.base_url}, api_key=server.api_key)
    report = report_for(project).save(api=api)
    assert report.version == 1 and len(report.id) == 12
    assert report.url == f"{server.base_url}/reports/{server.username}/{project}/{report.id}"
    assert report.save(api=api).version == 1  # unchanged content adds no version
    report.blocks[2].panels[0].smoothing_factor = 0.9
    assert report.save(api=api).version == 2
    again = api.report(f"{project}/{report.id}")
    assert again == report and again.blocks[2].panels[0].smoothing_factor == 0.9
    assert api.report(f"{project}/{report.id}", version=1).blocks[2].panels[0].smoothing_factor == 0.6
    assert wr.Report.from_url(report.url, api=api) == report
    assert [saved.id for saved in api.reports(project)] == [report.id]
    exported = report.to_html(tmp_path / "from-server.html", api=api)  # panels read through the server's API
    assert "2 of 3 runs" in exported and exported.count('class="jt-line-plot"') == 1

    page_path = f"/reports/{server.username}/{project}/{report.id}"
    with server.client() as client:
        page = client.get(page_path)
        assert page.status_code == 200 and "text/html" in page.headers["content-type"]
        assert "script-src 'nonce-" in page.headers["content-security-policy"]
        assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in page.text and 'onerror="alert' not in page.text
        assert "2 of 3 runs" in page.text and "image not found" in page.text
    with server.client(api_key="") as anonymous:
        assert anonymous.get(page_path).status_code == 401
    with server.client(api_key=server.create_key(user="mallory")) as stranger:
        assert stranger.get(page_path).status_code == 403
        assert stranger.get(f"/api/v1/reports/{server.username}/{project}/{report.id}").status_code == 403

    with server.client() as client:
        token = client.post(f"/api/v1/reports/{server.username}/{project}/{report.id}/shares").json()["token"]
    shared = httpx.get(f"{server.base_url}/reports/shared", params={"token": token})
    assert shared.status_code == 200 and "Server report" in shared.text
    with server.client() as client:
        assert client.delete("/api/v1/reports/shares", params={"token": token}).json() == {"revoked": True}
    assert httpx.get(f"{server.base_url}/reports/shared", params={"token": token}).status_code == 404
    assert token not in server.log_text()  # the access log masks it

    if CHROMIUM.exists() or REQUIRE_BROWSER:
        seen = console_problems(server.base_url + page_path, headers=server.headers)
        assert seen["problems"] == [] and seen["charts"] == 1 and seen["smoothing"] == "0.900"
        assert "Learning rates" in seen["text"]
        assert seen["axes"] == {"x": [0, 150], "y_min": 0, "titles": ["training step", "loss value"]}


@NEEDS_CHROMIUM
def test_exported_html_opens_from_disk_offline_without_console_errors(store_root: Path, tmp_path: Path) -> None:
    for index, lr in enumerate((0.1, 0.01)):
        run = jt.init(project="offline-export", mode="offline", name=f"{ATTACK}-{index}", config={"lr": lr})
        for step in range(3000):
            run.log({"loss": lr * (3000 - step) + (step % 5) * 0.01})
        run.summary["acc"] = 1 - lr
        run.finish(quiet=True)
    path = tmp_path / "report.html"
    report_for("offline-export").to_html(path, api=Api())
    seen = console_problems(path.as_uri(), offline=True)
    assert seen["problems"] == [] and seen["charts"] == 1 and seen["smoothing"] == "0.900"
    assert seen["axes"] == {"x": [0, 150], "y_min": 0, "titles": ["training step", "loss value"]}  # range_x/y, title_x/y


def test_the_share_page_is_rate_limited_per_address(server_factory: Any, tmp_path: Path) -> None:
    server = server_factory(rate_limit="4/minute")
    api = Api({"base_url": server.base_url}, api_key=server.api_key)
    report = wr.Report("shared-limit", title="Shared", blocks=[wr.H1("Hi")]).save(api=api)  # takes the key's bucket
    with server.client() as client:
        token = client.post(f"/api/v1/reports/{server.username}/shared-limit/{report.id}/shares").json()["token"]
    url = f"{server.base_url}/reports/shared"
    codes = [httpx.get(url, params={"token": token}).status_code for _ in range(2)]
    codes += [httpx.get(url, params={"token": f"guess-{number}"}).status_code for number in range(2)]
    refused = httpx.get(url, params={"token": token})
    assert codes == [200, 200, 404, 404] and refused.status_code == 429  # guesses use up the address's requests
    assert int(refused.headers["Retry-After"]) in range(1, 16) and "Too many requests" in refused.text
    with server.client() as client:  # a valid key keeps its own bucket
        assert client.get(f"/api/v1/reports/{server.username}/shared-limit/{report.id}").status_code == 200
