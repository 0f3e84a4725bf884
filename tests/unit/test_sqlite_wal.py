"""Several processes opening one new SQLite file at once (servers, ranks, sweep agents) all get it in WAL mode."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

import pytest

from jupyter_tracker.store.sqlite_wal import enter_wal_mode
from tests.helpers import errors_when_run_together


def _held_exclusively(path: Path) -> sqlite3.Connection:
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("CREATE TABLE IF NOT EXISTS t (x)")
    holder.execute("BEGIN EXCLUSIVE")
    return holder


def test_the_switch_waits_for_a_connection_that_holds_the_file(tmp_path: Path):
    path = tmp_path / "db.sqlite"
    holder = _held_exclusively(path)
    released = threading.Timer(0.3, lambda: holder.execute("COMMIT"))
    released.start()
    # no busy timeout: SQLite's own answer while the lock is held is "database is locked", at once
    connection = sqlite3.connect(path, timeout=0, check_same_thread=False)
    started = time.monotonic()
    enter_wal_mode(connection)
    released.join()
    assert time.monotonic() - started >= 0.2
    assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    connection.close()
    holder.close()


def test_a_lock_held_past_the_wait_is_reported_not_ignored(tmp_path: Path):
    path = tmp_path / "db.sqlite"
    holder = _held_exclusively(path)
    connection = sqlite3.connect(path, timeout=0)
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        enter_wal_mode(connection, within=0.1)
    holder.execute("COMMIT")
    holder.close()
    connection.close()


def test_a_file_already_in_wal_mode_is_left_as_it_is(tmp_path: Path):
    path = tmp_path / "db.sqlite"
    first = sqlite3.connect(path)
    enter_wal_mode(first)
    second = sqlite3.connect(path, timeout=0)
    second.execute("BEGIN IMMEDIATE")  # a writer: a second switch would need the file to itself
    third = sqlite3.connect(path, timeout=0)
    enter_wal_mode(third)
    assert third.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    second.rollback()
    for connection in (first, second, third):
        connection.close()


def test_many_connections_switching_a_new_file_together_all_succeed(tmp_path: Path):
    for round_ in range(100):
        path = tmp_path / f"db{round_}.sqlite"

        def open_one() -> None:
            connection = sqlite3.connect(path, timeout=30)
            enter_wal_mode(connection)
            connection.execute("CREATE TABLE IF NOT EXISTS t (x)")
            connection.close()

        assert errors_when_run_together(open_one, 4) == []
