"""mlflow with a local store under the temp dir: SQLite (mlflow 3's default backend) unless
``BENCH_MLFLOW_STORE=file`` asks for the older file store (``./mlruns`` layout)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

STEP_ARG = True  # ``mlflow.log_metrics(row, step=step)``: mlflow needs the step from the caller


def load() -> Any:
    import mlflow

    return mlflow


def start(lib: Any, workdir: Path, project: str, name: str) -> Any:
    if os.environ.get("BENCH_MLFLOW_STORE") == "file":
        lib.set_tracking_uri((workdir / "mlruns").as_uri())
    else:
        lib.set_tracking_uri(f"sqlite:///{workdir / 'mlflow.db'}")
    lib.set_experiment(project)
    return lib.start_run(run_name=name)


def logger(handle: Any) -> Any:
    import mlflow

    log_metrics = mlflow.log_metrics

    def log(row: dict[str, float], step: int) -> None:
        log_metrics(row, step=step)

    return log


def finish(handle: Any) -> None:
    import mlflow

    mlflow.end_run()
