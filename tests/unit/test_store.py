"""The run store: frame format, the tolerant reader (torn tail, corrupt middle), the writer thread."""

from __future__ import annotations

import math
import os
import struct
import threading
import warnings
import zlib
from pathlib import Path

import numpy as np
import pytest

from jupyter_tracker.store import records
from jupyter_tracker.store.reader import RunLogWarning, iter_log, read_run
from jupyter_tracker.store.run_dir import RUN_LOG_NAME, find_run_dir, iter_run_dirs, run_dir_name
from jupyter_tracker.store.writer import RunLogWriter
from tests.helpers import same_value, wait_until

pack = records.make_packer()


def history(step: int, values: dict) -> tuple:
    return (records.HISTORY, step, 1_700_000_000.0 + step, float(step), values)


def write_log(path: Path, batches: list[list[tuple]]) -> list[int]:
    """Writes frames by hand; returns the byte offset where each frame starts."""
    data = bytearray(records.MAGIC)
    offsets = []
    seq = 1
    for batch in batches:
        offsets.append(len(data))
        data += records.encode_frame(seq, batch, pack)
        seq += len(batch)
    path.mkdir(parents=True, exist_ok=True)
    (path / RUN_LOG_NAME).write_bytes(bytes(data))
    return offsets


def scan(data: bytes) -> tuple[list[records.Record], records.ScanResult]:
    result = records.ScanResult()
    return list(records.iter_records(data, result)), result


# framing -------------------------------------------------------------------------------------------
def test_a_frame_is_length_crc_and_msgpack_payload():
    frame = records.encode_frame(7, [history(0, {"a": 1.0}), (records.CONFIG, {"lr": 0.1})], pack)
    length, crc = struct.unpack_from("<II", frame)
    payload = frame[8:]
    assert length == len(payload) and crc == zlib.crc32(payload)
    first_seq, decoded = records.decode_payload(payload)
    assert first_seq == 7
    assert decoded == [["h", 0, 1_700_000_000.0, 0.0, {"a": 1.0}], ["config", {"lr": 0.1}]]


def test_records_get_consecutive_sequence_numbers_across_frames():
    data = records.MAGIC + records.encode_frame(1, [history(0, {}), history(1, {})], pack) + \
        records.encode_frame(3, [history(2, {})], pack)
    found, result = scan(data)
    assert [(r.seq, r.kind, r.fields[0]) for r in found] == [(1, "h", 0), (2, "h", 1), (3, "h", 2)]
    assert result.problems == [] and result.valid_end == len(data)


def test_values_round_trip_through_a_frame():
    values = {
        "f": 1.5, "i": -3, "big": 2**63 - 1, "b": True, "n": None, "s": "héllo", "nan": math.nan,
        "inf": math.inf, "ninf": -math.inf, "neg0": -0.0, "list": [1, "a", [None, 2.5]], "empty": {},
        "arr": np.arange(6, dtype=np.int16).reshape(2, 3), "farr": np.array([np.nan, 1.0], dtype=np.float32),
    }
    frame = records.encode_frame(1, [history(0, values)], pack)
    (record,) = scan(records.MAGIC + frame)[0]
    assert same_value(record.fields[3], values)


def test_a_log_without_the_magic_header_is_reported():
    found, result = scan(b"garbage" + b"x" * 100)
    assert found == [] and result.valid_end == 0 and "bad header" in result.problems[0]


