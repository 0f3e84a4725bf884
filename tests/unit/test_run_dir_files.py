"""Files written into ``run.dir`` during the run (checkpoints, as wandb users write them) are the run's files."""

from __future__ import annotations

from pathlib import Path

import jupyter_tracker as jt
from jupyter_tracker.api import Api
from jupyter_tracker.store.reader import read_run
from jupyter_tracker.store.run_dir import OWN_ENTRIES, stored_files, user_files
from jupyter_tracker.sync.sync_state import SYNC_STATE_NAME
from jupyter_tracker.sync.uploader import run_files as uploaded_files


def test_a_checkpoint_written_into_run_dir_reads_back_through_the_api(store_root: Path, tmp_path: Path) -> None:
    run = jt.init(project="ckpt", mode="offline", settings={"ignore_globs": ["*.tmp"]})
    run.log({"loss": 0.5})
    Path(run.dir, "model.pt").write_bytes(b"weights")
    Path(run.dir, "checkpoints").mkdir()
    Path(run.dir, "checkpoints", "epoch-1.ckpt").write_bytes(b"epoch one")
    Path(run.dir, "scratch.tmp").write_text("kept locally only")
    run.finish()

    remote = Api().run(f"ckpt/{run.id}")
    names = {item.name for item in remote.files()}
    assert {"model.pt", "checkpoints/epoch-1.ckpt", "scratch.tmp", "output.log"} <= names
    assert not names & {"run.jtlog", "sync.json"}, "the store's own entries are not the user's files"
    remote.file("checkpoints/epoch-1.ckpt").download(root=str(tmp_path / "down"))
    assert (tmp_path / "down" / "checkpoints" / "epoch-1.ckpt").read_bytes() == b"epoch one"
    # what sync uploads: the same files less WANDB_IGNORE_GLOBS and the store's own
    sent = uploaded_files(Path(run.dir), run.settings.ignore_globs)
    assert {"model.pt", "checkpoints/epoch-1.ckpt"} <= set(sent) and "scratch.tmp" not in sent


def test_the_store_s_own_entries_and_hidden_files_are_not_user_files(tmp_path: Path) -> None:
    run_dir = tmp_path / "run-20260101_000000-abc"
    (run_dir / "files").mkdir(parents=True)
    (run_dir / "media" / "images").mkdir(parents=True)
    for name in ("run.jtlog", "run.jtlog.damaged-20260101_000000", "output.log", "sync.json", ".sync.json.12.tmp"):
        (run_dir / name).write_text("ours")
    (run_dir / "media" / "images" / "a.png").write_bytes(b"png")
    (run_dir / "files" / "model.pt").write_bytes(b"saved with run.save")
    (run_dir / "model.pt").write_bytes(b"written into run.dir")
    (run_dir / "notes.txt").write_text("mine")
    assert SYNC_STATE_NAME in OWN_ENTRIES
    assert set(user_files(run_dir)) == {"model.pt", "notes.txt"}
    listed = stored_files(run_dir)
    assert set(listed) == {"model.pt", "notes.txt", "media/images/a.png", "output.log"}
    assert listed["model.pt"].read_bytes() == b"saved with run.save", "a saved file wins over a same-named one"


def test_a_symlinked_folder_in_run_dir_is_not_followed(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("not the run's")
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "link").symlink_to(outside, target_is_directory=True)
    assert user_files(run_dir) == {}


def test_saving_a_file_written_into_run_dir_keeps_it_where_it_is(store_root: Path) -> None:
    run = jt.init(project="ckpt", mode="offline")
    checkpoint = Path(run.dir, "model.pt")
    checkpoint.write_bytes(b"large weights")
    saved = jt.save(str(checkpoint), policy="now")  # wandb.save(os.path.join(wandb.run.dir, "model.pt"))
    assert saved == [str(checkpoint)]
    assert not Path(run.dir, "files", "model.pt").exists(), "a checkpoint is not stored twice"
    Path(run.dir, "files", "notes.txt").write_text("saved before")
    Path(run.dir, "notes.txt").write_text("written later")
    run.save(str(Path(run.dir, "notes.txt")), policy="now")
    run.finish()
    assert Path(run.dir, "files", "notes.txt").read_text() == "written later", "the listed copy is kept fresh"
    state, _ = read_run(Path(run.dir))
    assert state.files["model.pt"]["size"] == len(b"large weights")
    assert {item.name for item in Api().run(f"ckpt/{run.id}").files()} >= {"model.pt", "notes.txt"}
