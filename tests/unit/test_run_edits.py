"""Changing a stored run through the Api (``run.summary["x"] = v; run.update()``), append-only."""

from __future__ import annotations

from pathlib import Path

import pytest

import jupyter_tracker as jt
from jupyter_tracker.api.backend import ApiError
from jupyter_tracker.store import records
from jupyter_tracker.store.reader import read_run


@pytest.fixture
def root(store_root: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_CONSOLE", "off")
    return store_root


def finished_run() -> jt.Run:
    run = jt.init(project="p", name="first", tags=["a"], config={"lr": 0.1})
    for step in range(5):
        run.log({"loss": 1.0 / (step + 1)})
    run.finish()
    return run


def test_summary_config_tags_name_and_notes_of_a_finished_run_change_and_read_back(root):
    run = finished_run()
    log_path = Path(run.dir) / "run.jtlog"
    before = log_path.read_bytes()
    stored = jt.Api().run(f"p/{run.id}")
    stored.summary["test/acc"] = 0.93
    stored.config["checkpoint"] = "best.pt"
    stored.config.update({"eval": {"batch": 64}})
    stored.tags.append("evaluated")
    stored.name = "renamed"
    stored.notes = "evaluated on the test set"
    assert stored.summary["test/acc"] == 0.93  # seen at once, saved by update()
    stored.update()

    again = jt.Api().run(f"p/{run.id}")
    assert again.summary["test/acc"] == 0.93 and again.summary["loss"] == pytest.approx(0.2)
    assert again.config["checkpoint"] == "best.pt" and again.config["eval.batch"] == 64 and again.config["lr"] == 0.1
    assert again.tags == ["a", "evaluated"] and again.name == "renamed" and again.notes == "evaluated on the test set"
    assert again.state == "finished"
    assert [run.id] == [found.id for found in jt.Api().runs("p", filters={"summary.test/acc": {"$gt": 0.9}})]
    assert len(again.history(pandas=False)) == 5

    after = log_path.read_bytes()
    assert after.startswith(before)  # append-only: nothing before was rewritten
    scan = records.ScanResult()
    appended = [record for record in records.iter_records(after, scan) if record.seq > read_seq(before)]
    assert [record.kind for record in appended] == [records.RUN, records.CONFIG, records.SUMMARY, records.FINISH]
    state, _ = read_run(Path(run.dir))
    assert state.state == "finished" and state.summary["test/acc"] == 0.93 and state.metadata["name"] == "renamed"


def read_seq(data: bytes) -> int:
    scan = records.ScanResult()
    return max(record.seq for record in records.iter_records(data, scan))


def test_summary_update_saves_at_once(root):
    run = finished_run()
    jt.Api().run(f"p/{run.id}").summary.update({"extra": 1})
    assert jt.Api().run(f"p/{run.id}").summary["extra"] == 1


def test_a_bad_value_raises_naming_the_key_and_nothing_is_written(root):
    run = finished_run()
    before = (Path(run.dir) / "run.jtlog").read_bytes()
    stored = jt.Api().run(f"p/{run.id}")
    with pytest.raises(TypeError, match="'bad'"):
        stored.summary["bad"] = object()
    with pytest.raises(TypeError, match="tags"):
        stored.tags = "not-a-list"
    stored.update()
    assert (Path(run.dir) / "run.jtlog").read_bytes() == before


def test_a_run_still_running_in_its_process_is_refused(root):
    live = jt.init(project="p")
    live.log({"a": 1.0})
    live.flush()
    stored = jt.Api().run(f"p/{live.id}")
    stored.summary["x"] = 1
    with pytest.raises(ApiError, match="running"):
        stored.update()
    live.log({"a": 2.0})
    live.finish()
    _, rows = read_run(Path(live.dir), keep_history=True)
    assert [row["a"] for row in rows] == [1.0, 2.0]
    stored = jt.Api().run(f"p/{live.id}")
    stored.summary["x"] = 1
    stored.update()  # once finished, it may be changed
    assert jt.Api().run(f"p/{live.id}").summary["x"] == 1


def test_a_resumed_run_keeps_the_changes(root):
    run = finished_run()
    stored = jt.Api().run(f"p/{run.id}")
    stored.summary["test/acc"] = 0.5
    stored.config["checkpoint"] = "best.pt"
    stored.update()
    resumed = jt.init(project="p", id=run.id, resume="allow")
    assert resumed.summary["test/acc"] == 0.5 and resumed.config["checkpoint"] == "best.pt" and resumed.step == 5
    resumed.log({"loss": 0.1})
    resumed.finish()
    assert jt.Api().run(f"p/{run.id}").summary["test/acc"] == 0.5
