"""The server's runs table page at 10,000 runs in Chromium: first paint and filter (targets 1 s and 200 ms),
and what the server side of it costs.

Run: ``.venv/bin/python bench/bench_server_pages.py [--runs 10000] [--repeat 5]``. Starts a real
``jupyter-tracker server`` on loopback, writes ``--runs`` runs (5 summary metrics, 2 tags each)
straight into its SQLite database, signs in through the page, times the first runs JSON request
(cold: nothing cached), then repeats, interleaved: the runs JSON as the browser asks for it (gzip)
and uncompressed, the same after one run logged a new value (only that row is serialised again), a
load of ``/<entity>/<project>`` until its rows show (first paint: navigation start to the table
drawn), and a search typed until the table shows the matching rows (filter). Prints the medians and
worst with the load average of each repetition and writes ``bench/out/server_pages.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.integration.server_fixtures import ServerProcess, start_server  # noqa: E402

try:
    from tests.integration.lab_helpers import launch
except ImportError:  # before the browser helpers moved to lab_helpers
    from tests.integration.test_live_panel_browser import launch

FIRST_PAINT_TARGET = 1.0
FILTER_TARGET = 0.2


def fill_runs(db_url: str, entity: str, project: str, count: int) -> None:
    import sqlalchemy as sa

    from jupyter_tracker.server import schema as t
    from jupyter_tracker.server.storage import open_storage

    storage = open_storage(db_url)
    try:
        storage.upsert_run(entity, project, "seed", {"name": "seed"}, entity)
        with storage.engine.begin() as connection:
            project_id = connection.execute(sa.select(t.runs.c.project_id).where(t.runs.c.run_id == "seed")).scalar()
            now = time.time()
            rows = []
            for index in range(count - 1):
                summary = {f"metric_{k}": random.random() for k in range(5)}
                rows.append({
                    "project_id": project_id, "run_id": f"run{index:06d}", "name": f"sweep-{index % 97}-run-{index}",
                    "state": "finished", "group_name": None, "tags": json.dumps([f"t{index % 13}", "bench"]),
                    "notes": None, "job_type": None, "created": now - index, "updated": now - index,
                    "runtime": 60.0, "exit_code": 0, "config": json.dumps({"lr": random.random()}),
                    "summary": json.dumps(summary), "summary_manual": "{}", "last_values": "{}", "extra": "{}",
                    "applied_seq": 0, "history_rows": 0, "created_by": entity, "version": 1,
                })
            connection.execute(sa.insert(t.runs), rows)
    finally:
        storage.close()


#: when (ms from navigation start) the page's script arrived and its runs JSON was asked for and arrived
RESOURCE_TIMES = """() => {
  const entries = performance.getEntriesByType('resource');
  const script = entries.find((entry) => entry.name.includes('/_pages/static/pages.js'));
  const runs = entries.find((entry) => entry.name.includes('/_pages/api/runs/'));
  const html = performance.getEntriesByType('navigation')[0];
  return {html_end: html.responseEnd, script_end: script.responseEnd, json_start: runs.startTime,
          json_first_byte: runs.responseStart, json_end: runs.responseEnd, json_wire_bytes: runs.encodedBodySize,
          json_requests: entries.filter((entry) => entry.name.includes('/_pages/api/runs/')).length};
}"""


def timed_get(client: Any, path: str, encoding: str) -> tuple[float, int]:
    """Seconds to GET ``path`` with ``Accept-Encoding: encoding``, and the bytes that came over the wire."""
    start = time.perf_counter()
    with client.stream("GET", path, headers={"Accept-Encoding": encoding}) as answer:
        wire = sum(len(chunk) for chunk in answer.iter_raw())
        assert answer.status_code == 200, answer.status_code
    return time.perf_counter() - start, wire


def log_to_one_run(server: ServerProcess, project: str, seq: int) -> None:
    """One run logs a new value (as a sync would): the project's stamp changes, so its body is rebuilt."""
    from jupyter_tracker.server.storage import open_storage

    storage = open_storage(server.db_url, migrate=False)
    try:
        storage.apply_batch(server.username, project, "seed", seq, [["h", seq, time.time(), 1.0, {"metric_0": seq}]])
    finally:
        storage.close()


