"""A damaged run log: its intact frames are read, resuming never destroys them, and the resync is linear."""

from __future__ import annotations

from pathlib import Path

import pytest

import jupyter_tracker as jt
from jupyter_tracker.store import records
from jupyter_tracker.store.reader import read_run


@pytest.fixture
def root(store_root: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_CONSOLE", "off")
    return store_root


def finished_run(run_id: str, steps: int) -> Path:
    run = jt.init(project="p", id=run_id, config={"lr": 0.1})
    for step in range(steps):
        run.log({"a": float(step)})
    run.finish()
    return Path(run.dir)


def payload_offset_of_step(data: bytes, step: int) -> int:
    """Where the payload of the frame holding history step ``step`` starts (frames walked by their headers)."""
    offset = len(records.MAGIC)
    while offset < len(data):
        length, _ = records.FRAME_HEADER.unpack_from(data, offset)
        payload = data[offset + records.FRAME_HEADER.size : offset + records.FRAME_HEADER.size + length]
        _, batch = records.decode_payload(payload)
        if any(record[0] == records.HISTORY and record[1] == step for record in batch):
            return offset + records.FRAME_HEADER.size + 1
        offset += records.FRAME_HEADER.size + length
    raise AssertionError(f"no frame holds step {step}")


def flip(path: Path, offset: int, mask: int = 0x01) -> bytes:
    data = bytearray(path.read_bytes())
    original = bytes(data)
    data[offset] ^= mask
    path.write_bytes(bytes(data))
    return original


@pytest.mark.parametrize("offset", [0, 3, 6])
def test_resume_over_a_damaged_header_keeps_every_row_and_a_copy_of_the_log(root, offset):
    run_dir = finished_run("hdr1", 50)
    log_path = run_dir / "run.jtlog"
    flip(log_path, offset)
    damaged = log_path.read_bytes()
    with pytest.warns(jt.RunLogWarning, match="header is damaged"):
        state, _ = read_run(run_dir)
    assert state.rows == 50
    with pytest.warns(jt.RunLogWarning) as caught:
        run = jt.init(project="p", id="hdr1", resume="allow")
    assert any("a copy of it is kept at" in str(warning.message) for warning in caught)
    assert run.step == 50 and run.config["lr"] == 0.1
    run.log({"a": 50.0})
    run.finish()
    state, rows = read_run(run_dir, keep_history=True)
    assert [row["a"] for row in rows] == [float(step) for step in range(51)]
    assert state.problems == []  # the header was written again; nothing else changed
    (copy,) = run_dir.glob("run.jtlog.damaged-*")
    assert copy.read_bytes() == damaged


def test_resume_over_a_corrupt_middle_keeps_the_frames_after_it(root):
    run = jt.init(project="p", id="mid1")
    for step in range(30):
        run.log({"a": float(step)})
        run.flush()  # one frame per row
    run.finish()
    log_path = Path(run.dir) / "run.jtlog"
    flip(log_path, payload_offset_of_step(log_path.read_bytes(), 10), 0xFF)
    with pytest.warns(jt.RunLogWarning):
        state, rows = read_run(Path(run.dir), keep_history=True)
    kept = [row["a"] for row in rows]
    assert 25 <= len(kept) < 30 and 10.0 not in kept and kept[-1] == 29.0
    with pytest.warns(jt.RunLogWarning) as caught:
        run = jt.init(project="p", id="mid1", resume="allow")
    assert any("a copy of it is kept at" in str(warning.message) for warning in caught)
    run.log({"a": 30.0})
    run.finish()
    _, rows = read_run(Path(run.dir), warn=False, keep_history=True)
    assert [row["a"] for row in rows] == kept + [30.0]


def test_skipping_damage_does_not_checksum_at_every_byte_offset(tmp_path):
    """Issue 9 item 6: the resync used to try a CRC and a decode at every byte offset (18 MB: 61 s).

    Damage whose every 4 bytes read as a plausible frame length (512 KiB) made that quadratic: 64 KiB
    of it cost ~8 GB of checksums. Figures for a real 18 MB log live in bench/bench_log_resync.py.
    """
    import time

    pack = records.make_packer()
    frames = [records.encode_frame(seq, [(records.HISTORY, seq - 1, 1.7e9, 0.0, {"a": float(seq)})], pack)
              for seq in range(1, 4)]
    padding = b"\x00" * (1 << 20)  # so that the plausible lengths fit inside the data
    data = records.MAGIC + frames[0] + b"\x00\x00\x08\x00" * (1 << 14) + frames[1] + frames[2] + padding
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "run.jtlog").write_bytes(data)
    started = time.perf_counter()
    with pytest.warns(jt.RunLogWarning, match="corrupt"):
        _, rows = read_run(run_dir, keep_history=True)
    elapsed = time.perf_counter() - started
    assert [row["a"] for row in rows] == [1.0, 2.0, 3.0]
    assert elapsed < 2.0, f"skipping 64 KiB of damage took {elapsed:.1f} s"


def test_sync_reads_the_frames_after_a_damaged_header_of_a_complete_log(tmp_path):
    """Issue 9 item 1, for ``jupyter-tracker sync`` of a run never resumed: its upload used to stop at the header."""
    from jupyter_tracker.sync.log_tail import LogTail

    pack = records.make_packer()
    data = bytearray(records.MAGIC)
    for seq in range(1, 4):
        data += records.encode_frame(seq, [(records.HISTORY, seq - 1, 1.7e9, 0.0, {"a": float(seq)})], pack)
    data[2] ^= 0x10
    path = tmp_path / "run.jtlog"
    path.write_bytes(bytes(data))
    assert LogTail(path).read() == []  # while the run may still be writing, nothing is guessed
    tail = LogTail(path)
    frames = [frame for _ in range(3) for frame in tail.read(max_bytes=40, final=True)]
    assert [frame.first_seq for frame in frames] == [1, 2, 3]
    assert tail.problems and "header is damaged" in tail.problems[0]
