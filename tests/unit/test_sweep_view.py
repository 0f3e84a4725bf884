"""The sweep view: progress, parallel coordinates, best run and importance, live and saved."""

from __future__ import annotations

import re
import time

import jupyter_tracker as jt
from jupyter_tracker.notebook.sweep_view import SweepView, render_sweep
from jupyter_tracker.sweeps import sweep_store
from jupyter_tracker.sweeps.config import parse_config
from jupyter_tracker.sweeps.importance import importances
from jupyter_tracker.sweeps.local_store import LocalSweepStore

CONFIG = {"method": "random", "run_cap": 12, "metric": {"name": "loss", "goal": "minimize"},
          "parameters": {"lr": {"min": 0.0, "max": 1.0}, "noise": {"min": 0.0, "max": 1.0},
                         "opt": {"values": ["adam", "sgd"]}, "fixed": {"value": 3}}}


def _loss(params: dict) -> float:
    return (params["lr"] - 0.2) ** 2 * 10 + (0.5 if params["opt"] == "sgd" else 0.0) + params["noise"] * 0.01


def _store_with_trials(root, finished: int) -> tuple[LocalSweepStore, str]:
    store = LocalSweepStore(root)
    sweep_id = store.create_sweep(parse_config(CONFIG), "view", seed=5)
    agent_id, _ = store.register_agent(sweep_id)
    for _ in range(finished):
        trial = store.claim(sweep_id, agent_id).trial
        store.finish_trial(sweep_id, trial.number, "finished", _loss(trial.params))
    store.claim(sweep_id, agent_id)  # one running
    return store, sweep_id


def test_the_view_shows_progress_best_run_chart_and_importance(tmp_path):
    store, sweep_id = _store_with_trials(tmp_path, 10)
    trials = store.trials(sweep_id)
    page = render_sweep(store.get_sweep(sweep_id), trials)
    assert "10 of 12 done: 10 finished, 1 running, 0 failed" in page
    best = min((trial for trial in trials if trial.value is not None), key=lambda trial: trial.value)
    assert f"best: trial {best.number} (run {best.run_id}) loss = {best.value:.4g}" in page
    assert page.count("<polyline") == 10
    assert re.search(r"<text[^>]*>lr</text>", page) and ">adam</text>" in page
    found = importances(parse_config(CONFIG), trials)
    assert [item.parameter for item in found][0] == "lr"  # the parameter the loss depends on most
    assert {item.parameter for item in found} == {"lr", "noise", "opt"}  # a constant is not ranked
    assert abs(sum(item.forest for item in found) - 1) < 1e-9
    assert "<table class='jt-sweep-importance'>" in page and "random forest" in page


def test_the_widget_follows_the_sweep_and_keeps_html_for_saved_notebooks(tmp_path):
    store, sweep_id = _store_with_trials(tmp_path, 2)
    view = SweepView(store, sweep_id, refresh_seconds=0.05)
    try:
        assert "2 of 12 done" in view.html
        agent_id, _ = store.register_agent(sweep_id)
        trial = store.claim(sweep_id, agent_id).trial
        store.finish_trial(sweep_id, trial.number, "finished", 0.01)
        deadline = time.monotonic() + 10
        while "3 of 12 done" not in view.html:
            assert time.monotonic() < deadline, view.html
            time.sleep(0.02)
        assert f"best: trial {trial.number}" in view.html
        bundle = view._repr_mimebundle_()
        data = bundle[0] if isinstance(bundle, tuple) else bundle
        assert "application/vnd.jupyter.widget-view+json" in data and "3 of 12 done" in data["text/html"]
    finally:
        view.close()


def test_an_empty_sweep_renders(store_root):
    sweep_id = jt.sweep(CONFIG, project="empty")
    page = render_sweep(sweep_store().get_sweep(sweep_id), [])
    assert "0 of 12 done" in page and "the chart appears" in page
