"""The tracking server's HTTP API against a real server process (SQLite, and PostgreSQL when configured)."""
# ruff: noqa: F811  (pytest fixtures are imported, then named as parameters)

from __future__ import annotations

import json
import math
import os
import threading
import uuid
from typing import Any

import httpx
import numpy as np
import pytest

from tests.integration.server_fixtures import (  # noqa: F401  (fixtures)
    MSGPACK_HEADERS,
    ServerProcess,
    history_record,
    pack_batch,
    server,
    server_backend,
    server_factory,
    shared_server,
)

pytestmark = pytest.mark.integration


def new_run(client: httpx.Client, project: str = "mnist", **metadata: Any) -> str:
    run_id = uuid.uuid4().hex[:10]
    answer = client.put(f"/api/v1/runs/alice/{project}/{run_id}", json={"metadata": metadata})
    assert answer.status_code in (200, 201), answer.text
    return run_id


def post(client: httpx.Client, run_id: str, first_seq: int, batch: list[Any], project: str = "mnist") -> httpx.Response:
    return client.post(
        f"/api/v1/runs/alice/{project}/{run_id}/records", content=pack_batch(first_seq, batch), headers=MSGPACK_HEADERS
    )


def scan_all(client: httpx.Client, run_id: str, page_size: int = 1000, keys: str | None = None) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    min_step: int | None = 0
    while min_step is not None:
        params: dict[str, Any] = {"min_step": min_step, "page_size": page_size}
        if keys:
            params["keys"] = keys
        page = client.get(f"/api/v1/runs/alice/mnist/{run_id}/scan_history", params=params).json()
        rows.extend(page["rows"])
        min_step = page["next_min_step"]
    return rows


def test_health_needs_no_key_and_reports_version(shared_server: ServerProcess) -> None:
    answer = httpx.get(f"{shared_server.base_url}/api/v1/health")
    assert answer.status_code == 200
    assert answer.json()["status"] == "ok" and answer.json()["version"]


def test_openapi_schema_lists_the_api(shared_server: ServerProcess) -> None:
    with shared_server.client() as client:
        schema = client.get("/api/v1/openapi.json").json()
    assert schema["openapi"].startswith("3.")
    assert "/api/v1/runs/{entity}/{project}/{run_id}/records" in schema["paths"]
    assert "/api/v1/projects/{entity}/{project}/runs" in schema["paths"]


def test_viewer_names_the_user_and_entities(shared_server: ServerProcess) -> None:
    with shared_server.client() as client:
        viewer = client.get("/api/v1/viewer").json()
    assert viewer == {"username": "alice", "entities": ["alice"], "default_entity": "alice", "key_kind": "user"}


def test_create_then_resume_a_run_returns_applied_seq(shared_server: ServerProcess) -> None:
    with shared_server.client() as client:
        run_id = uuid.uuid4().hex[:8]
        created = client.put(f"/api/v1/runs/alice/mnist/{run_id}", json={"metadata": {"name": "first", "tags": ["a"]}})
        assert created.status_code == 201
        assert created.json() == {"run_id": run_id, "applied_seq": 0, "created": True}
        assert post(client, run_id, 1, [history_record(0, {"loss": 1.0}), history_record(1, {"loss": 0.5})]).json() == {
            "applied_seq": 2
        }
        again = client.put(f"/api/v1/runs/alice/mnist/{run_id}", json={"metadata": {"name": "first"}})
        assert again.status_code == 200
        assert again.json() == {"run_id": run_id, "applied_seq": 2, "created": False}


