"""wandb's MongoDB-style run filters and ordering (``jupyter_tracker.api.filters``), on plain run dicts."""

from __future__ import annotations

import datetime
import math
from typing import Any

import pytest

from jupyter_tracker.api.filters import (
    MISSING,
    compile_filter,
    fields_used,
    filter_runs,
    get_field,
    matches,
    parse_order,
    sort_runs,
)


def make_run(run_id: str, **values: Any) -> dict[str, Any]:
    run: dict[str, Any] = {
        "id": run_id, "name": f"name-{run_id}", "state": "finished", "entity": None, "project": "mnist",
        "group": None, "tags": [], "job_type": "train", "notes": None, "created": 1_700_000_000.0,
        "runtime": 10.0, "exit_code": 0, "config": {}, "summary": {},
    }
    run.update(values)
    return run


RUNS = [
    make_run("a", group="exp-42", tags=["baseline"], config={"lr": 0.001, "opt.name": "adam", "layers": [64, 32]},
             summary={"acc": 0.91, "loss": 0.2}, created=1_700_000_000.0),
    make_run("b", group="exp-42", tags=["tuned", "best"], config={"lr": 0.05, "opt.name": "sgd"},
             summary={"acc": 0.95, "loss": float("nan")}, created=1_700_000_100.0),
    make_run("c", group="other", state="crashed", config={"lr": 0.005, "opt": {"name": "adam", "betas": [0.9, 0.99]}},
             summary={"acc": 0.5}, created=1_700_000_200.0),
    make_run("d", state="running", config={"lr": "auto"}, summary={}, created=1_700_000_300.0),
]


def ids(filters: Any) -> list[str]:
    return [run["id"] for run in filter_runs(RUNS, filters)]


def test_the_issue_example() -> None:
    assert ids({"group": "exp-42", "config.lr": {"$lt": 0.01}}) == ["a"]


def test_empty_and_none_match_everything() -> None:
    assert ids(None) == ids({}) == ["a", "b", "c", "d"]


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"state": "finished"}, ["a", "b"]),
        ({"state": {"$eq": "crashed"}}, ["c"]),
        ({"state": {"$ne": "finished"}}, ["c", "d"]),
        ({"config.lr": {"$lt": 0.005}}, ["a"]),
        ({"config.lr": {"$lte": 0.005}}, ["a", "c"]),
        ({"config.lr": {"$gt": 0.005}}, ["b"]),
        ({"config.lr": {"$gte": 0.005}}, ["b", "c"]),
        ({"config.lr": {"$gt": 0.001, "$lt": 0.05}}, ["c"]),
        ({"state": {"$in": ["crashed", "running"]}}, ["c", "d"]),
        ({"state": {"$nin": ["crashed", "running"]}}, ["a", "b"]),
        ({"group": {"$regex": "^exp-"}}, ["a", "b"]),
        ({"group": {"$regex": "^EXP", "$options": "i"}}, ["a", "b"]),
        ({"summary.acc": {"$exists": True}}, ["a", "b", "c"]),
        ({"summary.acc": {"$exists": False}}, ["d"]),
        ({"$and": [{"group": "exp-42"}, {"summary.acc": {"$gt": 0.92}}]}, ["b"]),
        ({"$or": [{"state": "running"}, {"summary.acc": {"$lt": 0.6}}]}, ["c", "d"]),
        ({"$nor": [{"state": "running"}, {"group": "exp-42"}]}, ["c"]),
        ({"config.lr": {"$not": {"$lt": 0.01}}}, ["b", "d"]),
    ],
)
def test_operators(filters: dict[str, Any], expected: list[str]) -> None:
    assert ids(filters) == expected


def test_wandb_aliases_for_config_and_summary() -> None:
    assert ids({"config.lr.value": {"$lt": 0.01}}) == ids({"config.lr": {"$lt": 0.01}}) == ["a", "c"]
    assert ids({"summary_metrics.acc": {"$gte": 0.9}}) == ids({"summary.acc": {"$gte": 0.9}}) == ["a", "b"]
    assert ids({"config.opt.value.name": "adam"}) == ["a", "c"]


def test_flat_dotted_names_and_nested_values_both_resolve() -> None:
    assert ids({"config.opt.name": "adam"}) == ["a", "c"]  # "opt.name" in a, {"opt": {"name"}} in c
    assert get_field(RUNS[2], "config.opt.betas") == [0.9, 0.99]
    assert get_field(RUNS[0], "config.nothing") is MISSING


def test_tags_are_lists_with_mongodb_array_semantics() -> None:
    assert ids({"tags": "best"}) == ["b"]
    assert ids({"tags": {"$in": ["baseline", "best"]}}) == ["a", "b"]
    assert ids({"tags": {"$nin": ["baseline"]}}) == ["b", "c", "d"]
    assert ids({"tags": {"$all": ["best", "tuned"]}}) == ["b"]
    assert ids({"tags": {"$size": 2}}) == ["b"]
    assert ids({"tags": ["tuned", "best"]}) == ["b"]
    assert ids({"config.layers": 64}) == ["a"]


