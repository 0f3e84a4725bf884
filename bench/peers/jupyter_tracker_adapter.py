"""jupyter_tracker in offline (local store) mode, used exactly as a wandb script uses it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

STEP_ARG = False  # ``jupyter_tracker.log(row)`` counts steps itself, as wandb does


def load() -> Any:
    import jupyter_tracker

    return jupyter_tracker


def start(lib: Any, workdir: Path, project: str, name: str) -> Any:
    return lib.init(project=project, name=name, dir=str(workdir), mode="offline")


def logger(handle: Any) -> Any:
    import jupyter_tracker

    return jupyter_tracker.log  # the module-level call of ``import jupyter_tracker as wandb``


def finish(handle: Any) -> None:
    handle.finish()  # drains the writer thread and fsyncs the run log
