"""The server's storage layer on both backends: versioned migrations and URL handling."""

# ruff: noqa: F811  (pytest fixtures are imported, then named as parameters)
from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from jupyter_tracker.server import schema
from jupyter_tracker.server.storage import normalise_url, open_storage
from tests.integration.server_fixtures import postgres_database, server_backend  # noqa: F401

pytestmark = pytest.mark.integration


@contextlib.contextmanager
def database_url(backend: str, tmp_path: Path) -> Iterator[str]:
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'db.sqlite'}"
    else:
        with postgres_database() as url:
            yield url


def test_postgres_urls_use_psycopg_3() -> None:
    assert normalise_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalise_url("postgres://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalise_url("sqlite:///x.sqlite") == "sqlite:///x.sqlite"


def test_a_version_1_database_is_migrated_and_keeps_its_data(server_backend: str, tmp_path: Path) -> None:
    with database_url(server_backend, tmp_path) as url:
        engine = sa.create_engine(normalise_url(url))
        with engine.begin() as connection:  # a database as version 1 of the server left it
            schema.schema_version.create(connection)
            schema.MIGRATIONS[0](connection)
            connection.execute(sa.insert(schema.schema_version).values(id=1, version=1))
        engine.dispose()
        old = open_storage(url, migrate=False)
        key = old.create_key(user="alice")
        old.upsert_run("alice", "p", "r1", {"name": "kept"}, created_by="alice")
        old.close()

        storage = open_storage(url)
        try:
            with storage.engine.connect() as connection:
                assert schema.current_version(connection) == schema.LATEST_VERSION == 4
                assert sa.inspect(connection).has_table("system_rows")
                assert sa.inspect(connection).has_table("rate_buckets")
                assert sa.inspect(connection).has_table("web_sessions")
            assert storage.key_record(key.key_id) is not None
            assert storage.get_run("alice", "p", "r1")["name"] == "kept"
            batch = [["system", 1_700_000_000.0, 2.0, {"system/cpu_percent": 12.5}]]
            assert storage.apply_batch("alice", "p", "r1", 1, batch) == 1
            assert storage.system_rows(storage.run_pk("alice", "p", "r1")) == [
                {"system/cpu_percent": 12.5, "_timestamp": 1_700_000_000.0, "_runtime": 2.0}
            ]
        finally:
            storage.close()


def test_servers_starting_together_migrate_once(server_backend: str, tmp_path: Path) -> None:
    with database_url(server_backend, tmp_path) as url:
        errors: list[BaseException] = []

        def start() -> None:
            try:
                open_storage(url).close()
            except BaseException as error:  # noqa: BLE001  (reported below)
                errors.append(error)

        threads = [threading.Thread(target=start) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        storage = open_storage(url)
        try:
            with storage.engine.connect() as connection:
                assert schema.current_version(connection) == schema.LATEST_VERSION
                rows = connection.execute(sa.select(sa.func.count()).select_from(schema.schema_version)).scalar()
                assert rows == 1
        finally:
            storage.close()


def test_a_database_newer_than_the_server_is_refused(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    open_storage(url).close()
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        connection.execute(sa.update(schema.schema_version).values(version=schema.LATEST_VERSION + 1))
    engine.dispose()
    with pytest.raises(RuntimeError, match="newer than this server"):
        open_storage(url)


def test_series_survive_batches_that_cross_chunk_boundaries(server_backend: str, tmp_path: Path) -> None:
    import numpy as np

    from jupyter_tracker.server.history_series import CHUNK_POINTS

    with database_url(server_backend, tmp_path) as url:
        storage = open_storage(url)
        try:
            storage.create_key(user="a")
            storage.upsert_run("a", "p", "r", {}, created_by="a")
            seq = 1
            sizes = [1, CHUNK_POINTS - 2, 3, CHUNK_POINTS * 2 + 5, 700]
            step = 0
            for size in sizes:
                batch = [
                    ["h", s, 0.0, 0.0, {"x": s * 0.5, **({"sparse": -s} if s % 3 == 0 else {})}]
                    for s in range(step, step + size)
                ]
                seq = storage.apply_batch("a", "p", "r", seq, batch) + 1
                step += size
            pk = storage.run_pk("a", "p", "r")
            series = storage.series(pk, ["x", "sparse"])
            assert np.array_equal(series["x"][0], np.arange(step))
            assert np.array_equal(series["x"][1], np.arange(step) * 0.5)
            assert np.array_equal(series["sparse"][0], np.arange(0, step, 3))
            assert np.array_equal(series["sparse"][1], -np.arange(0, step, 3.0))
        finally:
            storage.close()


def test_series_from_batches_of_every_size_read_back_whole_in_few_chunks(server_backend: str, tmp_path: Path) -> None:
    with database_url(server_backend, tmp_path) as url:
        storage = open_storage(url)
        try:
            storage.ensure_user("alice")
            storage.upsert_run("alice", "p", "r", {}, created_by="alice")
            step = 0
            for size in [1, 1, 700, 3000, 5, 600, 1, 2048, 300, 4100, 1]:
                batch = [
                    ["h", step + i, 1.7e9 + step + i, float(step + i), {"loss": (step + i) / 7}] for i in range(size)
                ]
                assert storage.apply_batch("alice", "p", "r", step + 1, batch) == step + size
                step += size
            pk = storage.run_pk("alice", "p", "r")
            steps, values = storage.series(pk, ["loss"])["loss"]
            assert steps.tolist() == list(range(step))
            assert values.tolist() == [number / 7 for number in range(step)]
            with storage.engine.connect() as connection:
                chunks = connection.execute(
                    sa.select(sa.func.count()).where(
                        schema.history_chunks.c.run_pk == pk, schema.history_chunks.c.key == "loss"
                    )
                ).scalar()
            assert chunks is not None and chunks <= step // 512 + 2  # no chunk left tiny but the last
        finally:
            storage.close()
