"""Artifacts through a real tracking server: logged online, used from another machine's store, deduplicated, cached."""

# ruff: noqa: F811  (the server fixtures are imported by name and used as parameters)
from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import pytest

import jupyter_tracker as jt
from jupyter_tracker.api import Api
from jupyter_tracker.api.remote import RemoteBackend
from jupyter_tracker.artifacts import Artifact, ArtifactNotFoundError
from jupyter_tracker.artifacts.local_store import LocalArtifactStore
from jupyter_tracker.artifacts.remote_store import RemoteArtifactStore
from jupyter_tracker.settings import resolve
from tests.integration.server_fixtures import (  # noqa: F401  (fixtures)
    ServerProcess,
    server_backend,
    shared_server,
)

pytestmark = pytest.mark.integration


@pytest.fixture(autouse=True)
def isolated_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JUPYTER_TRACKER_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("WANDB_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("WANDB_SILENT", "true")
    for name in ("WANDB_BASE_URL", "WANDB_API_KEY", "WANDB_MODE", "WANDB_DIR", "WANDB_ENTITY", "WANDB_PROJECT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


def online(server: ServerProcess, store: Path, project: str) -> jt.Run:
    return jt.init(project=project, dir=store, settings={
        "base_url": server.base_url, "api_key": server.api_key, "sync_interval": 0.2, "console": "off",
        "sync_unsynced_on_init": False, "disable_system_metrics": True, "disable_code": True,
    })


def api_of(server: ServerProcess) -> Api:
    return Api({"base_url": server.base_url}, api_key=server.api_key)


def blob_files(server: ServerProcess) -> list[Path]:
    return [path for path in (server.data_dir / "artifacts").rglob("*") if path.is_file() and "sha256" in path.parts]


def test_files_dirs_references_and_aliases_round_trip_through_the_server(
        shared_server: ServerProcess, tmp_path: Path) -> None:
    (tmp_path / "data" / "sub").mkdir(parents=True)
    (tmp_path / "data" / "train.csv").write_text("x,y\n1,2\n")
    (tmp_path / "data" / "sub" / "w.bin").write_bytes(os.urandom(300_000))
    producer = online(shared_server, tmp_path / "machine-a", "roundtrip")
    artifact = Artifact("digits", type="dataset", metadata={"rows": 1, "loss": float("inf")})
    artifact.add_dir("data")
    with artifact.new_file("README.md") as handle:
        handle.write("read me")
    artifact.add_reference("https://example.com/big.tar")
    producer.log_artifact(artifact, aliases=["best"])
    producer.finish()  # waits for the upload

    # another machine: an empty local store and an empty cache
    os.environ["WANDB_CACHE_DIR"] = str(tmp_path / "cache-b")
    consumer = online(shared_server, tmp_path / "machine-b", "roundtrip")
    used = consumer.use_artifact("digits:best")
    assert (used.version, used.type, used.metadata) == ("v0", "dataset", {"rows": 1, "loss": float("inf")})
    folder = Path(used.download(tmp_path / "got"))
    assert (folder / "train.csv").read_text() == "x,y\n1,2\n"
    assert (folder / "sub" / "w.bin").read_bytes() == (tmp_path / "data" / "sub" / "w.bin").read_bytes()
    assert (folder / "README.md").read_text() == "read me"
    assert used.get_entry("big.tar").ref == "https://example.com/big.tar"
    used.verify(folder)
    assert len(list((tmp_path / "cache-b" / "artifacts" / "obj").rglob("*"))) >= 3  # WANDB_CACHE_DIR honoured
    consumer.finish()

    api = api_of(shared_server)
    stored = api.artifact("roundtrip/digits:best")
    assert sorted(stored.aliases) == ["best", "latest"]
    assert stored.logged_by().id == producer.id
    assert [run.id for run in stored.used_by()] == [consumer.id]
    assert [version.version for version in api.artifacts("dataset", "roundtrip/digits")] == ["v0"]
    assert [a.name for a in api.run(f"roundtrip/{producer.id}").logged_artifacts()] == ["digits:v0"]
    assert [a.name for a in api.run(f"roundtrip/{consumer.id}").used_artifacts()] == ["digits:v0"]
    assert not LocalArtifactStore(tmp_path / "machine-b" / "jupyter_tracker").versions(None, "roundtrip", "digits")


def test_identical_content_is_stored_and_uploaded_once(shared_server: ServerProcess, tmp_path: Path) -> None:
    payload = os.urandom(3 << 20)
    (tmp_path / "weights.bin").write_bytes(payload)
    run = online(shared_server, tmp_path / "store", "dedup")
    before = len(blob_files(shared_server))
    for name in ("model-a", "model-b", "model-a"):
        artifact = Artifact(name, type="model")
        artifact.add_file("weights.bin")
        run.log_artifact(artifact, aliases=["best"])
    run.finish()
    api = api_of(shared_server)
    assert [a.version for a in api.artifacts("model", "dedup/model-a")] == ["v0"]  # identical again: no version
    assert api.artifact("dedup/model-b:best").get_entry("weights.bin").digest == hashlib.sha256(payload).hexdigest()
    assert len(blob_files(shared_server)) == before + 1  # one copy on the server for both artifacts

    # pushing it again sends no file content at all
    remote = RemoteArtifactStore(RemoteBackend(resolve({"base_url": shared_server.base_url,
                                                        "api_key": shared_server.api_key})))
    local = LocalArtifactStore(tmp_path / "store" / "jupyter_tracker")
    remote.push(local, local.resolve(None, "dedup", "model-a", "latest"), None)
    assert remote.bytes_uploaded == 0


def test_an_interrupted_upload_resumes_with_the_files_still_missing(shared_server: ServerProcess, tmp_path: Path) -> None:
    first, second = os.urandom(200_000), os.urandom(200_000)
    (tmp_path / "a.bin").write_bytes(first)
    (tmp_path / "b.bin").write_bytes(second)
    run = jt.init(project="resume", dir=tmp_path / "store", mode="offline")
    artifact = Artifact("pair", type="model")
    artifact.add_file("a.bin")
    artifact.add_file("b.bin")
    run.log_artifact(artifact)
    run.finish()
    with shared_server.client() as http:
        entity = http.get("/api/v1/viewer").json()["default_entity"]
        base = f"/api/v1/artifacts/{entity}/resume"
        # the upload stopped after the first file
        assert http.put(f"{base}/blobs/{hashlib.sha256(first).hexdigest()}", content=first).status_code == 200
        body: dict[str, Any] = {"type": "model", "entries": artifact.manifest["entries"]}
        refused = http.post(f"{base}/collections/pair/versions", json=body)
        assert refused.status_code == 409 and refused.json()["missing"] == [hashlib.sha256(second).hexdigest()]
        wrong = http.put(f"{base}/blobs/{hashlib.sha256(second).hexdigest()}", content=b"not the content")
        assert wrong.status_code == 400 and "nothing was kept" in wrong.json()["error"]
        other = shared_server.create_key(user="mallory")
        assert http.get(f"{base}/collections/pair", headers={"Authorization": f"Bearer {other}"}).status_code == 403
    remote = RemoteArtifactStore(RemoteBackend(resolve({"base_url": shared_server.base_url,
                                                        "api_key": shared_server.api_key})))
    local = LocalArtifactStore(tmp_path / "store" / "jupyter_tracker")
    record = remote.push(local, local.resolve(None, "resume", "pair", "latest"), None)
    assert (remote.files_uploaded, remote.bytes_uploaded) == (1, len(second))
    assert record["version"] == 0
    with pytest.raises(ArtifactNotFoundError, match="pair:nope"):
        remote.resolve(None, "resume", "pair", "nope")


def test_downloads_come_from_the_cache_once_fetched(shared_server: ServerProcess, tmp_path: Path) -> None:
    (tmp_path / "table.csv").write_text("a\n1\n")
    run = online(shared_server, tmp_path / "store", "cache")
    run.log_artifact("table.csv", name="table", type="dataset")
    run.finish()
    stored = api_of(shared_server).artifact("cache/table:latest")
    stored.download(tmp_path / "first")
    digest = stored.get_entry("table.csv").digest
    for path in blob_files(shared_server):  # the server loses the file: the cache still has it
        if path.name == digest[2:]:
            path.unlink()
    assert (Path(stored.download(tmp_path / "second")) / "table.csv").read_text() == "a\n1\n"
    assert any((tmp_path / "cache" / "artifacts" / "obj").rglob("*"))


def test_artifacts_of_an_offline_run_reach_the_server_with_jupyter_tracker_sync(
        shared_server: ServerProcess, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from jupyter_tracker.cli import main

    (tmp_path / "weights.bin").write_bytes(os.urandom(50_000))
    run = jt.init(project="offline-sync", dir=tmp_path / "store", mode="offline")
    run.log_artifact("weights.bin", name="offline-model", type="model", aliases=["best"])
    run.finish()
    result = CliRunner().invoke(main, ["sync", run.dir, "--host", shared_server.base_url, "--key", shared_server.api_key])
    assert result.exit_code == 0, result.output
    stored = api_of(shared_server).artifact("offline-sync/offline-model:best")
    assert stored.logged_by().id == run.id
    assert (Path(stored.download(tmp_path / "got")) / "weights.bin").read_bytes() == (tmp_path / "weights.bin").read_bytes()


def test_a_large_file_goes_in_parts_and_an_upload_cut_off_mid_file_resumes(
        shared_server: ServerProcess, tmp_path: Path) -> None:
    payload = os.urandom(300_000)
    digest = hashlib.sha256(payload).hexdigest()
    (tmp_path / "big.bin").write_bytes(payload)
    run = jt.init(project="parts", dir=tmp_path / "store", mode="offline")
    run.log_artifact("big.bin", name="big", type="model")
    run.finish()
    settings = resolve({"base_url": shared_server.base_url, "api_key": shared_server.api_key})
    with shared_server.client() as http:
        entity = http.get("/api/v1/viewer").json()["default_entity"]
        url = f"/api/v1/artifacts/{entity}/parts/blobs/{digest}/part"
        # the first 100,000 bytes arrived before the connection was cut
        first = http.put(url, params={"offset": 0, "size": len(payload)}, content=payload[:100_000])
        assert first.json() == {"received": 100_000, "stored": False}
        skipped = http.put(url, params={"offset": 150_000, "size": len(payload)}, content=payload[150_000:160_000])
        assert skipped.status_code == 409 and skipped.json()["received"] == 100_000
    remote = RemoteArtifactStore(RemoteBackend(settings), part_bytes=64 * 1024)
    local = LocalArtifactStore(tmp_path / "store" / "jupyter_tracker")
    remote.push(local, local.resolve(None, "parts", "big", "latest"), None)
    assert remote.bytes_uploaded == len(payload) - 100_000  # only what had not arrived

    from jupyter_tracker.artifacts.content_store import ContentStore

    reader = RemoteArtifactStore(RemoteBackend(settings), cache=ContentStore(tmp_path / "fresh-cache"),
                                 part_bytes=64 * 1024)
    stored = Artifact._from_record(reader.resolve(None, "parts", "big", "latest"), reader)
    assert (Path(stored.download(tmp_path / "got")) / "big.bin").read_bytes() == payload  # fetched in 5 parts
