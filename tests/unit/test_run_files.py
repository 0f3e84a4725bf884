"""``run.save``: copies into files/, the three policies, records, the files-per-run bound, name checks."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

import jupyter_tracker as jt
from jupyter_tracker.limits import LimitWarning
from jupyter_tracker.run_files import FileNameError, run_files, validate_name
from jupyter_tracker.store.reader import read_run
from tests.helpers import wait_until


def files_of(run: jt.Run) -> dict[str, dict]:
    state, _ = read_run(Path(run.dir))
    return state.files


@pytest.fixture
def work(store_root: Path, tmp_path: Path) -> Path:
    """A working directory (the cwd) with a few files to save."""
    (tmp_path / "out" / "ckpt").mkdir(parents=True)
    (tmp_path / "out" / "ckpt" / "a.pt").write_bytes(b"weights-a")
    (tmp_path / "out" / "ckpt" / "b.pt").write_bytes(b"weights-b")
    (tmp_path / "out" / "log.txt").write_text("epoch 1\n")
    return tmp_path


def test_now_copies_matches_keeping_paths_relative_to_the_cwd(work: Path) -> None:
    run = jt.init(project="files", mode="offline")
    saved = run.save("out/ckpt/*.pt", policy="now")
    files = Path(run.dir) / "files"
    assert saved == [str(files / "out/ckpt/a.pt"), str(files / "out/ckpt/b.pt")]
    assert (files / "out/ckpt/a.pt").read_bytes() == b"weights-a"
    run.finish()
    record = files_of(run)["out/ckpt/a.pt"]
    assert record == {"name": "out/ckpt/a.pt", "size": 9, "policy": "now",
                      "sha256": hashlib.sha256(b"weights-a").hexdigest()}


def test_base_path_sets_the_names(work: Path) -> None:
    run = jt.init(project="files", mode="offline")
    run.save("out/ckpt/*.pt", base_path="out", policy="now")
    run.finish()
    assert set(files_of(run)) == {"ckpt/a.pt", "ckpt/b.pt"}


def test_an_absolute_glob_without_base_path_keeps_names_from_its_first_wildcard(work: Path) -> None:
    run = jt.init(project="files", mode="offline")
    jt.save(str(work / "out" / "*" / "a.pt"), policy="now")
    run.finish()
    assert set(files_of(run)) == {"ckpt/a.pt"}


def test_a_glob_outside_base_path_is_refused(work: Path) -> None:
    run = jt.init(project="files", mode="offline")
    with pytest.raises(ValueError, match="inside base_path"):
        run.save("out/log.txt", base_path="elsewhere")


def test_unknown_policy_is_refused(work: Path) -> None:
    run = jt.init(project="files", mode="offline")
    with pytest.raises(ValueError, match="policy"):
        run.save("out/log.txt", policy="sometimes")


def test_live_files_are_copied_again_when_they_change(work: Path) -> None:
    run = jt.init(project="files", mode="offline")
    saved_files = run_files(run)
    saved_files.poll_interval = 0.02
    run.save("out/log.txt")  # live is the default policy
    copy = Path(run.dir) / "files" / "out" / "log.txt"
    assert copy.read_text() == "epoch 1\n"
    assert saved_files.poll_live() == 0  # nothing changed
    (work / "out" / "log.txt").write_text("epoch 1\nepoch 2\n")
    wait_until(lambda: copy.read_text() == "epoch 1\nepoch 2\n", timeout=10)
    (work / "out" / "new.txt").write_text("later")  # not matched by the glob: never copied
    run.finish()
    assert files_of(run)["out/log.txt"]["sha256"] == hashlib.sha256(b"epoch 1\nepoch 2\n").hexdigest()
    assert "out/new.txt" not in files_of(run)


def test_live_globs_pick_up_files_created_later_and_the_last_change_at_finish(work: Path) -> None:
    run = jt.init(project="files", mode="offline")
    run_files(run).poll_interval = 3600  # only the pass at finish() will see the change
    run.save("out/*.txt", policy="live")
    (work / "out" / "log.txt").write_text("final\n")
    (work / "out" / "metrics.txt").write_text("acc 0.9\n")
    run.finish()
    files = files_of(run)
    assert files["out/log.txt"]["size"] == len("final\n")
    assert files["out/metrics.txt"]["policy"] == "live"


def test_end_files_are_copied_at_finish_even_when_created_after_save(work: Path) -> None:
    run = jt.init(project="files", mode="offline")
    run.save("out/final/*.bin", policy="end")
    assert not (Path(run.dir) / "files" / "out").exists()
    (work / "out" / "final").mkdir()
    (work / "out" / "final" / "model.bin").write_bytes(b"model")
    run.finish()
    assert (Path(run.dir) / "files" / "out" / "final" / "model.bin").read_bytes() == b"model"
    assert files_of(run)["out/final/model.bin"]["policy"] == "end"


def test_files_written_into_the_run_directory_are_recorded_in_place(work: Path) -> None:
    run = jt.init(project="files", mode="offline")
    inside = Path(run.dir) / "files" / "notes.md"
    inside.write_text("hello")
    run.save(str(inside), base_path=str(Path(run.dir) / "files"), policy="now")
    run.finish()
    assert files_of(run)["notes.md"]["size"] == 5


def test_more_than_a_thousand_files_warns_once_and_keeps_every_file(work: Path) -> None:
    many = work / "many"
    many.mkdir()
    for index in range(1002):
        (many / f"f{index:04d}.txt").write_text(str(index))
    run = jt.init(project="files", mode="offline")
    with pytest.warns(LimitWarning, match="files uploaded by one run"):
        saved = run.save("many/*.txt", policy="now")
    assert len(saved) == 1002
    assert [warning.kind for warning in run.warnings if isinstance(warning, LimitWarning)] == ["files_per_run"]
    run.finish()
    assert len(files_of(run)) == 1002


@pytest.mark.parametrize("name", ["../escape.txt", "a/../../b", "/etc/passwd", "a\\b", "bad\x00name", "", ".", "./"])
def test_names_that_could_escape_files_are_refused(name: str) -> None:
    with pytest.raises(FileNameError):
        validate_name(name)


def test_clean_names_are_normalised() -> None:
    assert validate_name("./a//b/c.txt") == "a/b/c.txt"


def test_a_symlinked_folder_inside_files_cannot_lead_outside(work: Path) -> None:
    run = jt.init(project="files", mode="offline")
    outside = work / "outside"
    outside.mkdir()
    os.symlink(outside, Path(run.dir) / "files" / "link")
    with pytest.raises(FileNameError, match="outside"):
        run_files(run).write_bytes("link/x.txt", b"data")
    assert not (outside / "x.txt").exists()


def test_a_disabled_run_saves_nothing(work: Path) -> None:
    run = jt.init(project="files", mode="disabled")
    assert run.save("out/log.txt") is True
