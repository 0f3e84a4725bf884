"""A run against a real server: files written into ``run.dir`` are synced at finish; ``run.url`` is its page."""

# ruff: noqa: F811  (the server fixtures are imported by name and used as parameters)
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import jupyter_tracker as jt
from jupyter_tracker.api import Api
from tests.integration.server_fixtures import ServerProcess, shared_server  # noqa: F401  (fixtures)

pytestmark = pytest.mark.integration


@pytest.fixture(autouse=True)
def isolated_environment(store_root: Path) -> None:
    """A fresh store, no login file and no ``WANDB_*`` variable from the machine running the tests."""


def online(server: ServerProcess, **extra: Any) -> dict[str, Any]:
    return {"base_url": server.base_url, "api_key": server.api_key, "sync_interval": 0.2, "sync_timeout": 60,
            "console": "off", "sync_unsynced_on_init": False, **extra}


def test_files_written_into_run_dir_are_synced_less_the_ignore_globs(shared_server: ServerProcess,
                                                                     tmp_path: Path) -> None:
    run = jt.init(project="checkpoints", settings=online(shared_server, ignore_globs=["*.tmp"]))
    for epoch in range(2):
        run.log({"loss": 1.0 / (epoch + 1)})
        Path(run.dir, "checkpoints").mkdir(exist_ok=True)
        Path(run.dir, "checkpoints", f"epoch-{epoch}.ckpt").write_bytes(f"weights {epoch}".encode())
    Path(run.dir, "model.pt").write_bytes(b"final weights")
    Path(run.dir, "scratch.tmp").write_text("never uploaded")
    run.finish()

    remote = Api({"base_url": shared_server.base_url}, api_key=shared_server.api_key).run(f"alice/checkpoints/{run.id}")
    names = {item.name for item in remote.files()}
    assert {"model.pt", "checkpoints/epoch-0.ckpt", "checkpoints/epoch-1.ckpt"} <= names
    assert "scratch.tmp" not in names and not names & {"run.jtlog", "sync.json"}
    remote.file("checkpoints/epoch-1.ckpt").download(root=str(tmp_path / "down"))
    assert (tmp_path / "down" / "checkpoints" / "epoch-1.ckpt").read_bytes() == b"weights 1"


def test_a_synced_run_s_url_is_its_page_on_the_server(shared_server: ServerProcess) -> None:
    run = jt.init(project="pages", settings=online(shared_server))
    run.log({"loss": 0.5})
    run.finish()
    assert run.url == f"{shared_server.base_url}/{shared_server.username}/pages/runs/{run.id}"
    named = jt.init(project="pages", entity=shared_server.username, settings=online(shared_server))
    assert named.url == f"{shared_server.base_url}/{shared_server.username}/pages/runs/{named.id}"
    named.finish()
