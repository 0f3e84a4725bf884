"""Fixtures shared by every test: an isolated store root and a run that never outlives its test."""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture
def store_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh store: ``WANDB_DIR`` points at ``tmp_path``, every other ``WANDB_*``/``JUPYTER_TRACKER_*``
    variable is unset, the working directory is ``tmp_path`` (so no directory settings file leaks in)
    and the user config dir is a temporary one. Returns the store root (``tmp_path / "jupyter_tracker"``).
    """
    for name in list(os.environ):
        if name.startswith(("WANDB_", "JUPYTER_TRACKER_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("WANDB_DIR", str(tmp_path))
    monkeypatch.setenv("JUPYTER_TRACKER_HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    return tmp_path / "jupyter_tracker"


@pytest.fixture(autouse=True)
def _finish_current_run() -> Iterator[None]:
    """Finishes whatever run a test left open, so no run, writer or output capture leaks into the next."""
    yield
    from jupyter_tracker import sdk

    if sdk.current_run() is not None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            sdk.finish(quiet=True)
