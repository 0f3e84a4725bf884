"""Reading complete frames of a run log from an offset while the writer may be mid-write."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import httpx
import numpy as np

from jupyter_tracker.store import records
from jupyter_tracker.store.writer import RunLogWriter
from jupyter_tracker.sync.log_tail import LogTail, encode_batch, split_payload
from jupyter_tracker.sync.transport import TrackerClient
from jupyter_tracker.sync.uploader import RunUpload
from tests.unit.test_backoff import FakeServer

PACK = records.make_packer()


def frame(first_seq: int, batch: list) -> bytes:
    return records.encode_frame(first_seq, batch, PACK)


def history(step: int) -> tuple:
    return (records.HISTORY, step, 1.0, 0.5, {"loss": float(step)})


def new_log(path: Path, *frames: bytes) -> Path:
    path.write_bytes(records.MAGIC + b"".join(frames))
    return path


def seqs(frames: list) -> list[int]:
    return [frame.first_seq + index for frame in frames for index in range(len(frame.raw_records))]


def test_reads_every_frame_and_advances_the_offset(tmp_path: Path) -> None:
    path = new_log(tmp_path / "run.jtlog", frame(1, [history(0), history(1)]), frame(3, [history(2)]))
    tail = LogTail(path)
    frames = tail.read()
    assert seqs(frames) == [1, 2, 3]
    assert tail.offset == path.stat().st_size
    assert tail.read() == []


def test_an_incomplete_last_frame_is_not_ready_yet(tmp_path: Path) -> None:
    whole = frame(3, [history(2), history(3)])
    path = new_log(tmp_path / "run.jtlog", frame(1, [history(0), history(1)]), whole[:7])
    tail = LogTail(path)
    assert seqs(tail.read()) == [1, 2]
    for cut in (7, 8, 12, len(whole) - 1):  # header torn, payload torn
        path.write_bytes(records.MAGIC + frame(1, [history(0), history(1)]) + whole[:cut])
        assert tail.read() == [], cut
        assert tail.problems == []
    with open(path, "ab") as handle:
        handle.write(whole[len(whole) - 1 :])
    assert seqs(tail.read()) == [3, 4]


def test_a_missing_or_empty_log_reads_as_nothing(tmp_path: Path) -> None:
    assert LogTail(tmp_path / "absent.jtlog").read() == []
    (tmp_path / "empty.jtlog").write_bytes(b"")
    assert LogTail(tmp_path / "empty.jtlog").read(final=True) == []
    (tmp_path / "half-magic.jtlog").write_bytes(records.MAGIC[:3])
    assert LogTail(tmp_path / "half-magic.jtlog").read() == []


def test_resumes_from_a_stored_offset(tmp_path: Path) -> None:
    first = frame(1, [history(0)])
    path = new_log(tmp_path / "run.jtlog", first, frame(2, [history(1)]))
    tail = LogTail(path, offset=len(records.MAGIC) + len(first))
    assert seqs(tail.read()) == [2]


def test_max_bytes_bounds_a_read_but_a_big_frame_still_comes(tmp_path: Path) -> None:
    big = frame(1, [history(step) for step in range(2000)])
    small = frame(2001, [history(2000)])
    path = new_log(tmp_path / "run.jtlog", big, small)
    tail = LogTail(path)
    first = tail.read(max_bytes=64)
    assert seqs(first) == list(range(1, 2001))
    assert seqs(tail.read(max_bytes=64)) == [2001]


def test_final_read_skips_a_torn_tail_and_a_corrupt_middle(tmp_path: Path) -> None:
    good = frame(1, [history(0)])
    corrupt = bytearray(frame(2, [history(1)]))
    corrupt[-1] ^= 0xFF
    after = frame(3, [history(2)])
    torn = frame(4, [history(3)])[:-3]
    path = new_log(tmp_path / "run.jtlog", good, bytes(corrupt), after, torn)
    live = LogTail(path)
    assert seqs(live.read()) == [1]  # not final: the damage might be a frame still being written
    assert live.read() == []
    final = LogTail(path)
    assert seqs(final.read(final=True)) == [1]
    assert seqs(final.read(final=True)) == [3]
    assert final.read(final=True) == []
    assert final.offset == path.stat().st_size
    assert len(final.problems) == 2
    assert "corrupt" in final.problems[0] and "tail" in final.problems[1]


def test_raw_records_reassemble_into_an_identical_payload(tmp_path: Path) -> None:
    batch = [
        (records.RUN, {"id": "abc", "project": "p"}),
        (
            records.HISTORY,
            0,
            1.0,
            0.5,
            {
                "a": np.arange(6, dtype=np.float32).reshape(2, 3),
                "s": "text",
                "n": None,
                "nan": float("nan"),
                "nested": {"x": [1, 2]},
            },
        ),
        (records.CONFIG, {"lr": 0.1}),
    ]
    payload = PACK([7, batch])
    first_seq, raw = split_payload(payload)
    assert first_seq == 7 and len(raw) == 3
    assert encode_batch(7, raw) == payload
    decoded_seq, decoded = records.decode_payload(encode_batch(8, raw[1:]))
    assert decoded_seq == 8
    assert decoded[0][4]["a"].tolist() == [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]]
    assert decoded[1] == [records.CONFIG, {"lr": 0.1}]


def test_follows_a_live_writer_without_losing_or_repeating_a_record(tmp_path: Path) -> None:
    path = tmp_path / "run.jtlog"
    writer = RunLogWriter(path, flush_interval=0.001)
    writer.start()
    total = 20_000
    seen: list[int] = []
    tail = LogTail(path)
    done = threading.Event()

    def produce() -> None:
        for step in range(total):
            writer.append(history(step))
            if step % 500 == 0:
                time.sleep(0.001)
        writer.close()
        done.set()

    producer = threading.Thread(target=produce)
    producer.start()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        finished = done.is_set()
        seen.extend(seqs(tail.read(max_bytes=4096, final=finished)))
        if finished and len(seen) >= total:
            break
    producer.join()
    assert seen == list(range(1, total + 1))
    assert tail.problems == []


# the uploader over damaged and resumed logs (against an in-memory server) ----------------------------
def upload_to(server: FakeServer, run_dir: Path) -> None:
    client = TrackerClient("http://tracker.test", "jt_test_key", transport=httpx.MockTransport(server))
    RunUpload(run_dir, client, {"id": "abc", "project": "p"}, entity="alice").upload_all()


def test_records_lost_to_a_corrupt_frame_become_a_warning_not_a_hole(tmp_path: Path) -> None:
    corrupt = bytearray(frame(3, [history(2), history(3)]))
    corrupt[-2] ^= 0xFF
    new_log(tmp_path / "run.jtlog", frame(1, [history(0), history(1)]), bytes(corrupt), frame(5, [history(4)]))
    server = FakeServer()
    upload_to(server, tmp_path)
    assert server.applied_seq == 5
    kinds = [record[0] for record in server.records]
    assert kinds == ["h", "h", "warning", "warning", "h"]
    assert server.records[2][1]["kind"] == "missing_records"
    assert "corrupt" in json.loads((tmp_path / "sync.json").read_text())["problems"][0]


def test_a_stored_offset_never_points_past_a_torn_tail_a_resumed_writer_overwrites(tmp_path: Path) -> None:
    path = new_log(tmp_path / "run.jtlog", frame(1, [history(0), history(1)]), frame(3, [history(2)])[:-4])
    server = FakeServer()
    upload_to(server, tmp_path)
    assert server.applied_seq == 2
    good_end = len(records.MAGIC) + len(frame(1, [history(0), history(1)]))
    assert json.loads((tmp_path / "sync.json").read_text())["offset"] == good_end
    # the run is resumed: the writer cuts the torn tail and appends from seq 3
    writer = RunLogWriter(path, first_seq=3, flush_interval=0.01, truncate_at=good_end)
    writer.start()
    for step in range(2, 40):
        writer.append(history(step))
    writer.close()
    upload_to(server, tmp_path)
    assert server.applied_seq == 40
    assert [record[1] for record in server.records] == list(range(40))
