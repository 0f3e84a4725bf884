"""Artifacts through the local store: files, folders, new_file, references, versions, aliases, lineage, dedup, cache."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import jupyter_tracker as jt
from jupyter_tracker.artifacts import (
    Artifact,
    ArtifactFinalizedError,
    ArtifactNameError,
    ArtifactNotFoundError,
    ArtifactTypeError,
    ArtifactVerificationError,
    ManifestError,
)
from jupyter_tracker.artifacts.local_store import LocalArtifactStore


@pytest.fixture
def work(store_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A cwd with a small dataset folder; the cache under ``tmp_path/cache`` (``WANDB_CACHE_DIR``)."""
    monkeypatch.setenv("WANDB_CACHE_DIR", str(tmp_path / "cache"))
    (tmp_path / "data" / "images").mkdir(parents=True)
    (tmp_path / "data" / "labels.csv").write_text("id,label\n1,cat\n")
    (tmp_path / "data" / "images" / "1.png").write_bytes(b"\x89PNG-one")
    (tmp_path / "model.pt").write_bytes(os.urandom(4096))
    return tmp_path


def dataset(extra: str = "") -> Artifact:
    artifact = Artifact("mnist", type="dataset", description="digits", metadata={"rows": 1})
    artifact.add_dir("data")
    with artifact.new_file("README.md") as handle:
        handle.write("digits" + extra)
    return artifact


def test_files_dirs_new_file_round_trip_through_the_local_store(work: Path) -> None:
    run = jt.init(project="art", mode="offline")
    logged = run.log_artifact(dataset(), aliases=["best"])
    assert (logged.name, logged.version, logged.state) == ("mnist:v0", "v0", "COMMITTED")
    assert sorted(logged.aliases) == ["best", "latest"]
    assert [entry.path for entry in logged.files()] == ["README.md", "images/1.png", "labels.csv"]
    run.finish()

    reader = jt.init(project="art", mode="offline")
    used = reader.use_artifact("mnist:best")
    folder = Path(used.download(work / "out"))
    assert (folder / "labels.csv").read_text() == "id,label\n1,cat\n"
    assert (folder / "images" / "1.png").read_bytes() == b"\x89PNG-one"
    assert (folder / "README.md").read_text() == "digits"
    used.verify(folder)
    assert (used.type, used.description, used.metadata) == ("dataset", "digits", {"rows": 1})
    assert used.get_entry("labels.csv").size == len("id,label\n1,cat\n")
    default = Path(used.download())
    assert default == Path("artifacts") / "mnist:v0" and (work / default / "labels.csv").is_file()


def test_identical_content_logs_no_new_version_and_latest_and_aliases_move(work: Path) -> None:
    run = jt.init(project="art", mode="offline")
    first = run.log_artifact(dataset(), aliases=["best"])
    again = run.log_artifact(dataset(), aliases=["prod"])
    assert again.version == "v0" and first.digest == again.digest
    changed = run.log_artifact(dataset(extra=" v2"), aliases=["best"])
    assert changed.version == "v1"
    assert sorted(changed.aliases) == ["best", "latest"]
    api = jt.Api()
    assert sorted(api.artifact("art/mnist:v0").aliases) == ["prod"]
    assert api.artifact("art/mnist").version == "v1"  # latest by default
    assert api.artifact("art/mnist:best").version == "v1"
    assert [a.version for a in api.artifacts("dataset", "art/mnist")] == ["v0", "v1"]
    older = api.artifact("art/mnist:v0")
    older.aliases.append("golden")
    older.save()
    assert sorted(api.artifact("art/mnist:golden").aliases) == ["golden", "prod"]


def test_same_file_in_two_artifacts_is_stored_once(work: Path, store_root: Path) -> None:
    (work / "big.bin").write_bytes(os.urandom(2 << 20))
    run = jt.init(project="art", mode="offline")
    for name in ("weights-a", "weights-b"):
        artifact = Artifact(name, type="model")
        artifact.add_file("big.bin")
        run.log_artifact(artifact)
    run.log_artifact("big.bin", name="weights-a", type="model")  # identical again: no version, no copy
    store = LocalArtifactStore(store_root)
    assert store.objects.disk_bytes() == 2 << 20
    assert jt.Api().artifact("art/weights-a").version == "v0"


