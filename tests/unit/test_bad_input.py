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
