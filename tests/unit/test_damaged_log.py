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
