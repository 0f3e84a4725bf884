"""A synced run's warnings when JupyterLab reads a configured tracking server: the server's API answers
them to a key that may read the run (``GET /api/v1/runs/{entity}/{project}/{run_id}/warnings``), and
``RemoteBackend`` reads them there, so the extension's run page lists the same crossed limit, with its
advice and its key's text as it was logged, as it does from the local store. A JupyterLab process
configured for the server (``WANDB_BASE_URL``, ``WANDB_API_KEY``) answers them on its run endpoint."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

import jupyter_tracker as jt
from jupyter_tracker.api.backend import ApiError, RunNotFoundError
from jupyter_tracker.api.local import LocalBackend
from jupyter_tracker.api.remote import RemoteBackend
from jupyter_tracker.lab import run_views
from jupyter_tracker.settings import resolve
from tests.integration.lab_helpers import LabServer, free_port, isolated_environment
from tests.integration.server_fixtures import client_with_server, online, remote_backend

pytestmark = pytest.mark.integration
MARKUP = '<img src=x onerror="alert(1)">'


@pytest.fixture(scope="module")
def synced(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    root = tmp_path_factory.mktemp("run-warnings-remote")
    with client_with_server(root) as server:
        settings = online(server, live="off")
        run = jt.init(project="remote", dir=root / "runs", settings=settings)
        run.log({"loss": 1.0})
        with pytest.warns(UserWarning, match="one logged value"):
            run.log({f"blob {MARKUP}": "x" * 1_100_000})
        run.finish()
        quiet = jt.init(project="remote", dir=root / "runs", settings=settings)
        quiet.log({"loss": 1.0})
        quiet.finish()
        backend = remote_backend(server)
        yield {"server": server, "run": run, "quiet": quiet, "backend": backend, "root": root,
               "local": LocalBackend(root / "runs" / "jupyter_tracker"), "bob_key": server.create_key(user="bob")}
        backend.close()


def test_the_run_page_over_the_server_lists_the_runs_warnings(synced: dict[str, Any]) -> None:
    backend, run = synced["backend"], synced["run"]
    [stored] = backend.run_warnings(None, "remote", run.id)
    assert stored["kind"] == "value_size" and stored["bound"] == 1_000_000 and stored["observed"] > 1_000_000
    assert stored["subject"] == f"blob {MARKUP}", "the key's text comes back as it was logged"

    page = run_views.run_page(backend, "remote", run.id)
    [warning] = page["warnings"]
    assert warning["title"] == "one logged value" and "Histogram" in warning["advice"]
    assert "more than the recommended 1,000,000. The data is kept." in warning["message"]
    assert page["warnings"] == run_views.run_page(synced["local"], "remote", run.id)["warnings"], \
        "the same warnings as the local store's run page"
    assert run_views.run_page(backend, "remote", synced["quiet"].id)["warnings"] == []


def test_the_warnings_endpoint_answers_json_to_the_runs_readers_only(synced: dict[str, Any]) -> None:
    server, run = synced["server"], synced["run"]
    path = f"/api/v1/runs/{server.username}/remote/{run.id}/warnings"
    with server.client() as owner:
        answer = owner.get(path)
        assert answer.status_code == 200 and answer.headers["content-type"].startswith("application/json")
        assert [item["subject"] for item in answer.json()["warnings"]] == [f"blob {MARKUP}"]
        assert owner.get(f"/api/v1/runs/{server.username}/remote/no-such-run/warnings").status_code == 404
    with server.client(api_key="") as stranger:
        assert stranger.get(path).status_code == 401
    with server.client(api_key="jt_" + "0" * 40) as forged:
        assert forged.get(path).status_code == 401
    with server.client(api_key=synced["bob_key"]) as bob:
        refused = bob.get(path)
        assert refused.status_code == 403 and "warnings" not in refused.json()


def test_remote_warnings_refused_to_a_key_that_may_not_read_the_run(synced: dict[str, Any]) -> None:
    server, run = synced["server"], synced["run"]
    bob = RemoteBackend(resolve({"base_url": server.base_url, "api_key": synced["bob_key"], "mode": "online"}))
    try:
        with pytest.raises(ApiError):
            bob.run_warnings(server.username, "remote", run.id)
        with pytest.raises(RunNotFoundError):
            synced["backend"].run_warnings(None, "remote", "no-such-run")
    finally:
        bob.close()


@pytest.fixture(scope="module")
def lab(synced: dict[str, Any]) -> Iterator[LabServer]:
    """JupyterLab with the server extension, configured to read the tracking server with alice's key."""
    home: Path = synced["root"] / "lab-home"
    config = home / "jupyter-config"
    config.mkdir(parents=True)
    (config / "jupyter_server_config.json").write_text(
        json.dumps({"ServerApp": {"jpserver_extensions": {"jupyter_tracker.lab": True}}}), encoding="utf-8")
    (home / "work").mkdir()
    server = synced["server"]
    environment = isolated_environment({
        "WANDB_BASE_URL": server.base_url, "WANDB_API_KEY": server.api_key, "WANDB_MODE": "online",
        "JUPYTER_TRACKER_HOME": str(home / "tracker"), "JUPYTER_CONFIG_DIR": str(config),
        "JUPYTER_RUNTIME_DIR": str(home / "jupyter-runtime"), "JUPYTERLAB_SETTINGS_DIR": str(home / "lab-settings"),
        "JUPYTERLAB_WORKSPACES_DIR": str(home / "lab-workspaces"),
    })
    running = LabServer(home / "work", free_port(), environment, home / "jupyterlab.log")
    yield running
    running.stop()


def test_jupyterlab_over_the_server_answers_the_warnings_on_its_run_endpoint(
        synced: dict[str, Any], lab: LabServer) -> None:
    run = synced["run"]
    with httpx.Client(base_url=lab.base, timeout=60) as client:
        answer = client.get("/jupyter-tracker/run", params={"id": run.id, "project": "remote"},
                            headers={"Authorization": f"token {lab.token}"})
        assert answer.status_code == 200, lab.log_path.read_text(errors="replace")[-3000:]
        [warning] = answer.json()["warnings"]
        assert warning["kind"] == "value_size" and warning["subject"] == f"blob {MARKUP}"
        assert "Histogram" in warning["advice"]
        quiet = client.get("/jupyter-tracker/run", params={"id": synced["quiet"].id, "project": "remote"},
                           headers={"Authorization": f"token {lab.token}"})
        assert quiet.json()["warnings"] == []
    with httpx.Client(base_url=lab.base, timeout=60) as stranger:  # no token, no cookie from a signed-in request
        refused = stranger.get("/jupyter-tracker/run", params={"id": run.id, "project": "remote"})
        assert refused.status_code == 403 and "warnings" not in refused.text, "Jupyter's own auth guards the endpoint"
