"""Code capture at init: git state in temporary repositories, the diff, sources, and the switches that turn it off."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

import jupyter_tracker as jt
from jupyter_tracker.code import git_info
from jupyter_tracker.code.capture import capture_code
from jupyter_tracker.code.notebook_source import SESSION_HISTORY_NAME
from jupyter_tracker.store.reader import read_run

SECRET = "tok3n-s3cret"


def git(repo: Path, *args: str) -> str:
    result = subprocess.run(["git", "-c", "user.email=t@example.com", "-c", "user.name=Test", *args], cwd=repo,
                            capture_output=True, text=True, check=True)
    return result.stdout.strip()


@pytest.fixture
def repo(store_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A repository with two commits on branch ``main`` and an origin carrying credentials; the cwd."""
    path = tmp_path / "repo"
    path.mkdir()
    git(path, "init", "-q", "-b", "main")
    (path / "train.py").write_text("print('train')\n")
    git(path, "add", "train.py")
    git(path, "commit", "-q", "-m", "first")
    (path / "train.py").write_text("print('train v2')\n")
    git(path, "commit", "-q", "-am", "second")
    git(path, "remote", "add", "origin", f"https://user:{SECRET}@git.example.com/team/repo.git")
    monkeypatch.chdir(path)
    return path


def run_state(run: Any) -> Any:
    state, _ = read_run(Path(run.dir))
    return state


def assert_secret_absent(run_dir: Path) -> None:
    for path in run_dir.rglob("*"):
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes(), f"the remote's token leaked into {path}"


def test_clean_repository(repo: Path) -> None:
    run = jt.init(project="code", mode="offline")
    run.finish()
    git_record = run_state(run).metadata["git"]
    assert git_record == {
        "root": str(repo.resolve()), "commit": git(repo, "rev-parse", "HEAD"), "branch": "main",
        "remote": "https://git.example.com/team/repo.git", "dirty": False,
    }
    assert not (Path(run.dir) / "files" / "diff.patch").exists()
    assert_secret_absent(Path(run.dir))


def test_dirty_repository_saves_a_diff_that_applies_to_the_commit(repo: Path) -> None:
    (repo / "train.py").write_text("print('train v3, uncommitted')\n")
    run = jt.init(project="code", mode="offline")
    run.finish()
    state = run_state(run)
    assert state.metadata["git"]["dirty"] is True
    patch = Path(run.dir) / "files" / "diff.patch"
    assert b"train v3, uncommitted" in patch.read_bytes()
    assert state.files["diff.patch"]["size"] == patch.stat().st_size
    assert len(state.files["diff.patch"]["sha256"]) == 64
    git(repo, "checkout", "--", "train.py")
    git(repo, "apply", str(patch))
    assert (repo / "train.py").read_text() == "print('train v3, uncommitted')\n"


def test_untracked_files_do_not_make_the_tree_dirty(repo: Path) -> None:
    (repo / "notes.txt").write_text("scratch\n")
    info = git_info.read_git_info(repo)
    assert info is not None and info.dirty is False


def test_detached_head_has_no_branch(repo: Path) -> None:
    first = git(repo, "rev-parse", "HEAD~1")
    git(repo, "checkout", "-q", first)
    run = jt.init(project="code", mode="offline")
    run.finish()
    record = run_state(run).metadata["git"]
    assert record["commit"] == first
    assert record["branch"] is None


