"""Versions, aliases and lineage of artifacts in one SQLite file (the local store's and the server's).

One artifact name (a collection) has one type and versions ``v0, v1, ...``. Committing content
whose digest a version of that name already has adds no version: that version gets the new
aliases. An alias (``latest``, ``best``) points at one version of a name at a time, so giving it
to a version takes it from another; ``latest`` always moves to the version just committed.
Writes are ``BEGIN IMMEDIATE`` transactions, so processes sharing the file never number twice.
"""

from __future__ import annotations

import contextlib
import json
import math
import sqlite3
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from jupyter_tracker.artifacts.names import LATEST, check_alias, check_name, version_number

_SCHEMA = """
CREATE TABLE IF NOT EXISTS versions (
    entity TEXT NOT NULL, project TEXT NOT NULL, name TEXT NOT NULL, version INTEGER NOT NULL,
    type TEXT NOT NULL, digest TEXT NOT NULL, description TEXT, metadata TEXT NOT NULL,
    manifest TEXT NOT NULL, size INTEGER NOT NULL, files INTEGER NOT NULL, created REAL NOT NULL,
    logged_by TEXT,
    PRIMARY KEY (entity, project, name, version)
);
CREATE INDEX IF NOT EXISTS versions_digest ON versions (entity, project, name, digest);
CREATE TABLE IF NOT EXISTS aliases (
    entity TEXT NOT NULL, project TEXT NOT NULL, name TEXT NOT NULL, alias TEXT NOT NULL,
    version INTEGER NOT NULL,
    PRIMARY KEY (entity, project, name, alias)
);
CREATE TABLE IF NOT EXISTS entities (
    id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL UNIQUE
);
CREATE TABLE IF NOT EXISTS uses (
    entity TEXT NOT NULL, project TEXT NOT NULL, name TEXT NOT NULL, version INTEGER NOT NULL,
    run_id TEXT NOT NULL, used REAL NOT NULL,
    PRIMARY KEY (entity, project, name, version, run_id)
);
"""


_NON_FINITE = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


