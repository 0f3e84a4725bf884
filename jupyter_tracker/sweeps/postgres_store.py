"""Sweep state in a tracking server's PostgreSQL database, so several server processes share it.

Each thread keeps one connection (the server answers from a thread pool); a transaction locks
the sweep's row ``FOR UPDATE`` before it reads the trials, so claims on one sweep take turns
while other sweeps go on in parallel.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from jupyter_tracker.sweeps.sql_store import SqlSweepStore, schema_statements


class _Connection:
    """psycopg's connection with the ``?`` placeholders the shared statements use."""

    def __init__(self, connection: Any) -> None:
        self.raw = connection

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        return self.raw.execute(sql.replace("?", "%s"), tuple(params))


class PostgresSweepStore(SqlSweepStore):
    """Sweeps in the PostgreSQL database at ``url`` (``postgresql://`` or SQLAlchemy's ``postgresql+psycopg://``)."""

    def __init__(self, url: str, clock: Callable[[], float] = time.time) -> None:
        super().__init__(clock)
        self._url = url.replace("postgresql+psycopg://", "postgresql://", 1)
        self.path = "the server's database"
        self._local = threading.local()
        self._schema_lock = threading.Lock()
        self._schema_ready = False

    def __repr__(self) -> str:
        return "PostgresSweepStore(<database>)"

    def _connection(self) -> _Connection:
        import psycopg

        connection = getattr(self._local, "connection", None)
        if connection is None or connection.raw.closed:
            connection = _Connection(psycopg.connect(self._url))
            self._local.connection = connection
        if not self._schema_ready:
            self._create_schema(connection)
        return connection

    def _create_schema(self, connection: _Connection) -> None:
        import psycopg

        with self._schema_lock:
            if self._schema_ready:
                return
            for attempt in range(3):
                try:
                    # an advisory lock: server processes starting together create the tables once
                    connection.execute("SELECT pg_advisory_xact_lock(727311)")
                    for statement in schema_statements():
                        connection.execute(statement)
                    connection.raw.commit()
                    break
                except psycopg.errors.UniqueViolation:
                    connection.raw.rollback()
                    if attempt == 2:
                        raise
            self._schema_ready = True

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[Any]:
        connection = self._connection()
        try:
            yield connection
        except BaseException:
            connection.raw.rollback()
            raise
        connection.raw.commit()

    def _reading(self) -> contextlib.AbstractContextManager[Any]:
        return self._transaction()

    def _lock_sweep(self, connection: Any, sweep_id: str) -> None:
        connection.execute("SELECT id FROM sweeps WHERE id = ? FOR UPDATE", (sweep_id,))
