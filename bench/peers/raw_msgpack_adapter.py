"""Reference, not a library: the least work that stores a self-describing row durably.

One thread packs each row as msgpack ``[step, unix time, runtime, {name: value}]`` (what a
jupyter_tracker history record holds) and appends it to a buffered file; ``finish`` flushes and
fsyncs once (``raw_rows``). Nothing is checked, counted or summarised.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import peers.raw_rows as raw_rows
from peers.raw_rows import STEP_ARG, Handle, finish  # noqa: F401 - the adapter's interface


def load() -> Any:
    import msgpack

    return msgpack


def start(lib: Any, workdir: Path, project: str, name: str) -> Handle:
    return raw_rows.start(workdir, name, ".msgpack")


def logger(handle: Handle) -> Any:
    import msgpack

    pack = msgpack.Packer(use_bin_type=True).pack
    return raw_rows.logger(handle, pack)
