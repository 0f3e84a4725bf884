"""What a sweep's trials say so far: progress, the best trial, and which parameters matter.

Parameter importance is given two ways, as wandb's panel gives them: the correlation of each
parameter with the metric (linear, signed) and a random forest's importance (non-linear, from
scikit-learn, imported only when asked for). Categorical values are coded by first appearance.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from jupyter_tracker.sweeps.config import SweepConfig
from jupyter_tracker.sweeps.trials import Trial

#: fewest scored trials a random forest is fitted on
FOREST_MIN_TRIALS = 5


@dataclasses.dataclass(frozen=True)
class Importance:
    """One parameter's importance: correlation in [-1, 1] and random-forest share (sums to 1)."""

    parameter: str
    correlation: float | None
    forest: float | None


@dataclasses.dataclass(frozen=True)
class SweepProgress:
    """Counts of a sweep's trials by state, and how many it runs at most (None: open-ended)."""

    finished: int
    running: int
    failed: int
    stopped: int
    pending: int
    total: int | None

    @property
    def done(self) -> int:
        return self.finished + self.failed + self.stopped


def progress(config: SweepConfig, trials: Sequence[Trial]) -> SweepProgress:
    counts = {state: 0 for state in ("finished", "running", "failed", "stopped", "pending")}
    for trial in trials:
        if trial.state == "failed" and trial.error and trial.error.startswith("agent "):
            continue  # a lost agent's trial: its suggestion was handed out again and is counted there
        counts[trial.state] = counts.get(trial.state, 0) + 1
    return SweepProgress(total=config.total, **counts)


def scored(trials: Sequence[Trial]) -> list[Trial]:
    """Trials with a finite metric value (finished, or stopped early with a value)."""
    return [trial for trial in trials if trial.value is not None and math.isfinite(trial.value)
            and trial.state in ("finished", "stopped")]


def best_trial(config: SweepConfig, trials: Sequence[Trial]) -> Trial | None:
    candidates = scored(trials)
    if not candidates or config.metric is None:
        return None
    pick = min if config.metric.goal == "minimize" else max
    return pick(candidates, key=lambda trial: trial.value or 0.0)


def parameter_matrix(config: SweepConfig, trials: Sequence[Trial]) -> tuple[list[str], np.ndarray, list[dict[Any, float]]]:
    """Varying parameters, one row per trial (categorical values coded), and each column's codes."""
    names = [name for name, distribution in config.parameters.items() if distribution.name != "constant"]
    codes: list[dict[Any, float]] = [{} for _ in names]
    matrix = np.full((len(trials), len(names)), np.nan)
    for row, trial in enumerate(trials):
        for column, name in enumerate(names):
            value = trial.params.get(name)
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                matrix[row, column] = float(value)
            else:
                key = value if isinstance(value, str) else repr(value)
                matrix[row, column] = codes[column].setdefault(key, float(len(codes[column])))
    return names, matrix, codes


def importances(config: SweepConfig, trials: Sequence[Trial], forest: bool = True) -> list[Importance]:
    """Importance of each varying parameter for the sweep metric, most important first."""
    rows = scored(trials)
    if len(rows) < 2:
        return []
    names, matrix, _ = parameter_matrix(config, rows)
    values = np.array([trial.value for trial in rows], dtype=float)
    correlations: list[float | None] = []
    for column in range(len(names)):
        x = matrix[:, column]
        if np.nanstd(x) == 0 or np.std(values) == 0:
            correlations.append(None)
        else:
            correlations.append(float(np.corrcoef(x, values)[0, 1]))
    shares: list[float | None] = [None] * len(names)
    if forest and len(rows) >= FOREST_MIN_TRIALS and names:
        shares = [None if math.isnan(share) else float(share) for share in _forest_importance(matrix, values)]
    found = [Importance(name, correlation, share) for name, correlation, share in zip(names, correlations, shares, strict=True)]
    return sorted(found, key=lambda item: -(item.forest if item.forest is not None else abs(item.correlation or 0.0)))


def _forest_importance(matrix: np.ndarray, values: np.ndarray) -> np.ndarray:
    try:
        from sklearn.ensemble import RandomForestRegressor
    except ImportError:
        return np.full(matrix.shape[1], np.nan)
    model = RandomForestRegressor(n_estimators=100, random_state=0, n_jobs=1)
    model.fit(np.nan_to_num(matrix), values)
    return np.asarray(model.feature_importances_, dtype=float)
