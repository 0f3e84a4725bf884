"""The one writer of a run log: a daemon thread that encodes queued records and appends frames.

``append`` is a bare ``deque.append`` (atomic, lock-free, a fraction of a microsecond), so the
training loop never waits on disk. The thread wakes every ``flush_interval`` seconds, writes what is
queued in frames and hands it to the OS, so a killed process loses at most one interval; ``close``
drains everything and fsyncs.

Who encodes: ``log()``'s fast path packs each row into its record's bytes itself (a queued record
is then ``bytes``; :func:`records.pack_records` joins such records as they are), and a fast training
loop calls :meth:`RunLogWriter.catch_up` every :data:`CATCH_UP_ROWS` rows, which joins what is
queued, packing what is still Python objects in one msgpack call, on the loop's own thread, and
leaves the bytes for the writer thread. On a 2-core machine this is cheaper for the loop than
leaving the encoding to the writer thread: the work is the same, but the writer thread then needs
the GIL only for a moment every interval instead of taking it for milliseconds many times a second
(each hand-over of the GIL between two threads can stall the loop for a scheduler tick when the
machine is busy). What the loop does not pack (media, numpy arrays, values msgpack refuses, or a
loop that never calls ``catch_up``) the writer thread encodes as before, waking at most every
:data:`MAX_WAKE_INTERVAL` while it finds records to encode (which bounds the memory queued records
take) and every :data:`IDLE_WAKE_INTERVAL` while none arrive. While the loop keeps packing ahead,
the writer thread leaves the queue to it (it takes records only once they sat a whole wake-up
interval, about half a flush interval, untouched): encoding them here too made the loop wait for
the GIL in the middle of log() calls, which put its mean far above its median. Record observers
(live views) are given every record as a tuple, rows ``log()`` packed unpacked again.

Packed bytes are copied once at most: the batches of one frame are joined (so that its CRC is one
call, which gives the GIL up once), and ``os.writev`` hands every waiting frame's head and body to
the system in one call, without joining the frames into one more copy.

When the disk refuses a write (full, or gone), encoded frames wait in memory and are written again
frame by frame on every wake-up, so any space that frees up is used. The backlog is bounded by
``max_backlog_bytes`` (:data:`MAX_BACKLOG_BYTES`): past it, the oldest waiting frames are dropped
and counted (:attr:`RunLogWriter.records_dropped`), the newest are kept. The failure is reported
when it starts, every :data:`FAILURE_REPORT_INTERVAL` seconds while it lasts, and when it ends.
"""

from __future__ import annotations

import os
import threading
import time
from collections import deque
from collections.abc import Callable
from itertools import islice, repeat, starmap
from pathlib import Path
from typing import Any, NamedTuple

from jupyter_tracker.store import records

#: records per frame: bounds the time the thread holds the GIL in one encode call
FRAME_RECORDS = 2048
#: records packed ahead by the logging thread are merged into frames of up to this many
MERGED_FRAME_RECORDS = 4096
#: the logging thread calls catch_up every this many rows (a power of two): rows that are still Python
#: objects (a live view observes them), 128 of 10 floats are ~200 KB, are still in the CPU's cache when
#: they are packed and freed (every 1,024 rows, packing and freeing them from memory cost ~40 % more)
CATCH_UP_ROWS = 128
#: catch_up packs the queue only once this many records wait (fewer: left to the writer thread)
ENCODE_AHEAD_MIN = 64
#: bytes packed ahead by the logging thread and not yet taken by the writer thread past which the
#: loop waits for the writer (a writer that blocks on a stuck disk)
MAX_READY_BYTES = 32 << 20
#: the thread wakes at least this often (seconds), also when ``flush_interval`` is longer: queued
#: records are Python objects (~450 bytes each) until encoded (~30), so a loop logging 700,000
#: rows/s would otherwise hold ``flush_interval`` worth of them (~60 MB at 0.2 s); at 0.02 s that
#: backlog stays near 10 MB, for ~50 cheap wake-ups a second
MAX_WAKE_INTERVAL = 0.02
#: while nothing is being logged the thread sleeps longer (a burst that starts then queues at most
#: this long before the short interval takes over)
IDLE_WAKE_INTERVAL = 0.05
#: encoded records (about 30 bytes each) held in memory while the disk refuses writes: past this,
#: the oldest waiting frames are dropped and counted, so a full disk never exhausts memory
MAX_BACKLOG_BYTES = 64 << 20
#: records waiting to be encoded past which the logging thread lets the writer catch up: a loop
#: that logs faster than the writer encodes (one float a row, a microsecond a call) would otherwise
#: queue rows without bound (~300 bytes each as Python objects)
MAX_QUEUED_RECORDS = 32_768
#: the longest the logging thread waits for the writer to catch up, per call of wait_for_backlog
MAX_BACKLOG_WAIT = 0.5
#: after a wait in which the writer made no progress, the logging thread stops waiting this long (seconds)
BACKLOG_WAIT_PAUSE = 30.0
#: while writes keep failing, the failure is reported again this often (seconds)
FAILURE_REPORT_INTERVAL = 30.0


