"""Times being ``wandb``: ``import jupyter_tracker``, opting in, and ``watch``'s cost per training step.

    .venv/bin/python bench/bench_compat.py [--repeats 7] [--steps 600]

* import: ``python -c "import jupyter_tracker"`` against ``python -c "pass"`` (fresh interpreters,
  interleaved), target <= 150 ms.
* opt-in: inside a fresh interpreter, ``as_wandb(); import wandb`` and then the submodules a
  framework imports (``wandb.sdk.lib``, ``wandb.wandb_run``, ``wandb.sdk.lib.config_util``);
  and the environment-variable route, ``JUPYTER_TRACKER_AS_WANDB=1 python -c "import wandb"``
  against ``python -c "pass"``.
* watch: a small MLP (784-256-128-10, batch 64, one torch thread), blocks of ``--steps`` steps
  without ``watch`` and with ``watch(log="all", log_freq=100)``, interleaved in pairs; target <= 5 %.
  Three figures: the pairs' wall-time ratio (moved by any other load), the training thread's own
  CPU time (``time.thread_time``: what the loop pays, whatever else the machine runs; the figure to
  judge on a shared machine) and the histogram step's extra wall time within each watched block.

Medians of ``--repeats`` interleaved repetitions; the 1-minute load average is printed with each
figure (on a busy machine every figure is pessimistic). Nothing here is part of the test suite.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

OPT_IN = """
import time
started = time.perf_counter()
import jupyter_tracker
imported = time.perf_counter()
jupyter_tracker.as_wandb(silent=True)
import wandb
import wandb.sdk.lib, wandb.wandb_run, wandb.sdk.lib.config_util
served = time.perf_counter()
print((imported - started) * 1000, (served - imported) * 1000)
"""


def _environment(**extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("WANDB_", "JUPYTER_TRACKER_"))}
    env["PYTHONPATH"] = str(ROOT)
    env.update(extra)
    return env


def _wall_ms(code: str, **extra: str) -> tuple[float, float]:
    """Wall and CPU milliseconds of a fresh interpreter running ``code`` (CPU time barely moves with load)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, env=_environment(**extra))
    wall = (time.perf_counter() - started) * 1000
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime) * 1000
    return wall, cpu


def _load() -> str:
    return f"load {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs"


def _cost(runs: list[tuple[float, float]], bare: list[tuple[float, float]], which: int) -> float:
    return statistics.median(run[which] for run in runs) - statistics.median(run[which] for run in bare)


def bench_imports(repeats: int) -> None:
    bare: list[tuple[float, float]] = []
    imported: list[tuple[float, float]] = []
    env_opt_in: list[tuple[float, float]] = []
    in_process: list[float] = []
    served: list[float] = []
    for _ in range(repeats):
        bare.append(_wall_ms("pass"))
        imported.append(_wall_ms("import jupyter_tracker"))
        env_opt_in.append(_wall_ms("import wandb", JUPYTER_TRACKER_AS_WANDB="1"))
        output = subprocess.run([sys.executable, "-c", OPT_IN], check=True, capture_output=True, text=True,
                                env=_environment()).stdout.split()
        in_process.append(float(output[0]))
        served.append(float(output[1]))
    import_cpu = _cost(imported, bare, 1)
    print(f"import jupyter_tracker, fresh interpreter minus a bare start: {_cost(imported, bare, 0):7.1f} ms wall, "
          f"{import_cpu:7.1f} ms CPU  [target <= 150 ms, judged on CPU: {'PASS' if import_cpu <= 150 else 'FAIL'}]  "
          f"({_load()})")
    print(f"import jupyter_tracker, timed inside the interpreter:         {statistics.median(in_process):7.1f} ms wall")
    print(f"as_wandb() + import wandb and 3 framework submodules:         {statistics.median(served):7.1f} ms wall")
    print(f"JUPYTER_TRACKER_AS_WANDB=1 python -c 'import wandb', minus a bare start: "
          f"{_cost(env_opt_in, bare, 0):7.1f} ms wall, {_cost(env_opt_in, bare, 1):7.1f} ms CPU")


