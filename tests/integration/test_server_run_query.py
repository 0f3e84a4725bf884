"""Runs queries filtered and ordered in SQL give exactly the runs the Python evaluation gives, on both backends."""

# ruff: noqa: F811  (pytest fixtures are imported, then named as parameters)
from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from jupyter_tracker.api import filters as run_filters
from jupyter_tracker.server.storage import Storage, open_storage
from tests.integration.server_fixtures import postgres_database, server_backend  # noqa: F401

pytestmark = pytest.mark.integration

#: scalar values of every JSON type, missing keys, equal values across runs, strings that sort by code point
_CONFIGS: list[dict[str, Any]] = [
    {"lr": 0.1, "opt": "adam", "layers": 2, "model.width": 128, "flag": True},
    {"lr": 0.01, "opt": "sgd", "layers": 4, "model.width": 64, "flag": False},
    {"lr": 0.001, "opt": "Adam", "layers": 2, "flag": None},
    {"lr": 1, "opt": "adamw", "layers": 8, "model.width": 128},
    {"lr": "auto", "opt": "Äsgd", "layers": 2.0},
    {"opt": "adam", "layers": None, "model.width": 256},
    {"lr": 0.01, "opt": "b", "layers": 16, "flag": True},
]
_SUMMARIES: list[dict[str, Any]] = [
    {"acc": 0.9, "loss": 0.3},
    {"acc": 0.5, "loss": "NaN"},
    {"acc": 0.9},
    {"loss": 0.1, "acc": None},
    {"acc": 0.7, "loss": 1e-9},
    {},
    {"acc": 1, "loss": 2},
]

FILTERS: list[Any] = [
    None,
    {},
    {"state": "finished"},
    {"state": {"$ne": "finished"}},
    {"config.lr": {"$lt": 0.05}},
    {"config.lr": {"$gte": 0.01, "$lte": 0.1}},
    {"config.lr": "auto"},
    {"config.lr": {"$gt": "a"}},
    {"config.opt": {"$in": ["adam", "sgd"]}},
    {"config.opt": {"$nin": ["adam", "sgd"]}},
    {"config.opt": {"$lt": "b"}},
    {"config.layers": 2},
    {"config.layers": {"$ne": 2}},
    {"config.layers": None},
    {"config.layers": {"$exists": False}},
    {"config.flag": True},
    {"config.flag": {"$gt": False}},
    {"config.flag": {"$ne": None}},
    {"config.model.width": 128},
    {"config.model.width": {"$exists": True}},
    {"summary.acc": {"$gte": 0.7}},
    {"summary_metrics.loss": "NaN"},
    {"summary.acc": {"$not": {"$gt": 0.6}}},
    {"$or": [{"config.opt": "adam"}, {"summary.acc": {"$gte": 0.9}}]},
    {"$nor": [{"config.opt": "adam"}, {"group": "g1"}]},
    {"$and": [{"config.lr": {"$lt": 0.05}}, {"state": "finished"}]},
    {"group": None},
    {"group": {"$in": ["g0", None]}},
    {"name": "run-3"},
    {"name": "r2"},
    {"display_name": {"$regex": "^run"}},
    {"entity": "alice"},
    {"project": "other"},
    {"nothing_here": None},
    {"created_at": {"$gt": "2001-09-09T01:46:45Z"}},
    {"runtime": {"$gt": 2}},
    {"exit_code": 0},
    {"tags": "tuned"},
    {"tags": {"$ne": "tuned"}},
    {"tags": {"$in": ["baseline", "x"]}},
    {"tags": {"$nin": ["baseline", "tuned"]}},
    {"tags": {"$exists": True}},
    {"$or": [{"tags": "baseline"}, {"config.opt": "sgd"}]},
    {"tags": {"$size": 2}},
]
ORDERS = [
    None,
    "+created_at",
    "-created_at",
    "-summary.acc",
    "+summary.acc",
    "+config.lr",
    "-config.lr",
    "config.opt",
    "+config.flag",
    "-runtime",
    "+name",
    "-display_name",
    "+group",
    "-entity",
    "+missing_field",
]


