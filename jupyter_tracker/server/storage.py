"""The server's storage: one interface, two backends (SQLite and PostgreSQL) on SQLAlchemy Core.

Everything the HTTP layer needs goes through :class:`Storage`: entities (users and teams),
memberships, API keys, projects, runs, the records of a run and its history. The two backends
differ only in how they open the engine, how a run row is locked while a batch is applied
(``BEGIN IMMEDIATE`` on SQLite, ``SELECT ... FOR UPDATE`` on PostgreSQL) and their
``INSERT ... ON CONFLICT DO NOTHING`` and how a batch's rows go in at once (one binary ``COPY``
on PostgreSQL, one driver ``executemany`` on SQLite). A batch's history rows are one packed block
(:mod:`jupyter_tracker.server.history_blocks`: the records' bytes as the client sent them) and
one chunk per numeric key (:mod:`jupyter_tracker.server.history_series`), so applying it costs a
fixed set of statements, built once, whatever its size; the usual batch (every row the same
float keys) is checked and split into series a column at a time. Runs queries are filtered,
ordered and paged in SQL where :mod:`jupyter_tracker.server.run_query_sql` can say so exactly
(config and summary are jsonb on PostgreSQL). Several server processes may share one
PostgreSQL; on SQLite one process is best (several wait on the file's write lock), and a thread
of its own checkpoints the WAL so no commit pays for it.

>>> storage = open_storage("sqlite://")  # in memory
>>> key = storage.create_key(user="alice")
>>> storage.upsert_run("alice", "mnist", "abc123", {"name": "first"}, created_by="alice")
(0, True)
"""

from __future__ import annotations

import contextlib
import json
import math
import threading
import time
from collections import OrderedDict, defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from itertools import chain
from typing import Any

import numpy as np
import sqlalchemy as sa
from sqlalchemy import event

from jupyter_tracker import run_names
from jupyter_tracker.server import api_keys, history_blocks, history_series, int64_columns, json_values, run_query_sql
from jupyter_tracker.server import schema as t
from jupyter_tracker.server.uniform_batch import Segments, UniformBatch
from jupyter_tracker.store import records
from jupyter_tracker.store.sqlite_wal import enter_wal_mode

#: steps are stored as signed 64-bit integers
MAX_STEP = 2**63 - 1
#: times and runtimes beyond this (about 3e9 years in seconds) are not times
_MAX_TIME = 1e17
#: run objects kept in memory by each server process for runs queries
_RUN_CACHE_LIMIT = 200_000
#: runs-query pages kept by each server process
_PAGE_CACHE_SIZE = 256
#: a key's last chunk is extended by new points (read back and rewritten) only while it holds fewer
_EXTEND_TAIL_BELOW = history_series.CHUNK_POINTS // 4


