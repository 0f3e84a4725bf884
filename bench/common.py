"""Shared pieces of the logging benchmark: workloads, the timed loop run in each child, RSS, stats.

Every library runs in a child process of its own (``bench_log.py --child``), so peak RSS and
import state are its own. The child imports the library's adapter from ``bench/peers/``; an
adapter is a small module with four functions:

``load()``
    imports the library and returns the module (timed as the child's import time);
``start(lib, workdir, project, name)``
    starts a run in its local/offline mode under ``workdir`` and returns a handle (timed: init);
``logger(handle)``
    returns the one call the loop times per step: ``log(row, step)`` when the module sets
    ``STEP_ARG = True`` (libraries that need the step from the caller), else ``log(row)``;
``finish(handle)``
    ends the run and flushes everything the library keeps (timed: finish).
"""

from __future__ import annotations

import array
import gc
import importlib
import json
import os
import resource
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
OUT_DIR = BENCH_DIR / "out"

#: library name -> adapter module under bench/peers/ (ours first, then the raw-write references:
#: one thread appending struct-packed or msgpack rows to a file, one fsync at the end; the rest are the peers)
LIBRARIES = {
    "jupyter_tracker": "jupyter_tracker_adapter",
    "raw-struct": "raw_struct_adapter",
    "raw-msgpack": "raw_msgpack_adapter",
    "wandb": "wandb_adapter",
    "mlflow": "mlflow_adapter",
    "trackio": "trackio_adapter",
    "tensorboardX": "tensorboardx_adapter",
}
OURS = "jupyter_tracker"
#: another version of jupyter_tracker (``bench_log.py --baseline DIR``): run only when asked for
BASELINE = "jupyter_tracker@base"
ON_REQUEST = {BASELINE: "jupyter_tracker_base_adapter"}
#: references rather than libraries: they are measured in every run, like the peers
RAW_REFERENCES = ("raw-struct", "raw-msgpack")

#: every 1,024 steps the loop checks its time budget; every 16,384 it samples the current RSS
#: (reading /proc costs tens of us; ru_maxrss catches any peak between two samples)
CHECK_MASK = 1023
RSS_SAMPLE_MASK = 16383

#: the ten metric names of workload "10 scalars"
TEN_KEYS = ("loss", "acc", "lr", "grad_norm", "val_loss", "val_acc", "epoch", "throughput", "gpu_mem", "temp")


@dataclass(frozen=True)
class Workload:
    """One timed loop: ``steps`` log calls of ``keys`` float scalars each."""

    name: str
    title: str
    steps: int
    keys: tuple[str, ...]

    @property
    def points(self) -> int:
        return self.steps * len(self.keys)


WORKLOADS = {
    "scalars10": Workload("scalars10", "20,000 steps x 10 scalars", 20_000, TEN_KEYS),
    "scalar1": Workload("scalar1", "100,000 steps x 1 scalar", 100_000, ("loss",)),
    # RSS growth while logging 1,000,000 points, two shapes of the same count
    "rss10": Workload("rss10", "RSS: 100,000 steps x 10 scalars (1M points)", 100_000, TEN_KEYS),
    "rss1": Workload("rss1", "RSS: 1,000,000 steps x 1 scalar (1M points)", 1_000_000, ("loss",)),
}
#: the workloads every library runs; the RSS ones run for jupyter_tracker only by default
PEER_WORKLOADS = ("scalars10", "scalar1")
RSS_WORKLOADS = ("rss10", "rss1")


def load_adapter(library: str) -> Any:
    sys.path.insert(0, str(BENCH_DIR))
    return importlib.import_module(f"peers.{LIBRARIES.get(library) or ON_REQUEST[library]}")


def row_maker(keys: tuple[str, ...]) -> Callable[[int], dict[str, float]]:
    """A function building step ``i``'s row as a dict literal: fresh floats every step, ~0.3 us."""
    items = ", ".join(f"{key!r}: x * {index + 1}.0" for index, key in enumerate(keys))
    namespace: dict[str, Any] = {}
    exec(f"def make(i):\n    x = i * 1e-3\n    return {{{items}}}\n", namespace)  # noqa: S102
    return namespace["make"]


_PAGE_SIZE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def rss_now_bytes() -> int:
    """Current resident set size, from /proc (Linux), else the peak as a stand-in."""
    try:
        with open("/proc/self/statm", "rb") as handle:
            return int(handle.read().split()[1]) * _PAGE_SIZE
    except OSError:
        return peak_rss_bytes()