@pytest.mark.parametrize("bit", [0, 9, 30, 55])
def test_a_damaged_header_keeps_every_intact_frame_after_it(bit):
    """Issue 9 item 1: one flipped bit in the 7-byte header used to read as 0 rows."""
    data = bytearray(records.MAGIC)
    for step in range(3):
        data += records.encode_frame(step + 1, [history(step, {"a": float(step)})], pack)
    data[bit // 8] ^= 1 << (bit % 8)
    found, result = scan(bytes(data))
    assert [r.fields[0] for r in found] == [0, 1, 2]
    assert result.valid_end == len(data) and result.damaged and "header is damaged" in result.problems[0]


def test_an_empty_log_has_no_records_and_no_problems():
    found, result = scan(records.MAGIC)
    assert found == [] and result.problems == []


# the reader --------------------------------------------------------------------------------------------
def test_reader_replays_a_run(tmp_path):
    run_dir = tmp_path / "run-x-abc"
    write_log(run_dir, [
        [(records.RUN, {"id": "abc", "name": "n"}), (records.CONFIG, {"lr": 0.1}), history(0, {"a": 1.0})],
        [history(1, {"a": 2.0, "b": "x"}), (records.SUMMARY, {"best": 9}), (records.DEFINE_METRIC, {"name": "a"})],
        [(records.WARNING, {"kind": "value_size"}), (records.FILE, {"name": "f.txt", "size": 1})],
        [(records.FINISH, {"state": "finished", "exit_code": 0, "runtime": 3.5, "summary": {"a": 2.0, "best": 9}})],
    ])
    state, rows = read_run(run_dir, keep_history=True)
    assert state.metadata == {"id": "abc", "name": "n"} and state.config == {"lr": 0.1}
    assert [row["a"] for row in rows] == [1.0, 2.0] and rows[1]["_step"] == 1 and rows[1]["b"] == "x"
    assert (state.rows, state.next_step, state.last_seq) == (2, 2, 9)
    assert (state.state, state.exit_code, state.runtime) == ("finished", 0, 3.5)
    assert state.summary == {"a": 2.0, "best": 9}
    assert state.metric_definitions == [{"name": "a"}] and state.files == {"f.txt": {"name": "f.txt", "size": 1}}
    assert state.warnings == [{"kind": "value_size"}] and state.problems == []


def test_every_torn_tail_is_skipped_with_a_warning_and_earlier_records_kept(tmp_path):
    run_dir = tmp_path / "run"
    offsets = write_log(run_dir, [[history(step, {"a": float(step)})] for step in range(5)])
    path = run_dir / RUN_LOG_NAME
    whole = path.read_bytes()
    last_frame = offsets[-1]
    for cut in range(last_frame + 1, len(whole)):
        path.write_bytes(whole[:cut])
        with pytest.warns(RunLogWarning, match="torn or corrupt tail") as caught:
            state, rows = read_run(run_dir, keep_history=True)
        assert len(caught) == 1
        assert [row["a"] for row in rows] == [0.0, 1.0, 2.0, 3.0]
        assert state.valid_end == last_frame
    path.write_bytes(whole[:last_frame])  # cut exactly between frames: nothing is wrong
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert read_run(run_dir)[0].rows == 4


def test_a_corrupted_middle_record_keeps_everything_before_it_and_says_so(tmp_path):
    run_dir = tmp_path / "run"
    offsets = write_log(run_dir, [[history(step, {"a": float(step)})] for step in range(6)])
    path = run_dir / RUN_LOG_NAME
    data = bytearray(path.read_bytes())
    data[offsets[3] + 12] ^= 0xFF  # a byte inside the payload of the fourth frame
    path.write_bytes(bytes(data))
    with pytest.warns(RunLogWarning) as caught:
        state, rows = read_run(run_dir, keep_history=True)
    message = str(caught[0].message)
    assert str(path) in message and "corrupt" in message and f"offset {offsets[3]}" in message
    steps = [row["_step"] for row in rows]
    assert steps[:3] == [0, 1, 2]  # everything before the corrupt record
    assert steps == [0, 1, 2, 4, 5]  # and the intact records after it
    assert state.problems and "later records kept" in state.problems[0]


def test_a_corrupted_length_field_is_survived(tmp_path):
    run_dir = tmp_path / "run"
    offsets = write_log(run_dir, [[history(step, {"a": float(step)})] for step in range(4)])
    path = run_dir / RUN_LOG_NAME
    data = bytearray(path.read_bytes())
    struct.pack_into("<I", data, offsets[1], 0xFFFFFFF0)
    path.write_bytes(bytes(data))
    with pytest.warns(RunLogWarning):
        _, rows = read_run(run_dir, keep_history=True)
    assert [row["_step"] for row in rows] == [0, 2, 3]


def test_reader_warnings_are_silent_under_wandb_silent(tmp_path, monkeypatch):
    run_dir = tmp_path / "run"
    write_log(run_dir, [[history(0, {"a": 1.0})]])
    path = run_dir / RUN_LOG_NAME
    path.write_bytes(path.read_bytes() + b"\x05\x00")
    monkeypatch.setenv("WANDB_SILENT", "true")
    with warnings.catch_warnings(record=True) as shown:
        warnings.simplefilter("always")
        state, _ = read_run(run_dir)
    assert shown == [] and state.rows == 1 and state.problems


def test_read_run_with_warn_false_stays_quiet(tmp_path):
    run_dir = tmp_path / "run"
    write_log(run_dir, [[history(0, {"a": 1.0})]])
    path = run_dir / RUN_LOG_NAME
    path.write_bytes(path.read_bytes() + b"\x05")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        state, _ = read_run(run_dir, warn=False)
    assert state.problems


def test_iter_log_streams_records(tmp_path):
    run_dir = tmp_path / "run"
    write_log(run_dir, [[history(0, {"a": 1.0}), history(1, {"a": 2.0})]])
    stream, result = iter_log(run_dir)
    assert [record.seq for record in stream] == [1, 2] and result.problems == []


# the writer ------------------------------------------------------------------------------------------
def test_writer_appends_frames_from_its_thread_and_fsyncs_on_close(tmp_path):
    path = tmp_path / "run" / RUN_LOG_NAME
    writer = RunLogWriter(path, flush_interval=0.01)
    writer.start()
    assert writer._thread is not None and writer._thread.daemon and writer._thread.name.startswith("jt-writer-")
    for step in range(5000):
        writer.append(history(step, {"a": float(step)}))
    assert writer.flush(timeout=10)
    found, _ = scan(path.read_bytes())
    assert len(found) == 5000 and found[-1].seq == 5000  # readable before close
    writer.append(history(5000, {}))
    writer.close()
    writer.close()  # twice is harmless
    found, result = scan(path.read_bytes())
    assert [r.fields[0] for r in found] == list(range(5001)) and result.problems == []
    assert not writer._thread.is_alive()


def test_writer_flushes_on_its_own_within_the_interval(tmp_path):
    path = tmp_path / "run" / RUN_LOG_NAME
    writer = RunLogWriter(path, flush_interval=0.05)
    writer.start()
    writer.append(history(0, {"a": 1.0}))
    wait_until(lambda: len(scan(path.read_bytes())[0]) == 1, timeout=5)
    writer.close()


def test_writer_continues_an_existing_log_and_truncates_a_torn_tail(tmp_path):
    path = tmp_path / "run" / RUN_LOG_NAME
    writer = RunLogWriter(path)
    writer.start()
    writer.append(history(0, {}))
    writer.close()
    good_end = path.stat().st_size
    path.write_bytes(path.read_bytes() + b"\x99torn")
    writer = RunLogWriter(path, first_seq=2, truncate_at=good_end)
    writer.start()
    writer.append(history(1, {}))
    writer.close()
    found, result = scan(path.read_bytes())
    assert [(r.seq, r.fields[0]) for r in found] == [(1, 0), (2, 1)] and result.problems == []


def test_writer_restarts_a_log_whose_header_was_lost(tmp_path):
    path = tmp_path / "run" / RUN_LOG_NAME
    path.parent.mkdir(parents=True)
    path.write_bytes(b"JTL")  # a header torn by a crash, or garbage
    assert scan(path.read_bytes())[1].valid_end == 0
    writer = RunLogWriter(path, truncate_at=0)
    writer.start()
    writer.append(history(0, {"a": 1.0}))
    writer.close()
    found, result = scan(path.read_bytes())
    assert [r.fields[0] for r in found] == [0] and result.problems == []


def test_one_unencodable_record_does_not_take_its_neighbours(tmp_path):
    path = tmp_path / "run" / RUN_LOG_NAME
    errors = []
    writer = RunLogWriter(path, on_error=lambda what, error: errors.append(what))
    for step, value in enumerate([1.0, object(), 3.0]):
        writer.append(history(step, {"a": value}))
    writer.start()
    writer.close()
    found, _ = scan(path.read_bytes())
    assert [r.fields[3]["a"] for r in found] == [1.0, 3.0]
    assert errors and "skipped" in errors[0]


def test_integers_beyond_64_bits_are_kept_as_floats_not_dropped(tmp_path):
    path = tmp_path / "run" / RUN_LOG_NAME
    errors = []
    writer = RunLogWriter(path, on_error=lambda what, error: errors.append(what))
    writer.append(history(0, {"big": 2**70, "small": 1, "nested": [-(2**64)]}))
    writer.append((records.FINISH, {"summary": {"big": 2**70}}))
    writer.start()
    writer.close()
    found, _ = scan(path.read_bytes())
    assert found[0].fields[3] == {"big": float(2**70), "small": 1, "nested": [-float(2**64)]}
    assert found[1].fields[0] == {"summary": {"big": float(2**70)}}
    assert errors and "float" in errors[0]


def test_strings_that_are_not_valid_unicode_are_kept_with_a_replacement(tmp_path):
    path = tmp_path / "run" / RUN_LOG_NAME
    errors = []
    writer = RunLogWriter(path, on_error=lambda what, error: errors.append(what))
    writer.append(history(0, {"name": "bad\udc80name", "ok": "fine", "k\ud800": 1}))
    writer.start()
    writer.close()
    (record,) = scan(path.read_bytes())[0]
    assert record.fields[3] == {"name": "bad\ufffdname", "ok": "fine", "k\ufffd": 1}
    assert errors


class FailingWrites:
    """Stands in for the writer's ``writev`` and fails the first ``failures`` writes, as a full disk would."""

    def __init__(self, failures: int, partial: bool = False) -> None:
        self.failures = failures
        self.partial = partial
        self.calls = 0

    def writev(self, fd: int, buffers) -> int:
        self.calls += 1
        if self.failures:
            self.failures -= 1
            if self.partial:
                data = b"".join(buffers)
                os.write(fd, data[: len(data) // 2])
            raise OSError(28, "No space left on device")
        return os.writev(fd, buffers)


@pytest.mark.parametrize("partial", [False, True])
def test_writer_keeps_data_when_a_write_fails(tmp_path, partial):
    path = tmp_path / "run" / RUN_LOG_NAME
    errors: list[str] = []
    writer = RunLogWriter(path, flush_interval=0.01, on_error=lambda what, error: errors.append(what))
    failing = FailingWrites(failures=3, partial=partial)
    writer._writev = failing.writev
    writer.start()
    for step in range(100):
        writer.append(history(step, {"a": float(step)}))
    wait_until(lambda: failing.failures == 0 and writer.flush(timeout=5), timeout=10)
    assert failing.calls >= 4  # three failures, then the retry that wrote everything
    for step in range(100, 200):
        writer.append(history(step, {"a": float(step)}))
    writer.close()
    assert errors and "retrying" in errors[0]
    found, result = scan(path.read_bytes())
    assert [r.fields[0] for r in found] == list(range(200))
    assert [r.seq for r in found] == list(range(1, 201))
    assert result.problems == []


def test_flush_says_false_while_the_disk_refuses_and_true_once_written(tmp_path):
    path = tmp_path / "run" / RUN_LOG_NAME
    writer = RunLogWriter(path, flush_interval=0.01, on_error=lambda what, error: None)
    failing = FailingWrites(failures=10**9)
    writer._writev = failing.writev
    writer.start()
    writer.append(history(0, {"a": 1.0}))
    assert writer.flush(timeout=0.3) is False
    failing.failures = 0
    assert writer.flush(timeout=10) is True
    writer.close()
    assert [r.fields[0] for r in scan(path.read_bytes())[0]] == [0]


def test_observers_see_every_batch_and_their_failures_are_contained(tmp_path):
    path = tmp_path / "run" / RUN_LOG_NAME
    errors: list[str] = []
    seen: list[tuple[int, int]] = []
    writer = RunLogWriter(path, on_error=lambda what, error: errors.append(what))
    writer.add_observer(lambda first_seq, batch: seen.append((first_seq, len(batch))))
    writer.add_observer(lambda first_seq, batch: 1 / 0)
    writer.start()
    for step in range(10):
        writer.append(history(step, {}))
    writer.close()
    assert sum(count for _, count in seen) == 10 and seen[0][0] == 1
    assert errors and "observer" in errors[0]


def test_flush_from_many_threads(tmp_path):
    path = tmp_path / "run" / RUN_LOG_NAME
    writer = RunLogWriter(path, flush_interval=1.0)
    writer.start()
    results: list[bool] = []

    def work(offset: int) -> None:
        for step in range(100):
            writer.append(history(offset + step, {}))
        results.append(writer.flush(timeout=10))

    threads = [threading.Thread(target=work, args=(i * 100,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [True] * 4
    assert len(scan(path.read_bytes())[0]) == 400
    writer.close()


# run directory layout ----------------------------------------------------------------------------------
def test_run_directories_are_found_by_id(tmp_path):
    first = tmp_path / run_dir_name("abc", 1_700_000_000)
    second = tmp_path / run_dir_name("abc", 1_700_000_100)
    other = tmp_path / run_dir_name("xyz", 1_700_000_000)
    for run_dir in (first, second, other):
        write_log(run_dir, [[history(0, {})]])
    (tmp_path / run_dir_name("empty", 1)).mkdir()
    assert first.name.startswith("run-") and first.name.endswith("-abc")
    assert find_run_dir(tmp_path, "abc") == second
    assert find_run_dir(tmp_path, "nope") is None and find_run_dir(tmp_path / "missing", "abc") is None
    assert iter_run_dirs(tmp_path) == sorted([first, second, other])


class SmallDisk:
    """Wraps the writer's file and ``writev`` as a disk with ``free`` bytes left: a write that does not fit is refused.

    Like a real full filesystem, a write may be cut short to the space that is left (``partial``).
    ``free`` is read and changed under a lock: the test frees space from its own thread while the
    writer's thread writes and truncates, and an unlocked ``+=`` there could undo the test's change.
    """

    def __init__(self, writer: RunLogWriter, free: int, partial: bool = True) -> None:
        self._handle = writer._file
        self._lock = threading.Lock()
        self._free = free
        self.partial = partial
        writer._file = self
        writer._writev = self.writev

    @property
    def free(self) -> int:
        with self._lock:
            return self._free

    @free.setter
    def free(self, value: int) -> None:
        with self._lock:
            self._free = value

    def writev(self, fd: int, buffers) -> int:
        size = sum(map(len, buffers))
        with self._lock:
            if size > self._free:
                if self.partial and self._free:
                    written = os.write(fd, b"".join(buffers)[: self._free])
                    self._free -= written
                    return written
                raise OSError(28, "No space left on device")
            self._free -= size
            return os.writev(fd, buffers)

    def truncate(self, size: int) -> int:
        with self._lock:
            self._free += max(0, self._handle.seek(0, 2) - size)
            return self._handle.truncate(size)

    def __getattr__(self, name):
        return getattr(self._handle, name)


def test_space_freed_on_a_full_disk_is_used_frame_by_frame(tmp_path):
    """Issue 9 item 3: the backlog was written as one block, so freed space smaller than it was never used."""
    path = tmp_path / "run" / RUN_LOG_NAME
    writer = RunLogWriter(path, flush_interval=0.01, on_error=lambda what, error: None)
    disk = SmallDisk(writer, free=0)
    writer.start()
    for step in range(20_000):  # ten frames of 2,048 records
        writer.append(history(step, {"a": float(step)}))
    assert writer.flush(timeout=0.3) is False
    disk.free = 350_000  # about half of the ~700 kB backlog
    # a read may catch a frame being cut short by the full disk before the writer truncates it
    # again: wait for a read between two tries, which must hold whole frames only
    reads: list = []
    wait_until(lambda: _read_whole_frames(path, reads) >= 20_000 // 2 - 2048, timeout=10)
    found = reads[-1]
    assert [r.fields[0] for r in found] == list(range(len(found)))  # the oldest first, no gap
    disk.free = 10**9
    assert writer.flush(timeout=10) is True
    writer.close()
    assert [r.fields[0] for r in scan(path.read_bytes())[0]] == list(range(20_000))


def _read_whole_frames(path, reads: list) -> int:
    """Records of the log at ``path`` when it holds whole frames only (appended to ``reads``), else -1."""
    found, result = scan(path.read_bytes())
    if result.problems:
        return -1
    reads.append(found)
    return len(found)


def test_the_backlog_of_a_refusing_disk_is_bounded_and_drops_the_oldest_with_a_count(tmp_path):
    """Issue 9 item 2: the in-memory backlog grew without bound while the disk was full."""
    path = tmp_path / "run" / RUN_LOG_NAME
    writer = RunLogWriter(path, flush_interval=0.01, on_error=lambda what, error: None, max_backlog_bytes=200_000)
    disk = SmallDisk(writer, free=0)
    writer.start()
    for step in range(100_000):
        writer.append(history(step, {"a": float(step)}))
    wait_until(lambda: writer.pending == 0 and writer.records_dropped > 0, timeout=20)
    frame_bytes = max(len(packed.data) for packed in writer._unwritten)
    assert writer._unwritten_bytes <= 200_000 + frame_bytes
    assert writer.records_dropped + writer.records_unwritten == 100_000
    disk.free = 10**9
    writer.close()
    found = scan(path.read_bytes())[0]
    assert [r.fields[0] for r in found] == list(range(writer.records_dropped, 100_000))  # the newest, in order
    assert [r.seq for r in found] == list(range(1, len(found) + 1))  # no gap: the server applies every one


def test_records_the_writer_has_taken_but_not_encoded_still_count_as_pending(tmp_path):
    """A test waiting for ``pending == 0`` read the backlog while the writer still held the last batch (CI)."""
    from collections import deque

    writer = RunLogWriter(tmp_path / "run" / RUN_LOG_NAME)
    seen: list[int] = []

    class WatchedQueue(deque):
        def popleft(self):
            record = super().popleft()
            seen.append(writer.pending)  # what another thread may read between two pops
            return record

    writer._queue = WatchedQueue()
    writer.append = writer._queue.append
    for step in range(5):
        writer.append(history(step, {"a": float(step)}))
    assert writer.flush() is True
    assert len(seen) == 5 and min(seen) > 0  # the last record out of the queue was not encoded yet
    assert writer.pending == 0
    writer.close()


def test_a_disk_that_stays_full_is_reported_again_and_its_end_is_reported(tmp_path):
    """Issue 9 item 2: one "retrying (ENOSPC)" message, then silence while the disk stayed full."""
    now = [0.0]
    messages: list[str] = []
    path = tmp_path / "run" / RUN_LOG_NAME
    writer = RunLogWriter(path, on_error=lambda what, error: messages.append(what), clock=lambda: now[0])
    disk = SmallDisk(writer, free=0)
    writer.append(history(0, {"a": 1.0}))
    for minute in range(4):  # the thread is not started: each flush() is one wake-up
        now[0] = minute * 60.0
        assert writer.flush() is False
    assert "retrying" in messages[0]
    assert sum("still cannot be written after" in message for message in messages) == 3
    disk.free = 10**9
    assert writer.flush() is True
    assert "written again" in messages[-1] and "nothing was lost" in messages[-1]
    writer.close()


# sampled reading: only the chosen history rows are decoded ----------------------------------------
def test_sampled_history_records_match_a_full_read(tmp_path: Path):
    from jupyter_tracker.store.reader import sampled_history_records

    batches = [
        [(records.RUN, {"id": "x"}), (records.CONFIG, {"lr": 0.1})] + [history(step, {"loss": step * 0.5}) for step in range(5)],
        [(records.SYSTEM, 1.0, 2.0, {"system/cpu": 3.0})] + [history(step, {"loss": 1.0, "w": np.arange(3)}) for step in range(5, 9)],
        [history(9, {"acc": 1.0}), (records.FINISH, {"state": "finished"})],
    ]
    write_log(tmp_path, batches)
    every = [record for record in iter_log(tmp_path)[0] if record.kind == records.HISTORY]
    chosen = sampled_history_records(tmp_path, lambda count: [0, 4, 5, count - 1])
    expected = [every[0], every[4], every[5], every[-1]]
    assert [(r.seq, r.kind) for r in chosen] == [(r.seq, r.kind) for r in expected]
    for got, want in zip(chosen, expected, strict=True):
        assert got.fields[:3] == want.fields[:3] and same_value(got.fields[3], want.fields[3])


def test_sampled_history_records_leave_damaged_logs_to_the_tolerant_reader(tmp_path: Path):
    from jupyter_tracker.store.reader import sampled_history_records

    offsets = write_log(tmp_path, [[history(0, {"a": 1.0})], [history(1, {"a": 2.0})]])
    log = tmp_path / RUN_LOG_NAME
    data = bytearray(log.read_bytes())
    data[offsets[1] + 10] ^= 0xFF
    log.write_bytes(bytes(data))
    assert sampled_history_records(tmp_path, lambda count: list(range(count))) is None
    log.write_bytes(bytes(data[: offsets[1]]) + b"\x05\x00")  # a torn tail: a live run's unfinished frame
    assert sampled_history_records(tmp_path, lambda count: list(range(count))) is None
    log.write_bytes(bytes(data[: offsets[1]]))
    assert [r.fields[3] for r in sampled_history_records(tmp_path, lambda count: list(range(count)))] == [{"a": 1.0}]


def test_sampled_history_records_with_keys_count_only_rows_holding_one(tmp_path: Path):
    from jupyter_tracker.store.reader import sampled_history_records

    write_log(tmp_path, [[history(step, {"loss": 1.0, **({"val": step} if step % 3 == 0 else {})}) for step in range(10)],
                         [(records.CONFIG, {"lr": 0.1}), history(10, {"val": 10})]])
    chosen = sampled_history_records(tmp_path, lambda count: [0, count - 1], keys=["val", "absent"])
    assert [(r.seq, r.fields[0], r.fields[3]) for r in chosen] == [(1, 0, {"loss": 1.0, "val": 0}), (12, 10, {"val": 10})]


def test_a_loop_faster_than_the_writer_waits_for_it_instead_of_queueing_without_bound(tmp_path: Path):
    from jupyter_tracker.store import writer as writer_module

    idle = RunLogWriter(tmp_path / "idle.jtlog")
    for step in range(writer_module.MAX_QUEUED_RECORDS + 10):
        idle.append(history(step, {"loss": 1.0}))
    idle.wait_for_backlog()  # no thread to wait for: returns at once, nothing dropped
    assert idle.pending == writer_module.MAX_QUEUED_RECORDS + 10
    idle.discard()

    writer = RunLogWriter(tmp_path / "busy.jtlog", flush_interval=10.0)
    writer.start()
    for step in range(2 * writer_module.MAX_QUEUED_RECORDS):
        writer.append(history(step, {"loss": 1.0}))
    writer.wait_for_backlog()
    assert writer.pending <= writer_module.MAX_QUEUED_RECORDS
    writer.close()
    records_read = list(records.iter_records((tmp_path / "busy.jtlog").read_bytes(), records.ScanResult()))
    assert len(records_read) == 2 * writer_module.MAX_QUEUED_RECORDS


def test_a_discarded_writer_writes_nothing_of_what_the_loop_packed_ahead(tmp_path: Path):
    path = tmp_path / RUN_LOG_NAME
    writer = RunLogWriter(path)  # never started: an init that failed
    for step in range(3000):
        writer.append(history(step, {"loss": 1.0}))
    writer.catch_up()
    writer.discard()
    assert path.read_bytes() == records.MAGIC and writer.pending == 0 and not writer._ready


def test_a_stuck_writer_slows_the_loop_once_not_at_every_check(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    import time

    from jupyter_tracker.store import writer as writer_module

    monkeypatch.setattr(writer_module, "MAX_BACKLOG_WAIT", 0.05)
    writer = RunLogWriter(tmp_path / "stuck.jtlog")
    release = threading.Event()
    monkeypatch.setattr(writer, "_write_pending", lambda: release.wait(10))  # a write that blocks
    writer.start()
    for step in range(writer_module.MAX_QUEUED_RECORDS + 1):
        writer.append(history(step, {"loss": 1.0}))
    started = time.monotonic()
    writer.wait_for_backlog()
    first = time.monotonic() - started
    started = time.monotonic()
    for _ in range(20):
        writer.wait_for_backlog()
    assert first >= 0.04 and time.monotonic() - started < 0.04
    release.set()
    writer.close(timeout=5)


# packing ahead on the logging thread (issue 14) ---------------------------------------------------
def test_joined_packed_lists_are_the_bytes_of_one_packed_list():
    for sizes in [(1, 2), (10, 10), (3000, 2000), (70_000, 1)]:
        lists = [[history(step, {"a": float(step)}) for step in range(count)] for count in sizes]
        assert records.join_packed([pack(items) for items in lists], sum(sizes)) == pack([r for items in lists for r in items])


def test_records_some_packed_one_by_one_are_packed_as_one_list():
    plain = records.make_plain_packer()
    batch = [history(step, {"a": float(step), "n": step}) for step in range(300)]
    mixed = [plain(record) if step % 3 else record for step, record in enumerate(batch)]
    for items in (batch, mixed, [plain(record) for record in batch]):
        assert records.pack_records(items, pack) == pack(batch)
    assert records.pack_records(mixed[1:2], pack) == pack(batch[1:2]) and records.pack_records([], pack) == pack([])
    assert records.unpacked_records(mixed) == batch
    assert records.unpacked_records(batch) is batch


def test_frames_written_from_packed_records_are_the_frames_encode_frame_gives():
    for first_seq in (1, 127, 128, 70_000, 2**40):
        batch = [history(step, {"a": float(step), "b": step}) for step in range(first_seq % 50 + 1)]
        expected = records.encode_frame(first_seq, batch, pack)
        assert records.frame_head(first_seq, pack(batch)) + pack(batch) == expected


class Dribbling:
    """Stands in for the writer's ``writev``: each call writes at most ``most`` bytes, as a filling disk may."""

    def __init__(self, most: int) -> None:
        self.most = most
        self.calls = 0

    def writev(self, fd: int, buffers) -> int:
        self.calls += 1
        return os.write(fd, b"".join(buffers)[: self.most])


@pytest.mark.parametrize("disk", ["writev", "iov_max_3", "dribbling", "failing_then_one_by_one", "no_writev"])
def test_the_log_holds_the_frames_encode_frame_gives_however_the_records_were_packed(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, disk: str):
    """Issue 14: frames written from the loop's packed batches (views, by writev) are byte for byte encode_frame's."""
    from jupyter_tracker.store import writer as writer_module

    path = tmp_path / RUN_LOG_NAME
    writer = RunLogWriter(path)  # not started: each flush() is one wake-up, so frames fall where the test says
    if disk == "iov_max_3":
        monkeypatch.setattr(writer_module, "IOV_MAX", 3)
    elif disk == "dribbling":
        writer._writev = Dribbling(most=777).writev
    elif disk == "no_writev":  # Windows
        writer._writev = writer_module._write_each
    elif disk == "failing_then_one_by_one":
        failing = FailingWrites(failures=1, partial=True)
        writer._writev = failing.writev
    appended: list[tuple] = []

    plain = records.make_plain_packer()

    def log(count: int, values=lambda step: {f"m{i}": step * 0.25 + i for i in range(10)}) -> None:
        for _ in range(count):
            appended.append(history(len(appended), values(len(appended))))
            # every third record packed on its own first, as log()'s fast path packs rows
            writer.append(plain(appended[-1]) if len(appended) % 3 == 0 and "w" not in appended[-1][4] else appended[-1])

    for size in (64, 700, 2048, 1500, 99, 2048, 333):  # packed ahead in batches of varying sizes, past 4,096 in all
        log(size)
        writer.catch_up()
    log(10)  # fewer than ENCODE_AHEAD_MIN: encoded by the writer itself
    writer.flush()
    log(1, values=lambda step: {"w": np.arange(4.0), "loss": 1.5})  # numpy: the loop cannot pack it
    log(300)
    writer.catch_up()  # refuses (the numpy row heads the queue): the writer encodes all of them
    log(5000)
    writer.catch_up()
    writer.flush()
    log(3)
    writer.close()

    data = path.read_bytes()
    assert data.startswith(records.MAGIC)
    offset, expected, counts = len(records.MAGIC), bytearray(records.MAGIC), []
    while offset < len(data):
        length, _ = records.FRAME_HEADER.unpack_from(data, offset)
        payload = data[offset + records.FRAME_HEADER.size : offset + records.FRAME_HEADER.size + length]
        first_seq, decoded = records.decode_payload(payload)
        counts.append(len(decoded))
        expected += records.encode_frame(first_seq, appended[first_seq - 1 : first_seq - 1 + len(decoded)], pack)
        offset += records.FRAME_HEADER.size + length
    assert data == bytes(expected)
    assert sum(counts) == len(appended)
    # batches packed ahead were merged while they fit in MERGED_FRAME_RECORDS (4,096), then the writer's own
    assert counts[:3] == [64 + 700 + 2048, 1500 + 99 + 2048 + 333, 10]
    if disk == "failing_then_one_by_one":
        assert failing.calls > len(counts)  # the failed write, then frame by frame


def test_rows_packed_ahead_by_the_loop_are_written_once_in_order_beside_those_it_cannot_pack(tmp_path: Path):
    path = tmp_path / RUN_LOG_NAME
    seen: list[tuple[int, int]] = []
    writer = RunLogWriter(path, flush_interval=0.05)
    writer.add_observer(lambda first_seq, batch: seen.extend((first_seq + i, r[1]) for i, r in enumerate(batch)))
    writer.start()
    expected = []
    for step in range(20_000):
        # numpy rows (left to the writer thread), a flush() now and then, and plain rows packed ahead
        values = {"w": np.arange(3)} if step % 5000 == 17 else {"loss": step * 0.5}
        writer.append(history(step, values))
        expected.append(step)
        if step % 7000 == 3:
            assert writer.flush(timeout=10)
        if not step & 1023:
            writer.catch_up()
    writer.close()
    found = scan(path.read_bytes())[0]
    assert [r.fields[0] for r in found] == expected
    assert [r.seq for r in found] == list(range(1, 20_001))
    assert sorted(seen) == [(seq, seq - 1) for seq in range(1, 20_001)]  # observers saw each record once
    assert isinstance(found[17].fields[3]["w"], np.ndarray) and found[18].fields[3] == {"loss": 9.0}


def test_an_interrupt_while_the_loop_packs_ahead_loses_and_repeats_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    from jupyter_tracker.store import writer as writer_module

    path = tmp_path / RUN_LOG_NAME
    writer = RunLogWriter(path, flush_interval=10.0)  # the thread stays asleep until close
    writer.start()
    real_drop = writer_module._drop_left
    calls = []

    def interrupted_once(queue, count):
        calls.append(count)
        if len(calls) == 1:  # the batch was handed over, the records not yet taken off the queue
            raise KeyboardInterrupt
        real_drop(queue, count)

    monkeypatch.setattr(writer_module, "_drop_left", interrupted_once)
    for step in range(1000):
        writer.append(history(step, {"loss": 1.0}))
    with pytest.raises(KeyboardInterrupt):
        writer.catch_up()
    for step in range(1000, 3000):
        writer.append(history(step, {"loss": 1.0}))
    writer.catch_up()  # packs records 0-999 again (still queued) and the rest
    writer.close()
    found = scan(path.read_bytes())[0]
    assert [r.fields[0] for r in found] == list(range(3000))
    assert [r.seq for r in found] == list(range(1, 3001))


def test_a_float_row_template_matches_exactly_the_records_of_floats_under_its_names():
    plain = records.make_plain_packer()
    names = ["loss", "acc", "x" * 40, "é"]
    good = {"loss": 1.5, "acc": -0.0, "x" * 40: math.nan, "é": math.inf}
    others = [{**good, "loss": 1}, {**good, "loss": True}, {**good, "loss": "abcdefgh"}, {**good, "loss": [1.0]},
              {**good, "loss": None}, {"acc": 0.0, "loss": 1.0, "x" * 40: 0.0, "é": 0.0},
              {"loss": 1.0, "acc": 0.0, "x" * 40: 0.0}, {**good, "z": 1.0}, {**good, "é": {"a": 1.0}}]
    for step in (0, 127, 128, 255, 256, 65_535, 65_536, 2**32 - 1, 2**32, 2**63 - 1):
        mask, expected, bound = records.float_row_template(plain, step, names)

        def matches(row: dict, at: int = step) -> bool:
            return int.from_bytes(plain(history(at, row)), "little") & mask == expected

        assert matches(good) and matches(good, bound - 1)
        assert bound == 2**64 or not matches(good, bound)  # the step's encoding grew a byte
        assert not any(matches(row) for row in others)
    assert records.float_row_template(plain, 2**64, names) is None
