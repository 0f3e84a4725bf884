"""wandb in offline mode (``WANDB_MODE=offline``, ``WANDB_SILENT=true``): writes a local .wandb file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

STEP_ARG = False  # ``wandb.log(row)`` counts steps itself


def load() -> Any:
    import wandb

    return wandb


def start(lib: Any, workdir: Path, project: str, name: str) -> Any:
    return lib.init(project=project, name=name, dir=str(workdir), mode="offline")


def logger(handle: Any) -> Any:
    import wandb

    return wandb.log


def finish(handle: Any) -> None:
    handle.finish()  # waits until the service has written every record of the run
