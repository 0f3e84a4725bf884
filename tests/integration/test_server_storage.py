"""The server's storage layer on both backends: versioned migrations and URL handling."""

# ruff: noqa: F811  (pytest fixtures are imported, then named as parameters)
from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import sqlalchemy as sa

from jupyter_tracker.server import schema
from jupyter_tracker.server.storage import normalise_url, open_storage
from tests.helpers import errors_when_run_together
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
                assert schema.current_version(connection) == schema.LATEST_VERSION == 7
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
        assert errors_when_run_together(lambda: open_storage(url).close(), 4) == []
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


def test_history_written_as_whole_int64_arrays_reads_back_beside_the_short_form(
    server_backend: str, tmp_path: Path
) -> None:
    """A database written before version 7 (every int64 column whole) keeps its history readable and appendable."""
    with database_url(server_backend, tmp_path) as url:
        storage = open_storage(url)
        try:
            storage.ensure_user("alice")
            storage.upsert_run("alice", "p", "r", {}, created_by="alice")
            first = [["h", step, 1.7e9 + step, float(step), {"loss": step / 4}] for step in range(300)]
            assert storage.apply_batch("alice", "p", "r", 1, first) == 300
            pk = storage.run_pk("alice", "p", "r")
            with storage.engine.begin() as connection:
                stored_chunks = connection.execute(
                    sa.select(schema.history_chunks.c.key, schema.history_chunks.c.steps).where(
                        schema.history_chunks.c.run_pk == pk
                    )
                ).all()
                assert {len(steps) for _, steps in stored_chunks} == {25}  # written in the short form today
                for key, _ in stored_chunks:
                    whole = sa.literal(bytes(np.arange(300, dtype="<i8").tobytes()), sa.LargeBinary)
                    connection.execute(
                        sa.update(schema.history_chunks)
                        .where(schema.history_chunks.c.run_pk == pk, schema.history_chunks.c.key == key)
                        .values(steps=whole)
                    )
                whole_columns = {
                    "seqs": np.arange(1, 301, dtype="<i8").tobytes(),
                    "steps": np.arange(300, dtype="<i8").tobytes(),
                }
                connection.execute(
                    sa.update(schema.history_blocks).where(schema.history_blocks.c.run_pk == pk).values(**whole_columns)
                )
            second = [["h", step, 1.7e9 + step, float(step), {"loss": step / 4}] for step in range(300, 5000, 2)]
            assert storage.apply_batch("alice", "p", "r", 301, second) == 300 + len(second)
            expected_steps = [*range(300), *range(300, 5000, 2)]
            steps, values = storage.series(pk, ["loss"])["loss"]
            assert steps.tolist() == expected_steps
            assert values.tolist() == [step / 4 for step in expected_steps]
            assert storage.row_positions(pk) == list(range(1, len(expected_steps) + 1))
            assert [row["_step"] for row in storage.scan_rows(pk, 290, 20)] == expected_steps[290:310]
            assert storage.rows_at(pk, [1, 300, 301, 2650])[-1] == {
                "loss": 4998 / 4, "_step": 4998, "_timestamp": 1.7e9 + 4998, "_runtime": 4998.0
            }
        finally:
            storage.close()


def _reference_rows(applied: list[list]) -> list[tuple[int, int, dict]]:
    """(step, seq, full row) of every history record applied, in step order, as the server must return them."""
    found = []
    for seq, record in enumerate(applied, start=1):
        if record[0] == "h":
            _, step, when, runtime, logged = record
            found.append((step, seq, {**logged, "_step": step, "_timestamp": when, "_runtime": runtime}))
    return sorted(found, key=lambda item: (item[0], item[1]))


