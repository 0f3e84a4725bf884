"""Uploads run directories after the fact (``jupyter-tracker sync DIR...|--all``): offline runs, cut-short uploads.

Each run resumes where the server's ``applied_seq`` stops, so running it again at any time
sends nothing twice.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path

from jupyter_tracker import console
from jupyter_tracker.settings import Settings
from jupyter_tracker.store import run_dir as layout
from jupyter_tracker.sync.backoff import RetriesExhausted
from jupyter_tracker.sync.online import make_client, sync_run_dir
from jupyter_tracker.sync.sync_state import SyncState
from jupyter_tracker.sync.transport import AuthError, SyncError, public_url
from jupyter_tracker.sync.uploader import UploadStopped

#: seconds one request keeps retrying before ``jupyter-tracker sync`` gives up on a run
RETRY_SECONDS = 300.0


@dataclasses.dataclass
class SyncOutcome:
    """What happened to one run directory."""

    run_dir: Path
    run_id: str
    applied_seq: int = 0
    records_sent: int = 0
    files_sent: int = 0
    error: str | None = None
    skipped: bool = False


def needs_sync(run_dir: Path, base_url: str) -> bool:
    """False when ``sync.json`` says this server already has the whole log and every file."""
    state = SyncState.load(run_dir)
    if not state.complete or state.base_url != public_url(base_url):
        return True
    try:
        return state.offset < layout.run_log_path(run_dir).stat().st_size
    except OSError:
        return True


def all_run_dirs(root: Path, base_url: str, force: bool = False) -> list[Path]:
    """The run directories under ``root`` that ``sync --all`` uploads (all of them with ``force``)."""
    return [path for path in layout.iter_run_dirs(Path(root)) if force or needs_sync(path, base_url)]


def sync_dirs(
    run_dirs: Sequence[Path],
    settings: Settings,
    entity: str | None = None,
    project: str | None = None,
    show_progress: bool = True,
    retry_seconds: float = RETRY_SECONDS,
) -> list[SyncOutcome]:
    """Uploads each run directory completely; one failing run does not stop the others.

    >>> sync_dirs([Path("jupyter_tracker/run-20250101_120000-abc123")], settings.resolve())  # doctest: +SKIP
    """
    if not settings.base_url:
        raise SyncError("no tracking server configured: pass --host, set WANDB_BASE_URL or run `jupyter-tracker login`")
    if not settings.api_key:
        raise SyncError(
            f"no API key for {settings.base_url}: pass --key, set WANDB_API_KEY or run `jupyter-tracker login`"
        )
    outcomes: list[SyncOutcome] = []
    with make_client(settings) as client:
        for run_dir in run_dirs:
            run_dir = Path(run_dir)
            outcome = SyncOutcome(run_dir, layout.run_id_from_dir(run_dir))
            outcomes.append(outcome)
            if not layout.run_log_path(run_dir).is_file():
                outcome.error = f"{run_dir} is not a run directory (no {layout.RUN_LOG_NAME})"
                continue
            try:
                upload = sync_run_dir(
                    run_dir,
                    settings,
                    client=client,
                    entity=entity,
                    project=project,
                    show_progress=show_progress,
                    retry_seconds=retry_seconds,
                )
            except AuthError as error:
                outcome.error = str(error)
                break  # the same key is refused for every other run too
            except (SyncError, UploadStopped, RetriesExhausted) as error:
                outcome.error = str(error)
                continue
            outcome.run_id = upload.run_id
            outcome.applied_seq = upload.applied_seq
            outcome.records_sent = upload.records_sent
            outcome.files_sent = upload.files_sent
            from jupyter_tracker.artifacts.upload import push_run_artifacts

            push_run_artifacts(run_dir, settings, str(upload.entity), upload.project, upload.run_id)
            console.info(
                f"run {upload.run_id}: {upload.records_sent} records and {upload.files_sent} files sent; "
                f"the server has applied up to {upload.applied_seq} ({upload.entity}/{upload.project})"
            )
    return outcomes
