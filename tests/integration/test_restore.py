"""``jupyter-tracker restore`` and ``jupyter_tracker.restore``: a run's code and files brought back, end to end."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import jupyter_tracker as jt
from jupyter_tracker.code.restore import RestoreError, restore_code

pytestmark = pytest.mark.integration

CLI = str(Path(sys.executable).parent / "jupyter-tracker")
TRAIN_V1 = "LR = 0.1\n"
TRAIN_DIRTY = "LR = 0.05  # tried during the run, never committed\n"
TRAIN_V2 = "LR = 0.3\n"


def git(repo: Path, *args: str) -> str:
    result = subprocess.run(["git", "-c", "user.email=t@example.com", "-c", "user.name=Test", *args], cwd=repo,
                            capture_output=True, text=True, check=True)
    return result.stdout.strip()


def child_environment(store: Path) -> dict[str, str]:
    environment = {key: value for key, value in os.environ.items() if not key.startswith(("WANDB_", "JUPYTER_TRACKER_"))}
    environment.update({"WANDB_DIR": str(store), "WANDB_MODE": "offline", "WANDB_SILENT": "true"})
    return environment


@pytest.fixture
def recorded(tmp_path: Path, store_root: Path) -> tuple[Path, Path, str, str]:
    """A repository where a script ran as a tracked run on a dirty tree, then moved on by one commit.

    Returns (repository, store, run id, the run's commit).
    """
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    (repo / "train.py").write_text(TRAIN_V1)
    (repo / "run_it.py").write_text(textwrap.dedent("""
        import jupyter_tracker as jt
        run = jt.init(project="restore")
        run.log({"loss": 0.5})
        run.finish()
        print(run.id)
    """))
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "v1")
    commit = git(repo, "rev-parse", "HEAD")
    (repo / "train.py").write_text(TRAIN_DIRTY)
    store = tmp_path / "store"
    result = subprocess.run([sys.executable, "run_it.py"], cwd=repo, env=child_environment(store),
                            capture_output=True, text=True, timeout=120, check=True)
    run_id = result.stdout.strip().splitlines()[-1]
    git(repo, "checkout", "--", "train.py")
    (repo / "train.py").write_text(TRAIN_V2)
    git(repo, "commit", "-q", "-am", "v2")
    return repo, store, run_id, commit


def restore_cli(repo: Path, store: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([CLI, "restore", *args, "--dir", str(store)], cwd=repo, env=child_environment(store),
                          capture_output=True, text=True, timeout=120)


def test_restore_checks_out_the_commit_and_applies_the_diff(recorded: tuple[Path, Path, str, str]) -> None:
    repo, store, run_id, commit = recorded
    result = restore_cli(repo, store, f"restore/{run_id}")
    assert result.returncode == 0, result.stderr
    assert f"checked out {commit}" in result.stdout
    assert git(repo, "rev-parse", "HEAD") == commit
    assert (repo / "train.py").read_text() == TRAIN_DIRTY


def test_restore_refuses_to_overwrite_uncommitted_work(recorded: tuple[Path, Path, str, str]) -> None:
    repo, store, run_id, _ = recorded
    head = git(repo, "rev-parse", "HEAD")
    (repo / "train.py").write_text("my work in progress\n")
    result = restore_cli(repo, store, run_id)
    assert result.returncode != 0
    assert "uncommitted changes" in result.stderr
    assert (repo / "train.py").read_text() == "my work in progress\n"
    assert git(repo, "rev-parse", "HEAD") == head


def test_print_only_tells_the_commands_and_changes_nothing(recorded: tuple[Path, Path, str, str]) -> None:
    repo, store, run_id, commit = recorded
    head = git(repo, "rev-parse", "HEAD")
    result = restore_cli(repo, store, run_id, "--print-only")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert lines[0] == f"git checkout {commit}"
    assert lines[1].startswith("git apply ") and lines[1].endswith("diff.patch")
    assert git(repo, "rev-parse", "HEAD") == head


def test_a_diff_that_does_not_apply_leaves_the_repository_where_it_was(recorded: tuple[Path, Path, str, str]) -> None:
    repo, store, run_id, _ = recorded
    from jupyter_tracker.code.restore import find_run_dir

    patch = find_run_dir(run_id, store / "jupyter_tracker") / "files" / "diff.patch"
    patch.write_text(patch.read_text().replace("-LR = 0.1", "-LR = 0.7"))
    with pytest.raises(RestoreError, match="does not apply"):
        restore_code(run_id, repo=repo, root=store / "jupyter_tracker")
    assert git(repo, "symbolic-ref", "--short", "HEAD") == "main"
    assert (repo / "train.py").read_text() == TRAIN_V2


def test_a_run_without_git_information_says_so(store_root: Path, tmp_path: Path) -> None:
    run = jt.init(project="restore", mode="offline")
    run.finish()
    with pytest.raises(RestoreError, match="no git commit"):
        restore_code(run.id, repo=tmp_path)
    with pytest.raises(RestoreError, match="no run"):
        restore_code("nosuchid", repo=tmp_path)


def test_restore_a_saved_file_round_trip(store_root: Path, tmp_path: Path) -> None:
    (tmp_path / "config.yaml").write_text("lr: 0.1\n")
    run = jt.init(project="restore", mode="offline")
    run.save("config.yaml", policy="now")
    run.finish()
    (tmp_path / "config.yaml").write_text("lr: changed locally\n")
    target = tmp_path / "restored"
    with jt.restore("config.yaml", run_path=f"restore/{run.id}", root=target) as handle:
        assert handle.read() == "lr: 0.1\n"
    (target / "config.yaml").write_text("edited\n")
    with jt.restore("config.yaml", run_path=run.id, root=target) as handle:
        assert handle.read() == "edited\n"  # an existing copy is kept...
    with jt.restore("config.yaml", run_path=run.id, root=target, replace=True) as handle:
        assert handle.read() == "lr: 0.1\n"  # ...unless replace=True
    assert jt.restore("missing.txt", run_path=run.id, root=target) is None
    with pytest.raises(ValueError, match="escape"):
        jt.restore("../../etc/passwd", run_path=run.id, root=target)