def encode_metadata(value: Any) -> Any:
    """Metadata as strict JSON: non-finite floats as ``"NaN"``/``"Infinity"``, other objects as text.

    >>> encode_metadata({"score": float("nan"), "dir": Path("ckpt")})
    {'score': 'NaN', 'dir': 'ckpt'}
    """
    if isinstance(value, Mapping):
        return {str(key): encode_metadata(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [encode_metadata(item) for item in value]
    if isinstance(value, bool) or value is None or isinstance(value, (int, str)):
        return value
    if isinstance(value, float):
        if math.isfinite(value):
            return float(value)
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if hasattr(value, "dtype") and hasattr(value, "tolist"):  # numpy or torch scalars and arrays
        return encode_metadata(value.tolist())
    return str(value)


def decode_metadata(value: Any) -> Any:
    """Undoes :func:`encode_metadata`'s non-finite floats."""
    if isinstance(value, str):
        return _NON_FINITE.get(value, value)
    if isinstance(value, list):
        return [decode_metadata(item) for item in value]
    if isinstance(value, dict):
        return {key: decode_metadata(item) for key, item in value.items()}
    return value


class ArtifactNotFoundError(LookupError):
    """No artifact version matches the name and alias asked for."""


class ArtifactTypeError(ValueError):
    """An artifact name is logged with a type other than the one its versions have."""


class ArtifactRegistry:
    """The catalogue of artifact versions under one store; ``entity`` is ``""`` for local runs.

    >>> registry = ArtifactRegistry(Path("jupyter_tracker/artifacts/registry.sqlite"))  # doctest: +SKIP
    >>> registry.resolve("", "mnist", "model", "best")["version"]  # doctest: +SKIP
    3
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as connection:
            connection.executescript(_SCHEMA)

    @contextlib.contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        connection = sqlite3.connect(self.path, timeout=30.0, isolation_level=None)
        try:
            connection.row_factory = sqlite3.Row
            yield connection
        finally:
            connection.close()

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._connect() as connection:
            connection.execute("BEGIN IMMEDIATE")
            try:
                yield connection
            except BaseException:
                connection.execute("ROLLBACK")
                raise
            connection.execute("COMMIT")

    # writing -----------------------------------------------------------------------------------
    def commit(
        self,
        entity: str,
        project: str,
        name: str,
        type_name: str,
        digest: str,
        manifest: Mapping[str, Any],
        description: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        aliases: Sequence[str] = (),
        logged_by: str | None = None,
    ) -> dict[str, Any]:
        """Adds a version (or finds the one with this digest), moves ``latest`` and ``aliases`` to it."""
        check_name(name)
        check_name(type_name, "artifact type")
        wanted = [LATEST, *(check_alias(alias) for alias in aliases if alias != LATEST)]
        size = sum(int(item.get("size") or 0) for item in manifest.values() if not item.get("ref"))
        with self._transaction() as connection:
            known = connection.execute(
                "SELECT type FROM versions WHERE entity=? AND project=? AND name=? LIMIT 1", (entity, project, name)
            ).fetchone()
            if known is not None and known["type"] != type_name:
                raise ArtifactTypeError(
                    f"artifact {name!r} has type {known['type']!r}; it cannot be logged as type {type_name!r}"
                )
            same = connection.execute(
                "SELECT version FROM versions WHERE entity=? AND project=? AND name=? AND digest=? ORDER BY version LIMIT 1",
                (entity, project, name, digest),
            ).fetchone()
            if same is not None:
                version = int(same["version"])
            else:
                last = connection.execute(
                    "SELECT MAX(version) AS last FROM versions WHERE entity=? AND project=? AND name=?",
                    (entity, project, name),
                ).fetchone()
                version = 0 if last["last"] is None else int(last["last"]) + 1
                connection.execute(
                    "INSERT INTO versions VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                    (entity, project, name, version, type_name, digest, description,
                     json.dumps(encode_metadata(dict(metadata or {}))), json.dumps(dict(manifest)), size,
                     len(manifest), time.time(), logged_by),
                )
            self._move_aliases(connection, entity, project, name, version, wanted)
        return self.resolve(entity, project, name, f"v{version}")

    def set_aliases(self, entity: str, project: str, name: str, version: int, aliases: Sequence[str]) -> dict[str, Any]:
        """Makes ``aliases`` exactly the aliases of ``v<version>`` (others lose these, it loses the rest)."""
        wanted = [check_alias(alias) if alias != LATEST else LATEST for alias in aliases]
        with self._transaction() as connection:
            self._row(connection, entity, project, name, f"v{version}")
            connection.execute(
                "DELETE FROM aliases WHERE entity=? AND project=? AND name=? AND version=?",
                (entity, project, name, version),
            )
            self._move_aliases(connection, entity, project, name, version, wanted)
        return self.resolve(entity, project, name, f"v{version}")

    @staticmethod
    def _move_aliases(connection: sqlite3.Connection, entity: str, project: str, name: str, version: int,
                      aliases: Sequence[str]) -> None:
        for alias in dict.fromkeys(aliases):
            connection.execute(
                "INSERT INTO aliases VALUES (?,?,?,?,?) ON CONFLICT (entity, project, name, alias) DO UPDATE SET version=excluded.version",
                (entity, project, name, alias, version),
            )

    def entity_key(self, entity: str) -> int:
        """A number for the entity (the server keeps each entity's files in a folder of that number)."""
        with self._transaction() as connection:
            connection.execute("INSERT INTO entities (name) VALUES (?) ON CONFLICT DO NOTHING", (entity,))
            return int(connection.execute("SELECT id FROM entities WHERE name=?", (entity,)).fetchone()["id"])

    def record_use(self, entity: str, project: str, name: str, version: int, run_id: str) -> None:
        with self._transaction() as connection:
            connection.execute(
                "INSERT INTO uses VALUES (?,?,?,?,?,?) ON CONFLICT DO NOTHING",
                (entity, project, name, version, run_id, time.time()),
            )

    # reading -----------------------------------------------------------------------------------
    def _row(self, connection: sqlite3.Connection, entity: str, project: str, name: str, selector: str) -> sqlite3.Row:
        number = version_number(selector)
        if selector.startswith("sha256:"):
            row = connection.execute(
                "SELECT * FROM versions WHERE entity=? AND project=? AND name=? AND digest=? ORDER BY version LIMIT 1",
                (entity, project, name, selector[len("sha256:"):]),
            ).fetchone()
        elif number is None:
            row = connection.execute(
                "SELECT v.* FROM versions v JOIN aliases a ON a.entity=v.entity AND a.project=v.project "
                "AND a.name=v.name AND a.version=v.version WHERE a.entity=? AND a.project=? AND a.name=? AND a.alias=?",
                (entity, project, name, selector),
            ).fetchone()
        else:
            row = connection.execute(
                "SELECT * FROM versions WHERE entity=? AND project=? AND name=? AND version=?",
                (entity, project, name, number),
            ).fetchone()
        if row is None:
            where = f"{entity}/{project}" if entity else project
            raise ArtifactNotFoundError(f"no artifact {name}:{selector} in project {where}")
        return row

    def _record(self, connection: sqlite3.Connection, row: sqlite3.Row) -> dict[str, Any]:
        aliases = [
            alias["alias"] for alias in connection.execute(
                "SELECT alias FROM aliases WHERE entity=? AND project=? AND name=? AND version=? ORDER BY alias",
                (row["entity"], row["project"], row["name"], row["version"]),
            )
        ]
        return {
            "entity": row["entity"] or None, "project": row["project"], "name": row["name"],
            "version": int(row["version"]), "type": row["type"], "digest": row["digest"],
            "description": row["description"], "metadata": json.loads(row["metadata"]),
            "manifest": json.loads(row["manifest"]), "size": int(row["size"]), "file_count": int(row["files"]),
            "created": float(row["created"]), "logged_by": row["logged_by"], "aliases": aliases,
        }

    def resolve(self, entity: str, project: str, name: str, selector: str = LATEST) -> dict[str, Any]:
        """The version ``v<N>``, the one an alias points at, or ``sha256:<digest>``; with its manifest."""
        with self._connect() as connection:
            return self._record(connection, self._row(connection, entity, project, name, selector))

    def versions(self, entity: str, project: str, name: str, type_name: str | None = None) -> list[dict[str, Any]]:
        """Every version of a name, oldest first (none when the type differs)."""
        with self._connect() as connection:
            rows = connection.execute(
                "SELECT * FROM versions WHERE entity=? AND project=? AND name=? ORDER BY version",
                (entity, project, name),
            ).fetchall()
            return [self._record(connection, row) for row in rows if type_name is None or row["type"] == type_name]

    def used_by(self, entity: str, project: str, name: str, version: int) -> list[str]:
        """Run ids that used the version, in the order they first used it."""
        with self._connect() as connection:
            return [
                row["run_id"] for row in connection.execute(
                    "SELECT run_id FROM uses WHERE entity=? AND project=? AND name=? AND version=? ORDER BY used",
                    (entity, project, name, version),
                )
            ]

    def logged_by_run(self, entity: str, project: str, run_id: str) -> list[dict[str, Any]]:
        with self._connect() as connection:
            rows = connection.execute(
                "SELECT * FROM versions WHERE entity=? AND project=? AND logged_by=? ORDER BY created",
                (entity, project, run_id),
            ).fetchall()
            return [self._record(connection, row) for row in rows]

    def used_by_run(self, entity: str, project: str, run_id: str) -> list[dict[str, Any]]:
        with self._connect() as connection:
            rows = connection.execute(
                "SELECT v.* FROM versions v JOIN uses u ON u.entity=v.entity AND u.project=v.project AND u.name=v.name "
                "AND u.version=v.version WHERE u.entity=? AND u.project=? AND u.run_id=? ORDER BY u.used",
                (entity, project, run_id),
            ).fetchall()
            return [self._record(connection, row) for row in rows]
