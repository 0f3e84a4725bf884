"""Hyperband early termination on synthetic learning curves, pure and through an in-process agent."""

from __future__ import annotations

import time

import jupyter_tracker as jt
from jupyter_tracker.sweeps.config import parse_config
from jupyter_tracker.sweeps.hyperband import trials_to_stop
from jupyter_tracker.sweeps.local_store import LocalSweepStore
from jupyter_tracker.sweeps.stores import store_for
from jupyter_tracker.sweeps.sweep_agent import Agent


def _curve(offset: float, steps: int) -> list[float]:
    """A decaying loss that levels off at ``offset``."""
    return [offset + 1.0 / (step + 1) for step in range(steps)]


def test_at_each_bracket_only_the_best_third_goes_on():
    histories = {number: _curve(offset=number, steps=3) for number in range(1, 10)}
    assert trials_to_stop(histories, running=set(histories), bands=[3], eta=3) == set(range(4, 10))


def test_runs_are_compared_only_at_brackets_they_reached():
    histories = {1: _curve(0, 9), 2: _curve(1, 9), 3: _curve(2, 9), 4: _curve(5, 2), 5: _curve(0.5, 9)}
    # at bracket 3: trials 1, 2, 3, 5 reached it, the 1/3 quantile of their scores keeps 1 and 5 only;
    # trial 4 has 2 values: not judged yet, however bad
    assert trials_to_stop(histories, running={2, 3, 4, 5}, bands=[3, 9], eta=3) == {2, 3}


def test_finished_runs_set_the_bar_but_are_not_stopped():
    histories = {1: _curve(0, 27), 2: _curve(0.1, 27), 3: _curve(3, 4), 4: _curve(0.05, 4)}
    assert trials_to_stop(histories, running={3, 4}, bands=[3, 9, 27], eta=3) == {3}


def test_maximize_keeps_the_highest():
    histories = {n: [n * 0.1] * 3 for n in range(1, 7)}
    assert trials_to_stop(histories, running=set(histories), bands=[3], eta=2, goal="maximize") == {1, 2, 3}


def test_a_lone_run_and_nan_values_are_not_stopped():
    assert trials_to_stop({1: [5.0, 5.0, 5.0]}, running={1}, bands=[3], eta=3) == set()
    histories = {1: [float("nan")] * 3, 2: [1.0] * 3, 3: [0.5] * 3}
    assert 1 in trials_to_stop(histories, running={1}, bands=[3], eta=3)


def test_the_store_orders_stops_from_reported_values(tmp_path):
    store = LocalSweepStore(tmp_path)
    config = parse_config({"method": "grid", "metric": {"name": "loss"}, "parameters": {"x": {"values": [0, 1, 2]}},
                           "early_terminate": {"type": "hyperband", "min_iter": 2, "eta": 2}})
    sweep_id = store.create_sweep(config, "p")
    agent_id, _ = store.register_agent(sweep_id)
    good, bad = store.claim(sweep_id, agent_id).trial, store.claim(sweep_id, agent_id).trial
    assert store.report(sweep_id, good.number, [0.5]) is False
    assert store.report(sweep_id, bad.number, [3.0, 2.5]) is False  # alone at bracket 2
    assert store.report(sweep_id, good.number, [0.4]) is False
    assert store.heartbeat(agent_id) == {bad.number}
    store.finish_trial(sweep_id, bad.number, "finished", 2.5)
    trials = {trial.number: trial for trial in store.trials(sweep_id)}
    assert trials[bad.number].state == "stopped" and trials[bad.number].history == (3.0, 2.5)
    assert "hyperband" in trials[bad.number].error


def test_an_in_process_trial_falling_behind_is_stopped_mid_loop(store_root):
    sweep_id = jt.sweep({"method": "grid", "metric": {"name": "loss"},
                         "parameters": {"offset": {"values": [0.1, 0.0, 5.0, 6.0]}},
                         "early_terminate": {"type": "hyperband", "min_iter": 3, "eta": 3}}, project="hb")
    logged: dict[float, int] = {}

    def train() -> None:
        run = jt.init()
        offset = run.config.offset
        for step in range(400):
            jt.log({"loss": offset + 1.0 / (step + 1)})
            logged[offset] = step + 1
            if offset > 1:
                time.sleep(0.02)  # a run hyperband will stop: long enough to be stopped mid-loop

    started = time.monotonic()
    agent = Agent(store_for(jt.Settings(root=store_root)), sweep_id, function=train, heartbeat_seconds=0.1)
    trials = agent.run()
    assert [trial.state for trial in trials] == ["finished", "finished", "stopped", "stopped"]
    assert logged[0.0] == logged[0.1] == 400
    assert logged[5.0] < 400 and logged[6.0] < 400
    assert time.monotonic() - started < 30
    assert jt.run is None
