"""The fast read-back of history (issue 14) returns exactly the rows a full read and wandb's sampling give.

``history()`` locates records without decoding them and decodes only the sampled ones
(``store/record_spans.py``); these tests hold it to the reference: every record decoded by the
tolerant reader, then :func:`sampling.sampled_history` (wandb's row sampling: evenly spaced, first
and last kept; with ``keys``, the rows holding any of them).
"""

from __future__ import annotations

import zlib
from pathlib import Path
from typing import Any

import msgpack
import numpy as np
import pytest

import jupyter_tracker
from jupyter_tracker.api import Api
from jupyter_tracker.api.sampling import sample_indices, sampled_history
from jupyter_tracker.store import record_spans, records
from jupyter_tracker.store.reader import (
    RunLogWarning,
    history_row,
    history_row_pages,
    iter_history_fields,
    iter_log,
    sampled_history_records,
)
from jupyter_tracker.store.run_dir import RUN_LOG_NAME

STEPS = 9_000  # more rows than two merged frames (4,096 records) hold: several frames however the writer batches


def comparable(value: Any) -> Any:
    """Rows with numpy arrays compared by dtype, shape and bytes (``==`` on arrays is elementwise)."""
    if isinstance(value, np.ndarray):
        return ("ndarray", value.dtype.str, value.shape, value.tobytes())
    if isinstance(value, dict):
        return {key: comparable(item) for key, item in value.items()}
    if isinstance(value, list):
        return [comparable(item) for item in value]
    return value


def reference_rows(run_dir: Path) -> list[dict[str, Any]]:
    """Every history row as the tolerant full reader decodes it."""
    stream, _ = iter_log(run_dir, warn=False)
    return [history_row(record) for record in stream if record.kind == records.HISTORY]


@pytest.fixture
def mixed_run(store_root: Path) -> jupyter_tracker.Run:
    """A real run whose log mixes history with other records, arrays, strings and look-alike keys."""
    run = jupyter_tracker.init(project="readback", mode="offline", config={"lr": 0.1}, settings={"console": "off"})
    run.define_metric("val/acc", summary="max")
    for step in range(STEPS):
        row: dict[str, Any] = {"loss": 1 / (step + 1), "val_loss": 2.0}
        if step % 40 == 0:
            row["note"] = "val/acc is logged every 97 steps"  # the key's bytes in a value
        if step % 97 == 0:
            row["val/acc"] = step / STEPS
        if step % 250 == 0:
            row["weights"] = np.arange(4, dtype=np.float32) * step
            run.config.update({f"stage_{step}": step})
            run.summary["best_step"] = step
        run.log(row)
    jupyter_tracker.finish(quiet=True)
    return run


def run_dir_of(store_root: Path, run: jupyter_tracker.Run) -> Path:
    return next(store_root.glob(f"run-*-{run.id}"))


def test_sampled_rows_are_wandbs_sampling_of_the_full_read(mixed_run: jupyter_tracker.Run, store_root: Path) -> None:
    run_dir = run_dir_of(store_root, mixed_run)
    assert len(records.intact_payloads((run_dir / RUN_LOG_NAME).read_bytes()) or []) > 1, "several frames"
    every_row = reference_rows(run_dir)
    run = Api().run(f"readback/{mixed_run.id}")
    for keys in (None, ["val/acc"], ["loss"], ["val/acc", "weights"], ["_step", "val/acc"], ["nothing"]):
        for samples in (1, 2, 7, 500, STEPS, 10_000):
            expected = sampled_history(every_row, keys=keys, samples=samples)
            got = run.history(samples=samples, keys=keys, pandas=False)
            assert comparable(got) == comparable(expected), (keys, samples)
            if keys is None:
                assert [row["_step"] for row in got] == sample_indices(STEPS, samples)


def test_the_sampled_rows_come_from_the_fast_path(mixed_run: jupyter_tracker.Run, store_root: Path) -> None:
    run_dir = run_dir_of(store_root, mixed_run)
    chosen = sampled_history_records(run_dir, lambda count: sample_indices(count, 500))
    assert chosen is not None and len(chosen) == 500
    every = [record for record in iter_log(run_dir, warn=False)[0] if record.kind == records.HISTORY]
    assert [record.seq for record in chosen] == [every[index].seq for index in sample_indices(len(every), 500)]
    with_keys = sampled_history_records(run_dir, lambda count: list(range(count)), keys=["val/acc"])
    assert with_keys is not None
    assert [record.fields[0] for record in with_keys] == list(range(0, STEPS, 97))


