"""Sweep state in the local store: a SQLite file beside the run index, shared by agent processes.

Each thread keeps one connection (closing the last one checkpoints the WAL, which would cost every
operation an fsync); a write holds the database with ``BEGIN IMMEDIATE`` for its transaction, so
agent processes on one machine take turns safely (WAL: readers never wait).
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from jupyter_tracker.store.sqlite_wal import enter_wal_mode
from jupyter_tracker.sweeps.sql_store import (
    DEFAULT_LEASE_SECONDS,
    SCHEMA,
    SqlSweepStore,
    SweepNotFoundError,
)

__all__ = ["DEFAULT_LEASE_SECONDS", "SWEEPS_FILE_NAME", "LocalSweepStore", "SweepNotFoundError"]

SWEEPS_FILE_NAME = "sweeps.sqlite"


class LocalSweepStore(SqlSweepStore):
    """Sweeps of one store root (``./jupyter_tracker`` or ``$WANDB_DIR``), in ``sweeps.sqlite``.

    >>> store = LocalSweepStore(Path("/tmp/jt-doc"))  # doctest: +SKIP
    """

    def __init__(self, root: Path, clock: Callable[[], float] = time.time) -> None:
        super().__init__(clock)
        self.root = Path(root)
        self.path = self.root / SWEEPS_FILE_NAME
        self._schema_ready = False
        self._local = threading.local()

    def __repr__(self) -> str:
        return f"LocalSweepStore({str(self.root)!r})"

    def _connect(self) -> sqlite3.Connection:
        connection: sqlite3.Connection | None = getattr(self._local, "connection", None)
        if connection is not None:
            return connection
        self.root.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(self.path, timeout=60, isolation_level=None, check_same_thread=True)
        connection.execute("PRAGMA busy_timeout=60000")
        # WAL with NORMAL sync: a committed claim survives the process being killed (not a power cut)
        connection.execute("PRAGMA synchronous=NORMAL")
        if not self._schema_ready:
            enter_wal_mode(connection)
            connection.executescript(SCHEMA)
            self._schema_ready = True
        self._local.connection = connection
        return connection

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[Any]:
        """One write transaction: the lock is taken at BEGIN, so a read-then-write never races."""
        connection = self._connect()
        connection.execute("BEGIN IMMEDIATE")
        try:
            yield connection
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        connection.execute("COMMIT")

    @contextlib.contextmanager
    def _reading(self) -> Iterator[Any]:
        yield self._connect()
