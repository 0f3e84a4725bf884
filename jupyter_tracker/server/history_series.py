"""Numeric history kept as packed arrays per key, and the server-side downsampling of it.

A key's points live in chunks of :data:`CHUNK_POINTS` (step, value) pairs, steps as an int64
column (:mod:`int64_columns`: evenly spaced ones in 25 bytes) and values as little-endian
float64, so reading a 100,000-point series is a few dozen rows and one ``numpy.concatenate``.
Pure: the storage module does the reading and writing.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from itertools import chain
from operator import itemgetter
from typing import Any

import numpy as np

from jupyter_tracker.server import int64_columns

CHUNK_POINTS = 2048
_VALUE_DTYPE = np.dtype("<f8")


def is_numeric(value: Any) -> bool:
    """Plotted as a series: ints and floats (bools and everything else are kept in the full rows only)."""
    kind = type(value)
    return kind is float or (kind is int and -(1 << 63) <= value < (1 << 63))


#: fields of a full row that come from the record, not from the logged dict
_RECORD_FIELDS = frozenset({"_step", "_timestamp", "_runtime"})
_INT64_LOW, _INT64_HIGH = -(1 << 63), 1 << 63


def numeric_points(
    steps: Sequence[int],
    times: Sequence[Any],
    runtimes: Sequence[Any],
    rows: Sequence[dict[str, Any]],
    uniform_floats: bool | None = None,
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The numeric points of each key of some history rows, a key at a time: {key: (steps, values)}.

    ``_timestamp`` and ``_runtime`` are series too. Rows that all log the same float keys are
    read in one pass (``uniform_floats``: True when the caller already knows they do, False
    when it knows they do not, None to look). Otherwise a key whose values are all floats (or
    floats and int64 ints) is read in one pass over C-level iterators; any other key (missing in
    some rows, strings, bools, huge ints) value by value with :func:`is_numeric`.
    """
    step_array = np.asarray(steps, dtype=np.int64)
    found = None if uniform_floats is False else _uniform_floats(step_array, rows, checked=bool(uniform_floats))
    if found is not None:
        found["_timestamp"] = (step_array, np.asarray(times, dtype=np.float64))
        found["_runtime"] = (step_array, np.asarray(runtimes, dtype=np.float64))
        return found
    found = {}
    for key in dict.fromkeys(chain.from_iterable(rows)):
        if key in _RECORD_FIELDS:
            continue
        try:
            column: list[Any] = list(map(itemgetter(key), rows))
        except KeyError:  # some rows lack the key
            kept = [(step, row[key]) for step, row in zip(steps, rows, strict=True) if key in row]
            _add_checked(found, key, [step for step, _ in kept], [value for _, value in kept])
            continue
        kinds = set(map(type, column))
        if kinds == {float} or (
            kinds <= {float, int} and _INT64_LOW <= min(column) and max(column) < _INT64_HIGH  # NaN: falls through
        ):
            found[key] = (step_array, np.asarray(column, dtype=np.float64))
        else:
            _add_checked(found, key, steps, column)
    found["_timestamp"] = (step_array, np.asarray(times, dtype=np.float64))
    found["_runtime"] = (step_array, np.asarray(runtimes, dtype=np.float64))
    return found


