"""Bad input to init, log, config and summary: a clear error naming the thing at fault, nothing written."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import jupyter_tracker as jt
from jupyter_tracker.store.reader import read_run


@pytest.fixture
def root(store_root: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_CONSOLE", "off")
    return store_root


def rows_of(run: jt.Run) -> list[dict]:
    run.finish()
    _, rows = read_run(Path(run.dir), keep_history=True)
    return [{key: value for key, value in row.items() if not key.startswith("_") or key == "_step"} for row in rows]


# log(step=...) ----------------------------------------------------------------------------------
@pytest.mark.parametrize("bad_step", [10**30, 2**63, -1, float("inf"), float("nan"), 1.5, 3.0, "3", True, False,
                                      np.True_, object(), [1]])
def test_a_step_that_is_not_an_integer_in_range_is_refused_naming_step_and_nothing_is_written(root, bad_step):
    run = jt.init(project="p")
    run.log({"kept": 1.0}, commit=False)
    with pytest.raises((TypeError, ValueError), match=r"step"):
        run.log({"bad": 2.0}, step=bad_step)
    assert run.step == 0
    run.log({"after": 3.0})
    assert rows_of(run) == [{"kept": 1.0, "after": 3.0, "_step": 0}]


@pytest.mark.parametrize("good_step", [0, 7, 2**63 - 1, np.int64(7), np.uint8(7)])
def test_integer_steps_in_range_are_accepted(root, good_step):
    run = jt.init(project="p")
    run.log({"a": 1.0}, step=good_step, commit=True)
    assert rows_of(run) == [{"a": 1.0, "_step": int(good_step)}]


# cyclic and deeply nested values ------------------------------------------------------------------
def cyclic_list() -> list:
    items: list = [1.0]
    items.append(items)
    return items


def cyclic_dict() -> dict:
    inner: dict = {"a": 1.0}
    inner["self"] = inner
    return inner


def nested_lists(depth: int) -> list:
    value: list = [1.0]
    for _ in range(depth):
        value = [value]
    return value


def nested_dicts(depth: int) -> dict:
    value: dict = {"leaf": 1.0}
    for _ in range(depth):
        value = {"d": value}
    return value


BAD_VALUES = {
    "cyclic list": cyclic_list,
    "cyclic dict": cyclic_dict,
    "1,000-deep list": lambda: nested_lists(1_000),
    "1,000-deep dict": lambda: nested_dicts(1_000),
    "100,000-deep list": lambda: nested_lists(100_000),
}


@pytest.mark.parametrize("make_value", list(BAD_VALUES.values()), ids=list(BAD_VALUES))
def test_cyclic_or_deep_values_in_log_raise_naming_the_key_and_nothing_is_written(root, make_value):
    run = jt.init(project="p")
    with pytest.raises((TypeError, ValueError), match="'weird"):
        run.log({"ok": 1.0, "weird": make_value()})
    run.log({"ok": 2.0})
    assert rows_of(run) == [{"ok": 2.0, "_step": 0}]


@pytest.mark.parametrize("make_value", list(BAD_VALUES.values()), ids=list(BAD_VALUES))
def test_cyclic_or_deep_values_in_config_and_summary_raise_naming_the_key(root, make_value):
    run = jt.init(project="p")
    with pytest.raises((TypeError, ValueError), match="weird"):
        run.config.update({"weird": make_value()})
    with pytest.raises((TypeError, ValueError), match="weird"):
        run.summary["weird"] = make_value()
    assert "weird" not in run.config and "weird" not in run.summary
    run.finish()
    state, _ = read_run(Path(run.dir))
    assert "weird" not in state.config and not any(key.startswith("weird") for key in state.summary)


def test_moderately_nested_values_are_still_kept(root):
    run = jt.init(project="p", config={"deep": nested_dicts(50)})
    run.log({"lists": nested_lists(50)})
    assert rows_of(run)[0]["lists"] == nested_lists(50)


# a failed init leaves nothing behind ---------------------------------------------------------------
def test_a_huge_range_in_config_is_refused_before_anything_starts(root):
    with pytest.raises(ValueError, match="'steps'.*range"):
        jt.init(project="p", config={"steps": range(10_000_000)})
    assert jt.run is None
    assert list(root.glob("run-*")) == []
    assert len(jt.Api().runs("p")) == 0


def test_a_failed_init_leaves_no_run_no_index_row_and_no_output_capture(root, monkeypatch, capsys):
    monkeypatch.setenv("WANDB_CONSOLE", "wrap")
    with pytest.raises(TypeError, match="'bad'"):
        jt.init(project="p", config={"lr": 0.1, "bad": object()})
    print("printed after the failed init")
    assert jt.run is None
    assert list(root.glob("run-*")) == []
    assert len(jt.Api().runs("p")) == 0
    run = jt.init(project="p", config={"lr": 0.1})
    run.finish()
    assert [found.id for found in jt.Api().runs("p")] == [run.id]
    assert "printed after the failed init" not in (Path(run.dir) / "output.log").read_text()


def test_a_failed_init_of_a_resumed_run_keeps_the_run_as_it_was(root):
    run = jt.init(project="p", id="keepme", config={"lr": 0.1})
    run.log({"loss": 1.0})
    run.finish()
    before = (Path(run.dir) / "run.jtlog").read_bytes()
    with pytest.raises(TypeError, match="'bad'"):
        jt.init(project="p", id="keepme", resume="allow", config={"bad": object()})
    assert jt.run is None
    assert (Path(run.dir) / "run.jtlog").read_bytes() == before


def test_a_modest_range_in_config_and_log_is_kept_as_a_list(root):
    run = jt.init(project="p", config={"milestones": range(0, 30, 10)})
    assert run.config["milestones"] == [0, 10, 20]
    run.log({"ticks": range(3)})
    assert rows_of(run) == [{"ticks": [0, 1, 2], "_step": 0}]
