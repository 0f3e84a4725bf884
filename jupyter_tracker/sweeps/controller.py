"""What a sweep suggests next: grid, random or bayes, from its configuration and its trials.

Pure with respect to storage: the store calls :func:`next_point` inside the transaction that
claims the suggestion, so two agents never receive the same grid point or trial number.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from jupyter_tracker.sweeps.config import SweepConfig
from jupyter_tracker.sweeps.search import grid_point, random_point
from jupyter_tracker.sweeps.trials import Trial


def next_point(
    config: SweepConfig, seed: int, number: int, trials: Sequence[Trial], next_grid_index: int | None = None
) -> tuple[dict[str, Any], int | None] | None:
    """``(params, grid index)`` of trial ``number``, or None when the search has nothing left.

    ``trials`` are the sweep's trials so far (bayes learns from them; a grid continues after the
    highest grid index among them unless the store passes ``next_grid_index``). Counting toward
    ``run_cap`` is the store's business; this only knows the search space.
    """
    if config.method == "grid":
        used = [trial.grid_index for trial in trials if trial.grid_index is not None]
        index = next_grid_index if next_grid_index is not None else (max(used) + 1 if used else 0)
        if index >= (config.grid_size or 0):
            return None
        return grid_point(config, index), index
    if config.method == "random":
        return random_point(config, seed, number), None
    from jupyter_tracker.sweeps import bayes

    finished = [(trial.params, trial.value) for trial in trials if trial.state == "finished" and trial.value is not None]
    running = [trial.params for trial in trials if trial.state in ("running", "pending")]
    return bayes.suggest(config, seed, number, finished, running), None
