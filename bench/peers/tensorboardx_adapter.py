"""tensorboardX: an event file under the temp dir, one ``add_scalar`` per metric of a row."""

from __future__ import annotations

from pathlib import Path
from typing import Any

STEP_ARG = True  # ``add_scalar(tag, value, global_step)`` needs the step


def load() -> Any:
    import tensorboardX

    return tensorboardX


def start(lib: Any, workdir: Path, project: str, name: str) -> Any:
    return lib.SummaryWriter(logdir=str(workdir / project / name))


def logger(handle: Any) -> Any:
    add_scalar = handle.add_scalar

    def log(row: dict[str, float], step: int) -> None:
        for key, value in row.items():
            add_scalar(key, value, step)

    return log


def finish(handle: Any) -> None:
    handle.close()  # flushes the event file (tensorboardX does not fsync)
