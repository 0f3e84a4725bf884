"""Reference, not a library: the least work that stores a row durably with a fixed layout.

One thread packs each row (step, unix time, runtime, then the values as doubles) with ``struct``
and appends it to a buffered file; ``finish`` flushes and fsyncs once (``raw_rows``). No names are
stored (the layout is fixed by the row's length), nothing is checked.
"""

from __future__ import annotations

import struct
import time
from pathlib import Path
from typing import Any

import peers.raw_rows as raw_rows
from peers.raw_rows import STEP_ARG, Handle, finish  # noqa: F401 - the adapter's interface


def load() -> Any:
    return struct


def start(lib: Any, workdir: Path, project: str, name: str) -> Handle:
    return raw_rows.start(workdir, name, ".bin")


def logger(handle: Handle) -> Any:
    # its own loop body rather than raw_rows.logger: struct takes the values as arguments, and a
    # Python encode function between them would add a call to every row
    write = handle.file.write
    clock = time.time
    t0 = handle.t0
    packers: dict[int, Any] = {}

    def log(row: dict[str, float]) -> None:
        pack = packers.get(len(row))
        if pack is None:
            pack = packers[len(row)] = struct.Struct(f"<qdd{len(row)}d").pack
        now = clock()
        write(pack(handle.step, now, now - t0, *row.values()))
        handle.step += 1

    return log