class StorageError(Exception):
    """A request the storage refuses; ``status`` is the HTTP status that fits."""

    status = 400

    def __init__(self, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.message = message
        self.extra = extra


class BadRequest(StorageError):
    status = 400


class Forbidden(StorageError):
    status = 403


class NotFound(StorageError):
    status = 404


class SequenceGap(StorageError):
    status = 409


@dataclass(frozen=True)
class KeyRecord:
    """What the database holds about one key (never the key itself)."""

    key_id: str
    kind: str
    entity: str
    entity_kind: str
    secret_hash: str
    revoked: float | None
    teams: tuple[str, ...] = ()


@dataclass
class Principal:
    """Who a request acts as: the key's user (or the team of a service key) and its entities."""

    key_id: str
    key_kind: str  # "user" | "service"
    username: str
    entities: list[str] = field(default_factory=list)
    default_entity: str = ""


def normalise_url(url: str) -> str:
    """``postgresql://`` and ``postgres://`` use the psycopg 3 driver; other URLs pass unchanged."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def check_name(value: str, what: str) -> str:
    """Entity, project and run names, by the rules ``init`` applies too (:mod:`jupyter_tracker.run_names`)."""
    problem = run_names.name_problem(value, what)
    if problem is not None:
        raise BadRequest(problem)
    return value


def _dumps(value: Any) -> str:
    return json_values.dumps(value)


@dataclass
class _RunDoc:
    """The JSON columns of a run, decoded while a batch is applied."""

    columns: dict[str, Any]
    config: dict[str, Any]
    summary_manual: dict[str, Any]
    last_values: dict[str, Any]
    extra: dict[str, Any]
    changed: set[str] = field(default_factory=set)
    #: a finish record's summary applied in this batch (JSON values), and its sequence number
    finish_summary: dict[str, Any] | None = None
    finish_seq: int = -1


def _check_finite(value: Any, what: str) -> None:
    """A time, runtime or creation date: a finite number (NaN or inf could not be read back)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise BadRequest(f"malformed batch: {what} must be a number")
    if (isinstance(value, float) and not math.isfinite(value)) or abs(value) > _MAX_TIME:
        raise BadRequest(f"malformed batch: {what} must be a finite number")


#: value types that nest nothing
_SCALARS = frozenset({float, int, str, bool, type(None)})


def _plain_history(record: Any) -> bool:
    """A well-formed history record of scalars (the usual one), checked in one pass.

    False means "not proven": the record then goes through every check one by one, which
    names what is wrong with it.
    """
    if type(record) is not list or len(record) != 5 or record[0] != records.HISTORY:
        return False
    _, step, when, runtime, row = record
    if not (
        type(step) is int
        and 0 <= step <= MAX_STEP
        and type(when) is float
        and -_MAX_TIME <= when <= _MAX_TIME  # NaN fails both
        and type(runtime) is float
        and -_MAX_TIME <= runtime <= _MAX_TIME
        and type(row) is dict
    ):
        return False
    scalars = _SCALARS
    return all(type(key) is str for key in row) and all(type(value) in scalars for value in row.values())


@dataclass(frozen=True)
class _PlainBatch:
    """What checking a batch of plain history records found, kept so applying it need not look again."""

    steps: tuple[int, ...]
    times: tuple[float, ...]
    runtimes: tuple[float, ...]
    rows: tuple[dict[str, Any], ...]
    #: the distinct orders of keys the rows have (one when every row logs the same keys)
    key_orders: set[tuple[str, ...]]
    value_types: set[type]
    #: the batch read as columns (:mod:`uniform_batch`), its rows made dicts only when asked for
    table: UniformBatch | None = None

    @property
    def uniform_floats(self) -> bool:
        """Every row holds the same keys in the same order, all floats (the usual batch)."""
        return len(self.key_orders) == 1 and self.value_types == {float}


def _plain_history_batch(batch: list[Any]) -> _PlainBatch | None:
    """Every record a well-formed history record of scalars (the usual batch), checked a column at a time.

    The same conditions as :func:`_plain_history`, over C-level iterators instead of a Python
    call per record. None means "not proven": each record is then checked on its own.
    """
    if set(map(type, batch)) != {list} or set(map(len, batch)) != {5}:
        return None
    kinds, steps, times, runtimes, rows = zip(*batch, strict=True)
    if set(map(type, kinds)) != {str} or set(kinds) != {records.HISTORY}:
        return None
    if set(map(type, steps)) != {int} or min(steps) < 0 or max(steps) > MAX_STEP:
        return None
    for column in (times, runtimes):
        if set(map(type, column)) != {float}:
            return None
        if not bool(np.all(np.abs(np.asarray(column, dtype=np.float64)) <= _MAX_TIME)):  # NaN fails too
            return None
    if set(map(type, rows)) != {dict}:
        return None
    key_orders = set(map(tuple, rows))
    if not all(type(key) is str for order in key_orders for key in order):
        return None
    value_types = set(map(type, chain.from_iterable(map(dict.values, rows))))
    if not value_types <= _SCALARS:
        return None
    return _PlainBatch(steps, times, runtimes, rows, key_orders, value_types)


class _TableRows(Sequence[dict[str, Any]]):
    """The logged dicts of a :class:`UniformBatch`'s rows, each built only when read."""

    def __init__(self, table: UniformBatch, rows: range) -> None:
        self._table = table
        self._rows = rows

    def __len__(self) -> int:
        return len(self._rows)

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            return _TableRows(self._table, self._rows[index])
        return self._table.row(self._rows[index])


def _uniform_plain(batch: UniformBatch) -> _PlainBatch | None:
    """What :func:`_plain_history_batch` finds, for a batch read as columns; None when a value is out of range."""
    if int(batch.steps.min()) < 0 or int(batch.steps.max()) > MAX_STEP:
        return None
    for column in (batch.times, batch.runtimes):
        if not bool(np.all(np.abs(column) <= _MAX_TIME)):  # NaN fails too
            return None
    return _PlainBatch(
        batch.steps,  # type: ignore[arg-type]
        batch.times,  # type: ignore[arg-type]
        batch.runtimes,  # type: ignore[arg-type]
        _TableRows(batch, range(len(batch))),  # type: ignore[arg-type]
        {batch.keys},
        {float, int} if batch.ints else {float},
        batch,
    )


def _validate_records(first_seq: Any, batch: Any) -> tuple[list[list[Any]], _PlainBatch | None]:
    """Checks the shape of every record before anything is written; raises BadRequest.

    Returns the records and, for a batch of plain history records, what the check found.
    """
    if type(first_seq) is not int or first_seq < 1:
        raise BadRequest("malformed batch: first_seq must be a positive integer")
    if not isinstance(batch, list) or not batch:
        raise BadRequest("malformed batch: expected a non-empty list of records")
    plain = _plain_history_batch(batch)
    if plain is not None:
        return batch, plain  # records are only read from here on
    return [_check_record(first_seq, index, record) for index, record in enumerate(batch)], None


def _check_record(first_seq: int, index: int, record: Any) -> list[Any]:
    """One record checked on its own (as a list), raising BadRequest with what is wrong and where."""
    if _plain_history(record):
        return list(record)
    where = f"record {index} (seq {first_seq + index})"
    if not isinstance(record, (list, tuple)) or not record or not isinstance(record[0], str):
        raise BadRequest(f"malformed batch: {where} is not a [kind, ...] list")
    kind = record[0]
    if json_values.nesting_depth_over(record):
        raise BadRequest(f"malformed batch: {where} nests values more than {json_values.MAX_NESTING} levels deep")
    if kind == records.HISTORY:
        if len(record) != 5 or type(record[1]) is not int or not isinstance(record[4], dict):
            raise BadRequest(f"malformed batch: {where} is not a history record [h, step, time, runtime, row]")
        if not 0 <= record[1] <= MAX_STEP:
            raise BadRequest(f"malformed batch: {where} has step {record[1]}, outside 0..{MAX_STEP}")
        _check_finite(record[2], f"{where} time")
        _check_finite(record[3], f"{where} runtime")
        if not all(isinstance(key, str) for key in record[4]):
            raise BadRequest(f"malformed batch: {where} has a non-string metric name")
    elif kind == records.SYSTEM:
        if len(record) != 4 or not isinstance(record[3], dict):
            raise BadRequest(f"malformed batch: {where} is not a system record [system, time, runtime, values]")
        _check_finite(record[1], f"{where} time")
        _check_finite(record[2], f"{where} runtime")
    elif kind in (
        records.RUN,
        records.CONFIG,
        records.SUMMARY,
        records.DEFINE_METRIC,
        records.WARNING,
        records.FILE,
        records.RESUME,
        records.FINISH,
    ):
        if len(record) < 2 or not isinstance(record[1], dict):
            raise BadRequest(f"malformed batch: {where} ({kind}) must carry a dict")
        if kind == records.FILE and not isinstance(record[1].get("name"), str):
            raise BadRequest(f"malformed batch: {where} (file) has no name")
        if kind == records.RUN and "created" in record[1] and record[1]["created"] is not None:
            _check_finite(record[1]["created"], f"{where} (run) created")
        if kind == records.FINISH:
            summary = record[1].get("summary")
            code = record[1].get("exit_code")
            if summary is not None and not isinstance(summary, dict):
                raise BadRequest(f"malformed batch: {where} (finish) summary must be a dict")
            if code is not None and (type(code) is not int or not -(2**31) <= code < 2**31):
                raise BadRequest(f"malformed batch: {where} (finish) exit_code must be a 32-bit integer")
            if record[1].get("runtime") is not None:
                _check_finite(record[1]["runtime"], f"{where} (finish) runtime")
    return list(record)


class Storage:
    """The storage interface and its SQLAlchemy Core implementation shared by both backends."""

    backend = "base"

    def __init__(self, url: str, engine: sa.Engine) -> None:
        self.url = url
        self.engine = engine
        self._run_cache: dict[int, tuple[int, dict[str, Any]]] = {}
        self._project_cache: dict[int, tuple[tuple[int, ...], list[dict[str, Any]]]] = {}
        self._cache_lock = threading.Lock()
        #: recent runs-query pages by (project, its stamp, query): paging through results re-reads nothing
        self._page_cache: OrderedDict[tuple[Any, ...], tuple[list[dict[str, Any]], int] | None] = OrderedDict()
        #: the run row a batch is applied to, found by its names and locked on backends that lock rows, in
        #: one statement (built once: building one costs about what running it does)
        self._run_for_batch = self._lock_run(
            sa.select(*_RUN_COLUMNS)
            .join(t.projects, t.projects.c.id == t.runs.c.project_id)
            .join(t.entities, t.entities.c.id == t.projects.c.entity_id)
            .where(
                t.entities.c.name == sa.bindparam("entity"),
                t.projects.c.name == sa.bindparam("project"),
                t.runs.c.run_id == sa.bindparam("run_id"),
            ),
            of=t.runs,
        )

    # -- backend hooks ----------------------------------------------------------------------
    @contextlib.contextmanager
    def write(self) -> Iterator[sa.Connection]:
        """A write transaction (committed on success, rolled back on any error)."""
        with self.engine.begin() as connection:
            yield connection

    def _insert_ignore(self, table: sa.Table) -> Any:
        raise NotImplementedError

    def _bucket_write(self) -> contextlib.AbstractContextManager[sa.Connection]:
        """The write transaction rate-limit buckets are taken in (the database's own, by default)."""
        return self.write()

    def _lock_run(self, query: sa.Select[Any], of: sa.Table | None = None) -> sa.Select[Any]:
        """``query`` locking the rows it reads (of table ``of`` only, when given) until the transaction ends."""
        return query

    def _read(self) -> contextlib.AbstractContextManager[sa.Connection]:
        """A connection for reads that need no transaction of their own."""
        return self.engine.connect()

    def _bulk_insert(self, connection: sa.Connection, table: sa.Table, rows: list[dict[str, Any]]) -> None:
        """Inserts many rows of one shape in one statement (SQLite: one executemany in the transaction)."""
        connection.execute(sa.insert(table), rows)

    # -- lifecycle -------------------------------------------------------------------------
    def migrate(self) -> int:
        """Brings the schema to the latest version (safe to call from several processes at once)."""
        with self.write() as connection:
            return t.migrate(connection)

    def close(self) -> None:
        self.engine.dispose()

    # -- entities and keys -----------------------------------------------------------------
    def _ensure_entity(self, connection: sa.Connection, name: str, kind: str) -> int:
        check_name(name, "entity name")
        connection.execute(self._insert_ignore(t.entities).values(name=name, kind=kind, created=time.time()))
        row = connection.execute(sa.select(t.entities.c.id, t.entities.c.kind).where(t.entities.c.name == name)).one()
        if row.kind != kind:
            raise BadRequest(f"{name!r} is already a {row.kind}, not a {kind}")
        return int(row.id)

    def ensure_user(self, name: str) -> None:
        with self.write() as connection:
            self._ensure_entity(connection, name, "user")

    def add_member(self, team: str, user: str) -> None:
        """Makes ``user`` a member of ``team`` (creating either when new)."""
        with self.write() as connection:
            team_id = self._ensure_entity(connection, team, "team")
            user_id = self._ensure_entity(connection, user, "user")
            connection.execute(self._insert_ignore(t.memberships).values(team_id=team_id, user_id=user_id))

    def create_key(self, user: str | None = None, team: str | None = None, service: bool = False) -> api_keys.NewKey:
        """A new key for ``user`` (optionally joining ``team``) or, with ``service``, for ``team``."""
        if service:
            if not team or user:
                raise BadRequest("a service key belongs to a team: give a team and no user")
        elif not user:
            raise BadRequest("a user key needs a user name")
        made = api_keys.new_key()
        with self.write() as connection:
            if service:
                owner = self._ensure_entity(connection, team or "", "team")
            else:
                owner = self._ensure_entity(connection, user or "", "user")
                if team:
                    team_id = self._ensure_entity(connection, team, "team")
                    connection.execute(self._insert_ignore(t.memberships).values(team_id=team_id, user_id=owner))
            connection.execute(
                sa.insert(t.api_keys).values(
                    key_id=made.key_id,
                    entity_id=owner,
                    kind="service" if service else "user",
                    secret_hash=made.secret_hash,
                    created=time.time(),
                )
            )
        return made

    def rotate_key(self, key_id: str) -> api_keys.NewKey:
        """A new key for the same owner; the old one stays valid until it is revoked."""
        made = api_keys.new_key()
        with self.write() as connection:
            old = connection.execute(sa.select(t.api_keys).where(t.api_keys.c.key_id == key_id)).first()
            if old is None:
                raise NotFound(f"no key with id {key_id}")
            if old.revoked is not None:
                raise BadRequest(f"key {key_id} is revoked; create a new key instead")
            connection.execute(
                sa.insert(t.api_keys).values(
                    key_id=made.key_id,
                    entity_id=old.entity_id,
                    kind=old.kind,
                    secret_hash=made.secret_hash,
                    created=time.time(),
                    rotated_from=key_id,
                )
            )
        return made

    def revoke_key(self, key_id: str) -> bool:
        """Revokes a key at once; False when there is no such active key."""
        with self.write() as connection:
            result = connection.execute(
                sa.update(t.api_keys)
                .where(t.api_keys.c.key_id == key_id, t.api_keys.c.revoked.is_(None))
                .values(revoked=time.time())
            )
            return bool(result.rowcount)

    def list_keys(self) -> list[dict[str, Any]]:
        """Every key's id, owner, kind and dates (never a secret)."""
        query = (
            sa.select(
                t.api_keys.c.key_id,
                t.api_keys.c.kind,
                t.api_keys.c.created,
                t.api_keys.c.revoked,
                t.api_keys.c.rotated_from,
                t.entities.c.name.label("owner"),
            )
            .join(t.entities, t.entities.c.id == t.api_keys.c.entity_id)
            .order_by(t.api_keys.c.created)
        )
        with self.engine.connect() as connection:
            return [dict(row._mapping) for row in connection.execute(query)]

    def active_key_count(self) -> int:
        with self.engine.connect() as connection:
            query = sa.select(sa.func.count()).select_from(t.api_keys).where(t.api_keys.c.revoked.is_(None))
            return int(connection.execute(query).scalar() or 0)

    def upgrade_key_hash(self, key_id: str, old_hash: str, new_hash: str) -> None:
        """Replaces a key's stored hash (a slow scrypt one by the fast form), unless it changed meanwhile."""
        with self.write() as connection:
            connection.execute(
                sa.update(t.api_keys)
                .where(t.api_keys.c.key_id == key_id, t.api_keys.c.secret_hash == old_hash)
                .values(secret_hash=new_hash)
            )

    # -- rate limits -----------------------------------------------------------------------
    def take_token(self, name: str, capacity: float, per_second: float, now: float) -> float:
        """Takes one token from bucket ``name`` (full when new); 0 when allowed, else seconds until one refills.

        The bucket row is locked while it is read and written, so every process on the database
        draws from the same bucket.
        """
        bucket = t.rate_buckets
        with self._bucket_write() as connection:
            connection.execute(self._insert_ignore(bucket).values(name=name, tokens=capacity, updated=now))
            row = connection.execute(
                self._lock_run(sa.select(bucket.c.tokens, bucket.c.updated).where(bucket.c.name == name))
            ).one()
            tokens = min(capacity, float(row.tokens) + max(0.0, now - float(row.updated)) * per_second)
            wait = 0.0
            if tokens >= 1.0:
                tokens -= 1.0
            else:
                wait = (1.0 - tokens) / per_second
            connection.execute(sa.update(bucket).where(bucket.c.name == name).values(tokens=tokens, updated=now))
        return wait

    def forget_full_buckets(self, older_than: float) -> None:
        """Drops buckets untouched since ``older_than`` (full again by then), so the table stays small."""
        with self._bucket_write() as connection:
            connection.execute(sa.delete(t.rate_buckets).where(t.rate_buckets.c.updated < older_than))

    def key_record(self, key_id: str) -> KeyRecord | None:
        """A key's stored row and its owner's teams, in one statement (every request needs it); None when unknown."""
        with self._read() as connection:
            rows = connection.execute(_KEY_RECORD, {"key_id": key_id}).all()
        if not rows:
            return None
        row = rows[0]
        teams = tuple(found.team for found in rows if found.team is not None)
        return KeyRecord(row.key_id, row.kind, row.entity, row.entity_kind, row.secret_hash, row.revoked, teams)

    # -- runs ------------------------------------------------------------------------------
    def _project_id(self, connection: sa.Connection, entity: str, project: str, create: bool) -> int | None:
        entity_id = connection.execute(sa.select(t.entities.c.id).where(t.entities.c.name == entity)).scalar()
        if entity_id is None:
            raise NotFound(f"no entity {entity!r}")
        query = sa.select(t.projects.c.id).where(t.projects.c.entity_id == entity_id, t.projects.c.name == project)
        found = connection.execute(query).scalar()
        if found is None and create:
            connection.execute(
                self._insert_ignore(t.projects).values(entity_id=entity_id, name=project, created=time.time())
            )
            found = connection.execute(query).scalar()
        return int(found) if found is not None else None

    def _run_pk(self, connection: sa.Connection, entity: str, project: str, run_id: str) -> int:
        pk = connection.execute(_RUN_PK, {"entity": entity, "project": project, "run_id": run_id}).scalar()
        if pk is None:
            raise NotFound(f"no run {entity}/{project}/{run_id}")
        return int(pk)

    def upsert_run(
        self, entity: str, project: str, run_id: str, metadata: dict[str, Any], created_by: str | None
    ) -> tuple[int, bool]:
        """Creates the run (and its project) or finds it; returns (applied_seq, created)."""
        check_name(project, "project name")
        check_name(run_id, "run id")
        now = time.time()
        tags = metadata.get("tags") or []
        if not isinstance(tags, list) or not all(isinstance(tag, str) for tag in tags):
            raise BadRequest("metadata.tags must be a list of strings")
        created = metadata.get("created")
        if created is not None and (
            isinstance(created, bool)
            or not isinstance(created, (int, float))
            or (isinstance(created, float) and not math.isfinite(created))
            or abs(created) > _MAX_TIME
        ):
            raise BadRequest("metadata.created must be a finite number (seconds since 1970)")
        known = ("name", "group", "tags", "notes", "job_type", "created")
        with self.write() as connection:
            project_id = self._project_id(connection, entity, project, create=True)
            result = connection.execute(
                self._insert_ignore(t.runs)
                .values(
                    project_id=project_id,
                    run_id=run_id,
                    name=_text_or_none(metadata.get("name")) or run_id,
                    state="running",
                    group_name=_text_or_none(metadata.get("group")),
                    tags=_dumps(tags),
                    notes=_text_or_none(metadata.get("notes")),
                    job_type=_text_or_none(metadata.get("job_type")),
                    created=float(created) if isinstance(created, (int, float)) else now,
                    updated=now,
                    runtime=0.0,
                    exit_code=None,
                    config="{}",
                    summary="{}",
                    summary_manual="{}",
                    last_values="{}",
                    extra=_dumps({"metadata": {k: v for k, v in metadata.items() if k not in known}}),
                    applied_seq=0,
                    history_rows=0,
                    created_by=created_by,
                    version=1,
                )
                .returning(t.runs.c.pk)
            )
            inserted = result.first() is not None
            applied = connection.execute(
                sa.select(t.runs.c.applied_seq).where(t.runs.c.project_id == project_id, t.runs.c.run_id == run_id)
            ).scalar()
        return int(applied or 0), inserted

    def get_run(self, entity: str, project: str, run_id: str) -> dict[str, Any]:
        with self.engine.connect() as connection:
            pk = self._run_pk(connection, entity, project, run_id)
            row = connection.execute(sa.select(*_QUERY_COLUMNS).where(t.runs.c.pk == pk)).one()
        return _run_object(row, entity, project)

    def applied_seq(self, pk: int) -> int:
        """The highest sequence number applied to a run."""
        with self.engine.connect() as connection:
            return int(connection.execute(sa.select(t.runs.c.applied_seq).where(t.runs.c.pk == pk)).scalar_one())

    def run_pk(self, entity: str, project: str, run_id: str) -> int:
        with self.engine.connect() as connection:
            return self._run_pk(connection, entity, project, run_id)

    def query_runs(self, entity: str, project: str) -> list[dict[str, Any]]:
        """Every run of a project as run objects, oldest first."""
        return self.project_runs(entity, project)[1]

    def project_runs(self, entity: str, project: str) -> tuple[tuple[int, ...], list[dict[str, Any]]]:
        """(stamp, runs): the runs of a project, oldest first, and a stamp that changes with any of them.

        The list is cached until a run of the project changes; callers must not modify it.
        """
        with self.engine.connect() as connection:
            project_id = self._project_id(connection, entity, project, create=False)
            if project_id is None:
                return (0, 0, 0), []
            # versions only grow and runs are never deleted: (count, sum of versions) changes with any write
            stamp_row = connection.execute(
                sa.select(sa.func.count(), sa.func.sum(t.runs.c.version)).where(t.runs.c.project_id == project_id)
            ).one()
            stamp = (project_id, int(stamp_row[0] or 0), int(stamp_row[1] or 0))
            with self._cache_lock:
                cached = self._project_cache.get(project_id)
            if cached is not None and cached[0] == stamp:
                return cached
            versions = connection.execute(
                sa.select(t.runs.c.pk, t.runs.c.version)
                .where(t.runs.c.project_id == project_id)
                .order_by(t.runs.c.created, t.runs.c.pk)
            ).all()
            with self._cache_lock:
                if len(self._run_cache) + len(versions) > _RUN_CACHE_LIMIT:  # bound the memory: start afresh
                    self._run_cache.clear()
                    self._project_cache.clear()
                known = {
                    pk: self._run_cache[pk][1]
                    for pk, version in versions
                    if self._run_cache.get(pk, (None,))[0] == version
                }
            stale = [pk for pk, _ in versions if pk not in known]
            if len(stale) > len(versions) // 2:  # mostly unknown (e.g. the first query): read the project at once
                batches = [
                    connection.execute(sa.select(*_QUERY_COLUMNS).where(t.runs.c.project_id == project_id)).all()
                ]
            else:
                batches = [
                    connection.execute(
                        sa.select(*_QUERY_COLUMNS).where(t.runs.c.pk.in_(stale[start : start + 500]))
                    ).all()
                    for start in range(0, len(stale), 500)
                ]
            for rows in batches:
                objects = [
                    (row[0], row[-1], run) for row, run in zip(rows, _run_objects(rows, entity, project), strict=True)
                ]
                with self._cache_lock:
                    for pk, version, run in objects:
                        self._run_cache[pk] = (version, run)
                        known[pk] = run
        runs = [known[pk] for pk, _ in versions if pk in known]
        with self._cache_lock:
            self._project_cache[project_id] = (stamp, runs)
        return stamp, runs

    def query_runs_page(
        self, entity: str, project: str, filters: Any, order: str | None, offset: int, limit: int
    ) -> tuple[list[dict[str, Any]], int] | None:
        """One page of a runs query and the number of runs that match, filtered and ordered in SQL.

        None when the filter or order needs the Python evaluation (see
        :mod:`jupyter_tracker.server.run_query_sql`): an operator SQL cannot express, or a run
        whose value is a list or an object; the caller then filters :meth:`project_runs`.
        """
        query = run_query_sql.translate(self.backend, entity, project, filters, order)
        if query is None:
            return None
        with self.engine.connect() as connection:
            project_id = self._project_id(connection, entity, project, create=False)
            if project_id is None:
                return [], 0
            # versions only grow and runs are never deleted: (count, sum of versions) changes with any write
            stamp = tuple(
                connection.execute(
                    sa.select(sa.func.count(), sa.func.sum(t.runs.c.version)).where(t.runs.c.project_id == project_id)
                ).one()
            )
            cache_key = (project_id, stamp, json.dumps(filters, sort_keys=True, default=repr), order, offset, limit)
            with self._cache_lock:
                if cache_key in self._page_cache:
                    self._page_cache.move_to_end(cache_key)
                    return self._page_cache[cache_key]
            found = self._sql_page(connection, query, project_id, entity, project, offset, limit)
        with self._cache_lock:
            self._page_cache[cache_key] = found
            while len(self._page_cache) > _PAGE_CACHE_SIZE:
                self._page_cache.popitem(last=False)
        return found

    def _sql_page(
        self,
        connection: sa.Connection,
        query: run_query_sql.RunQuery,
        project_id: int,
        entity: str,
        project: str,
        offset: int,
        limit: int,
    ) -> tuple[list[dict[str, Any]], int] | None:
        """The page :meth:`query_runs_page` returns, read from the database."""
        source = query.source(project_id)
        uncertain = sa.case((query.uncertain, 1), else_=0)
        # one statement: the page, the number of matches and whether any run needs Python
        page = connection.execute(
            sa.select(sa.literal_column("pk"), sa.func.count().over(), sa.func.sum(uncertain).over())
            .select_from(source)
            .where(sa.or_(query.where, query.uncertain))
            .order_by(*query.order_by)
            .offset(min(offset, MAX_STEP))
            .limit(limit)
        ).all()
        if not page:  # no match, or past the last page
            counted = connection.execute(
                sa.select(sa.func.count().filter(query.where), sa.func.count().filter(query.uncertain)).select_from(
                    source
                )
            ).one()
            return None if counted[1] else ([], int(counted[0] or 0))
        if page[0][2]:
            return None
        total = int(page[0][1])
        positions = {int(pk): position for position, (pk, _, _) in enumerate(page)}
        rows = sorted(
            connection.execute(sa.select(*_QUERY_COLUMNS).where(t.runs.c.pk.in_(list(positions)))).all(),
            key=lambda row: positions[int(row[0])],
        )
        return (_run_objects(rows, entity, project) if rows else []), total

    # -- records ---------------------------------------------------------------------------
    def apply_batch(
        self, entity: str, project: str, run_id: str, first_seq: Any, batch: Any, payload: bytes | None = None
    ) -> int:
        """Applies the records above the run's applied sequence, atomically; returns the new applied_seq.

        Records at or below ``applied_seq`` are skipped (a resent batch changes nothing); a batch
        that starts past ``applied_seq + 1`` raises :class:`SequenceGap`; a malformed batch raises
        :class:`BadRequest` before anything is written. ``payload``, the msgpack
        ``[first_seq, batch]`` the batch was decoded from, lets history rows be stored as the
        bytes sent instead of encoded again; ``batch`` may also be that payload read as a
        :class:`UniformBatch` or as :class:`Segments` (then ``payload`` is required).
        """
        checked: Sequence[Any]
        segments: Segments | None = None
        if isinstance(batch, Segments):  # columns for its runs of float history, the rest decoded
            assert payload is not None and first_seq == batch.first_seq
            if not _segments_valid(batch):  # the ordinary checks name what is wrong, in order
                return self.apply_batch(entity, project, run_id, *records.decode_payload(payload), payload)
            segments, plain = batch, None
            checked, spans = range(len(batch)), batch.spans
        elif isinstance(batch, UniformBatch):  # read from ``payload`` as columns (:mod:`uniform_batch`)
            assert payload is not None and first_seq == batch.first_seq
            plain = _uniform_plain(batch)
            if plain is None:  # a value out of range: the ordinary checks name it
                return self.apply_batch(entity, project, run_id, *records.decode_payload(payload), payload)
            checked, spans = range(len(batch)), batch.spans
        else:
            checked, plain = _validate_records(first_seq, batch)
            spans = None if payload is None else history_blocks.record_spans(payload, len(checked))
        with self.write() as connection:
            row = connection.execute(
                self._run_for_batch, {"entity": entity, "project": project, "run_id": run_id}
            ).first()
            if row is None:
                raise NotFound(f"no run {entity}/{project}/{run_id}")
            pk = int(row.pk)
            applied = int(row.applied_seq)
            if first_seq > applied + 1:
                raise SequenceGap(
                    f"sequence gap: server has applied up to {applied}, batch starts at {first_seq}",
                    applied_seq=applied,
                )
            skip = applied + 1 - first_seq
            fresh = checked[skip:]
            if not fresh:
                return applied
            doc = _RunDoc(
                columns={},
                config=json.loads(row.config),
                summary_manual=json.loads(row.summary_manual),
                last_values=json.loads(row.last_values),
                extra=json.loads(row.extra),
            )
            pack = records.make_packer()  # a packer of its own: a Packer is not safe to share across threads
            system: list[dict[str, Any]] = []
            history: Sequence[Any]
            history_seqs: Sequence[int]
            if segments is not None:
                history_count = self._apply_segments(connection, pk, doc, pack, applied, segments, payload, system)
                if history_count:
                    doc.columns["history_rows"] = int(row.history_rows) + history_count
            else:
                if plain is not None:  # a plain batch: history records only, in sequence order
                    history = fresh
                    history_seqs = range(applied + 1, applied + 1 + len(fresh))
                    doc.columns["runtime"] = float(plain.runtimes[-1])
                else:
                    walked: list[list[Any]] = []
                    walked_seqs: list[int] = []
                    _walk_records(doc, pk, pack, applied + 1, fresh, walked, walked_seqs, system)
                    history, history_seqs = walked, walked_seqs
                if history:
                    if plain is not None:
                        steps, times, runtimes, logged_rows = (
                            plain.steps[skip:],
                            plain.times[skip:],
                            plain.runtimes[skip:],
                            plain.rows[skip:],
                        )
                    else:
                        _, steps, times, runtimes, logged_rows = zip(*history, strict=True)
                    last_logged: dict[str, Any]
                    if plain is not None and len(plain.key_orders) == 1:  # every row logs the same keys
                        last_logged = dict(logged_rows[-1])
                    else:
                        last_logged = {}
                        for logged in logged_rows:
                            last_logged.update(logged)
                    _fold_last_logged(doc, last_logged, history_seqs[-1])
                    size = history_blocks.BLOCK_ROWS
                    cuts = [(cut, cut + size) for cut in range(0, len(history), size)]
                    if spans is not None and payload is not None:
                        blocks = _blocks_as_sent(pk, history_seqs, steps, payload, spans, first_seq)
                    else:
                        blocks = [
                            {
                                "run_pk": pk,
                                **history_blocks.pack_block(
                                    pack,
                                    history_seqs[cut:end],
                                    steps[cut:end],
                                    times[cut:end],
                                    runtimes[cut:end],
                                    logged_rows[cut:end],
                                ),
                            }
                            for cut, end in cuts
                        ]
                    self._bulk_insert(connection, t.history_blocks, blocks)
                    if plain is not None and plain.table is not None:
                        points = history_series.table_points(
                            steps, times, runtimes, plain.table.keys, plain.table.values[skip:]
                        )
                    else:
                        uniform = None if plain is None else plain.uniform_floats
                        points = history_series.numeric_points(
                            steps, times, runtimes, logged_rows, uniform_floats=uniform
                        )
                    self._append_points(connection, pk, points)
                    doc.columns["history_rows"] = int(row.history_rows) + len(history)
            if system:
                self._bulk_insert(connection, t.system_rows, system)
            new_applied = applied + len(fresh)
            values: dict[str, Any] = dict(doc.columns)
            for name in ("config", "summary_manual", "last_values", "extra"):
                if name in doc.changed:
                    values[name] = _dumps(getattr(doc, name))
            if doc.changed & {"summary_manual", "last_values"}:
                merged = dict(doc.last_values)
                merged.update(doc.summary_manual)
                values["summary"] = _dumps(merged)
            values.update(applied_seq=new_applied, updated=time.time(), version=t.runs.c.version + 1)
            result = connection.execute(
                sa.update(t.runs).where(t.runs.c.pk == pk, t.runs.c.applied_seq == applied).values(**values)
            )
            if result.rowcount != 1:  # another writer got there first: nothing of ours is kept
                raise SequenceGap(
                    f"sequence conflict: run {run_id} changed while this batch was applied; resend from the server's applied_seq",
                    applied_seq=applied,
                )
        return new_applied

    def _apply_segments(
        self,
        connection: sa.Connection,
        pk: int,
        doc: _RunDoc,
        pack: Any,
        applied: int,
        segments: Segments,
        payload: bytes | None,
        system: list[dict[str, Any]],
    ) -> int:
        """Applies the records of ``segments`` above ``applied``, in sequence order; returns the history rows added.

        What the ordinary path does for the same records: runs of float history are read from
        their columns, the records between them walked one by one, and the history of all of
        them stored together (blocks of the bytes as sent, one series append per key).
        """
        assert payload is not None
        history_seqs: list[int] = []
        step_pieces: list[np.ndarray] = []
        point_pieces: list[dict[str, tuple[np.ndarray, np.ndarray]]] = []
        last_logged: dict[str, Any] = {}
        for part in segments.parts:
            cut = max(0, applied + 1 - part.first_seq)
            if cut >= len(part):
                continue
            first = part.first_seq + cut
            if isinstance(part, UniformBatch):
                steps = part.steps[cut:]
                history_seqs.extend(range(first, part.first_seq + len(part)))
                step_pieces.append(steps)
                point_pieces.append(
                    history_series.table_points(
                        steps, part.times[cut:], part.runtimes[cut:], part.keys, part.values[cut:]
                    )
                )
                last_logged.update(part.row(len(part) - 1))
                doc.columns["runtime"] = float(part.runtimes[-1])
                continue
            history: list[list[Any]] = []
            _walk_records(doc, pk, pack, first, part.records[cut:], history, history_seqs, system)
            if history:
                _, steps_found, times, runtimes, logged_rows = zip(*history, strict=True)
                step_pieces.append(np.asarray(steps_found, dtype=np.int64))
                point_pieces.append(history_series.numeric_points(steps_found, times, runtimes, logged_rows))
                for logged in logged_rows:
                    last_logged.update(logged)
        if not history_seqs:
            return 0
        _fold_last_logged(doc, last_logged, history_seqs[-1])
        all_steps = np.concatenate(step_pieces)
        blocks = _blocks_as_sent(pk, history_seqs, all_steps, payload, segments.spans, segments.first_seq)
        self._bulk_insert(connection, t.history_blocks, blocks)
        self._append_points(connection, pk, _merge_points(point_pieces))
        return len(history_seqs)

    def _append_points(
        self, connection: sa.Connection, pk: int, points: dict[str, tuple[np.ndarray, np.ndarray]]
    ) -> None:
        """Adds the batch's points of each key as new chunks, extending the tail chunk only while it is small.

        A tail of :data:`_EXTEND_TAIL_BELOW` points or more is left as it is, so a batch of many
        rows writes only its own points (no chunk is read back and rewritten), and chunks stay
        large enough that a long series is still few rows.
        """
        keys = list(points)
        info: dict[str, Any] = {}
        for start in range(0, len(keys), 500):
            for row in connection.execute(_KEYS_OF_RUN, {"pk": pk, "keys": keys[start : start + 500]}):
                info[row.key] = row
        tails: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        wanted = [(key, row.chunks - 1) for key, row in info.items() if row.tail_points < _EXTEND_TAIL_BELOW]
        for start in range(0, len(wanted), 300):
            query = sa.select(t.history_chunks.c.key, t.history_chunks.c.steps, t.history_chunks.c.point_values).where(
                t.history_chunks.c.run_pk == pk,
                sa.tuple_(t.history_chunks.c.key, t.history_chunks.c.chunk).in_(wanted[start : start + 300]),
            )
            for row in connection.execute(query):
                tails[row.key] = history_series.unpack(row.steps, row.point_values)
        inserts: list[dict[str, Any]] = []
        updates: list[dict[str, Any]] = []
        new_keys: list[dict[str, Any]] = []
        key_updates: list[dict[str, Any]] = []
        empty = (np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float64))
        for key, (steps, numbers) in points.items():
            known = info.get(key)
            tail = tails.get(key, empty)
            pieces = history_series.split_into_chunks(
                tail[0], tail[1], np.asarray(steps, dtype=np.int64), np.asarray(numbers, dtype=np.float64)
            )
            first_chunk = 0
            if known is not None:
                first_chunk = known.chunks - 1 if key in tails else known.chunks
            for number, (chunk_steps, chunk_values) in enumerate(pieces):
                packed_steps, packed_values = history_series.pack(chunk_steps, chunk_values)
                update = number == 0 and key in tails
                entry = {
                    "b_run_pk" if update else "run_pk": pk,
                    "b_key" if update else "key": key,
                    "b_chunk" if update else "chunk": first_chunk + number,
                    "points": len(chunk_steps),
                    "steps": packed_steps,
                    "point_values": packed_values,
                }
                (updates if update else inserts).append(entry)
            counts = {
                "b_run_pk" if known is not None else "run_pk": pk,
                "b_key" if known is not None else "key": key,
                "chunks": first_chunk + len(pieces),
                "points": (known.points if known is not None else 0) + len(steps),
                "tail_points": len(pieces[-1][0]),
            }
            (key_updates if known is not None else new_keys).append(counts)
        if inserts:
            self._bulk_insert(connection, t.history_chunks, inserts)
        if updates:
            connection.execute(_UPDATE_CHUNK, updates)
        if new_keys:
            self._bulk_insert(connection, t.history_keys, new_keys)
        if key_updates:
            connection.execute(_UPDATE_KEY, key_updates)

    # -- history ---------------------------------------------------------------------------
    def numeric_keys(self, pk: int) -> list[str]:
        with self.engine.connect() as connection:
            query = sa.select(t.history_keys.c.key).where(t.history_keys.c.run_pk == pk).order_by(t.history_keys.c.key)
            return list(connection.execute(query).scalars())

    def series(self, pk: int, keys: Sequence[str]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """The numeric points of each key that has any: {key: (steps, values)}."""
        chunks: dict[str, list[tuple[bytes, bytes]]] = defaultdict(list)
        query = (
            sa.select(t.history_chunks.c.key, t.history_chunks.c.steps, t.history_chunks.c.point_values)
            .where(t.history_chunks.c.run_pk == pk, t.history_chunks.c.key.in_(list(keys)))
            .order_by(t.history_chunks.c.key, t.history_chunks.c.chunk)
        )
        with self.engine.connect() as connection:
            for key, steps, values in connection.execute(query):
                chunks[key].append((steps, values))
        return {key: history_series.concatenate(parts) for key, parts in chunks.items()}

    def system_rows(self, pk: int) -> list[dict[str, Any]]:
        """Every system-metrics row of a run, in time order, with ``_timestamp`` and ``_runtime``."""
        query = (
            sa.select(t.system_rows.c.timestamp, t.system_rows.c.runtime, t.system_rows.c.row)
            .where(t.system_rows.c.run_pk == pk)
            .order_by(t.system_rows.c.seq)
        )
        with self.engine.connect() as connection:
            return [
                {**history_blocks.unpack_row(data), "_timestamp": timestamp, "_runtime": runtime}
                for timestamp, runtime, data in connection.execute(query)
            ]

    def row_positions(self, pk: int) -> list[int]:
        """The sequence numbers of a run's history rows in step order (what row sampling picks from)."""
        query = (
            sa.select(t.history_blocks.c.seqs, t.history_blocks.c.steps)
            .where(t.history_blocks.c.run_pk == pk)
            .order_by(t.history_blocks.c.first_seq)
        )
        with self.engine.connect() as connection:
            found = connection.execute(query).all()
        if not found:
            return []
        seqs = np.concatenate([int64_columns.unpack(seqs) for seqs, _ in found])
        steps = np.concatenate([int64_columns.unpack(steps) for _, steps in found])
        return seqs[np.lexsort((seqs, steps))].tolist()  # type: ignore[no-any-return]

    def _blocks(self, connection: sa.Connection, pk: int, first_seqs: Sequence[int]) -> list[history_blocks.Block]:
        """The stored blocks of a run that begin at ``first_seqs``."""
        blocks = t.history_blocks
        found: list[history_blocks.Block] = []
        for start in range(0, len(first_seqs), 500):
            query = sa.select(blocks.c.seqs, blocks.c.steps, blocks.c.ends, blocks.c.block).where(
                blocks.c.run_pk == pk, blocks.c.first_seq.in_(list(first_seqs[start : start + 500]))
            )
            found.extend(history_blocks.Block.from_columns(*row) for row in connection.execute(query))
        return found

    def rows_at(self, pk: int, seqs: Sequence[int]) -> list[dict[str, Any]]:
        """The history rows with the given sequence numbers, in step order."""
        if not seqs:
            return []
        blocks = t.history_blocks
        with self.engine.connect() as connection:
            spans = connection.execute(
                sa.select(blocks.c.first_seq, blocks.c.last_seq)
                .where(blocks.c.run_pk == pk)
                .order_by(blocks.c.first_seq)
            ).all()
            if not spans:
                return []
            starts = np.asarray([first for first, _ in spans], dtype=np.int64)
            ends = np.asarray([last for _, last in spans], dtype=np.int64)
            wanted = np.unique(np.asarray(seqs, dtype=np.int64))
            where = np.searchsorted(starts, wanted, side="right") - 1  # the block that may hold each seq
            inside = (where >= 0) & (wanted <= ends[np.maximum(where, 0)])
            first_seqs = sorted({int(starts[index]) for index in where[inside]})
            loaded = self._blocks(connection, pk, first_seqs)
        picked: list[tuple[int, int, dict[str, Any]]] = []
        kept = wanted[inside]
        for block in loaded:
            for position in np.flatnonzero(np.isin(block.seqs, kept)).tolist():
                picked.append((int(block.steps[position]), int(block.seqs[position]), block.row(position)))
        picked.sort(key=lambda found: (found[0], found[1]))
        return [row for _step, _seq, row in picked]

    def scan_rows(self, pk: int, min_step: int, limit: int) -> list[dict[str, Any]]:
        """Full history rows with ``_step >= min_step``, in step order, at most ``limit``.

        Blocks are read in order of their smallest step until no unread block can hold a row
        among the first ``limit``; only the rows returned are decoded.
        """
        if limit < 1:
            return []
        blocks = t.history_blocks
        with self.engine.connect() as connection:
            spans = connection.execute(
                sa.select(blocks.c.first_seq, blocks.c.min_step)
                .where(blocks.c.run_pk == pk, blocks.c.max_step >= min_step)
                .order_by(blocks.c.min_step, blocks.c.first_seq)
            ).all()
            candidates: list[tuple[int, int, history_blocks.Block, int]] = []
            index = 0
            group_size = 1  # doubling: a page usually lies in the first block or two
            while index < len(spans):
                group = spans[index : index + group_size]
                index += len(group)
                group_size = min(group_size * 2, 16)
                for block in self._blocks(connection, pk, [first for first, _ in group]):
                    for position in np.flatnonzero(block.steps >= min_step).tolist():
                        candidates.append((int(block.steps[position]), int(block.seqs[position]), block, position))
                if len(candidates) >= limit and index < len(spans):
                    candidates.sort(key=lambda found: (found[0], found[1]))
                    del candidates[limit:]
                    if int(spans[index][1]) > candidates[-1][0]:
                        break
        candidates.sort(key=lambda found: (found[0], found[1]))
        return [block.row(position) for _step, _seq, block, position in candidates[:limit]]


def _text_or_none(value: Any) -> str | None:
    return None if value is None else str(value)


def _segments_valid(segments: Segments) -> bool:
    """Every record of ``segments`` passes the ordinary checks (columns: their steps and times in range)."""
    try:
        for part in segments.parts:
            if isinstance(part, UniformBatch):
                if _uniform_plain(part) is None:
                    return False
            else:
                offset = part.first_seq - segments.first_seq
                first = segments.first_seq
                part.records[:] = [
                    _check_record(first, offset + index, record) for index, record in enumerate(part.records)
                ]
    except BadRequest:
        return False
    return True


def _walk_records(
    doc: _RunDoc,
    pk: int,
    pack: Any,
    first: int,
    fresh: Sequence[list[Any]],
    history: list[list[Any]],
    history_seqs: list[int],
    system: list[dict[str, Any]],
) -> None:
    """Sorts checked records (seq ``first`` on) into history and system rows; applies the others to ``doc``."""
    for offset, record in enumerate(fresh):
        seq = first + offset
        kind = record[0]
        if kind == records.HISTORY:
            history.append(record)
            history_seqs.append(seq)
            doc.columns["runtime"] = float(record[3])
        elif kind == records.SYSTEM:
            _, timestamp, runtime, measured = record
            system.append(
                {
                    "run_pk": pk,
                    "seq": seq,
                    "timestamp": float(timestamp),
                    "runtime": float(runtime),
                    "row": pack(measured),
                }
            )
        else:
            _apply_other(doc, kind, record[1] if len(record) > 1 else None)
            if kind == records.FINISH:
                doc.finish_seq = seq


def _merge_points(
    pieces: list[dict[str, tuple[np.ndarray, np.ndarray]]],
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Each key's points of several pieces (in sequence order) joined, as one pass over all the rows finds them."""
    if len(pieces) == 1:
        return pieces[0]
    merged: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for key in dict.fromkeys(chain.from_iterable(pieces)):
        found = [piece[key] for piece in pieces if key in piece]
        merged[key] = (
            (np.concatenate([steps for steps, _ in found]), np.concatenate([values for _, values in found]))
            if len(found) > 1
            else found[0]
        )
    return merged


def _fold_last_logged(doc: _RunDoc, last_logged: dict[str, Any], last_history_seq: int) -> None:
    """Folds a batch's last logged values into the run's (made JSON once per batch, after its records).

    A finish record after those rows keeps its summary (aggregates such as
    ``define_metric(summary="max")`` among it): it is what the client had after them, as the
    local reader finds it.
    """
    final = doc.finish_summary
    if final is not None and doc.finish_seq > last_history_seq:
        doc.last_values = {key: value for key, value in final.items() if key not in doc.summary_manual}
    else:
        doc.last_values.update(json_values.to_json(last_logged))
    doc.changed.add("last_values")


def _blocks_as_sent(
    pk: int, history_seqs: Sequence[int], steps: Any, payload: bytes, spans: np.ndarray, first_seq: int
) -> list[dict[str, Any]]:
    """History block rows holding each history record's bytes as sent (its position in the batch: seq - first_seq)."""
    where = np.asarray(history_seqs, dtype=np.int64) - first_seq
    starts, stops = spans[where], spans[where + 1]
    size = history_blocks.BLOCK_ROWS
    return [
        {
            "run_pk": pk,
            **history_blocks.block_of_records(
                history_seqs[cut : cut + size], steps[cut : cut + size], payload,
                starts[cut : cut + size], stops[cut : cut + size],
            ),
        }
        for cut in range(0, len(history_seqs), size)
    ]


def _apply_other(doc: _RunDoc, kind: str, fields: Any) -> None:
    """Applies one non-history record to the run document."""
    if kind == records.CONFIG:
        doc.config.update(json_values.to_json(fields))
        doc.changed.add("config")
    elif kind == records.SUMMARY:
        doc.summary_manual.update(json_values.to_json(fields))
        doc.changed.add("summary_manual")
    elif kind == records.RUN:
        for key, column in (("name", "name"), ("group", "group_name"), ("notes", "notes"), ("job_type", "job_type")):
            if key in fields:
                doc.columns[column] = _text_or_none(fields[key])
        if isinstance(fields.get("tags"), list):
            doc.columns["tags"] = _dumps([str(tag) for tag in fields["tags"]])
        if isinstance(fields.get("created"), (int, float)) and not isinstance(fields.get("created"), bool):
            doc.columns["created"] = float(fields["created"])
        known = ("name", "group", "tags", "notes", "job_type", "created")
        doc.extra.setdefault("metadata", {}).update(
            json_values.to_json({k: v for k, v in fields.items() if k not in known})
        )
        doc.columns["state"] = "running"
        doc.changed.add("extra")
    elif kind == records.RESUME:
        doc.columns["state"] = "running"
        doc.columns["exit_code"] = None
    elif kind == records.DEFINE_METRIC:
        doc.extra.setdefault("metric_definitions", []).append(json_values.to_json(fields))
        doc.changed.add("extra")
    elif kind == records.WARNING:
        doc.extra.setdefault("warnings", []).append(json_values.to_json(fields))
        doc.changed.add("extra")
    elif kind == records.FILE:
        doc.extra.setdefault("files", {})[str(fields["name"])] = json_values.to_json(fields)
        doc.changed.add("extra")
    elif kind == records.FINISH:
        doc.columns["state"] = str(fields.get("state") or "finished")
        doc.columns["exit_code"] = fields.get("exit_code")
        runtime = fields.get("runtime")
        if isinstance(runtime, (int, float)) and not isinstance(runtime, bool):
            doc.columns["runtime"] = float(runtime)
        if fields.get("summary") is not None:
            # as the local reader does: keys set by hand stay marked so a resumed run keeps them
            final = json_values.to_json(dict(fields["summary"]))
            doc.finish_summary = final
            doc.summary_manual = {key: final[key] for key in doc.summary_manual if key in final}
            doc.last_values = {key: value for key, value in final.items() if key not in doc.summary_manual}
            doc.changed.update(("last_values", "summary_manual"))
    # other kinds (e.g. newer record types) are accepted and counted as applied


_QUERY_COLUMNS = (
    t.runs.c.pk,
    t.runs.c.run_id,
    t.runs.c.name,
    t.runs.c.state,
    t.runs.c.group_name,
    t.runs.c.tags,
    t.runs.c.notes,
    t.runs.c.job_type,
    t.runs.c.created,
    t.runs.c.updated,
    t.runs.c.runtime,
    t.runs.c.exit_code,
    t.runs.c.config,
    t.runs.c.summary,
    t.runs.c.applied_seq,
    t.runs.c.history_rows,
    t.runs.c.created_by,
    t.runs.c.version,
)

#: what applying a batch needs: the queried columns plus the summary parts and extras
_RUN_COLUMNS = (
    *_QUERY_COLUMNS[:14],
    t.runs.c.summary_manual,
    t.runs.c.last_values,
    t.runs.c.extra,
    *_QUERY_COLUMNS[14:],
)


#: statements of the ingest path, built once (building one costs about what running it does)
_OWNER = t.entities.alias("owner")
_TEAM = t.entities.alias("team")
#: a key, its owner and, when the owner is a user, one row per team it belongs to (a NULL team when none)
_KEY_RECORD = (
    sa.select(
        t.api_keys.c.key_id,
        t.api_keys.c.kind,
        t.api_keys.c.secret_hash,
        t.api_keys.c.revoked,
        _OWNER.c.name.label("entity"),
        _OWNER.c.kind.label("entity_kind"),
        _TEAM.c.name.label("team"),
    )
    .join(_OWNER, _OWNER.c.id == t.api_keys.c.entity_id)
    .outerjoin(t.memberships, sa.and_(t.memberships.c.user_id == _OWNER.c.id, _OWNER.c.kind == "user"))
    .outerjoin(_TEAM, _TEAM.c.id == t.memberships.c.team_id)
    .where(t.api_keys.c.key_id == sa.bindparam("key_id"))
    .order_by(_TEAM.c.name)
)
_RUN_PK = (
    sa.select(t.runs.c.pk)
    .join(t.projects, t.projects.c.id == t.runs.c.project_id)
    .join(t.entities, t.entities.c.id == t.projects.c.entity_id)
    .where(
        t.entities.c.name == sa.bindparam("entity"),
        t.projects.c.name == sa.bindparam("project"),
        t.runs.c.run_id == sa.bindparam("run_id"),
    )
)
_KEYS_OF_RUN = sa.select(t.history_keys).where(
    t.history_keys.c.run_pk == sa.bindparam("pk"), t.history_keys.c.key.in_(sa.bindparam("keys", expanding=True))
)
# bound names must differ from column names in an UPDATE's WHERE clause: the rows' run_pk and key match b_*
_UPDATE_CHUNK = (
    sa.update(t.history_chunks)
    .where(
        t.history_chunks.c.run_pk == sa.bindparam("b_run_pk"),
        t.history_chunks.c.key == sa.bindparam("b_key"),
        t.history_chunks.c.chunk == sa.bindparam("b_chunk"),
    )
    .values(points=sa.bindparam("points"), steps=sa.bindparam("steps"), point_values=sa.bindparam("point_values"))
)
_UPDATE_KEY = (
    sa.update(t.history_keys)
    .where(t.history_keys.c.run_pk == sa.bindparam("b_run_pk"), t.history_keys.c.key == sa.bindparam("b_key"))
    .values(
        chunks=sa.bindparam("chunks"), points=sa.bindparam("points"), tail_points=sa.bindparam("tail_points")
    )
)


def _run_object(row: Any, entity: str, project: str, decoded: Any = None) -> dict[str, Any]:
    """A run as the HTTP API returns it, from a row of :data:`_QUERY_COLUMNS`.

    ``decoded`` is (tags, config, summary) when the caller already parsed them.
    """
    (
        _pk,
        run_id,
        name,
        state,
        group,
        tags,
        notes,
        job_type,
        created,
        updated,
        runtime,
        exit_code,
        config,
        summary,
        applied_seq,
        history_rows,
        created_by,
        _version,
    ) = tuple(row)  # positions: far faster than names
    if decoded is None:
        decoded = (json.loads(tags), json.loads(config), json.loads(summary))
    return {
        "id": run_id,
        "name": name,
        "state": state,
        "entity": entity,
        "project": project,
        "group": group,
        "tags": decoded[0],
        "notes": notes,
        "job_type": job_type,
        "created": created,
        "updated": updated,
        "runtime": runtime,
        "exit_code": exit_code,
        "config": decoded[1],
        "summary": decoded[2],
        "applied_seq": int(applied_seq),
        "history_rows": int(history_rows),
        "user": created_by,
    }


def _run_objects(rows: Sequence[Any], entity: str, project: str) -> list[dict[str, Any]]:
    """Many runs at once: their JSON columns are parsed in one ``json.loads`` (3x faster than one each)."""
    # the columns hold JSON this module wrote, so joining them gives valid JSON
    decoded = json.loads("[" + ",".join(f"[{row.tags},{row.config},{row.summary}]" for row in rows) + "]")
    return [_run_object(row, entity, project, parts) for row, parts in zip(rows, decoded, strict=True)]


def _sqlite_engine(url: str, background_checkpoints: bool = False) -> sa.Engine:
    """An engine on a SQLite file (WAL, busy timeout) whose write transactions begin IMMEDIATE.

    ``background_checkpoints``: its connections never copy the WAL into the database file
    themselves (a :class:`_Checkpointer` does).
    """
    memory = url in ("sqlite://", "sqlite:///:memory:")
    if memory:
        engine = sa.create_engine(url, connect_args={"check_same_thread": False}, poolclass=sa.pool.StaticPool)
    else:
        engine = sa.create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # transactions are begun below, not by the driver
        cursor = dbapi_connection.cursor()
        if not memory:
            enter_wal_mode(cursor)
            if background_checkpoints:
                cursor.execute("PRAGMA wal_autocheckpoint=0")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: sa.Connection) -> None:
        immediate = connection.get_execution_options().get("jt_write", False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


class _Checkpointer:
    """Copies a SQLite file's WAL into the database from a thread of its own, every ``interval`` seconds.

    Left to the connections, the commit that crosses SQLite's threshold (1,000 pages) copies the
    WAL and syncs the file while it holds the write lock, so every batch waits behind it. A
    PASSIVE checkpoint here runs beside the writers (WAL mode lets it) and never waits for them.
    """

    def __init__(self, engine: sa.Engine, interval: float = 1.0) -> None:
        self._engine = engine
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="jt-sqlite-checkpoint", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            self.checkpoint()

    def checkpoint(self) -> None:
        try:
            connection = self._engine.raw_connection()  # the driver's own: no BEGIN around the pragma
            try:
                connection.driver_connection.execute("PRAGMA wal_checkpoint(PASSIVE)")  # type: ignore[union-attr]
            finally:
                connection.close()
        except Exception:  # noqa: BLE001  # a busy or closing database: the next round tries again
            return

    def close(self) -> None:
        self._stop.set()
        self._thread.join()


class SQLiteStorage(Storage):
    """The embedded default: one SQLite file in WAL mode; writes take the database lock up front.

    Rate-limit buckets live in a file of their own beside it (``<file>-ratelimit``): taking a
    token is a write, and on the data file it would wait behind every batch being applied.
    """

    backend = "sqlite"

    def __init__(self, url: str) -> None:
        database = sa.engine.make_url(url).database
        on_disk = bool(database) and database != ":memory:"
        super().__init__(url, _sqlite_engine(url, background_checkpoints=on_disk))
        self._checkpointer = _Checkpointer(self.engine) if on_disk else None
        self._write_lock = threading.Lock()
        self._buckets_engine = _sqlite_engine(f"sqlite:///{database}-ratelimit" if on_disk else "sqlite://")
        self._buckets_lock = threading.Lock()
        with self._bucket_write() as connection:
            t.rate_buckets.create(connection, checkfirst=True)

    @contextlib.contextmanager
    def write(self) -> Iterator[sa.Connection]:
        with self._write_lock, self.engine.connect() as connection:
            connection = connection.execution_options(jt_write=True)
            with connection.begin():
                yield connection

    @contextlib.contextmanager
    def _bucket_write(self) -> Iterator[sa.Connection]:
        with self._buckets_lock, self._buckets_engine.connect() as connection:
            connection = connection.execution_options(jt_write=True)
            with connection.begin():
                yield connection

    def close(self) -> None:
        if self._checkpointer is not None:
            self._checkpointer.close()
            self._checkpointer.checkpoint()  # what the last writes left in the WAL
        super().close()
        self._buckets_engine.dispose()

    def _bulk_insert(self, connection: sa.Connection, table: sa.Table, rows: list[dict[str, Any]]) -> None:
        """One executemany on the driver in the write transaction (SQLAlchemy's per-row binding is most of the cost)."""
        names = list(rows[0])
        column_list = ", ".join(f'"{name}"' for name in names)
        marks = ", ".join("?" for _ in names)
        connection.connection.driver_connection.executemany(  # type: ignore[union-attr]
            f'INSERT INTO "{table.name}" ({column_list}) VALUES ({marks})', [tuple(row.values()) for row in rows]
        )

    def _insert_ignore(self, table: sa.Table) -> Any:
        from sqlalchemy.dialects.sqlite import insert

        return insert(table).on_conflict_do_nothing()


#: a bucket locked, refilled and (when it holds a token) taken from, returning the refilled count; no row when new
_TAKE_TOKEN_POSTGRES = sa.text(
    """
    WITH old AS (SELECT name, tokens, updated FROM rate_buckets WHERE name = :name FOR UPDATE),
    refill AS (
        SELECT name, LEAST(CAST(:capacity AS double precision),
                           tokens + GREATEST(0.0, CAST(:now AS double precision) - updated) * :per_second) AS tokens
        FROM old
    )
    UPDATE rate_buckets
    SET tokens = CASE WHEN refill.tokens >= 1.0 THEN refill.tokens - 1.0 ELSE refill.tokens END,
        updated = :now
    FROM refill
    WHERE rate_buckets.name = refill.name
    RETURNING refill.tokens
    """
)

#: a pooled PostgreSQL connection idle longer than this is pinged before use
_PING_AFTER_IDLE_S = 5.0


def _postgres_engine(url: str) -> sa.Engine:
    """A pooled engine that pings a connection only when it sat idle (a restart or an idle timeout may have
    closed it), not on every checkout: a ping is a round trip, and a request takes a connection two or three times.

    A connection that breaks in use anyway makes SQLAlchemy drop the whole pool (a restart ends them all).
    """
    engine = sa.create_engine(url, pool_size=10, max_overflow=20)

    @event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_connection: Any, record: Any) -> None:
        record.info["jt_idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.get("jt_idle_since")
        if idle_since is None or time.monotonic() - idle_since < _PING_AFTER_IDLE_S:
            return
        try:
            alive = engine.dialect.do_ping(dbapi_connection)
        except Exception:  # noqa: BLE001  # any failure: the pool opens a new connection instead
            alive = False
        if not alive:
            raise sa.exc.DisconnectionError("connection closed while idle")

    return engine


class PostgresStorage(Storage):
    """The scale path: several server processes share one PostgreSQL; run rows are locked while applied."""

    backend = "postgresql"

    def __init__(self, url: str) -> None:
        super().__init__(url, _postgres_engine(url))
        self._autocommit = self.engine.execution_options(isolation_level="AUTOCOMMIT")

    def migrate(self) -> int:
        with self.write() as connection:
            # one migrating process at a time; the lock ends with the transaction
            connection.execute(sa.select(sa.func.pg_advisory_xact_lock(0x6A74_7261_636B)))
            return t.migrate(connection)

    def _insert_ignore(self, table: sa.Table) -> Any:
        from sqlalchemy.dialects.postgresql import insert

        return insert(table).on_conflict_do_nothing()

    def _lock_run(self, query: sa.Select[Any], of: sa.Table | None = None) -> sa.Select[Any]:
        return query.with_for_update(of=of)

    def _read(self) -> contextlib.AbstractContextManager[sa.Connection]:
        """Autocommit: no BEGIN and ROLLBACK round trips around a single read."""
        return self._autocommit.connect()

    def take_token(self, name: str, capacity: float, per_second: float, now: float) -> float:
        """As :meth:`Storage.take_token`, in one statement (one round trip) once the bucket exists.

        The statement locks the bucket row, refills it, takes a token when there is one and
        returns the refilled count; the lock ends with the statement (autocommit).
        """
        with self._autocommit.connect() as connection:
            refilled = connection.execute(
                _TAKE_TOKEN_POSTGRES, {"name": name, "capacity": capacity, "per_second": per_second, "now": now}
            ).scalar()
        if refilled is None:  # a new bucket: created full, in a transaction of its own
            return super().take_token(name, capacity, per_second, now)
        return 0.0 if refilled >= 1.0 else (1.0 - float(refilled)) / per_second

    def _bulk_insert(self, connection: sa.Connection, table: sa.Table, rows: list[dict[str, Any]]) -> None:
        """One ``COPY ... FROM STDIN`` (binary) in the transaction: no statement per row."""
        names = list(rows[0])
        column_list = ", ".join(f'"{name}"' for name in names)
        cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
        with cursor.copy(f'COPY "{table.name}" ({column_list}) FROM STDIN (FORMAT BINARY)') as copy:
            copy.set_types([_copy_type(table.c[name].type) for name in names])
            for row in rows:
                copy.write_row([row[name] for name in names])


def _copy_type(kind: sa.types.TypeEngine[Any]) -> str:
    """The PostgreSQL type a binary ``COPY`` sends a column's values as."""
    if isinstance(kind, sa.BigInteger):
        return "int8"
    if isinstance(kind, sa.Integer):
        return "int4"
    if isinstance(kind, sa.Float):
        return "float8"
    if isinstance(kind, sa.LargeBinary):
        return "bytea"
    return "text"


def open_storage(url: str, migrate: bool = True) -> Storage:
    """Opens the storage a database URL names (``sqlite:///path`` or ``postgresql://...``)."""
    url = normalise_url(url)
    backend = sa.engine.make_url(url).get_backend_name()
    storage: Storage
    if backend == "sqlite":
        storage = SQLiteStorage(url)
    elif backend == "postgresql":
        storage = PostgresStorage(url)
    else:
        raise ValueError(f"unsupported database {backend!r}: use sqlite:///PATH or postgresql://...")
    if migrate:
        storage.migrate()
    return storage
