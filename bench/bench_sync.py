"""Sync benchmark: sync lag (``log()`` to visible on the server) and ``log()`` latency with the sync thread on vs offline.

Starts a real ``jupyter-tracker server`` (SQLite, temp dir, loopback) and runs every measurement
in a fresh child process:

* **sync lag**: a run logs 10 scalars per step at a steady rate (``--rate`` steps/s for
  ``--seconds``); the parent polls the server's ``scan_history`` every 50 ms and, for every step,
  takes the time it first appears minus the time ``log()`` returned for it. Reported for the
  default sync interval (5 s) and for 1 s.
* **log() latency**: the timed loop of ``bench_log.py`` (20,000 steps x 10 scalars, each call
  timed alone) in an offline run and in an online run whose sync thread uploads at a 1 s
  interval (more often than the default, to load the comparison against us). Target: the
  online p50 at most 20% above the offline p50. Each mode runs ``--repeats`` times, interleaved,
  and the medians of the per-child p50s are compared.

    .venv/bin/python bench/bench_sync.py            # ~2 minutes
    .venv/bin/python bench/bench_sync.py --quick    # smoke run
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(BENCH_DIR))

from common import OUT_DIR, percentile  # noqa: E402

#: the target of issue 4: the sync thread raises log()'s p50 by at most 20%
P50_BUDGET = 1.20

LAG_CHILD = r"""
import json, sys, time
import jupyter_tracker as jt
rate, seconds, interval = float(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3])
run = jt.init(project="lag", settings={"sync_interval": interval, "console": "off", "sync_unsynced_on_init": False})
print(json.dumps({"run_id": run.id}), flush=True)
keys = [f"m{i}" for i in range(10)]
times = []
start = time.perf_counter()
step = 0
while time.perf_counter() - start < seconds:
    due = start + step / rate
    pause = due - time.perf_counter()
    if pause > 0:
        time.sleep(pause)
    run.log({key: step * 0.001 for key in keys})
    times.append(time.time())
    step += 1
run.finish()
print(json.dumps({"times": times}), flush=True)
"""

LATENCY_CHILD = r"""
import array, gc, json, sys, time
sys.path.insert(0, sys.argv[3])
from common import TEN_KEYS, percentile, row_maker
import jupyter_tracker as jt
mode, steps = sys.argv[1], int(sys.argv[2])
run = jt.init(project="latency", mode=mode, settings={"sync_interval": 1.0, "console": "off",
                                                      "sync_unsynced_on_init": False})
make = row_maker(TEN_KEYS)
log = jt.log
log(make(0))
latencies = array.array("q", bytes(8 * steps))
clock = time.perf_counter_ns
gc.collect()
loop_start = time.perf_counter()
for step in range(1, steps + 1):
    row = make(step)
    before = clock()
    log(row)
    latencies[step - 1] = clock() - before
    if step % 2000 == 0:
        time.sleep(0.05)  # a training step's worth of other work: lets the writer and the sync thread run
loop_s = time.perf_counter() - loop_start
import threading
sync_threads = [thread.name for thread in threading.enumerate() if thread.name.startswith("jt-sync-")]
finish_start = time.perf_counter()
run.finish()
ordered = sorted(latencies)
print(json.dumps({"p50_us": percentile(ordered, 0.5) / 1000, "p99_us": percentile(ordered, 0.99) / 1000,
                  "max_us": ordered[-1] / 1000, "loop_s": loop_s, "finish_s": time.perf_counter() - finish_start,
                  "sync_threads": sync_threads}), flush=True)
