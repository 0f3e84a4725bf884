"""A run on a full disk (a real 5 MB tmpfs): nothing is lost silently, freed space is used, finish says what is missing."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

import jupyter_tracker as jt
from jupyter_tracker.api.backend import ApiError
from jupyter_tracker.store import index_connections
from jupyter_tracker.store.reader import read_run
from jupyter_tracker.store.writer import UnwrittenRecordsWarning
from tests.extras import SYSTEM, skip_or_fail
from tests.helpers import wait_until


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 5 MB tmpfs mounted for the test (needs root or CAP_SYS_ADMIN; skipped otherwise, failed under JT_REQUIRE_SYSTEM=1)."""
    mount_point = tmp_path / "small"
    mount_point.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=5m", "tmpfs", str(mount_point)],
                             capture_output=True, text=True, check=False)
    if mounted.returncode != 0:
        skip_or_fail(f"cannot mount a 5 MB tmpfs here ({mounted.stderr.strip() or 'mount failed'}); "
                     "the writer's unit tests cover full-disk handling with an injected file", SYSTEM)
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


@pytest.fixture
def on_small_disk(small_disk: Path, store_root: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("WANDB_DIR", str(small_disk))
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_CONSOLE", "off")
    monkeypatch.setenv("WANDB_DISABLE_CODE", "true")
    monkeypatch.setenv("JUPYTER_TRACKER_DISABLE_SYSTEM_METRICS", "true")
    return small_disk


def test_a_full_disk_is_reported_freed_space_is_used_and_finish_counts_what_is_missing(on_small_disk):
    filler = on_small_disk / "filler"
    filler.write_bytes(b"\0" * (4 << 20))  # about 1 MB left for the run
    spare = on_small_disk / "spare"
    spare.write_bytes(b"\0" * (256 << 10))  # freed after finish, so the index can be read back
    run = jt.init(project="p")
    log_path = Path(run.dir) / "run.jtlog"
    for step in range(80_000):  # ~10 MB of records: far more than fits
        run.log({f"metric_{index}": step * 1e-6 + index for index in range(10)})
    assert run.flush(timeout=2) is False  # the disk refuses
    size_when_full = log_path.stat().st_size
    filler.unlink()  # 4 MB freed: less than the backlog, which is written frame by frame into it
    wait_until(lambda: log_path.stat().st_size > size_when_full + (3 << 20), timeout=20)
    with pytest.warns(UnwrittenRecordsWarning, match=r"records could not be written"):
        run.finish()
    assert any(isinstance(warning, UnwrittenRecordsWarning) for warning in run.warnings)
    assert run.state == "crashed"
    state, _ = read_run(Path(run.dir), warn=False)
    assert state.state != "finished" and 0 < state.rows < 80_000  # the log has no finish record
    spare.unlink()
    listed = {found.id: found.state for found in jt.Api().runs("p")}
    assert listed.get(run.id, "running") != "finished"  # the index does not say finished either


def test_api_on_a_full_disk_raises_the_libraries_own_error(on_small_disk):
    """Issue 9 item 18: ``Api()`` leaked ``sqlite3.OperationalError`` when the index could not be written."""
    run = jt.init(project="p")
    run.log({"a": 1.0})
    run.finish()
    index_connections.close_all()  # as in a new process: no open connection keeps the deleted index's space
    for leftover in (on_small_disk / "jupyter_tracker").glob("index.sqlite*"):
        leftover.unlink()  # the index is a cache: Api rebuilds it, which needs a little space
    _fill(on_small_disk / "filler")
    with pytest.raises(ApiError, match="run index") as caught:
        len(jt.Api().runs("p"))
    assert "sqlite3" not in type(caught.value).__module__


def _fill(path: Path) -> None:
    """Writes until the file system is full."""
    with open(path, "wb", buffering=0) as handle:
        chunk = b"\0" * 65536
        try:
            while True:
                handle.write(chunk)
        except OSError:
            pass
