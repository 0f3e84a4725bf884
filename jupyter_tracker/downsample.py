"""Downsampling of metric series for plots: pick at most ``n`` indices that keep the line's shape.

Both methods return indices into the input (sorted, so ``x[indices]`` stays in order) and
always keep the first and last points and the global minimum and maximum, so a spike is never
smoothed away by downsampling. A run of non-finite points keeps one of its points, so a gap in
the line stays a gap. Pure numpy; the live panel sends ``x[indices]`` and ``y[indices]``.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = ["DEFAULT_POINTS", "lttb", "lttb_indices", "min_max_buckets", "min_max_indices"]

#: points per line in plots (DESIGN.md's recommended limits)
DEFAULT_POINTS = 1500


def _prepare(x: ArrayLike, y: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    x_array = np.asarray(x, dtype=np.float64)
    y_array = np.asarray(y, dtype=np.float64)
    if x_array.ndim != 1 or x_array.shape != y_array.shape:
        raise ValueError(f"x and y must be one-dimensional and of equal length, got {x_array.shape} and {y_array.shape}")
    return x_array, y_array


def _check_budget(points: int) -> int:
    points = int(points)
    if points < 4:
        raise ValueError(f"the point budget must be at least 4, got {points}")
    return points


def _order(x: NDArray[np.float64]) -> NDArray[np.intp] | None:
    """The stable sorting permutation of ``x``, or None when ``x`` is already in order."""
    if x.size < 2 or not np.any(x[1:] < x[:-1]):
        return None
    return np.argsort(x, kind="stable")


def _gap_markers(finite: NDArray[np.bool_], limit: int) -> NDArray[np.intp]:
    """The first index of each run of non-finite points, at most ``limit`` of them, evenly spread."""
    starts = np.flatnonzero(~finite & np.concatenate(([True], finite[:-1])))
    if starts.size > limit:
        starts = starts[np.linspace(0, starts.size - 1, limit).round().astype(np.intp)]
    return starts


def _extremes(y: NDArray[np.float64], finite: NDArray[np.bool_]) -> list[int]:
    if not finite.any():
        return []
    return [int(np.argmin(np.where(finite, y, np.inf))), int(np.argmax(np.where(finite, y, -np.inf)))]


def min_max_indices(y: ArrayLike, n: int = DEFAULT_POINTS) -> NDArray[np.intp]:
    """Indices of the points :func:`min_max_buckets` keeps, for series already in x order.

    The series is cut into equal-count buckets; each keeps its minimum and its maximum.
    """
    y_array = np.asarray(y, dtype=np.float64)
    budget = _check_budget(n)
    size = y_array.size
    if size <= budget:
        return np.arange(size, dtype=np.intp)
    finite = np.isfinite(y_array)
    all_finite = bool(finite.all())
    gaps = np.empty(0, dtype=np.intp) if all_finite else _gap_markers(finite, budget // 4)
    buckets = (budget - 2 - gaps.size) // 2
    if all_finite:
        low = high = y_array
    else:
        low = np.where(finite, y_array, np.inf)
        high = np.where(finite, y_array, -np.inf)
    minima = _bucket_arg(low, buckets, np.minimum)
    maxima = _bucket_arg(high, buckets, np.maximum)
    chosen = np.concatenate((minima, maxima, gaps, [0, size - 1]))
    if not all_finite:
        # a bucket of nothing but non-finite points picked its first index: keep only real picks
        chosen = chosen[finite[chosen] | np.isin(chosen, gaps) | (chosen == 0) | (chosen == size - 1)]
    return np.unique(chosen)


def _bucket_arg(values: NDArray[np.float64], buckets: int, reduce: np.ufunc) -> NDArray[np.intp]:
    """The index of the first minimum (``np.minimum``) or maximum of each of ``buckets`` near-equal buckets.

    The first ``size % buckets`` buckets hold one point more than the others; each part is one
    reshape and one argmin/argmax pass, with no copy of the series.
    """
    size = values.size
    small, larger = divmod(size, buckets)
    pick = np.argmin if reduce is np.minimum else np.argmax
    head = larger * (small + 1)
    parts = []
    if larger:
        parts.append(np.arange(larger, dtype=np.intp) * (small + 1) + pick(values[:head].reshape(larger, small + 1), axis=1))
    if small:
        rest = buckets - larger
        parts.append(head + np.arange(rest, dtype=np.intp) * small + pick(values[head:].reshape(rest, small), axis=1))
    return np.concatenate(parts) if parts else np.empty(0, dtype=np.intp)


def min_max_buckets(
    x: ArrayLike, y: ArrayLike, n: int = DEFAULT_POINTS
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """At most ``n`` points of ``(x, y)``: each of ``n/2`` equal-count buckets keeps its min and max.

    Fast (two vectorised passes), keeps every local extreme at bucket resolution, and keeps the
    first, last, global minimum and global maximum points. ``x`` comes back sorted.

    >>> x = np.arange(10_000.0); y = np.sin(x / 100)
    >>> small_x, small_y = min_max_buckets(x, y, n=100)
    >>> len(small_x) <= 100, small_y.max() == y.max(), small_y.min() == y.min()
    (True, True, True)
    """
    x_array, y_array = _prepare(x, y)
    order = _order(x_array)
    if order is not None:
        x_array, y_array = x_array[order], y_array[order]
    indices = min_max_indices(y_array, n)
    return x_array[indices], y_array[indices]


def lttb_indices(x: ArrayLike, y: ArrayLike, n: int = DEFAULT_POINTS) -> NDArray[np.intp]:
    """Indices kept by :func:`lttb`, for series already in x order."""
    x_array, y_array = _prepare(x, y)
    budget = _check_budget(n)
    size = x_array.size
    if size <= budget:
        return np.arange(size, dtype=np.intp)
    finite = np.isfinite(y_array) & np.isfinite(x_array)
    gaps = np.empty(0, dtype=np.intp) if finite.all() else _gap_markers(finite, budget // 4)
    extremes = _extremes(y_array, finite)
    finite_index = np.flatnonzero(finite)
    lttb_budget = budget - gaps.size - len(extremes)
    if finite_index.size <= lttb_budget:
        picked = finite_index
    else:
        picked = finite_index[_lttb_core(x_array[finite_index], y_array[finite_index], lttb_budget)]
    chosen = np.concatenate((picked, gaps, np.asarray(extremes, dtype=np.intp), [0, size - 1]))
    chosen = np.unique(chosen)
    if chosen.size > budget:
        # first/last of the whole series may add two beyond the budget: drop LTTB picks, never extremes
        protected = np.isin(chosen, np.concatenate((gaps, np.asarray(extremes, dtype=np.intp), [0, size - 1])))
        removable = np.flatnonzero(~protected)
        chosen = np.delete(chosen, removable[: chosen.size - budget])
    return chosen


def _lttb_core(x: NDArray[np.float64], y: NDArray[np.float64], budget: int) -> NDArray[np.intp]:
    """Largest-Triangle-Three-Buckets (Steinarsson 2013) on finite points; keeps first and last."""
    size = x.size
    budget = max(budget, 3)
    edges = np.linspace(1, size - 1, budget - 1).astype(np.intp)
    picked = np.empty(budget, dtype=np.intp)
    picked[0] = 0
    picked[-1] = size - 1
    previous = 0
    for bucket in range(budget - 2):
        start, end = edges[bucket], edges[bucket + 1]
        if end <= start:
            end = start + 1
        next_start, next_end = edges[bucket + 1], edges[bucket + 2] if bucket + 2 < budget - 1 else size
        if next_end <= next_start:
            next_end = next_start + 1
        mean_x = x[next_start:next_end].mean()
        mean_y = y[next_start:next_end].mean()
        px, py = x[previous], y[previous]
        area = np.abs((px - mean_x) * (y[start:end] - py) - (px - x[start:end]) * (mean_y - py))
        previous = start + int(np.argmax(area))
        picked[bucket + 1] = previous
    return np.unique(picked)


def lttb(x: ArrayLike, y: ArrayLike, n: int = DEFAULT_POINTS) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """At most ``n`` points of ``(x, y)`` chosen by Largest-Triangle-Three-Buckets.

    LTTB keeps the visual shape best per point; unlike plain LTTB this also keeps the global
    minimum and maximum and one point of each non-finite gap. ``x`` comes back sorted.

    >>> x = np.arange(10_000.0); y = np.sin(x / 100)
    >>> small_x, small_y = lttb(x, y, n=100)
    >>> len(small_x) <= 100, small_x[0] == 0.0, small_x[-1] == 9_999.0
    (True, True, True)
    """
    x_array, y_array = _prepare(x, y)
    order = _order(x_array)
    if order is not None:
        x_array, y_array = x_array[order], y_array[order]
    indices = lttb_indices(x_array, y_array, n)
    return x_array[indices], y_array[indices]
