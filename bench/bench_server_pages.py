"""The server's runs table page at 10,000 runs in Chromium: first paint and filter (targets 1 s and 200 ms).

Run: ``.venv/bin/python bench/bench_server_pages.py [--runs 10000] [--repeat 5]``. Starts a real
``jupyter-tracker server`` on loopback, writes ``--runs`` runs (5 summary metrics, 2 tags each)
straight into its SQLite database, signs in through the page, then repeats, interleaved: load
``/<entity>/<project>`` until its rows show (first paint: navigation start to the table drawn), and
type a search until the table shows the matching rows (filter). Prints the medians and worst with
the load average and writes ``bench/out/server_pages.json``.
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

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.integration.server_fixtures import start_server  # noqa: E402
from tests.integration.test_live_panel_browser import launch  # noqa: E402

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as directory, start_server(Path(directory)) as server:
        fill_runs(server.db_url, server.username, "bench", args.runs)
        first_paint: list[float] = []
        filtering: list[float] = []
        with sync_playwright() as playwright:
            browser = launch(playwright)
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.goto(server.base_url + "/sign-in")
            page.fill("input[name=api_key]", server.api_key)
            page.click("button[type=submit]")
            page.wait_for_url(server.base_url + "/")
            for _ in range(args.repeat):
                page.goto(server.base_url + f"/{server.username}/bench")
                page.wait_for_function(f"() => document.querySelector('.jt-runs-count')?.textContent.startsWith('{args.runs:,}')",
                                       timeout=60_000)
                first_paint.append(page.evaluate("() => performance.now()") / 1000)
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
    load = os.getloadavg()[0]
    figures = {"runs": args.runs, "first_paint_median_s": statistics.median(first_paint), "first_paint_worst_s": max(first_paint),
               "filter_median_s": statistics.median(filtering), "filter_worst_s": max(filtering), "load_average": load}
    print(f"runs table, {args.runs:,} runs: first paint median {figures['first_paint_median_s']:.3f} s "
          f"(worst {figures['first_paint_worst_s']:.3f}, target {FIRST_PAINT_TARGET} s); filter median "
          f"{figures['filter_median_s'] * 1000:.0f} ms (worst {figures['filter_worst_s'] * 1000:.0f}, target "
          f"{FILTER_TARGET * 1000:.0f} ms); load average {load:.2f}")
    out = Path(__file__).with_name("out")
    out.mkdir(exist_ok=True)
    (out / "server_pages.json").write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
