"""trackio in local mode: ``TRACKIO_DIR`` under the temp dir, no Space, no dashboard."""

from __future__ import annotations

from pathlib import Path
from typing import Any

STEP_ARG = False  # ``trackio.log(row)`` counts steps itself


def load() -> Any:
    import trackio

    return trackio


def start(lib: Any, workdir: Path, project: str, name: str) -> Any:
    # TRACKIO_DIR is set by the parent before the import (trackio reads it at import time)
    return lib.init(project=project, name=name, embed=False)


def logger(handle: Any) -> Any:
    import trackio

    return trackio.log


def finish(handle: Any) -> None:
    import trackio

    trackio.finish()  # flushes the queued metrics into its SQLite database