def test_repository_without_commits(store_root: Path, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    git(empty, "init", "-q")
    info = git_info.read_git_info(empty)
    assert info is not None
    assert (info.commit, info.remote, info.dirty) == (None, None, False)
    assert git_info.uncommitted_diff(empty) == b""


def test_outside_a_repository_nothing_is_recorded(store_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    monkeypatch.chdir(plain)
    run = jt.init(project="code", mode="offline")
    run.finish()
    assert "git" not in run_state(run).metadata
    assert git_info.read_git_info(plain) is None


def test_without_a_git_binary_nothing_is_recorded(repo: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "no-binaries-here"))
    assert git_info.read_git_info(repo) is None


@pytest.mark.parametrize("url, expected", [
    ("https://user:token@host/repo.git", "https://host/repo.git"),
    ("https://token@github.com/org/repo.git", "https://github.com/org/repo.git"),
    ("http://u:p@host:8080/r", "http://host:8080/r"),
    ("ssh://git:pw@host/repo.git", "ssh://git@host/repo.git"),
    ("ssh://git@host/repo.git", "ssh://git@host/repo.git"),
    ("git@github.com:org/repo.git", "git@github.com:org/repo.git"),
    ("https://host/repo.git", "https://host/repo.git"),
    ("/srv/git/repo.git", "/srv/git/repo.git"),
])
def test_credentials_are_stripped_from_remote_urls(url: str, expected: str) -> None:
    assert git_info.strip_credentials(url) == expected


def test_wandb_disable_code_turns_everything_off(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (repo / "train.py").write_text("changed\n")
    monkeypatch.setenv("WANDB_DISABLE_CODE", "true")
    run = jt.init(project="code", mode="offline", save_code=True)
    assert capture_code(run, cwd=repo, shell=None, argv0=str(repo / "train.py")) is None
    run.finish()
    state = run_state(run)
    assert "git" not in state.metadata
    assert state.files == {}
    assert not any((Path(run.dir) / "files").iterdir())


def test_wandb_ignore_globs_keeps_matching_files_local(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (repo / "train.py").write_text("changed\n")
    monkeypatch.setenv("WANDB_IGNORE_GLOBS", "*.patch,secret/*")
    run = jt.init(project="code", mode="offline")
    assert run.settings.ignore_globs == ("*.patch", "secret/*")
    run.finish()
    record = run_state(run).files["diff.patch"]
    assert record["ignored"] is True  # the sync client never uploads it
    assert (Path(run.dir) / "files" / "diff.patch").is_file()  # but it is kept locally


def test_a_script_is_saved_only_with_save_code(repo: Path) -> None:
    script = repo / "train.py"
    run = jt.init(project="code", mode="offline")
    capture_code(run, cwd=repo, shell=None, argv0=str(script))
    assert not (Path(run.dir) / "files" / "code").exists()
    run.finish()
    run = jt.init(project="code", mode="offline", save_code=True)
    capture_code(run, cwd=repo, shell=None, argv0=str(script))
    run.finish()
    saved = Path(run.dir) / "files" / "code" / "train.py"
    assert saved.read_text() == script.read_text()
    assert "code/train.py" in run_state(run).files


class FakeShell:
    """What code capture reads of an IPython shell: the user namespace and the input history."""

    def __init__(self, cells: list[str]) -> None:
        self.user_ns: dict[str, Any] = {}
        self.history_manager = SimpleNamespace(input_hist_raw=["", *cells])


def test_the_notebook_named_by_wandb_notebook_name_is_saved(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    notebook = repo / "analysis.ipynb"
    notebook.write_text(json.dumps({"cells": [], "nbformat": 4, "nbformat_minor": 5, "metadata": {}}))
    monkeypatch.setenv("WANDB_NOTEBOOK_NAME", "analysis.ipynb")
    run = jt.init(project="code", mode="offline")
    capture_code(run, cwd=repo, shell=FakeShell(["x = 1"]))
    run.finish()
    assert (Path(run.dir) / "files" / "code" / "analysis.ipynb").read_bytes() == notebook.read_bytes()
    assert not (Path(run.dir) / "files" / "code" / SESSION_HISTORY_NAME).exists()


def test_the_jupyter_session_name_is_used_when_no_name_is_set(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (repo / "session.ipynb").write_text("{}")
    monkeypatch.setenv("JPY_SESSION_NAME", str(repo / "session.ipynb"))
    run = jt.init(project="code", mode="offline")
    capture_code(run, cwd=repo, shell=FakeShell([]))
    run.finish()
    assert (Path(run.dir) / "files" / "code" / "session.ipynb").read_text() == "{}"


def test_without_a_notebook_file_the_executed_cells_are_saved_and_refreshed_at_finish(repo: Path) -> None:
    shell = FakeShell(["import jupyter_tracker as jt", "run = jt.init()"])
    run = jt.init(project="code", mode="offline")
    capture_code(run, cwd=repo, shell=shell)
    saved = Path(run.dir) / "files" / "code" / SESSION_HISTORY_NAME
    assert [cell["source"] for cell in json.loads(saved.read_text())["cells"]] == [
        "import jupyter_tracker as jt", "run = jt.init()"]
    shell.history_manager.input_hist_raw.append("run.log({'loss': 0.1})")
    run.finish()
    assert [cell["source"] for cell in json.loads(saved.read_text())["cells"]][-1] == "run.log({'loss': 0.1})"
    assert run_state(run).files["code/" + SESSION_HISTORY_NAME]["policy"] == "end"


def test_disabled_runs_capture_nothing(repo: Path) -> None:
    run = jt.init(project="code", mode="disabled")
    assert capture_code(run, cwd=repo, shell=None) is None
    run.finish()