def median_and_worst(values: list[float]) -> dict[str, float]:
    return {"median": statistics.median(values), "worst": max(values)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    import httpx
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as directory, start_server(Path(directory)) as server:
        fill_runs(server.db_url, server.username, "bench", args.runs)
        first_paint: list[float] = []
        filtering: list[float] = []
        json_gzip: list[float] = []
        json_plain: list[float] = []
        json_after_change: list[float] = []
        loads: list[float] = []
        timeline: list[dict[str, float]] = []
        runs_path = f"/_pages/api/runs/{server.username}/bench"
        with sync_playwright() as playwright, httpx.Client(base_url=server.base_url, timeout=120) as client:
            browser = launch(playwright)
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.goto(server.base_url + "/sign-in")
            page.fill("input[name=api_key]", server.api_key)
            page.click("button[type=submit]")
            page.wait_for_url(server.base_url + "/")
            client.cookies.set("jt_session", next(c["value"] for c in page.context.cookies() if c["name"] == "jt_session"))
            cold, gzip_bytes = timed_get(client, runs_path, "gzip")
            plain_bytes = timed_get(client, runs_path, "identity")[1]
            for repetition in range(args.repeat):
                loads.append(os.getloadavg()[0])
                json_gzip.append(timed_get(client, runs_path, "gzip")[0])
                json_plain.append(timed_get(client, runs_path, "identity")[0])
                log_to_one_run(server, "bench", repetition + 1)
                json_after_change.append(timed_get(client, runs_path, "gzip")[0])
                page.goto(server.base_url + f"/{server.username}/bench")
                page.wait_for_function(f"() => document.querySelector('.jt-runs-count')?.textContent.startsWith('{args.runs:,}')",
                                       timeout=60_000)
                first_paint.append(page.evaluate("() => performance.now()") / 1000)
                timeline.append(page.evaluate(RESOURCE_TIMES))
                took = page.evaluate("""() => {
                  const search = document.querySelector('.jt-runs-search');
                  const start = performance.now();
                  search.value = 'sweep-42 t3';
                  search.dispatchEvent(new Event('input'));
                  document.querySelector('.jt-runs-table tbody').getBoundingClientRect();
                  return (performance.now() - start) / 1000;
                }""")
                filtering.append(took)
            browser.close()
    load = statistics.median(loads)
    figures = {"runs": args.runs, "first_paint_median_s": statistics.median(first_paint), "first_paint_worst_s": max(first_paint),
               "filter_median_s": statistics.median(filtering), "filter_worst_s": max(filtering), "load_average": load,
               "load_averages": loads, "runs_json_cold_s": cold, "runs_json_gzip_s": median_and_worst(json_gzip),
               "runs_json_plain_s": median_and_worst(json_plain),
               "runs_json_after_one_run_changed_s": median_and_worst(json_after_change),
               "runs_json_bytes": {"gzip": gzip_bytes, "plain": plain_bytes}}
    print(f"runs table, {args.runs:,} runs: first paint median {figures['first_paint_median_s']:.3f} s "
          f"(worst {figures['first_paint_worst_s']:.3f}, target {FIRST_PAINT_TARGET} s); filter median "
          f"{figures['filter_median_s'] * 1000:.0f} ms (worst {figures['filter_worst_s'] * 1000:.0f}, target "
          f"{FILTER_TARGET * 1000:.0f} ms); load average median {load:.2f} (range {min(loads):.2f}-{max(loads):.2f})")
    phases = {name: statistics.median(times[name] for times in timeline) for name in timeline[0]}
    figures["page_timeline_ms"] = phases
    print(f"first paint, median ms from navigation start: page HTML received {phases['html_end']:.0f}, script "
          f"{phases['script_end']:.0f}, runs JSON asked {phases['json_start']:.0f}, first byte "
          f"{phases['json_first_byte']:.0f}, received {phases['json_end']:.0f} ({phases['json_wire_bytes'] / 1e6:.2f} MB), "
          f"table drawn {statistics.median(first_paint) * 1000:.0f}; runs JSON requests per load "
          f"{max(times['json_requests'] for times in timeline):.0f} (1: the page's preload was used)")
    print(f"runs JSON (server side): cold {cold * 1000:.0f} ms; kept, gzip {statistics.median(json_gzip) * 1000:.0f} ms "
          f"(worst {max(json_gzip) * 1000:.0f}), uncompressed {statistics.median(json_plain) * 1000:.0f} ms "
          f"(worst {max(json_plain) * 1000:.0f}); after one run changed {statistics.median(json_after_change) * 1000:.0f} ms "
          f"(worst {max(json_after_change) * 1000:.0f}); {plain_bytes / 1e6:.2f} MB, {gzip_bytes / 1e6:.2f} MB gzipped")
    out = Path(__file__).with_name("out")
    out.mkdir(exist_ok=True)
    (out / "server_pages.json").write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