def test_name_matches_the_display_name_or_the_id() -> None:
    assert ids({"display_name": "name-b"}) == ["b"]
    assert ids({"name": "name-b"}) == ["b"]
    assert ids({"name": "c"}) == ["c"], "wandb's filter `name` is the run id"
    assert ids({"name": {"$ne": "c"}}) == ["a", "b", "d"]
    assert ids({"display_name": {"$regex": "-[ab]$"}}) == ["a", "b"]


def test_missing_fields() -> None:
    assert ids({"group": None}) == ["d"]
    assert ids({"group": {"$ne": None}}) == ["a", "b", "c"]
    assert ids({"summary.loss": {"$ne": 0.2}}) == ["b", "c", "d"]
    assert ids({"summary.nothing": {"$lt": 1}}) == []


def test_comparisons_only_between_numbers_or_between_strings() -> None:
    assert ids({"config.lr": {"$gt": 0}}) == ["a", "b", "c"]  # "auto" is not a number
    assert ids({"config.lr": {"$gt": "a"}}) == ["d"]
    assert ids({"summary.loss": {"$gt": -math.inf}}) == ["a"]  # NaN compares with nothing


def test_nan_equals_nan_and_bools_are_not_numbers() -> None:
    assert ids({"summary.loss": float("nan")}) == ["b"]
    runs = [make_run("x", config={"flag": True}), make_run("y", config={"flag": 1})]
    assert [run["id"] for run in filter_runs(runs, {"config.flag": True})] == ["x"]
    assert [run["id"] for run in filter_runs(runs, {"config.flag": 1})] == ["y"]


def test_created_at_accepts_iso_strings_and_datetimes() -> None:
    moment = datetime.datetime.fromtimestamp(1_700_000_150.0, tz=datetime.timezone.utc)
    assert ids({"created_at": {"$gt": moment.strftime("%Y-%m-%dT%H:%M:%S")}}) == ["c", "d"]
    assert ids({"createdAt": {"$lt": moment}}) == ["a", "b"]
    assert ids({"created_at": {"$gte": moment.isoformat().replace("+00:00", "Z")}}) == ["c", "d"]


@pytest.mark.parametrize(
    ("filters", "message"),
    [
        ({"state": {"$like": "x"}}, "unknown operator '\\$like'"),
        ({"$xor": []}, "unknown top-level"),
        ({"$or": {"state": "x"}}, "needs a non-empty list"),
        ({"state": {"$in": "finished"}}, "needs a list"),
        ({"group": {"$regex": "("}}, "bad \\$regex"),
        ({"group": {"$regex": "a", "$options": "q"}}, "\\$options"),
        ({"state": {"$eq": 1, "plain": 2}}, "mixes"),
        ("state=finished", "must be a dict"),
    ],
)
def test_bad_filters_raise_at_once_with_a_clear_message(filters: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        compile_filter(filters)


def test_matches_one_run() -> None:
    assert matches(RUNS[0], {"group": "exp-42"})
    assert not matches(RUNS[3], {"group": "exp-42"})


def test_parse_order() -> None:
    assert parse_order("-summary.acc") == ("summary.acc", True)
    assert parse_order("+config.lr") == ("config.lr", False)
    assert parse_order("created_at") == ("created", True)  # wandb: no sign means descending
    assert parse_order(None) == ("created", False)
    assert parse_order("+summary_metrics.acc") == ("summary.acc", False)
    with pytest.raises(ValueError):
        parse_order("-")


def test_sort_by_summary_puts_missing_and_nan_last_either_way() -> None:
    assert [run["id"] for run in sort_runs(RUNS, "-summary.acc")] == ["b", "a", "c", "d"]
    assert [run["id"] for run in sort_runs(RUNS, "+summary.acc")] == ["c", "a", "b", "d"]
    assert [run["id"] for run in sort_runs(RUNS, "+summary.loss")] == ["a", "b", "c", "d"]


def test_sort_by_created_config_and_mixed_types() -> None:
    assert [run["id"] for run in sort_runs(RUNS, "-created_at")] == ["d", "c", "b", "a"]
    assert [run["id"] for run in sort_runs(RUNS, "+config.lr.value")] == ["a", "c", "b", "d"]  # numbers, then strings
    assert [run["id"] for run in sort_runs(RUNS, "+display_name")] == ["a", "b", "c", "d"]


def test_sort_keeps_ties_in_incoming_order() -> None:
    runs = [make_run(str(index), summary={"acc": 1.0}) for index in range(5)]
    assert [run["id"] for run in sort_runs(runs, "-summary.acc")] == ["0", "1", "2", "3", "4"]


def test_fields_used() -> None:
    assert fields_used({"group": "x", "$or": [{"config.lr": 1}, {"tags": "a"}]}, "-summary_metrics.acc") == {
        "group", "config.lr", "tags", "summary.acc"}
