"""A small SQLite index of the runs under one store root, so listing 10,000 runs stays fast.

The index is a cache: every row can be rebuilt from the run logs (``rebuild``). Its connection
stays open between uses (``index_connections``).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import socket
import sqlite3
import time
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from jupyter_tracker.store.index_connections import forget, kept_connection
from jupyter_tracker.store.run_dir import INDEX_NAME, LISTING_NAME, iter_run_dirs

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY,
    project TEXT NOT NULL,
    entity TEXT,
    name TEXT,
    state TEXT,
    run_group TEXT,
    job_type TEXT,
    tags TEXT,
    notes TEXT,
    created REAL,
    updated REAL,
    runtime REAL,
    exit_code INTEGER,
    dir TEXT,
    config TEXT,
    summary TEXT,
    host TEXT,
    pid INTEGER
);
CREATE INDEX IF NOT EXISTS runs_project ON runs(project, created);
"""
_COLUMNS = (
    "id", "project", "entity", "name", "state", "run_group", "job_type", "tags", "notes",
    "created", "updated", "runtime", "exit_code", "dir", "config", "summary", "host", "pid",
)
_JSON_COLUMNS = ("tags", "config", "summary")


def _to_json(value: Any) -> str:
    return json.dumps(_jsonable(value), allow_nan=True)


