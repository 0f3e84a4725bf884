"""Benchmarks of the tracking server, each against a real server process on loopback.

* ingest: points per second on SQLite and PostgreSQL, with 1 and 15 concurrent clients (each
  client its own run, posting batches of history records the way the sync thread does);
  ``client batches``: 15 clients whose batches carry what a live run's sync sends besides the
  rows (the run record first, a system-metrics record every :data:`SYSTEM_EVERY` rows, a summary
  update, the finish record last), cut into batches by the client's own ``encode_batch``;
* history: a 100,000-point series downsampled to 1,500 points (target: <= 50 ms on SQLite);
* runs query: filter + order + page over 10,000 runs of one project, in SQL where the filter
  allows (targets: <= 200 ms, issue 14's <= 100 ms on both backends);
* ingest targets (issue 14): >= 500k points/s on SQLite and >= 1M on PostgreSQL with 15 clients.

Each ingest figure also gives the CPU seconds the server's processes used (``server_cpu_s``,
from /proc) and the points per server CPU second: on a shared machine the wall-clock rate
follows the load, the work per point much less. ``--workers N`` runs N uvicorn workers
(rate limits and caches are then per process; the buckets live in the database).

``--before REV`` also runs a server of the package as it was at git revision ``REV`` (exported
with ``git archive``), its repetitions interleaved with this checkout's, so both see the same
machine load; its figures are printed beside this checkout's.

Run: ``.venv/bin/python bench/bench_server.py [--quick] [--ingest-only] [--workers N] [--before REV]
[--postgres-dsn URL]``.
PostgreSQL runs when ``--postgres-dsn`` or ``JT_TEST_POSTGRES_DSN`` names a cluster (a database
is created and dropped). Results are printed and written to ``bench/out/bench_server.json``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.integration.server_fixtures import (  # noqa: E402
    MSGPACK_HEADERS,
    ServerProcess,
    history_record,
    pack_batch,
    postgres_database,
    start_server,
)

#: high enough that the limiter never answers 429: these measure the storage, not the limit
BENCH_RATE_LIMIT = "100000000/minute"
METRICS_PER_ROW = 10
RECORDS_PER_BATCH = 1000
#: history rows between two system-metrics records in the ``client batches`` workload
SYSTEM_EVERY = 300


def _timed(function: Callable[[], Any], repeats: int) -> list[float]:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return times


@contextlib.contextmanager
def _server(
    directory: Path, backend: str, dsn: str | None, workers: int = 1, tree: Path | None = None
) -> Iterator[ServerProcess]:
    """A server of this checkout, or of the package exported to ``tree`` (started from there, so it imports it)."""
    if backend == "postgresql":
        assert dsn
        os.environ["JT_TEST_POSTGRES_DSN"] = dsn
    extra = ("--workers", str(workers)) if workers > 1 else ()
    here = Path.cwd()
    with contextlib.ExitStack() as stack:
        db_url = None
        if tree is not None:  # its own schema: this checkout's may be newer than that server reads
            if backend == "postgresql":
                db_url = stack.enter_context(postgres_database())
            else:
                (directory / backend).mkdir(parents=True, exist_ok=True)
                db_url = f"sqlite:///{directory / backend / 'server.sqlite'}"
            migrate = f"from jupyter_tracker.server.storage import open_storage; open_storage({db_url!r}).close()"
            subprocess.run([sys.executable, "-c", migrate], cwd=tree, check=True)
            os.chdir(tree)  # the server runs ``python -c``: its first import path is the directory it starts in
        try:
            starting = start_server(
                directory / backend,
                backend=backend,
                rate_limit=BENCH_RATE_LIMIT,
                extra_args=extra,
                db_url=db_url,
                migrate=tree is None,
            )
            server = stack.enter_context(starting)
        finally:
            os.chdir(here)
        yield server


def _export_revision(revision: str, into: Path) -> Path:
    """The package as it was at ``revision`` (``git archive``), for the "before" server."""
    into.mkdir(parents=True, exist_ok=True)
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", revision, "jupyter_tracker"], check=True, capture_output=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into


def _server_cpu_seconds(server: ServerProcess) -> float | None:
    """User + system CPU seconds of the server's process group (its uvicorn workers too); None off Linux."""
    if server.process is None or not Path("/proc").is_dir():
        return None
    group = os.getpgid(server.process.pid)
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # the process ended meanwhile
            continue
        if int(fields[2]) == group:  # fields[2] is the process group; [11], [12] user and system time
            total += (int(fields[11]) + int(fields[12])) / ticks
    return total


