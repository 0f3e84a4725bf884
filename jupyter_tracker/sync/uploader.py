"""Uploads a run directory to a tracking server, from the run log on disk, never from memory.

:class:`RunUpload` is the whole protocol for one run: find where the server stopped
(``applied_seq``), send the records after it in batches cut from the log's frames, then the
files under ``files/`` and ``media/``, and record every acknowledgement in ``sync.json``. It is
used by :class:`SyncThread` (the background thread of an online run), by the backlog sync at
``init`` and by ``jupyter-tracker sync``.

Failures are sorted by the transport: transient ones (network, 5xx, 429) are retried with
backoff by the ``retrier`` the caller passes; a refusal stops the upload with a clear message,
and the run keeps logging locally either way.
"""

from __future__ import annotations

import dataclasses
import functools
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

from jupyter_tracker import console
from jupyter_tracker.run_files import is_ignored
from jupyter_tracker.store import records
from jupyter_tracker.store import run_dir as layout
from jupyter_tracker.sync.backoff import Backoff, RetriesExhausted, RetryableError, retry
from jupyter_tracker.sync.log_tail import LogTail, encode_batch
from jupyter_tracker.sync.sync_state import SYNC_STATE_NAME, SyncState
from jupyter_tracker.sync.transport import (
    PayloadTooLargeError,
    RefusedError,
    SequenceGapError,
    TrackerClient,
)

T = TypeVar("T")
Retrier = Callable[[Callable[[], T]], T]

#: records and bytes in one POST; 15 runs on one key at one POST per interval stay far under 200/minute
MAX_BATCH_RECORDS = 20_000
MAX_BATCH_BYTES = 4 << 20
#: seconds between uploads of an online run; finish() flushes at once
DEFAULT_INTERVAL = 5.0
#: a live file is uploaded once it has not changed for this long (output.log only at the end)
FILE_SETTLE_SECONDS = 2.0
#: never uploaded: the store's own files
_OWN_FILES = {layout.RUN_LOG_NAME, SYNC_STATE_NAME}


class UploadStopped(Exception):
    """The upload cannot go on (a refusal, or a record the server cannot take); the message says why."""


def _no_retry(operation: Callable[[], T]) -> T:
    return operation()


@dataclasses.dataclass
class _Pending:
    seq: int
    raw: bytes
    frame_start: int


def gap_filler(first: int, last: int) -> list[bytes]:
    """Stand-ins for records lost to a corrupt frame, so the server's sequence has no hole."""
    import msgpack

    note = {
        "kind": "missing_records",
        "bound": 0,
        "observed": last - first + 1,
        "subject": f"records {first}..{last} were lost to a corrupt run log frame",
    }
    one = msgpack.packb([records.WARNING, note], use_bin_type=True)
    return [one] * (last - first + 1)


def run_files(run_dir: Path, ignore_globs: Sequence[str] = ()) -> dict[str, Path]:
    """The files a run uploads, by server name: its stored files less ``WANDB_IGNORE_GLOBS`` and the store's own."""
    return {
        name: path
        for name, path in layout.stored_files(run_dir).items()
        if name not in _OWN_FILES and not is_ignored(name, ignore_globs)
    }


