"""The run index's connections stay open between uses: what a user sees must not change."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import jupyter_tracker as jt
from jupyter_tracker.store import index_connections
from jupyter_tracker.store.index import RunIndex


def _open_files(directory: Path) -> int:
    return sum(1 for fd in os.listdir("/proc/self/fd")
               if os.path.realpath(f"/proc/self/fd/{fd}").startswith(str(directory)))


def test_a_finished_run_is_listed_by_another_process_at_once(store_root: Path, monkeypatch):
    monkeypatch.setenv("WANDB_MODE", "offline")
    run = jt.init(project="p", config={"lr": 0.1})
    run.log({"loss": 0.5})
    run.finish()
    script = ("import sys, jupyter_tracker as jt; runs = jt.Api().runs('p'); "
              "print(len(runs), runs[0].state, runs[0].summary['loss'], runs[0].config['lr'])")
    listed = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True)
    assert listed.stdout.split() == ["1", "finished", "0.5", "0.1"]


def test_an_index_deleted_while_open_is_made_again_and_holds_later_runs(tmp_path: Path):
    index = RunIndex(tmp_path)
    index.upsert({"id": "first", "project": "p", "state": "finished"})
    for leftover in tmp_path.glob("index.sqlite*"):
        leftover.unlink()
    index.upsert({"id": "second", "project": "p", "state": "running"})
    assert [row["id"] for row in RunIndex(tmp_path).runs("p")] == ["second"]
    assert index.path.is_file()


def test_many_store_roots_keep_few_files_open(tmp_path: Path):
    for number in range(3 * index_connections.MAX_OPEN):
        RunIndex(tmp_path / str(number)).upsert({"id": f"run{number}", "project": "p"})
    # each kept connection holds the database, its WAL and its shared-memory file
    assert _open_files(tmp_path) <= 3 * index_connections.MAX_OPEN
    for number in range(3 * index_connections.MAX_OPEN):
        assert [row["id"] for row in RunIndex(tmp_path / str(number)).runs("p")] == [f"run{number}"]
    index_connections.close_all()
    assert _open_files(tmp_path) == 0


def test_threads_updating_one_index_lose_no_row(tmp_path: Path):
    index = RunIndex(tmp_path)

    def update(thread: int) -> None:
        for number in range(50):
            index.upsert({"id": f"t{thread}-{number}", "project": "p", "state": "finished"})

    threads = [threading.Thread(target=update, args=(thread,)) for thread in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(index.runs("p")) == 200
