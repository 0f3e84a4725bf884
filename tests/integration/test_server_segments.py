"""A real client's batches (run record, float history with system metrics and a summary among it, finish)
are stored as the same batches sent one record at a time store them, on both backends."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from jupyter_tracker.server import uniform_batch
from jupyter_tracker.server.storage import Storage, open_storage
from jupyter_tracker.store import records as run_log
from tests.integration.server_fixtures import (  # noqa: F401  (fixtures)
    ServerProcess,
    history_record,
    pack_batch,
    postgres_database,
    server_backend,
    shared_server,
)
from tests.integration.test_server import new_run, post, scan_all

pytestmark = pytest.mark.integration


def _client_like_records() -> list[list[Any]]:
    """What a client's sync sends for a short live run, in sequence order."""
    found: list[list[Any]] = [
        ["run", {"name": "segmented-1", "group": "g", "tags": ["t"], "created": 1_700_000_000.0, "host": "h"}],
        ["config", {"lr": 0.01, "epochs": 3}],
    ]
    for step in range(300):  # steps cross the 127/128 and 255/256 encoding widths
        loss = float("nan") if step == 77 else 1.0 / (step + 1)
        found.append(history_record(step, {"loss": loss, "acc": step / 300.0, "lr": 0.01}))
        if step % 50 == 25:
            found.append(
                [
                    "system",
                    1_700_000_000.0 + step,
                    step / 10.0,
                    {"system/cpu_percent": float(step % 7), "system/gpu": 1},
                ]
            )
        if step == 140:
            found.append(["summary", {"best": 0.5, "note": "mid"}])
        if step in (99, 199):  # an epoch's end: an int among the floats, and one key more
            found.append(history_record(step, {"loss": 0.25, "acc": 0.5, "lr": 0.01, "epoch": step // 100}))
    found.append(["finish", {"state": "finished", "exit_code": 0, "runtime": 31.5, "summary": {"loss": 0.1}}])
    return found


def _stored(client: httpx.Client, run_id: str) -> dict[str, Any]:
    """Everything a user reads back of a run's records, with JSON value types made visible."""
    run = client.get(f"/api/v1/runs/alice/mnist/{run_id}").json()
    rows = scan_all(client, run_id)
    history = {
        key: client.get(
            f"/api/v1/runs/alice/mnist/{run_id}/history", params={"keys": key, "samples": 10_000}
        ).json()["rows"]
        for key in ("loss", "acc", "epoch")
    }
    system = client.get(
        f"/api/v1/runs/alice/mnist/{run_id}/history",
        params={"stream": "system", "keys": "system/cpu_percent,system/gpu", "samples": 1000},
    ).json()["rows"]
    typed_rows = [[(key, type(value).__name__, value) for key, value in row.items()] for row in rows]
    fields = (
        *("name", "group", "tags", "config", "summary", "state"),
        *("exit_code", "runtime", "history_rows", "applied_seq"),
    )
    return {
        "run": {field: run[field] for field in fields},
        "summary_types": {key: type(value).__name__ for key, value in run["summary"].items()},
        "rows": typed_rows,
        "history": history,
        "system": system,
    }


def test_client_batches_store_what_records_sent_one_by_one_store(shared_server: ServerProcess) -> None:
    records = _client_like_records()
    # the second batch resends 30 records already applied; the last (4 rows and the finish) is
    # too short to be read as columns, and is sent alike to both runs
    last = len(records) - 5
    cuts = [(0, 130), (100, 260), (260, last)]
    for start, stop in cuts:
        read = uniform_batch.read(pack_batch(start + 1, records[start:stop]))
        assert isinstance(read, uniform_batch.Segments)  # the batches take the segmented path
    assert uniform_batch.read(pack_batch(last + 1, records[last:])) is None
    with shared_server.client() as client:
        one_by_one = new_run(client)
        for seq, record in enumerate(records[:last], start=1):  # a one-record batch is decoded the ordinary way
            assert uniform_batch.read(pack_batch(seq, [record])) is None
            assert post(client, one_by_one, seq, [record]).json() == {"applied_seq": seq}
        batched = new_run(client)
        for start, stop in cuts:
            assert post(client, batched, start + 1, records[start:stop]).json() == {"applied_seq": stop}
        for run_id in (one_by_one, batched):
            assert post(client, run_id, last + 1, records[last:]).json() == {"applied_seq": len(records)}
        assert post(client, batched, 1, records[:200]).json() == {"applied_seq": len(records)}  # resent: nothing new
        expected, got = _stored(client, one_by_one), _stored(client, batched)
        assert got == expected
        assert got["run"]["history_rows"] == 302 and got["run"]["state"] == "finished"
        epochs = [value for row in got["rows"] for key, _, value in row if key == "epoch"]
        assert epochs == [0, 1] and all(type(value) is int for value in epochs)


@pytest.mark.parametrize("rows", [40, 3], ids=["read-as-columns", "decoded"])
def test_a_finish_summary_sent_with_the_last_rows_is_the_run_summary(shared_server: ServerProcess, rows: int) -> None:
    """define_metric(summary="max") and the like: the finish record's summary, not the batch's last row, is the summary."""
    batch: list[Any] = [history_record(step, {"acc": 0.9 - step / 100, "loss": 1.0 / (step + 1)}) for step in range(rows)]
    batch.append(["finish", {"state": "finished", "exit_code": 0, "runtime": 9.0,
                             "summary": {"acc": 0.9, "loss": 1.0 / rows, "best_epoch": 0}}])
    assert isinstance(uniform_batch.read(pack_batch(1, batch)), uniform_batch.Segments) == (rows >= 8)
    with shared_server.client() as client:
        run_id = new_run(client)
        assert post(client, run_id, 1, batch).json() == {"applied_seq": rows + 1}
        run = client.get(f"/api/v1/runs/alice/mnist/{run_id}").json()
        assert run["summary"] == {"acc": 0.9, "loss": 1.0 / rows, "best_epoch": 0}
        assert run["state"] == "finished" and run["history_rows"] == rows


def test_a_bad_record_among_float_runs_is_refused_and_changes_nothing(shared_server: ServerProcess) -> None:
    batch: list[Any] = [history_record(step, {"loss": 1.0 / (step + 1)}) for step in range(40)]
    batch.insert(20, ["system", float("inf"), 1.0, {"system/cpu_percent": 1.0}])
    with shared_server.client() as client:
        run_id = new_run(client)
        answer = post(client, run_id, 1, batch)
        assert answer.status_code == 400 and "record 20 (seq 21) time must be a finite number" in answer.json()["error"]
        run = client.get(f"/api/v1/runs/alice/mnist/{run_id}").json()
        assert run["applied_seq"] == 0 and run["history_rows"] == 0


@contextmanager
def _storage(backend: str, tmp_path: Path) -> Iterator[Storage]:
    with ExitStack() as stack:
        url = f"sqlite:///{tmp_path / 'db.sqlite'}" if backend == "sqlite" else stack.enter_context(postgres_database())
        storage = open_storage(url)
        stack.callback(storage.close)
        yield storage


def _random_stream(rng: random.Random) -> list[list[Any]]:
    """A run's records: rows whose keys change now and then (some ints), NaN and bools among them, other kinds."""
    found: list[list[Any]] = [["run", {"name": "r"}]]
    key_sets = [("a", "b"), ("a", "b", "c"), ("x",), ("a", "epoch", "neg")]
    keys = key_sets[0]
    step = rng.choice([0, 100, 250, 65_530])
    for _ in range(rng.randint(50, 400)):
        draw = rng.random()
        if draw < 0.03:
            found.append(["system", 1.7e9, 1.0, {"system/cpu_percent": rng.random()}])
        elif draw < 0.05:
            found.append(["summary", {"s": rng.random()}])
        elif draw < 0.06:
            found.append(["config", {"c": rng.randint(0, 9)}])
        elif draw < 0.08:
            found.append(history_record(step, {"epoch": rng.randint(0, 300), "a": rng.random()}))
        elif draw < 0.09:
            keys = rng.choice(key_sets)
        elif draw < 0.095:
            found.append(history_record(step, {"a": float("nan"), "b": True}))
        else:
            ints = {"epoch": step // 50, "neg": -(step // 40)}  # ints whose encoding widens now and then
            found.append(history_record(step, {key: ints.get(key, rng.random()) for key in keys}))
        step += rng.choice([1, 1, 1, 0, 2])
    if rng.random() < 0.5:
        found.append(["finish", {"state": "finished", "exit_code": 0, "runtime": 5.0, "summary": {"q": 1}}])
    return found


def _read_back(storage: Storage, run_id: str) -> list[Any]:
    pk = storage.run_pk("alice", "p", run_id)
    run = storage.get_run("alice", "p", run_id)
    stamps = {"id", "run_id", "name", "created", "updated", "version"}
    kept = {key: value for key, value in run.items() if key not in stamps}
    keys = storage.numeric_keys(pk)
    series = {
        key: (steps.tolist(), [repr(value) for value in values.tolist()])
        for key, (steps, values) in storage.series(pk, keys).items()
    }
    rows = json.dumps(storage.scan_rows(pk, 0, 100_000), default=repr)
    return [kept, keys, series, rows, json.dumps(storage.system_rows(pk), default=repr)]


def test_random_client_streams_store_what_the_ordinary_decode_stores(server_backend: str, tmp_path: Path) -> None:
    """The same batches (overlapping resends among them) applied decoded and as read by uniform_batch."""
    pack = run_log.make_packer()
    read_kinds: set[str] = set()
    with _storage(server_backend, tmp_path) as storage:
        storage.ensure_user("alice")
        for trial in range(25):
            rng = random.Random(trial)
            stream = _random_stream(rng)
            decoded, read = f"decoded-{trial}", f"read-{trial}"
            for run_id in (decoded, read):
                storage.upsert_run("alice", "p", run_id, {}, "alice")
            start = 0
            while start < len(stream):
                stop = min(len(stream), start + rng.randint(1, 200))
                first = start - (rng.randint(0, min(start, 30)) if rng.random() < 0.4 else 0)
                payload = pack([first + 1, stream[first:stop]])
                storage.apply_batch("alice", "p", decoded, *run_log.decode_payload(payload), payload)
                columns = uniform_batch.read(payload)
                read_kinds.add(type(columns).__name__)
                batch: Any = run_log.decode_payload(payload)[1] if columns is None else columns
                storage.apply_batch("alice", "p", read, first + 1, batch, payload)
                start = stop
            assert _read_back(storage, read) == _read_back(storage, decoded)
    assert "Segments" in read_kinds
