"""Captures a run's code context at ``init``: git state, the uncommitted diff, notebook or script source.

All of it is off with ``WANDB_DISABLE_CODE=true`` (no commit, no diff, no source). The git state
goes into the run's metadata as a ``("run", {"git": {...}})`` record; the diff and the sources
are files of the run (``files/diff.patch``, ``files/code/...``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from jupyter_tracker.code import git_info, notebook_source
from jupyter_tracker.store import records

DIFF_NAME = "diff.patch"
#: ``capture_code(shell=DETECT)`` looks for a running IPython shell; ``shell=None`` means there is none
DETECT: Any = object()


def capture_code(run: Any, cwd: str | Path | None = None, shell: Any = DETECT,
                 argv0: str | None = None) -> dict[str, Any] | None:
    """Records git state and saves the diff and source of ``run``; returns the git info recorded.

    ``cwd``, ``shell`` and ``argv0`` default to this process's (tests pass their own).
    """
    if run.disabled or not run.dir or run.settings.disable_code:
        return None
    from jupyter_tracker.run_files import run_files

    saved = run_files(run)
    directory = Path(cwd) if cwd is not None else Path(os.getcwd())
    info = git_info.read_git_info(directory)
    record = info.as_record() if info is not None else None
    if info is not None:
        run._append((records.RUN, {"git": record}))
        run.git = record
        if info.dirty:
            diff = git_info.uncommitted_diff(info.root)
            if diff:
                saved.write_bytes(DIFF_NAME, diff)
    shell = notebook_source.current_shell() if shell is DETECT else shell
    if shell is not None:
        _save_notebook(run, saved, shell, directory)
    elif run.settings.save_code:
        script = notebook_source.script_path(argv0)
        if script is not None:
            saved.copy(script, notebook_source.relative_code_name(script, info.root if info else None), "now")
    return record


def _save_notebook(run: Any, saved: Any, shell: Any, directory: Path) -> None:
    path = notebook_source.notebook_path(run.settings.notebook_name, shell, directory)
    if path is not None:
        saved.copy(path, "code/" + path.name, "now")
        return
    history = notebook_source.history_notebook(shell)
    if history is None and not hasattr(shell, "history_manager"):
        return
    name = "code/" + notebook_source.SESSION_HISTORY_NAME
    if history is not None:
        saved.write_bytes(name, history)

    def refresh(_run: Any) -> None:  # cells run after init belong to the run too
        latest = notebook_source.history_notebook(shell)
        if latest is not None and latest != history:
            saved.write_bytes(name, latest, policy="end")

    run.before_finish(refresh)

