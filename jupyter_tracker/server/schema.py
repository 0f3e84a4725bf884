"""The server's tables (SQLAlchemy Core) and their versioned migrations.

The database holds a ``schema_version`` table with one row; :data:`MIGRATIONS` is the ordered
list of functions that take a database from version ``i`` to ``i + 1``. A migration never
edits an earlier one: a new version appends a function that alters what exists.
"""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa

from jupyter_tracker.server.json_documents import JsonDocument

metadata = sa.MetaData()

schema_version = sa.Table(
    "schema_version",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("version", sa.Integer, nullable=False),
)

#: users and teams share one namespace: an entity is where projects live
entities = sa.Table(
    "entities",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(128), nullable=False, unique=True),
    sa.Column("kind", sa.String(8), nullable=False),  # "user" | "team"
    sa.Column("created", sa.Float, nullable=False),
)

memberships = sa.Table(
    "memberships",
    metadata,
    sa.Column("team_id", sa.Integer, sa.ForeignKey("entities.id"), primary_key=True),
    sa.Column("user_id", sa.Integer, sa.ForeignKey("entities.id"), primary_key=True),
)

api_keys = sa.Table(
    "api_keys",
    metadata,
    sa.Column("key_id", sa.String(32), primary_key=True),  # the non-secret prefix of the key
    sa.Column("entity_id", sa.Integer, sa.ForeignKey("entities.id"), nullable=False),
    sa.Column("kind", sa.String(8), nullable=False),  # "user" | "service"
    sa.Column("secret_hash", sa.String(256), nullable=False),  # scrypt$n$r$p$salt$hash
    sa.Column("created", sa.Float, nullable=False),
    sa.Column("revoked", sa.Float, nullable=True),
    sa.Column("rotated_from", sa.String(32), nullable=True),
    sa.Index("ix_api_keys_entity", "entity_id"),
)

projects = sa.Table(
    "projects",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("entity_id", sa.Integer, sa.ForeignKey("entities.id"), nullable=False),
    sa.Column("name", sa.String(255), nullable=False),
    sa.Column("created", sa.Float, nullable=False),
    sa.UniqueConstraint("entity_id", "name", name="uq_projects_entity_name"),
)