def table_points(
    steps: Sequence[int], times: Sequence[Any], runtimes: Sequence[Any], keys: Sequence[str], table: np.ndarray
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """:func:`numeric_points` of rows already read as a rows x keys float64 ``table`` (every row logs ``keys``)."""
    step_array = np.asarray(steps, dtype=np.int64)
    found = {key: (step_array, table[:, index]) for index, key in enumerate(keys)}
    found["_timestamp"] = (step_array, np.asarray(times, dtype=np.float64))
    found["_runtime"] = (step_array, np.asarray(runtimes, dtype=np.float64))
    return found


def _uniform_floats(
    step_array: np.ndarray, rows: Sequence[dict[str, Any]], checked: bool = False
) -> dict[str, Any] | None:
    """Every key's points at once when each row holds the same keys, in the same order, all floats.

    The usual batch (a training loop logs the same metrics each step): its values are read in
    one pass into a rows x keys array instead of a pass per key. None for any other batch.
    ``checked``: the caller has seen the keys and the value types already.
    """
    if not rows or not rows[0] or not _RECORD_FIELDS.isdisjoint(rows[0]):
        return None
    keys = tuple(rows[0])
    if not checked and (
        set(map(tuple, rows)) != {keys} or set(map(type, chain.from_iterable(map(dict.values, rows)))) != {float}
    ):
        return None
    count = len(rows) * len(keys)
    table = np.fromiter(chain.from_iterable(map(dict.values, rows)), dtype=np.float64, count=count)
    table = table.reshape(len(rows), len(keys))
    return {key: (step_array, table[:, index]) for index, key in enumerate(keys)}


def _add_checked(
    found: dict[str, tuple[np.ndarray, np.ndarray]], key: str, steps: Sequence[int], values: Sequence[Any]
) -> None:
    """The numeric values of ``values`` (at ``steps``) as the key's series; nothing when none is numeric."""
    kept = [(step, float(value)) for step, value in zip(steps, values, strict=True) if is_numeric(value)]
    if kept:
        found[key] = (
            np.fromiter((step for step, _ in kept), dtype=np.int64, count=len(kept)),
            np.fromiter((value for _, value in kept), dtype=np.float64, count=len(kept)),
        )


def pack(steps: np.ndarray, values: np.ndarray) -> tuple[bytes, bytes]:
    return int64_columns.pack(steps), values.astype(_VALUE_DTYPE, copy=False).tobytes()


def unpack(steps: bytes, values: bytes) -> tuple[np.ndarray, np.ndarray]:
    return int64_columns.unpack(steps), np.frombuffer(values, dtype=_VALUE_DTYPE)


def split_into_chunks(
    tail_steps: np.ndarray, tail_values: np.ndarray, new_steps: np.ndarray, new_values: np.ndarray
) -> list[tuple[np.ndarray, np.ndarray]]:
    """The tail chunk extended by new points, cut into chunks; the first one replaces the tail."""
    steps = np.concatenate([tail_steps, new_steps])
    values = np.concatenate([tail_values, new_values])
    return [(steps[i : i + CHUNK_POINTS], values[i : i + CHUNK_POINTS]) for i in range(0, len(steps), CHUNK_POINTS)]


def concatenate(chunks: Iterable[tuple[bytes, bytes]]) -> tuple[np.ndarray, np.ndarray]:
    """One key's chunks (in order) as two arrays."""
    parts = [unpack(steps, values) for steps, values in chunks]
    if not parts:
        return np.empty(0, dtype=int64_columns.INT64), np.empty(0, dtype=_VALUE_DTYPE)
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


def align(
    x_steps: np.ndarray, x_values: np.ndarray, y_steps: np.ndarray, y_values: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The points of y that have an x at the same step: (steps, x, y). A key has one value per step."""
    if _increasing(x_steps) and _increasing(y_steps):  # the usual case: steps only grow in a run log
        positions = np.searchsorted(x_steps, y_steps)
        inside = positions < len(x_steps)
        found = np.zeros(len(y_steps), dtype=bool)
        found[inside] = x_steps[positions[inside]] == y_steps[inside]
        return y_steps[found], x_values[positions[found]], y_values[found]
    common, x_index, y_index = np.intersect1d(x_steps, y_steps, assume_unique=True, return_indices=True)
    return common, x_values[x_index], y_values[y_index]


def _increasing(steps: np.ndarray) -> bool:
    return len(steps) < 2 or bool(np.all(steps[1:] > steps[:-1]))


def select_indices(x: np.ndarray, y: np.ndarray, samples: int) -> np.ndarray:
    """Indices of at most ``samples`` points, in x order, keeping each bucket's min and max.

    This is :func:`jupyter_tracker.downsample.min_max_buckets` expressed as indices, so the
    step of every kept point is known too.
    """
    if len(y) <= samples:
        order = np.argsort(x, kind="stable")
        return order
    if samples < 4:  # below the min/max budget: evenly spaced points, first and last included
        order = np.argsort(x, kind="stable")
        return order[np.linspace(0, len(y) - 1, samples).round().astype(np.int64)]
    from jupyter_tracker import downsample

    x_float = np.asarray(x, dtype=np.float64)
    y_float = np.asarray(y, dtype=np.float64)
    if len(x_float) > 1 and np.any(x_float[1:] < x_float[:-1]):
        order = np.argsort(x_float, kind="stable")
        return order[downsample.min_max_indices(y_float[order], samples)]
    return np.asarray(downsample.min_max_indices(y_float, samples), dtype=np.int64)