def _block_seconds(run: object, model: object, optimizer: object, inputs: object, targets: object,
                   steps: int, clock: Any = time.perf_counter) -> list[float]:
    """Seconds of each training step of the block, by ``clock``."""
    import torch

    durations = []
    for _ in range(steps):
        started = clock()
        optimizer.zero_grad()  # type: ignore[attr-defined]
        loss = torch.nn.functional.cross_entropy(model(inputs), targets)  # type: ignore[operator]
        loss.backward()
        optimizer.step()  # type: ignore[attr-defined]
        run.log({"loss": loss.item()})  # type: ignore[attr-defined]
        durations.append(clock() - started)
    return durations


def bench_watch(repeats: int, steps: int) -> None:
    """Pairs of blocks of ``steps`` steps on one model, one plain, one watched (its order alternating).

    A watched block starts with a fresh ``watch``, so a block of 100 steps holds exactly one step
    that logs every histogram: the mean cost of a step at ``log_freq=100``. The overhead is the
    median of the pairs' ratios, so a load change between pairs does not bias it. Also printed,
    from inside each watched block (so load between blocks cannot move it): the extra time of
    the one step that logs the histograms over the block's typical step.
    """
    import torch

    import jupyter_tracker

    torch.set_num_threads(1)
    os.environ["WANDB_SILENT"] = "true"
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(784, 256), torch.nn.ReLU(), torch.nn.Linear(256, 128),
                                torch.nn.ReLU(), torch.nn.Linear(128, 10))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    inputs, targets = torch.randn(64, 784), torch.randint(0, 10, (64,))
    ratios, plain_steps, watched_steps, logging_extra, cpu_ratios = [], [], [], [], []
    with tempfile.TemporaryDirectory() as directory:
        run = jupyter_tracker.init(project="bench-watch", dir=directory, mode="offline")
        _block_seconds(run, model, optimizer, inputs, targets, steps)  # warm-up
        for pair in range(repeats * 3):
            timings = {}
            for watched in ((False, True) if pair % 2 == 0 else (True, False)):
                if watched:
                    run.watch(model, log="all", log_freq=100)
                durations = _block_seconds(run, model, optimizer, inputs, targets, steps)
                timings[watched] = sum(durations)
                if watched:
                    run.unwatch(model)
                    typical = statistics.median(durations)
                    # the 100th forward call of a fresh watch logs: the block's step 99
                    logged = sum(durations[index] for index in range(99, steps, 100))
                    logging_extra.append((logged - typical * len(range(99, steps, 100))) / (typical * steps))
            ratios.append(timings[True] / timings[False])
            # the training thread's own CPU time: what the loop pays, whatever else the machine runs
            cpu = {}
            for watched in (False, True):
                if watched:
                    run.watch(model, log="all", log_freq=100)
                cpu[watched] = sum(_block_seconds(run, model, optimizer, inputs, targets, steps, time.thread_time))
                if watched:
                    run.unwatch(model)
            cpu_ratios.append(cpu[True] / cpu[False])
            plain_steps.append(timings[False] / steps)
            watched_steps.append(timings[True] / steps)
        run.finish(quiet=True)
    overhead = (statistics.median(ratios) - 1) * 100
    print(f"training step, small MLP: {statistics.median(plain_steps) * 1000:.3f} ms plain, "
          f"{statistics.median(watched_steps) * 1000:.3f} ms with watch(log='all', log_freq=100): "
          f"overhead {overhead:+.1f} % (median of {len(ratios)} pairs)  "
          f"[target <= 5 %: {'PASS' if overhead <= 5 else 'FAIL'}]  ({_load()})")
    thread_cpu = (statistics.median(cpu_ratios) - 1) * 100
    print(f"  the training thread's CPU time with watch: {thread_cpu:+.1f} % (median of {len(cpu_ratios)} pairs)  "
          f"[target <= 5 %: {'PASS' if thread_cpu <= 5 else 'FAIL'}]")
    within = statistics.median(logging_extra) * 100
    print(f"  the histogram step's extra time over a block of {steps}: {within:+.1f} % of the block "
          f"(median of {len(logging_extra)} blocks)  [target <= 5 %: {'PASS' if within <= 5 else 'FAIL'}]")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--steps", type=int, default=100, help="training steps per block (log_freq is 100)")
    options = parser.parse_args()
    bench_imports(options.repeats)
    bench_watch(options.repeats, options.steps)


if __name__ == "__main__":
    main()
