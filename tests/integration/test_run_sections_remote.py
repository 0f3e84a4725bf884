"""The JupyterLab extension's run sections when JupyterLab reads a configured tracking server (not the
local store): media, files and a file's bytes of a synced run, and a compare view, through the
server's HTTP API (``RemoteBackend``), with a file fetched only by a name the run lists."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import jupyter_tracker as jt
from jupyter_tracker.api.backend import RunNotFoundError
from jupyter_tracker.lab import run_views
from jupyter_tracker.lab.handlers import run_file_path
from tests.integration.server_fixtures import client_with_server, online, remote_backend

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def synced(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    root = tmp_path_factory.mktemp("run-sections-remote")
    with client_with_server(root) as server:
        settings = online(server, live="off")
        (root / "notes.txt").write_text("notes\n", encoding="utf-8")
        ids = []
        for lr in (0.1, 0.01):
            run = jt.init(project="remote", dir=root / "runs", config={"lr": lr}, settings=settings)
            for step in range(20):
                row: dict[str, Any] = {"loss": lr * (20 - step)}
                if step % 10 == 0:
                    row["picture"] = jt.Image(np.full((4, 4, 3), step, dtype=np.uint8), caption=f"at {step}")
                run.log(row)
            run.save(str(root / "notes.txt"), base_path=str(root))
            run.finish()
            ids.append(run.id)
        backend = remote_backend(server)
        yield {"server": server, "ids": ids, "backend": backend, "root": root}
        backend.close()


def test_media_files_and_compare_come_from_the_tracking_server(synced: dict[str, Any]) -> None:
    backend = synced["backend"]
    first, second = synced["ids"]
    media = run_views.run_media(backend, "remote", first)["media"]["picture"]
    assert [entry["step"] for entry in media["steps"]] == [0, 10]
    image = media["steps"][1]["images"][0]
    assert image["caption"] == "at 10"

    names = [item["name"] for item in run_views.run_files(backend, "remote", first)["files"]]
    assert image["file"] in names and "notes.txt" in names
    folder = synced["root"] / "downloads"
    folder.mkdir()
    assert run_file_path(backend, "remote", first, image["file"], folder).read_bytes()[:4] == b"\x89PNG"
    assert run_file_path(backend, "remote", first, "notes.txt", folder).read_text(encoding="utf-8") == "notes\n"
    for name in ("../notes.txt", "media/../../x", "nope.txt"):
        with pytest.raises(RunNotFoundError, match="has no file"):
            run_file_path(backend, "remote", first, name, folder)
    assert sorted(path.name for path in Path(folder).rglob("*") if path.is_file()) == sorted(
        [Path(image["file"]).name, "notes.txt"]), "nothing lands outside the download folder"

    compared = run_views.compare_runs(backend, "remote", [first, second])
    assert set(compared["metrics"]["loss"]) == {first, second}
    assert compared["config"][second]["lr"] == 0.01
