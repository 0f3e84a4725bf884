"""What the two raw-write references share: a buffered file, a step counter, one fsync at the end.

A reference is not a library: it is the least work that stores each row durably, the physical
limit jupyter_tracker is compared with. ``raw_struct_adapter`` and ``raw_msgpack_adapter`` differ
only in how a row becomes bytes.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

#: both references count steps themselves, as jupyter_tracker.log does
STEP_ARG = False


class Handle:
    def __init__(self, path: Path) -> None:
        self.file = open(path, "wb")  # noqa: SIM115 - closed by finish()
        self.step = 0
        self.t0 = time.time()


def start(workdir: Path, name: str, suffix: str) -> Handle:
    return Handle(workdir / f"{name}{suffix}")


def logger(handle: Handle, encode: Callable[[tuple[int, float, float, dict[str, float]]], bytes]) -> Callable[[dict[str, float]], None]:
    """``log(row)``: stamps the row as ``(step, unix time, runtime, row)``, encodes that and appends it.

    ``encode`` should be a C function (a msgpack ``Packer.pack``): a Python one adds its own call
    to every row, and the reference is then no longer the least work.
    """
    write = handle.file.write
    clock = time.time
    t0 = handle.t0

    def log(row: dict[str, float]) -> None:
        now = clock()
        write(encode((handle.step, now, now - t0, row)))
        handle.step += 1

    return log


def finish(handle: Handle) -> None:
    handle.file.flush()
    os.fsync(handle.file.fileno())
    handle.file.close()