class RunUpload:
    """Uploads one run directory; safe to repeat: the server ignores what it has already applied.

    >>> upload = RunUpload(run_dir, client, metadata={"project": "mnist", "id": "abc123"})  # doctest: +SKIP
    >>> upload.connect(); upload.send_available(final=True); upload.send_files(final=True)  # doctest: +SKIP
    """

    def __init__(
        self,
        run_dir: Path,
        client: TrackerClient,
        metadata: Mapping[str, Any],
        entity: str | None = None,
        ignore_globs: Sequence[str] = (),
        retrier: Retrier | None = None,
        max_batch_records: int = MAX_BATCH_RECORDS,
        max_batch_bytes: int = MAX_BATCH_BYTES,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.run_dir = Path(run_dir)
        self.client = client
        self.metadata = dict(metadata)
        self.project = str(self.metadata.get("project") or "uncategorized")
        self.run_id = str(self.metadata.get("id") or layout.run_id_from_dir(self.run_dir))
        self.entity = entity or self.metadata.get("entity")
        self.ignore_globs = tuple(ignore_globs)
        self._retry: Retrier = retrier or _no_retry
        self.max_batch_records = max_batch_records
        self.max_batch_bytes = max_batch_bytes
        self._clock = clock
        self.state = SyncState.load(self.run_dir)
        self.tail = LogTail(layout.run_log_path(self.run_dir))
        self._pending: deque[_Pending] = deque()
        self._pending_bytes = 0
        self.connected = False
        self.records_sent = 0
        self.files_sent = 0

    # where the server stands ------------------------------------------------------------------------
    @property
    def applied_seq(self) -> int:
        return self.state.applied_seq

    @property
    def _where(self) -> tuple[str, str, str]:
        """Entity, project and run id on the server (the entity is known once :meth:`connect` asked)."""
        if not self.entity:
            raise UploadStopped(f"the server named no entity for run {self.run_id}; pass one (--entity)")
        return self.entity, self.project, self.run_id

    def connect(self) -> int:
        """Creates or finds the run on the server and positions the log after what it applied."""
        if not self.entity:
            viewer = self._retry(self.client.viewer)
            self.entity = str(viewer.get("default_entity") or viewer.get("username") or "")
        metadata = {key: value for key, value in self.metadata.items() if _jsonable_scalar(value)}
        answer = self._retry(functools.partial(self.client.upsert_run, *self._where, metadata))
        applied = int(answer.get("applied_seq") or 0)
        known = self.state.same_server(self.client.base_url, *self._where)
        if not known:
            self.state = SyncState(
                base_url=self.client.base_url, entity=self.entity, project=self.project, run_id=self.run_id
            )
        self.state.claim()
        offset = self.state.offset if known and self.state.applied_seq == applied else 0
        if offset > len(records.MAGIC) and offset != self.tail.size:
            first_seq = self.tail.first_seq_at(offset)
            if first_seq is None or first_seq > applied + 1:
                offset = 0  # not a frame boundary of this log any more (a resumed run rewrote its tail)
        elif offset > self.tail.size:
            offset = 0
        self._reposition(applied, offset)
        self.connected = True
        return applied

    def _reposition(self, applied: int, offset: int = 0) -> None:
        self.state.applied_seq = applied
        self.tail = LogTail(self.tail.path, offset)
        self._pending.clear()
        self._pending_bytes = 0
        if offset == 0:
            self.state.offset = 0
        self.state.complete = False
        self.state.save(self.run_dir)

    # records ------------------------------------------------------------------------------------------
    def _fill(self, final: bool) -> bool:
        """Reads frames until a full batch is pending or the log has nothing more ready.

        Returns True when it stopped because a batch is full (more may be ready in the log).
        """
        while len(self._pending) < self.max_batch_records and self._pending_bytes < self.max_batch_bytes:
            frames = self.tail.read(max_bytes=self.max_batch_bytes, final=final)
            if not frames:
                return False
            expected = self._pending[-1].seq + 1 if self._pending else self.state.applied_seq + 1
            for frame in frames:
                if frame.last_seq < expected:
                    continue
                if frame.first_seq > expected:
                    console.error(
                        f"sync of run {self.run_id}: records {expected}..{frame.first_seq - 1} were lost "
                        "to a corrupt frame of the run log; the server is told they are missing"
                    )
                    for offset, raw in enumerate(gap_filler(expected, frame.first_seq - 1)):
                        self._pending.append(_Pending(expected + offset, raw, frame.start))
                        self._pending_bytes += len(raw)
                for index, raw in enumerate(frame.raw_records):
                    seq = frame.first_seq + index
                    if seq >= expected:
                        self._pending.append(_Pending(seq, raw, frame.start))
                        self._pending_bytes += len(raw)
                expected = frame.last_seq + 1
        return True

    def send_available(self, final: bool = False, on_sent: Callable[[int], None] | None = None) -> bool:
        """Sends every complete record in the log; True when nothing was left to send.

        With ``final`` the log is complete (its writer closed or gone), so damage in it is skipped
        rather than waited on; otherwise it sends what was ready when it looked and returns, rather
        than chase a writer that keeps appending (one request per interval keeps many runs under
        a server's rate limit). ``on_sent(n)`` is told how many records each batch had acknowledged.
        """
        limit_records = self.max_batch_records
        limit_bytes = self.max_batch_bytes
        backlog = True
        gaps = 0
        while True:
            if backlog or final:
                backlog = self._fill(final)
            if not self._pending:
                self._save_offset()
                return True
            batch: list[_Pending] = []
            size = 0
            for item in self._pending:
                if batch and (len(batch) >= limit_records or size + len(item.raw) > limit_bytes):
                    break
                batch.append(item)
                size += len(item.raw)
            payload = encode_batch(batch[0].seq, [item.raw for item in batch])
            try:
                if len(batch) == 1 and len(payload) > self.max_batch_bytes:
                    applied = self._send_in_parts(batch[0], payload)
                else:
                    applied = self._retry(functools.partial(self.client.post_records, *self._where, payload))
            except PayloadTooLargeError:
                if len(batch) == 1:
                    applied = self._send_in_parts(batch[0], payload)
                else:
                    limit_records = max(1, len(batch) // 2)
                    limit_bytes = max(1, size // 2)
                    continue
            except SequenceGapError as error:
                gaps += 1
                if gaps <= 3:
                    # the server lost or gained records since we asked: start over from its word
                    self._reposition(error.applied_seq, 0)
                    backlog = True
                    continue
                raise UploadStopped(
                    f"the server keeps refusing run {self.run_id}'s records ({error}); its copy is at sequence "
                    f"{error.applied_seq}; run `jupyter-tracker sync {self.run_dir}`"
                ) from None
            except RefusedError as error:
                if error.status != 400:
                    raise
                # the server refuses something in this batch: find the record, stand in for it, go on
                if len(batch) == 1:
                    applied = self._send_stand_in(batch[0], len(payload), error)
                else:
                    limit_records = max(1, len(batch) // 2)
                    limit_bytes = max(1, size // 2)
                    continue
            gaps = 0
            acknowledged = self._acknowledge(applied)
            if on_sent is not None and acknowledged:
                on_sent(acknowledged)

    def _send_in_parts(self, item: _Pending, payload: bytes) -> int:
        """Sends one record's payload in ``max_batch_bytes`` parts; returns the server's applied_seq.

        A record the server cannot take at all (over its ``max_record_bytes``, or a server without
        the parts endpoint) is replaced on the server by a warning that says so; the record stays
        in the local run log, and the records after it go on syncing.
        """
        total = len(payload)
        offset = 0
        part_size = max(1, self.max_batch_bytes)
        while True:
            part = payload[offset : offset + part_size]
            try:
                answer = self._retry(
                    functools.partial(self.client.post_record_part, *self._where, item.seq, offset, total, part)
                )
            except SequenceGapError as error:
                if "received" not in error.body:
                    raise
                offset = int(error.body["received"])  # the server holds a different prefix: go on from there
                continue
            except PayloadTooLargeError as error:
                if "request body" in str(error) and part_size > 64 * 1024:
                    part_size //= 2  # the server (or a proxy) takes smaller requests than we send
                    continue
                return self._send_stand_in(item, total, error)
            except RefusedError as error:
                if error.status in (401, 403, 409):
                    raise
                return self._send_stand_in(item, total, error)
            offset = int(answer.get("received") or offset + len(part))
            applied = int(answer.get("applied_seq") or 0)
            if applied >= item.seq or offset >= total:
                return applied

    def _send_stand_in(self, item: _Pending, size: int, error: RefusedError) -> int:
        """Sends a stand-in for a record the server refuses, so the records after it still sync.

        The stand-in is the same record with each value over :data:`STAND_IN_VALUE_BYTES` replaced
        by a note of its size (a history row keeps its step and its other metrics, a finish record
        still finishes the run); when that is still refused, a warning record takes the place.
        """
        problem = f"record {item.seq} ({size:,} bytes) is not on the server in full: {error}"
        if problem not in self.state.problems:
            self.state.problems.append(problem)
        console.warn_once(f"sync-record-{self.run_id}-{item.seq}", f"sync of run {self.run_id}: {problem}")
        slimmed = _without_large_values(item.raw, str(error))
        if slimmed is not None:
            try:
                return self._retry(
                    functools.partial(self.client.post_records, *self._where, encode_batch(item.seq, [slimmed]))
                )
            except RefusedError as refused:
                if refused.status in (401, 403, 409):
                    raise
        import msgpack

        note = {"kind": "record_not_synced", "bound": 0, "observed": size, "subject": problem}
        stand_in = msgpack.packb([records.WARNING, note], use_bin_type=True)
        return self._retry(
            functools.partial(self.client.post_records, *self._where, encode_batch(item.seq, [stand_in]))
        )

    def _acknowledge(self, applied: int) -> int:
        before = self.state.applied_seq
        while self._pending and self._pending[0].seq <= applied:
            self._pending_bytes -= len(self._pending.popleft().raw)
        self.state.applied_seq = max(before, applied)
        self.records_sent += max(0, applied - before)
        self._save_offset()
        return max(0, applied - before)

    def _save_offset(self) -> None:
        # the start of the frame holding the first unacknowledged record: re-reading from
        # there repeats only records the server ignores
        self.state.offset = self._pending[0].frame_start if self._pending else self.tail.good_offset
        self.state.save(self.run_dir)

    # files --------------------------------------------------------------------------------------------
    def changed_files(self, final: bool) -> list[tuple[str, Path, list[int]]]:
        """Files whose size or modification time differ from what the server last acknowledged."""
        changed = []
        now = self._clock()
        for name, path in run_files(self.run_dir, self.ignore_globs).items():
            try:
                stat = path.stat()
            except OSError:
                continue
            signature = [stat.st_size, stat.st_mtime_ns]
            if self.state.files.get(name) == signature:
                continue
            if not final and (name == layout.OUTPUT_LOG_NAME or now - stat.st_mtime < FILE_SETTLE_SECONDS):
                continue
            changed.append((name, path, signature))
        return changed

    def send_files(self, final: bool = False) -> int:
        """Uploads new and changed files; returns how many were sent."""
        sent = 0
        for name, path, signature in self.changed_files(final):
            try:
                data = path.read_bytes()
            except OSError as error:
                console.warn_once(f"sync-file-{name}", f"sync of run {self.run_id}: could not read {name} ({error})")
                continue
            try:
                self._retry(functools.partial(self.client.put_file, *self._where, name, data))
            except PayloadTooLargeError as error:
                self.state.problems.append(f"{name} is larger than the server accepts; not uploaded")
                console.warn_once(f"sync-file-{name}", f"sync of run {self.run_id}: {name} not uploaded ({error})")
            except RefusedError as error:
                if error.status in (401, 403):
                    raise
                self.state.problems.append(f"{name} was refused: {error}")
                console.warn_once(f"sync-file-{name}", f"sync of run {self.run_id}: {name} not uploaded ({error})")
            else:
                sent += 1
                self.files_sent += 1
            self.state.files[name] = signature
            self.state.save(self.run_dir)
        return sent

    def mark_complete(self) -> None:
        """Everything in the log and every file is on the server."""
        self.state.complete = True
        self.state.problems.extend(problem for problem in self.tail.problems if problem not in self.state.problems)
        self.state.save(self.run_dir)

    def upload_all(self, on_sent: Callable[[int], None] | None = None) -> None:
        """The whole run, as ``jupyter-tracker sync`` and the backlog sync do it: records, files, done."""
        if not self.connected:
            self.connect()
        self.send_available(final=True, on_sent=on_sent)
        self.send_files(final=True)
        self.mark_complete()


#: values larger than this are left out of a stand-in record (the recommended bound of one value)
STAND_IN_VALUE_BYTES = 1 << 20


def _without_large_values(raw: bytes, reason: str) -> bytes | None:
    """The record with every large value (in its dicts, two levels down) replaced by a note; None if none is large."""
    import msgpack

    try:
        record = msgpack.unpackb(raw, raw=False, strict_map_key=False)
    except Exception:
        return None
    if not isinstance(record, list):
        return None
    replaced = 0

    def slim(mapping: dict[Any, Any], depth: int) -> None:
        nonlocal replaced
        for key, value in mapping.items():
            if isinstance(value, dict) and depth < 2:
                slim(value, depth + 1)
                continue
            packed = msgpack.packb(value, use_bin_type=True)
            if len(packed) > STAND_IN_VALUE_BYTES:
                mapping[key] = {"_type": "not-synced", "bytes": len(packed), "reason": reason[:300]}
                replaced += 1

    for part in record:
        if isinstance(part, dict):
            slim(part, 0)
    return msgpack.packb(record, use_bin_type=True) if replaced else None


def _jsonable_scalar(value: Any) -> bool:
    if isinstance(value, (list, tuple)):
        return all(_jsonable_scalar(item) for item in value)
    return value is None or isinstance(value, (str, int, float, bool))


# the background thread of an online run --------------------------------------------------------------
class OutageReporter:
    """Says "network failure, retrying" once per outage and "sync resumed" when it ends."""

    def __init__(self, run_id: str) -> None:
        self.run_id = run_id
        self.in_outage = False
        self.failures = 0

    def failed(self, error: RetryableError, delay: float) -> None:
        self.failures += 1
        if not self.in_outage:
            self.in_outage = True
            console.error(f"sync of run {self.run_id}: network failure, retrying ({error})")

    def succeeded(self) -> None:
        if self.in_outage:
            self.in_outage = False
            console.info(f"sync of run {self.run_id}: sync resumed")


def make_retrier(
    reporter: OutageReporter,
    stop: threading.Event,
    backoff_factory: Callable[[], Backoff] = Backoff,
    deadline: Callable[[], float | None] = lambda: None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], bool | None] | None = None,
) -> Retrier:
    """Retries transient failures forever (or to ``deadline()``), waiting on ``stop`` so stopping is immediate."""

    def retrier(operation: Callable[[], T]) -> T:
        result = retry(
            operation,
            backoff_factory(),
            sleep=sleep or stop.wait,
            clock=clock,
            deadline=deadline(),
            on_failure=reporter.failed,
            should_stop=stop.is_set,
        )
        reporter.succeeded()
        return result

    return retrier


class SyncThread:
    """The daemon thread ``jt-sync-<run id>`` that uploads one online run while it logs.

    Its loop clock is ``Event.wait(interval)``: :meth:`drain` wakes it at once for the final
    upload and :meth:`stop` ends it without waiting out a backoff.
    """

    def __init__(
        self, upload: RunUpload, interval: float = DEFAULT_INTERVAL, backoff_factory: Callable[[], Backoff] = Backoff
    ) -> None:
        self.upload = upload
        self.interval = interval
        self._wake = threading.Event()
        self._final = threading.Event()
        self._stop = threading.Event()
        self.done = threading.Event()
        self.ended = threading.Event()
        self.error: BaseException | None = None
        self.reporter = OutageReporter(upload.run_id)
        upload._retry = make_retrier(self.reporter, self._stop, backoff_factory)
        self._thread = threading.Thread(target=self._loop, name=f"jt-sync-{upload.run_id}", daemon=True)

    @property
    def name(self) -> str:
        return self._thread.name

    def start(self) -> None:
        self._thread.start()

    def is_alive(self) -> bool:
        return self._thread.is_alive()

    def _loop(self) -> None:
        upload = self.upload
        try:
            while not self._stop.is_set():
                final = self._final.is_set()
                if not upload.connected:
                    upload.connect()
                caught_up = upload.send_available(final=final)
                if final and caught_up:
                    upload.send_files(final=True)
                    upload.mark_complete()
                    self.done.set()
                    return
                upload.send_files(final=False)
                self._wake.wait(self.interval)
                self._wake.clear()
        except RetriesExhausted:
            return  # stopped while retrying: finish() has already said how to complete the upload
        except (RefusedError, UploadStopped) as error:
            self.error = error
            console.error(
                f"sync of run {upload.run_id} stopped: {error}. The run keeps logging locally; "
                f"upload it later with `jupyter-tracker sync {upload.run_dir}`"
            )
        except Exception as error:  # the training loop must never see the sync thread's failure
            self.error = error
            console.error(
                f"the sync thread of run {upload.run_id} crashed ({type(error).__name__}: {error}). "
                f"The run keeps logging locally; upload it later with `jupyter-tracker sync {upload.run_dir}`"
            )
        finally:
            self.ended.set()

    def wake(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()

    def drain(self, timeout: float, last_seq: int | None = None, show_progress: bool = True) -> bool:
        """Asks for the final upload and waits for it up to ``timeout`` seconds; True when complete.

        A progress bar appears when the wait lasts more than half a second. Past the timeout the
        thread is stopped and the user is told how to finish the upload.
        """
        self._final.set()
        self._wake.set()
        started = time.monotonic()
        bar = None
        first = shown = self.upload.applied_seq
        try:
            while not self.ended.wait(0.1):
                waited = time.monotonic() - started
                if waited >= timeout:
                    break
                if bar is None and show_progress and last_seq is not None and last_seq > first and waited > 0.5:
                    bar = console.progress_bar(last_seq - first, f"uploading run {self.upload.run_id}", unit="record")
                if bar is not None:
                    applied = min(self.upload.applied_seq, last_seq or 0)
                    if applied > shown:
                        bar.update(applied - shown)
                        shown = applied
            if bar is not None and self.done.is_set() and last_seq is not None and last_seq > shown:
                bar.update(last_seq - shown)
        except KeyboardInterrupt:
            self.stop()
            console.info(
                f"run {self.upload.run_id}: upload interrupted; the run is kept locally. "
                f"Finish it with `jupyter-tracker sync {self.upload.run_dir}`"
            )
            raise
        finally:
            if bar is not None:
                bar.close()
        if not self.done.is_set():
            self.stop()
            if self.error is None:
                console.info(
                    f"run {self.upload.run_id}: upload not finished after {timeout:g} s; it is kept locally. "
                    f"Finish it with `jupyter-tracker sync {self.upload.run_dir}`"
                )
        return self.done.is_set()
