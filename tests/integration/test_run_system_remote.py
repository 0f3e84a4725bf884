"""System metrics of a synced run when JupyterLab reads a configured tracking server: ``RemoteBackend``
reads them from the server's HTTP API (the history endpoint's system stream, with the API key), so the
run page charts the same CPU and memory windows against wall time as it does from the local store."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

import jupyter_tracker as jt
from jupyter_tracker.api.backend import ApiError
from jupyter_tracker.api.local import LocalBackend
from jupyter_tracker.api.remote import RemoteBackend
from jupyter_tracker.lab import run_views
from jupyter_tracker.settings import resolve
from tests.integration.server_fixtures import client_with_server, online, remote_backend

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def synced(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    root = tmp_path_factory.mktemp("run-system-remote")
    with client_with_server(root) as server:
        settings = online(server, live="off", system_sample_interval=0.02, system_window=0.1)
        run = jt.init(project="remote", dir=root / "runs", settings=settings)
        for step in range(5):
            run.log({"loss": 1.0 / (step + 1)})
        time.sleep(0.6)
        run.finish()
        backend = remote_backend(server)
        yield {"server": server, "run": run, "backend": backend, "local": LocalBackend(root / "runs" / "jupyter_tracker")}
        backend.close()


def test_system_rows_come_from_the_tracking_server(synced: dict[str, Any]) -> None:
    run = synced["run"]
    remote = synced["backend"].system_rows(None, "remote", run.id)
    local = synced["local"].system_rows(None, "remote", run.id)
    assert len(local) >= 2, "the run sampled its system metrics"
    assert [row["_timestamp"] for row in remote] == pytest.approx([row["_timestamp"] for row in local])
    assert [row["system/cpu_percent"] for row in remote] == pytest.approx([row["system/cpu_percent"] for row in local])
    assert [row["system/memory_percent"] for row in remote] == pytest.approx(
        [row["system/memory_percent"] for row in local])


def test_the_run_page_over_the_server_charts_system_metrics(synced: dict[str, Any]) -> None:
    run = synced["run"]
    page = run_views.run_page(synced["backend"], "remote", run.id)
    cpu = page["system"]["system/cpu_percent"]
    assert cpu["points"] >= 2 and cpu["x"]["_timestamp"][0] > 1e9, "charted against wall time"
    assert "system/cpu_percent" not in page["metrics"] and "loss" in page["metrics"]


def test_system_rows_need_a_valid_api_key(synced: dict[str, Any]) -> None:
    server, run = synced["server"], synced["run"]
    stranger = RemoteBackend(resolve({"base_url": server.base_url, "api_key": "jt_" + "0" * 40, "mode": "online"}))
    try:
        with pytest.raises(ApiError):
            stranger.system_rows("alice", "remote", run.id)
    finally:
        stranger.close()
