"""``jupyter_tracker.Api`` over the local run store: runs written by ``init``/``log`` read back."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import pytest

import jupyter_tracker
from jupyter_tracker.api import Api, ApiError, Run, RunNotFoundError, backend_for
from jupyter_tracker.api.local import LocalBackend
from jupyter_tracker.api.sampling import sample_indices
from jupyter_tracker.settings import resolve
from jupyter_tracker.store import records
from jupyter_tracker.store.index import RunIndex
from jupyter_tracker.store.reader import RunLogWarning


def make_run(project: str = "mnist", steps: int = 10, finish: bool = True, **options: Any) -> jupyter_tracker.Run:
    """A real tracked run: ``loss``/``acc`` every step, ``val/acc`` with ``epoch`` every 100 steps."""
    options.setdefault("mode", "offline")
    run = jupyter_tracker.init(project=project, settings={"console": "off"}, **options)
    for step in range(steps):
        run.log({"loss": 1 / (step + 1), "acc": step / max(steps, 1)})
        if step % 100 == 0:
            run.log({"val/acc": step / 1000, "epoch": step // 100}, commit=False)
    if finish:
        jupyter_tracker.finish(quiet=True)
    return run


@pytest.fixture
def long_run(store_root: Path) -> jupyter_tracker.Run:
    return make_run(steps=1_200, config={"lr": 0.01, "opt": {"name": "adam", "betas": [0.9, 0.99]}},
                    group="exp-42", tags=["baseline"], notes="first try", job_type="train")


# history -------------------------------------------------------------------------------------
def test_history_is_a_dataframe_of_500_evenly_spaced_rows_with_first_and_last(long_run: jupyter_tracker.Run) -> None:
    frame = Api().run(f"mnist/{long_run.id}").history()
    assert type(frame).__name__ == "DataFrame"
    assert len(frame) == 500
    assert list(frame["_step"]) == sample_indices(1_200, 500)
    assert frame["_step"].iloc[0] == 0 and frame["_step"].iloc[-1] == 1_199
    assert {"_step", "_timestamp", "_runtime", "loss", "acc", "val/acc", "epoch"} <= set(frame.columns)
    assert list(frame.columns)[0] == "_step" and list(frame.columns)[-2:] == ["_runtime", "_timestamp"]
    assert frame["loss"].iloc[-1] == pytest.approx(1 / 1_200)
    assert (frame["_timestamp"].diff().dropna() >= 0).all()


def test_history_returns_every_row_when_the_run_is_short(store_root: Path) -> None:
    run = make_run(steps=7)
    rows = Api().run(f"mnist/{run.id}").history(pandas=False)
    assert [row["_step"] for row in rows] == list(range(7))
    assert rows[1]["val/acc"] == 0.0 and "val/acc" not in rows[0]  # commit=False joins the next step
    assert rows[3]["loss"] == 0.25


def test_history_samples_argument(long_run: jupyter_tracker.Run) -> None:
    run = Api().run(f"mnist/{long_run.id}")
    assert list(run.history(samples=4)["_step"]) == [0, 400, 799, 1_199]
    assert len(run.history(samples=5_000)) == 1_200
    with pytest.raises(ValueError, match="samples"):
        run.history(samples=0)


def test_history_with_keys_keeps_rows_holding_any_key(long_run: jupyter_tracker.Run) -> None:
    run = Api().run(f"mnist/{long_run.id}")
    frame = run.history(keys=["val/acc"])
    assert list(frame.columns) == ["_step", "val/acc"]
    assert list(frame["_step"]) == [1, 101, 201, 301, 401, 501, 601, 701, 801, 901, 1_001, 1_101]
    by_epoch = run.history(keys=["val/acc"], x_axis="epoch", pandas=False)
    assert by_epoch[2] == {"epoch": 2, "val/acc": 0.2}
    both = run.history(keys=["val/acc", "loss"], samples=1_200)
    assert len(both) == 1_200 and both["val/acc"].notna().sum() == 12
    assert run.history(keys=["nothing"]).empty


def test_history_keys_must_be_names(long_run: jupyter_tracker.Run) -> None:
    run = Api().run(f"mnist/{long_run.id}")
    assert list(run.history(keys="loss", samples=3).columns) == ["_step", "loss"]
    with pytest.raises(TypeError, match="keys"):
        run.history(keys=[1, 2])


def test_history_of_a_run_with_no_steps(store_root: Path) -> None:
    run = make_run(steps=0)
    frame = Api().run(f"mnist/{run.id}").history()
    assert frame.empty and "_step" in frame.columns
    assert list(Api().run(f"mnist/{run.id}").scan_history()) == []


def test_scan_history_yields_every_row_as_dicts(long_run: jupyter_tracker.Run) -> None:
    rows = list(Api().run(f"mnist/{long_run.id}").scan_history(page_size=100))
    assert len(rows) == 1_200
    assert [row["_step"] for row in rows] == list(range(1_200))
    assert set(rows[1]) == {"_step", "_timestamp", "_runtime", "loss", "acc", "val/acc", "epoch"}


def test_scan_history_with_keys_keeps_rows_holding_every_key(long_run: jupyter_tracker.Run) -> None:
    run = Api().run(f"mnist/{long_run.id}")
    rows = list(run.scan_history(keys=["val/acc", "loss"]))
    assert len(rows) == 12 and rows[0] == {"val/acc": 0.0, "loss": 0.5}
    assert [row["_step"] for row in run.scan_history(keys=["_step", "epoch"])][:2] == [1, 101]
    assert [row["_step"] for row in run.scan_history(min_step=5, max_step=8)] == [5, 6, 7]


def test_a_torn_tail_is_skipped_with_a_warning(store_root: Path) -> None:
    run = make_run(steps=50)
    with open(Path(run.dir) / "run.jtlog", "ab") as handle:
        handle.write(b"\x10\x00\x00\x00garbage")
    with pytest.warns(RunLogWarning, match="torn"):
        frame = Api().run(f"mnist/{run.id}").history()
    assert len(frame) == 50


def test_an_unfinished_frame_of_a_live_run_is_not_warned_about(store_root: Path) -> None:
    run = make_run(steps=50)
    index = RunIndex(store_root)
    row = index.get(run.id)
    assert row is not None
    index.upsert({**row, "run_group": row["group"], "state": "running", "pid": os.getpid()})
    with open(Path(run.dir) / "run.jtlog", "ab") as handle:
        handle.write(b"\x10\x00\x00\x00half a fra")  # the writer is mid-frame
    with warnings.catch_warnings():
        warnings.simplefilter("error", RunLogWarning)
        assert len(Api().run(f"mnist/{run.id}").history()) == 50


def test_system_stream(store_root: Path) -> None:
    run = make_run(steps=3, finish=False)
    now = time.time()
    for second in range(4):
        run._append((getattr(records, "SYSTEM", "system"), now + second, float(second), {"system/cpu_percent": 10.0 * second}))
    jupyter_tracker.finish(quiet=True)
    rows = Api().run(f"mnist/{run.id}").history(stream="system", pandas=False)
    assert [row["system/cpu_percent"] for row in rows] == [0.0, 10.0, 20.0, 30.0]
    assert "_step" not in rows[0] and rows[1]["_runtime"] == 1.0
    with pytest.raises(ValueError, match="stream"):
        Api().run(f"mnist/{run.id}").history(stream="gpu")


# the run object ----------------------------------------------------------------------------
def test_run_attributes(long_run: jupyter_tracker.Run) -> None:
    run = Api().run(f"mnist/{long_run.id}")
    assert isinstance(run, Run)
    assert (run.id, run.name, run.display_name) == (long_run.id, long_run.name, long_run.name)
    assert run.state == "finished" and run.exit_code == 0
    assert (run.group, run.tags, run.notes, run.job_type, run.project) == ("exp-42", ["baseline"], "first try", "train", "mnist")
    assert run.path == ["mnist", long_run.id]
    assert run.url == Path(long_run.dir).resolve().as_uri()
    assert run.dir == long_run.dir
    assert time.strptime(run.created_at, "%Y-%m-%dT%H:%M:%S")
    assert abs(run.created - long_run.start_time) < 1
    assert run.runtime is not None and run.runtime >= 0
    assert repr(run) == f"<Run mnist/{long_run.id} (finished)>"


def test_config_and_summary_are_dict_like_and_change_only_through_update(long_run: jupyter_tracker.Run) -> None:
    run = Api().run(f"mnist/{long_run.id}")
    assert run.config["lr"] == 0.01 and run.config.lr == 0.01
    assert run.config["opt.name"] == "adam" and run.config["opt"] == {"name": "adam", "betas": [0.9, 0.99]}
    assert dict(run.config) == {"lr": 0.01, "opt.name": "adam", "opt.betas": [0.9, 0.99]}
    assert run.summary["loss"] == pytest.approx(1 / 1_200) and "acc" in run.summary
    assert run.summary.get("missing") is None
    run.config["lr"] = 1
    run.summary.loss = 1
    assert run.config["lr"] == 1 and run.summary["loss"] == 1
    with pytest.raises(TypeError):
        del run.config["lr"]
    run.load(force=True)  # not saved with update(): nothing changed
    assert run.config["lr"] == 0.01 and Api().run(f"mnist/{long_run.id}").summary["loss"] == pytest.approx(1 / 1_200)


def test_summary_set_by_hand_and_define_metric_summary(store_root: Path) -> None:
    run = jupyter_tracker.init(project="mnist", mode="offline", settings={"console": "off"})
    run.define_metric("acc", summary="max")
    for value in (0.2, 0.9, 0.5):
        run.log({"acc": value})
    run.summary["best_acc"] = 0.99
    jupyter_tracker.finish(quiet=True)
    summary = Api().run(f"mnist/{run.id}").summary
    assert summary["best_acc"] == 0.99 and summary["acc"] == 0.9


def test_a_running_run_is_read_fresh_from_its_log(store_root: Path) -> None:
    live = make_run(steps=20, finish=False, config={"lr": 0.1})
    live.summary["note"] = "halfway"
    assert live.flush()
    run = Api().run(f"mnist/{live.id}")
    assert run.state == "running"
    assert run.summary["loss"] == pytest.approx(1 / 20) and run.summary["note"] == "halfway"
    assert len(run.history()) == 20
    listed = Api().runs("mnist")[0]
    assert listed.summary["note"] == "halfway", "a listed running run loads its fresh values when asked"
    jupyter_tracker.finish(quiet=True)
    assert Api().run(f"mnist/{live.id}").state == "finished"


def test_a_run_whose_process_died_is_crashed_and_readable(store_root: Path) -> None:
    live = make_run(steps=30, finish=False)
    assert live.flush()
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    index = RunIndex(store_root)
    row = index.get(live.id)
    assert row is not None
    index.upsert({**row, "run_group": row["group"], "pid": dead.pid, "state": "running"})
    run = Api().run(f"mnist/{live.id}")
    assert run.state == "crashed"
    assert run.summary["loss"] == pytest.approx(1 / 30)
    assert Api().runs("mnist", filters={"state": "crashed"})[0].id == live.id


def test_files(store_root: Path, tmp_path: Path) -> None:
    run = make_run(steps=2)
    saved = Path(run.dir) / "files" / "model" / "weights.txt"
    saved.parent.mkdir(parents=True, exist_ok=True)
    saved.write_text("0.5")
    media = Path(run.dir) / "media" / "images" / "x.png"
    media.parent.mkdir(parents=True, exist_ok=True)
    media.write_bytes(b"png")
    found = Api().run(f"mnist/{run.id}")
    names = [file.name for file in found.files()]
    assert "model/weights.txt" in names and "media/images/x.png" in names
    target = found.file("model/weights.txt").download(tmp_path / "out")
    assert target.read_text() == "0.5"
    with pytest.raises(FileExistsError):
        found.file("model/weights.txt").download(tmp_path / "out")
    assert found.file("model/weights.txt").download(tmp_path / "out", exist_ok=True) == target
    with pytest.raises(RunNotFoundError):
        found.file("nope.txt")


# paths ---------------------------------------------------------------------------------------
def test_run_paths(store_root: Path) -> None:
    plain = make_run(steps=1)
    team = make_run(steps=1, entity="team")
    api = Api()
    assert api.run(f"mnist/{plain.id}").id == plain.id
    assert api.run(plain.id).id == plain.id
    assert api.run(f"anyone/mnist/{plain.id}").id == plain.id, "a local run without entity matches any entity"
    assert api.run(f"team/mnist/{team.id}").path == ["team", "mnist", team.id]
    assert api.run(f"team/mnist/runs/{team.id}").id == team.id
    assert api.run(plain.dir).id == plain.id
    with pytest.raises(RunNotFoundError, match="other"):
        api.run(f"other/{plain.id}")
    with pytest.raises(RunNotFoundError):
        api.run(f"else/mnist/{team.id}")
    with pytest.raises(RunNotFoundError):
        api.run("mnist/nosuchid")
    with pytest.raises(ValueError, match="run path"):
        api.run("a/b/c/d/e")


# runs ----------------------------------------------------------------------------------------
@pytest.fixture
def six_runs(store_root: Path) -> list[jupyter_tracker.Run]:
    made = []
    for number, (lr, group) in enumerate([(0.1, "exp-42"), (0.001, "exp-42"), (0.005, "exp-42"),
                                          (0.005, "other"), (0.5, None), (0.0001, "exp-42")]):
        run = make_run(steps=3, config={"lr": lr}, group=group, tags=["odd" if number % 2 else "even"])
        run_summary = Api().run(f"mnist/{run.id}")  # noqa: F841 - runs are created in order
        made.append(run)
    jupyter_tracker.init(project="mnist", mode="offline", settings={"console": "off"}, config={"lr": 0.002})
    jupyter_tracker.finish(quiet=True)
    make_run(project="cifar", steps=1)
    return made


def _set_acc(runs: list[jupyter_tracker.Run], values: list[float]) -> None:
    index = RunIndex(resolve().root)
    for run, value in zip(runs, values, strict=True):
        row = index.get(run.id)
        assert row is not None
        index.upsert({**row, "run_group": row["group"], "summary": {**row["summary"], "acc": value}})


def test_runs_with_the_issue_filters_and_order(six_runs: list[jupyter_tracker.Run]) -> None:
    _set_acc(six_runs, [0.1, 0.7, 0.2, 0.9, 0.3, 0.8])
    found = Api().runs("mnist", filters={"group": "exp-42", "config.lr": {"$lt": 0.01}}, order="-summary.acc")
    assert [run.id for run in found] == [six_runs[5].id, six_runs[1].id, six_runs[2].id]
    assert all(isinstance(run, Run) for run in found)
    assert found[0].summary["acc"] == 0.8 and found[0].config["lr"] == 0.0001


def test_runs_default_order_is_oldest_first_and_created_at_orders(six_runs: list[jupyter_tracker.Run]) -> None:
    api = Api()
    oldest_first = [run.id for run in api.runs("mnist")]
    assert oldest_first[:6] == [run.id for run in six_runs] and len(oldest_first) == 7
    assert [run.id for run in api.runs("mnist", order="-created_at")] == oldest_first[::-1]
    assert [run.id for run in api.runs("mnist", order="+config.lr")][:2] == [six_runs[5].id, six_runs[1].id]


def test_runs_filter_keys_and_aliases(six_runs: list[jupyter_tracker.Run]) -> None:
    api = Api()
    assert len(api.runs("mnist", {"config.lr.value": {"$gte": 0.1}})) == 2
    assert len(api.runs("mnist", {"tags": "odd"})) == 3
    assert len(api.runs("mnist", {"group": None})) == 2
    assert len(api.runs("mnist", {"state": "finished"})) == 7
    assert [run.id for run in api.runs("mnist", {"display_name": six_runs[2].name})] == [six_runs[2].id]
    assert [run.id for run in api.runs("mnist", {"name": six_runs[3].id})] == [six_runs[3].id]
    assert len(api.runs("mnist", {"$or": [{"group": "other"}, {"config.lr": 0.5}]})) == 2
    assert len(api.runs("mnist", {"summary_metrics.loss": {"$lt": 0.34}})) == 6


def test_runs_group_conditions_answered_by_the_index_agree_with_the_python_filter(six_runs: list[jupyter_tracker.Run]) -> None:
    api = Api()
    assert [run.id for run in api.runs("mnist", {"group": "other"})] == [six_runs[3].id]
    assert len(api.runs("mnist", {"group": {"$in": ["other", "exp-42"]}})) == 5
    assert len(api.runs("mnist", {"group": {"$ne": "exp-42"}})) == 3
    assert len(api.runs("mnist", {"group": "exp-42", "tags": "odd"})) == 2
    assert len(api.runs("mnist", {"group": "exp-42", "job_type": "nothing-like-it"})) == 0
    assert len(api.runs("mnist", {"group": "missing"})) == 0
    with pytest.raises(ValueError):
        len(api.runs("mnist", {"group": "exp-42", "config.lr": {"$bogus": 1}}))


def test_runs_are_paged_lazily(six_runs: list[jupyter_tracker.Run]) -> None:
    runs = Api().runs("mnist", per_page=2)
    assert len(runs) == runs.length == 7
    assert [run.id for run in runs][:6] == [run.id for run in six_runs]
    assert runs[5].id == six_runs[5].id and runs[-1].id == list(runs)[-1].id
    assert [run.id for run in runs[1:4]] == [run.id for run in six_runs[1:4]]
    with pytest.raises(IndexError):
        runs[7]
    assert "7 runs" in repr(runs)


def test_runs_paths_and_projects(six_runs: list[jupyter_tracker.Run]) -> None:
    api = Api()
    assert len(api.runs("cifar")) == 1
    assert len(api.runs("someone/mnist")) == 7
    assert len(api.runs()) == 8, "no path: every project of the local store"
    assert len(api.runs("nothing")) == 0
    assert [project.name for project in api.projects()] == ["cifar", "mnist"]
    assert len(api.projects()[1].runs()) == 7
    with pytest.raises(ValueError, match="runs path"):
        api.runs("a/b/c")


def test_runs_histories(six_runs: list[jupyter_tracker.Run]) -> None:
    frame = Api().runs("mnist", filters={"group": "other"}).histories(samples=2, format="pandas")
    assert list(frame["run_id"]) == [six_runs[3].id] * 2 and list(frame["_step"]) == [0, 2]
    assert Api().runs("cifar").histories(keys=["loss"])[0]["loss"] == 1.0


def test_invalid_filters_and_orders_raise_at_once(six_runs: list[jupyter_tracker.Run]) -> None:
    with pytest.raises(ValueError, match="unknown operator"):
        Api().runs("mnist", filters={"config.lr": {"$below": 1}})
    with pytest.raises(ValueError, match="order"):
        Api().runs("mnist", order="+")
    with pytest.raises(ValueError, match="per_page"):
        Api().runs("mnist", per_page=0)


# the store and the backend ---------------------------------------------------------------------
def test_unindexed_run_directories_are_picked_up(store_root: Path, tmp_path: Path) -> None:
    run = make_run(steps=5, config={"lr": 0.3})
    other = tmp_path / "copy"
    shutil.copytree(run.dir, other / "jupyter_tracker" / Path(run.dir).name)
    broken = other / "jupyter_tracker" / "run-20260101_000000-broken"
    broken.mkdir()
    (broken / "run.jtlog").write_bytes(b"not a run log")
    api = Api(overrides={"dir": str(other)})
    assert api.backend.root == other / "jupyter_tracker"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        listed = api.runs("mnist")
    assert [found.id for found in listed] == [run.id]
    assert listed[0].config["lr"] == 0.3
    assert len(api.run(f"mnist/{run.id}").history()) == 5
    assert (other / "jupyter_tracker" / "index.sqlite").exists()


def test_a_run_copied_in_after_the_api_was_made_is_found_by_id(store_root: Path, tmp_path: Path) -> None:
    run = make_run(steps=2)
    other = tmp_path / "later"
    (other / "jupyter_tracker").mkdir(parents=True)
    api = Api(overrides={"dir": str(other)})
    assert len(api.runs()) == 0
    shutil.copytree(run.dir, other / "jupyter_tracker" / Path(run.dir).name)
    assert api.run(run.id).id == run.id
    api.flush()
    assert len(api.runs()) == 1


def test_fresh_apis_see_run_directories_that_came_or_went_since_the_last_listing(store_root: Path, tmp_path: Path) -> None:
    first, second, third = make_run(steps=2), make_run(steps=2), make_run(steps=2)
    other = tmp_path / "moved" / "jupyter_tracker"
    other.mkdir(parents=True)
    shutil.copytree(first.dir, other / Path(first.dir).name)
    shutil.copytree(second.dir, other / Path(second.dir).name)

    def listed() -> list[str]:
        return sorted(found.id for found in Api(overrides={"dir": str(other.parent)}).runs("mnist"))

    assert listed() == sorted([first.id, second.id])
    assert listed() == sorted([first.id, second.id])  # the listing is remembered: nothing came or went
    # one run goes and another comes: as many directories as before, not the same ones
    shutil.rmtree(other / Path(second.dir).name)
    shutil.copytree(third.dir, other / Path(third.dir).name)
    assert third.id in listed()


def test_a_run_directory_listed_before_its_log_was_copied_is_found_later(store_root: Path, tmp_path: Path) -> None:
    run = make_run(steps=3)
    other = tmp_path / "copying" / "jupyter_tracker"
    other.mkdir(parents=True)
    target = other / Path(run.dir).name
    target.mkdir()  # a copy under way: the directory is there, its log not yet
    assert len(Api(overrides={"dir": str(other.parent)}).runs("mnist")) == 0
    shutil.copytree(run.dir, target, dirs_exist_ok=True)
    assert [found.id for found in Api(overrides={"dir": str(other.parent)}).runs("mnist")] == [run.id]


def test_reading_an_empty_place_creates_nothing(tmp_path: Path, store_root: Path) -> None:
    empty = tmp_path / "nowhere"
    api = Api(overrides={"dir": str(empty)})
    assert len(api.runs("mnist")) == 0 and api.projects() == []
    with pytest.raises(RunNotFoundError):
        api.run("mnist/abc")
    assert not empty.exists()


def test_the_local_backend_is_chosen_without_a_server(store_root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    backend = backend_for(resolve())
    assert isinstance(backend, LocalBackend) and backend.root == store_root
    assert isinstance(backend_for(resolve({"base_url": "http://127.0.0.1:9", "mode": "offline"})), LocalBackend)
    assert isinstance(Api().backend, LocalBackend)
    with pytest.raises(ValueError, match="override"):
        Api(overrides={"colour": "red"})


class _OneRunBackend:
    """A backend written from the protocol alone: what a remote one has to provide."""

    kind = "fake"

    def list_runs(self, entity: Any, project: Any, filters: Any, order: Any, per_page: int) -> Any:
        from jupyter_tracker.api.backend import RecordPages

        return RecordPages([self.get_run(entity, project, "r1")], per_page)

    def get_run(self, entity: Any, project: Any, run_id: str) -> Any:
        if run_id != "r1":
            raise RunNotFoundError(run_id)
        return {"id": "r1", "name": "fake-run", "project": "p", "state": "finished", "config": {"lr": 1}, "summary": {}}

    def history_rows(self, entity: Any, project: Any, run_id: Any, keys: Any = None, min_step: Any = None,
                     max_step: Any = None, page_size: int = 1000) -> Any:
        return iter([{"_step": 0, "a": 1}, {"_step": 1, "b": 2}, {"_step": 2, "a": 3, "b": 4}])

    def sampled_history(self, entity: Any, project: Any, run_id: Any, keys: Any, samples: int, x_axis: str = "_step") -> Any:
        return [{"_step": 0, "a": 1}]


def test_a_backend_can_be_injected() -> None:
    api = Api(backend=_OneRunBackend())  # type: ignore[arg-type]
    run = api.run("p/r1")
    assert run.config["lr"] == 1 and run.name == "fake-run"
    assert list(run.scan_history(keys=["a", "b"])) == [{"a": 3, "b": 4}]
    assert run.history(pandas=False) == [{"_step": 0, "a": 1}]
    assert [found.id for found in api.runs("p")] == ["r1"]
    with pytest.raises(LookupError):
        api.run("p/zz")


def test_api_errors_are_one_family() -> None:
    assert issubclass(RunNotFoundError, ApiError) and issubclass(RunNotFoundError, LookupError)


def test_pandas_is_imported_only_for_dataframes(store_root: Path) -> None:
    run = make_run(steps=3)
    code = (
        "import sys, jupyter_tracker\n"
        "api = jupyter_tracker.Api()\n"
        f"run = api.run('mnist/{run.id}')\n"
        "listed = list(api.runs('mnist', filters={'config.lr': {'$exists': False}}))\n"
        "rows = list(run.scan_history()) + run.history(pandas=False)\n"
        "print(dict(run.summary), 'pandas' in sys.modules)\n"
        "run.history()\n"
        "print('pandas' in sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=dict(os.environ), timeout=120)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert lines[-2].endswith("False") and lines[-1] == "True"
