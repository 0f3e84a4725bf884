"""The README's first command: `jupyter-tracker demo` trains, syncs to an embedded server, reads back."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration


def _run_demo(tmp_path: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    environment = {key: value for key, value in os.environ.items() if not key.startswith("WANDB_")}
    environment["JUPYTER_TRACKER_HOME"] = str(tmp_path / "home")
    return subprocess.run(
        [sys.executable, "-c", "from jupyter_tracker.cli import main; main()", "demo", "--epochs", "2", *arguments],
        cwd=tmp_path, env=environment, capture_output=True, text=True, timeout=240,
    )


def test_demo_syncs_to_the_embedded_sqlite_server_and_reads_the_run_back(tmp_path: Path) -> None:
    result = _run_demo(tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Tracking server (SQLite" in result.stdout
    assert "is finished." in result.stdout
    assert "read back from the tracking server" in result.stdout
    run_dirs = list((tmp_path / "jupyter_tracker").glob("run-*"))
    assert len(run_dirs) == 1 and (run_dirs[0] / "run.jtlog").stat().st_size > 0
    key_shape = re.compile(rb"jt_[0-9a-f]{8,}_[A-Za-z0-9-]{20,}")
    for path in (tmp_path / "home" / "embedded" / "server.log", *run_dirs[0].rglob("*")):
        if path.is_file():
            assert not key_shape.search(path.read_bytes()), f"an API key was written to {path}"
    assert not key_shape.search(result.stdout.encode() + result.stderr.encode())


def test_demo_offline_keeps_the_run_local(tmp_path: Path) -> None:
    result = _run_demo(tmp_path, "--offline")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Tracking server" not in result.stdout
    assert "read back from the local run store" in result.stdout
    assert not (tmp_path / "home" / "embedded").exists()