@contextlib.contextmanager
def _storage(backend: str, tmp_path: Path) -> Iterator[Storage]:
    with contextlib.ExitStack() as stack:
        url = f"sqlite:///{tmp_path / 'db.sqlite'}" if backend == "sqlite" else stack.enter_context(postgres_database())
        storage = open_storage(url)
        stack.callback(storage.close)
        yield storage


def _seed(storage: Storage, project: str, configs: list[dict[str, Any]], summaries: list[dict[str, Any]]) -> None:
    storage.ensure_user("alice")
    for index, (config, summary) in enumerate(zip(configs, summaries, strict=True)):
        run_id = f"r{index}"
        metadata: dict[str, Any] = {"name": f"run-{index}", "group": None if index % 3 == 0 else f"g{index % 2}"}
        metadata["tags"] = [["tuned"], [], ["baseline", "tuned"], ["baseline"]][index % 4]
        metadata["created"] = 1_000_000_000.0 + (index % 4)  # equal times: ties keep the listing order
        storage.upsert_run("alice", project, run_id, metadata, created_by="alice")
        batch: list[Any] = [["config", config], ["summary", summary]]
        if index % 2:
            batch.append(["finish", {"exit_code": 0, "runtime": float(index), "state": "finished"}])
        storage.apply_batch("alice", project, run_id, 1, batch)


def _python_answer(storage: Storage, project: str, filters: Any, order: str | None) -> list[str]:
    runs = storage.query_runs("alice", project)
    kept = run_filters.filter_runs(runs, filters) if filters else list(runs)
    return [run["id"] for run in run_filters.sort_runs(kept, order)]


def test_sql_runs_queries_match_the_python_evaluation(server_backend: str, tmp_path: Path) -> None:
    with _storage(server_backend, tmp_path) as storage:
        _seed(storage, "scalars", _CONFIGS, _SUMMARIES)
        in_sql = 0
        for filters in FILTERS:
            for order in ORDERS:
                expected = _python_answer(storage, "scalars", filters, order)
                page = storage.query_runs_page("alice", "scalars", filters, order, 0, 100)
                if page is None:
                    continue
                in_sql += 1
                runs, total = page
                assert [run["id"] for run in runs] == expected, (filters, order)
                assert total == len(expected), (filters, order)
                if expected:
                    later, _ = storage.query_runs_page("alice", "scalars", filters, order, 1, 2)  # type: ignore[misc]
                    assert [run["id"] for run in later] == expected[1:3], (filters, order)
        # only $regex and $size need Python here
        assert in_sql == (len(FILTERS) - 2) * len(ORDERS)


def test_lists_and_objects_fall_back_to_python(server_backend: str, tmp_path: Path) -> None:
    with _storage(server_backend, tmp_path) as storage:
        configs = [{"lr": [0.1, 0.2]}, {"lr": {"value": 0.01}}, {"lr": 0.01, "model": {"width": 3}}]
        _seed(storage, "nested", configs, [{}, {}, {}])
        assert storage.query_runs_page("alice", "nested", {"config.lr": 0.1}, None, 0, 10) is None
        assert storage.query_runs_page("alice", "nested", None, "-config.lr", 0, 10) is None
        assert storage.query_runs_page("alice", "nested", {"config.model.width": 3}, None, 0, 10) is None
        assert storage.query_runs_page("alice", "nested", {"config.lr.value": 0.01}, None, 0, 10) is None
        runs, total = storage.query_runs_page("alice", "nested", {"state": "running"}, "-created", 0, 10)  # type: ignore[misc]
        assert total == len(runs) == 2
        storage.apply_batch("alice", "nested", "r0", 3, [["finish", {"exit_code": 0, "state": "finished"}]])
        runs, total = storage.query_runs_page("alice", "nested", {"state": "running"}, "-created", 0, 10)  # type: ignore[misc]
        assert [run["id"] for run in runs] == ["r2"] and total == 1  # a change is seen at once, never a cached page
        assert storage.query_runs_page("alice", "missing-project", {"state": "x"}, None, 0, 10) == ([], 0)
