"""Reference, not a library: the least work that stores a self-describing row durably.

One thread packs each row as msgpack ``[step, unix time, runtime, {name: value}]`` (what a
jupyter_tracker history record holds) and appends it to a buffered file; ``finish`` flushes and
fsyncs once. Nothing is checked, counted or summarised.
"""

from __future__ import annotations

import os
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
    import msgpack

    return msgpack


def start(lib: Any, workdir: Path, project: str, name: str) -> Handle:
    return Handle(workdir / f"{name}.msgpack")


def logger(handle: Handle) -> Any:
    import msgpack

    write = handle.file.write
    pack = msgpack.Packer(use_bin_type=True).pack
    clock = time.time
    t0 = handle.t0

    def log(row: dict[str, float]) -> None:
        now = clock()
        write(pack((handle.step, now, now - t0, row)))
        handle.step += 1

    return log


def finish(handle: Handle) -> None:
    handle.file.flush()
    os.fsync(handle.file.fileno())
    handle.file.close()
