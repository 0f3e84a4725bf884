"""History blocks and the columnar split of rows into series: the same rows and points as row by row."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from jupyter_tracker.server import history_blocks, history_series
from jupyter_tracker.store import records


def _row_by_row(steps: list[int], times: list[Any], runtimes: list[Any], rows: list[dict[str, Any]]) -> dict:
    """The rule the server applied one value at a time before blocks: numeric values of the full row."""
    points: dict[str, tuple[list[int], list[float]]] = {}
    for step, when, runtime, logged in zip(steps, times, runtimes, rows, strict=True):
        full = {**logged, "_step": step, "_timestamp": when, "_runtime": runtime}
        for key, value in full.items():
            if key != "_step" and history_series.is_numeric(value):
                found = points.setdefault(key, ([], []))
                found[0].append(step)
                found[1].append(float(value))
    return points


def _same_points(columnar: dict, expected: dict) -> None:
    assert set(columnar) == set(expected)
    for key, (steps, values) in expected.items():
        got_steps, got_values = columnar[key]
        assert got_steps.tolist() == steps, key
        assert np.array_equal(got_values, np.asarray(values), equal_nan=True), key


def test_numeric_points_match_the_row_by_row_rule_for_every_kind_of_value() -> None:
    rows = [
        {"f": 1.5, "i": 3, "mixed": 2, "nan": math.nan, "s": "x", "b": True, "none": None, "huge": 2**64 - 1},
        {"f": 2.5, "i": -4, "mixed": 0.5, "nan": math.inf, "s": "y", "b": False, "none": 1.0, "huge": 7},
        {"f": -0.0, "i": 2**62, "mixed": "text", "nan": -math.inf, "sparse": 9, "_timestamp": 5.0, "_step": 99},
        {"f": 1e300, "i": 0, "mixed": True, "nan": 1.0},
    ]
    steps = [0, 1, 5, 5]
    times = [1.7e9, 1.7e9 + 1, 1.7e9 + 2, 1.7e9 + 3]
    runtimes = [0.0, 1.0, 2.0, 3]
    _same_points(history_series.numeric_points(steps, times, runtimes, rows), _row_by_row(steps, times, runtimes, rows))


def test_numeric_points_of_a_key_with_no_number_give_no_series() -> None:
    found = history_series.numeric_points([0, 1], [1.0, 2.0], [0.0, 0.1], [{"s": "a"}, {"s": "b", "flag": True}])
    assert set(found) == {"_timestamp", "_runtime"}


def test_a_block_gives_back_each_full_row_by_position_with_its_sequence_number_and_step() -> None:
    rows = [{"loss": 0.5, "text": "a"}, {"image": {"_type": "image-file", "path": "x.png"}}, {}]
    values = history_blocks.pack_block(
        records.make_packer(), [3, 7, 8], [10, 10, 12], [1.0, 2.0, 3.0], [0.1, 0.2, 0.3], rows
    )
    assert (values["first_seq"], values["last_seq"], values["min_step"], values["max_step"], values["rows"]) == (
        3,
        8,
        10,
        12,
        3,
    )
    block = history_blocks.Block.from_columns(values["seqs"], values["steps"], values["ends"], values["block"])
    assert block.row(1) == {
        "image": {"_type": "image-file", "path": "x.png"},
        "_step": 10,
        "_timestamp": 2.0,
        "_runtime": 0.2,
    }
    assert block.row(2) == {"_step": 12, "_timestamp": 3.0, "_runtime": 0.3}
    assert block.seqs.tolist() == [3, 7, 8] and block.steps.tolist() == [10, 10, 12]
    assert block.row(0) == {"loss": 0.5, "text": "a", "_step": 10, "_timestamp": 1.0, "_runtime": 0.1}


def test_a_block_of_records_as_sent_gives_back_the_same_full_rows_as_a_packed_block() -> None:
    history = [
        ["h", 10, 1.0, 0.1, {"loss": 0.5, "text": "a", "_step": 99}],
        ["h", 10, 2.0, 0.2, {"image": {"_type": "image-file", "path": "x.png"}}],
        ["h", 12, 3.0, 0.3, {}],
    ]
    pack = records.make_packer()
    for batch in (history, [history[0], ["c", {"lr": 0.1}], history[1], ["s", 1.0, 0.1, {"cpu": 3.0}], history[2]]):
        payload = pack([5, batch])
        spans = history_blocks.record_spans(payload, len(batch))
        assert spans is not None and len(spans) == len(batch) + 1 and spans[-1] == len(payload)
        where = np.asarray([index for index, record in enumerate(batch) if record[0] == "h"])
        sent = history_blocks.block_of_records([3, 7, 8], [10, 10, 12], payload, spans[where], spans[where + 1])
        packed = history_blocks.pack_block(
            pack, [3, 7, 8], [10, 10, 12], [1.0, 2.0, 3.0], [0.1, 0.2, 0.3], [record[4] for record in history]
        )
        assert {name: sent[name] for name in ("first_seq", "last_seq", "min_step", "max_step", "rows", "seqs")} == {
            name: packed[name] for name in ("first_seq", "last_seq", "min_step", "max_step", "rows", "seqs")
        }
        blocks = [
            history_blocks.Block.from_columns(values["seqs"], values["steps"], values["ends"], values["block"])
            for values in (sent, packed)
        ]
        for position in range(3):
            assert blocks[0].row(position) == blocks[1].row(position)
        assert blocks[0].row(0) == {"loss": 0.5, "text": "a", "_step": 10, "_timestamp": 1.0, "_runtime": 0.1}


def test_record_spans_of_a_payload_not_shaped_as_a_batch_are_none() -> None:
    pack = records.make_packer()
    for payload, count in (
        (pack({"a": 1}), 1),
        (pack([1, {"a": 2}]), 1),
        (pack([1, [1, 2]]) + b"x", 2),
        (pack([1, [1, 2]])[:-1], 2),
        (pack([1, [1, 2]]), 3),
    ):
        assert history_blocks.record_spans(payload, count) is None


def test_rows_that_log_the_same_float_keys_give_the_points_of_the_row_by_row_rule_in_one_pass() -> None:
    steps = list(range(0, 60, 2))
    times = [1.7e9 + step for step in steps]
    runtimes = [step / 10 for step in steps]
    same = [{"loss": 1.0 / (step + 1), "acc": step * 0.01, "nan": math.nan} for step in steps]
    reordered = [dict(reversed(list(row.items()))) if index % 2 else row for index, row in enumerate(same)]
    with_int = [{**row, "acc": 3} if index == 5 else row for index, row in enumerate(same)]
    for rows in (same, reordered, with_int):
        expected = _row_by_row(steps, times, runtimes, rows)
        _same_points(history_series.numeric_points(steps, times, runtimes, rows), expected)
        _same_points(history_series.numeric_points(steps, times, runtimes, rows, uniform_floats=False), expected)
    _same_points(
        history_series.numeric_points(steps, times, runtimes, same, uniform_floats=True),
        _row_by_row(steps, times, runtimes, same),
    )
