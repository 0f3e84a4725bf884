"""``jupyter_tracker.Api`` over a real tracking server (the remote backend), and ``login``."""

# ruff: noqa: F811  (the server fixtures are imported by name and used as parameters)
from __future__ import annotations

import math
import os
import stat
from pathlib import Path

import pytest

import jupyter_tracker as jt
from jupyter_tracker import settings as settings_module
from jupyter_tracker.api import Api, backend_for
from jupyter_tracker.api.backend import ApiError, RunNotFoundError
from jupyter_tracker.api.remote import RemoteBackend
from jupyter_tracker.sync.login import LoginError, login
from tests.integration.server_fixtures import (  # noqa: F401  (fixtures)
    ServerProcess,
    isolated_environment,
    online,
    server,
    server_backend,
    server_factory,
)

pytestmark = pytest.mark.integration


def log_runs(server: ServerProcess, tmp_path: Path) -> list[jt.Run]:
    runs = []
    for index, lr in enumerate((0.1, 0.005, 0.001)):
        run = jt.init(
            project="mnist",
            dir=tmp_path,
            group="sweep" if index else "base",
            tags=["t"] if index else [],
            config={"lr": lr, "opt": {"name": "adam"}},
            settings=online(server),
        )
        for step in range(3000):
            run.log(
                {"loss": (1.0 + index) / (step + 1), "acc": lr * step / 3000, "spike": 50.0 if step == 1234 else 0.0}
            )
        run.log({"odd": float("nan")})
        Path(run.dir, "files", "notes.txt").write_text(f"run {index}\n")
        run.finish()
        runs.append(run)
    return runs


def test_api_reads_runs_history_and_files_from_the_server(server: ServerProcess, tmp_path: Path) -> None:
    runs = log_runs(server, tmp_path)
    api = Api({"base_url": server.base_url}, api_key=server.api_key)
    assert isinstance(api.backend, RemoteBackend)
    found = api.runs("alice/mnist", filters={"config.lr": {"$lt": 0.01}}, order="-summary.acc")
    assert [run.id for run in found] == [runs[1].id, runs[2].id]
    assert len(api.runs("mnist", per_page=1)) == 3  # the key's default entity

    remote = api.run(f"alice/mnist/{runs[0].id}")
    assert remote.config["lr"] == 0.1
    assert remote.summary["loss"] == pytest.approx(1.0 / 3000)
    assert math.isnan(remote.summary["odd"])
    assert remote.state == "finished"

    frame = remote.history(keys=["spike"], samples=100)
    assert len(frame) == 100  # wandb's row sampling: evenly spaced rows, first and last kept
    assert frame["_step"].iloc[0] == 0 and frame["_step"].iloc[-1] == 2999  # the last row holding spike
    rows = list(remote.scan_history(keys=["loss"], page_size=700))
    assert len(rows) == 3000
    assert [row["loss"] for row in rows[:2]] == [1.0, 0.5]

    names = [file.name for file in remote.files()]
    assert "notes.txt" in names
    path = remote.file("notes.txt").download(root=tmp_path / "downloads")
    assert path.read_text() == "run 0\n"
    with pytest.raises(FileExistsError):
        remote.file("notes.txt").download(root=tmp_path / "downloads")


def test_api_errors_speak_the_api_s_terms(server: ServerProcess) -> None:
    api = Api({"base_url": server.base_url}, api_key=server.api_key)
    with pytest.raises(RunNotFoundError):
        api.run("alice/mnist/nosuchrun")
    with pytest.raises(ValueError):
        api.runs("alice/mnist", filters={"config.lr": {"$bogus": 1}})
    with pytest.raises(ApiError) as refused:
        Api({"base_url": server.base_url}, api_key="jt_bad_key").run("alice/mnist/abc")
    assert "jt_bad_key" not in str(refused.value)


def test_offline_mode_reads_the_local_store_even_with_a_server(server: ServerProcess, tmp_path: Path) -> None:
    settings = settings_module.resolve(
        {"base_url": server.base_url, "api_key": server.api_key, "mode": "offline", "dir": tmp_path}
    )
    assert backend_for(settings).kind == "local"


def test_login_stores_the_key_privately_and_settings_use_it(server: ServerProcess, tmp_path: Path) -> None:
    assert login(key=server.api_key, host=server.base_url)
    path = settings_module.login_file_path()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    resolved = settings_module.resolve({})
    assert resolved.base_url == server.base_url
    assert resolved.api_key == server.api_key
    # the environment wins over the login file
    os.environ["WANDB_API_KEY"] = "jt_from_environment"
    try:
        assert settings_module.resolve({}).api_key == "jt_from_environment"
    finally:
        del os.environ["WANDB_API_KEY"]
    # a run started with no explicit server syncs to the logged-in one
    run = jt.init(
        project="after-login",
        dir=tmp_path,
        settings={"sync_interval": 0.2, "console": "off", "sync_unsynced_on_init": False},
    )
    run.log({"loss": 1.0})
    run.finish()
    assert Api().run(f"after-login/{run.id}").summary["loss"] == 1.0


def test_login_refuses_a_bad_key_without_echoing_it(server: ServerProcess, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(LoginError) as refused:
        login(key="jt_abc_definitelywrong", host=server.base_url)
    assert "definitelywrong" not in str(refused.value)
    assert not settings_module.login_file_path().exists()
    output = capsys.readouterr()
    assert "definitelywrong" not in output.out + output.err


def test_history_samples_the_same_rows_from_the_server_and_the_local_store(
    server: ServerProcess, tmp_path: Path
) -> None:
    """Issue 9 item 22: the server sampled points per key, so rows had holes the local store's had not."""
    run = jt.init(
        project="same-rows",
        dir=tmp_path,
        settings={
            "base_url": server.base_url,
            "api_key": server.api_key,
            "sync_interval": 0.2,
            "console": "off",
            "sync_unsynced_on_init": False,
        },
    )
    for step in range(1000):
        # a spike in one key and a dip in the other: per-key min/max sampling picks different steps
        run.log(
            {"train/loss": 50.0 if step == 61 else 1.0 / (step + 1), "train/acc": -1.0 if step == 789 else step / 1000}
        )
        if step % 97 == 0:
            run.log({"val/acc": step / 1000, "note": f"checkpoint {step}"})
    run.finish()
    local = Api({"mode": "offline", "dir": tmp_path}).run(f"same-rows/{run.id}")
    remote = Api({"base_url": server.base_url}, api_key=server.api_key).run(f"alice/same-rows/{run.id}")
    queries = [
        {"keys": ["train/loss", "train/acc"], "samples": 6},
        {"keys": ["val/acc"], "samples": 4},
        {"keys": ["note", "train/acc"], "samples": 9},
        {"keys": ["train/loss"], "samples": 5000},
        {"samples": 7},
        {"keys": ["train/loss", "_runtime"], "samples": 3},
    ]
    for query in queries:
        on_server = remote.history(pandas=False, **query)
        on_disk = local.history(pandas=False, **query)
        assert on_server == on_disk, query
    rows = remote.history(keys=["train/loss", "train/acc"], samples=6, pandas=False)
    assert len(rows) == 6 and all({"_step", "train/loss", "train/acc"} <= set(row) for row in rows)
