"""Changes to a run on a tracking server made through the Api (``run.update()``), sent as new records.

They go through the same record upload as a syncing run: one batch after the server's
``applied_seq``, so the server's history stays append-only and a retried request changes nothing
twice. A finished run gets its FINISH record repeated after them (without a summary), so that
the server keeps its final state.
"""

from __future__ import annotations

from typing import Any

from jupyter_tracker.api.backend import ApiError, RunChanges, RunRecord
from jupyter_tracker.store import records
from jupyter_tracker.store.run_edit import RunEditError, change_records

#: a run whose applied_seq moved while a change was sent (its own sync, another editor) is tried again
_ATTEMPTS = 3
_FINAL_STATES = ("finished", "failed", "killed")


def update_remote_run(backend: Any, entity: str | None, project: str | None, run_id: str,
                      changes: RunChanges) -> RunRecord:
    """Sends ``changes`` to the server's copy of the run (a ``RemoteBackend``); returns the run as it is now."""
    from jupyter_tracker.sync.transport import SequenceGapError, SyncError

    pack = records.make_packer()
    for _ in range(_ATTEMPTS):
        current = backend.get_run(entity, project, run_id)
        if current.get("state") == "running":
            raise ApiError(f"run {run_id} is running: change it through its own run object (jupyter_tracker.run) "
                           "in the process that runs it")
        ended = current if current.get("state") in _FINAL_STATES else None
        try:
            batch = change_records(changes.get("metadata"), changes.get("config"), changes.get("summary"), ended)
        except RunEditError as error:
            raise ApiError(str(error)) from error
        if not batch:
            return current
        first_seq = int(current.get("applied_seq") or 0) + 1
        try:
            backend.client.post_records(str(current.get("entity")), str(current.get("project")), run_id,
                                        pack([first_seq, batch]))
        except SequenceGapError:
            continue
        except SyncError as error:
            raise ApiError(f"could not change run {run_id} on {backend.base_url}: {error}") from error
        return backend.get_run(entity, project, run_id)
    raise ApiError(f"run {run_id} kept changing on {backend.base_url} while the change was sent; try again")
