"""Resuming, on another machine or in another directory, a run the local store lacks (issue 9, item 5).

The server's copy gives the step, config and summary to go on from; only what is new is uploaded,
and the run's output.log keeps what the first machine printed.
"""

# ruff: noqa: F811  (the server fixtures are imported by name and used as parameters)
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import jupyter_tracker as jt
from jupyter_tracker.sdk import RunExistsError
from jupyter_tracker.sync.sync_state import SyncState
from tests.integration.server_fixtures import ServerProcess, shared_server  # noqa: F401  (fixture)
from tests.integration.test_sync import isolated_environment, server_files, server_history, server_run  # noqa: F401

pytestmark = pytest.mark.integration


def online(server: ServerProcess, **extra: Any) -> dict[str, Any]:
    return {"base_url": server.base_url, "api_key": server.api_key, "sync_interval": 0.2, "sync_timeout": 60,
            "console": "wrap", "sync_unsynced_on_init": False, **extra}


def test_a_run_resumed_on_another_machine_continues_its_steps_and_uploads_only_what_is_new(
    shared_server: ServerProcess, tmp_path: Path
) -> None:
    server = shared_server
    first = jt.init(project="moved", id="moved1", dir=tmp_path / "machine_a", config={"lr": 0.1},
                    settings=online(server))
    for step in range(10):
        first.log({"loss": 1.0 / (step + 1)})
    print("printed on machine A")
    first.finish()
    assert SyncState.load(Path(first.dir)).complete

    second = jt.init(project="moved", id="moved1", dir=tmp_path / "machine_b", resume="allow",
                     settings=online(server))
    assert second.resumed and second.step == 10
    assert second.config["lr"] == 0.1 and second.summary["loss"] == pytest.approx(0.1)
    for step in range(10, 15):
        second.log({"loss": 1.0 / (step + 1)})
    print("printed on machine B")
    second.finish()
    assert SyncState.load(Path(second.dir)).complete

    rows = server_history(server, "moved", "moved1")
    assert [row["_step"] for row in rows] == list(range(15))
    assert rows[-1]["loss"] == pytest.approx(1 / 15)
    stored = server_run(server, "moved", "moved1")
    assert stored["state"] == "finished" and stored["config"]["lr"] == 0.1
    assert "output.log" in [item["name"] for item in server_files(server, "moved", "moved1")]
    with server.client() as client:
        output = client.get("/api/v1/runs/alice/moved/moved1/files/output.log").text
    assert "printed on machine A" in output and "printed on machine B" in output


def test_resume_must_of_a_run_neither_here_nor_on_the_server_is_refused(
    shared_server: ServerProcess, tmp_path: Path
) -> None:
    server = shared_server
    with pytest.raises(RunExistsError, match="on http"):
        jt.init(project="moved", id="nowhere1", dir=tmp_path, resume="must", settings=online(server))
    assert jt.run is None and not list((tmp_path / "jupyter_tracker").glob("run-*"))


def test_offline_resume_of_a_run_the_store_lacks_says_it_is_resumed_locally_only(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = jt.init(project="moved", id="local1", dir=tmp_path, resume="allow", mode="offline",
                  settings={"console": "off"})
    assert run.step == 0
    assert "resumed locally only" in capsys.readouterr().out
    run.finish()