def test_every_record_kind_is_applied(shared_server: ServerProcess) -> None:
    with shared_server.client() as client:
        run_id = new_run(client, name="n0")
        batch = [
            [
                "run",
                {
                    "name": "brisk-river-1",
                    "group": "exp",
                    "tags": ["base"],
                    "notes": "hi",
                    "job_type": "train",
                    "created": 1_700_000_000.0,
                    "host": "h",
                },
            ],
            ["config", {"lr": 0.01, "layers": [1, 2]}],
            ["define", {"name": "val/*", "step_metric": "epoch"}],
            history_record(0, {"loss": 2.0, "text": "a", "arr": np.arange(3, dtype=np.float32)}),
            history_record(1, {"loss": float("nan"), "acc": float("inf")}),
            ["summary", {"best": 7}],
            ["warning", {"kind": "points", "bound": 1, "observed": 2, "subject": "loss"}],
            ["file", {"name": "model.pt", "size": 3, "policy": "now"}],
        ]
        assert post(client, run_id, 1, batch).json() == {"applied_seq": len(batch)}
        run = client.get(f"/api/v1/runs/alice/mnist/{run_id}").json()
        assert run["name"] == "brisk-river-1" and run["group"] == "exp" and run["tags"] == ["base"]
        assert run["notes"] == "hi" and run["job_type"] == "train" and run["created"] == 1_700_000_000.0
        assert run["config"] == {"lr": 0.01, "layers": [1, 2]}
        assert run["summary"] == {"loss": "NaN", "text": "a", "arr": [0.0, 1.0, 2.0], "acc": "Infinity", "best": 7}
        assert run["state"] == "running" and run["applied_seq"] == len(batch)
        finish = ["finish", {"state": "finished", "exit_code": 0, "runtime": 12.5, "summary": {"loss": 0.1}}]
        post(client, run_id, len(batch) + 1, [finish])
        run = client.get(f"/api/v1/runs/alice/mnist/{run_id}").json()
        assert (run["state"], run["exit_code"], run["runtime"], run["summary"]) == ("finished", 0, 12.5, {"loss": 0.1})
        rows = scan_all(client, run_id)
        assert [row["_step"] for row in rows] == [0, 1]
        assert rows[0]["arr"] == [0.0, 1.0, 2.0] and rows[1]["loss"] == "NaN" and rows[1]["acc"] == "Infinity"


def test_resending_a_batch_changes_nothing(shared_server: ServerProcess) -> None:
    with shared_server.client() as client:
        run_id = new_run(client)
        batch = [history_record(step, {"loss": 1.0 / (step + 1)}) for step in range(50)] + [["config", {"a": 1}]]
        assert post(client, run_id, 1, batch).json() == {"applied_seq": 51}
        before = client.get(f"/api/v1/runs/alice/mnist/{run_id}").json()
        rows_before = scan_all(client, run_id)
        for _ in range(2):
            assert post(client, run_id, 1, batch).json() == {"applied_seq": 51}
        # a batch overlapping what was applied adds only its new records
        overlap = batch[40:] + [history_record(50, {"loss": 0.0})]
        assert post(client, run_id, 41, overlap).json() == {"applied_seq": 52}
        after = client.get(f"/api/v1/runs/alice/mnist/{run_id}").json()
        rows_after = scan_all(client, run_id)
        assert rows_after[:50] == rows_before and len(rows_after) == 51
        assert after["config"] == before["config"] and after["history_rows"] == 51


