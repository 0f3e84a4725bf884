"""Putting a SQLite file in WAL mode while other connections open it at the same moment.

Switching the journal mode takes an exclusive lock, and SQLite answers "database is locked" at
once, without calling the busy handler, when another connection holds that lock. Servers that
started together on a new database met exactly that; ranks or sweep agents opening one new index
could too. The mode is kept in the file: once any connection has switched it, the others find it
set and take no lock, so waiting a little and looking again is enough.
"""

from __future__ import annotations

import sqlite3
import time
from typing import Any

#: how long a connection waits for others to finish switching the file (SQLite's busy timeout here too)
SWITCH_SECONDS = 30.0


def enter_wal_mode(cursor: Any, within: float = SWITCH_SECONDS) -> None:
    """Sets WAL mode on a sqlite3 connection or cursor, retrying "locked" for up to ``within`` seconds."""
    deadline = time.monotonic() + within
    pause = 0.005
    while True:
        try:
            if cursor.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() >= deadline:
                raise
            time.sleep(pause)
            pause = min(pause * 2, 0.1)
