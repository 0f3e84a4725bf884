"""Starts the sync of online runs: one :class:`SyncThread` per run, plus the backlog left by earlier runs.

``sdk`` calls :func:`start_for_run` for every new run (a start hook, imported only when the run
is online and a server is configured). ``finish()`` then drains the thread for at most
``settings.sync_timeout`` seconds. At the same ``init``, runs in the same store root whose upload
was cut short (a crash, an outage, a timeout) are uploaded by one background thread,
``jt-sync-backlog``, unless ``settings.sync_unsynced_on_init`` is off.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jupyter_tracker import console
from jupyter_tracker.settings import Settings
from jupyter_tracker.store import run_dir as layout
from jupyter_tracker.sync.backoff import RetriesExhausted
from jupyter_tracker.sync.sync_state import SyncState
from jupyter_tracker.sync.transport import RefusedError, TrackerClient
from jupyter_tracker.sync.uploader import OutageReporter, RunUpload, SyncThread, UploadStopped, make_retrier

if TYPE_CHECKING:  # pragma: no cover
    from jupyter_tracker.store.reader import RunState

#: the sync thread of each run of this process that is still uploading, by run id
active: dict[str, SyncThread] = {}
_backlog_lock = threading.Lock()
_backlog: threading.Thread | None = None
#: set to stop the backlog thread (tests; it is a daemon, so process exit never waits for it)
backlog_stop = threading.Event()
#: seconds one request of the backlog sync keeps retrying before that run is left for later
BACKLOG_RETRY_SECONDS = 120.0
#: seconds ``init(resume=...)`` keeps asking the server for a run the local store lacks
RESUME_RETRY_SECONDS = 15.0


def wants_sync(settings: Settings) -> bool:
    """True for an online run with a server configured; offline and disabled runs never connect."""
    return settings.mode == "online" and bool(settings.base_url)


def make_client(settings: Settings) -> TrackerClient:
    return TrackerClient(settings.base_url or "", settings.api_key, username=settings.username)


def start_for_run(run: Any) -> SyncThread | None:
    """Starts the sync thread of an online run and hooks its drain into ``run.finish()``."""
    settings: Settings = run.settings
    if run.disabled or not wants_sync(settings) or not run.dir:
        return None
    if not settings.api_key:
        console.warn_once(
            "sync-no-key",
            f"a tracking server is configured ({settings.base_url}) but no API key; "
            "run `jupyter-tracker login` or set WANDB_API_KEY. Runs are kept locally.",
        )
        return None
    run_dir = Path(run.dir)
    upload = RunUpload(
        run_dir, make_client(settings), metadata=run.metadata(), entity=run.entity, ignore_globs=settings.ignore_globs
    )
    # recorded before any network, so a crash before the first answer still leaves the run in the backlog
    upload.state.complete = False
    upload.state.claim()
    upload.state.save(run_dir)
    thread = SyncThread(upload, interval=float(getattr(settings, "sync_interval", 5.0)))
    active[run.id] = thread
    thread.start()
    run.on_finish(lambda finished: _drain(thread, finished))
    if getattr(settings, "sync_unsynced_on_init", True):
        start_backlog(settings, exclude=run_dir)
    return thread


def _last_seq(run: Any) -> int | None:
    writer = getattr(run, "_writer", None)
    next_seq = getattr(writer, "next_seq", None)
    return next_seq - 1 if isinstance(next_seq, int) else None


def _drain(thread: SyncThread, run: Any) -> None:
    try:
        thread.drain(float(run.settings.sync_timeout), last_seq=_last_seq(run))
    finally:
        active.pop(run.id, None)
        if thread.ended.wait(0) or thread.done.is_set():
            thread.upload.client.close()


# resuming a run the local store lacks -------------------------------------------------------------------
def remote_resume_state(settings: Settings, run_id: str, run_dir: Path) -> RunState | None:
    """The server's state of run ``run_id`` (step, config, summary, metadata), to resume it here; None if unknown there.

    Used by ``init(id=..., resume=...)`` when the local store lacks the run (another machine, another
    directory). The state's ``last_seq`` is the server's ``applied_seq``, so the new local log goes
    on from there and the upload sends only what is new; the run's ``output.log`` is fetched into
    ``run_dir`` so that the console output is appended to it rather than replacing it.
    Raises ``ApiError`` when the server cannot be asked.
    """
    from jupyter_tracker.api.backend import RunNotFoundError
    from jupyter_tracker.api.remote import RemoteBackend
    from jupyter_tracker.store.reader import RunState
    from jupyter_tracker.store.run_dir import OUTPUT_LOG_NAME

    backend = RemoteBackend(settings, timeout=10.0, retry_seconds=RESUME_RETRY_SECONDS)
    try:
        try:
            record: dict[str, Any] = dict(backend.get_run(settings.entity, settings.project, run_id))
        except RunNotFoundError:
            return None
        last_rows = backend.sampled_history(settings.entity, settings.project, run_id, None, 2) \
            if int(record.get("history_rows") or 0) else []
        if any(item["name"] == OUTPUT_LOG_NAME for item in backend.files(settings.entity, settings.project, run_id)):
            backend.download_file(settings.entity, settings.project, run_id, OUTPUT_LOG_NAME, run_dir, replace=True)
    finally:
        backend.close()
    metadata = {key: record.get(key) for key in ("id", "name", "entity", "project", "group", "tags", "notes",
                                                 "job_type", "created") if record.get(key) is not None}
    return RunState(
        run_dir=run_dir,
        metadata=metadata,
        config=dict(record.get("config") or {}),
        last_values=dict(record.get("summary") or {}),
        next_step=int(last_rows[-1]["_step"]) + 1 if last_rows else 0,
        last_seq=int(record.get("applied_seq") or 0),
        runtime=float(record.get("runtime") or 0.0),
        state=str(record.get("state") or "running"),
        exit_code=record.get("exit_code"),
    )


def catch_up_with_server(settings: Settings, run_id: str, state: RunState) -> None:
    """Brings a local run about to resume online up to the server's copy when that is ahead of it.

    The server is ahead when the run was changed through the Api (summary, config, tags...) or
    continued elsewhere. The resumed run then numbers its records after the server's
    ``applied_seq`` (a reused number would be skipped by the server) and starts from the server's
    config, summary and metadata, so its finish does not undo those changes. A server that cannot
    be asked now changes nothing: the run resumes from its local log.
    """
    from jupyter_tracker.api.backend import ApiError
    from jupyter_tracker.api.remote import RemoteBackend

    try:
        backend = RemoteBackend(settings, timeout=3.0, retry_seconds=2.0)  # a resume waits at most seconds on a server that is away
    except ApiError:
        return
    try:
        record: dict[str, Any] = dict(backend.get_run(settings.entity, settings.project, run_id))
    except ApiError:
        return
    finally:
        backend.close()
    applied = int(record.get("applied_seq") or 0)
    if applied <= state.last_seq:
        return
    state.last_seq = applied
    state.config.update(record.get("config") or {})
    local_summary = state.summary
    for key, value in (record.get("summary") or {}).items():
        if key not in local_summary or local_summary[key] != value:
            state.summary_manual[key] = value
    for key in ("name", "tags", "notes", "group", "job_type"):
        if record.get(key) is not None:
            state.metadata[key] = record[key]


# the backlog ------------------------------------------------------------------------------------------
def unsynced_run_dirs(root: Path, exclude: Path | None = None) -> list[Path]:
    """Run directories of online runs whose upload is not complete and that no live process is uploading."""
    found = []
    for run_dir in layout.iter_run_dirs(Path(root)):
        if exclude is not None and run_dir.resolve() == exclude.resolve():
            continue
        if not SyncState.exists(run_dir):
            continue  # an offline run: uploaded only when asked (`jupyter-tracker sync`)
        state = SyncState.load(run_dir)
        if state.complete and state.offset >= layout.run_log_path(run_dir).stat().st_size:
            continue
        if state.owned_by_live_process() or layout.run_id_from_dir(run_dir) in active:
            continue
        found.append(run_dir)
    return found


def start_backlog(settings: Settings, exclude: Path | None = None) -> threading.Thread | None:
    """Uploads, in one background thread, the runs under ``settings.root`` left unsynced."""
    global _backlog
    with _backlog_lock:
        if _backlog is not None and _backlog.is_alive():
            return None
        backlog_stop.clear()
        _backlog = threading.Thread(target=_sync_backlog, args=(settings, exclude), name="jt-sync-backlog", daemon=True)
        _backlog.start()
        return _backlog


def _sync_backlog(settings: Settings, exclude: Path | None) -> None:
    try:
        run_dirs = unsynced_run_dirs(settings.root, exclude)
    except OSError:
        return
    for run_dir in run_dirs:
        if backlog_stop.is_set():
            return
        try:
            sync_run_dir(run_dir, settings, stop=backlog_stop)
            console.info(f"uploaded run {layout.run_id_from_dir(run_dir)}, left unsynced in {run_dir}")
        except RetriesExhausted:
            return  # the server is still away; the next init tries again
        except (RefusedError, UploadStopped) as error:
            console.error(f"could not upload the earlier run in {run_dir}: {error}")
        except Exception as error:  # a damaged old run must not disturb the new one
            console.error(f"could not upload the earlier run in {run_dir} ({type(error).__name__}: {error})")


def sync_run_dir(
    run_dir: Path,
    settings: Settings,
    stop: threading.Event | None = None,
    retry_seconds: float = BACKLOG_RETRY_SECONDS,
    client: TrackerClient | None = None,
    entity: str | None = None,
    project: str | None = None,
    show_progress: bool = False,
) -> RunUpload:
    """Uploads one finished (or abandoned) run directory completely; used by the backlog and the CLI.

    >>> sync_run_dir(Path("jupyter_tracker/run-20250101_120000-abc123"), settings.resolve())  # doctest: +SKIP
    """
    from jupyter_tracker.store.reader import read_run

    run_state, _ = read_run(run_dir, warn=False)
    metadata = dict(run_state.metadata)
    metadata.setdefault("id", layout.run_id_from_dir(run_dir))
    if project:
        metadata["project"] = project
    own_client = client is None
    client = client or make_client(settings)
    stop = stop or threading.Event()
    reporter = OutageReporter(str(metadata["id"]))
    retrier = make_retrier(reporter, stop, deadline=lambda: time.monotonic() + retry_seconds)
    upload = RunUpload(
        Path(run_dir),
        client,
        metadata,
        entity=entity or metadata.get("entity"),
        ignore_globs=settings.ignore_globs,
        retrier=retrier,
    )
    bar = None
    try:
        upload.connect()
        if show_progress and run_state.last_seq > upload.applied_seq:
            bar = console.progress_bar(run_state.last_seq, f"run {upload.run_id}", unit="record")
            bar.update(upload.applied_seq)
        upload.upload_all(on_sent=bar.update if bar is not None else None)
    finally:
        if bar is not None:
            bar.close()
        if own_client:
            client.close()
    return upload
