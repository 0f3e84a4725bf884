"""Property: any sequence of ``log`` calls round-trips exactly through the run store.

The expected history comes from a small model of wandb's step rules written here, independent of
the run's own bookkeeping: ``commit=False`` merges into the pending step, ``step=s`` moves to ``s``
(committing what is pending first) and defaults to not committing, a step lower than the current
one drops the row, and ``finish`` commits what is pending.
"""

from __future__ import annotations

import math
import shutil
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import jupyter_tracker as jt
from jupyter_tracker.store.reader import read_run
from tests.helpers import same_value

KEYS = st.sampled_from(["a", "b", "loss", "val/acc", "x_1", "é"])

SCALARS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.booleans(),
    st.none(),
    st.text(max_size=20),
    st.sampled_from([math.nan, math.inf, -math.inf, -0.0]),
    st.floats(width=32).map(np.float32),
    st.integers(min_value=-(2**31), max_value=2**31).map(np.int64),
)

ARRAYS = hnp.arrays(
    dtype=st.sampled_from([np.float64, np.float32, np.int64, np.int8, np.uint16, np.bool_]),
    shape=hnp.array_shapes(min_dims=1, max_dims=3, min_side=0, max_side=4),
)

LEAVES = st.one_of(SCALARS, ARRAYS, st.lists(st.one_of(SCALARS, st.lists(SCALARS, max_size=3)), max_size=4))

VALUES = st.recursive(LEAVES, lambda children: st.dictionaries(KEYS, children, max_size=3), max_leaves=6)

CALLS = st.lists(
    st.tuples(
        st.dictionaries(KEYS, VALUES, max_size=4),
        st.one_of(st.none(), st.integers(min_value=0, max_value=12)),
        st.sampled_from([None, True, False]),
    ),
    max_size=15,
)


# the model ---------------------------------------------------------------------------------------
def expected_value(value: Any) -> Any:
    """What the store should give back for one logged value."""
    if isinstance(value, np.ndarray):
        return value
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, (list, tuple)):
        return [expected_value(item) for item in value]
    return value


def flatten(data: dict, prefix: str = "") -> dict:
    flat: dict = {}
    for key, value in data.items():
        name = prefix + key
        if isinstance(value, dict) and value:
            flat.update(flatten(value, name + "."))
        else:
            flat[name] = {} if isinstance(value, dict) else expected_value(value)
    return flat


class StepModel:
    def __init__(self) -> None:
        self.step = 0
        self.pending: dict | None = None
        self.rows: list[dict] = []

    def _commit(self) -> None:
        row = dict(self.pending or {})
        row["_step"] = self.step
        self.rows.append(row)
        self.pending = None
        self.step += 1

    def log(self, data: dict, step: int | None, commit: bool | None) -> None:
        flat = flatten(data)
        if step is not None:
            if step < self.step:
                return
            if step > self.step:
                if self.pending:
                    self._commit()
                self.step = step
            if commit is None:
                commit = False
        self.pending = {**(self.pending or {}), **flat}
        if commit is not False:
            self._commit()

    def finish(self) -> list[dict]:
        if self.pending:
            self._commit()
        return self.rows


# the property ----------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def shared_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One store for every example: each example's run gets its own directory in it."""
    return tmp_path_factory.mktemp("property-store")


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(calls=CALLS)
def test_any_sequence_of_log_calls_round_trips_exactly(shared_store, calls):
    model = StepModel()
    run = None
    try:
        run = jt.init(project="property", dir=shared_store, mode="offline", settings={"console": "off"})
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # StepWarnings for the dropped rows
            for data, step, commit in calls:
                run.log(data, step=step, commit=commit)
                model.log(data, step, commit)
            run.finish(quiet=True)
        expected = model.finish()
        state, rows = read_run(Path(run.dir), keep_history=True)
        got = [{key: value for key, value in row.items() if key not in ("_timestamp", "_runtime")} for row in rows]
        assert [row["_step"] for row in got] == [row["_step"] for row in expected]
        for got_row, expected_row in zip(got, expected, strict=True):
            assert same_value(got_row, expected_row), (got_row, expected_row)
        assert state.problems == [] and state.state == "finished"
        assert run.step == model.step
    finally:
        jt.finish(quiet=True)
        if run is not None:
            shutil.rmtree(run.dir, ignore_errors=True)


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, -0.0, 1e308, 5e-324, 2**63 - 1, -(2**63)])
def test_special_numbers_round_trip(store_root, value):
    run = jt.init(mode="offline", settings={"console": "off"})
    run.log({"v": value, "arr": np.array([value], dtype=np.float64)})
    run.finish(quiet=True)
    (row,) = read_run(Path(run.dir), keep_history=True)[1]
    assert same_value(row["v"], value)
    assert same_value(row["arr"], np.array([value], dtype=np.float64))
