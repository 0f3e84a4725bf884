"""wandb's row sampling for ``Run.history``: evenly spaced rows, first and last kept. Pure.

``history()`` returns at most ``samples`` rows (500 by default). A run with that many rows or
fewer comes back whole; a longer one comes back as ``samples`` rows picked at evenly spaced
positions, always including its first and its last row. With ``keys``, only the rows holding at
least one of the keys take part, and each row is cut down to the x-axis and those keys.
"""

from __future__ import annotations

import operator
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, TypeVar

DEFAULT_SAMPLES = 500

T = TypeVar("T")


def check_samples(samples: Any) -> int:
    """``samples`` as a positive int, or a ``ValueError`` that says what was wrong."""
    if isinstance(samples, float) and samples.is_integer():
        samples = int(samples)
    elif not isinstance(samples, (bool, int)) and hasattr(samples, "__index__"):
        samples = operator.index(samples)  # numpy integers
    if isinstance(samples, bool) or not isinstance(samples, int) or samples < 1:
        raise ValueError(f"samples must be a positive integer, got {samples!r}")
    return samples


def sample_indices(count: int, samples: int = DEFAULT_SAMPLES) -> list[int]:
    """Positions of the rows to keep out of ``count`` rows.

    Every position when ``count <= samples``; otherwise ``samples`` evenly spaced positions
    (rounded to the nearest row), strictly increasing, starting at 0 and ending at ``count - 1``.
    With ``samples == 1`` the last row is kept (the run's latest state).

    >>> sample_indices(3, 500)
    [0, 1, 2]
    >>> sample_indices(10, 4)
    [0, 3, 6, 9]
    >>> sample_indices(100, 3)
    [0, 50, 99]
    """
    samples = check_samples(samples)
    if count <= samples:
        return list(range(count))
    if samples == 1:
        return [count - 1]
    span = count - 1
    gaps = samples - 1
    # round(i * span / gaps) in integers; span > gaps, so positions never repeat
    return [(index * span + gaps // 2) // gaps for index in range(samples)]


def sample(items: Sequence[T], samples: int = DEFAULT_SAMPLES) -> list[T]:
    """The items at :func:`sample_indices` positions.

    >>> sample(list("abcdefghij"), 4)
    ['a', 'd', 'g', 'j']
    """
    return [items[index] for index in sample_indices(len(items), samples)]


def has_any_key(row: Mapping[str, Any], keys: Sequence[str]) -> bool:
    """True when the row holds at least one of ``keys`` (``history(keys=...)`` keeps these rows)."""
    return any(key in row for key in keys)


def has_all_keys(row: Mapping[str, Any], keys: Sequence[str]) -> bool:
    """True when the row holds every one of ``keys`` (``scan_history(keys=...)`` keeps these rows)."""
    return all(key in row for key in keys)


def project_row(row: Mapping[str, Any], keys: Sequence[str]) -> dict[str, Any]:
    """The row cut down to ``keys`` (absent keys are left out, not filled)."""
    return {key: row[key] for key in keys if key in row}


def history_columns(keys: Sequence[str], x_axis: str = "_step") -> list[str]:
    """The columns ``history(keys=...)`` returns: the x-axis first, then the keys, once each.

    >>> history_columns(["loss", "_step", "acc"])
    ['_step', 'loss', 'acc']
    """
    return list(dict.fromkeys([x_axis, *keys]))


def row_columns(present: Iterable[str], leading: Sequence[str] = ()) -> list[str]:
    """Column order for history tables: ``leading`` (or ``_step``) first, then the metrics as they
    first appeared, then ``_runtime`` and ``_timestamp``; only columns in ``present``.

    >>> row_columns(["loss", "_runtime", "_step", "acc", "_timestamp"])
    ['_step', 'loss', 'acc', '_runtime', '_timestamp']
    >>> row_columns(["loss", "_step", "acc"], leading=["_step", "acc"])
    ['_step', 'acc', 'loss']
    """
    names = list(dict.fromkeys(present))
    first = [name for name in dict.fromkeys(leading or ["_step"]) if name in names]
    last = [name for name in ("_runtime", "_timestamp") if name in names and name not in first]
    return first + [name for name in names if name not in first and name not in last] + last


def sampled_history(
    rows: Iterable[Mapping[str, Any]],
    keys: Sequence[str] | None = None,
    samples: int = DEFAULT_SAMPLES,
    x_axis: str = "_step",
) -> list[dict[str, Any]]:
    """``Run.history`` over rows already in memory: select, then sample, then cut down.

    >>> rows = [{"_step": i, "loss": 1 / (i + 1)} if i % 2 else {"_step": i, "acc": i} for i in range(6)]
    >>> sampled_history(rows, keys=["loss"], samples=2)
    [{'_step': 1, 'loss': 0.5}, {'_step': 5, 'loss': 0.16666666666666666}]
    """
    samples = check_samples(samples)
    if not keys:
        return [dict(row) for row in sample(list(rows), samples)]
    wanted = [key for key in keys if key != x_axis] or list(keys)
    selected = [row for row in rows if has_any_key(row, wanted)]
    columns = history_columns(keys, x_axis)
    return [project_row(row, columns) for row in sample(selected, samples)]
