"""Grid and random search: the next suggestion of a sweep from its configuration and its history.

Both are pure functions of the configuration, a seed and the trial's number, so any agent
process holding the sweep's lock computes the same suggestion, and a grid never repeats.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from jupyter_tracker.sweeps.config import SweepConfig
from jupyter_tracker.sweeps.distributions import python_value


def grid_point(config: SweepConfig, index: int) -> dict[str, Any]:
    """The ``index``-th combination of a grid, in ``itertools.product`` order (last key fastest).

    >>> from jupyter_tracker.sweeps.config import parse_config
    >>> grid_point(parse_config({"method": "grid", "parameters": {"a": {"values": [1, 2]}, "b": {"values": [3, 4]}}}), 1)
    {'a': 1, 'b': 4}
    """
    size = config.grid_size or 0
    if not 0 <= index < size:
        raise IndexError(f"grid index {index} outside 0..{size - 1}")
    point: dict[str, Any] = {}
    remainder = index
    for path, distribution in reversed(list(config.parameters.items())):
        values = distribution.grid_values() or []
        remainder, position = divmod(remainder, len(values))
        point[path] = values[position]
    return {path: point[path] for path in config.parameters}


def random_point(config: SweepConfig, seed: int, number: int) -> dict[str, Any]:
    """Trial ``number``'s random suggestion; the same seed and number give the same values."""
    rng = np.random.default_rng([seed, number])
    return {path: python_value(distribution.sample(rng)) for path, distribution in config.parameters.items()}


def nest(point: Mapping[str, Any]) -> dict[str, Any]:
    """Dotted parameter paths (nested parameters) back to nested dicts, as the run's config holds them.

    >>> nest({"optimizer.lr": 0.1, "epochs": 3})
    {'optimizer': {'lr': 0.1}, 'epochs': 3}
    """
    nested: dict[str, Any] = {}
    for path, value in point.items():
        *parents, leaf = path.split(".")
        target = nested
        for parent in parents:
            target = target.setdefault(parent, {})
        target[leaf] = value
    return nested