def test_references_are_recorded_and_file_references_copied_on_download(work: Path) -> None:
    run = jt.init(project="art", mode="offline")
    artifact = Artifact("refs", type="dataset")
    artifact.add_reference("https://example.com/data/train.csv")
    artifact.add_reference((work / "data").as_uri(), name="local")
    run.log_artifact(artifact)
    used = jt.Api().artifact("art/refs:latest")
    entry = used.get_entry("train.csv")
    assert entry.ref == "https://example.com/data/train.csv" and entry.size is None
    assert used.get_entry("local/labels.csv").ref == (work / "data" / "labels.csv").resolve().as_uri()
    folder = Path(used.download(work / "refs"))
    assert (folder / "local" / "labels.csv").read_text() == "id,label\n1,cat\n"
    assert not (folder / "train.csv").exists()  # an http reference is not fetched
    (work / "data" / "labels.csv").write_text("changed")
    with pytest.raises(ArtifactVerificationError, match="changed since it was logged"):
        used.download(work / "refs2")


def test_lineage_logged_by_and_used_by(work: Path) -> None:
    producer = jt.init(project="art", mode="offline")
    producer.log_artifact(dataset())
    producer.finish()
    consumer = jt.init(project="art", mode="offline")
    jt.use_artifact("mnist:latest")
    consumer.finish()
    stored = jt.Api().artifact("art/mnist:v0")
    assert stored.logged_by().id == producer.id
    assert [run.id for run in stored.used_by()] == [consumer.id]
    assert [a.name for a in jt.Api().run(f"art/{producer.id}").logged_artifacts()] == ["mnist:v0"]
    assert [a.name for a in jt.Api().run(f"art/{consumer.id}").used_artifacts()] == ["mnist:v0"]
    assert jt.Api().run(f"art/{consumer.id}").logged_artifacts() == []


def test_checkout_and_verify(work: Path) -> None:
    run = jt.init(project="art", mode="offline")
    logged = run.log_artifact(dataset())
    folder = work / "checkout"
    folder.mkdir()
    (folder / "stray.txt").write_text("not in the artifact")
    logged.checkout(folder)
    assert not (folder / "stray.txt").exists()
    logged.verify(folder)
    (folder / "labels.csv").write_text("edited")
    (folder / "extra.txt").write_text("x")
    with pytest.raises(ArtifactVerificationError, match="labels.csv: content differs.*extra.txt: not in the artifact"):
        logged.verify(folder)


def test_new_file_is_staged_under_wandb_cache_dir(work: Path) -> None:
    artifact = Artifact("notes", type="text")
    with artifact.new_file("a/b.txt") as handle:
        handle.write("hello")
    staged = Path(artifact.get_entry("a/b.txt").local_path or "")
    assert (work / "cache") in staged.parents and staged.read_text() == "hello"
    jt.init(project="art", mode="offline").log_artifact(artifact)
    assert not staged.exists()  # moved into the store, the staging copy dropped


def test_bad_input_is_refused_with_a_clear_message(work: Path) -> None:
    with pytest.raises(ArtifactNameError, match="'my model'"):
        Artifact("my model", type="model")
    artifact = Artifact("m", type="model")
    with pytest.raises(ManifestError, match="would leave"):
        artifact.add_file("model.pt", name="../escape.pt")
    with pytest.raises(FileNotFoundError, match="nope.pt"):
        artifact.add_file("nope.pt")
    with pytest.raises(ValueError, match="not a file://"):
        artifact.add_reference("s3://bucket/key")
    run = jt.init(project="art", mode="offline")
    artifact.add_file("model.pt")
    run.log_artifact(artifact)
    with pytest.raises(ArtifactFinalizedError):
        artifact.add_file("model.pt", name="other.pt")
    clash = Artifact("m", type="dataset")
    clash.add_file("model.pt", name="x.pt")
    with pytest.raises(ArtifactTypeError, match="type 'model'"):
        run.log_artifact(clash)
    with pytest.raises(ArtifactNotFoundError, match="m:v7"):
        run.use_artifact("m:v7")
    with pytest.raises(ArtifactNameError, match="v3"):
        run.log_artifact(artifact, aliases=["v3"])
    run.finish()
    with pytest.raises(jt.RunFinishedError, match="log_artifact"):
        run.log_artifact(artifact)
    assert jt.Api().artifact("art/m").version == "v0"  # nothing logged by the refused calls


