"""Hyperband early termination: which running trials fall behind at a bracket and should stop.

Pure: given each trial's metric history (one value per logged step that carried the metric),
the brackets and the direction. At bracket ``b`` a trial's score is its best value among its
first ``b`` values; among every trial that reached ``b`` the best ``1/eta`` fraction (the
``1/eta`` quantile of the scores) goes on, and a running trial scoring worse stops, as in
wandb's hyperband stopping rule.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

import numpy as np


def _score(history: Sequence[float], band: int, minimize: bool) -> float:
    window = np.asarray(history[:band], dtype=float)
    window = window[np.isfinite(window)]
    if window.size == 0:
        return np.inf if minimize else -np.inf
    return float(window.min() if minimize else window.max())


def trials_to_stop(
    histories: Mapping[int, Sequence[float]],
    running: Collection[int],
    bands: Sequence[int],
    eta: float,
    goal: str = "minimize",
) -> set[int]:
    """Numbers of the running trials that hyperband stops now.

    >>> sorted(trials_to_stop({1: [5, 4, 3], 2: [1, 1, 1], 3: [2, 2, 2]}, running={1, 3}, bands=[3], eta=3))
    [1, 3]
    """
    minimize = goal == "minimize"
    stop: set[int] = set()
    for band in sorted(bands):
        reached = {number: history for number, history in histories.items() if len(history) >= band}
        if len(reached) < 2:
            continue
        scores = {number: _score(history, band, minimize) for number, history in reached.items()}
        values = np.array(list(scores.values()))
        if minimize:
            threshold = float(np.quantile(values, 1.0 / eta))
            behind = {number for number, score in scores.items() if score > threshold}
        else:
            threshold = float(np.quantile(values, 1.0 - 1.0 / eta))
            behind = {number for number, score in scores.items() if score < threshold}
        stop |= behind & set(running)
    return stop
