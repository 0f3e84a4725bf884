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
        [_history(1, {"a": 1})],  # an int value
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
