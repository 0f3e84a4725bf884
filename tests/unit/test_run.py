"""The run API: step and commit bookkeeping, config, summary, define_metric, resume, modes, reinit."""

from __future__ import annotations

import math
import re
import warnings
from pathlib import Path

import numpy as np
import pytest

import jupyter_tracker as jt
from jupyter_tracker import sdk
from jupyter_tracker.run_config import ConfigWarning
from jupyter_tracker.sdk import RunExistsError, UsageError
from jupyter_tracker.store.reader import read_run
from jupyter_tracker.tracked_run import RunFinishedError, StepWarning
from tests.helpers import only_run_dir


@pytest.fixture
def root(store_root: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_CONSOLE", "off")
    return store_root


def history_of(run: jt.Run) -> list[dict]:
    run.finish()
    _, rows = read_run(Path(run.dir), keep_history=True)
    return [{key: value for key, value in row.items() if not key.startswith("_") or key == "_step"} for row in rows]


# init -----------------------------------------------------------------------------------------------
def test_init_returns_a_run_with_identity_and_a_directory(root):
    run = jt.init(project="mnist", config={"lr": 0.1})
    assert jt.run is run
    assert re.fullmatch(r"[a-z0-9]{8}", run.id)
    assert re.fullmatch(r"[a-z]+-[a-z]+-\d+", run.name)
    assert Path(run.dir).is_dir() and Path(run.dir).parent == root
    assert run.project == "mnist" and run.path == f"mnist/{run.id}"
    assert run.url is None  # offline: no server page to point to
    assert run.save() is True
    assert run.state == "running"


def test_all_init_arguments_reach_the_run(root):
    run = jt.init(project="p", entity="team", name="my-run", id="run42", group="g", job_type="train",
                  tags=["a", "b"], notes="n", mode="offline")
    assert (run.project, run.entity, run.name, run.id, run.group, run.job_type) == ("p", "team", "my-run", "run42", "g", "train")
    assert run.tags == ("a", "b") and run.notes == "n"
    run.finish()
    state, _ = read_run(Path(run.dir))
    assert state.metadata["name"] == "my-run" and state.metadata["group"] == "g" and state.metadata["tags"] == ["a", "b"]


def test_run_names_are_numbered_by_their_order_in_the_project(root):
    first = jt.init(project="p")
    first.finish()
    second = jt.init(project="p")
    assert first.name.endswith("-1") and second.name.endswith("-2")


def test_renaming_a_run_is_recorded(root):
    run = jt.init(project="p")
    run.name = "better-name"
    run.finish()
    assert read_run(Path(run.dir))[0].metadata["name"] == "better-name"


def test_config_include_and_exclude_keys(root):
    run = jt.init(config={"a": 1, "b": 2, "c": 3}, config_exclude_keys=["b"])
    assert dict(run.config) == {"a": 1, "c": 3}
    run = jt.init(config={"a": 1, "b": 2, "c": 3}, config_include_keys=["b"])
    assert dict(run.config) == {"b": 2}


def test_bad_run_id_is_refused(root):
    with pytest.raises(ValueError, match="run id"):
        jt.init(id="../escape")


def test_module_functions_need_a_run(root):
    assert jt.run is None
    with pytest.raises(UsageError, match="init"):
        jt.log({"a": 1})
    with pytest.raises(UsageError, match="init"):
        jt.define_metric("a")
    with pytest.raises(UsageError):
        jt.config["lr"] = 1
    assert len(jt.summary) == 0
    jt.finish()  # no run: nothing to do


# step and commit ----------------------------------------------------------------------------------
def test_each_log_call_commits_one_step(root):
    run = jt.init()
    for value in range(3):
        jt.log({"loss": float(value)})
    assert run.step == 3
    assert history_of(run) == [{"loss": 0.0, "_step": 0}, {"loss": 1.0, "_step": 1}, {"loss": 2.0, "_step": 2}]


def test_commit_false_merges_into_the_pending_step(root):
    run = jt.init()
    run.log({"a": 1.0}, commit=False)
    run.log({"b": 2.0}, commit=False)
    assert run.step == 0
    run.log({"c": 3.0})
    run.log({"a": 4.0})
    assert history_of(run) == [{"a": 1.0, "b": 2.0, "c": 3.0, "_step": 0}, {"a": 4.0, "_step": 1}]


def test_later_values_win_within_a_pending_step(root):
    run = jt.init()
    run.log({"a": 1.0}, commit=False)
    run.log({"a": 2.0})
    assert history_of(run) == [{"a": 2.0, "_step": 0}]


def test_pending_values_are_committed_at_finish(root):
    run = jt.init()
    run.log({"a": 1.0}, commit=False)
    assert history_of(run) == [{"a": 1.0, "_step": 0}]


def test_explicit_step_accumulates_until_a_later_step(root):
    run = jt.init()
    run.log({"a": 1.0}, step=5)
    run.log({"b": 2.0}, step=5)
    assert run.step == 5
    run.log({"a": 3.0}, step=7)
    run.log({"c": 4.0})  # no step: goes to step 7 and commits it
    run.log({"d": 5.0})
    assert history_of(run) == [{"a": 1.0, "b": 2.0, "_step": 5}, {"a": 3.0, "c": 4.0, "_step": 7}, {"d": 5.0, "_step": 8}]


def test_explicit_step_with_commit_true_commits_at_once(root):
    run = jt.init()
    run.log({"a": 1.0}, step=3, commit=True)
    assert run.step == 4
    assert history_of(run) == [{"a": 1.0, "_step": 3}]


def test_moving_to_a_later_step_commits_the_pending_one(root):
    run = jt.init()
    run.log({"a": 1.0}, commit=False)
    run.log({"b": 2.0}, step=10)
    assert history_of(run) == [{"a": 1.0, "_step": 0}, {"b": 2.0, "_step": 10}]


def test_a_lower_step_warns_and_drops_the_row(root):
    run = jt.init()
    run.log({"a": 1.0}, step=5, commit=True)
    with pytest.warns(StepWarning, match="step 2 is lower"):
        run.log({"a": 2.0}, step=2)
    with pytest.warns(StepWarning):
        run.log({"a": 2.0}, step=5)  # step 5 is committed already
    run.log({"a": 3.0})
    assert [w for w in run.warnings if isinstance(w, StepWarning)][0].args
    assert history_of(run) == [{"a": 1.0, "_step": 5}, {"a": 3.0, "_step": 6}]


def test_step_must_be_an_integer(root):
    run = jt.init()
    run.log({"a": 1.0}, step=np.int64(2), commit=True)
    assert run.step == 3
    with pytest.raises(TypeError, match="step"):
        run.log({"a": 1.0}, step="later")
    assert history_of(run) == [{"a": 1.0, "_step": 2}]


def test_an_invalid_value_writes_nothing_of_the_call(root):
    run = jt.init()
    with pytest.raises(TypeError, match="'bad'"):
        run.log({"good": 1.0, "bad": object()})
    with pytest.raises(TypeError, match="'nested.bad'"):
        run.log({"good": 1.0, "nested": {"bad": {1, 2}}}, commit=False)
    assert run.step == 0
    run.log({"good": 2.0})
    assert history_of(run) == [{"good": 2.0, "_step": 0}]


def test_an_empty_log_commits_an_empty_step(root):
    run = jt.init()
    run.log({})
    run.log({"a": 1.0})
    assert history_of(run) == [{"_step": 0}, {"a": 1.0, "_step": 1}]


def test_logging_flattens_nested_dicts_fully(root):
    run = jt.init()
    run.log({"a": 1, "b": {"c": "hello", "d": [1, 2, 3]}, "x": {"y": {"z": {"w": {"v": 1.0}}}}})
    assert history_of(run) == [{"a": 1, "b.c": "hello", "b.d": [1, 2, 3], "x.y.z.w.v": 1.0, "_step": 0}]


def test_the_logged_dict_is_copied(root):
    run = jt.init()
    data = {"a": 1.0}
    run.log(data)
    data["a"] = 2.0
    assert history_of(run) == [{"a": 1.0, "_step": 0}]


def test_history_rows_carry_timestamp_and_runtime(root):
    run = jt.init()
    run.log({"a": 1.0})
    run.finish()
    _, rows = read_run(Path(run.dir), keep_history=True)
    assert rows[0]["_timestamp"] > 1e9 and 0 <= rows[0]["_runtime"] < 60


def test_log_after_finish_is_an_error(root):
    run = jt.init()
    run.finish()
    with pytest.raises(RunFinishedError):
        run.log({"a": 1.0})
    with pytest.raises(UsageError):
        jt.log({"a": 1.0})
    run.finish()  # twice is harmless


# config -------------------------------------------------------------------------------------------
def test_config_access_update_and_setdefaults(root):
    run = jt.init(config={"lr": 0.1, "batch_size": 32, "opt": {"name": "adam", "betas": [0.9, 0.99]}})
    config = run.config
    assert config.lr == 0.1 and config["batch_size"] == 32
    assert config["opt.name"] == "adam" and config.opt == {"name": "adam", "betas": [0.9, 0.99]}
    assert "opt" in config and "opt.name" in config and "nope" not in config
    config.epochs = 3
    config["dropout"] = 0.5
    config.update({"wd": 1e-4}, allow_val_change=True)
    config.setdefaults({"lr": 99, "momentum": 0.9})
    assert config.lr == 0.1 and config.momentum == 0.9
    with pytest.raises(AttributeError):
        _ = config.missing
    with pytest.raises(KeyError):
        _ = config["missing"]
    assert jt.config is config
    run.finish()
    state, _ = read_run(Path(run.dir))
    assert state.config == {"lr": 0.1, "batch_size": 32, "opt.name": "adam", "opt.betas": [0.9, 0.99],
                            "epochs": 3, "dropout": 0.5, "wd": 1e-4, "momentum": 0.9}


def test_config_from_an_object_with_attributes(root):
    import argparse

    run = jt.init(config=argparse.Namespace(lr=0.3, layers=2))
    assert dict(run.config) == {"lr": 0.3, "layers": 2}


def test_config_keeps_three_dots(root):
    run = jt.init(config={"a": {"b": {"c": {"d": {"e": 1}}}}})
    assert dict(run.config) == {"a.b.c.d": {"e": 1}}


def test_config_rejects_bad_values_naming_the_key(root):
    run = jt.init()
    with pytest.raises(TypeError, match="'model'"):
        run.config.update({"model": object()})


def test_changing_a_config_value_warns_and_allow_val_change_does_not(root):
    run = jt.init(config={"lr": 0.1})
    with pytest.warns(ConfigWarning, match="'lr' changed"):
        run.config.lr = 0.2
    assert run.config.lr == 0.2
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        run.config.update({"lr": 0.3}, allow_val_change=True)
        run.config.update({"lr": 0.3})  # same value: nothing to say


def test_locked_config_keys_warn_and_keep_their_value(root):
    run = jt.init()
    run.config.lock({"lr": 0.5})
    with pytest.warns(ConfigWarning, match="locked"):
        run.config.update({"lr": 0.1, "other": 1})
    assert run.config.lr == 0.5 and run.config.other == 1
    assert any(isinstance(w, ConfigWarning) for w in run.warnings)


def test_config_keys_cannot_be_deleted(root):
    run = jt.init(config={"a": 1})
    with pytest.raises(TypeError):
        del run.config["a"]


# summary --------------------------------------------------------------------------------------------
def test_summary_holds_the_last_value_by_default(root):
    run = jt.init()
    run.log({"loss": 1.0, "acc": 0.1})
    run.log({"loss": 0.5})
    assert dict(run.summary) == {"loss": 0.5, "acc": 0.1}
    assert jt.summary["loss"] == 0.5


def test_summary_holds_the_last_fast_path_row_before_and_after_rows_with_other_names(root):
    run = jt.init()
    for step in range(5):  # the same names and types: log()'s fast path after the first row
        run.log({"loss": float(step), "acc": step / 10})
    assert run.summary["loss"] == 4.0 and dict(run.summary) == {"loss": 4.0, "acc": 0.4}
    run.log({"loss": 9.0, "acc": 0.9})
    run.log({"lr": 0.1})  # other names: the fast path's last row is not lost under them
    run.log({"lr": 0.2})
    assert dict(run.summary) == {"loss": 9.0, "acc": 0.9, "lr": 0.2}
    run.log({"loss": 1.5, "acc": 0.5})
    run.log({"loss": 0.5, "acc": 0.6})
    run.define_metric("loss", summary="min")  # seeded from the last value, then the rows after it
    run.log({"loss": 0.7, "acc": 0.7})
    assert dict(run.summary) == {"loss": 0.5, "acc": 0.7, "lr": 0.2}
    run.finish()
    assert read_run(Path(run.dir))[0].summary == {"loss": 0.5, "acc": 0.7, "lr": 0.2}


def test_a_dict_changed_after_log_keeps_the_values_it_had_when_logged(root):
    run = jt.init()
    metrics = {"loss": 1.0, "epoch": 0}
    for step in range(300):  # the same dict, changed in place: log()'s fast path from the second row
        metrics["loss"] = 1.0 / (step + 1)
        metrics["epoch"] = step // 100
        run.log(metrics)
        metrics["loss"] = -1.0  # changed after log() returned: never seen in the run
    assert dict(run.summary) == {"loss": 1.0 / 300, "epoch": 2}
    rows = history_of(run)
    assert [row["loss"] for row in rows] == [1.0 / (step + 1) for step in range(300)]
    assert [row["epoch"] for row in rows] == [step // 100 for step in range(300)]


def test_float_rows_keep_every_value_type_and_name_order_across_step_widths(root):
    """log()'s fast path checks float rows on their packed bytes: whatever differs must still be seen."""
    run = jt.init()
    expected = []

    def log(row):
        run.log(row)
        expected.append(dict(row))

    for step in range(70_000):  # the step's encoding grows at 128, 256 and 65,536
        log({"loss": step * 0.5, "acc": -step / 3})
        if step in (5, 127, 128, 255, 256, 65_535, 65_536, 69_000):
            log({"loss": np.float64(1.5), "acc": 2.0})  # a float subclass: stored as the float it is
            log({"loss": 1, "acc": 2.0})  # an int: stays an int
            log({"acc": 2.0, "loss": 1.0})  # the same names in another order
            log({"loss": True, "acc": 2.0})
            log({"loss": "abcdefgh", "acc": 2.0})  # packs to as many bytes as a float
            log({"loss": 1.0, "acc": 2.0, "extra": 3.0})
            log({"loss": 1.0})
    rows = history_of(run)
    assert [row["_step"] for row in rows] == list(range(len(expected)))
    assert [{key: value for key, value in row.items() if key != "_step"} for row in rows] == expected
    assert [type(row["loss"]) for row in rows] == [type(row["loss"]) if type(row["loss"]) is not np.float64 else float
                                                   for row in expected]
    assert [list(row)[:2] for row in rows[6:9]] == [["loss", "acc"], ["loss", "acc"], ["acc", "loss"]]


def test_values_msgpack_cannot_hold_on_the_fast_path_are_kept_approximately_and_logging_goes_on(root):
    run = jt.init()
    for step in range(3):
        run.log({"count": step, "name": "ok"})
    run.log({"count": 2**70, "name": "bad\udc80name"})  # same names and types: the fast path
    run.log({"count": 4, "name": "ok"})
    assert run.summary["count"] == 4
    rows = history_of(run)
    assert [(row["count"], row["name"]) for row in rows] == [
        (0, "ok"), (1, "ok"), (2, "ok"), (float(2**70), "bad\ufffdname"), (4, "ok")]


def test_a_record_observer_added_mid_run_sees_every_later_row_as_python_objects(root):
    run = jt.init()
    for step in range(500):  # packed by the fast path before anyone observes
        run.log({"loss": float(step)})
    seen: list[tuple] = []
    run.add_record_observer(lambda first_seq, batch: seen.extend(batch))
    for step in range(500, 1000):
        run.log({"loss": float(step)})
    assert run.flush()
    rows = [record for record in seen if record[0] == "h"]
    assert all(type(record) is tuple and type(record[4]) is dict for record in rows)
    steps = [record[1] for record in rows]
    assert steps == sorted(steps) and set(range(500, 1000)) <= set(steps)
    assert all(record[4] == {"loss": float(record[1])} for record in rows)


def test_summary_set_by_hand_wins_and_is_stored(root):
    run = jt.init()
    run.log({"acc": 0.5})
    jt.summary["best_acc"] = 0.99
    run.summary["acc"] = 0.7
    run.log({"acc": 0.6})
    assert run.summary["acc"] == 0.7 and run.summary["best_acc"] == 0.99
    run.summary.update({"nested": {"a": {"b": {"c": {"d": {"e": 1}}}}}})
    assert run.summary["nested.a.b.c.d"] == {"e": 1}
    run.finish()
    state, _ = read_run(Path(run.dir))
    assert state.summary["best_acc"] == 0.99 and state.summary["acc"] == 0.7


def test_deleting_a_summary_key_hides_it(root):
    run = jt.init()
    run.log({"a": 1.0, "b": 2.0})
    del run.summary["a"]
    assert dict(run.summary) == {"b": 2.0}
    with pytest.raises(KeyError):
        del run.summary["missing"]


@pytest.mark.parametrize(
    ("mode", "goal", "expected"),
    [
        ("min", None, 1.0),
        ("max", None, 5.0),
        ("mean", None, 3.0),
        ("last", None, 2.0),
        ("first", None, 4.0),
        ("best", "minimize", 1.0),
        ("best", "maximize", 5.0),
        ("best", "max", 5.0),
    ],
)
def test_summary_modes(root, mode, goal, expected):
    run = jt.init()
    run.define_metric("loss", summary=mode, goal=goal)
    for value in (4.0, 1.0, 5.0, 3.0, 2.0):
        run.log({"loss": value})
    assert run.summary["loss"] == pytest.approx(expected)
    run.finish()
    assert read_run(Path(run.dir))[0].summary["loss"] == pytest.approx(expected)


def test_summary_none_leaves_the_metric_out(root):
    run = jt.init()
    run.define_metric("noise", summary="none")
    run.log({"noise": 1.0, "kept": 2.0})
    assert dict(run.summary) == {"kept": 2.0}
    run.finish()
    assert "noise" not in read_run(Path(run.dir))[0].summary


def test_several_summary_modes_give_a_dict(root):
    run = jt.init()
    run.define_metric("acc", summary="min,max,mean")
    for value in (1.0, 3.0):
        run.log({"acc": value})
    assert run.summary["acc"] == {"min": 1.0, "max": 3.0, "mean": 2.0}


def test_aggregates_skip_nan_and_non_numbers(root):
    run = jt.init()
    run.define_metric("x", summary="min,max,mean")
    for value in (2.0, math.nan, 4, "text", None):
        run.log({"x": value})
    assert run.summary["x"] == {"min": 2.0, "max": 4, "mean": 3.0}


def test_define_metric_after_values_were_logged_applies_from_then_on(root):
    run = jt.init()
    run.log({"loss": 5.0})
    run.define_metric("loss", summary="min")
    run.log({"loss": 7.0})
    assert run.summary["loss"] == 5.0


def test_define_metric_argument_errors_name_the_problem(root):
    run = jt.init()
    with pytest.raises(ValueError, match="summary 'median'"):
        run.define_metric("a", summary="median")
    with pytest.raises(ValueError, match="goal"):
        run.define_metric("a", summary="best")
    with pytest.raises(ValueError, match="goal"):
        run.define_metric("a", goal="sideways")
    with pytest.raises(ValueError, match="name"):
        run.define_metric("")


# define_metric globs and step metrics ------------------------------------------------------------
def test_globs_apply_to_matching_metrics_only(root):
    run = jt.init()
    jt.define_metric("val/*", summary="max")
    run.log({"val/acc": 0.5, "val/loss": 3.0, "train/acc": 0.9})
    run.log({"val/acc": 0.4, "val/loss": 1.0, "train/acc": 0.1})
    assert dict(run.summary) == {"val/acc": 0.5, "val/loss": 3.0, "train/acc": 0.1}


def test_an_exact_definition_wins_over_a_glob(root):
    run = jt.init()
    run.define_metric("val/*", summary="max")
    run.define_metric("val/loss", summary="min")
    for value in (2.0, 1.0, 3.0):
        run.log({"val/loss": value, "val/acc": value})
    assert run.summary["val/loss"] == 1.0 and run.summary["val/acc"] == 3.0


def test_glob_defined_after_logging_picks_up_existing_keys(root):
    run = jt.init()
    run.log({"val/a": 1.0})
    run.define_metric("val/*", summary="min")
    run.log({"val/a": 3.0})
    run.log({"val/b": 9.0})
    run.log({"val/b": 8.0})
    assert run.summary["val/a"] == 1.0 and run.summary["val/b"] == 8.0


def test_step_metric_is_recorded_as_the_x_axis(root):
    run = jt.init()
    run.define_metric("epoch")
    definition = run.define_metric("val_acc", step_metric="epoch")
    assert run.metric_definitions.step_metric("val_acc") == "epoch"
    assert definition.step_metric == "epoch"
    run.define_metric("val/*", step_metric="epoch", hidden=True)
    assert run.metric_definitions.step_metric("val/loss") == "epoch"
    assert run.metric_definitions.step_metric("train_loss") is None
    run.log({"train_acc": 0.9, "batch": 200})
    run.log({"val_acc": 0.8, "epoch": 4})
    run.finish()
    state, _ = read_run(Path(run.dir))
    by_name = {definition["name"]: definition for definition in state.metric_definitions}
    assert by_name["val_acc"]["step_metric"] == "epoch" and by_name["val/*"]["hidden"] is True


# resume --------------------------------------------------------------------------------------------------
def _first_run(root: Path) -> str:
    run = jt.init(project="p", id="resume1", name="first", config={"lr": 0.1}, group="g")
    run.define_metric("loss", summary="min")
    for value in (3.0, 1.0, 2.0):
        run.log({"loss": value})
    run.summary["note"] = "by hand"
    run.finish()
    return run.id


@pytest.mark.parametrize("resume", [True, "allow", "must"])
def test_resume_continues_steps_config_and_summary(root, resume):
    _first_run(root)
    run = jt.init(project="p", id="resume1", resume=resume)
    assert run.resumed and run.name == "first" and run.group == "g"
    assert run.step == 3
    assert run.config.lr == 0.1
    assert run.summary["loss"] == 1.0 and run.summary["note"] == "by hand"
    run.log({"loss": 0.5})
    run.log({"loss": 4.0})
    assert run.summary["loss"] == 0.5
    run.finish()
    assert only_run_dir(root) == Path(run.dir)
    state, rows = read_run(Path(run.dir), keep_history=True)
    assert [row["_step"] for row in rows] == [0, 1, 2, 3, 4]
    assert [row["loss"] for row in rows] == [3.0, 1.0, 2.0, 0.5, 4.0]
    assert state.state == "finished" and state.config == {"lr": 0.1} and state.summary["loss"] == 0.5
    assert state.summary["note"] == "by hand"


def test_a_summary_set_by_hand_survives_resume(root):
    run = jt.init(project="p", id="manual1")
    run.log({"acc": 0.5, "loss": 2.0})
    run.summary["acc"] = 0.9
    run.finish()
    run = jt.init(project="p", id="manual1", resume="allow")
    run.log({"acc": 0.1, "loss": 1.0})
    assert run.summary["acc"] == 0.9 and run.summary["loss"] == 1.0
    run.finish()
    assert read_run(Path(run.dir))[0].summary == {"acc": 0.9, "loss": 1.0}


def test_settings_passed_to_init_are_honoured(root, monkeypatch):
    monkeypatch.setenv("WANDB_PROJECT", "from-env")
    run = jt.init(settings={"project": "from-settings", "group": "g"})
    assert (run.project, run.group) == ("from-settings", "g")
    run = jt.init(project="from-argument", settings={"project": "from-settings"})
    assert run.project == "from-argument"
    run = jt.init(settings=jt.Settings(job_type="eval"))
    assert run.job_type == "eval" and run.project == "from-env" and run.mode == "offline"
    monkeypatch.setenv("WANDB_MODE", "disabled")
    assert jt.init(settings=jt.Settings(console="off")).disabled  # a default in Settings() hides nothing


def test_resume_keeps_the_runtime_going(root):
    _first_run(root)
    first_runtime = read_run(only_run_dir(root))[0].runtime
    run = jt.init(project="p", id="resume1", resume="allow")
    run.log({"x": 1.0})
    run.finish()
    _, rows = read_run(Path(run.dir), keep_history=True)
    assert rows[-1]["_runtime"] >= first_runtime


def test_resume_allow_starts_a_new_run_when_there_is_none(root):
    run = jt.init(project="p", id="fresh1", resume="allow")
    assert not run.resumed and run.step == 0


def test_resume_must_without_a_run_is_an_error(root):
    with pytest.raises(RunExistsError, match="must"):
        jt.init(project="p", id="nothing", resume="must")


@pytest.mark.parametrize("resume", ["never", None])
def test_reusing_an_id_without_resume_is_an_error(root, resume):
    _first_run(root)
    with pytest.raises(RunExistsError, match="resume"):
        jt.init(project="p", id="resume1", resume=resume)


def test_resume_from_the_environment(root, monkeypatch):
    _first_run(root)
    monkeypatch.setenv("WANDB_RESUME", "allow")
    monkeypatch.setenv("WANDB_RUN_ID", "resume1")
    run = jt.init(project="p")
    assert run.resumed and run.step == 3


def test_resume_of_a_crashed_run_drops_its_torn_tail(root):
    run = jt.init(project="p", id="torn1")
    for step in range(10):
        run.log({"a": float(step)})
    run.finish()
    log_path = Path(run.dir) / "run.jtlog"
    log_path.write_bytes(log_path.read_bytes() + b"\x40\x00\x00\x00torn")
    with pytest.warns(jt.RunLogWarning, match="torn"):
        run = jt.init(project="p", id="torn1", resume="allow")
    run.log({"a": 10.0})
    run.finish()
    _, rows = read_run(Path(run.dir), keep_history=True)
    assert [row["a"] for row in rows] == [float(step) for step in range(11)]
    from jupyter_tracker.store import records

    scan = records.ScanResult()
    list(records.iter_records(log_path.read_bytes(), scan))
    assert scan.problems == []


# modes --------------------------------------------------------------------------------------------------
def test_offline_and_dryrun_write_locally(root):
    for mode in ("offline", "dryrun"):
        run = jt.init(mode=mode)
        assert run.offline
        run.log({"a": 1.0})
        run.finish()
        assert read_run(Path(run.dir))[0].rows == 1


def test_disabled_mode_accepts_every_call_and_writes_nothing(root, tmp_path):
    before = sorted(path for path in tmp_path.rglob("*"))
    run = jt.init(project="p", mode="disabled", config={"lr": 0.1})
    assert run.disabled and jt.run is run
    run.log({"a": 1.0})
    run.log({"a": object()}, step=3, commit=False)  # accepted, not checked
    jt.log({"b": 2.0})
    run.config.update({"x": 1})
    run.config.bs = 4
    run.summary["best"] = 1.0
    run.define_metric("a", summary="max")
    run.name = "renamed"
    assert run.config.lr == 0.1 and run.config.bs == 4 and run.summary["best"] == 1.0
    assert run.save() is True and run.save("*.txt") is True
    run.finish()
    assert sorted(path for path in tmp_path.rglob("*")) == before


def test_disabled_log_is_cheap(root):
    import time

    run = jt.init(mode="disabled")
    data = {"a": 1.0}
    started = time.perf_counter()
    for _ in range(10_000):
        run.log(data)
    assert (time.perf_counter() - started) / 10_000 < 20e-6


def test_disabled_from_the_environment(root, monkeypatch):
    monkeypatch.setenv("WANDB_MODE", "disabled")
    assert jt.init().disabled


# reinit -------------------------------------------------------------------------------------------------
def test_a_second_init_finishes_the_first_run(root):
    first = jt.init(project="p")
    first.log({"a": 1.0}, commit=False)
    second = jt.init(project="p")
    assert first is not second and jt.run is second
    assert first.state == "finished"
    assert read_run(Path(first.dir))[0].state == "finished"
    assert read_run(Path(first.dir))[0].rows == 1  # the pending step was committed


def test_reinit_false_returns_the_current_run(root):
    first = jt.init(project="p")
    assert jt.init(project="p", reinit=False) is first
    assert jt.init(project="p", reinit=True) is not first


def test_the_module_log_always_reaches_the_current_run(root):
    from jupyter_tracker import log as imported_before_init  # a script may hold the name from before init

    first = jt.init(project="p")
    held_during_first = jt.log  # as wandb.log is run.log after wandb.init
    jt.log({"a": 1.0})
    imported_before_init({"a": 2.0})
    second = jt.init(project="p", reinit=True)  # finishes the first run
    jt.log({"b": 3.0})
    imported_before_init({"b": 4.0})
    with pytest.raises(RunFinishedError):
        held_during_first({"a": 5.0})
    second.finish()
    for call in (jt.log, imported_before_init):
        with pytest.raises(UsageError, match="init"):
            call({"c": 6.0})
    assert history_of(first) == [{"_step": 0, "a": 1.0}, {"_step": 1, "a": 2.0}]
    assert history_of(second) == [{"_step": 0, "b": 3.0}, {"_step": 1, "b": 4.0}]


def test_context_manager_finishes_and_marks_failures(root):
    with jt.init() as run:
        run.log({"a": 1.0})
    assert run.state == "finished" and read_run(Path(run.dir))[0].exit_code == 0
    with pytest.raises(ZeroDivisionError):
        with jt.init() as failing:
            raise ZeroDivisionError("in the training loop")
    state, _ = read_run(Path(failing.dir))
    assert (state.state, state.exit_code) == ("failed", 1)


def test_finish_with_an_exit_code_marks_the_run_failed(root):
    run = jt.init()
    jt.finish(exit_code=3)
    assert jt.run is None
    state, _ = read_run(Path(run.dir))
    assert (state.state, state.exit_code) == ("failed", 3)


def test_finish_hooks_run_once_and_their_failures_are_contained(root):
    run = jt.init()
    calls = []
    run.on_finish(calls.append)
    run.on_finish(lambda _run: 1 / 0)
    run.finish()
    run.finish()
    assert calls == [run]


def test_start_hooks_see_every_new_run_and_failures_are_contained(root):
    seen = []

    def broken(_run):
        raise RuntimeError("boom")

    sdk.add_start_hook(seen.append)
    sdk.add_start_hook(broken)
    try:
        run = jt.init()
    finally:
        sdk.remove_start_hook(seen.append)
        sdk.remove_start_hook(broken)
    assert seen == [run]
    run.log({"a": 1.0})


def test_flush_makes_records_readable_while_running(root):
    run = jt.init()
    run.log({"a": 1.0})
    assert run.flush(timeout=10)
    state, _ = read_run(Path(run.dir))
    assert state.rows == 1 and state.state == "running"


def test_the_index_lists_the_run(root):
    from jupyter_tracker.store.index import RunIndex

    run = jt.init(project="p", config={"lr": 0.1})
    run.log({"acc": 0.5})
    run.finish()
    (row,) = RunIndex(root).runs("p")
    assert row["id"] == run.id and row["state"] == "finished" and row["config"] == {"lr": 0.1}
    assert row["summary"] == {"acc": 0.5}


def test_rows_with_the_last_rows_names_are_checked_like_any_other(root):
    """log()'s fast path (the last row's names, plain values) hands anything else to the full checks."""
    run = jt.init()
    for step in range(3):
        run.log({"loss": step * 0.5, "acc": True})
    run.log({"loss": "nan?", "acc": None})  # same names, a string: checked and kept
    run.log({"loss": np.float32(2.5), "acc": 1})  # same names, a numpy scalar: converted
    with pytest.raises(TypeError, match="'loss'"):
        run.log({"loss": object(), "acc": 1})  # same names, a bad value: refused, nothing written
    run.log({"acc": 2, "loss": 3.0})  # the same names in another order
    run.log({"loss": 4.0, "acc": 5})
    run.log({"loss": 6.0, "acc": 7}, commit=False)
    run.log({"loss": 8.0, "acc": 9})  # merged with the pending step
    run.log({"loss": {"inner": 1.0}, "acc": 10})  # same top-level names, nested: flattened
    run.finish()
    rows = history_of(run)
    assert [row["_step"] for row in rows] == list(range(9))
    assert [row.get("loss") for row in rows] == [0.0, 0.5, 1.0, "nan?", 2.5, 3.0, 4.0, 8.0, None]
    assert rows[-1]["loss.inner"] == 1.0 and rows[-1]["acc"] == 10
    assert run.summary["loss"] == 8.0 and run.summary["acc"] == 10
