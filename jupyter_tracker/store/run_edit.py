"""Changes to a stored run made after the fact (``Api().run(path)`` then ``run.update()``).

They are appended to the run log as ordinary records (metadata, config, summary), so history stays
append-only and a later ``jupyter-tracker sync`` uploads them like any other records. A run that
has finished gets its FINISH record repeated after them (without a summary), so that every reader
still sees how it ended. A live run's log is refused: its own process writes it.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from jupyter_tracker.store import records
from jupyter_tracker.store.reader import read_run
from jupyter_tracker.store.run_dir import keep_damaged_copy, run_log_path
from jupyter_tracker.store.writer import RunLogBusyError, RunLogWriter

#: run metadata that can be changed after the fact
EDITABLE_METADATA = ("name", "tags", "notes", "group", "job_type")


class RunEditError(RuntimeError):
    """A stored run could not be changed; the message says why (nothing was written)."""


def change_records(
    metadata: Mapping[str, Any] | None,
    config: Mapping[str, Any] | None,
    summary: Mapping[str, Any] | None,
    ended: Mapping[str, Any] | None = None,
) -> list[tuple[Any, ...]]:
    """The records that carry the changes; then ``ended`` (how a finished run ended) as a FINISH record again.

    ``ended`` holds ``state``, ``exit_code`` and ``runtime``; its FINISH has no summary, so the
    summary stays the one the run finished with plus the changes. The Api's server edits use it too.
    """
    unknown = sorted(set(metadata or {}) - set(EDITABLE_METADATA))
    if unknown:
        raise RunEditError(f"{', '.join(unknown)} cannot be changed; only {', '.join(EDITABLE_METADATA)} can")
    changes: list[tuple[Any, ...]] = []
    if metadata:
        changes.append((records.RUN, dict(metadata)))
    if config:
        changes.append((records.CONFIG, dict(config)))
    if summary:
        changes.append((records.SUMMARY, dict(summary)))
    if changes and ended is not None:
        changes.append((records.FINISH, {"state": ended.get("state"), "exit_code": ended.get("exit_code"),
                                         "runtime": ended.get("runtime"), "time": time.time(), "summary": None}))
    return changes


def append_run_changes(
    run_dir: Path,
    metadata: Mapping[str, Any] | None = None,
    config: Mapping[str, Any] | None = None,
    summary: Mapping[str, Any] | None = None,
) -> int:
    """Appends the changes to the run's log; returns how many records were written.

    ``config`` and ``summary`` are flat dotted names with values already checked
    (``values.normalise_mapping``). Raises :class:`RunEditError` when the run is live or the disk
    refuses the records.
    """
    if not change_records(metadata, config, summary):
        return 0
    state, _ = read_run(run_dir, warn=False)
    if state.damaged:
        keep_damaged_copy(run_dir)
    try:
        writer = RunLogWriter(run_log_path(run_dir), first_seq=state.last_seq + 1, truncate_at=state.valid_end,
                              repair_header=state.damaged, exclusive=True)
    except RunLogBusyError as error:
        raise RunEditError(f"run {Path(run_dir).name} is running: change it through its own run object "
                           f"(jupyter_tracker.run) in the process that runs it ({error})") from error
    except OSError as error:
        raise RunEditError(f"could not open {run_log_path(run_dir)} to record the change ({error})") from error
    ended = None if state.state == "running" else \
        {"state": state.state, "exit_code": state.exit_code, "runtime": state.runtime}
    changes = change_records(metadata, config, summary, ended)
    for change in changes:
        writer.append(change)
    writer.close()
    if writer.records_unwritten or writer.records_dropped:
        failure = writer.last_write_error
        raise RunEditError(f"could not write the change to {writer.path} ({type(failure).__name__}: {failure}); "
                           "the run is as it was")
    return len(changes)
