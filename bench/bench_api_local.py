"""Times the local ``Api`` read-back (issue 14): ``history()`` and ``scan_history()`` of a 100,000-step run,
``Api().runs()`` over a 10,000-run project; before and after, interleaved, and the same history from the server.

    .venv/bin/python bench/bench_api_local.py [--runs 10000] [--steps 100000] [--rounds 7]
                                              [--before 7886f64] [--figures NAME ...] [--no-server] [--cli] [--keep DIR]

The 10,000 runs are made fast: one index row each (written in one transaction) and a minimal
run log (a run record and a finish record), so the index and the directories agree and the
first query has nothing to rebuild. The long run is a real tracked run (``init``/``log``/``finish``).

Each code tree (this checkout, and ``--before``: a git revision exported to a temp dir, by default
the commit before issue 14's read-back work) runs in a worker process of its own over the same
store. After one warm-up call of each figure, the rounds ask the workers in turn (the order flips
every round), one call at a time, so that both meet the same load; a figure is the median of the
rounds, wall and CPU time, in ms. The load average is printed before and after. With the server
(not ``--no-server``), the long run's log is posted to a real ``jupyter-tracker server`` (SQLite)
on loopback and read back through ``Api`` with that server as its backend. Nothing here is part
of the test suite.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
#: the last commit before issue 14's read-back work (sampled decoding, SQL-side run filters)
BEFORE_REVISION = "7886f64"
#: issue 14's targets, in ms of wall time
TARGETS = {"history": 150.0, "scan_history": 250.0, "runs_filter_order_fresh": 100.0}


def _cpu_seconds() -> float:
    return time.process_time()


def make_many_runs(root: Path, project: str, count: int) -> float:
    """``count`` finished runs with config and summary: index rows plus minimal run logs."""
    from jupyter_tracker.store import index as index_module
    from jupyter_tracker.store import records
    from jupyter_tracker.store.index import RunIndex, index_values
    from jupyter_tracker.store.run_dir import RUN_LOG_NAME, run_dir_name

    start = time.perf_counter()
    rng = random.Random(0)
    pack = records.make_packer()
    index = RunIndex(root)
    rows = []
    created0 = time.time() - count
    for number in range(count):
        run_id = f"b{number:07d}"
        created = created0 + number
        metadata = {
            "id": run_id, "name": f"bench-run-{number}", "project": project, "entity": None,
            "group": f"exp-{number % 50}", "job_type": "train", "tags": ["bench", f"t{number % 7}"],
            "notes": None, "created": created, "host": "bench", "pid": 0,
        }
        config = {"lr": rng.choice([0.1, 0.03, 0.01, 0.003, 0.001]), "batch_size": rng.choice([32, 64, 128]),
                  "opt.name": rng.choice(["adam", "sgd"])}
        summary = {"loss": rng.random(), "acc": rng.random(), "epoch": 10}
        run_dir = root / run_dir_name(run_id, created)
        run_dir.mkdir(parents=True)
        finish = {"state": "finished", "exit_code": 0, "runtime": 60.0, "summary": summary, "time": created + 60}
        frame = records.encode_frame(1, [(records.RUN, metadata), (records.CONFIG, config), (records.FINISH, finish)], pack)
        (run_dir / RUN_LOG_NAME).write_bytes(records.MAGIC + frame)
        rows.append(index_values(metadata, "finished", config, summary, 60.0, 0, run_dir))
    # one transaction for all rows: upsert() opens a connection per row, fine for runs, slow for 10,000
    columns = index_module._COLUMNS
    with index._connect() as connection:
        connection.executemany(
            f"INSERT OR REPLACE INTO runs ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)})",
            [
                tuple(index_module._to_json(row.get(column)) if column in index_module._JSON_COLUMNS
                      else row.get(column) for column in columns)
                for row in rows
            ],
        )
    return (time.perf_counter() - start) * 1000


def make_long_run(root: Path, project: str, steps: int) -> tuple[str, float]:
    """A real tracked run of ``steps`` steps (10 metrics every step, val/acc every 100)."""
    import jupyter_tracker as jt

    start = time.perf_counter()
    run = jt.init(project=project, dir=str(root.parent), mode="offline", config={"lr": 0.01},
                  settings={"console": "off"})
    for step in range(steps):
        row = {"loss": 1.0 / (step + 1), "acc": step / steps, "lr": 0.01, "grad_norm": step * 1e-3,
               "val_loss": 2.0, "epoch": step // 1000, "throughput": 1e3, "gpu_mem": 0.5, "temp": 60.0,
               "tokens": step * 512.0}
        if step % 100 == 0:
            row["val/acc"] = step / steps
        run.log(row)
    jt.finish(quiet=True)
    return run.id, (time.perf_counter() - start) * 1000



#: the figures every worker measures: name -> (label, call on (Api class, run path, steps))
FIGURES: dict[str, str] = {
    "history": "history() of the long run (500 samples, DataFrame)",
    "scan_history": "scan_history(), every row",
    "runs_filter_order_fresh": "fresh Api().runs(filters={group, config.lr $lt}, order=-summary.acc)",
    "history_keys": "history(keys=['val/acc'])",
    "scan_history_keys": "scan_history(keys=['val/acc']) (1 row in 100)",
    "history_all_rows": "history(samples=<steps>, pandas=False)",
    "runs_len_fresh": "fresh Api().runs('many'), len()",
    "runs_order": "runs(order='-summary.acc')[0] (same Api)",
    "runs_or_regex": "runs(filters={$or tags/summary, $regex}) (same Api)",
}


def _figure_calls(api_class: Any, run_path: str, steps: int) -> dict[str, Callable[[], str]]:
    """One call per figure; each returns a note (rows or runs it got)."""
    api = api_class()
    query = {"group": "exp-7", "config.lr": {"$lt": 0.01}}
    regex = {"$or": [{"tags": "t3"}, {"summary_metrics.acc": {"$gte": 0.9}}], "config.opt.value.name": {"$regex": "^ad"}}

    def history() -> str:
        frame = api.run(run_path).history()
        return f"{frame.shape[0]} rows x {frame.shape[1]} cols"

    def runs_filter_order_fresh() -> str:
        return f"{len(api_class().runs('many', filters=query, order='-summary.acc'))} runs"

    return {
        "history": history,
        "scan_history": lambda: f"{sum(1 for _ in api.run(run_path).scan_history()):,} rows",
        "runs_filter_order_fresh": runs_filter_order_fresh,
        "history_keys": lambda: f"{len(api.run(run_path).history(keys=['val/acc']))} rows",
        "scan_history_keys": lambda: f"{sum(1 for _ in api.run(run_path).scan_history(keys=['val/acc'])):,} rows",
        "history_all_rows": lambda: f"{len(api.run(run_path).history(samples=steps, pandas=False)):,} rows",
        "runs_len_fresh": lambda: f"{len(api_class().runs('many')):,} runs",
        "runs_order": lambda: api.runs("many", order="-summary.acc")[0].id,
        "runs_or_regex": lambda: f"{len(api.runs('many', filters=regex))} runs",
    }


def worker(code: Path, run_path: str, steps: int) -> None:
    """Measures figures asked for on stdin (one name a line) with the package found in ``code``."""
    sys.path.insert(0, str(code))
    from jupyter_tracker.api import Api

    calls = _figure_calls(Api, run_path, steps)
    for line in sys.stdin:
        name = line.strip()
        try:
            start, cpu_start = time.perf_counter(), _cpu_seconds()
            note = calls[name]()
            answer = {"wall_ms": (time.perf_counter() - start) * 1000, "cpu_ms": (_cpu_seconds() - cpu_start) * 1000,
                      "note": note}
        except Exception as error:  # an old tree that cannot read this store: said, not fatal
            answer = {"error": f"{type(error).__name__}: {error}"}
        print(json.dumps(answer), flush=True)


class Worker:
    """A worker process for one code tree, asked for one figure at a time."""

    def __init__(self, label: str, code: Path, run_path: str, steps: int, env: dict[str, str]) -> None:
        self.label = label
        self.process = subprocess.Popen(
            [sys.executable, __file__, "--worker", str(code), "--run-path", run_path, "--steps", str(steps)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env, cwd=str(code),
        )

    def measure(self, name: str) -> dict[str, Any]:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(name + "\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        return json.loads(line) if line else {"error": "the worker ended"}

    def close(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        self.process.wait(timeout=60)


def export_revision(revision: str, into: Path) -> Path:
    """The package as it was at ``revision`` (``git archive``), for the "before" worker."""
    into.mkdir(parents=True, exist_ok=True)
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", revision, "jupyter_tracker"],
                             check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into


def interleaved(workers: list[Worker], names: list[str], rounds: int) -> dict[tuple[str, str], list[dict[str, Any]]]:
    """Every figure of every worker: one warm-up call, then ``rounds`` calls, workers taking turns."""
    found: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for name in names:
        for item in workers:
            item.measure(name)
    for number in range(rounds):
        order = workers if number % 2 == 0 else list(reversed(workers))
        for name in names:
            for item in order:
                found.setdefault((item.label, name), []).append(item.measure(name))
    return found


def median_of(samples: list[dict[str, Any]], field: str) -> float | None:
    values = [sample[field] for sample in samples if field in sample]
    return statistics.median(values) if values else None


def remote_history(work: Path, run_dir: Path, project: str, run_id: str, steps: int, rounds: int) -> list[tuple[str, float, float, str]]:
    """The long run posted to a real server (SQLite, loopback) and read back through ``Api``: medians in ms."""
    sys.path.insert(0, str(ROOT))
    from jupyter_tracker.api import Api
    from jupyter_tracker.store import records
    from jupyter_tracker.store.run_dir import RUN_LOG_NAME
    from tests.integration.server_fixtures import MSGPACK_HEADERS, start_server

    figures = []
    with start_server(work / "server", rate_limit="100000000/minute") as server:
        with server.client(timeout=300) as client:
            client.put(f"/api/v1/runs/{server.username}/{project}/{run_id}", json={"metadata": {}}).raise_for_status()
            payloads = records.intact_payloads((run_dir / RUN_LOG_NAME).read_bytes())
            assert payloads is not None
            start = time.perf_counter()
            for payload in payloads:
                client.post(f"/api/v1/runs/{server.username}/{project}/{run_id}/records", content=payload,
                            headers=MSGPACK_HEADERS).raise_for_status()
            posted_ms = (time.perf_counter() - start) * 1000
        api = Api(overrides={"base_url": server.base_url}, api_key=server.api_key)
        path = f"{server.username}/{project}/{run_id}"
        calls = {
            "history() via the server (500 samples, DataFrame)": lambda: f"{len(api.run(path).history())} rows",
            "history(keys=['val/acc']) via the server": lambda: f"{len(api.run(path).history(keys=['val/acc']))} rows",
            "scan_history() via the server, every row": lambda: f"{sum(1 for _ in api.run(path).scan_history()):,} rows",
        }
        for label, call in calls.items():
            call()
            walls, cpus, note = [], [], ""
            for _ in range(rounds):
                start, cpu_start = time.perf_counter(), _cpu_seconds()
                note = call()
                walls.append((time.perf_counter() - start) * 1000)
                cpus.append((_cpu_seconds() - cpu_start) * 1000)
            figures.append((label, statistics.median(walls), statistics.median(cpus), note))
        figures.append((f"(posting the {steps:,}-step log to the server, {len(payloads)} batches)", posted_ms, 0.0, ""))
    return figures


def best_ms(action: Callable[[], Any], repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        action()
        best = min(best, (time.perf_counter() - start) * 1000)
    return best


def _load() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--steps", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=7, help="interleaved repetitions per figure (median)")
    parser.add_argument("--before", default=BEFORE_REVISION, help="git revision to compare with ('' for none)")
    parser.add_argument("--figures", nargs="+", choices=list(FIGURES), default=list(FIGURES), metavar="NAME",
                        help=f"only these figures (of: {', '.join(FIGURES)})")
    parser.add_argument("--no-server", action="store_true", help="skip the history read through the server")
    parser.add_argument("--cli", action="store_true", help="also time jupyter-tracker ls / export (processes)")
    parser.add_argument("--keep", type=Path, default=None, help="build the store here and keep it")
    parser.add_argument("--worker", type=Path, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--run-path", default="", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.worker is not None:
        worker(options.worker, options.run_path, options.steps)
        return
    os.environ["WANDB_SILENT"] = "true"
    os.environ.pop("WANDB_BASE_URL", None)
    work = options.keep or Path(tempfile.mkdtemp(prefix="jt-bench-api-"))
    root = work / "jupyter_tracker"
    os.environ["WANDB_DIR"] = str(work)
    sys.path.insert(0, str(ROOT))

    print(f"store: {root}")
    print(f"load average at start: {_load()}")
    made_ms = make_many_runs(root, "many", options.runs)
    print(f"made {options.runs:,} runs (index rows + minimal logs) in {made_ms:,.0f} ms")
    run_id, long_ms = make_long_run(root, "long", options.steps)
    print(f"made a {options.steps:,}-step run in {long_ms:,.0f} ms")
    run_path = f"long/{run_id}"

    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    trees = [("after", ROOT)]
    if options.before:
        trees.append((f"before ({options.before})", export_revision(options.before, work / "before")))
    workers = [Worker(label, code, run_path, options.steps, env) for label, code in trees]
    names = list(options.figures)
    try:
        found = interleaved(workers, names, options.rounds)
    finally:
        for item in workers:
            item.close()
    print(f"\nmedians of {options.rounds} interleaved rounds; load average after: {_load()}")
    labels = [item.label for item in workers]
    print(f"{'':<72}" + "".join(f"{label + ' wall':>22}{'cpu':>11}" for label in labels) + "  target")
    for name in names:
        cells = ""
        note = ""
        for label in labels:
            samples = found[(label, name)]
            wall, cpu = median_of(samples, "wall_ms"), median_of(samples, "cpu_ms")
            if wall is None or cpu is None:
                error = next((sample["error"] for sample in samples if "error" in sample), "no figure")
                cells += f"{'n/a':>22}{'':>11}"
                note += f" [{label}: {error[:80]}]"
            else:
                cells += f"{wall:>19.1f} ms{cpu:>8.1f} ms"
                note = note or next((sample["note"] for sample in samples if "note" in sample), "")
        target = TARGETS.get(name)
        verdict = ""
        if target is not None:
            wall = median_of(found[("after", name)], "wall_ms")
            verdict = f"<= {target:.0f} ms {'met' if wall is not None and wall <= target else 'MISSED'}"
        print(f"{FIGURES[name].replace('<steps>', f'{options.steps:,}'):<72}{cells}  {verdict}  {note}")

    if not options.no_server:
        print(f"\nthrough the tracking server (SQLite, loopback), this checkout; load average: {_load()}")
        for label, wall, cpu, note in remote_history(work, Path(next(root.glob(f"run-*-{run_id}"))), "long", run_id,
                                                    options.steps, options.rounds):
            print(f"{label:<72}{wall:>19.1f} ms{cpu:>8.1f} ms  {note}")

    if options.cli:
        cli = Path(sys.executable).with_name("jupyter-tracker")
        if cli.exists():
            ms = best_ms(lambda: subprocess.run([str(cli), "ls", "--project", "many"], env=env, check=True,
                                                stdout=subprocess.DEVNULL), repeats=3)
            print(f"{f'jupyter-tracker ls --project many ({options.runs:,} runs, process, best of 3)':<72}{ms:>19.1f} ms")
            out = work / "export.csv"
            ms = best_ms(lambda: subprocess.run([str(cli), "export", run_path, "-o", str(out)], env=env, check=True,
                                                stdout=subprocess.DEVNULL), repeats=1)
            print(f"{f'jupyter-tracker export ({options.steps:,} rows to CSV, process)':<72}{ms:>19.1f} ms")
    print(f"load average at the end: {_load()}")
    if options.keep is None:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