runs = sa.Table(
    "runs",
    metadata,
    sa.Column("pk", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("project_id", sa.Integer, sa.ForeignKey("projects.id"), nullable=False),
    sa.Column("run_id", sa.String(128), nullable=False),
    sa.Column("name", sa.String(255), nullable=True),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("group_name", sa.String(255), nullable=True),
    sa.Column("tags", sa.Text, nullable=False),  # JSON list
    sa.Column("notes", sa.Text, nullable=True),
    sa.Column("job_type", sa.String(255), nullable=True),
    sa.Column("created", sa.Float, nullable=False),
    sa.Column("updated", sa.Float, nullable=False),
    sa.Column("runtime", sa.Float, nullable=False),
    sa.Column("exit_code", sa.Integer, nullable=True),
    sa.Column("config", JsonDocument, nullable=False),  # JSON object (flat names); jsonb on PostgreSQL
    sa.Column("summary", JsonDocument, nullable=False),  # JSON: last values overlaid with manual values; jsonb too
    sa.Column("summary_manual", sa.Text, nullable=False),  # JSON: values set by hand
    sa.Column("last_values", sa.Text, nullable=False),  # JSON: last logged value of each key
    sa.Column("extra", sa.Text, nullable=False),  # JSON: other metadata, metric definitions, warnings, files
    sa.Column("applied_seq", sa.BigInteger, nullable=False),
    sa.Column("history_rows", sa.BigInteger, nullable=False),
    sa.Column("created_by", sa.String(128), nullable=True),
    sa.Column("version", sa.BigInteger, nullable=False),  # bumped at each change; lets readers cache
    sa.UniqueConstraint("project_id", "run_id", name="uq_runs_project_run"),
    sa.Index("ix_runs_project_created", "project_id", "created"),
)

#: every history row in full (msgpack), one table row each; replaced by history_blocks in version 5
history_rows = sa.Table(
    "history_rows",
    metadata,
    sa.Column("run_pk", sa.Integer, sa.ForeignKey("runs.pk"), primary_key=True),
    sa.Column("seq", sa.BigInteger, primary_key=True),
    sa.Column("step", sa.BigInteger, nullable=False),
    sa.Column("row", sa.LargeBinary, nullable=False),
    sa.Index("ix_history_rows_run_step", "run_pk", "step"),
)

#: numeric scalars per key, in chunks of packed arrays: a 100,000-point series is a few dozen rows
history_chunks = sa.Table(
    "history_chunks",
    metadata,
    sa.Column("run_pk", sa.Integer, sa.ForeignKey("runs.pk"), primary_key=True),
    sa.Column("key", sa.String(512), primary_key=True),
    sa.Column("chunk", sa.Integer, primary_key=True),
    sa.Column("points", sa.Integer, nullable=False),
    sa.Column("steps", sa.LargeBinary, nullable=False),  # little-endian int64
    sa.Column("point_values", sa.LargeBinary, nullable=False),  # little-endian float64
)

#: one row per numeric key of a run: how many chunks and points it has
history_keys = sa.Table(
    "history_keys",
    metadata,
    sa.Column("run_pk", sa.Integer, sa.ForeignKey("runs.pk"), primary_key=True),
    sa.Column("key", sa.String(512), primary_key=True),
    sa.Column("chunks", sa.Integer, nullable=False),
    sa.Column("points", sa.BigInteger, nullable=False),
    sa.Column("tail_points", sa.Integer, nullable=False),
)

#: system metrics (records of kind "system"): wall-time x-axis, no step; added in version 2
system_rows = sa.Table(
    "system_rows",
    metadata,
    sa.Column("run_pk", sa.Integer, sa.ForeignKey("runs.pk"), primary_key=True),
    sa.Column("seq", sa.BigInteger, primary_key=True),
    sa.Column("timestamp", sa.Float, nullable=False),
    sa.Column("runtime", sa.Float, nullable=False),
    sa.Column("row", sa.LargeBinary, nullable=False),  # msgpack of {"system/...": value}
)

#: token buckets of the rate limits, shared by every server process on the database; added in version 3
rate_buckets = sa.Table(
    "rate_buckets",
    metadata,
    sa.Column("name", sa.String(160), primary_key=True),  # "key:<key id>" or "ip:<address>"
    sa.Column("tokens", sa.Float, nullable=False),
    sa.Column("updated", sa.Float, nullable=False),  # unix time of the last take
)

#: signed-in browser sessions of the web pages (only a hash of the random session id); added in version 4
web_sessions = sa.Table(
    "web_sessions",
    metadata,
    sa.Column("session_hash", sa.String(64), primary_key=True),  # sha256 hex of the cookie's session id
    sa.Column("key_id", sa.String(32), nullable=False),  # the API key signed in with
    sa.Column("created", sa.Float, nullable=False),
    sa.Column("last_seen", sa.Float, nullable=False),
    sa.Column("expires", sa.Float, nullable=False),  # absolute end, whatever the activity
    sa.Column("idle_timeout", sa.Float, nullable=False),  # seconds without a request that end it
    sa.Index("ix_web_sessions_key", "key_id"),
    sa.Index("ix_web_sessions_expires", "expires"),
)

#: every history row in full (msgpack), one block per applied batch (see history_blocks.py); added in version 5
history_blocks = sa.Table(
    "history_blocks",
    metadata,
    sa.Column("run_pk", sa.Integer, sa.ForeignKey("runs.pk"), primary_key=True),
    sa.Column("first_seq", sa.BigInteger, primary_key=True),
    sa.Column("last_seq", sa.BigInteger, nullable=False),
    sa.Column("min_step", sa.BigInteger, nullable=False),
    sa.Column("max_step", sa.BigInteger, nullable=False),
    sa.Column("rows", sa.Integer, nullable=False),
    sa.Column("seqs", sa.LargeBinary, nullable=False),  # little-endian int64, one per row, increasing
    sa.Column("steps", sa.LargeBinary, nullable=False),  # little-endian int64, one per row
    sa.Column("ends", sa.LargeBinary, nullable=False),  # little-endian int64: where each row's bytes end
    sa.Column("block", sa.LargeBinary, nullable=False),  # the rows' msgpack, end to end
    sa.Index("ix_history_blocks_run_min_step", "run_pk", "min_step"),
)

_V1_TABLES = (entities, memberships, api_keys, projects, runs, history_rows, history_chunks, history_keys)


def _migration_1_initial(connection: sa.Connection) -> None:
    """Version 1: entities, memberships, keys, projects, runs and history."""
    for table in _V1_TABLES:
        table.create(connection, checkfirst=True)  # with the table's indexes


def _migration_2_system_rows(connection: sa.Connection) -> None:
    """Version 2: a table for system metrics, which have no step."""
    system_rows.create(connection, checkfirst=True)


def _migration_3_rate_buckets(connection: sa.Connection) -> None:
    """Version 3: rate-limit buckets in the database, so a limit holds across workers and hosts."""
    rate_buckets.create(connection, checkfirst=True)


def _migration_4_web_sessions(connection: sa.Connection) -> None:
    """Version 4: server-side web sessions, so signing out or revoking a key ends a copied cookie too."""
    web_sessions.create(connection, checkfirst=True)


def _migration_5_history_blocks(connection: sa.Connection) -> None:
    """Version 5: history rows move into one block per batch (a batch is one insert, whatever its size).

    The rows' msgpack bytes are kept as they are; every 1,000 rows of a run (in sequence order)
    become one block, and the per-row table is dropped.
    """
    from jupyter_tracker.server import history_blocks as blocks

    history_blocks.create(connection, checkfirst=True)
    if connection.dialect.name == "postgresql":
        # packed arrays and msgpack blocks barely compress: storing them as they are saves the
        # compression attempt of every insert (most of a batch's database time)
        for table, columns in (
            (history_blocks, ("seqs", "steps", "ends", "block")),
            (history_chunks, ("steps", "point_values")),
        ):
            for column in columns:
                connection.execute(sa.text(f"ALTER TABLE {table.name} ALTER COLUMN {column} SET STORAGE EXTERNAL"))
    rows = history_rows
    run_pks = connection.execute(sa.select(rows.c.run_pk).distinct()).scalars().all()
    for run_pk in run_pks:
        after = -1
        while True:
            found = connection.execute(
                sa.select(rows.c.seq, rows.c.step, rows.c.row)
                .where(rows.c.run_pk == run_pk, rows.c.seq > after)
                .order_by(rows.c.seq)
                .limit(1000)
            ).all()
            if not found:
                break
            block = blocks.pack_existing([r.seq for r in found], [r.step for r in found], [r.row for r in found])
            connection.execute(sa.insert(history_blocks).values(run_pk=run_pk, **block))
            after = int(found[-1].seq)
    rows.drop(connection)


def _migration_6_jsonb_documents(connection: sa.Connection) -> None:
    """Version 6: on PostgreSQL, run config and summary become jsonb (filters read them unparsed).

    SQLite keeps JSON text. A NUL character, which jsonb cannot hold, becomes U+FFFD.
    """
    if connection.dialect.name != "postgresql":
        return
    for column in ("config", "summary"):
        kind = connection.execute(
            sa.text(
                "SELECT data_type FROM information_schema.columns "
                "WHERE table_schema = current_schema() AND table_name = 'runs' AND column_name = :column"
            ),
            {"column": column},
        ).scalar()
        if kind != "jsonb":
            connection.execute(
                sa.text(
                    f"ALTER TABLE runs ALTER COLUMN {column} TYPE jsonb "
                    f"USING replace({column}, '\\u0000', '\\ufffd')::jsonb"
                )
            )


def _migration_7_spaced_int64_columns(connection: sa.Connection) -> None:
    """Version 7: int64 columns of history may hold an evenly spaced array in its 25-byte form.

    Nothing already stored changes (both forms are read; see :mod:`int64_columns`). The version
    is what keeps an older server, which reads only whole arrays, off a database written so.
    """


#: ``MIGRATIONS[i]`` takes the schema from version ``i`` to ``i + 1``
MIGRATIONS: list[Callable[[sa.Connection], None]] = [
    _migration_1_initial,
    _migration_2_system_rows,
    _migration_3_rate_buckets,
    _migration_4_web_sessions,
    _migration_5_history_blocks,
    _migration_6_jsonb_documents,
    _migration_7_spaced_int64_columns,
]
LATEST_VERSION = len(MIGRATIONS)


def current_version(connection: sa.Connection) -> int:
    """The version recorded in the database (0 for an empty one)."""
    if not sa.inspect(connection).has_table("schema_version"):
        return 0
    value = connection.execute(sa.select(schema_version.c.version).where(schema_version.c.id == 1)).scalar()
    return int(value or 0)


def migrate(connection: sa.Connection) -> int:
    """Applies every pending migration inside the caller's transaction; returns the new version."""
    schema_version.create(connection, checkfirst=True)
    version = current_version(connection)
    if version > LATEST_VERSION:
        raise RuntimeError(
            f"the database schema is version {version}, newer than this server understands ({LATEST_VERSION}); "
            "upgrade jupyter_tracker"
        )
    for index in range(version, LATEST_VERSION):
        MIGRATIONS[index](connection)
    if version == 0:
        connection.execute(sa.insert(schema_version).values(id=1, version=LATEST_VERSION))
    elif version != LATEST_VERSION:
        connection.execute(sa.update(schema_version).where(schema_version.c.id == 1).values(version=LATEST_VERSION))
    return LATEST_VERSION