def test_history_rows_read_back_from_blocks_in_step_order(server_backend: str, tmp_path: Path) -> None:
    """Batches of every size, other records between rows, steps that go back: scans, samples and positions agree."""
    import random

    generator = random.Random(7)
    with database_url(server_backend, tmp_path) as url:
        storage = open_storage(url)
        try:
            storage.ensure_user("a")
            storage.upsert_run("a", "p", "r", {}, created_by="a")
            applied: list[list] = []
            step = 0
            for size in [1, 3, 700, 1, 2500, 40, 1, 999]:
                batch: list[list] = []
                for _ in range(size):
                    if generator.random() < 0.05:
                        batch.append(["config", {"lr": generator.random()}])
                    elif generator.random() < 0.05:
                        batch.append(["system", 1.7e9, 1.0, {"system/cpu": 3.5}])
                    else:
                        step += generator.choice([0, 1, 1, 2]) if generator.random() > 0.01 else -5  # a few go back
                        step = max(step, 0)
                        logged = {"loss": step / 3, "tag": f"s{step}", "n": step, **({"odd": True} if step % 2 else {})}
                        batch.append(["h", step, 1.7e9 + step, float(step), logged])
                storage.apply_batch("a", "p", "r", len(applied) + 1, batch)
                applied.extend(batch)
            expected = _reference_rows(applied)
            pk = storage.run_pk("a", "p", "r")
            assert storage.get_run("a", "p", "r")["history_rows"] == len(expected)
            assert storage.row_positions(pk) == [seq for _, seq, _ in expected]
            picks = sorted(generator.sample([seq for _, seq, _ in expected], 300)) + [10**9]
            chosen = set(picks)
            assert storage.rows_at(pk, picks) == [row for _, seq, row in expected if seq in chosen]
            for min_step, limit in [
                (0, 1),
                (0, 5000),
                (0, len(expected) + 1),
                (17, 250),
                (step // 2, 1001),
                (step + 1, 10),
            ]:
                want = [row for row_step, _, row in expected if row_step >= min_step][:limit]
                assert storage.scan_rows(pk, min_step, limit) == want, (min_step, limit)
        finally:
            storage.close()


def test_a_version_4_database_moves_its_history_rows_into_blocks(server_backend: str, tmp_path: Path) -> None:
    """The per-row history of version 4 reads back the same after the migration; on PostgreSQL config is jsonb."""
    import msgpack

    with database_url(server_backend, tmp_path) as url:
        engine = sa.create_engine(normalise_url(url))
        with engine.begin() as connection:  # a database as version 4 of the server left it
            schema.schema_version.create(connection)
            for migration in schema.MIGRATIONS[:4]:
                migration(connection)
            connection.execute(sa.insert(schema.schema_version).values(id=1, version=4))
            if connection.dialect.name == "postgresql":  # version 4 kept run documents as text
                for column in ("config", "summary"):
                    connection.execute(sa.text(f"ALTER TABLE runs ALTER COLUMN {column} TYPE text"))
        engine.dispose()
        old = open_storage(url, migrate=False)
        old.ensure_user("alice")
        old.upsert_run("alice", "p", "r1", {}, created_by="alice")
        old.upsert_run("alice", "p", "r2", {}, created_by="alice")
        old.close()
        expected: dict[str, list[dict]] = {"r1": [], "r2": []}
        engine = sa.create_engine(normalise_url(url))
        with engine.begin() as connection:
            pks = dict(connection.execute(sa.select(schema.runs.c.run_id, schema.runs.c.pk)).all())
            for run_id, count in (("r1", 2345), ("r2", 3)):
                rows = []
                for seq in range(1, count + 1):
                    step = seq // 2  # two rows a step
                    full = {"loss": seq / 7, "note": f"n{seq}", "_step": step, "_timestamp": 1.7e9, "_runtime": 1.0}
                    expected[run_id].append(full)
                    rows.append({"run_pk": pks[run_id], "seq": seq, "step": step, "row": msgpack.packb(full)})
                connection.execute(sa.insert(schema.history_rows), rows)
                connection.execute(
                    sa.text("UPDATE runs SET applied_seq = :count, history_rows = :count WHERE pk = :pk"),
                    {"count": count, "pk": pks[run_id]},
                )
            connection.execute(
                sa.text("UPDATE runs SET config = :config, summary = :summary"),
                {"config": '{"lr":0.001,"name":"a\\u0000b"}', "summary": '{"acc":0.5}'},
            )
        engine.dispose()

        storage = open_storage(url)
        try:
            with storage.engine.connect() as connection:
                assert schema.current_version(connection) == schema.LATEST_VERSION
                assert not sa.inspect(connection).has_table("history_rows")
                if server_backend == "postgresql":
                    kinds = connection.execute(
                        sa.text(
                            "SELECT column_name, data_type FROM information_schema.columns "
                            "WHERE table_name = 'runs' AND column_name IN ('config', 'summary')"
                        )
                    ).all()
                    assert dict(kinds) == {"config": "jsonb", "summary": "jsonb"}
            for run_id, rows in expected.items():
                pk = storage.run_pk("alice", "p", run_id)
                assert storage.scan_rows(pk, 0, 10_000) == rows
                assert storage.scan_rows(pk, 1000, 3) == [row for row in rows if row["_step"] >= 1000][:3]
                assert storage.rows_at(pk, storage.row_positions(pk)[::100]) == rows[::100]
            run = storage.get_run("alice", "p", "r1")
            nul = "\ufffd" if server_backend == "postgresql" else "\x00"  # jsonb cannot hold NUL
            assert run["config"] == {"lr": 0.001, "name": f"a{nul}b"}
            assert run["summary"] == {"acc": 0.5}
            # the migrated run goes on taking batches after its old rows
            batch = [["h", 5000, 1.7e9, 2.0, {"loss": 1.5}]]
            assert storage.apply_batch("alice", "p", "r2", 4, batch) == 4
            pk = storage.run_pk("alice", "p", "r2")
            assert storage.scan_rows(pk, 0, 10)[-1] == {
                "loss": 1.5,
                "_step": 5000,
                "_timestamp": 1.7e9,
                "_runtime": 2.0,
            }
        finally:
            storage.close()


def test_run_documents_keep_values_jsonb_cannot_hold(server_backend: str, tmp_path: Path) -> None:
    """A NUL in a config string, NaN and a huge float: the batch is applied and the run reads back."""
    with database_url(server_backend, tmp_path) as url:
        storage = open_storage(url)
        try:
            storage.ensure_user("a")
            storage.upsert_run("a", "p", "r", {}, created_by="a")
            batch = [
                ["config", {"name": "a\x00b", "lr": 1e-5}],
                ["h", 0, 1.7e9, 1.0, {"loss": float("nan"), "big": 1e300}],
            ]
            assert storage.apply_batch("a", "p", "r", 1, batch) == 2
            run = storage.get_run("a", "p", "r")
            assert run["config"]["name"] in ("a\x00b", "a\ufffdb")
            assert run["config"]["lr"] == 1e-5
            assert run["summary"]["loss"] == "NaN" and float(run["summary"]["big"]) == 1e300  # an int on PostgreSQL
            found = storage.query_runs_page("a", "p", {"config.lr": {"$lt": 0.001}}, "-summary.big", 0, 10)
            assert found is not None and [item["id"] for item in found[0]] == ["r"]
        finally:
            storage.close()


def test_a_rate_limit_bucket_gives_refuses_and_refills_tokens_alike_on_both_backends(
    server_backend: str, tmp_path: Path
) -> None:
    with database_url(server_backend, tmp_path) as url:
        storage = open_storage(url)
        try:
            taken = [storage.take_token("key:k1", 2.0, 1.0, now) for now in (100.0, 100.0, 100.0, 100.5, 101.0, 101.0)]
            assert taken == [0.0, 0.0, 1.0, 0.5, 0.0, 1.0]
            assert storage.take_token("key:other", 2.0, 1.0, 101.0) == 0.0  # each name its own bucket
        finally:
            storage.close()


def test_a_key_record_names_its_owner_and_every_team_of_a_user(server_backend: str, tmp_path: Path) -> None:
    with database_url(server_backend, tmp_path) as url:
        storage = open_storage(url)
        try:
            user_key = storage.create_key(user="bob", team="zeta")
            storage.add_member("alpha", "bob")
            service_key = storage.create_key(team="zeta", service=True)
            lone_key = storage.create_key(user="carol")
            bob = storage.key_record(user_key.key_id)
            assert bob is not None and (bob.entity, bob.entity_kind, bob.teams) == ("bob", "user", ("alpha", "zeta"))
            service = storage.key_record(service_key.key_id)
            assert service is not None and (service.entity, service.kind, service.teams) == ("zeta", "service", ())
            carol = storage.key_record(lone_key.key_id)
            assert carol is not None and carol.teams == ()
            assert storage.key_record("no-such-key") is None
        finally:
            storage.close()


def test_a_batch_applied_with_its_payload_reads_back_as_the_same_rows_and_series(
    server_backend: str, tmp_path: Path
) -> None:
    from jupyter_tracker.store import records

    mixed = [
        ["h", 0, 1_700_000_000.0, 0.0, {"loss": 1.0, "note": "first"}],
        ["config", {"lr": 0.1}],
        ["h", 1, 1_700_000_001.0, 1.0, {"loss": 0.5, "acc": 3}],
        ["system", 1_700_000_001.5, 1.5, {"system/cpu_percent": 10.0}],
        ["h", 2, 1_700_000_002.0, 2.0, {"loss": 0.25, "_step": 99}],
    ]
    same_keys = [["h", step, 1_700_000_000.0 + step, float(step), {"a": step * 0.5, "b": -1.0}] for step in range(3, 9)]
    with database_url(server_backend, tmp_path) as url:
        storage = open_storage(url)
        try:
            storage.ensure_user("alice")
            for run_id in ("sent", "packed"):
                storage.upsert_run("alice", "p", run_id, {}, created_by="alice")
                first = 1
                for batch in (mixed, same_keys):
                    payload = records.make_packer()([first, batch])
                    decoded_seq, decoded = records.decode_payload(payload)
                    sent = payload if run_id == "sent" else None
                    first = storage.apply_batch("alice", "p", run_id, decoded_seq, decoded, sent) + 1
            pks = {run_id: storage.run_pk("alice", "p", run_id) for run_id in ("sent", "packed")}
            rows = {run_id: storage.scan_rows(pk, 0, 100) for run_id, pk in pks.items()}
            assert rows["sent"] == rows["packed"]
            assert [row["_step"] for row in rows["sent"]] == list(range(9))
            assert rows["sent"][2] == {"loss": 0.25, "_step": 2, "_timestamp": 1_700_000_002.0, "_runtime": 2.0}
            assert storage.rows_at(pks["sent"], [3, 6]) == storage.rows_at(pks["packed"], [3, 6])
            keys = storage.numeric_keys(pks["sent"])
            assert keys == storage.numeric_keys(pks["packed"]) and {"loss", "acc", "a", "b"} <= set(keys)
            series = {run_id: storage.series(pk, keys) for run_id, pk in pks.items()}
            for key in keys:
                assert series["sent"][key][0].tolist() == series["packed"][key][0].tolist()
                assert series["sent"][key][1].tolist() == series["packed"][key][1].tolist()
            run = storage.get_run("alice", "p", "sent")
            assert run["summary"]["a"] == 4.0 and run["summary"]["loss"] == 0.25 and run["history_rows"] == 9
        finally:
            storage.close()