def test_float_rows_resent_in_part_add_only_their_new_rows(shared_server: ServerProcess) -> None:
    """Rows that all log the same float keys (read as columns): an overlapping batch, steps across widths."""
    steps = [*range(120, 140), 70_000, 70_001]
    batch = [history_record(step, {"loss": 1.0 / (step + 1), "acc": step / 1e5}) for step in steps]
    with shared_server.client() as client:
        run_id = new_run(client)
        assert post(client, run_id, 1, batch[:12]).json() == {"applied_seq": 12}
        assert post(client, run_id, 6, batch[5:]).json() == {"applied_seq": len(steps)}
        rows = scan_all(client, run_id)
        assert [row["_step"] for row in rows] == steps
        assert [(row["loss"], row["acc"], row["_runtime"]) for row in rows] == [
            (record[4]["loss"], record[4]["acc"], record[3]) for record in batch
        ]
        answer = client.get(
            f"/api/v1/runs/alice/mnist/{run_id}/history", params={"keys": "loss", "samples": 1000}
        ).json()
        assert [(row["_step"], row["loss"]) for row in answer["rows"]] == [
            (record[1], record[4]["loss"]) for record in batch
        ]
        run = client.get(f"/api/v1/runs/alice/mnist/{run_id}").json()
        assert run["history_rows"] == len(steps) and run["summary"]["loss"] == batch[-1][4]["loss"]
        late = [["h", 70_002, 1e300, 1.0, {"loss": 0.5, "acc": 0.5}]]  # a time out of range: refused
        answer = post(client, run_id, len(steps) + 1, late)
        assert answer.status_code == 400 and "time must be a finite number" in answer.json()["error"]
        assert client.get(f"/api/v1/runs/alice/mnist/{run_id}").json()["applied_seq"] == len(steps)


def test_a_gap_is_refused_with_409(shared_server: ServerProcess) -> None:
    with shared_server.client() as client:
        run_id = new_run(client)
        post(client, run_id, 1, [history_record(0, {"x": 1})])
        answer = post(client, run_id, 5, [history_record(4, {"x": 1})])
        assert answer.status_code == 409
        assert answer.json() == {
            "error": "sequence gap: server has applied up to 1, batch starts at 5",
            "applied_seq": 1,
        }
        assert client.get(f"/api/v1/runs/alice/mnist/{run_id}").json()["applied_seq"] == 1


@pytest.mark.parametrize(
    "body, needle",
    [
        (b"\xc1\xc1 not msgpack", "malformed batch"),
        (pack_batch(1, []), "non-empty list"),
        (pack_batch(0, [["config", {}]]), "first_seq"),
        (pack_batch(1, [history_record(0, {"a": 1}), ["h", "one", 0.0, 0.0, {}]]), "record 1 (seq 2)"),
        (pack_batch(1, [["config", {"a": 1}], ["config", [1, 2]]]), "must carry a dict"),
        (pack_batch(1, [history_record(0, {"a": 1}), 42]), "not a [kind, ...] list"),
    ],
)
def test_a_malformed_batch_gets_400_and_changes_nothing(shared_server: ServerProcess, body: bytes, needle: str) -> None:
    with shared_server.client() as client:
        run_id = new_run(client)
        answer = client.post(f"/api/v1/runs/alice/mnist/{run_id}/records", content=body, headers=MSGPACK_HEADERS)
        assert answer.status_code == 400
        assert needle in answer.json()["error"]
        run = client.get(f"/api/v1/runs/alice/mnist/{run_id}").json()
        assert run["applied_seq"] == 0 and run["config"] == {} and run["history_rows"] == 0
        assert scan_all(client, run_id) == []


def test_records_need_the_msgpack_content_type(shared_server: ServerProcess) -> None:
    with shared_server.client() as client:
        run_id = new_run(client)
        answer = client.post(
            f"/api/v1/runs/alice/mnist/{run_id}/records",
            content=pack_batch(1, [["config", {}]]),
            headers={"Content-Type": "application/json"},
        )
        assert answer.status_code == 415 and "application/msgpack" in answer.json()["error"]


def test_records_for_an_unknown_run_get_404(shared_server: ServerProcess) -> None:
    with shared_server.client() as client:
        answer = post(client, "no-such-run", 1, [["config", {"a": 1}]])
        assert answer.status_code == 404 and "no run" in answer.json()["error"]


def test_an_oversized_batch_gets_413_and_changes_nothing(server_factory: Any) -> None:
    server = server_factory(extra_args=("--max-batch-bytes", "20000"))
    with server.client() as client:
        run_id = new_run(client)
        big = [history_record(step, {"blob": "x" * 1000}) for step in range(40)]
        answer = post(client, run_id, 1, big)
        assert answer.status_code == 413
        assert "over the limit of 20000 bytes" in answer.json()["error"]
        assert client.get(f"/api/v1/runs/alice/mnist/{run_id}").json()["applied_seq"] == 0
        assert post(client, run_id, 1, big[:5]).json() == {"applied_seq": 5}


