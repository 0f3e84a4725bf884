"""Sweeps from a shell: ``jupyter-tracker sweep`` / ``agent`` running a program, killed agents, 20 agents at once."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from jupyter_tracker.store.index import RunIndex
from jupyter_tracker.sweeps.local_store import LocalSweepStore

pytestmark = pytest.mark.integration

TRAIN = textwrap.dedent("""
    import argparse, os, time
    import jupyter_tracker as wandb

    parser = argparse.ArgumentParser()
    parser.add_argument("--x", type=float)
    parser.add_argument("--n", type=int)
    args = parser.parse_args()
    run = wandb.init(config={"x": -1.0})
    assert run.config.x == args.x and run.config.n == args.n, (dict(run.config.as_dict()), args)
    for step in range(3):
        wandb.log({"loss": (args.x - 0.3) ** 2 + args.n / (step + 1)})
        while os.path.exists("hang") and args.x == 0.1:
            time.sleep(0.05)
    wandb.finish()
""")
CONFIG = textwrap.dedent("""
    program: train.py
    method: grid
    metric:
      name: loss
      goal: minimize
    parameters:
      x:
        values: [0.1, 0.3, 0.5]
      n:
        value: 2
""")


def _command() -> str:
    beside = Path(sys.executable).with_name("jupyter-tracker")
    found = str(beside) if beside.exists() else shutil.which("jupyter-tracker")
    if found is None:
        pytest.fail("the jupyter-tracker console script is not installed (pip install -e .)")
    return found


def _environment() -> dict[str, str]:
    return {**os.environ, "WANDB_SILENT": "true", "WANDB_DISABLE_CODE": "true",
            "JUPYTER_TRACKER_DISABLE_SYSTEM_METRICS": "true", "WANDB_CONSOLE": "off"}


def cli(*arguments: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([_command(), *arguments], capture_output=True, text=True, timeout=120, cwd=cwd, env=_environment())


def wait_until(condition: Callable[[], object], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {condition}")
        time.sleep(0.05)


@pytest.fixture
def sweep_dir(store_root: Path) -> Path:
    directory = store_root.parent
    (directory / "train.py").write_text(TRAIN)
    (directory / "sweep.yaml").write_text(CONFIG)
    return directory


def test_sweep_and_agent_commands_run_the_program_with_its_arguments(sweep_dir, store_root):
    created = cli("sweep", "sweep.yaml", "--project", "shell", cwd=sweep_dir)
    assert created.returncode == 0, created.stderr
    sweep_id = created.stdout.strip().splitlines()[-1]
    ran = cli("agent", sweep_id, cwd=sweep_dir)
    assert ran.returncode == 0, ran.stderr
    assert "3 finished" in ran.stdout
    trials = LocalSweepStore(store_root).trials(sweep_id)
    assert sorted(trial.params["x"] for trial in trials) == [0.1, 0.3, 0.5]
    index = RunIndex(store_root)
    for trial in trials:
        row = index.get(trial.run_id)
        assert row["project"] == "shell" and row["state"] == "finished"
        assert row["config"] == {"x": trial.params["x"], "n": 2}
        assert trial.value == pytest.approx((trial.params["x"] - 0.3) ** 2 + 2 / 3)
    status = cli("sweep", "--status", sweep_id, cwd=sweep_dir)
    assert f"sweep {sweep_id} (grid, project shell): finished; 3 finished" in status.stdout


def test_pause_resume_stop_cancel_from_the_shell(sweep_dir):
    sweep_id = cli("sweep", "sweep.yaml", cwd=sweep_dir).stdout.strip().splitlines()[-1]
    assert cli("sweep", "--pause", sweep_id, cwd=sweep_dir).stdout.strip() == f"sweep {sweep_id} paused"
    assert cli("sweep", "--resume", sweep_id, cwd=sweep_dir).stdout.strip() == f"sweep {sweep_id} running"
    assert cli("sweep", "--stop", sweep_id, cwd=sweep_dir).stdout.strip() == f"sweep {sweep_id} stopped"
    assert "0 trial(s)" in cli("agent", sweep_id, cwd=sweep_dir).stdout
    assert cli("sweep", "--cancel", sweep_id, cwd=sweep_dir).stdout.strip() == f"sweep {sweep_id} cancelled"
    missing = cli("sweep", "--pause", "nosuchid", cwd=sweep_dir)
    assert missing.returncode != 0 and "no sweep 'nosuchid'" in missing.stderr
    (sweep_dir / "bad.yaml").write_text("method: grid\nparameters:\n  lr:\n    min: 0.1\n    max: 1.0\n")
    bad = cli("sweep", "bad.yaml", cwd=sweep_dir)
    assert bad.returncode != 0 and "sweep config parameters.lr: a grid search needs discrete values" in bad.stderr


def test_a_sigkilled_agent_leaves_its_trial_failed_and_the_sweep_going(sweep_dir, store_root):
    sweep_id = cli("sweep", "sweep.yaml", cwd=sweep_dir).stdout.strip().splitlines()[-1]
    (sweep_dir / "hang").write_text("")
    store = LocalSweepStore(store_root)
    doomed = subprocess.Popen([_command(), "agent", sweep_id], cwd=sweep_dir, env=_environment(),
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        def hanging_run_started() -> bool:
            trials = store.trials(sweep_id)
            return bool(trials) and RunIndex(store_root).get(trials[0].run_id) is not None

        wait_until(hanging_run_started, timeout=60)
    finally:
        doomed.send_signal(signal.SIGKILL)
        doomed.wait()
    (sweep_dir / "hang").unlink()
    rescue = cli("agent", sweep_id, cwd=sweep_dir)
    assert rescue.returncode == 0, rescue.stderr
    trials = store.trials(sweep_id)
    lost = trials[0]
    assert lost.state == "failed" and lost.params["x"] == 0.1 and "agent process died" in lost.error
    retried = [trial for trial in trials if trial.retry_of == lost.number]
    assert len(retried) == 1 and retried[0].state == "finished" and retried[0].params == lost.params
    finished = sorted(trial.params["x"] for trial in trials if trial.state == "finished")
    assert finished == [0.1, 0.3, 0.5]
    assert store.get_sweep(sweep_id).state == "finished"


AGENT_PROCESS = textwrap.dedent("""
    import sys
    import jupyter_tracker as wandb

    def train():
        run = wandb.init()
        wandb.log({"loss": run.config.a * 10 + run.config.b})

    wandb.agent(sys.argv[1], function=train)