def test_disabled_run_accepts_artifacts(work: Path) -> None:
    run = jt.init(project="art", mode="disabled")
    artifact = Artifact("m", type="model")
    artifact.add_file("model.pt")
    assert run.log_artifact(artifact) is artifact


def test_the_files_per_run_warning_points_to_artifacts(work: Path) -> None:
    from jupyter_tracker.limits import LimitChecker

    [warning] = LimitChecker().check_files(1_001)
    assert "run.log_artifact" in str(warning) and "Artifact" in str(warning)


def test_an_unreachable_server_leaves_artifacts_in_the_local_store(work: Path) -> None:
    import socket
    import time

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed once the block ends: nothing listens there
    run = jt.init(project="art", settings={
        "base_url": f"http://127.0.0.1:{port}", "api_key": "jt_nobody", "sync_timeout": 1, "console": "off",
        "sync_unsynced_on_init": False, "disable_system_metrics": True, "disable_code": True})
    started = time.monotonic()
    logged = run.log_artifact(dataset())
    used = run.use_artifact("mnist:latest")  # the server does not answer: the local store does
    run.finish()
    assert (logged.version, used.version, used._source.kind) == ("v0", "v0", "local")
    assert time.monotonic() - started < 20
    assert jt.Api({"mode": "offline"}).artifact("art/mnist").version == "v0"


def test_metadata_keeps_non_finite_numbers_and_numpy_values(work: Path) -> None:
    import math

    import numpy as np

    run = jt.init(project="art", mode="offline")
    artifact = Artifact("scored", type="model", metadata={"score": float("nan"), "best": np.float32(0.5),
                                                           "epochs": np.int64(3), "dir": Path("ckpt")})
    artifact.add_file("model.pt")
    run.log_artifact(artifact)
    metadata = jt.Api().artifact("art/scored").metadata
    assert math.isnan(metadata["score"]) and (metadata["best"], metadata["epochs"], metadata["dir"]) == (0.5, 3, "ckpt")


def test_media_objects_added_to_an_artifact_come_back_from_get(work: Path) -> None:
    import numpy as np

    pixels = np.zeros((4, 6, 3), dtype=np.uint8)
    pixels[1, 2] = 255
    table = jt.Table(columns=["id", "score", "picture"], data=[[1, 0.5, jt.Image(pixels)], [2, 0.75, jt.Image(pixels)]])
    artifact = Artifact("predictions", type="evaluation")
    artifact.add(table, "preds")
    artifact.add(jt.Histogram([1, 2, 2, 3]), "spread")
    paths = [entry.path for entry in artifact.files()]
    assert "preds.table.json" in paths and "spread.histogram.json" in paths
    assert len([path for path in paths if path.startswith("media/images/")]) == 1  # the same image once
    jt.init(project="art", mode="offline").log_artifact(artifact)
    stored = jt.Api().artifact("art/predictions")
    back = stored.get("preds")
    assert back.columns == ["id", "score", "picture"]
    assert [row[:2] for row in back.data] == [[1, 0.5], [2, 0.75]]
    assert (back.data[0][2].width, back.data[0][2].height) == (6, 4)
    assert stored.get("spread").counts.sum() == 4
    with pytest.raises(KeyError, match="nothing"):
        stored.get("nothing")