def test_the_same_batch_posted_concurrently_is_applied_once(server_factory: Any) -> None:
    # two worker processes share the database: the applied_seq check must be atomic across them
    server = server_factory(extra_args=("--workers", "2"))
    with server.client() as client:
        run_id = new_run(client)
    batch = [history_record(step, {"loss": float(step)}) for step in range(200)]
    answers: list[int] = []

    def send() -> None:
        with server.client() as own:
            answers.append(post(own, run_id, 1, batch).status_code)

    threads = [threading.Thread(target=send) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert answers == [200] * 8
    with server.client() as client:
        run = client.get(f"/api/v1/runs/alice/mnist/{run_id}").json()
        assert run["applied_seq"] == 200 and run["history_rows"] == 200
        assert [row["_step"] for row in scan_all(client, run_id)] == list(range(200))


def test_history_downsampling_keeps_min_max_and_respects_samples(shared_server: ServerProcess) -> None:
    points = 10_000
    rng = np.random.default_rng(0)
    loss = rng.normal(size=points)
    loss[1234] = 50.0  # a spike that must survive
    loss[8765] = -40.0
    with shared_server.client() as client:
        run_id = new_run(client)
        batch = [
            history_record(step, {"loss": float(loss[step]), "epoch": step // 100, "acc": float(step) / points})
            for step in range(points)
        ]
        for start in range(0, points, 2500):
            post(client, run_id, start + 1, batch[start : start + 2500])
        answer = client.get(
            f"/api/v1/runs/alice/mnist/{run_id}/history", params={"keys": "loss,acc", "samples": 200}
        ).json()
        assert answer["x_axis"] == "_step"
        rows = answer["rows"]
        loss_points = [(row["_step"], row["loss"]) for row in rows if "loss" in row]
        acc_points = [row["acc"] for row in rows if "acc" in row]
        assert 0 < len(loss_points) <= 200 and 0 < len(acc_points) <= 200
        values = [value for _, value in loss_points]
        assert max(values) == 50.0 and min(values) == -40.0
        assert (1234, 50.0) in loss_points and (8765, -40.0) in loss_points
        assert loss_points[0][0] == 0 and loss_points[-1][0] == points - 1
        assert all(loss[step] == value for step, value in loss_points)
        assert [row["_step"] for row in rows] == sorted(row["_step"] for row in rows)
        # any key as the x-axis
        by_acc = client.get(
            f"/api/v1/runs/alice/mnist/{run_id}/history", params={"keys": "loss", "samples": 100, "x_axis": "acc"}
        ).json()
        assert by_acc["x_axis"] == "acc"
        assert 0 < len(by_acc["rows"]) <= 100
        assert all(row["acc"] == row["_step"] / points for row in by_acc["rows"])
        assert max(row["loss"] for row in by_acc["rows"]) == 50.0
        # fewer points than samples: everything comes back
        full = client.get(
            f"/api/v1/runs/alice/mnist/{run_id}/history", params={"keys": "epoch", "samples": 20_000}
        ).json()["rows"]
        assert len(full) == points


def test_history_of_non_numeric_keys_and_nan(shared_server: ServerProcess) -> None:
    with shared_server.client() as client:
        run_id = new_run(client)
        post(
            client,
            run_id,
            1,
            [
                history_record(step, {"text": f"t{step}", "v": float("nan") if step == 3 else step})
                for step in range(10)
            ],
        )
        rows = client.get(f"/api/v1/runs/alice/mnist/{run_id}/history", params={"keys": "text,v", "samples": 5}).json()
        rows = rows["rows"]
        texts = [row["text"] for row in rows if "text" in row]
        assert len(texts) == 5 and texts[0] == "t0" and texts[-1] == "t9"
        everything = client.get(f"/api/v1/runs/alice/mnist/{run_id}/history", params={"keys": "v"}).json()["rows"]
        assert [row["v"] for row in everything][2:4] == [2.0, "NaN"]
        answer = client.get(f"/api/v1/runs/alice/mnist/{run_id}/history", params={"samples": 0})
        assert answer.status_code == 400 and "samples" in answer.json()["error"]


def test_scan_history_pages_through_every_row(shared_server: ServerProcess) -> None:
    with shared_server.client() as client:
        run_id = new_run(client)
        batch = [history_record(step, {"a": step, **({"b": -step} if step % 2 else {})}) for step in range(1000)]
        post(client, run_id, 1, batch)
        first = client.get(f"/api/v1/runs/alice/mnist/{run_id}/scan_history", params={"page_size": 300}).json()
        assert len(first["rows"]) == 300 and first["next_min_step"] == 300
        rows = scan_all(client, run_id, page_size=300)
        assert [row["_step"] for row in rows] == list(range(1000))
        assert rows[5] == {"a": 5, "b": -5, "_step": 5, "_timestamp": 1_700_000_005.0, "_runtime": 0.5}
        only_b = scan_all(client, run_id, page_size=128, keys="b")
        assert only_b == [{"_step": step, "b": -step} for step in range(1, 1000, 2)]


def test_runs_query_filters_orders_and_pages(shared_server: ServerProcess) -> None:
    project = f"query-{uuid.uuid4().hex[:6]}"
    with shared_server.client() as client:
        for index in range(12):
            run_id = f"run{index:02d}"
            client.put(
                f"/api/v1/runs/alice/{project}/{run_id}",
                json={
                    "metadata": {
                        "name": f"n{index}",
                        "group": "even" if index % 2 == 0 else "odd",
                        "tags": ["tuned"] if index >= 6 else [],
                        "created": 1000.0 + index,
                    }
                },
            )
            batch = [["config", {"lr": index / 100}], history_record(0, {"acc": index / 12})]
            if index % 3 == 0:
                batch.append(["finish", {"state": "finished", "exit_code": 0, "runtime": 1.0, "summary": None}])
            post(client, run_id, 1, batch, project=project)

        def query(**params: Any) -> dict[str, Any]:
            if "filters" in params:
                params["filters"] = json.dumps(params["filters"])
            answer = client.get(f"/api/v1/projects/alice/{project}/runs", params=params)
            assert answer.status_code == 200, answer.text
            return answer.json()

        everything = query(per_page=100)
        assert everything["total"] == 12
        assert [run["id"] for run in everything["runs"]] == [f"run{i:02d}" for i in range(12)]  # oldest first
        low_lr = query(filters={"config.lr": {"$lt": 0.05}})
        assert sorted(run["id"] for run in low_lr["runs"]) == [f"run{i:02d}" for i in range(5)]
        finished_even = query(filters={"state": "finished", "group": "even"})
        assert sorted(run["id"] for run in finished_even["runs"]) == ["run00", "run06"]
        tagged = query(filters={"tags": "tuned"}, order="-summary.acc")
        assert [run["id"] for run in tagged["runs"]] == [f"run{i:02d}" for i in range(11, 5, -1)]
        page = query(order="-summary.acc", page=2, per_page=5)
        assert page["total"] == 12
        assert [run["id"] for run in page["runs"]] == [f"run{i:02d}" for i in range(6, 1, -1)]
        either = query(filters={"$or": [{"config.lr": {"$gte": 0.11}}, {"name": "n0"}]})
        assert sorted(run["id"] for run in either["runs"]) == ["run00", "run11"]
        run = everything["runs"][0]
        assert set(run) >= {
            "id",
            "name",
            "state",
            "entity",
            "project",
            "group",
            "tags",
            "notes",
            "job_type",
            "created",
            "updated",
            "runtime",
            "exit_code",
            "config",
            "summary",
            "applied_seq",
        }
        assert query(filters={"config.lr": {"$lt": 0}})["runs"] == []
        bad = client.get(f"/api/v1/projects/alice/{project}/runs", params={"filters": "{not json"})
        assert bad.status_code == 400 and "filters" in bad.json()["error"]
        bad_operator = client.get(
            f"/api/v1/projects/alice/{project}/runs", params={"filters": json.dumps({"config.lr": {"$bogus": 1}})}
        )
        assert bad_operator.status_code == 400
        assert query(filters={})["total"] == 12
        unknown = client.get("/api/v1/projects/alice/nothing-here/runs").json()
        assert unknown == {"runs": [], "total": 0}


def test_files_upload_list_download(shared_server: ServerProcess) -> None:
    with shared_server.client() as client:
        run_id = new_run(client)
        base = f"/api/v1/runs/alice/mnist/{run_id}/files"
        data = os.urandom(300_000)
        answer = client.put(f"{base}/media/images/a.png", content=data)
        assert answer.json() == {"name": "media/images/a.png", "size": len(data)}
        client.put(f"{base}/output.log", content=b"hello\n")
        client.put(f"{base}/output.log", content=b"hello again\n")  # a newer version replaces the file
        listed = client.get(base).json()
        assert [(item["name"], item["size"]) for item in listed] == [
            ("media/images/a.png", len(data)),
            ("output.log", 12),
        ]
        assert client.get(f"{base}/media/images/a.png").content == data
        assert client.get(f"{base}/output.log").content == b"hello again\n"
        missing = client.get(f"{base}/nope.txt")
        assert missing.status_code == 404 and "nope.txt" in missing.json()["error"]


@pytest.mark.parametrize(
    "raw_name",
    ["..%2Fx", "a/..%2F..%2Fx", "%2Fetc%2Fpasswd", "/etc/passwd", "a%5Cb", "a%00b", "%2E%2Fx", "a//b", "%2E%2E"],
)
def test_file_names_that_try_to_escape_are_refused(shared_server: ServerProcess, raw_name: str) -> None:
    with shared_server.client() as client:
        run_id = new_run(client)
        # the path goes out exactly as written: httpx would otherwise remove dot segments
        raw_path = f"/api/v1/runs/alice/mnist/{run_id}/files/{raw_name}".encode()
        answer = client.put(httpx.URL(shared_server.base_url).copy_with(raw_path=raw_path), content=b"x")
        assert answer.status_code in (400, 404), answer.text
        if answer.status_code == 400:
            assert "not allowed" in answer.json()["error"] or "file name" in answer.json()["error"]
        assert client.get(f"/api/v1/runs/alice/mnist/{run_id}/files").json() == []
    assert not (shared_server.data_dir.parent / "x").exists()


def test_links_in_the_file_store_are_never_followed(shared_server: ServerProcess, tmp_path: Any) -> None:
    with shared_server.client() as client:
        run_id = new_run(client)
        base = f"/api/v1/runs/alice/mnist/{run_id}/files"
        client.put(f"{base}/real.txt", content=b"ok")
        run_folder = next(path for path in (shared_server.data_dir / "runs").iterdir() if (path / "real.txt").exists())
        outside = tmp_path / "outside"
        outside.mkdir()
        (outside / "secret.txt").write_text("secret")
        (run_folder / "link.txt").symlink_to(outside / "secret.txt")
        (run_folder / "linkdir").symlink_to(outside, target_is_directory=True)
        for name in ("link.txt", "linkdir/secret.txt"):
            got = client.get(f"{base}/{name}")
            assert got.status_code == 400 and "link" in got.json()["error"]
            put = client.put(f"{base}/{name}", content=b"overwrite")
            assert put.status_code == 400 and "link" in put.json()["error"]
        assert (outside / "secret.txt").read_text() == "secret"
        assert [item["name"] for item in client.get(base).json()] == ["real.txt"]


def test_an_oversized_file_gets_413_and_is_not_kept(server_factory: Any) -> None:
    server = server_factory(extra_args=("--max-file-bytes", "1000"))
    with server.client() as client:
        run_id = new_run(client)
        base = f"/api/v1/runs/alice/mnist/{run_id}/files"
        answer = client.put(f"{base}/big.bin", content=b"x" * 1001)
        assert answer.status_code == 413 and "size limit of 1000 bytes" in answer.json()["error"]

        def chunks() -> Any:  # no Content-Length: the limit is enforced while streaming
            for _ in range(5):
                yield b"y" * 300

        streamed = client.put(f"{base}/big.bin", content=chunks())
        assert streamed.status_code == 413
        assert client.get(base).json() == []
        assert client.put(f"{base}/small.bin", content=b"x" * 1000).json() == {"name": "small.bin", "size": 1000}


def test_nan_and_infinity_are_json_strings_everywhere(shared_server: ServerProcess) -> None:
    with shared_server.client() as client:
        run_id = new_run(client)
        post(client, run_id, 1, [["config", {"c": float("-inf")}], history_record(0, {"v": float("inf")})])
        run = client.get(f"/api/v1/runs/alice/mnist/{run_id}").json()
        assert run["config"] == {"c": "-Infinity"} and run["summary"]["v"] == "Infinity"
        rows = client.get(f"/api/v1/runs/alice/mnist/{run_id}/history", params={"keys": "v"}).json()["rows"]
        assert rows == [{"_step": 0, "v": "Infinity"}]
        assert not math.isnan(run["runtime"])


def test_system_metrics_are_kept_and_sampled_against_wall_time(shared_server: ServerProcess) -> None:
    with shared_server.client() as client:
        run_id = new_run(client)
        batch = [
            [
                "system",
                1_700_000_000.0 + 15 * i,
                15.0 * i,
                {"system/cpu_percent": float(i % 7), "system/memory_percent": 50.0},
            ]
            for i in range(100)
        ]
        batch.insert(50, history_record(0, {"loss": 1.0}))  # system rows do not touch the step
        assert post(client, run_id, 1, batch).json() == {"applied_seq": 101}
        answer = client.get(
            f"/api/v1/runs/alice/mnist/{run_id}/history",
            params={"stream": "system", "keys": "system/cpu_percent", "samples": 20},
        ).json()
        assert answer["x_axis"] == "_runtime"
        values = [row["system/cpu_percent"] for row in answer["rows"]]
        assert 0 < len(values) <= 20 and min(values) == 0.0 and max(values) == 6.0
        assert [row["_step"] for row in scan_all(client, run_id)] == [0]


def test_two_server_processes_share_one_database(server_factory: Any) -> None:
    first = server_factory()
    second = server_factory(db_url=first.db_url)
    with first.client() as one, second.client(api_key=first.api_key) as other:
        run_id = new_run(one)
        assert other.put(f"/api/v1/runs/alice/mnist/{run_id}", json={"metadata": {}}).json()["created"] is False
        batches = [
            [history_record(step, {"loss": float(step)}) for step in range(start, start + 50)]
            for start in range(0, 500, 50)
        ]
        answers: list[int] = []

        def send(client: httpx.Client) -> None:
            # every batch goes to both servers at once: each is applied exactly once
            for index, batch in enumerate(batches):
                answer = post(client, run_id, index * 50 + 1, batch)
                if answer.status_code == 409:  # the other server is ahead; resend from its applied_seq
                    continue
                answers.append(answer.status_code)

        threads = [threading.Thread(target=send, args=(client,)) for client in (one, other)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert set(answers) == {200}
        for client in (one, other):
            run = client.get(f"/api/v1/runs/alice/mnist/{run_id}").json()
            assert run["applied_seq"] == 500 and run["history_rows"] == 500
        assert [row["_step"] for row in scan_all(other, run_id)] == list(range(500))
