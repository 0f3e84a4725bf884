"""Hostile and malformed requests against a real server process (SQLite, and PostgreSQL when configured).

Each test reproduces an item of issue 9: what used to answer 500, break a project's listing,
reach another run's route or print a key, now answers 400 naming the field, keeps the
keep-alive connection open and leaves stored data readable.
"""
# ruff: noqa: F811  (pytest fixtures are imported, then named as parameters)

from __future__ import annotations

import http.client
import json
import threading
import time
import uuid
from typing import Any

import msgpack
import pytest

from tests.integration.server_fixtures import (  # noqa: F401  (fixtures)
    MSGPACK_HEADERS,
    ServerProcess,
    history_record,
    pack_batch,
    shared_server,
)

pytestmark = pytest.mark.integration


class OneConnection:
    """Requests over one keep-alive connection; fails if the server closes it."""

    def __init__(self, server: ServerProcess) -> None:
        self.connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
        self.connection.connect()
        self.socket = self.connection.sock
        self.headers = dict(server.headers)

    def request(self, method: str, path: str, body: bytes | str | None = None, **headers: str) -> tuple[int, Any]:
        data = body.encode("utf-8", "surrogatepass") if isinstance(body, str) else body
        self.connection.request(method, path, body=data, headers={**self.headers, **headers})
        response = self.connection.getresponse()
        payload = response.read()
        assert not response.will_close, f"{method} {path} closed the keep-alive connection"
        assert self.connection.sock is self.socket, "the connection was replaced"
        return response.status, json.loads(payload) if payload else None

    def close(self) -> None:
        self.connection.close()


def put_run_text(connection: OneConnection, run_id: str, text: str, project: str = "hard") -> tuple[int, Any]:
    return connection.request(
        "PUT", f"/api/v1/runs/alice/{project}/{run_id}", text, **{"Content-Type": "application/json"}
    )


def post_batch(connection: OneConnection, run_id: str, body: bytes, project: str = "hard") -> tuple[int, Any]:
    return connection.request("POST", f"/api/v1/runs/alice/{project}/{run_id}/records", body, **MSGPACK_HEADERS)


def nested(depth: int) -> Any:
    value: Any = 0
    for _ in range(depth):
        value = [value]
    return value


def msgpack_nested_5000_deep() -> bytes:
    """A records body whose one value is 5,000 nested one-element arrays (msgpack cannot pack it)."""
    shallow = msgpack.packb([1, [["h", 0, 1.0, 1.0, {"x": None}]]])
    assert shallow.endswith(b"\xc0")
    return shallow[:-1] + b"\x91" * 5000 + b"\x00"


def test_non_finite_numbers_are_refused_and_the_listing_stays_readable(shared_server: ServerProcess) -> None:
    """Item 8: created 1e400, runtime inf, time NaN once broke every read of the run and the listing."""
    connection = OneConnection(shared_server)
    try:
        run_id = uuid.uuid4().hex[:10]
        for text, field in (
            ('{"metadata": {"created": 1e400}}', "created"),
            ('{"metadata": {"created": NaN}}', "metadata.created"),
            ('{"metadata": {"created": Infinity}}', "metadata.created"),
            ('{"metadata": {"created": ' + "1" * 400 + "}}", "created"),
        ):
            status, answer = put_run_text(connection, run_id, text)
            assert status == 400 and field in answer["error"], (text[:60], answer)
        assert put_run_text(connection, run_id, '{"metadata": {"name": "ok"}}')[0] == 201
        bad_batches = {
            "created": [["run", {"created": float("inf")}]],
            "(finish) runtime": [["finish", {"runtime": float("inf"), "exit_code": 0}]],
            "time": [["h", 0, float("nan"), 0.0, {"loss": 1.0}]],
            "runtime": [["system", 1.0, float("nan"), {"system/cpu": 3.0}]],
        }
        for field, batch in bad_batches.items():
            status, answer = post_batch(connection, run_id, pack_batch(1, batch))
            assert status == 400 and field in answer["error"], (field, answer)
        assert post_batch(connection, run_id, pack_batch(1, [history_record(0, {"loss": float("nan")})]))[0] == 200
        status, run = connection.request("GET", f"/api/v1/runs/alice/hard/{run_id}")
        assert status == 200 and run["applied_seq"] == 1
        status, listing = connection.request("GET", "/api/v1/projects/alice/hard/runs")
        assert status == 200 and run_id in [item["id"] for item in listing["runs"]]
    finally:
        connection.close()