def _row(step: int) -> dict[str, float]:
    return {f"m{k}": float(step) * (k + 1) for k in range(METRICS_PER_ROW)}


def _history_batches(batches_per_client: int) -> tuple[list[bytes], int]:
    """Batches of history records only, and how many rows they hold."""
    batches = []
    for batch_index in range(batches_per_client):
        first = batch_index * RECORDS_PER_BATCH
        records = [history_record(first + i, _row(first + i)) for i in range(RECORDS_PER_BATCH)]
        batches.append(pack_batch(first + 1, records))
    return batches, batches_per_client * RECORDS_PER_BATCH


def _client_batches(batches_per_client: int) -> tuple[list[bytes], int]:
    """A live run's records as its sync sends them, and how many history rows they hold.

    Each record is packed as the run log's writer packs it and the batches are joined by the
    sync's own :func:`~jupyter_tracker.sync.log_tail.encode_batch`: a run record, then rows with
    a system-metrics record every :data:`SYSTEM_EVERY` rows and a summary update once, and the
    finish record as the last record of the last batch.
    """
    from jupyter_tracker.store import records as run_log
    from jupyter_tracker.sync.log_tail import encode_batch

    pack = run_log.make_packer()
    total = batches_per_client * RECORDS_PER_BATCH
    raw = [pack([run_log.RUN, {"name": "bench", "group": "g", "tags": ["a"], "created": time.time(), "host": "h"}])]
    step = 0
    while len(raw) < total - 1:
        raw.append(pack(history_record(step, _row(step))))
        step += 1
        if step % SYSTEM_EVERY == 0:
            measured = {"system/cpu_percent": 12.5, "system/memory_percent": 40.0, "system/gpu.0.util": 97.0}
            raw.append(pack([run_log.SYSTEM, time.time(), step / 10.0, measured]))
        if step == total // 2:
            raw.append(pack([run_log.SUMMARY, {"best_m0": 0.5}]))
    raw.append(pack([run_log.FINISH, {"state": "finished", "exit_code": 0, "runtime": step / 10.0}]))
    batches = [
        encode_batch(first + 1, raw[first : first + RECORDS_PER_BATCH]) for first in range(0, total, RECORDS_PER_BATCH)
    ]
    return batches, step


def bench_ingest(
    server: ServerProcess, clients: int, batches_per_client: int, workload: str = "history"
) -> dict[str, Any]:
    """Points/s with ``clients`` concurrent clients, each posting ``batches_per_client`` batches.

    ``workload``: ``history`` (history records only) or ``client`` (:func:`_client_batches`).
    """
    payloads: list[list[bytes]] = []
    run_ids = [f"ingest-{workload}-{clients}-{index}-{time.time_ns()}" for index in range(clients)]
    with server.client() as client:
        for run_id in run_ids:
            client.put(f"/api/v1/runs/alice/bench/{run_id}", json={"metadata": {}})
    rows_each = 0
    for _ in run_ids:
        batches, rows_each = (_client_batches if workload == "client" else _history_batches)(batches_per_client)
        payloads.append(batches)
    errors: list[str] = []
    barrier = threading.Barrier(clients + 1)

    def run(index: int) -> None:
        with server.client(timeout=300) as client:
            barrier.wait()
            for body in payloads[index]:
                answer = client.post(
                    f"/api/v1/runs/alice/bench/{run_ids[index]}/records", content=body, headers=MSGPACK_HEADERS
                )
                if answer.status_code != 200:
                    errors.append(answer.text)

    threads = [threading.Thread(target=run, args=(index,)) for index in range(clients)]
    for thread in threads:
        thread.start()
    cpu_before = _server_cpu_seconds(server)
    barrier.wait()
    start = time.perf_counter()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - start
    cpu_after = _server_cpu_seconds(server)
    if errors:
        raise RuntimeError(f"ingest failed: {errors[:3]}")
    rows = clients * rows_each
    points = rows * (METRICS_PER_ROW + 2)  # + _timestamp and _runtime, stored as series too
    cpu = None if cpu_before is None or cpu_after is None else cpu_after - cpu_before
    return {
        "clients": clients,
        "workload": workload,
        "rows": rows,
        "points": points,
        "seconds": round(elapsed, 3),
        "rows_per_s": round(rows / elapsed),
        "points_per_s": round(points / elapsed),
        "batches_per_s": round(clients * batches_per_client / elapsed, 1),
        "server_cpu_s": None if cpu is None else round(cpu, 2),
        "points_per_server_cpu_s": None if not cpu else round(points / cpu),
        "load_average_1min": round(os.getloadavg()[0], 2),
    }


