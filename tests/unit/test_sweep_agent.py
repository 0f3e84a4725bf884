"""In-process sweeps: jupyter_tracker.sweep() and agent(function=...) on the local store."""

from __future__ import annotations

import subprocess
import sys

import pytest

import jupyter_tracker as jt
from jupyter_tracker.limits import LimitWarning
from jupyter_tracker.run_config import ConfigWarning
from jupyter_tracker.store.index import RunIndex
from jupyter_tracker.sweeps import SweepConfigError, sweep_store
from jupyter_tracker.sweeps.config import parse_config
from jupyter_tracker.sweeps.local_store import LocalSweepStore

GRID = {
    "method": "grid",
    "metric": {"name": "loss", "goal": "minimize"},
    "parameters": {"a": {"values": [1, 2, 3]}, "opt": {"parameters": {"lr": {"values": [0.1, 0.2]}}}},
}


def _train() -> None:
    run = jt.init(config={"a": 100, "epochs": 2})
    for epoch in range(run.config.epochs):
        jt.log({"loss": run.config.a * run.config.opt["lr"] / (epoch + 1)})


def _dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_grid_sweep_runs_every_point_once_with_the_suggestion_in_config(store_root):
    sweep_id = jt.sweep(GRID, project="sweepy")
    with pytest.warns(ConfigWarning, match="locked"):
        trials = jt.agent(sweep_id, function=lambda: (_train(), jt.config.update({"a": 7})))
    points = [(trial.params["a"], trial.params["opt.lr"]) for trial in trials]
    assert sorted(points) == [(a, lr) for a in (1, 2, 3) for lr in (0.1, 0.2)]
    assert all(trial.state == "finished" for trial in trials)
    runs = {row["id"]: row for row in RunIndex(store_root).runs("sweepy")}
    assert set(runs) == {trial.run_id for trial in trials}
    for trial in trials:
        row = runs[trial.run_id]
        assert row["config"]["a"] == trial.params["a"]  # the sweep's value beats init(config=) and later updates
        assert row["config"]["opt.lr"] == trial.params["opt.lr"]
        assert row["config"]["epochs"] == 2
        assert row["summary"]["loss"] == pytest.approx(trial.value)
        assert trial.value == pytest.approx(trial.params["a"] * trial.params["opt.lr"] / 2)
    assert sweep_store().get_sweep(sweep_id).state == "finished"
    assert jt.run is None


def test_count_and_run_cap(store_root):
    sweep_id = jt.sweep({"method": "random", "run_cap": 5, "parameters": {"x": {"min": 0.0, "max": 1.0}}}, project="p")
    assert len(jt.agent(sweep_id, function=lambda: jt.init(), count=2)) == 2
    assert len(jt.agent(sweep_id, function=lambda: jt.init())) == 3
    assert len(jt.agent(sweep_id, function=lambda: jt.init())) == 0
    trials = sweep_store().trials(sweep_id)
    assert len(trials) == 5 and len({trial.params["x"] for trial in trials}) == 5


def test_a_failing_trial_is_marked_failed_and_the_agent_goes_on(store_root):
    sweep_id = jt.sweep({"method": "grid", "parameters": {"x": {"values": [1, 2, 3]}}}, project="p")

    def train() -> None:
        run = jt.init()
        if run.config.x == 2:
            raise RuntimeError("diverged")
        jt.log({"x2": run.config.x})

    trials = jt.agent(sweep_id, function=train)
    assert [trial.state for trial in trials] == ["finished", "failed", "finished"]
    assert "RuntimeError: diverged" in (trials[1].error or "")
    assert RunIndex(store_root).get(trials[1].run_id)["state"] == "failed"


def test_a_config_error_names_the_key_before_anything_is_stored(store_root):
    with pytest.raises(SweepConfigError, match="parameters.lr.max"):
        jt.sweep({"method": "random", "parameters": {"lr": {"distribution": "uniform", "min": 0.1}}}, project="p")
    assert sweep_store().sweeps() == []


