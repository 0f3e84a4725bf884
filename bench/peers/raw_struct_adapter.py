"""Reference, not a library: the least work that stores a row durably with a fixed layout.

One thread packs each row (step, unix time, runtime, then the values as doubles) with ``struct``
and appends it to a buffered file; ``finish`` flushes and fsyncs once. No names are stored (the
layout is fixed by the first row), nothing is checked: the physical limit the tracker is compared with.
"""

from __future__ import annotations

import os
import struct
import time
from pathlib import Path
from typing import Any

STEP_ARG = False  # counts steps itself, as jupyter_tracker.log does


class Handle:
    def __init__(self, path: Path) -> None:
        self.file = open(path, "wb")  # noqa: SIM115 - closed by finish()
        self.step = 0
        self.t0 = time.time()


def load() -> Any:
    return struct


def start(lib: Any, workdir: Path, project: str, name: str) -> Handle:
    return Handle(workdir / f"{name}.bin")


def logger(handle: Handle) -> Any:
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


def finish(handle: Handle) -> None:
    handle.file.flush()
    os.fsync(handle.file.fileno())
    handle.file.close()
