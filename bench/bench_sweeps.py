"""Sweep controller throughput and per-trial overhead (issue 13): run on demand, prints figures.

* suggestions per second: 20 agent processes claim and finish trials of one sweep as fast as
  they can for a few seconds, against the local store (SQLite) and against a tracking server
  process; the figure is finished trials per second over all agents.
* overhead per trial: an in-process agent running a function that starts, logs to and finishes
  an offline run, against calling the same function in a plain loop; the difference per trial.

Each figure is the median of ``--repeat`` interleaved repetitions; the 1-minute load average is
printed with it (2 shared cores make every figure pessimistic).

    .venv/bin/python bench/bench_sweeps.py [--agents 20] [--seconds 5] [--repeat 3] [--trials 30]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

WORKER = """
import sys, time
from pathlib import Path
kind, where, key, sweep_id, seconds = sys.argv[1:6]
if kind == "local":
    from jupyter_tracker.sweeps.local_store import LocalSweepStore
    store = LocalSweepStore(Path(where))
else:
    from jupyter_tracker.sweeps.remote_store import RemoteSweepStore
    store = RemoteSweepStore(where, key)
agent, _ = store.register_agent(sweep_id)
sys.stdout.write("ready\\n"); sys.stdout.flush()
sys.stdin.readline()
deadline = time.monotonic() + float(seconds)
done = 0
while time.monotonic() < deadline:
    claim = store.claim(sweep_id, agent)
    if claim.trial is None:
        break
    store.finish_trial(sweep_id, claim.trial.number, "finished", float(claim.trial.number))
    done += 1
print(done)
"""

CONFIG = {"method": "random", "metric": {"name": "loss"},
          "parameters": {"lr": {"distribution": "log_uniform_values", "min": 1e-5, "max": 1e-1},
                         "layers": {"min": 1, "max": 8}, "opt": {"values": ["adam", "sgd"]}}}


def suggestions_per_second(kind: str, where: str, key: str, agents: int, seconds: float) -> float:
    from jupyter_tracker.sweeps.config import parse_config

    if kind == "local":
        from jupyter_tracker.sweeps.local_store import LocalSweepStore

        store = LocalSweepStore(Path(where))
    else:
        from jupyter_tracker.sweeps.remote_store import RemoteSweepStore

        store = RemoteSweepStore(where, key)
    sweep_id = store.create_sweep(parse_config(CONFIG), "bench")
    workers = [subprocess.Popen([sys.executable, "-c", WORKER, kind, where, key, sweep_id, str(seconds)],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True) for _ in range(agents)]
    for worker in workers:  # every agent imported and registered before the clock starts
        assert worker.stdout is not None and worker.stdout.readline().strip() == "ready"
    for worker in workers:
        assert worker.stdin is not None
        worker.stdin.write("go\n")
        worker.stdin.flush()
    counts = [int(worker.communicate(timeout=seconds + 120)[0].strip().splitlines()[-1]) for worker in workers]
    return sum(counts) / seconds


def trial_overhead(trials: int, directory: Path) -> tuple[float, float]:
    """Median seconds from one trial's start to the next: (plain loop, through an agent).

    Blocks of plain and agent trials alternate in one process, so both meet the same load.
    """
    code = f"""
import statistics, time
import jupyter_tracker as jt
from jupyter_tracker import settings
from jupyter_tracker.sweeps.config import parse_config
from jupyter_tracker.sweeps.local_store import LocalSweepStore
from jupyter_tracker.sweeps.sweep_agent import Agent

starts = []

def train():
    starts.append(time.perf_counter())
    run = jt.init(config={{"lr": 0.01}})
    for step in range(10):
        jt.log({{"loss": 1.0 / (step + 1)}})
    jt.finish()

def cycles():
    return [b - a for a, b in zip(starts, starts[1:])]

train()  # warm-up
resolved = settings.resolve({{}})
store = LocalSweepStore(resolved.root)
sweep_id = store.create_sweep(parse_config({CONFIG!r}), "bench")
plain, swept = [], []
for block in range(4):
    starts.clear()
    for _ in range({trials} // 4 + 1):
        train()
    plain += cycles()
    starts.clear()
    Agent(store, sweep_id, function=train, count={trials} // 4 + 1, settings=resolved).run()
    swept += cycles()
print(statistics.median(plain), statistics.median(swept))
"""
    environment = {**os.environ, "WANDB_DIR": str(directory), "WANDB_SILENT": "true", "WANDB_MODE": "offline",
                   "WANDB_DISABLE_CODE": "true", "JUPYTER_TRACKER_DISABLE_SYSTEM_METRICS": "true", "WANDB_CONSOLE": "off"}
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=environment, cwd=directory,
                            timeout=600, check=True).stdout
    plain, swept = (float(part) for part in output.split())
    return plain, swept


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--agents", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--trials", type=int, default=30)
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite",
                        help="the server's database (postgresql needs JT_TEST_POSTGRES_DSN, see scripts/postgres.sh)")
    options = parser.parse_args()
    from tests.integration.server_fixtures import start_server

    figures: dict[str, list[float]] = {"local": [], "server": [], "plain": [], "swept": []}
    loads: list[float] = []
    with tempfile.TemporaryDirectory() as scratch, start_server(Path(scratch) / "server", backend=options.backend) as server:
        for repetition in range(options.repeat):
            figures["local"].append(suggestions_per_second("local", str(Path(scratch) / f"local-{repetition}"), "",
                                                           options.agents, options.seconds))
            figures["server"].append(suggestions_per_second("server", server.base_url, server.api_key,
                                                            options.agents, options.seconds))
            work = Path(scratch) / f"trials-{repetition}"
            work.mkdir()
            plain, swept = trial_overhead(options.trials, work)
            figures["plain"].append(plain)
            figures["swept"].append(swept)
            loads.append(os.getloadavg()[0])
    median = {name: statistics.median(values) for name, values in figures.items()}
    print(f"suggestions/s with {options.agents} agents (claim + finish, random search): "
          f"local store {median['local']:.0f}/s, server on {options.backend} {median['server']:.0f}/s")
    print(f"trial start to next trial start (offline run: init, 10 logs, finish): plain loop {1000 * median['plain']:.1f} ms, "
          f"through an agent {1000 * median['swept']:.1f} ms, overhead {1000 * (median['swept'] - median['plain']):.1f} ms")
    print(f"raw: {figures}")
    print(f"load average (1 min) per repetition: {[round(load, 2) for load in loads]} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
