"""Changing a run on the tracking server through the Api (``run.update()``), append-only (issue 9, item 21)."""

# ruff: noqa: F811  (the server fixtures are imported by name and used as parameters)
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import jupyter_tracker as jt
from tests.integration.server_fixtures import ServerProcess, shared_server  # noqa: F401  (fixture)
from tests.integration.test_sync import isolated_environment, server_history, server_run  # noqa: F401

pytestmark = pytest.mark.integration


def online(server: ServerProcess) -> dict[str, Any]:
    return {"base_url": server.base_url, "api_key": server.api_key, "sync_interval": 0.2, "sync_timeout": 60,
            "console": "off", "sync_unsynced_on_init": False}


def test_a_finished_run_on_the_server_is_changed_and_a_later_resume_loses_nothing(
    shared_server: ServerProcess, tmp_path: Path
) -> None:
    server = shared_server
    run = jt.init(project="edits", id="edit1", dir=tmp_path, config={"lr": 0.1}, tags=["a"], settings=online(server))
    for step in range(10):
        run.log({"loss": 1.0 / (step + 1)})
    run.finish()
    before = server_run(server, "edits", "edit1")

    api = jt.Api(overrides={"base_url": server.base_url}, api_key=server.api_key)
    stored = api.run("alice/edits/edit1")
    stored.summary["test/acc"] = 0.93
    stored.config["checkpoint"] = "best.pt"
    stored.tags.append("evaluated")
    stored.name = "renamed"
    stored.notes = "evaluated"
    stored.update()

    after = server_run(server, "edits", "edit1")
    assert after["summary"]["test/acc"] == 0.93 and after["summary"]["loss"] == pytest.approx(0.1)
    assert after["config"] == {"lr": 0.1, "checkpoint": "best.pt"}
    assert after["tags"] == ["a", "evaluated"] and after["name"] == "renamed" and after["notes"] == "evaluated"
    assert after["state"] == "finished" and after["applied_seq"] == before["applied_seq"] + 4
    assert jt.Api(overrides={"base_url": server.base_url}, api_key=server.api_key).run(
        "alice/edits/edit1").summary["test/acc"] == 0.93
    assert [row["_step"] for row in server_history(server, "edits", "edit1")] == list(range(10))

    # the local log does not hold the change; resuming it online must not reuse the server's numbers
    resumed = jt.init(project="edits", id="edit1", dir=tmp_path, resume="allow", settings=online(server))
    for step in range(10, 13):
        resumed.log({"loss": 1.0 / (step + 1)})
    resumed.finish()
    rows = server_history(server, "edits", "edit1")
    assert [row["_step"] for row in rows] == list(range(13))
    final = server_run(server, "edits", "edit1")
    assert final["summary"]["test/acc"] == 0.93 and final["state"] == "finished"
