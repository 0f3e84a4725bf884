"""Brings a run's past back: one of its saved files (``restore``), or its code state (``restore_code``).

``restore_code`` checks out the run's commit and applies its ``diff.patch``; it refuses to touch a
work tree with uncommitted changes, so nothing of the user's is overwritten.
"""

from __future__ import annotations

import dataclasses
import shlex
import shutil
from pathlib import Path
from typing import IO

from jupyter_tracker import settings as settings_module
from jupyter_tracker.code import git_info
from jupyter_tracker.code.capture import DIFF_NAME
from jupyter_tracker.run_files import validate_name
from jupyter_tracker.store import run_dir as layout


class RestoreError(RuntimeError):
    """The run, its file or its code state cannot be restored here; the message says why and what to do."""


def find_run_dir(run_ref: str | Path, root: str | Path | None = None) -> Path:
    """A run directory from a directory path, a run id, ``project/id`` or ``entity/project/id``."""
    candidate = Path(run_ref).expanduser()
    if candidate.is_dir() and layout.run_log_path(candidate).exists():
        return candidate
    store_root = Path(root) if root is not None else settings_module.default_root()
    run_id = str(run_ref).rstrip("/").rsplit("/", 1)[-1]
    found = layout.find_run_dir(store_root, run_id)
    if found is None:
        raise RestoreError(f"no run {run_id!r} in {store_root} (pass a run directory, or --dir for another store)")
    return found


def restore(name: str, run_path: str | None = None, replace: bool = False, root: str | Path | None = None) -> IO[str] | None:
    """Copies a saved file of a run back (as wandb's ``restore``) and returns it open for reading.

    ``run_path`` names the run (``project/id``, an id or a run directory; default the current run);
    the file goes under ``root`` (default: the current run's ``files/``, else the current directory)
    and an existing copy is kept unless ``replace``. Returns None when the run has no such file.

    >>> jupyter_tracker.restore("model.pt", run_path="mnist/1a2b3c4d", root=".")  # doctest: +SKIP
    """
    from jupyter_tracker import sdk

    current = sdk.current_run()
    if run_path is None:
        if current is None or not current.dir:
            raise RestoreError("restore() needs run_path=... when no run is active")
        source_dir = Path(current.dir)
    else:
        source_dir = find_run_dir(run_path)
    clean = validate_name(name)
    source = layout.files_dir(source_dir) / clean
    if root is None:
        root = layout.files_dir(Path(current.dir)) if current is not None and current.dir else Path.cwd()
    target = Path(root) / clean
    if target.is_file() and not replace:
        return open(target, encoding="utf-8")
    if not source.is_file():
        return None
    if source.resolve() != target.resolve():
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)
    return open(target, encoding="utf-8")


@dataclasses.dataclass
class CodeRestore:
    """What restoring a run's code means here: the commands, and whether they were run."""

    run_dir: Path
    commit: str
    remote: str | None
    diff_path: Path | None
    commands: list[str]
    applied: bool = False


def plan_code_restore(run_ref: str | Path, root: str | Path | None = None) -> CodeRestore:
    """Reads the run's git record and builds the commands that bring its code back."""
    from jupyter_tracker.store.reader import read_run

    run_dir = find_run_dir(run_ref, root)
    state, _ = read_run(run_dir, warn=False)
    git = state.metadata.get("git") or {}
    commit = git.get("commit")
    if not commit:
        raise RestoreError(f"run {run_dir.name} has no git commit recorded (code capture was off, "
                           "or it ran outside a repository or before the first commit)")
    diff = layout.files_dir(run_dir) / DIFF_NAME
    diff_path = diff if diff.is_file() and diff.stat().st_size else None
    commands = [f"git checkout {commit}"]
    if diff_path is not None:
        commands.append(f"git apply {shlex.quote(str(diff_path))}")
    return CodeRestore(run_dir, commit, git.get("remote"), diff_path, commands)


def restore_code(run_ref: str | Path, repo: str | Path = ".", root: str | Path | None = None,
                 execute: bool = True) -> CodeRestore:
    """Checks out the run's commit in the repository at ``repo`` and applies its diff.

    Refuses (``RestoreError``) when the work tree has uncommitted changes or lacks the commit.
    With ``execute=False`` it only returns the commands.
    """
    plan = plan_code_restore(run_ref, root)
    if not execute:
        return plan
    top = git_info.repository_root(repo)
    if top is None:
        where = f" (clone {plan.remote} first)" if plan.remote else ""
        raise RestoreError(f"{Path(repo).resolve()} is not inside a git repository{where}")
    if git_info.has_uncommitted_changes(top):
        raise RestoreError(f"{top} has uncommitted changes; commit or stash them first (git stash), "
                           "restore would overwrite them")
    if git_info.run_git(["cat-file", "-e", f"{plan.commit}^{{commit}}"], top, check=False).returncode != 0:
        raise RestoreError(f"commit {plan.commit} is not in {top}; fetch it first (git fetch --all)")
    previous = _current_ref(top)
    git_info.run_git(["checkout", "--quiet", plan.commit], top)
    if plan.diff_path is not None:
        patch = str(plan.diff_path.resolve())
        check = git_info.run_git(["apply", "--check", patch], top, check=False)
        if check.returncode != 0:
            if previous:
                git_info.run_git(["checkout", "--quiet", previous], top, check=False)
            reason = check.stderr.decode("utf-8", "replace").strip()
            raise RestoreError(f"the run's diff does not apply to {plan.commit} ({reason}); nothing was changed")
        git_info.run_git(["apply", "--whitespace=nowarn", patch], top)
    plan.applied = True
    return plan


def _current_ref(top: Path) -> str | None:
    """The branch checked out, or the commit when detached: where to go back to after a failure."""
    for args in (["symbolic-ref", "--quiet", "--short", "HEAD"], ["rev-parse", "--verify", "--quiet", "HEAD"]):
        result = git_info.run_git(args, top, check=False)
        if result.returncode == 0 and result.stdout.strip():
            return result.stdout.decode().strip()
    return None


def describe(plan: CodeRestore) -> str:
    """The plan as lines a person can run by hand."""
    return "\n".join(plan.commands)

