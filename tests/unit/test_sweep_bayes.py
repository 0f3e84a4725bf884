"""Bayes search (optuna's TPE through the sweep's store) beats random search on a cheap function."""

from __future__ import annotations

import statistics
import sys

import pytest

from jupyter_tracker.sweeps.config import parse_config
from jupyter_tracker.sweeps.local_store import LocalSweepStore

pytest.importorskip("optuna")

SEEDS = range(6)
BUDGET = 20


def _bowl(params: dict) -> float:
    """A cheap function with its minimum 0 at (0.7, -0.2, 1.5)."""
    return (params["x"] - 0.7) ** 2 + (params["y"] + 0.2) ** 2 + 0.5 * (params["z"] - 1.5) ** 2


def _best_found(store: LocalSweepStore, method: str, seed: int, goal: str = "minimize") -> float:
    config = parse_config({"method": method, "metric": {"name": "loss", "goal": goal},
                           "parameters": {name: {"min": -3.0, "max": 3.0} for name in "xyz"}})
    sweep_id = store.create_sweep(config, "bowl", seed=seed)
    agent_id, _ = store.register_agent(sweep_id)
    values = []
    for _ in range(BUDGET):
        trial = store.claim(sweep_id, agent_id).trial
        values.append(_bowl(trial.params) * (1 if goal == "minimize" else -1))
        store.finish_trial(sweep_id, trial.number, "finished", values[-1])
    return min(values) if goal == "minimize" else -max(values)


def test_bayes_finds_the_minimum_better_than_random_in_the_same_budget(tmp_path):
    store = LocalSweepStore(tmp_path)
    bayes = [_best_found(store, "bayes", seed) for seed in SEEDS]
    random = [_best_found(store, "random", seed) for seed in SEEDS]
    wins = sum(b < r for b, r in zip(bayes, random, strict=True))
    assert wins >= 5, (bayes, random)
    assert statistics.median(bayes) < statistics.median(random) / 2, (bayes, random)


def test_bayes_maximises_too(tmp_path):
    store = LocalSweepStore(tmp_path)
    assert _best_found(store, "bayes", 1, goal="maximize") < 0.6


def test_bayes_covers_every_distribution_and_keeps_suggestions_in_bounds(tmp_path):
    store = LocalSweepStore(tmp_path)
    config = parse_config({"method": "bayes", "metric": {"name": "loss"}, "parameters": {
        "c": {"values": ["a", "b", [1, 2]]}, "k": {"value": 3}, "n": {"min": 1, "max": 4},
        "q": {"distribution": "q_uniform", "min": 0, "max": 1, "q": 0.25},
        "lr": {"distribution": "log_uniform_values", "min": 1e-4, "max": 1e-1},
        "inv": {"distribution": "inv_log_uniform_values", "min": 0.1, "max": 10},
        "w": {"distribution": "normal", "mu": 1, "sigma": 2}, "b": {"distribution": "q_beta", "a": 2, "b": 2, "q": 0.1},
        "ln": {"distribution": "log_normal"}}})
    sweep_id = store.create_sweep(config, "all", seed=3)
    agent_id, _ = store.register_agent(sweep_id)
    for _ in range(8):
        trial = store.claim(sweep_id, agent_id).trial
        params = trial.params
        assert params["c"] in ("a", "b", [1, 2]) and params["k"] == 3 and 1 <= params["n"] <= 4
        assert params["q"] in (0, 0.25, 0.5, 0.75, 1) and 1e-4 <= params["lr"] <= 1e-1 and 0.1 <= params["inv"] <= 10
        assert 0 <= params["b"] <= 1 and params["ln"] > 0
        store.finish_trial(sweep_id, trial.number, "finished", abs(params["w"] - 1) + params["lr"])


def test_random_and_grid_sweeps_never_import_optuna():
    import subprocess

    code = ("import sys, tempfile, pathlib\n"
            "from jupyter_tracker.sweeps.config import parse_config\n"
            "from jupyter_tracker.sweeps.local_store import LocalSweepStore\n"
            "store = LocalSweepStore(pathlib.Path(tempfile.mkdtemp()))\n"
            "for method in ('random', 'grid'):\n"
            "    s = store.create_sweep(parse_config({'method': method, 'parameters': {'x': {'values': [1, 2]}}}), 'p')\n"
            "    a, _ = store.register_agent(s)\n"
            "    store.claim(s, a)\n"
            "print('optuna' in sys.modules, 'sklearn' in sys.modules)\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.stdout.strip() == "False False", result.stderr
