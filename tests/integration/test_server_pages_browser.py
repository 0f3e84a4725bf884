"""The tracking server's web pages in Debian Chromium: sign in with an API key, the projects list, a
project's runs table (search, sort), a run page whose smoothing slider redraws its chart, refusal
without a session or for another user's project, inert XSS attempts and the security headers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

import jupyter_tracker as jt
import jupyter_tracker.reports as wr
from jupyter_tracker.api import Api
from tests.integration.lab_helpers import ARTIFACTS, BROWSER_MARKS, launch
from tests.integration.server_fixtures import ServerProcess, start_server

pytestmark = BROWSER_MARKS

ATTACK = '<img src=x onerror="alert(1)"><script>alert(2)</script>'


def log_run(server: ServerProcess, key: str, directory: Path, project: str, name: str, lr: float,
            tags: list[str]) -> str:
    run = jt.init(project=project, dir=directory, name=name, config={"lr": lr, "note": ATTACK}, tags=tags,
                  settings={"base_url": server.base_url, "api_key": key, "sync_interval": 0.2,
                            "console": "off", "live": "off", "sync_unsynced_on_init": False})
    for step in range(300):
        run.log({"loss": lr * (300 - step) + (step % 7) * 0.05 * lr})
    run.summary["acc"] = 1 - lr
    run.finish()
    return str(run.url)  # the server named the entity once the sync connected


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    root = tmp_path_factory.mktemp("server-pages")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("JUPYTER_TRACKER_HOME", str(root / "home"))
        for name in ("WANDB_BASE_URL", "WANDB_API_KEY", "WANDB_MODE", "WANDB_DIR", "WANDB_ENTITY"):
            patch.delenv(name, raising=False)
        with start_server(root / "server") as server:
            urls = [log_run(server, server.api_key, root / "runs", "web-proj", f"{ATTACK}-{index}", lr,
                            [ATTACK, f"lr{index}"]) for index, lr in enumerate((0.1, 0.01, 0.001))]
            bob_key = server.create_key(user="bob")
            log_run(server, bob_key, root / "bob", "secret", "bob-run", 0.5, [])
            yield {"server": server, "urls": urls, "bob_key": bob_key}


def test_server_pages_sign_in_runs_table_run_page_and_refusals(site: dict[str, Any]) -> None:
    from playwright.sync_api import sync_playwright

    server: ServerProcess = site["server"]
    base = server.base_url
    ARTIFACTS.mkdir(exist_ok=True)

    # no session: pages send the browser to sign in, JSON says 401; headers are strict everywhere
    with httpx.Client(base_url=base, timeout=30) as client:
        answer = client.get("/web-proj-owner/web-proj", follow_redirects=False)
        assert answer.status_code == 303 and answer.headers["location"].startswith("/sign-in?next=")
        assert client.get("/_pages/api/projects").status_code == 401
        sign_in = client.get("/sign-in")
        csp = sign_in.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp and "unsafe-inline" not in csp
        assert sign_in.headers["x-content-type-options"] == "nosniff"
        # a sign-in posted without the form's CSRF token (another site's form) is refused
        forged = client.post("/_pages/sign-in", data={"api_key": server.api_key, "csrf": "guess"},
                             headers={"Origin": base}, follow_redirects=False)
        assert forged.status_code == 403 and "jt_session" not in forged.headers.get("set-cookie", "")
        token = client.cookies["jt_csrf"]
        cross_site = client.post("/_pages/sign-in", data={"api_key": server.api_key, "csrf": token},
                                 headers={"Origin": "https://evil.example"}, follow_redirects=False)
        assert cross_site.status_code == 403
        wrong_key = client.post("/_pages/sign-in", data={"api_key": "jt_nope_nope", "csrf": token},
                                follow_redirects=False)
        assert wrong_key.status_code == 401 and server.api_key not in wrong_key.text

    dialogs: list[str] = []
    errors: list[str] = []
    with sync_playwright() as playwright:
        browser = launch(playwright)
        try:
            context = browser.new_context(viewport={"width": 1300, "height": 900})
            page = context.new_page()
            page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
            page.on("pageerror", lambda error: errors.append(str(error)))

            run_url = site["urls"][1]
            assert run_url.startswith(f"{base}/alice/web-proj/runs/"), run_url
            page.goto(run_url)
            assert "/sign-in" in page.url
            page.screenshot(path=str(ARTIFACTS / "server_sign_in.png"))
            page.fill("input[name=api_key]", server.api_key)
            page.click("button[type=submit]")
            page.wait_for_url(run_url)
            cookies = {cookie["name"]: cookie for cookie in context.cookies()}
            assert cookies["jt_session"]["httpOnly"] and cookies["jt_session"]["sameSite"] == "Strict"
            assert server.api_key not in cookies["jt_session"]["value"]
            assert page.evaluate("() => document.cookie") == ""  # nothing readable by script

            # the run page: a chart drawn from the shared views; the slider re-smooths it in the browser
            page.wait_for_selector(".jt-chart[data-metric=loss] canvas", timeout=20_000)
            smoothed = ("() => Array.from(document.querySelector('.jt-chart[data-metric=loss] .jt-chart-plot')"
                        ".__jtChart.data[2].slice(0, 50))")
            before = page.evaluate(smoothed)
            page.eval_on_selector(".jt-smoothing", "(slider) => { slider.value = '0.95'; "
                                  "slider.dispatchEvent(new Event('input')); }")
            after = page.evaluate(smoothed)
            assert before != after
            assert page.text_content(".jt-smoothing-value") == "0.95"
            assert ATTACK in page.text_content(".jt-run-title")
            assert ATTACK in page.text_content("table.jt-values[data-section=config]")
            page.screenshot(path=str(ARTIFACTS / "server_run_page.png"), full_page=True)

            # the projects list: only alice's project, never bob's
            page.goto(base + "/")
            page.wait_for_selector(".jt-project-link")
            links = page.eval_on_selector_all(".jt-project-link", "(links) => links.map((link) => link.textContent)")
            assert links == ["alice/web-proj"]
            page.screenshot(path=str(ARTIFACTS / "server_projects.png"))

            # the runs table: every run, a search that narrows it, sorting by a summary column
            page.click(".jt-project-link")
            page.wait_for_selector(".jt-runs-table tbody tr")
            assert page.locator(".jt-runs-table tbody tr").count() == 3
            page.fill(".jt-runs-search", "lr1")
            page.wait_for_function("() => document.querySelectorAll('.jt-runs-table tbody tr').length === 1")
            page.fill(".jt-runs-search", "")
            page.click("th[data-sort='summary.acc']")
            page.click("th[data-sort='summary.acc']")
            accs = page.evaluate("""() => {
              const column = Array.from(document.querySelectorAll('.jt-runs-table th')).findIndex((cell) => cell.dataset.sort === 'summary.acc');
              return Array.from(document.querySelectorAll('.jt-runs-table tbody tr'), (row) => Number(row.children[column].textContent));
            }""")
            assert len(accs) == 3
            assert accs == sorted(accs)
            page.screenshot(path=str(ARTIFACTS / "server_runs_table.png"), full_page=True)

            # another user's project and its data are refused
            refused = page.goto(base + "/bob/secret")
            assert refused is not None and refused.status == 403
            assert page.evaluate("async () => (await fetch('/_pages/api/runs/bob/secret')).status") == 403

            # no attempt ran, nothing became markup
            assert page.evaluate("() => document.querySelectorAll('img[src=x], main script').length") == 0

            # headers of a signed-in page
            answer = page.goto(base + "/alice/web-proj")
            assert answer is not None
            headers = answer.headers
            assert "frame-ancestors 'none'" in headers["content-security-policy"]
            assert headers["x-content-type-options"] == "nosniff" and headers["x-frame-options"] == "DENY"

            # the report page accepts the same session (no bearer header from a browser)
            saved = wr.Report("web-proj", title="Pages report", blocks=[wr.P("Seen in a session")]).save(
                api=Api({"base_url": base}, api_key=server.api_key))
            report = page.goto(saved.url)
            assert report is not None and report.status == 200
            assert "Pages report" in page.content()

            # signing out ends the session
            page.goto(base + "/alice/web-proj")
            page.wait_for_selector(".jt-runs-table tbody tr")
            page.click(".jt-sign-out button")
            page.wait_for_url("**/sign-in")
            page.goto(base + "/")
            assert "/sign-in" in page.url
        finally:
            browser.close()
    assert dialogs == [] and errors == []

    # revoking the key ends the sessions signed in with it
    key = server.create_key(user="alice")
    with httpx.Client(base_url=base, timeout=30) as client:
        client.get("/sign-in")
        signed = client.post("/_pages/sign-in", data={"api_key": key, "csrf": client.cookies["jt_csrf"], "next": "/"},
                             follow_redirects=False)
        assert signed.status_code == 303 and signed.headers["location"] == "/"
        assert client.get("/_pages/api/projects").status_code == 200
        server.revoke_key(key)
        assert client.get("/_pages/api/projects").status_code == 401
