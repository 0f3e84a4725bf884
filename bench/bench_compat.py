"""Times being ``wandb``: ``import jupyter_tracker``, opting in, and ``watch``'s cost per training step.

    .venv/bin/python bench/bench_compat.py [--repeats 7] [--steps 600]

* import: ``python -c "import jupyter_tracker"`` against ``python -c "pass"`` (fresh interpreters,
  interleaved), target <= 150 ms.
* opt-in: inside a fresh interpreter, ``as_wandb(); import wandb`` and then the submodules a
  framework imports (``wandb.sdk.lib``, ``wandb.wandb_run``, ``wandb.sdk.lib.config_util``);
  and the environment-variable route, ``JUPYTER_TRACKER_AS_WANDB=1 python -c "import wandb"``
  against ``python -c "pass"``.
* watch: a small MLP (784-256-128-10, batch 64, one torch thread) trained for ``--steps`` steps
  without ``watch`` and with ``watch(log="all", log_freq=100)``, blocks interleaved; the overhead is
  the ratio of the medians of the per-step times, target <= 5 %.

Medians of ``--repeats`` interleaved repetitions; the 1-minute load average is printed with each
figure (on a busy machine every figure is pessimistic). Nothing here is part of the test suite.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

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


def _wall_ms(code: str, **extra: str) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, env=_environment(**extra))
    return (time.perf_counter() - started) * 1000


def _load() -> str:
    return f"load {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs"


def bench_imports(repeats: int) -> None:
    bare, imported, env_opt_in, in_process, served = [], [], [], [], []
    for _ in range(repeats):
        bare.append(_wall_ms("pass"))
        imported.append(_wall_ms("import jupyter_tracker"))
        env_opt_in.append(_wall_ms("import wandb", JUPYTER_TRACKER_AS_WANDB="1"))
        output = subprocess.run([sys.executable, "-c", OPT_IN], check=True, capture_output=True, text=True,
                                env=_environment()).stdout.split()
        in_process.append(float(output[0]))
        served.append(float(output[1]))
    base = statistics.median(bare)
    import_cost = statistics.median(imported) - base
    print(f"import jupyter_tracker (fresh interpreter, minus bare start): {import_cost:7.1f} ms  "
          f"[target <= 150 ms: {'PASS' if import_cost <= 150 else 'FAIL'}]  ({_load()})")
    print(f"import jupyter_tracker (measured inside the interpreter):     {statistics.median(in_process):7.1f} ms")
    print(f"as_wandb() + import wandb and 3 framework submodules:         {statistics.median(served):7.1f} ms")
    print(f"JUPYTER_TRACKER_AS_WANDB=1 python -c 'import wandb' (minus bare start): "
          f"{statistics.median(env_opt_in) - base:7.1f} ms")


def _step_times(watched: bool, steps: int, directory: str) -> float:
    """Median seconds of one training step over ``steps`` steps, in a fresh run."""
    import torch

    import jupyter_tracker

    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(784, 256), torch.nn.ReLU(), torch.nn.Linear(256, 128),
                                torch.nn.ReLU(), torch.nn.Linear(128, 10))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    inputs, targets = torch.randn(64, 784), torch.randint(0, 10, (64,))
    run = jupyter_tracker.init(project="bench-watch", dir=directory, mode="offline")
    if watched:
        run.watch(model, log="all", log_freq=100)
    durations = []
    for _ in range(steps):
        started = time.perf_counter()
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(inputs), targets)
        loss.backward()
        optimizer.step()
        run.log({"loss": loss.item()})
        durations.append(time.perf_counter() - started)
    run.finish(quiet=True)
    # the mean, not the median: the histogram steps (1 in 100) are the cost being measured
    return statistics.fmean(durations)


def bench_watch(repeats: int, steps: int) -> None:
    import torch

    torch.set_num_threads(1)
    os.environ["WANDB_SILENT"] = "true"
    plain, watched = [], []
    with tempfile.TemporaryDirectory() as directory:
        _step_times(False, 50, directory)  # warm-up: first allocations, lazy imports
        for _ in range(repeats):
            plain.append(_step_times(False, steps, directory))
            watched.append(_step_times(True, steps, directory))
    plain_ms, watched_ms = statistics.median(plain) * 1000, statistics.median(watched) * 1000
    overhead = (watched_ms / plain_ms - 1) * 100
    print(f"training step, small MLP: {plain_ms:.3f} ms plain, {watched_ms:.3f} ms with watch(log='all', "
          f"log_freq=100): overhead {overhead:+.1f} %  [target <= 5 %: {'PASS' if overhead <= 5 else 'FAIL'}]  "
          f"({_load()})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--steps", type=int, default=600, help="training steps per watch measurement")
    options = parser.parse_args()
    bench_imports(options.repeats)
    bench_watch(options.repeats, options.steps)


if __name__ == "__main__":
    main()