def peak_rss_bytes() -> int:
    """Peak RSS of this process so far (``ru_maxrss`` is KiB on Linux, bytes on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024


def percentile(sorted_values: Any, fraction: float) -> float:
    """Nearest-rank percentile of an already sorted sequence."""
    if not len(sorted_values):
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, int(round(fraction * len(sorted_values) + 0.5)) - 1))
    return float(sorted_values[index])


def timer_overhead_ns(samples: int = 200_000) -> float:
    """Median cost of the two ``perf_counter_ns`` calls that bracket every timed log call."""
    clock = time.perf_counter_ns
    values = array.array("q", bytes(8 * samples))
    for index in range(samples):
        start = clock()
        values[index] = clock() - start
    return percentile(sorted(values), 0.5)


def run_child(library: str, workload_name: str, workdir: Path) -> dict[str, Any]:
    """Runs one workload through one library in this (fresh) process and returns the figures."""
    workload = WORKLOADS[workload_name]
    scale = float(os.environ.get("BENCH_SCALE", "1"))
    if scale != 1.0:  # smoke runs only: the figures are not comparable with the targets
        workload = Workload(workload.name, workload.title, max(1, int(workload.steps * scale)), workload.keys)
    adapter = load_adapter(library)
    result: dict[str, Any] = {"library": library, "workload": workload_name, "steps": workload.steps,
                              "points": workload.points, "python": sys.version.split()[0],
                              "loadavg_start": os.getloadavg()[0]}
    start = time.perf_counter()
    lib = adapter.load()
    result["import_s"] = time.perf_counter() - start
    result["version"] = str(getattr(lib, "__version__", "?"))

    make = row_maker(workload.keys)
    latencies = array.array("q", bytes(8 * workload.steps))  # allocated before the RSS baseline
    clock = time.perf_counter_ns
    workdir.mkdir(parents=True, exist_ok=True)

    start = time.perf_counter()
    handle = adapter.start(lib, workdir, "bench", f"{library}-{workload_name}")
    result["init_s"] = time.perf_counter() - start
    log = adapter.logger(handle)
    pass_step = bool(getattr(adapter, "STEP_ARG", False))
    if pass_step:
        log(make(0), 0)  # one untimed warm-up call (first-key set-up); its step is 0, the loop starts at 1
    else:
        log(make(0))
    gc.collect()
    rss_before = rss_now_bytes()
    peak_before = peak_rss_bytes()

    rss_max = rss_before
    cpu_start = time.process_time()
    budget = float(os.environ.get("BENCH_BUDGET", "0"))  # seconds for the loop; 0: no limit
    step = 0
    loop_start = time.perf_counter()
    if pass_step:
        for step in range(1, workload.steps + 1):
            row = make(step)
            before = clock()
            log(row, step)
            latencies[step - 1] = clock() - before
            if not step & CHECK_MASK:
                if not step & RSS_SAMPLE_MASK:
                    rss_max = max(rss_max, rss_now_bytes())
                if budget and time.perf_counter() - loop_start > budget:
                    break
    else:
        for step in range(1, workload.steps + 1):
            row = make(step)
            before = clock()
            log(row)
            latencies[step - 1] = clock() - before
            if not step & CHECK_MASK:
                if not step & RSS_SAMPLE_MASK:
                    rss_max = max(rss_max, rss_now_bytes())
                if budget and time.perf_counter() - loop_start > budget:
                    break
    loop_end = time.perf_counter()
    rss_after_loop = rss_now_bytes()
    adapter.finish(handle)
    finish_end = time.perf_counter()
    cpu_used = time.process_time() - cpu_start
    rss_end = rss_now_bytes()
    peak_after = peak_rss_bytes()
    # growth while logging: the highest RSS seen from the first timed call to the end of finish
    # (samples every 16,384 steps, after the loop, after finish, and ru_maxrss when it rose past
    # its pre-loop value), over the RSS just before the loop
    high = max(rss_max, rss_after_loop, rss_end, peak_after if peak_after > peak_before else 0)

    done = step  # steps timed: all of them unless the loop ran past its budget
    if done < workload.steps:
        result.update(partial=True, steps_planned=workload.steps, steps=done, points=done * len(workload.keys))
        latencies = latencies[:done]
    ordered = sorted(latencies)
    result.update(
        log_p50_us=percentile(ordered, 0.50) / 1000,
        log_p99_us=percentile(ordered, 0.99) / 1000,
        log_max_us=ordered[-1] / 1000,
        log_mean_us=sum(ordered) / len(ordered) / 1000,
        loop_s=loop_end - loop_start,
        finish_s=finish_end - loop_end,
        points_per_s=done * len(workload.keys) / (finish_end - loop_start),
        # CPU time of every thread of the process (the loop, a writer thread, finish) per step: on a
        # shared machine it moves far less with other load than wall-clock figures do
        cpu_per_step_us=cpu_used / max(done, 1) * 1e6,
        rss_before_loop_mb=rss_before / 1e6,
        rss_after_loop_mb=rss_after_loop / 1e6,
        rss_end_mb=rss_end / 1e6,
        peak_rss_mb=peak_after / 1e6,
        rss_growth_mb=(high - rss_before) / 1e6,
        timer_overhead_ns=timer_overhead_ns(50_000),
        loadavg_end=os.getloadavg()[0],
    )
    return result


def write_json(payload: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=2, sort_keys=True) + "\n")