def bench_history(server: ServerProcess, points: int = 100_000, samples: int = 1500) -> dict[str, Any]:
    """Median time of GET history for one key of ``points`` points, downsampled to ``samples``."""
    run_id = f"history-{time.time_ns()}"
    with server.client(timeout=300) as client:
        client.put(f"/api/v1/runs/alice/bench/{run_id}", json={"metadata": {}})
        import math

        for start in range(0, points, 10_000):
            records = [
                history_record(step, {"loss": math.sin(step / 500.0) + step * 1e-5})
                for step in range(start, min(points, start + 10_000))
            ]
            answer = client.post(
                f"/api/v1/runs/alice/bench/{run_id}/records",
                content=pack_batch(start + 1, records),
                headers=MSGPACK_HEADERS,
            )
            answer.raise_for_status()
        url = f"/api/v1/runs/alice/bench/{run_id}/history"
        params = {"keys": "loss", "samples": samples}
        rows = client.get(url, params=params).json()["rows"]
        assert 0 < len(rows) <= samples, len(rows)
        times = _timed(lambda: client.get(url, params=params).raise_for_status(), 30)
        by_runtime = _timed(lambda: client.get(url, params={**params, "x_axis": "_runtime"}).raise_for_status(), 10)
    return {
        "points": points,
        "samples": samples,
        "rows_returned": len(rows),
        "median_ms": round(statistics.median(times) * 1000, 2),
        "min_ms": round(min(times) * 1000, 2),
        "p90_ms": round(sorted(times)[int(len(times) * 0.9)] * 1000, 2),
        "median_ms_x_axis_runtime": round(statistics.median(by_runtime) * 1000, 2),
    }


def _create_runs_fast(server: ServerProcess, project: str, count: int) -> None:
    """Inserts ``count`` finished runs straight into the database (the HTTP path is timed elsewhere)."""
    import sqlalchemy as sa

    from jupyter_tracker.server import json_values
    from jupyter_tracker.server import schema as t
    from jupyter_tracker.server.storage import open_storage

    storage = open_storage(server.db_url)
    try:
        storage.upsert_run("alice", project, "seed", {}, created_by="alice")
        with storage.write() as connection:
            project_id = connection.execute(sa.select(t.projects.c.id).where(t.projects.c.name == project)).scalar()
            rows = []
            now = time.time()
            for index in range(count):
                summary = {"acc": (index * 7919 % count) / count, "loss": 1.0 / (index + 1), "epoch": 10}
                config = {
                    "lr": 10 ** -(1 + index % 4),
                    "batch_size": 32 * (1 + index % 4),
                    "optimizer": "adam",
                    "model.layers": 1 + index % 8,
                    "model.width": 128,
                }
                rows.append(
                    {
                        "project_id": project_id,
                        "run_id": f"r{index:05d}",
                        "name": f"run-{index}",
                        "state": "finished" if index % 5 else "crashed",
                        "group_name": f"g{index % 10}",
                        "tags": json.dumps(["tuned"] if index % 2 else []),
                        "notes": None,
                        "job_type": "train",
                        "created": now - count + index,
                        "updated": now,
                        "runtime": 60.0,
                        "exit_code": 0,
                        "config": json_values.dumps(config),
                        "summary": json_values.dumps(summary),
                        "summary_manual": "{}",
                        "last_values": json_values.dumps(summary),
                        "extra": "{}",
                        "applied_seq": 100,
                        "history_rows": 100,
                        "created_by": "alice",
                        "version": 1,
                    }
                )
            for start in range(0, len(rows), 1000):
                connection.execute(sa.insert(t.runs), rows[start : start + 1000])
    finally:
        storage.close()