"""


def child_environment(server: Any, workdir: Path, online: bool) -> dict[str, str]:
    environment = dict(
        os.environ,
        WANDB_DIR=str(workdir),
        JUPYTER_TRACKER_HOME=str(workdir / "home"),
        PYTHONPATH=str(ROOT),
        WANDB_SILENT="true",
        JUPYTER_TRACKER_DISABLE_SYSTEM_METRICS="true",
        WANDB_DISABLE_CODE="true",
    )
    environment.pop("WANDB_MODE", None)
    if online:
        environment.update(WANDB_BASE_URL=server.base_url, WANDB_API_KEY=server.api_key)
    else:
        environment.pop("WANDB_BASE_URL", None)
        environment.pop("WANDB_API_KEY", None)
    return environment


def measure_lag(server: Any, workdir: Path, rate: float, seconds: float, interval: float) -> dict[str, Any]:
    import httpx

    child = subprocess.Popen(
        [sys.executable, "-c", LAG_CHILD, str(rate), str(seconds), str(interval)],
        env=child_environment(server, workdir, online=True),
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    run_id = json.loads(child.stdout.readline())["run_id"]
    seen: dict[int, float] = {}
    stop = threading.Event()

    def poll() -> None:
        next_step = 0
        with httpx.Client(base_url=server.base_url, headers=server.headers, timeout=10) as client:
            while not stop.is_set():
                response = client.get(
                    f"/api/v1/runs/{server.username}/lag/{run_id}/scan_history",
                    params={"min_step": next_step, "page_size": 10_000, "keys": "m0"},
                )
                now = time.time()
                if response.status_code == 200:
                    for row in response.json()["rows"]:
                        seen.setdefault(int(row["_step"]), now)
                        next_step = max(next_step, int(row["_step"]) + 1)
                stop.wait(0.05)

    poller = threading.Thread(target=poll, daemon=True)
    poller.start()
    times = json.loads(child.stdout.readline())["times"]
    child.wait(timeout=120)
    deadline = time.monotonic() + 60
    while len(seen) < len(times) and time.monotonic() < deadline:
        time.sleep(0.05)
    stop.set()
    poller.join(5)
    # the steps logged before finish(): finish() uploads at once, which would flatter the lag
    steady = [
        seen[step] - logged for step, logged in enumerate(times) if step in seen and logged < times[-1] - interval - 1
    ]
    ordered = sorted(steady)
    return {
        "interval_s": interval,
        "rate_steps_per_s": rate,
        "seconds": seconds,
        "steps": len(times),
        "visible": len(seen),
        "lag_p50_s": percentile(ordered, 0.5),
        "lag_p95_s": percentile(ordered, 0.95),
        "lag_max_s": ordered[-1] if ordered else float("nan"),
    }


def measure_latency(server: Any, workdir: Path, mode: str, steps: int) -> dict[str, Any]:
    completed = subprocess.run(
        [sys.executable, "-c", LATENCY_CHILD, mode, str(steps), str(BENCH_DIR)],
        env=child_environment(server, workdir, online=mode == "online"),
        capture_output=True,
        text=True,
        timeout=600,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"latency child ({mode}) failed:\n{completed.stderr[-3000:]}")
    return json.loads(completed.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="short runs: a smoke test, figures not judged")
    parser.add_argument("--rate", type=float, default=200.0, help="steps per second in the lag run")
    parser.add_argument("--seconds", type=float, default=20.0, help="length of each lag run")
    parser.add_argument("--steps", type=int, default=20_000, help="timed log() calls per latency child")
    parser.add_argument("--repeats", type=int, default=5, help="latency children per mode")
    arguments = parser.parse_args()
    if arguments.quick:
        arguments.seconds, arguments.steps, arguments.repeats = 8.0, 4000, 2

    from tests.integration.server_fixtures import start_server

    results: dict[str, Any] = {"python": sys.version.split()[0], "cpus": os.cpu_count()}
    with tempfile.TemporaryDirectory(prefix="jt-bench-sync-") as temporary:
        workdir = Path(temporary)
        with start_server(workdir / "server", rate_limit="1000000/minute") as server:
            results["lag"] = [
                measure_lag(server, workdir / f"lag-{interval:g}", arguments.rate, arguments.seconds, interval)
                for interval in (5.0, 1.0)
            ]
            runs: dict[str, list[dict[str, Any]]] = {"offline": [], "online": []}
            for repeat in range(arguments.repeats):
                for mode in ("offline", "online"):
                    runs[mode].append(
                        measure_latency(server, workdir / f"latency-{mode}-{repeat}", mode, arguments.steps)
                    )
    p50 = {mode: statistics.median(run["p50_us"] for run in values) for mode, values in runs.items()}
    p99 = {mode: statistics.median(run["p99_us"] for run in values) for mode, values in runs.items()}
    ratio = p50["online"] / p50["offline"]
    results["latency"] = {
        "runs": runs,
        "p50_us": p50,
        "p99_us": p99,
        "online_over_offline_p50": ratio,
        "steps": arguments.steps,
        "repeats": arguments.repeats,
    }
    verdict = "PASS" if ratio <= P50_BUDGET else "FAIL"
    results["target"] = {"p50_budget": P50_BUDGET, "verdict": verdict if not arguments.quick else "not judged"}

    print("sync lag (log() returned -> row visible on the server), 10 scalars per step:")
    for lag in results["lag"]:
        print(
            f"  interval {lag['interval_s']:>4g} s, {lag['rate_steps_per_s']:g} steps/s: "
            f"p50 {lag['lag_p50_s']:.2f} s, p95 {lag['lag_p95_s']:.2f} s, max {lag['lag_max_s']:.2f} s "
            f"({lag['visible']}/{lag['steps']} steps seen)"
        )
    print(f"log() latency, {arguments.steps:,} steps x 10 scalars, median of {arguments.repeats} children:")
    for mode in ("offline", "online"):
        print(f"  {mode:>7}: p50 {p50[mode]:.2f} us, p99 {p99[mode]:.2f} us")
    print(f"  online/offline p50: {ratio:.3f} (budget {P50_BUDGET:.2f}): {results['target']['verdict']}")
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    (OUT_DIR / "sync-latest.json").write_text(json.dumps(results, indent=1))
    return 0 if arguments.quick or verdict == "PASS" else 1


if __name__ == "__main__":
    sys.exit(main())
