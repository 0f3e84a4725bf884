"""The server pages' runs JSON: newest first, every change of a run shows at once (a kept body never
goes stale), at most MAX_ROWS runs, the gzip holds the same bytes, and Accept-Encoding is read right."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from jupyter_tracker.lab.run_views import run_row
from jupyter_tracker.server import runs_table_json
from jupyter_tracker.server.runs_table_json import RunsTableBodies, accepts_gzip
from jupyter_tracker.server.storage import NotFound, Storage, open_storage
from jupyter_tracker.server.web_pages import _runs_json_path


@pytest.fixture
def storage(tmp_path: Path) -> Iterator[Storage]:
    opened = open_storage(f"sqlite:///{tmp_path / 'server.sqlite'}")
    opened.ensure_user("alice")
    for index in range(3):
        opened.upsert_run("alice", "proj", f"run{index}", {"name": f"run {index}"}, created_by="alice")
        log_acc(opened, f"run{index}", 1, index / 10)
    yield opened
    opened.close()


def log_acc(storage: Storage, run_id: str, seq: int, acc: float) -> None:
    storage.apply_batch("alice", "proj", run_id, seq, [["h", seq, 1_700_000_000.0, 1.0, {"acc": acc}]])


def runs_of(bodies: RunsTableBodies) -> list[dict]:
    return json.loads(bodies.body("alice", "proj").json)["runs"]


def test_the_body_holds_every_run_newest_first_as_runs_table_rows(storage: Storage) -> None:
    runs = runs_of(RunsTableBodies(storage))
    assert [run["id"] for run in runs] == ["run2", "run1", "run0"]
    expected = run_row(storage.get_run("alice", "proj", "run1"))
    del expected["now"]  # the page ages runs by the browser's clock
    assert runs[1] == expected and runs[1]["summary"] == {"acc": 0.1}


def test_a_changed_or_new_run_shows_in_the_next_body(storage: Storage) -> None:
    bodies = RunsTableBodies(storage)
    first = bodies.body("alice", "proj")
    assert bodies.body("alice", "proj") is first  # nothing changed: the same body
    log_acc(storage, "run0", 2, 0.99)
    runs = runs_of(bodies)
    assert runs[2]["summary"] == {"acc": 0.99} and runs[1]["summary"] == {"acc": 0.1}
    storage.upsert_run("alice", "proj", "run3", {"name": "new"}, created_by="alice")
    assert [run["id"] for run in runs_of(bodies)] == ["run3", "run2", "run1", "run0"]


def test_the_gzip_is_the_same_json(storage: Storage) -> None:
    body = RunsTableBodies(storage).body("alice", "proj")
    assert gzip.decompress(body.gzip()) == body.json
    assert body.gzip() is body.gzip()  # compressed once


def test_at_most_max_rows_newest_runs(storage: Storage) -> None:
    assert runs_table_json.MAX_ROWS == 10_000
    assert [run["id"] for run in runs_of(RunsTableBodies(storage, max_rows=2))] == ["run2", "run1"]


def test_an_unknown_entity_is_not_found_and_an_unknown_project_is_empty(storage: Storage) -> None:
    bodies = RunsTableBodies(storage)
    with pytest.raises(NotFound):
        bodies.body("nobody", "proj")
    assert json.loads(bodies.body("alice", "none").json) == {"runs": []}


def test_only_a_few_projects_are_kept(storage: Storage) -> None:
    storage.upsert_run("alice", "other", "r", {}, created_by="alice")
    bodies = RunsTableBodies(storage, projects_kept=1)
    first = bodies.body("alice", "proj")
    bodies.body("alice", "other")
    assert bodies.body("alice", "proj") is not first


@pytest.mark.parametrize("header, takes", [
    ("gzip, deflate, br, zstd", True),
    ("br;q=1.0, gzip;q=0.8", True),
    ("*", True),
    ("gzip;q=0", False),
    ("identity", False),
    ("", False),
    ("gzip;q=x", False),
])
def test_accept_encoding(header: str, takes: bool) -> None:
    assert accepts_gzip(header) is takes


def test_the_preloaded_url_is_spelled_as_the_scripts_encodeURIComponent() -> None:
    assert _runs_json_path("alice", "proj") == "/_pages/api/runs/alice/proj"
    assert _runs_json_path("a b/c", "x'(y)*~!é") == "/_pages/api/runs/a%20b%2Fc/x'(y)*~!%C3%A9"
