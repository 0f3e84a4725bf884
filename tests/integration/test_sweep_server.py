"""Server-backed sweeps: 20 agent processes, each with a store of its own (as on 20 machines), on one sweep."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from jupyter_tracker.sweeps.config import SweepConfig, parse_config
from jupyter_tracker.sweeps.local_store import SweepNotFoundError
from jupyter_tracker.sweeps.remote_store import RemoteSweepStore
from tests.integration.server_fixtures import BACKENDS, ServerProcess, require_postgres_or_step_aside, start_server

pytestmark = pytest.mark.integration

AGENT_PROCESS = textwrap.dedent("""
    import sys, time
    import jupyter_tracker as wandb

    def train():
        run = wandb.init()
        wandb.log({"loss": run.config.a * 10 + run.config.b})
        if run.config.a == 0 and run.config.b == 0 and len(sys.argv) > 2:
            time.sleep(120)  # the agent that will be killed

    wandb.agent(sys.argv[1], function=train)
""")
GRID = {"method": "grid", "metric": {"name": "loss"},
        "parameters": {"a": {"values": list(range(3))}, "b": {"values": list(range(10))}}}


@pytest.fixture(scope="module", params=BACKENDS)
def sweep_server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """One server per backend: the sweep state lives in its SQLite data dir, or in its PostgreSQL database."""
    if request.param == "postgresql":
        require_postgres_or_step_aside()
    with start_server(tmp_path_factory.mktemp(f"sweep-server-{request.param}"), backend=str(request.param)) as running:
        yield running


def _agent_environment(server: ServerProcess, directory: Path) -> dict[str, str]:
    environment = {name: value for name, value in os.environ.items() if not name.startswith(("WANDB_", "JUPYTER_TRACKER_"))}
    return environment | {
        "WANDB_BASE_URL": server.base_url, "WANDB_API_KEY": server.api_key, "WANDB_MODE": "online",
        "WANDB_DIR": str(directory), "JUPYTER_TRACKER_HOME": str(directory / "home"), "WANDB_SILENT": "true",
        "WANDB_DISABLE_CODE": "true", "JUPYTER_TRACKER_DISABLE_SYSTEM_METRICS": "true", "WANDB_CONSOLE": "off",
    }


def test_twenty_agents_on_separate_stores_share_a_server_sweep(sweep_server: ServerProcess, tmp_path: Path):
    store = RemoteSweepStore(sweep_server.base_url, sweep_server.api_key)
    sweep_id = store.create_sweep(parse_config(GRID), "farm")
    script = tmp_path / "agent_process.py"
    script.write_text(AGENT_PROCESS)
    agents = []
    for number in range(20):
        machine = tmp_path / f"machine-{number}"
        machine.mkdir()
        agents.append(subprocess.Popen([sys.executable, str(script), sweep_id], cwd=machine,
                                       env=_agent_environment(sweep_server, machine),
                                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True))
    errors = [agent.communicate(timeout=120)[1] for agent in agents]
    assert all(agent.returncode == 0 for agent in agents), errors
    trials = store.trials(sweep_id)
    assert len(trials) == 30 and all(trial.state == "finished" for trial in trials)
    assert sorted(trial.grid_index for trial in trials) == list(range(30))
    assert len({trial.run_id for trial in trials}) == 30 and len({trial.agent_id for trial in trials}) > 1
    assert all(trial.value == trial.params["a"] * 10 + trial.params["b"] for trial in trials)
    assert store.get_sweep(sweep_id).state == "finished"
    with sweep_server.client() as client:
        runs = client.get(f"/api/v1/projects/{sweep_server.username}/farm/runs").json()
    rows = runs["runs"] if isinstance(runs, dict) else runs
    assert {row["id"] for row in rows} >= {trial.run_id for trial in trials}


def test_a_sigkilled_remote_agent_is_replaced_and_nothing_lost(sweep_server: ServerProcess, tmp_path: Path):
    store = RemoteSweepStore(sweep_server.base_url, sweep_server.api_key)
    sweep_id = store.create_sweep(parse_config({**GRID, "parameters": {"a": {"values": [0]}, "b": {"values": [0, 1, 2]}}}), "farm")
    script = tmp_path / "agent_process.py"
    script.write_text(AGENT_PROCESS)
    doomed = subprocess.Popen([sys.executable, str(script), sweep_id, "hang"], cwd=tmp_path,
                              env=_agent_environment(sweep_server, tmp_path), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while not any(trial.state == "running" for trial in store.trials(sweep_id)):
            assert time.monotonic() < deadline
            time.sleep(0.1)
    finally:
        doomed.send_signal(signal.SIGKILL)
        doomed.wait()
    # the server runs on this machine, so it sees that the agent's process is gone without waiting for its lease
    rescue = subprocess.run([sys.executable, str(script), sweep_id], cwd=tmp_path, env=_agent_environment(sweep_server, tmp_path),
                            capture_output=True, text=True, timeout=120)
    assert rescue.returncode == 0, rescue.stderr
    trials = store.trials(sweep_id)
    lost = trials[0]
    assert lost.state == "failed" and "agent process died" in lost.error
    assert sorted((trial.params["b"], trial.state) for trial in trials if trial.state == "finished") == [
        (0, "finished"), (1, "finished"), (2, "finished")]


def test_another_users_key_cannot_see_the_sweep(sweep_server: ServerProcess):
    store = RemoteSweepStore(sweep_server.base_url, sweep_server.api_key)
    sweep_id = store.create_sweep(parse_config(GRID), "private")
    stranger = RemoteSweepStore(sweep_server.base_url, sweep_server.create_key(user="mallory"))
    with pytest.raises(SweepNotFoundError):
        stranger.get_sweep(sweep_id)
    with pytest.raises(SweepNotFoundError):
        stranger.set_state(sweep_id, "cancelled")
    assert store.get_sweep(sweep_id).state == "running"
    with pytest.raises(ValueError, match="parameters.lr"):
        # a client that skipped the checks: the server checks the config again and names the key
        unchecked = SweepConfig(raw={"method": "grid", "parameters": {"lr": {"min": 0.1, "max": 1.0}}}, method="grid", parameters={})
        store.create_sweep(unchecked, "bad")