def _jsonable(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return repr(value)


def _pid_alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class RunIndexError(RuntimeError):
    """The run index could not be read or written (a full disk, a read-only or corrupt file)."""


class RunIndex:
    """Rows of run metadata keyed by run id.

    >>> index = RunIndex(Path("/tmp/jt-doc"))  # doctest: +SKIP
    >>> index.runs("mnist")  # doctest: +SKIP
    []
    """

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.path = self.root / INDEX_NAME
        self.listing_path = self.root / LISTING_NAME

    @contextlib.contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        """One transaction on the index; SQLite's and the file system's errors become :class:`RunIndexError`."""
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            connection, lock = kept_connection(self.path, _SCHEMA)
            with lock, connection:
                yield connection
        except (sqlite3.Error, OSError) as error:
            forget(self.path)
            raise RunIndexError(f"could not use the run index {self.path} ({type(error).__name__}: {error}); "
                                "the run logs are intact (is the disk full?)") from error

    def upsert(self, values: Mapping[str, Any]) -> None:
        row = {key: values.get(key) for key in _COLUMNS}
        for key in _JSON_COLUMNS:
            if row[key] is not None:
                row[key] = _to_json(row[key])
        if isinstance(row["runtime"], float) and not math.isfinite(row["runtime"]):
            row["runtime"] = None
        row["updated"] = time.time()
        row["host"] = row["host"] or socket.gethostname()
        names = ", ".join(_COLUMNS)
        marks = ", ".join(f":{key}" for key in _COLUMNS)
        updates = ", ".join(f"{key}=COALESCE(excluded.{key}, {key})" for key in _COLUMNS if key != "id")
        with self._connect() as connection:
            connection.execute(
                f"INSERT INTO runs ({names}) VALUES ({marks}) ON CONFLICT(id) DO UPDATE SET {updates}", row
            )

    def count(self, project: str) -> int:
        with self._connect() as connection:
            (total,) = connection.execute("SELECT COUNT(*) FROM runs WHERE project = ?", (project,)).fetchone()
        return int(total)

    def _decode(self, row: tuple[Any, ...]) -> dict[str, Any]:
        values = dict(zip(_COLUMNS, row, strict=True))
        for key in _JSON_COLUMNS:
            values[key] = json.loads(values[key]) if values[key] else ({} if key != "tags" else [])
        if values["state"] == "running" and values["host"] == socket.gethostname() and not _pid_alive(values["pid"]):
            values["state"] = "crashed"
        values["group"] = values.pop("run_group")
        return values

    def runs(self, project: str | None = None) -> list[dict[str, Any]]:
        """Rows of one project (or all projects), oldest first."""
        query = f"SELECT {', '.join(_COLUMNS)} FROM runs"
        arguments: tuple[Any, ...] = ()
        if project is not None:
            query += " WHERE project = ?"
            arguments = (project,)
        with self._connect() as connection:
            rows = connection.execute(query + " ORDER BY created", arguments).fetchall()
        return [self._decode(row) for row in rows]

    def get(self, run_id: str) -> dict[str, Any] | None:
        with self._connect() as connection:
            row = connection.execute(
                f"SELECT {', '.join(_COLUMNS)} FROM runs WHERE id = ?", (run_id,)
            ).fetchone()
        return self._decode(row) if row else None

    def known_ids(self) -> set[str]:
        with self._connect() as connection:
            ids = {row[0] for row in connection.execute("SELECT id FROM runs")}
        return ids

    def indexed_listing(self) -> str | None:
        """The :func:`listing_signature` of the last directory listing whose every run the index held."""
        try:
            return self.listing_path.read_text(encoding="ascii").strip() or None
        except (OSError, UnicodeDecodeError):
            return None

    def remember_listing(self, signature: str) -> None:
        """Records that every run directory of the listing with this signature is indexed.

        Kept in a file beside the index, not in it: a reader remembering a listing leaves the
        index file as it was, so what is cached on the index's state (report run sets, runs
        tables) stays valid. Only saves work later: a store that cannot be written keeps no
        listing, and says nothing.
        """
        partial = self.listing_path.with_name(f"{self.listing_path.name}.{os.getpid()}.tmp")
        try:
            partial.write_text(signature, encoding="ascii")
            os.replace(partial, self.listing_path)
        except OSError:
            with contextlib.suppress(OSError):
                partial.unlink()

    def rebuild(self, run_dirs: Iterable[Path] | None = None) -> int:
        """Adds runs whose directories exist but are not indexed (copied in, or an index lost)."""
        from jupyter_tracker.store.reader import read_run

        known = self.known_ids()
        added = 0
        for run_dir in run_dirs if run_dirs is not None else iter_run_dirs(self.root):
            run_id = run_dir.name.rsplit("-", 1)[-1]
            if run_id in known:
                continue
            state, _ = read_run(run_dir, warn=False)
            self.upsert(index_values(state.metadata, state.state, state.config, state.summary,
                                     state.runtime, state.exit_code, run_dir))
            added += 1
        return added


def listing_signature(names: list[str]) -> str:
    """A digest of a store root's run directory names (sorted in place): equal digests, equal sets of names.

    Lets a fresh ``Api()`` tell from one ``listdir`` that no run directory came or went since the
    index last held them all, without reading every id from the index (10,000 runs: most of the
    time of a first query). A root's modification time cannot say it: SQLite's WAL files next to
    the index come and go with every connection.
    """
    names.sort()
    joined = "\0".join(names).encode("utf-8", "surrogateescape")
    return hashlib.blake2b(joined, digest_size=16).hexdigest()


def index_values(
    metadata: Mapping[str, Any],
    state: str,
    config: Mapping[str, Any],
    summary: Mapping[str, Any],
    runtime: float | None,
    exit_code: int | None,
    run_dir: Path,
) -> dict[str, Any]:
    """One index row from a run's metadata and current values."""
    return {
        "id": metadata.get("id"),
        "project": metadata.get("project"),
        "entity": metadata.get("entity"),
        "name": metadata.get("name"),
        "state": state,
        "run_group": metadata.get("group"),
        "job_type": metadata.get("job_type"),
        "tags": list(metadata.get("tags") or []),
        "notes": metadata.get("notes"),
        "created": metadata.get("created"),
        "runtime": runtime,
        "exit_code": exit_code,
        "dir": str(run_dir),
        "config": dict(config),
        "summary": dict(summary),
        "host": metadata.get("host"),
        "pid": metadata.get("pid"),
    }