def test_pause_resume_stop_and_cancel(store_root):
    store = LocalSweepStore(store_root)
    sweep_id = store.create_sweep(parse_config({"method": "random", "parameters": {"x": {"min": 0.0, "max": 1.0}}}), "p")
    agent_id, _ = store.register_agent(sweep_id)
    store.set_state(sweep_id, "paused")
    assert store.claim(sweep_id, agent_id).status == "wait"
    store.set_state(sweep_id, "running")
    running = store.claim(sweep_id, agent_id)
    assert running.status == "trial"
    store.set_state(sweep_id, "cancelled")
    assert store.heartbeat(agent_id) == {running.trial.number}  # the agent is told to stop its trial
    assert store.claim(sweep_id, agent_id).status == "done"
    with pytest.raises(ValueError, match="cannot be resumed"):
        store.set_state(sweep_id, "running")
    other = store.create_sweep(parse_config({"method": "random", "parameters": {"x": {"min": 0.0, "max": 1.0}}}), "p")
    store.set_state(other, "stopped")
    assert store.claim(other, agent_id).status == "done"


def test_a_lost_agents_trial_is_failed_and_its_suggestion_handed_out_again(store_root):
    now = [1000.0]
    store = LocalSweepStore(store_root, clock=lambda: now[0])
    sweep_id = store.create_sweep(parse_config(GRID), "p")
    slow_agent, _ = store.register_agent(sweep_id, host="elsewhere", pid=1)
    expired = store.claim(sweep_id, slow_agent, lease_seconds=10).trial
    dead_agent, _ = store.register_agent(sweep_id, pid=_dead_pid())
    lost = store.claim(sweep_id, dead_agent).trial
    live_agent, _ = store.register_agent(sweep_id)
    retried = store.claim(sweep_id, live_agent).trial  # the dead process's trial, at once
    assert retried.params == lost.params and retried.retry_of == lost.number and retried.run_id != lost.run_id
    now[0] += 11  # the other machine's agent missed its heartbeats: its lease ran out
    again = store.claim(sweep_id, live_agent).trial
    assert again.params == expired.params and again.retry_of == expired.number
    by_number = {trial.number: trial for trial in store.trials(sweep_id)}
    assert by_number[lost.number].state == "failed" and "died" in by_number[lost.number].error
    assert by_number[expired.number].state == "failed" and "heartbeat" in by_number[expired.number].error
    store.finish_trial(sweep_id, expired.number, "finished", 1.0)  # a late report of a reaped trial changes nothing
    assert store.trials(sweep_id)[expired.number - 1].state == "failed"
    for trial in (retried, again):
        store.finish_trial(sweep_id, trial.number, "finished", 0.5)
    while (claim := store.claim(sweep_id, live_agent)).status == "trial":
        store.finish_trial(sweep_id, claim.trial.number, "finished", 0.5)
    finished = [trial for trial in store.trials(sweep_id) if trial.state == "finished"]
    assert sorted(trial.grid_index for trial in finished) == list(range(6))  # every grid point, none lost


def test_a_metric_target_finishes_the_sweep(store_root):
    sweep_id = jt.sweep({"method": "grid", "metric": {"name": "loss", "target": 0.5},
                         "parameters": {"x": {"values": [3, 0.1, 2, 1]}}}, project="p")
    trials = jt.agent(sweep_id, function=lambda: jt.log({"loss": jt.init().config.x}))
    assert [trial.params["x"] for trial in trials] == [3, 0.1]
    assert sweep_store().get_sweep(sweep_id).state == "finished"


def test_more_than_twenty_agents_warn(store_root):
    store = LocalSweepStore(store_root)
    sweep_id = store.create_sweep(parse_config({"method": "grid", "parameters": {"x": {"values": [1]}}}), "p")
    for _ in range(20):
        store.register_agent(sweep_id)
    with pytest.warns(LimitWarning, match="parallel agents on one sweep: 21"):
        jt.agent(sweep_id, function=lambda: jt.init(), count=1)


def test_an_interrupted_agent_hands_its_trial_to_the_next_agent(store_root):
    sweep_id = jt.sweep({"method": "grid", "parameters": {"x": {"values": [1, 2]}}}, project="p")

    def interrupted() -> None:
        jt.init()
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        jt.agent(sweep_id, function=interrupted)
    first = sweep_store().trials(sweep_id)[0]
    assert jt.run is None and RunIndex(store_root).get(first.run_id)["state"] == "killed"
    trials = jt.agent(sweep_id, function=lambda: jt.init())
    assert sorted(trial.params["x"] for trial in trials) == [1, 2]
    assert sweep_store().trials(sweep_id)[0].state == "failed"


def test_a_disabled_run_still_gets_its_suggestion(store_root):
    sweep_id = jt.sweep({"method": "grid", "parameters": {"a": {"values": [1, 2]}}}, project="p")
    seen = []
    jt.agent(sweep_id, function=lambda: seen.append(jt.init(mode="disabled").config.a))
    assert seen == [1, 2]