""")


def test_twenty_agent_processes_share_one_sweep_without_repeats(store_root):
    grid = {"method": "grid", "metric": {"name": "loss"},
            "parameters": {"a": {"values": list(range(6))}, "b": {"values": list(range(10))}}}
    from jupyter_tracker.sweeps.config import parse_config

    store = LocalSweepStore(store_root)
    sweep_id = store.create_sweep(parse_config(grid), "crowd")
    script = store_root.parent / "agent_process.py"
    script.write_text(AGENT_PROCESS)
    started = time.monotonic()
    agents = [subprocess.Popen([sys.executable, str(script), sweep_id], cwd=store_root.parent, env=_environment(),
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True) for _ in range(20)]
    errors = [agent.communicate(timeout=90)[1] for agent in agents]
    elapsed = time.monotonic() - started
    assert all(agent.returncode == 0 for agent in agents), errors
    trials = store.trials(sweep_id)
    assert len(trials) == 60 and all(trial.state == "finished" for trial in trials)
    assert sorted(trial.grid_index for trial in trials) == list(range(60))
    assert len({(trial.params["a"], trial.params["b"]) for trial in trials}) == 60
    assert len({trial.run_id for trial in trials}) == 60
    assert len({trial.agent_id for trial in trials}) > 1
    rows = {row["id"]: row for row in RunIndex(store_root).runs("crowd")}
    for trial in trials:
        assert rows[trial.run_id]["config"] == trial.params
        assert trial.value == trial.params["a"] * 10 + trial.params["b"]
    assert elapsed < 90


LONG_TRAIN = textwrap.dedent("""
    import time
    import jupyter_tracker as wandb

    run = wandb.init()
    for step in range(400):
        wandb.log({"loss": run.config.offset + 1.0 / (step + 1)})
        if run.config.offset > 1:
            time.sleep(0.02)  # the run hyperband will stop: long enough to be stopped mid-loop
""")


def test_hyperband_stops_a_program_that_falls_behind_and_keeps_what_it_logged(store_root):
    directory = store_root.parent
    (directory / "long_train.py").write_text(LONG_TRAIN)
    (directory / "hyperband.yaml").write_text(textwrap.dedent("""
        program: long_train.py
        method: grid
        metric: {name: loss, goal: minimize}
        early_terminate: {type: hyperband, min_iter: 3, eta: 3}
        parameters:
          offset: {values: [0.1, 0.0, 5.0]}
    """))
    sweep_id = cli("sweep", "hyperband.yaml", cwd=directory).stdout.strip().splitlines()[-1]
    ran = cli("agent", sweep_id, cwd=directory)
    assert ran.returncode == 0, ran.stderr
    trials = LocalSweepStore(store_root).trials(sweep_id)
    assert [trial.state for trial in trials] == ["finished", "finished", "stopped"]
    index = RunIndex(store_root)
    assert [index.get(trial.run_id)["state"] for trial in trials] == ["finished", "finished", "finished"]
    stopped = trials[2]
    assert 3 <= len(stopped.history) < 400 and stopped.value is not None and stopped.value > 5.0
