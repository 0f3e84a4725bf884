"""Uniform float history read as columns from a payload's bytes: the same rows as decoding it, or None."""

from __future__ import annotations

import math
from typing import Any

import msgpack
import pytest

from jupyter_tracker.server import uniform_batch
from jupyter_tracker.store import records


def _payload(first_seq: int, batch: list[Any]) -> bytes:
    return records.make_packer()([first_seq, batch])


def _history(step: int, row: dict[str, Any]) -> list[Any]:
    return ["h", step, 1_700_000_000.0 + step, step / 10.0, row]


def _same_as_decoded(payload: bytes) -> uniform_batch.UniformBatch:
    columns = uniform_batch.parse(payload)
    assert columns is not None
    first_seq, batch = records.decode_payload(payload)
    assert columns.first_seq == first_seq and len(columns) == len(batch)
    assert columns.steps.tolist() == [record[1] for record in batch]
    assert columns.times.tolist() == [record[2] for record in batch]
    assert columns.runtimes.tolist() == [record[3] for record in batch]
    for index, record in enumerate(batch):
        assert columns.row(index) == record[4]
        start, stop = int(columns.spans[index]), int(columns.spans[index + 1])
        assert msgpack.unpackb(payload[start:stop]) == record  # each record's bytes, as sent
    return columns


@pytest.mark.parametrize("first_step", [0, 120, 250, 65_530, 2**32 - 5, 2**40])
def test_steps_of_every_width_and_across_widths(first_step: int) -> None:
    batch = [_history(first_step + i, {f"m{k}": (first_step + i) * (k + 0.5) for k in range(10)}) for i in range(300)]
    _same_as_decoded(_payload(7, batch))


def test_long_keys_many_keys_and_special_floats() -> None:
    keys = [f"train/a_metric_name_longer_than_thirty_one_bytes_{k}" for k in range(40)] + ["ü"]
    special = [math.inf, -math.inf, -0.0, 1e308]
    batch = [_history(i, {key: special[(i + k) % 4] for k, key in enumerate(keys)}) for i in range(50)]
    _same_as_decoded(_payload(1, batch))
    nan_row = uniform_batch.parse(_payload(1, [_history(1, {"loss": math.nan})]))
    assert nan_row is not None and math.isnan(nan_row.row(0)["loss"])


def test_steps_in_any_order_of_widths() -> None:
    batch = [_history(step, {"a": 1.5}) for step in (1, 300, 2, 70_000, 3, 4)]
    _same_as_decoded(_payload(3, batch))


@pytest.mark.parametrize(
    "batch",
    [
        [_history(1, {"a": 2**40})],  # an int wider than 32 bits
        [_history(1, {"a": 1.0}), _history(2, {"b": 1.0})],  # keys change
        [_history(1, {"a": 1.0, "b": 2.0}), _history(2, {"b": 2.0, "a": 1.0})],  # key order changes
        [_history(1, {"a": 1.0}), ["config", {"lr": 0.1}]],  # another kind of record
        [_history(1, {"_step": 1.0})],  # a record field logged as a key
        [_history(1, {})],  # nothing logged
        [["h", -1, 1.0, 1.0, {"a": 1.0}]],  # a negative step
        [["h", 1, 1, 1.0, {"a": 1.0}]],  # an int time
        [_history(1, {"a": "text"})],
    ],
)
def test_anything_else_is_left_to_decoding(batch: list[Any]) -> None:
    assert uniform_batch.parse(_payload(1, batch)) is None


def test_bytes_that_are_not_a_whole_payload() -> None:
    payload = _payload(1, [_history(i, {"a": float(i)}) for i in range(10)])
    for broken in (b"", b"\x92", payload[:-1], payload + b"\x00", payload[:20]):
        assert uniform_batch.parse(broken) is None


def test_a_client_batch_is_read_as_float_runs_and_decoded_records_in_order() -> None:
    """A run record, float rows with a system record, an int row and a summary among them, a finish."""
    batch: list[Any] = [["run", {"name": "r", "tags": ["a"]}]]
    for step in range(120, 300):
        batch.append(_history(step, {"loss": 1.0 / step, "acc": step / 1e3}))
        if step == 150:
            batch.append(["system", 1.7e9, 3.0, {"system/cpu_percent": 5.0}])
        if step == 200:
            batch.append(_history(step, {"epoch": 2, "loss": 0.5}))
            batch.append(["summary", {"best": 1}])
    batch.append(["finish", {"state": "finished", "exit_code": 0}])
    payload = _payload(7, batch)
    read = uniform_batch.read(payload)
    assert isinstance(read, uniform_batch.Segments) and read.first_seq == 7 and len(read) == len(batch)
    rebuilt: list[Any] = []
    for part in read.parts:
        assert part.first_seq == 7 + len(rebuilt)
        if isinstance(part, uniform_batch.UniformBatch):
            assert len(part) >= uniform_batch.MIN_RUN
            rebuilt += [
                ["h", int(step), float(when), float(runtime), part.row(index)]
                for index, (step, when, runtime) in enumerate(zip(part.steps, part.times, part.runtimes, strict=True))
            ]
        else:
            rebuilt += part.records
    assert rebuilt == records.decode_payload(payload)[1]
    assert [type(value) for value in rebuilt[batch.index(["summary", {"best": 1}]) - 1][4].values()] == [int, float]
    for index, record in enumerate(batch):
        assert msgpack.unpackb(payload[read.spans[index] : read.spans[index + 1]], strict_map_key=False) == record


def test_batches_without_a_long_float_run_are_left_to_the_ordinary_decode() -> None:
    text = [_history(step, {"phase": "train", "loss": 0.5}) for step in range(100)]
    assert uniform_batch.read(_payload(1, text)) is None
    few = [["run", {"name": "r"}], *[_history(step, {"loss": 0.5}) for step in range(5)], ["finish", {}]]
    assert uniform_batch.read(_payload(1, few)) is None
    plain = [_history(step, {"loss": 0.5}) for step in range(50)]
    assert isinstance(uniform_batch.read(_payload(1, plain)), uniform_batch.UniformBatch)
    assert uniform_batch.read(_payload(1, plain)[:-1]) is None


@pytest.mark.parametrize(
    "values",
    [
        [0, 5, 127, 128, 255, 256, 65_535, 65_536, 2**32 - 1],  # positive fixint, uint8, uint16, uint32
        [-1, -32, -33, -128, -129, -32_768, -32_769, -(2**31)],  # negative fixint, int8, int16, int32
    ],
)
def test_int_values_are_read_as_ints(values: list[int]) -> None:
    """Ints of every width up to 32 bits, beside floats: the same rows (ints as ints) as decoding them."""
    batch = [_history(step, {"loss": 0.5 / (step + 1), "epoch": value}) for value in values for step in range(12)]
    payload = _payload(1, batch)
    read = uniform_batch.read(payload)
    assert read is not None and len(read) == len(batch)
    parts = read.parts if isinstance(read, uniform_batch.Segments) else (read,)
    rows = [part.row(index) for part in parts for index in range(len(part))]  # type: ignore[union-attr]
    assert rows == [record[4] for record in batch]
    assert all(type(row["epoch"]) is int and type(row["loss"]) is float for row in rows)
    whole = uniform_batch.parse(_payload(1, [_history(step, {"epoch": 3, "lr": 0.1}) for step in range(20)]))
    assert whole is not None and whole.ints == (0,) and whole.row(19) == {"epoch": 3, "lr": 0.1}