def _iov_max() -> int:
    try:
        value = os.sysconf("SC_IOV_MAX")
    except (AttributeError, ValueError, OSError):  # pragma: no cover - no sysconf, or no such name
        return 1024
    return value if value > 0 else 1024


#: buffers one ``writev`` call takes at most (the system's IOV_MAX; 1024 where it cannot be read)
IOV_MAX = _iov_max()


class RunLogBusyError(RuntimeError):
    """Another process is writing this run log (its run is live); appending now would interleave frames."""


class UnwrittenRecordsWarning(UserWarning):
    """Records of a run could not be written to its run log (a full disk): how many, and what is kept."""


def _lock(handle: Any) -> bool:
    """Marks the log as written by this process for as long as it is open (an advisory lock).

    A live run holds it, so that an edit through the Api (``exclusive``) never appends to a log
    whose writer is running. False when another process holds it; True where locks do not exist.
    """
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        return True
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    except OSError:
        return True  # a file system without locks: nothing to coordinate with
    return True


def _drop_left(queue: deque[Any], count: int) -> None:
    """Takes ``count`` items off the left of ``queue`` in one C call (no interrupt can split it)."""
    deque(starmap(queue.popleft, repeat((), count)), maxlen=0)


def _write_all(handle: Any, data: bytes) -> None:
    """Writes every byte: an unbuffered file may accept only part of a write."""
    view = memoryview(data)
    while view:
        written = handle.write(view)
        view = view[written or 0 :]


def _writev_all(writev: Callable[[int, list[Any]], int], fd: int, buffers: list[Any]) -> None:
    """Writes every byte of ``buffers`` in order, :data:`IOV_MAX` buffers a call, none of them copied.

    A call may write only part of what it was given (a disk filling up): the rest is written by
    the next calls, whose error (the disk is full) is raised to the caller, which cuts the file back.
    ``buffers`` is consumed (a buffer written in part is replaced by a view of its rest).
    """
    start = 0
    while start < len(buffers):
        chunk = buffers[start : start + IOV_MAX]
        written = writev(fd, chunk)
        if written <= 0:
            raise OSError(f"the run log accepted none of {sum(map(len, chunk)):,} bytes")
        for buffer in chunk:
            size = len(buffer)
            if written < size:
                buffers[start] = memoryview(buffer)[written:]
                break
            written -= size
            start += 1


def _write_each(fd: int, buffers: list[Any]) -> int:
    """``os.writev`` where the system has none: the buffers written one by one, up to the first short write."""
    total = 0
    for buffer in buffers:
        written = os.write(fd, buffer)
        total += written
        if written < len(buffer):
            break
    return total


class _Packed(NamedTuple):
    """Records packed and waiting to be written as one frame: ``pack(records)`` and how many records."""

    data: bytes
    count: int