def test_malformed_input_is_a_400_naming_the_field_and_the_connection_survives(shared_server: ServerProcess) -> None:
    """Item 11: every case used to answer 500 and reset the keep-alive connection."""
    connection = OneConnection(shared_server)
    try:
        run_id = uuid.uuid4().hex[:10]
        assert put_run_text(connection, run_id, '{"metadata": {}}')[0] == 201
        run = f"/api/v1/runs/alice/hard/{run_id}"
        deep_filters = json.dumps(nested(900))
        cases: list[tuple[str, tuple[int, Any]]] = [
            ("created", put_run_text(connection, run_id, '{"metadata": {"created": ' + "9" * 401 + "}}")),
            ("metadata.created", put_run_text(connection, run_id, '{"metadata": {"created": NaN}}')),
            ("nested", put_run_text(connection, run_id, '{"metadata": ' + "[" * 5000 + "]" * 5000 + "}")),
            ("nested", connection.request("GET", f"/api/v1/projects/alice/hard/runs?filters={deep_filters}")),
            ("Unicode", put_run_text(connection, run_id, '{"metadata": {"name": "\\ud800"}}')),
            ("Unicode", connection.request("GET", '/api/v1/projects/alice/hard/runs?filters={"name":"\\ud800"}')),
            ("min_step", connection.request("GET", f"{run}/scan_history?min_step={2**63}")),
            ("min_step", connection.request("GET", f"{run}/scan_history?min_step=-1")),
            ("page_size", connection.request("GET", f"{run}/scan_history?page_size=0")),
            ("samples", connection.request("GET", f"{run}/history?samples={10**30}")),
            ("per_page", connection.request("GET", f"/api/v1/projects/alice/hard/runs?per_page={2**70}")),
            ("step", post_batch(connection, run_id, pack_batch(1, [history_record(2**63, {"x": 1.0})]))),
            ("step", post_batch(connection, run_id, msgpack.packb([1, [["h", 2**64 - 1, 1.0, 1.0, {"x": 1}]]]))),
            ("levels", post_batch(connection, run_id, pack_batch(1, [history_record(0, {"x": nested(900)})]))),
            ("malformed", post_batch(connection, run_id, msgpack_nested_5000_deep())),
            ("runtime", post_batch(connection, run_id, pack_batch(1, [["finish", {"runtime": float("nan")}]]))),
            ("time", post_batch(connection, run_id, pack_batch(1, [["system", float("nan"), 1.0, {"system/x": 1}]]))),
            ("exit_code", post_batch(connection, run_id, pack_batch(1, [["finish", {"exit_code": 2**40}]]))),
            # a router parsing its JSON body with FastAPI (sweeps) answers 400 too
            (
                "body",
                connection.request(
                    "POST", "/api/v1/sweeps", "[" * 5000 + "]" * 5000, **{"Content-Type": "application/json"}
                ),
            ),
        ]
        for field, (status, answer) in cases:
            assert status == 400, (field, status, answer)
            assert field in answer["error"], (field, answer)
        # nothing was stored; the run and the listing read back
        status, stored = connection.request("GET", run)
        assert status == 200 and stored["applied_seq"] == 0
        assert connection.request("GET", "/api/v1/projects/alice/hard/runs")[0] == 200
    finally:
        connection.close()


def test_encoded_slashes_in_path_parameters_are_refused(shared_server: ServerProcess) -> None:
    """Item 12: project "p/r1/files" once routed a run creation to the file upload of run r1."""
    with shared_server.client() as client:
        project = f"p{uuid.uuid4().hex[:6]}"
        assert client.put(f"/api/v1/runs/alice/{project}/r1", json={"metadata": {}}).status_code == 201
        for path in (
            f"/api/v1/runs/alice/{project}%2Fr1%2Ffiles/abc",
            f"/api/v1/runs/alice/{project}%2fr1%2ffiles/abc",
            f"/api/v1/runs/alice/{project}/r1%2F..%2Fr2",
            f"/api/v1/runs/alice/{project}%5Cr1/abc",
        ):
            answer = client.put(path, json={"metadata": {}})
            assert answer.status_code == 400, (path, answer.text)
            assert "slash" in answer.json()["error"]
        assert client.get(f"/api/v1/runs/alice/{project}/r1/files").json() == []


