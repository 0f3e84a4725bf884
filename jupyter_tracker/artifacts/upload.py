"""The background upload of an online run's artifacts: logged versions and uses, in order, from the local store.

``log_artifact`` returns once the version is in the local store; this thread then sends it to
the tracking server (only the files the server lacks). ``finish()`` waits for what is queued,
up to the run's sync timeout. A failure is said once and the run goes on; the version stays in
the local store, and logging it again later sends only what is still missing.
"""

from __future__ import annotations

import queue
import threading
import time
from typing import Any

from jupyter_tracker import console
from jupyter_tracker.artifacts.registry import ArtifactNotFoundError


class ArtifactUploader:
    """One run's queue of artifact uploads, worked by a named daemon thread.

    >>> uploader_for(run).push(record)  # doctest: +SKIP
    """

    def __init__(self, run: Any, store_factory: Any = None) -> None:
        self._run = run
        self._store_factory = store_factory
        self._store: Any = None
        self._jobs: queue.Queue[tuple[str, dict[str, Any], str | None]] = queue.Queue()
        self._idle = threading.Event()
        self._idle.set()
        self._pending = 0
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._work, name=f"jt-artifacts-{run.id}", daemon=True)
        self._thread.start()
        run.before_finish(self._at_finish)

    def _remote(self) -> Any:
        if self._store is None:
            if self._store_factory is not None:
                self._store = self._store_factory(self._run.settings)
            else:
                from jupyter_tracker.artifacts.remote_store import remote_store_for

                self._store = remote_store_for(self._run.settings)
        return self._store

    def _enqueue(self, kind: str, record: dict[str, Any], run_id: str | None) -> None:
        with self._lock:
            self._pending += 1
            self._idle.clear()
        self._jobs.put((kind, record, run_id))

    def push(self, record: dict[str, Any]) -> None:
        """Queues a version the run logged."""
        self._enqueue("log", record, self._run.id)

    def record_use(self, record: dict[str, Any], run_id: str) -> None:
        """Queues the lineage of a version the run used (uploading the version first if the server lacks it)."""
        self._enqueue("use", record, run_id)

    def wait(self, timeout: float) -> bool:
        """Waits until every queued upload is done; False when ``timeout`` passed first."""
        return self._idle.wait(timeout)

    def _work(self) -> None:
        while True:
            kind, record, run_id = self._jobs.get()
            try:
                self._send(kind, record, run_id)
            except Exception as error:  # the run goes on; the version stays in the local store
                console.warn_once(f"artifact-upload-{record['name']}",
                                  f"artifact {record['name']}:v{record['version']} was not uploaded to "
                                  f"{self._run.settings.base_url} ({type(error).__name__}: {error}); it is kept in "
                                  "the local store, and logging it again sends what is missing")
            finally:
                with self._lock:
                    self._pending -= 1
                    if self._pending == 0:
                        self._idle.set()

    def _send(self, kind: str, record: dict[str, Any], run_id: str | None) -> None:
        from jupyter_tracker.artifacts.run_artifacts import local_store

        remote = self._remote()
        entity = self._run.entity
        if kind == "log":
            remote.push(local_store(self._run), record, entity, run_id=run_id)
            return
        try:
            found = remote.resolve(entity, record["project"], record["name"], f"sha256:{record['digest']}")
        except ArtifactNotFoundError:
            found = remote.push(local_store(self._run), record, entity, aliases=[], run_id=record.get("logged_by"))
        remote.record_use(found, str(run_id))

    def _at_finish(self, run: Any) -> None:
        started = time.monotonic()
        timeout = float(run.settings.sync_timeout)
        if not self.wait(timeout):
            console.warn_once("artifact-upload-timeout",
                              f"artifact uploads still running after {time.monotonic() - started:.0f} s at finish; "
                              "they are kept in the local store")


def uploader_for(run: Any) -> ArtifactUploader:
    """The run's :class:`ArtifactUploader`, started on first use."""
    uploader = getattr(run, "_artifact_uploader", None)
    if uploader is None:
        uploader = ArtifactUploader(run)
        run._artifact_uploader = uploader
    return uploader


def push_run_artifacts(run_dir: Any, settings: Any, entity: str, project: str, run_id: str) -> int:
    """Uploads the versions a run logged or used while offline (``jupyter-tracker sync``); returns how many.

    The versions are those of the run's local store (the folder holding the run directory).
    Files the server holds already are not sent; a failure is said once and the run's sync goes on.
    """
    from pathlib import Path

    from jupyter_tracker.artifacts.local_store import LocalArtifactStore

    root = Path(run_dir).parent
    if not (root / "artifacts" / "registry.sqlite").is_file():
        return 0
    store = LocalArtifactStore(root)
    logged = store.run_versions(None, project, run_id, "logged")
    used = store.run_versions(None, project, run_id, "used")
    if not logged and not used:
        return 0
    from jupyter_tracker.artifacts.remote_store import remote_store_for

    remote = remote_store_for(settings)
    sent = 0
    for kind, record in [("log", record) for record in logged] + [("use", record) for record in used]:
        try:
            if kind == "log":
                remote.push(store, record, entity, run_id=run_id)
            else:
                try:
                    found = remote.resolve(entity, project, record["name"], f"sha256:{record['digest']}")
                except ArtifactNotFoundError:
                    found = remote.push(store, record, entity, aliases=[], run_id=record.get("logged_by"))
                remote.record_use(found, run_id)
            sent += 1
        except Exception as error:  # one version must not stop the others or the run's sync
            console.warn_once(f"artifact-sync-{record['name']}",
                              f"run {run_id}: artifact {record['name']}:v{record['version']} was not uploaded "
                              f"({type(error).__name__}: {error}); run the sync again")
    if sent:
        console.info(f"run {run_id}: {sent} artifact version(s) sent")
    return sent