class RunLogWriter:
    """Appends records to one run log file from a background thread.

    >>> writer = RunLogWriter(Path("/tmp/example.jtlog"), first_seq=1)  # doctest: +SKIP
    >>> writer.start(); writer.append((records.HISTORY, 0, 0.0, 0.0, {"loss": 1.0})); writer.close()  # doctest: +SKIP
    """

    def __init__(
        self,
        path: Path,
        first_seq: int = 1,
        flush_interval: float = 0.2,
        encode_default: Callable[[Any], Any] | None = None,
        on_error: Callable[[str, BaseException | None], None] | None = None,
        truncate_at: int | None = None,
        repair_header: bool = False,
        max_backlog_bytes: int = MAX_BACKLOG_BYTES,
        clock: Callable[[], float] = time.monotonic,
        exclusive: bool = False,
    ) -> None:
        self.path = Path(path)
        #: the sequence number of the next record written to disk, and of the next record encoded
        #: (they differ by what waits in memory, and by what a full disk made the writer drop)
        self._write_seq = first_seq
        self._encoded_seq = first_seq
        self.flush_interval = flush_interval
        self._queue: deque[Any] = deque()
        self.append: Callable[[Any], None] = self._queue.append
        self._pack = records.make_packer(encode_default)
        #: the logging thread's packer: plain msgpack types only (anything else is left to the writer thread)
        self._pack_ahead = records.make_plain_packer()
        #: held while records move from the queue to encoded bytes, so that batches keep their order
        self._encode_lock = threading.Lock()
        #: batches the logging thread packed, oldest first: (how many records, their packed bytes, the
        #: records themselves when an observer wants them, the first record)
        self._ready: deque[tuple[int, bytes, list[Any] | None, Any]] = deque()
        self._ready_bytes = 0
        self._on_error = on_error
        self._wake = threading.Event()
        self._stopping = False
        self._thread: threading.Thread | None = None
        #: packed records not yet on disk, oldest first, one frame each
        self._unwritten: deque[_Packed] = deque()
        #: the system call that writes buffers to the log's descriptor (a test stands a full disk in for it)
        self._writev: Callable[[int, list[Any]], int] = getattr(os, "writev", _write_each)
        self._unwritten_bytes = 0
        self.max_backlog_bytes = max_backlog_bytes
        self._clock = clock
        #: when the current run of failed writes began (None while writes succeed), and when it was last reported
        self._failing_since: float | None = None
        self._failure_reported_at = 0.0
        #: flush() callers still waiting: released only once what came before them is written
        self._waiters: list[threading.Event] = []
        #: the logging thread does not wait for the writer before this time (monotonic seconds)
        self._backlog_wait_off_until = 0.0
        #: flush() markers appended to the queue and not yet taken out of it
        self._flush_markers: list[threading.Event] = []
        #: records encoded (on disk or waiting in memory)
        self.records_written = 0
        self.bytes_written = 0
        #: records dropped, oldest first, because the disk refused them for longer than the backlog holds
        self.records_dropped = 0
        #: the last error a write met (kept for the report at close)
        self.last_write_error: BaseException | None = None
        self._observers: list[Callable[[int, list[Any]], None]] = []
        #: set by the writer thread for one wake-up: take only what the logging thread packed, and
        #: the queue's head it saw (a head seen twice has waited a whole interval)
        self._leave_queue = False
        self._seen_head: Any = None
        #: records the writer thread took off the queue and has not encoded yet (counted as pending)
        self._in_flight = 0
        self._file = self._open(truncate_at, repair_header, exclusive)

    def _open(self, truncate_at: int | None, repair_header: bool = False, exclusive: bool = False):  # type: ignore[no-untyped-def]
        self.path.parent.mkdir(parents=True, exist_ok=True)
        exists = self.path.exists() and self.path.stat().st_size > 0
        # unbuffered: a failed write leaves nothing half-queued in a buffer, so the file can be
        # cut back to its last whole frame and the batch written again (see _write_frames)
        handle = open(self.path, "r+b" if exists else "wb", buffering=0)
        if not _lock(handle) and exclusive:
            handle.close()
            raise RunLogBusyError(f"{self.path} is being written by a live run; change the run from its own process")
        if exists:
            if truncate_at is not None:
                handle.truncate(truncate_at)
            if repair_header and handle.seek(0, os.SEEK_END) >= len(records.MAGIC):
                # the frames after a damaged header are intact: only the header is written again
                handle.seek(0)
                _write_all(handle, records.MAGIC)
            handle.seek(0, os.SEEK_END)
            if handle.tell() < len(records.MAGIC):  # nothing readable was left: start the log afresh
                handle.truncate(0)
                handle.seek(0)
                _write_all(handle, records.MAGIC)
        else:
            _write_all(handle, records.MAGIC)
        self._good_end = handle.tell()
        return handle

    def add_observer(self, observer: Callable[[int, list[Any]], None]) -> None:
        """Calls ``observer(first_seq, records)`` from the writer thread after each batch is encoded.

        The live view reads records this way; an observer must be quick and must not raise (its
        failures are reported once and ignored).
        """
        self._observers.append(observer)

    def remove_observer(self, observer: Callable[[int, list[Any]], None]) -> None:
        if observer in self._observers:
            self._observers.remove(observer)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name=f"jt-writer-{self.path.parent.name}", daemon=True)
        self._thread.start()

    @property
    def pending(self) -> int:
        """Records not yet encoded: queued, or taken by the writer thread and being encoded."""
        return len(self._queue) + self._in_flight

    @property
    def next_seq(self) -> int:
        """The sequence number the next record gets on disk, counting those waiting to be written.

        Once the log is closed, records still waiting will never be written: only disk counts.
        """
        return self._write_seq if self._file.closed else self._write_seq + self.records_unwritten

    @property
    def records_unwritten(self) -> int:
        """Records encoded but not on disk: the disk refused them (only while it does)."""
        return sum(packed.count for packed in self._unwritten)

    def _loop(self) -> None:
        busy = min(self.flush_interval, MAX_WAKE_INTERVAL)
        idle = min(self.flush_interval, IDLE_WAKE_INTERVAL)
        interval = idle
        queue = self._queue
        while True:
            self._wake.wait(interval)
            self._wake.clear()
            stopping = self._stopping
            try:
                head = queue[0]
            except IndexError:  # empty, or emptied meanwhile by the logging thread's catch_up
                head = None
            # Records the logging thread is still packing ahead (catch_up took the queue's head
            # since the last wake-up) are left to it: encoding them here would hold the GIL for
            # milliseconds while the training loop waits for it. Records that sat a whole
            # wake-up interval untouched, a flush(), close() or a backlog the loop waits on are taken.
            self._leave_queue = (head is not None and head is not self._seen_head and not stopping
                                 and not self._flush_markers and len(queue) <= MAX_QUEUED_RECORDS // 2)
            self._seen_head = head
            encoded_here = self._write_pending()
            if self._leave_queue:
                interval = self.flush_interval / 2  # a record waits at most about one flush interval
            elif encoded_here >= ENCODE_AHEAD_MIN or (head is not None and self._observers):
                # records wait here as Python objects (or an observer holds them): wake often
                interval = busy
            elif queue or self._ready:
                interval = self.flush_interval  # the logging thread packs them: bytes can wait an interval
            else:
                interval = idle
            if stopping:
                return

    def _report(self, what: str, error: BaseException | None) -> None:
        if self._on_error is not None:
            try:
                self._on_error(what, error)
            except Exception:
                pass

    def _write_pending(self) -> int:
        """Encodes and writes everything queued; returns how many records this thread encoded itself.

        The encode lock is held only while records are taken (the logging thread's packed batches,
        then a batch of what is still queued, in that order): a few C calls, so the logging thread
        never waits for an encoding here, which may take long (media files).
        """
        queue = self._queue
        popleft = queue.popleft
        encoded_here = 0
        while True:
            with self._encode_lock:
                # what the logging thread packed came out of the queue before what is still in it
                taken = self._take_ready()
                count = 0 if self._leave_queue else min(len(queue), FRAME_RECORDS)
                # counted before they leave the queue: `pending` (read without the lock) may count a
                # record twice for a moment, never miss one that is taken but not yet encoded
                self._in_flight = count
                batch = list(starmap(popleft, repeat((), count)))
            if taken:
                self._keep_ready(taken)
            if batch:
                batch = self._without_markers(batch)
                if batch:
                    self._encode(batch)
                    encoded_here += len(batch)
                self._in_flight = 0
            elif not taken:
                break
            if self._failing_since is None:
                self._write_frames()  # as encoded: memory stays a few frames deep
        self._write_frames()
        if self._unwritten:  # the write failed: flush() callers wait for the retry to succeed
            return encoded_here
        waiters = self._waiters
        for waiter in waiters:
            waiter.set()
        waiters.clear()
        return encoded_here

    def _without_markers(self, batch: list[Any]) -> list[Any]:
        """The batch less any flush() marker, each moved to the waiters released once the batch is written."""
        # a C-level loop: records are not looked at one by one unless a flush() marker may be among them
        if not self._flush_markers:
            return batch
        markers = [item for item in batch if type(item) is threading.Event]
        if not markers:
            return batch
        for marker in markers:
            self._waiters.append(marker)
            self._flush_markers.remove(marker)
        return [item for item in batch if type(item) is not threading.Event]

    def _take_ready(self) -> list[tuple[int, bytes, list[Any] | None, Any]]:
        """Takes the batches the logging thread packed (under the encode lock), oldest first."""
        ready = self._ready
        if not ready:
            return []
        queue = self._queue
        taken = list(starmap(ready.popleft, repeat((), len(ready))))
        for count, packed, _, first in taken:
            self._ready_bytes -= len(packed)
            if queue and queue[0] is first:
                # the logging thread was interrupted (KeyboardInterrupt) between packing and dropping
                _drop_left(queue, count)
        return taken

    def _keep_ready(self, taken: list[tuple[int, bytes, list[Any] | None, Any]]) -> None:
        """Numbers the logging thread's packed batches and queues them for writing, merged into larger frames."""
        merged: list[bytes] = []
        merged_count = 0
        for count, packed, batch, _ in taken:
            if merged and merged_count + count > MERGED_FRAME_RECORDS:
                self._keep_merged(merged, merged_count)
                merged, merged_count = [], 0
            merged.append(packed)
            merged_count += count
            self._encoded_seq += count
            self.records_written += count
            if batch is not None:
                self._notify(self._encoded_seq - count, batch)
        if merged:
            self._keep_merged(merged, merged_count)

    def _keep_merged(self, packed_batches: list[bytes], count: int) -> None:
        """Queues batches as one frame, joined into one buffer (:func:`records.join_packed`).

        The one copy (tens of microseconds a megabyte) makes the frame's CRC one ``zlib.crc32``
        call. Chained over the 30-odd batches of a frame, each call over 5 KB gave the GIL up,
        and while the training loop runs this thread waits up to a switch interval (5 ms) to get it
        back each time: the log fell seconds behind the loop.
        """
        self._keep(packed_batches[0] if len(packed_batches) == 1 else records.join_packed(packed_batches, count), count)

    def _notify(self, first_seq: int, batch: list[Any]) -> None:
        if self._observers:
            batch = records.unpacked_records(batch)  # rows log() packed before an observer came
        for observer in list(self._observers):
            try:
                observer(first_seq, batch)
            except Exception as error:
                self._report("a record observer failed", error)

    def catch_up(self) -> None:
        """Called by the logging thread every :data:`CATCH_UP_ROWS` rows: packs the queue, waits for a writer far behind.

        Rows ``log()`` packed are joined, other records packed in one msgpack call per
        :data:`FRAME_RECORDS` records on this thread (a fraction of a millisecond), which spares the
        writer thread most of its work and the GIL hand-overs it costs (see the module docstring).
        A batch msgpack cannot pack on its own (media, numpy arrays, a ``flush()`` marker) stays
        queued for the writer thread.

        A ``KeyboardInterrupt`` may land between any two steps here: the records are copied and
        packed while still queued, the packed batch is handed over, and only then are they taken
        out of the queue in one C call; a hand-over whose records are still at the head of the
        queue (interrupted before that call) is noticed by the writer thread, which takes them out
        itself. Nothing is lost or written twice.
        """
        queue = self._queue
        if len(queue) >= ENCODE_AHEAD_MIN and not self._flush_markers:
            # a with statement: an interrupt cannot land between taking the lock and the block that
            # releases it (the writer thread holds it only for a few C calls, never while encoding)
            with self._encode_lock:
                pack = self._pack_ahead
                ready = self._ready
                keep_records = bool(self._observers)
                if ready and queue[0] is ready[-1][3]:  # the last call was interrupted before it took them off
                    _drop_left(queue, ready[-1][0])
                while len(queue) >= ENCODE_AHEAD_MIN:
                    count = min(len(queue), FRAME_RECORDS)
                    batch = list(islice(queue, count))
                    try:
                        packed = records.pack_records(batch, pack)
                    except Exception:  # media, numpy, a flush() marker, a value msgpack refuses
                        break
                    ready.append((count, packed, batch if keep_records else None, batch[0]))
                    _drop_left(queue, count)
                    self._ready_bytes += len(packed)
            if self._ready_bytes > MAX_READY_BYTES:
                self._wait_for_ready()
        self.wait_for_backlog()

    def _wait_for_ready(self) -> None:
        """The writer has not taken MAX_READY_BYTES of packed records: let it catch up (a stuck disk: once)."""
        if self._thread is None or not self._thread.is_alive():
            return
        now = time.monotonic()
        if now < self._backlog_wait_off_until:
            return
        self._wake.set()
        deadline = now + MAX_BACKLOG_WAIT
        while self._ready_bytes > MAX_READY_BYTES // 2 and time.monotonic() < deadline:
            time.sleep(0.0005)
        if self._ready_bytes > MAX_READY_BYTES // 2:
            self._backlog_wait_off_until = time.monotonic() + BACKLOG_WAIT_PAUSE

    def _encode(self, batch: list[Any]) -> None:
        first_seq = self._encoded_seq
        try:
            self._keep(records.pack_records(batch, self._pack), len(batch))
            self._encoded_seq += len(batch)
            self.records_written += len(batch)
        except Exception:
            # one bad record must not take its neighbours with it: encode them one by one
            for record in batch:
                try:
                    self._keep(records.pack_records([record], self._pack), 1)
                    self._encoded_seq += 1
                    self.records_written += 1
                except Exception as single_error:
                    self._encode_coerced(record, single_error)
        self._notify(first_seq, batch)

    def _encode_coerced(self, record: Any, error: BaseException) -> None:
        coerced, changed = records.coerce_unencodable(record)
        if changed:
            try:
                self._keep(self._pack([coerced]), 1)
            except Exception:
                pass
            else:
                self._encoded_seq += 1
                self.records_written += 1
                self._report("a value msgpack cannot hold was stored approximately (an integer beyond "
                             "64 bits as a float, or invalid unicode with U+FFFD)", error)
                return
        self._report(f"could not encode a {record[0]!r} record; it was skipped", error)

    def _keep(self, packed: bytes, count: int) -> None:
        """Queues ``count`` packed records (``pack(records)``) as one frame; a refusing disk's backlog stays bounded.

        Dropped records were never numbered, so the sequence on disk has no gap (a gap would stop
        the server from applying anything after it).
        """
        self._unwritten.append(_Packed(packed, count))
        self._unwritten_bytes += len(packed)
        if self._failing_since is not None:
            while self._unwritten_bytes > self.max_backlog_bytes and len(self._unwritten) > 1:
                dropped = self._unwritten.popleft()
                self._unwritten_bytes -= len(dropped.data)
                self.records_dropped += dropped.count

    def _write_buffers(self, buffers: list[Any]) -> BaseException | None:
        """Writes ``buffers`` whole; else returns the error, the file cut back to its last whole frame.

        A partly written frame is cut off so that a retry does not leave garbage behind.
        """
        try:
            _writev_all(self._writev, self._file.fileno(), buffers)
        except (OSError, ValueError) as error:
            try:
                self._file.truncate(self._good_end)
                self._file.seek(self._good_end)
            except (OSError, ValueError):
                pass
            return error
        return None

    def _write_frames(self) -> None:
        """Writes waiting frames: all in one ``writev`` while writes succeed, else one by one.

        One call spares the writer thread a GIL hand-over per frame; once a write has failed, frames
        go one by one, so that freed space smaller than the backlog is still used. Either way the
        frames go to the system as they are, never joined into one more copy.
        """
        unwritten = self._unwritten
        if len(unwritten) > 1 and self._failing_since is None and self._write_together():
            return
        while unwritten:
            packed = unwritten[0]
            head = records.frame_head(self._write_seq, packed.data)
            error = self._write_buffers([head, packed.data])
            if error is not None:
                # kept in memory and retried on the next tick: a full disk must not lose points
                self._note_failure(error)
                return
            unwritten.popleft()
            self._unwritten_bytes -= len(packed.data)
            self._write_seq += packed.count
            self._good_end += len(head) + len(packed.data)
            self.bytes_written += len(head) + len(packed.data)
        if self._failing_since is not None:
            failed_for = self._clock() - self._failing_since
            self._failing_since = None
            self._report(f"the run log {self.path} is being written again after {failed_for:.0f} s"
                         + (f"; {self.records_dropped:,} records were dropped meanwhile" if self.records_dropped else
                            "; nothing was lost"), None)

    def _write_together(self) -> bool:
        """Writes every waiting frame at once; False (the file cut back to its last whole frame) if it failed."""
        unwritten = self._unwritten
        seq = self._write_seq
        buffers: list[Any] = []
        size = 0
        for packed in unwritten:
            head = records.frame_head(seq, packed.data)
            buffers += (head, packed.data)
            size += len(head) + len(packed.data)
            seq += packed.count
        if self._write_buffers(buffers) is not None:
            return False
        unwritten.clear()
        self._unwritten_bytes = 0
        self._write_seq = seq
        self._good_end += size
        self.bytes_written += size
        return True

    def _note_failure(self, error: BaseException) -> None:
        self.last_write_error = error
        now = self._clock()
        if self._failing_since is None:
            self._failing_since = self._failure_reported_at = now
            # the wall-clock time makes each episode's message its own (a console may show a text once)
            self._report(f"could not write the run log {self.path} (since {time.strftime('%H:%M:%S')}); retrying "
                         f"(records wait in memory, up to {self.max_backlog_bytes >> 20} MB, then the oldest are "
                         "dropped)", error)
        elif now - self._failure_reported_at >= FAILURE_REPORT_INTERVAL:
            self._failure_reported_at = now
            self._report(f"the run log {self.path} still cannot be written after {now - self._failing_since:.0f} s; "
                         f"{self.records_unwritten:,} records wait in memory, {self.records_dropped:,} dropped; "
                         "retrying", error)

    def wait_for_backlog(self) -> None:
        """Called now and then by the logging thread: waits while more than MAX_QUEUED_RECORDS wait.

        It sleeps in half-millisecond steps, which hands the GIL to the writer thread, until half
        the backlog is encoded (at most :data:`MAX_BACKLOG_WAIT` seconds), so memory stays bounded
        however fast the loop logs. Costs one ``len`` when the writer keeps up.
        """
        queue = self._queue
        if len(queue) <= MAX_QUEUED_RECORDS or self._thread is None or not self._thread.is_alive():
            return
        now = time.monotonic()
        if now < self._backlog_wait_off_until:
            return
        self._wake.set()
        deadline = now + MAX_BACKLOG_WAIT
        waiting = len(queue)
        while len(queue) > MAX_QUEUED_RECORDS // 2 and time.monotonic() < deadline:
            time.sleep(0.0005)
        if len(queue) >= waiting:
            # the writer is stuck (a write that blocks, a slow observer): the loop goes on without
            # waiting for a while rather than being slowed at every check
            self._backlog_wait_off_until = time.monotonic() + BACKLOG_WAIT_PAUSE

    def flush(self, timeout: float = 10.0) -> bool:
        """Waits until everything appended so far is handed to the OS."""
        if self._thread is None or not self._thread.is_alive():
            self._leave_queue = False
            self._write_pending()
            return not self._unwritten
        done = threading.Event()
        self._flush_markers.append(done)  # before the queue: the thread that pops the marker then knows to look
        self._queue.append(done)
        self._wake.set()
        return done.wait(timeout)

    def discard(self) -> None:
        """Closes a writer that was never started, dropping what was queued (an ``init`` that failed)."""
        if self._thread is not None:
            raise RuntimeError("discard() is for a writer that was never started; use close()")
        self._queue.clear()
        self._ready.clear()
        self._unwritten.clear()
        self._file.close()

    def close(self, timeout: float = 30.0, fsync: bool = True) -> None:
        """Drains the queue, fsyncs and closes; safe to call twice."""
        if self._file.closed:
            return
        self._stopping = True
        self._wake.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)
        if self._thread is None or not self._thread.is_alive():
            self._leave_queue = False
            self._write_pending()
        try:
            if fsync:
                self._file.flush()
                os.fsync(self._file.fileno())
        except OSError as error:
            self._report("could not fsync the run log", error)
        finally:
            if self._thread is None or not self._thread.is_alive():
                self._file.close()