def test_access_log_never_shows_a_key_put_in_a_url(shared_server: ServerProcess) -> None:
    """Item 16: uvicorn logged query strings, so a key pasted into a URL was logged in clear."""
    secret = shared_server.api_key.rsplit("_", 1)[1]
    marker = uuid.uuid4().hex
    with shared_server.client() as client:
        client.get("/api/v1/viewer", params={"api_key": shared_server.api_key, "marker": marker})
        client.get("/api/v1/health", params={"token": "s3cr3t-" + marker, "marker": marker})
        client.get(f"/api/v1/runs/alice/{shared_server.api_key}/x", params={"marker": marker})
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and shared_server.log_text().count(marker) < 3:
        time.sleep(0.05)
    log = shared_server.log_text()
    assert log.count(marker) >= 3, log[-2000:]
    assert secret not in log and "s3cr3t" not in log
    assert "<redacted>" in log


def test_a_catastrophic_regex_neither_stalls_its_query_nor_blocks_other_requests(shared_server: ServerProcess) -> None:
    """Item 9: ``^(a+)+$`` against a 27-character name took 17 s and blocked another user's request."""
    project = f"re{uuid.uuid4().hex[:6]}"
    hostile = json.dumps({"name": {"$regex": "^(a+)+$"}})
    with shared_server.client() as client:
        assert (
            client.put(f"/api/v1/runs/alice/{project}/r1", json={"metadata": {"name": "a" * 40 + "!"}}).status_code
            == 201
        )
        assert client.put(f"/api/v1/runs/alice/{project}/r2", json={"metadata": {"name": "a" * 40}}).status_code == 201
    answers: dict[str, Any] = {}

    def query() -> None:
        with shared_server.client(timeout=20.0) as client:
            started = time.monotonic()
            answers["regex"] = client.get(f"/api/v1/projects/alice/{project}/runs", params={"filters": hostile})
            answers["regex_seconds"] = time.monotonic() - started

    worker = threading.Thread(target=query)
    worker.start()
    time.sleep(0.05)
    with shared_server.client(timeout=20.0) as other:
        started = time.monotonic()
        assert other.get("/api/v1/viewer").status_code == 200
        other_seconds = time.monotonic() - started
    worker.join(30)
    assert answers["regex"].status_code == 200, answers["regex"].text
    assert [run["id"] for run in answers["regex"].json()["runs"]] == ["r2"]
    assert answers["regex_seconds"] < 5 and other_seconds < 2, (answers["regex_seconds"], other_seconds)
    with shared_server.client() as client:
        refused = client.get(
            f"/api/v1/projects/alice/{project}/runs", params={"filters": json.dumps({"name": {"$regex": "(a)\\1"}})}
        )
    assert refused.status_code == 400 and "RE2" in refused.json()["error"]


def test_an_unexpected_server_error_is_a_500_that_keeps_the_connection(shared_server: ServerProcess) -> None:
    """Item 11: after a 500 the next request on the same keep-alive connection used to be reset."""
    runs_folder = shared_server.data_dir / "runs"
    connection = OneConnection(shared_server)
    try:
        run_id = uuid.uuid4().hex[:10]
        assert put_run_text(connection, run_id, '{"metadata": {}}')[0] == 201
        # a disk fault: the file store's folder is a plain file
        moved = runs_folder.with_name("runs-moved")
        if runs_folder.exists():
            runs_folder.rename(moved)
        runs_folder.write_bytes(b"")
        try:
            status, answer = connection.request("PUT", f"/api/v1/runs/alice/hard/{run_id}/files/a.txt", b"data")
        finally:
            runs_folder.unlink()
            if moved.exists():
                moved.rename(runs_folder)
        assert status == 500 and answer == {"error": "internal server error"}
        assert connection.request("GET", f"/api/v1/runs/alice/hard/{run_id}")[0] == 200  # same connection
        assert "Traceback" in shared_server.log_text()  # the cause is in the server's log, not the answer
    finally:
        connection.close()
