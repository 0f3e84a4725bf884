"""Times the local ``Api``: ``runs()`` over a 10,000-run project and ``history()`` of a 100,000-step run.

    .venv/bin/python bench/bench_api_local.py [--runs 10000] [--steps 100000] [--keep DIR]

The 10,000 runs are made fast: one index row each (written in one transaction) and a minimal
run log (a run record and a finish record), so the index and the directories agree and the
first query has nothing to rebuild. The long run is a real tracked run (``init``/``log``/``finish``).
Every figure is the best of a few repeats, in milliseconds; nothing here is part of the test suite.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


#: CPU time of the last best_ms call's best repeat (this process and its children), in ms
last_cpu_ms = 0.0


def _cpu_seconds() -> float:
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def best_ms(action: Callable[[], Any], repeats: int = 5) -> tuple[float, Any]:
    """Best wall time of ``repeats`` calls, in ms, and the last result (CPU time in ``last_cpu_ms``).

    CPU time is printed too: on a shared, busy machine it moves less than wall time.
    """
    global last_cpu_ms
    best = best_cpu = float("inf")
    result = None
    for _ in range(repeats):
        start, cpu_start = time.perf_counter(), _cpu_seconds()
        result = action()
        best = min(best, (time.perf_counter() - start) * 1000)
        best_cpu = min(best_cpu, (_cpu_seconds() - cpu_start) * 1000)
    last_cpu_ms = best_cpu
    return best, result


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--steps", type=int, default=100_000)
    parser.add_argument("--keep", type=Path, default=None, help="build the store here and keep it")
    options = parser.parse_args()
    os.environ["WANDB_SILENT"] = "true"
    os.environ.pop("WANDB_BASE_URL", None)
    work = options.keep or Path(tempfile.mkdtemp(prefix="jt-bench-api-"))
    root = work / "jupyter_tracker"
    os.environ["WANDB_DIR"] = str(work)

    from jupyter_tracker.api import Api

    print(f"store: {root}")
    made_ms = make_many_runs(root, "many", options.runs)
    print(f"made {options.runs:,} runs (index rows + minimal logs) in {made_ms:,.0f} ms")
    run_id, long_ms = make_long_run(root, "long", options.steps)
    print(f"made a {options.steps:,}-step run in {long_ms:,.0f} ms\n")

    figures: list[tuple[str, float, str]] = []

    print(f"{'':<58} {'wall':>9}     {'cpu':>9}")

    def record(label: str, ms: float, note: str = "") -> None:
        figures.append((label, ms, note))
        print(f"{label:<58} {ms:>9.1f} ms  {last_cpu_ms:>9.1f} ms  {note}")

    first_ms, runs = best_ms(lambda: len(Api().runs("many")), repeats=1)
    record(f"Api().runs('many') first query, {options.runs:,} runs", first_ms, f"{runs:,} runs (incl. index scan)")
    api = Api()
    ms, count = best_ms(lambda: len(api.runs("many")))
    record("runs('many'), len()", ms, f"{count:,} runs")
    ms, first = best_ms(lambda: api.runs("many", order="-summary.acc")[0])
    record("runs(order='-summary.acc')[0]", ms, first.id)
    query = {"group": "exp-7", "config.lr": {"$lt": 0.01}}
    ms, count = best_ms(lambda: len(api.runs("many", filters=query, order="-summary.acc")))
    record("runs(filters={group, config.lr $lt}, order=-summary.acc)", ms, f"{count} runs")
    ms, count = best_ms(lambda: len(Api().runs("many", filters={"group": "exp-7", "config.lr": {"$lt": 0.01}},
                                                 order="-summary.acc")))
    record("fresh Api().runs(filters={group, config.lr $lt}, order=...)", ms, f"{count} runs")
    query = {"$or": [{"tags": "t3"}, {"summary_metrics.acc": {"$gte": 0.9}}], "config.opt.value.name": {"$regex": "^ad"}}
    ms, count = best_ms(lambda: len(api.runs("many", filters=query)))
    record("runs(filters={$or tags/summary, $regex})", ms, f"{count} runs")
    ms, total = best_ms(lambda: sum(1 for run in api.runs("many", per_page=50) for _ in [run.summary]), repeats=3)
    record("iterate all runs and read .summary (per_page=50)", ms, f"{total:,} runs")
    ms, found = best_ms(lambda: api.run(f"many/b{options.runs // 2:07d}").summary["acc"])
    record("Api().run('many/<id>').summary", ms)

    run_path = f"long/{run_id}"
    ms, frame = best_ms(lambda: api.run(run_path).history(), repeats=3)
    record(f"history() of a {options.steps:,}-step run (500 samples)", ms, f"{frame.shape[0]} rows x {frame.shape[1]} cols")
    ms, frame = best_ms(lambda: api.run(run_path).history(keys=["val/acc"]), repeats=3)
    record("history(keys=['val/acc'])", ms, f"{frame.shape[0]} rows")
    ms, rows = best_ms(lambda: sum(1 for _ in api.run(run_path).scan_history()), repeats=3)
    record("scan_history(), every row", ms, f"{rows:,} rows")
    ms, rows = best_ms(lambda: len(api.run(run_path).history(samples=options.steps, pandas=False)), repeats=3)
    record(f"history(samples={options.steps:,}, pandas=False)", ms, f"{rows:,} rows")

    cli = Path(sys.executable).with_name("jupyter-tracker")
    if cli.exists():
        env = dict(os.environ)
        ms, _ = best_ms(lambda: subprocess.run([str(cli), "ls", "--project", "many"], env=env, check=True,
                                               stdout=subprocess.DEVNULL), repeats=3)
        record(f"jupyter-tracker ls --project many ({options.runs:,} runs, process)", ms)
        out = work / "export.csv"
        ms, _ = best_ms(lambda: subprocess.run([str(cli), "export", run_path, "-o", str(out)], env=env, check=True,
                                               stdout=subprocess.DEVNULL), repeats=1)
        record(f"jupyter-tracker export ({options.steps:,} rows to CSV, process)", ms)
    if options.keep is None:
        import shutil

        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