def test_history_with_other_x_axis_and_the_dataframe_match_the_reference(
    mixed_run: jupyter_tracker.Run, store_root: Path
) -> None:
    run_dir = run_dir_of(store_root, mixed_run)
    run = Api().run(f"readback/{mixed_run.id}")
    expected = sampled_history(reference_rows(run_dir), keys=["val/acc"], samples=5, x_axis="_runtime")
    assert run.history(keys=["val/acc"], samples=5, x_axis="_runtime", pandas=False) == expected
    frame = run.history(samples=50)
    assert list(frame["_step"]) == sample_indices(STEPS, 50)
    assert frame["loss"].tolist() == [row["loss"] for row in sampled_history(reference_rows(run_dir), samples=50)]


def test_scan_history_rows_are_the_full_read(mixed_run: jupyter_tracker.Run, store_root: Path) -> None:
    run_dir = run_dir_of(store_root, mixed_run)
    rows = list(Api().run(f"readback/{mixed_run.id}").scan_history())
    assert comparable(rows) == comparable(reference_rows(run_dir))
    rows[0]["loss"] = "changed"  # rows are the caller's own: a second scan is unaffected
    assert next(iter(Api().run(f"readback/{mixed_run.id}").scan_history()))["loss"] == 1.0


def test_scan_history_rows_keep_the_full_reads_key_order(mixed_run: jupyter_tracker.Run, store_root: Path) -> None:
    # the values as logged, then _step, _timestamp, _runtime: a DataFrame built from the rows has the same columns
    expected = [list(row) for row in reference_rows(run_dir_of(store_root, mixed_run))]
    run = Api().run(f"readback/{mixed_run.id}")
    assert [list(row) for row in run.scan_history()] == expected
    assert [list(row) for row in run.history(samples=STEPS, pandas=False)] == expected


def test_scan_history_of_a_damaged_log_is_the_tolerant_read(mixed_run: jupyter_tracker.Run, store_root: Path) -> None:
    run_dir = run_dir_of(store_root, mixed_run)
    log = run_dir / RUN_LOG_NAME
    data = bytearray(log.read_bytes())
    data[len(data) // 2] ^= 0xFF  # a frame in the middle fails its CRC: the log is read record by record
    log.write_bytes(bytes(data))
    expected = reference_rows(run_dir)
    assert 0 < len(expected) < STEPS
    with pytest.warns(RunLogWarning):
        rows = list(Api().run(f"readback/{mixed_run.id}").scan_history())
    assert comparable(rows) == comparable(expected)
    with pytest.warns(RunLogWarning):
        assert comparable(Api().run(f"readback/{mixed_run.id}").history(samples=STEPS, pandas=False)) == comparable(expected)


def test_scan_history_skips_a_frame_that_does_not_decode_and_says_so(tmp_path: Path) -> None:
    pack = records.make_packer()
    rows = [(records.HISTORY, step, 1.0 + step, float(step), {"a": float(step)}) for step in range(6)]
    write_payloads(tmp_path, [pack([1, rows[:3]]), b"\x92\x04\x93\xc1", pack([7, rows[3:]])])  # 0xc1: never valid
    with pytest.warns(RunLogWarning, match="frame 1 does not decode"):
        got = [row for page in history_row_pages(tmp_path) for row in page]
    assert got == [{"a": float(step), "_step": step, "_timestamp": 1.0 + step, "_runtime": float(step)}
                   for step in range(6)]


def test_scan_history_with_keys_is_the_full_read_filtered(mixed_run: jupyter_tracker.Run, store_root: Path) -> None:
    run_dir = run_dir_of(store_root, mixed_run)
    every_row = reference_rows(run_dir)
    run = Api().run(f"readback/{mixed_run.id}")
    for keys in (["val/acc"], ["loss"], ["val/acc", "weights"], ["weights", "_runtime"], ["nothing"]):
        expected = [{key: row[key] for key in keys} for row in every_row if all(key in row for key in keys)]
        assert comparable(list(run.scan_history(keys=keys))) == comparable(expected), keys
    in_range = [row["val/acc"] for row in run.scan_history(keys=["val/acc"], min_step=100, max_step=500)]
    assert in_range == [step / STEPS for step in (194, 291, 388, 485)]


def test_iter_history_fields_with_keys_over_a_damaged_log_keeps_the_rest(tmp_path: Path) -> None:
    pack = records.make_packer()
    good = [(records.HISTORY, step, 1.0, 0.0, {"a": 1.0, **({"b": 2.0} if step % 3 == 0 else {})}) for step in range(9)]
    write_payloads(tmp_path, [pack([1, good[:5]]), pack([6, good[5:]])])
    log = tmp_path / RUN_LOG_NAME
    data = bytearray(log.read_bytes())
    data[len(records.MAGIC) + 12] ^= 0xFF  # inside the first frame: its CRC fails, the second frame is kept
    log.write_bytes(bytes(data))
    with pytest.warns(RunLogWarning):
        assert [fields[0] for fields in iter_history_fields(tmp_path, keys=["b"])] == [6]
    # a kind framed as str8 among records without the key: the walker gives up, the payload is decoded whole
    odd = b"\x92\x01\xdc\x00\x0b" + b"".join(history_bytes(step, {"a": 1.0}) for step in range(10))
    write_payloads(tmp_path, [odd + history_bytes(10, {"b": 1.0}, kind=b"\xd9\x01h")])
    with pytest.raises(record_spans.UnexpectedLayout):
        record_spans.history_with_keys((tmp_path / RUN_LOG_NAME).read_bytes()[len(records.MAGIC) + 8 :], ["b"])
    assert [fields[:1] + fields[3:] for fields in iter_history_fields(tmp_path, keys=["b"])] == [(10, {"b": 1.0})]


# hand-made logs: layouts the walker must not guess about ---------------------------------------------
def frame(payload: bytes) -> bytes:
    return records.FRAME_HEADER.pack(len(payload), zlib.crc32(payload)) + payload


def write_payloads(run_dir: Path, payloads: list[bytes]) -> None:
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / RUN_LOG_NAME).write_bytes(records.MAGIC + b"".join(frame(payload) for payload in payloads))


