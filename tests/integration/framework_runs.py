"""Runs a training script as a user would, with jupyter_tracker as wandb, and reads its run back through the Api."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import jupyter_tracker

REPO = Path(__file__).resolve().parents[2]
#: a whole framework run (imports included) on a loaded two-core machine
SCRIPT_TIMEOUT = 240


def clean_environment(directory: Path, **extra: str) -> dict[str, str]:
    """The test process's environment without its WANDB_*/JUPYTER_TRACKER_* settings, offline, no downloads.

    One thread per process: tiny models gain nothing from more, and on a shared two-core machine
    torch's default thread pool makes a 100-step run twenty times slower.
    """
    env = {key: value for key, value in os.environ.items() if not key.startswith(("WANDB_", "JUPYTER_TRACKER_"))}
    env.update({"WANDB_DIR": str(directory), "WANDB_MODE": "offline", "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
                "HF_DATASETS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false", "PYTHONPATH": str(REPO),
                "CUDA_VISIBLE_DEVICES": "", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"})
    env.update(extra)
    return env


def run_script(directory: Path, source: str, command: list[str] | None = None, **environment: str) -> str:
    """Writes ``train.py`` in ``directory`` and runs it (``command`` before it, default ``python``); returns its output."""
    script = directory / "train.py"
    script.write_text(textwrap.dedent(source))
    argv = (command or [sys.executable]) + [str(script)]
    result = subprocess.run(argv, capture_output=True, text=True, cwd=directory, timeout=SCRIPT_TIMEOUT,
                            env=clean_environment(directory, **environment))
    assert result.returncode == 0, f"{argv} failed:\n{result.stdout[-3000:]}\n{result.stderr[-6000:]}"
    return result.stdout + result.stderr


def only_run(directory: Path, project: str) -> Any:
    """The one run the script recorded in ``project``, read through the public Api."""
    runs = list(jupyter_tracker.Api(overrides={"dir": str(directory)}).runs(project))
    assert len(runs) == 1, f"expected one run in {project!r}, found {len(runs)}"
    return runs[0]
