"""Full history rows kept as one packed block per applied batch, and the reading of them.

A batch of history records becomes one database row (one per :data:`BLOCK_ROWS` rows): the msgpack of each full row (with
``_step``, ``_timestamp`` and ``_runtime``) laid end to end, and beside it the rows' sequence
numbers, steps and end offsets as little-endian int64 arrays. Writing a batch is then one
insert whatever its size, and a reader decodes only the rows it picks (the offsets say where
each one is). Pure: the storage module does the reading and writing of the database rows.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import msgpack
import numpy as np

from jupyter_tracker.store import records

_INT64 = np.dtype("<i8")
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


def pack_existing(seqs: Sequence[int], steps: Sequence[int], packed_rows: Sequence[bytes]) -> dict[str, Any]:
    """A block from rows already packed one by one (the migration reuses the per-row table's bytes)."""
    ends = np.cumsum(np.fromiter(map(len, packed_rows), dtype=np.int64, count=len(packed_rows)), dtype=np.int64)
    step_array = np.asarray(steps, dtype=_INT64)
    return {
        "first_seq": int(seqs[0]),
        "last_seq": int(seqs[-1]),
        "min_step": int(step_array.min()),
        "max_step": int(step_array.max()),
        "rows": len(packed_rows),
        "seqs": np.asarray(seqs, dtype=_INT64).tobytes(),
        "steps": step_array.tobytes(),
        "ends": ends.astype(_INT64, copy=False).tobytes(),
        "block": b"".join(packed_rows),
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
        return cls(
            np.frombuffer(seqs, dtype=_INT64),
            np.frombuffer(steps, dtype=_INT64),
            np.frombuffer(ends, dtype=_INT64),
            bytes(data),
        )

    def row(self, index: int) -> dict[str, Any]:
        """The full row at ``index`` (a position in the block), decoded."""
        start = int(self.ends[index - 1]) if index else 0
        return unpack_row(self.data[start : int(self.ends[index])])


def unpack_row(data: bytes) -> dict[str, Any]:
    return msgpack.unpackb(data, raw=False, ext_hook=records._ext_hook, strict_map_key=False)  # type: ignore[no-any-return]
