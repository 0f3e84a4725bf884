"""Full history rows kept as one packed block per applied batch, and the reading of them.

A batch of history records becomes one database row (one per :data:`BLOCK_ROWS` rows): the
msgpack of each row laid end to end, and beside it the rows' sequence numbers, steps and end
offsets as int64 columns (:mod:`int64_columns`; a batch's are usually evenly spaced, 25 bytes
each). Writing a batch is then one insert whatever its size, and a reader decodes only the rows
it picks (the offsets say where each one is).

A row's bytes are either the full row (a map with ``_step``, ``_timestamp`` and ``_runtime``) or
the history record exactly as the client sent it (``["h", step, time, runtime, row]``, an
array): a batch that arrives as a payload keeps its records' bytes (:func:`record_spans`), so
applying it copies bytes instead of building and encoding every row again. :meth:`Block.row`
reads both. Pure: the storage module does the reading and writing of the database rows.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import msgpack
import numpy as np

from jupyter_tracker.server import int64_columns
from jupyter_tracker.store import records

#: the most rows in one block: a large batch becomes several, so reading a page of rows decodes little
BLOCK_ROWS = 2048


def pack_block(
    pack: Callable[[Any], bytes],
    seqs: Sequence[int],
    steps: Sequence[int],
    times: Sequence[Any],
    runtimes: Sequence[Any],
    rows: Sequence[dict[str, Any]],
) -> dict[str, Any]:
    """The column values of one block (without ``run_pk``) for history records in sequence order."""
    parts = []
    for step, when, runtime, logged in zip(steps, times, runtimes, rows, strict=True):
        full = dict(logged)
        full["_step"] = step
        full["_timestamp"] = when
        full["_runtime"] = runtime
        parts.append(pack(full))
    return pack_existing(seqs, steps, parts)


def record_spans(payload: bytes, count: int) -> np.ndarray | None:
    """Where each record of a ``[first_seq, [record, ...]]`` payload begins, and where the last one ends.

    ``count + 1`` offsets into ``payload``; None when the payload is not shaped so (the caller
    then encodes the rows itself). Skipping a record reads its bytes without building objects.
    """
    try:
        unpacker = msgpack.Unpacker(max_buffer_size=len(payload) + 1)
        unpacker.feed(payload)
        if unpacker.read_array_header() != 2:
            return None
        unpacker.skip()
        if unpacker.read_array_header() != count:
            return None
        skip, tell = unpacker.skip, unpacker.tell
        offsets = [tell()]
        for _ in range(count):
            skip()
            offsets.append(tell())
    except (ValueError, msgpack.UnpackException):  # out of data, or not an array where one belongs
        return None
    if offsets[-1] != len(payload):
        return None
    return np.asarray(offsets, dtype=int64_columns.INT64)


def block_of_records(
    seqs: Sequence[int], steps: Sequence[int], payload: bytes, starts: np.ndarray, stops: np.ndarray
) -> dict[str, Any]:
    """A block (without ``run_pk``) whose rows are the records at ``payload[starts[i]:stops[i]]``, as sent.

    Records that follow one another in the payload (a batch of history only) are one slice.
    """
    if len(starts) > 1 and np.array_equal(starts[1:], stops[:-1]):
        data = payload[int(starts[0]) : int(stops[-1])]
        ends = stops - starts[0]
    else:
        data = b"".join(payload[int(start) : int(stop)] for start, stop in zip(starts, stops, strict=True))
        ends = np.cumsum(stops - starts, dtype=np.int64)
    return _block_record(seqs, steps, ends, data)


def pack_existing(seqs: Sequence[int], steps: Sequence[int], packed_rows: Sequence[bytes]) -> dict[str, Any]:
    """A block from rows already packed one by one (the migration reuses the per-row table's bytes)."""
    ends = np.cumsum(np.fromiter(map(len, packed_rows), dtype=np.int64, count=len(packed_rows)), dtype=np.int64)
    return _block_record(seqs, steps, ends, b"".join(packed_rows))


def _block_record(seqs: Sequence[int], steps: Sequence[int], ends: np.ndarray, data: bytes) -> dict[str, Any]:
    """The stored form of one block: its seq and step ranges, row count, offsets and packed rows."""
    step_array = np.asarray(steps, dtype=int64_columns.INT64)
    return {
        "first_seq": int(seqs[0]),
        "last_seq": int(seqs[-1]),
        "min_step": int(step_array.min()),
        "max_step": int(step_array.max()),
        "rows": len(ends),
        "seqs": int64_columns.pack(seqs),
        "steps": int64_columns.pack(step_array),
        "ends": int64_columns.pack(ends),
        "block": data,
    }


@dataclass(frozen=True)
class Block:
    """One stored block: its rows' sequence numbers, steps and where each row's bytes end."""

    seqs: np.ndarray
    steps: np.ndarray
    ends: np.ndarray
    data: bytes

    @classmethod
    def from_columns(cls, seqs: bytes, steps: bytes, ends: bytes, data: bytes) -> Block:
        return cls(int64_columns.unpack(seqs), int64_columns.unpack(steps), int64_columns.unpack(ends), bytes(data))

    def row(self, index: int) -> dict[str, Any]:
        """The full row at ``index`` (a position in the block), decoded."""
        start = int(self.ends[index - 1]) if index else 0
        found = _unpack(self.data[start : int(self.ends[index])])
        if type(found) is list:  # a history record as sent: [h, step, time, runtime, row]
            full = dict(found[4])
            full["_step"] = found[1]
            full["_timestamp"] = found[2]
            full["_runtime"] = found[3]
            return full
        return found  # type: ignore[no-any-return]


def _unpack(data: bytes) -> Any:
    return msgpack.unpackb(data, raw=False, ext_hook=records._ext_hook, strict_map_key=False)


def unpack_row(data: bytes) -> dict[str, Any]:
    return _unpack(data)  # type: ignore[no-any-return]