def bench_runs_query(server: ServerProcess, count: int = 10_000) -> dict[str, Any]:
    """Time of a filtered, ordered, paged runs query over ``count`` runs (first call and warm median)."""
    project = f"runs{time.time_ns()}"
    _create_runs_fast(server, project, count)
    params = {
        "filters": json.dumps({"$and": [{"config.lr": {"$lt": 0.05}}, {"state": "finished"}]}),
        "order": "-summary.acc",
        "per_page": 50,
    }
    with server.client(timeout=300) as client:
        url = f"/api/v1/projects/alice/{project}/runs"
        start = time.perf_counter()
        answer = client.get(url, params=params).json()
        first = time.perf_counter() - start
        assert len(answer["runs"]) == 50, answer
        repeated = _timed(lambda: client.get(url, params=params).raise_for_status(), 15)
        # a different filter each time: the project's runs are cached, the filtering and sorting are not
        thresholds = iter(0.05 + index * 1e-9 for index in range(1, 1000))  # never the first query's

        def new_filter() -> None:
            fresh = {
                **params,
                "filters": json.dumps({"$and": [{"config.lr": {"$lt": next(thresholds)}}, {"state": "finished"}]}),
            }
            client.get(url, params=fresh).raise_for_status()

        new_filters = _timed(new_filter, 15)
        orders = iter(["-summary.acc", "+summary.acc", "-summary.loss", "+config.lr", "-created"] * 3)
        new_orders = _timed(lambda: client.get(url, params={"order": next(orders)}).raise_for_status(), 15)
    return {
        "runs": count + 1,
        "matched": answer["total"],
        "first_ms_cold_process_cache": round(first * 1000, 1),
        "median_ms_new_filter": round(statistics.median(new_filters) * 1000, 1),
        "min_ms_new_filter": round(min(new_filters) * 1000, 1),
        "median_ms_new_order_no_filter": round(statistics.median(new_orders) * 1000, 1),
        "median_ms_repeated_query": round(statistics.median(repeated) * 1000, 1),
    }


def _median_of(runs: list[dict[str, Any]], name: str) -> float | None:
    values = [run[name] for run in runs if run.get(name) is not None]
    return round(statistics.median(values)) if values else None