def history_bytes(step: int, values: dict[str, Any], kind: bytes = b"\xa1h") -> bytes:
    return b"\x95" + kind + b"".join(msgpack.packb(item) for item in (step, 1.0 + step, float(step), values))


def test_a_kind_framed_as_str8_is_left_to_the_full_reader(tmp_path: Path) -> None:
    # "h" as str8 (0xd9 0x01 'h') is a history record all the same: the walker must not miss it
    payload = b"\x92\x01\x92" + history_bytes(0, {"a": 1.0}, kind=b"\xd9\x01h") + history_bytes(1, {"a": 2.0})
    write_payloads(tmp_path, [payload])
    with pytest.raises(record_spans.UnexpectedLayout):
        record_spans.history_indices(record_spans.payload_spans(payload))
    assert sampled_history_records(tmp_path, lambda count: list(range(count))) is None
    assert [row["a"] for row in reference_rows(tmp_path)] == [1.0, 2.0]  # what the fallback then returns


def test_a_payload_with_trailing_bytes_is_left_to_the_full_reader(tmp_path: Path) -> None:
    payload = b"\x92\x01\x91" + history_bytes(0, {"a": 1.0}) + b"\x00"
    with pytest.raises(record_spans.UnexpectedLayout):
        record_spans.payload_spans(payload)
    write_payloads(tmp_path, [payload])
    assert sampled_history_records(tmp_path, lambda count: list(range(count))) is None


def test_keys_are_matched_exactly_not_by_their_bytes(tmp_path: Path) -> None:
    pack = records.make_packer()
    look_alikes: dict[int, dict[str, Any]] = {3: {"text": "loss"}, 5: {"val_loss": 1.0}, 7: {"loss": 3.0}, 9: {"loss/x": 2.0}}
    rare = [(records.CONFIG, {"loss": "in config, not history"})] + [
        (records.HISTORY, step, 1.0, 0.0, {"acc": 0.5, **look_alikes.get(step, {})}) for step in range(40)
    ]
    frequent = [(records.HISTORY, step, 1.0, 0.0, {"loss": float(step)}) for step in range(40, 80)]
    write_payloads(tmp_path, [pack([1, rare]), pack([42, frequent])])
    chosen = sampled_history_records(tmp_path, lambda count: list(range(count)), keys=["loss"])
    assert chosen is not None
    assert [record.fields[0] for record in chosen] == [7, *range(40, 80)]
    assert [record.seq for record in chosen] == [9, *range(42, 82)]
    assert sampled_history_records(tmp_path, lambda count: list(range(count)), keys=["\ud800"]) == []
