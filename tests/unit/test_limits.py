"""Limit warnings: each kind fires once, says the bound and what was observed, keeps the data, and is
kept on ``run.warnings`` (and in the run log) even when ``WANDB_SILENT`` hides it."""

from __future__ import annotations

import pickle
import time
import warnings
from pathlib import Path

import numpy as np
import pytest

import jupyter_tracker as jt
from jupyter_tracker.limits import LIMITS, LimitChecker, LimitWarning
from jupyter_tracker.store.index import RunIndex
from jupyter_tracker.store.reader import read_run
from jupyter_tracker.values import MediaValue


class FakeMedia(MediaValue):
    def __init__(self, kind: str) -> None:
        self.media_kind = kind

    def encode(self, run_dir):
        return {"_type": f"{self.media_kind}-file", "path": "media/x"}


@pytest.fixture
def root(store_root: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_CONSOLE", "off")
    return store_root


def limit_warnings(run: jt.Run, kind: str) -> list[LimitWarning]:
    return [w for w in run.warnings if isinstance(w, LimitWarning) and w.kind == kind]


def stored_warnings(run: jt.Run) -> list[dict]:
    run.finish()
    return read_run(Path(run.dir))[0].warnings


# the table and the warning object ---------------------------------------------------------------
def test_the_table_has_the_recommended_bounds():
    bounds = {kind: limit.bound for kind, limit in LIMITS.items()}
    assert bounds == {
        "distinct_metrics": 10_000, "value_size": 1_000_000, "call_size": 25_000_000,
        "scalar_points": 100_000, "media_points": 50_000, "histogram_points": 10_000,
        "config_size": 10_000_000, "runs_per_project": 10_000, "files_per_run": 1_000,
        "parallel_agents": 20,
    }


def test_the_message_says_the_bound_the_figure_and_that_data_is_kept():
    warning = LimitWarning("value_size", 1_000_000, 1_234_567, "weights")
    text = str(warning)
    assert "1,000,000" in text and "1,234,567" in text and "weights" in text and "kept" in text
    assert (warning.kind, warning.bound, warning.observed, warning.subject) == ("value_size", 1_000_000, 1_234_567, "weights")
    assert isinstance(warning, UserWarning)
    copy = pickle.loads(pickle.dumps(warning))
    assert str(copy) == text


def test_the_checker_reports_each_kind_once():
    checker = LimitChecker()
    assert checker.check_value("a", 10) == []
    assert [w.kind for w in checker.check_value("a", 2_000_000)] == ["value_size"]
    assert checker.check_value("b", 3_000_000) == []
    assert [w.kind for w in checker.check_call(30_000_000)] == ["call_size"]
    assert checker.check_call(30_000_000) == []
    assert [w.kind for w in checker.check_files(1_001)] == ["files_per_run"]
    assert checker.check_files(1_002) == []
    assert checker.check_runs(10_000) == [] and [w.kind for w in checker.check_runs(10_001)] == ["runs_per_project"]
    assert checker.check_config(10_000_000) == [] and checker.check_config(10_000_001)[0].observed == 10_000_001


def test_the_checker_counts_points_per_name_across_key_sets():
    checker = LimitChecker()
    for _ in range(3):
        assert checker.count_row({"loss": 1.0, "acc": 1.0}) is None
    for _ in range(2):
        checker.count_row({"loss": 1.0})
    checker.count_row({})
    assert dict(checker.points()) == {"loss": 5, "acc": 3} and checker.rows == 6
    assert set(checker.scalar_points) == {"loss", "acc"}
    checker.count_row({"new": 1.0})
    assert "new" in checker.scalar_points  # a new name is known as soon as its first row is counted
    for step in range(4):  # the same names in another order: counted exactly all the same
        checker.count_row({"loss": 1.0, "acc": 1.0} if step % 2 else {"acc": 1.0, "loss": 1.0})
    assert checker.points()["loss"] == 9 and checker.points()["acc"] == 7


# each limit through a run ------------------------------------------------------------------------
def test_distinct_metrics(root):
    run = jt.init()
    wide = {f"m{i}": 1.0 for i in range(10_001)}
    with pytest.warns(LimitWarning, match="distinct metric names") as caught:
        run.log(wide)
    assert len([w for w in caught if issubclass(w.category, LimitWarning)]) == 1, [str(w.message) for w in caught]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        run.log({f"n{i}": 1.0 for i in range(100)})  # more new names: no second warning
    (warning,) = limit_warnings(run, "distinct_metrics")
    assert warning.observed == 10_001 and warning.bound == 10_000
    assert [w["kind"] for w in stored_warnings(run)] == ["distinct_metrics"]
    _, rows = read_run(Path(run.dir), keep_history=True)
    assert len(rows[0]) == 10_001 + 3  # every name kept, plus _step, _timestamp, _runtime


def test_value_size(root):
    run = jt.init()
    big = np.zeros(130_000)  # 1,040,000 bytes
    with pytest.warns(LimitWarning, match="one logged value") as caught:
        run.log({"weights": big, "text": "x" * 1_000_001})
    assert len([w for w in caught if issubclass(w.category, LimitWarning)]) == 1, [str(w.message) for w in caught]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        run.log({"weights": big})
    (warning,) = limit_warnings(run, "value_size")
    assert warning.subject in ("weights", "text")
    stored_warnings(run)
    _, rows = read_run(Path(run.dir), keep_history=True)
    assert len(rows) == 2 and rows[1]["weights"].shape == (130_000,) and len(rows[0]["text"]) == 1_000_001


def test_call_size(root):
    run = jt.init()
    chunk = np.ones(120_000)  # 960,000 bytes: under the value bound
    call = {f"c{i}": chunk for i in range(27)}  # 25,920,000 bytes in one call
    with pytest.warns(LimitWarning, match="one log call") as caught:
        run.log(call)
    assert [w.message.kind for w in caught] == ["call_size"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        run.log(call)
    assert limit_warnings(run, "call_size")[0].observed == 27 * chunk.nbytes
    stored_warnings(run)
    assert read_run(Path(run.dir))[0].rows == 2


def test_scalar_points(root):
    run = jt.init()
    data = {"loss": 1.0}
    with pytest.warns(LimitWarning, match="points per scalar metric") as caught:
        for _ in range(101_000):
            run.log(data)
        run.finish()
    assert len([w for w in caught if issubclass(w.category, LimitWarning)]) == 1, [str(w.message) for w in caught]
    (warning,) = limit_warnings(run, "scalar_points")
    assert warning.subject == "loss" and warning.observed > 100_000
    state, _ = read_run(Path(run.dir))
    assert state.rows == 101_000 and [w["kind"] for w in state.warnings] == ["scalar_points"]


def test_scalar_points_warn_on_the_row_that_crosses_the_bound(root):
    run = jt.init()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for _ in range(100_000):
            run.log({"loss": 1.0})
    with pytest.warns(LimitWarning, match="100,001"):
        run.log({"loss": 1.0})
    run.finish()


def test_scalar_points_count_across_changing_key_sets(root):
    run = jt.init()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for step in range(50_000):
            run.log({"loss": 1.0} if step % 3 else {"loss": 1.0, "acc": 0.5})
        for _ in range(50_000):
            run.log({"loss": 1.0, "lr": 0.1})
    with pytest.warns(LimitWarning, match="100,001") as caught:
        run.log({"loss": 1.0})
    assert caught[0].message.subject == "loss"
    run.finish()


def test_scalar_points_count_rows_not_steps_when_log_moves_the_step(root):
    run = jt.init()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for _ in range(60_000):
            run.log({"loss": 1.0})
        run.log({"loss": 1.0}, step=5_000_000)  # a jump of millions of steps: a pending row, one point
        run.log({"loss": 1.0}, commit=False)  # merged into it; the next call commits the two as one row
        for _ in range(40_000):
            run.log({"loss": 1.0})
    with pytest.warns(LimitWarning, match="100,001"):
        run.log({"loss": 1.0})
    run.finish()
    assert [w.kind for w in run.warnings if isinstance(w, LimitWarning)] == ["scalar_points"]


def test_scalar_points_at_the_bound_do_not_warn(root):
    run = jt.init()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for _ in range(100_000):
            run.log({"loss": 1.0})
        run.finish()
    assert run.warnings == []


@pytest.mark.parametrize(("kind", "limit_kind", "bound"), [("image", "media_points", 50_000),
                                                            ("histogram", "histogram_points", 10_000)])
def test_media_and_histogram_points(root, kind, limit_kind, bound):
    run = jt.init()
    media = FakeMedia(kind)
    for _ in range(bound):
        run.log({"m": media}, commit=False)
    with pytest.warns(LimitWarning, match=LIMITS[limit_kind].what) as caught:
        run.log({"m": media}, commit=False)
    assert len([w for w in caught if issubclass(w.category, LimitWarning)]) == 1, [str(w.message) for w in caught]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        run.log({"m": media}, commit=False)
        run.log({"m": [media, media]})
    (warning,) = limit_warnings(run, limit_kind)
    assert (warning.subject, warning.observed) == ("m", bound + 1)
    run.finish()
    _, rows = read_run(Path(run.dir), keep_history=True)
    assert rows[0]["m"] == [{"_type": f"{kind}-file", "path": "media/x"}] * 2


def test_config_size(root):
    run = jt.init(config={"small": 1})
    with pytest.warns(LimitWarning, match="run config") as caught:
        run.config.update({"blob": "x" * 10_000_001})
    assert len([w for w in caught if issubclass(w.category, LimitWarning)]) == 1, [str(w.message) for w in caught]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        run.config.more = "y" * 100
    assert len(run.config.blob) == 10_000_001
    assert [w["kind"] for w in stored_warnings(run)] == ["config_size"]
    assert len(read_run(Path(run.dir))[0].config["blob"]) == 10_000_001


def test_runs_per_project(root):
    index = RunIndex(root)
    with index._connect() as connection:
        connection.executemany(
            "INSERT INTO runs (id, project, created) VALUES (?, ?, ?)",
            [(f"old{i}", "crowded", time.time()) for i in range(10_000)],
        )
    with pytest.warns(LimitWarning, match="runs in a project") as caught:
        run = jt.init(project="crowded")
    assert len([w for w in caught if issubclass(w.category, LimitWarning)]) == 1, [str(w.message) for w in caught]
    assert limit_warnings(run, "runs_per_project")[0].observed == 10_001
    run.finish()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert jt.init(project="other").warnings == []


def test_files_per_run_through_the_run(root):
    run = jt.init()
    with pytest.warns(LimitWarning, match="files uploaded"):
        run._emit_limit_warnings(run._limits.check_files(1_001))
    assert run._limits.check_files(2_000) == []
    assert [w["kind"] for w in stored_warnings(run)] == ["files_per_run"]


# silence -----------------------------------------------------------------------------------------------
def test_silent_hides_limit_warnings_but_run_warnings_keeps_them(root, monkeypatch, capsys):
    monkeypatch.setenv("WANDB_SILENT", "true")
    run = jt.init()
    with warnings.catch_warnings(record=True) as shown:
        warnings.simplefilter("always")
        run.log({f"m{i}": 1.0 for i in range(10_001)})
        run.log({"text": "x" * 1_000_001})
        run.finish()
    assert shown == []
    assert [w.kind for w in run.warnings] == ["distinct_metrics", "value_size"]
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""
    assert [w["kind"] for w in read_run(Path(run.dir))[0].warnings] == ["distinct_metrics", "value_size"]


def test_silent_set_after_init_still_hides_limit_warnings(root, monkeypatch):
    run = jt.init()
    monkeypatch.setenv("WANDB_SILENT", "1")
    with warnings.catch_warnings(record=True) as shown:
        warnings.simplefilter("always")
        run.log({"text": "x" * 1_000_001})
    assert shown == [] and [w.kind for w in run.warnings] == ["value_size"]


def test_limit_warnings_reach_a_front_end_sink(root):
    from jupyter_tracker import console

    seen: list[Warning] = []

    def sink(warning: Warning) -> bool:
        seen.append(warning)
        return True

    console.add_warning_sink(sink)
    try:
        run = jt.init()
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            run.log({"text": "x" * 1_000_001})
    finally:
        console.remove_warning_sink(sink)
    assert [w.kind for w in seen] == ["value_size"] and run.warnings == seen