def _summary(backend: str, runs_by_clients: dict[str, list[dict[str, Any]]], label: str) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for clients, name in (
        ("1", "ingest_1_client"),
        ("15", "ingest_15_clients"),
        ("15 client batches", "ingest_15_clients_client_batches"),
    ):
        runs = sorted(runs_by_clients[clients], key=lambda result: result["points_per_s"])
        found[name] = {
            **runs[len(runs) // 2],
            "points_per_s_each": [run["points_per_s"] for run in runs],
            "points_per_server_cpu_s_median": _median_of(runs, "points_per_server_cpu_s"),
            "load_average_each": [run["load_average_1min"] for run in runs],
        }
        print(label, backend, f"ingest, {clients} client(s), median of {len(runs)}:", found[name], flush=True)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="smaller ingest volumes (a smoke run)")
    parser.add_argument("--postgres-dsn", default=os.environ.get("JT_TEST_POSTGRES_DSN"))
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes of each server")
    parser.add_argument("--before", default="", help="git revision whose server runs beside this checkout's")
    parser.add_argument("--repetitions", type=int, default=None, help="ingest repetitions (default 5, 1 with --quick)")
    parser.add_argument("--ingest-only", action="store_true", help="skip the history and runs query benchmarks")
    parser.add_argument("--output", default=str(ROOT / "bench" / "out" / "bench_server.json"))
    options = parser.parse_args()
    backends = ["sqlite"] + (["postgresql"] if options.postgres_dsn else [])
    batches_one, batches_many = (5, 1) if options.quick else (20, 3)
    results: dict[str, Any] = {
        "machine_cpus": os.cpu_count(),
        "workers": options.workers,
        "before": options.before or None,
        "load_average_before": os.getloadavg(),
        "backends": {},
    }
    repetitions = options.repetitions or (1 if options.quick else 5)
    with tempfile.TemporaryDirectory(prefix="jt-bench-server-") as directory, contextlib.ExitStack() as stack:
        trees: list[tuple[str, Path | None]] = [("this checkout", None)]
        if options.before:
            trees.append((f"before ({options.before})", _export_revision(options.before, Path(directory) / "before")))
        servers = {
            (label, backend): stack.enter_context(
                _server(Path(directory) / str(index), backend, options.postgres_dsn, options.workers, tree)
            )
            for index, (label, tree) in enumerate(trees)
            for backend in backends
        }
        ingest: dict[tuple[str, str], dict[str, list[dict[str, Any]]]] = {
            key: {"1": [], "15": [], "15 client batches": []} for key in servers
        }
        for number in range(repetitions):  # interleaved, so a change in the machine's load hits every figure alike
            order = list(servers.items()) if number % 2 == 0 else list(reversed(servers.items()))
            for key, server in order:
                ingest[key]["1"].append(bench_ingest(server, 1, batches_one))
                ingest[key]["15"].append(bench_ingest(server, 15, batches_many))
                ingest[key]["15 client batches"].append(bench_ingest(server, 15, batches_many, "client"))
        for (label, backend), server in servers.items():
            found = _summary(backend, ingest[(label, backend)], label)
            if not options.ingest_only:
                found["history_100k_to_1500"] = bench_history(server)
                print(label, backend, "history 100,000 -> 1,500:", found["history_100k_to_1500"], flush=True)
                found["runs_query_10k"] = bench_runs_query(server)
                print(label, backend, "runs query at 10,000 runs:", found["runs_query_10k"], flush=True)
            if label == trees[0][0]:
                results["backends"][backend] = found
            else:
                results.setdefault("before_backends", {})[backend] = found
    sqlite = results["backends"]["sqlite"]
    results["targets"] = {}
    if not options.ingest_only:
        results["targets"]["history_downsample_sqlite_le_50ms"] = sqlite["history_100k_to_1500"]["median_ms"] <= 50
    ingest_goals = {"sqlite": 500_000, "postgresql": 1_000_000}  # points/s with 15 clients (issue 14)
    for backend, found in results["backends"].items():
        results["targets"][f"ingest_15_clients_{backend}_ge_{ingest_goals[backend]}"] = (
            found["ingest_15_clients"]["points_per_s"] >= ingest_goals[backend]
        )
        for limit_ms in (200, 100) if "runs_query_10k" in found else ():
            results["targets"][f"runs_query_10k_{backend}_le_{limit_ms}ms"] = (
                found["runs_query_10k"]["median_ms_new_filter"] <= limit_ms
            )
    results["load_average_after"] = os.getloadavg()
    _print_table(results)
    print(
        "targets:",
        results["targets"],
        "load average before/after:",
        results["load_average_before"],
        results["load_average_after"],
    )
    output = Path(options.output)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(results, indent=2))
    print(f"written to {output}")


def _print_table(results: dict[str, Any]) -> None:
    """One line per backend and code tree: the medians the targets are about."""
    print(f"{'tree':<22} {'backend':<11} {'1 client pts/s':>15} {'15 clients pts/s':>17} "
          f"{'15: pts/server CPU s':>21} {'15 client batches':>18} {'its pts/CPU s':>14} {'runs query ms':>14}")
    for label, backends in (("this checkout", results["backends"]), ("before", results.get("before_backends", {}))):
        for backend, found in backends.items():
            print(
                f"{label:<22} {backend:<11} {found['ingest_1_client']['points_per_s']:>15,} "
                f"{found['ingest_15_clients']['points_per_s']:>17,} "
                f"{found['ingest_15_clients']['points_per_server_cpu_s_median'] or 0:>21,} "
                f"{found['ingest_15_clients_client_batches']['points_per_s']:>18,} "
                f"{found['ingest_15_clients_client_batches']['points_per_server_cpu_s_median'] or 0:>14,} "
                f"{found['runs_query_10k']['median_ms_new_filter'] if 'runs_query_10k' in found else '-':>14}"
            )


if __name__ == "__main__":
    main()
