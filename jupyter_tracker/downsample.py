"""Downsampling of metric series for plots: pick at most ``n`` indices that keep the line's shape.

Both methods return indices into the input (sorted, so ``x[indices]`` stays in order) and
always keep the first and last points and the global minimum and maximum, so a spike is never
smoothed away by downsampling. A run of non-finite points keeps one of its points, so a gap in
the line stays a gap. Pure numpy; the live panel sends ``x[indices]`` and ``y[indices]``.

Smoothing the kept points alone is biased (the min and max of each bucket are not a fair sample
of it), so :func:`min_max_summary` also returns a :class:`SmoothingSummary` of the full series:
with it the browser (``notebook/static/smoothing.js``) or :func:`jupyter_tracker.smoothing.smooth_summary`
computes TensorBoard's EMA of the full series at every kept point, for any weight.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "DEFAULT_POINTS",
    "SmoothingSummary",
    "lttb",
    "lttb_indices",
    "min_max_buckets",
    "min_max_indices",
    "min_max_summary",
    "smoothing_summary",
]

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
    # at the smallest budgets one bucket (its min and max) and the two ends come before gap markers
    gaps = np.empty(0, dtype=np.intp) if all_finite else _gap_markers(finite, min(budget // 4, budget - 4))
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
    >>> len(small_x) <= 100, bool(small_y.max() == y.max()), bool(small_y.min() == y.min())
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
    >>> len(small_x) <= 100, bool(small_x[0] == 0.0), bool(small_x[-1] == 9_999.0)
    (True, True, True)
    """
    x_array, y_array = _prepare(x, y)
    order = _order(x_array)
    if order is not None:
        x_array, y_array = x_array[order], y_array[order]
    indices = lttb_indices(x_array, y_array, n)
    return x_array[indices], y_array[indices]


#: points nearest an anchor kept exactly: at small weights the EMA is mostly these few points
EXACT_POINTS = 8
#: each further block is this much longer than the one before: w^k varies little inside a block
BLOCK_GROWTH = 1.5
#: a block's deviation from its segment's mean is stored as int16 in units of 2^(exponent − 15)
_DEVIATION_BITS = 15
#: series beyond ±2^1000 are summed (and smoothed, see smooth_summary) scaled by 2^-64, so no sum overflows
HUGE = 2.0**1000
HUGE_SHIFT = 64
_SUMMARY_VERSION = 1
_HEADER = struct.Struct("<4I2d")


def _block_starts(longest: int) -> NDArray[np.uint32]:
    """Offsets, counted back from an anchor, where a segment's blocks start: 0..EXACT_POINTS, then ×BLOCK_GROWTH.

    Only the starts below ``longest`` (the longest segment) are needed.
    """
    starts = [0]
    while True:
        start = starts[-1]
        following = start + 1 if start < EXACT_POINTS else max(start + 1, int(np.ceil(start * BLOCK_GROWTH)))
        if following >= longest:
            break
        starts.append(following)
    return np.asarray(starts, dtype=np.uint32)


@dataclass(frozen=True)
class SmoothingSummary:
    """What the browser needs to compute TensorBoard's EMA of a full series at a few chosen points.

    Each *anchor* (a point the chart draws) summarises the *segment* of the series since the
    previous anchor: how many finite points it has, their mean, and the means of blocks of them
    counted back from the anchor (the last ``EXACT_POINTS`` one by one, then blocks growing by
    ``BLOCK_GROWTH``). An EMA weight ``w`` gives the points of a block weights ``w^k`` that differ
    little, so applying them per block matches the full series' EMA for every ``w`` in [0, 1).
    A segment with ``c`` finite points has ``blocks = #(block_starts < c)`` blocks.

    Fields (``m`` anchors, ``B`` stored deviations):

    - ``block_starts`` uint32 (K,): where blocks start, counted back from an anchor (0, 1, ..., 8, 12, 18, ...)
    - ``counts`` uint32 (m,): finite points in each segment
    - ``flags`` uint8 (m,): 0 when the anchor is finite, else 1 (NaN), 2 (+inf), 3 (-inf): it passes through
    - ``means`` float64 (m,): mean of each segment's finite points (0 when it has none)
    - ``exponents`` int16 (m,): a segment's deviations are in units of 2^(exponent − 15)
    - ``deviations`` int16 (B,): per segment in order, block mean − segment mean for every block
      but the last (whose mean follows from the others), quantised to 1/32768 of the segment's
      largest deviation (far below the 1 % of range the smoothing promises)
    - ``low``, ``high``: the finite minimum and maximum of the series (NaN when it has none); an EMA
      lies between them, and clamping to them keeps a constant series exactly constant
    """

    block_starts: NDArray[np.uint32]
    counts: NDArray[np.uint32]
    flags: NDArray[np.uint8]
    means: NDArray[np.float64]
    exponents: NDArray[np.int16]
    deviations: NDArray[np.int16]
    low: float
    high: float

    @property
    def size(self) -> int:
        """The number of anchors (smoothed points drawn)."""
        return int(self.counts.size)

    @property
    def nbytes(self) -> int:
        """Length of :meth:`to_bytes`."""
        anchors = self.size
        return _HEADER.size + 15 * anchors + 4 * self.block_starts.size + 2 * self.deviations.size

    def to_bytes(self) -> bytes:
        """Little-endian: u32 version, m, B, K; f8 low, high; f8 means[m]; u32 block_starts[K];
        u32 counts[m]; i16 exponents[m]; i16 deviations[B]; u8 flags[m]. Arrays start aligned."""
        header = _HEADER.pack(_SUMMARY_VERSION, self.size, self.deviations.size, self.block_starts.size,
                              self.low, self.high)
        return b"".join((
            header,
            self.means.astype("<f8").tobytes(),
            self.block_starts.astype("<u4").tobytes(),
            self.counts.astype("<u4").tobytes(),
            self.exponents.astype("<i2").tobytes(),
            self.deviations.astype("<i2").tobytes(),
            self.flags.astype("u1").tobytes(),
        ))

    @classmethod
    def from_bytes(cls, data: bytes) -> SmoothingSummary:
        """Reads what :meth:`to_bytes` wrote."""
        if len(data) < _HEADER.size:
            raise ValueError(f"a smoothing summary needs at least {_HEADER.size} bytes, got {len(data)}")
        version, anchors, blocks, starts, low, high = _HEADER.unpack_from(data)
        if version != _SUMMARY_VERSION:
            raise ValueError(f"unknown smoothing summary version {version}")
        offset = _HEADER.size

        def take(dtype: str, count: int) -> NDArray[Any]:
            nonlocal offset
            array = np.frombuffer(data, dtype=dtype, count=count, offset=offset)
            offset += array.nbytes
            return array

        means = take("<f8", anchors).astype(np.float64)
        block_starts = take("<u4", starts).astype(np.uint32)
        counts = take("<u4", anchors).astype(np.uint32)
        exponents = take("<i2", anchors).astype(np.int16)
        deviations = take("<i2", blocks).astype(np.int16)
        flags = take("u1", anchors).astype(np.uint8)
        return cls(block_starts, counts, flags, means, exponents, deviations, low, high)


def _non_finite_flags(values: NDArray[np.float64]) -> NDArray[np.uint8]:
    flags = np.zeros(values.size, dtype=np.uint8)
    flags[np.isnan(values)] = 1
    flags[values == np.inf] = 2
    flags[values == -np.inf] = 3
    return flags


def _quantise(
    deviations: NDArray[np.float64], owners: NDArray[np.intp], segments: int
) -> tuple[NDArray[np.int16], NDArray[np.int16]]:
    """Per segment, the exponent ``e`` with every |deviation| < 2^e, and the deviations in units of 2^(e − 15)."""
    deviations = np.where(np.isfinite(deviations), deviations, 0.0)
    largest = np.zeros(segments)
    np.maximum.at(largest, owners, np.abs(deviations))
    exponents = np.frexp(largest)[1].astype(np.int16)
    units = np.ldexp(deviations, _DEVIATION_BITS - exponents[owners].astype(np.int64))
    limit = 2**_DEVIATION_BITS - 1
    return exponents, np.clip(np.rint(units), -limit, limit).astype(np.int16)


def smoothing_summary(y: ArrayLike, anchors: ArrayLike) -> SmoothingSummary:
    """The :class:`SmoothingSummary` of series ``y`` (in the order its EMA runs) at indices ``anchors``.

    ``anchors`` must be strictly increasing indices into ``y`` ending at its last point; each
    summarises the points after the previous anchor up to itself.
    """
    values = np.asarray(y, dtype=np.float64)
    if values.ndim != 1:
        raise ValueError(f"y must be one-dimensional, got shape {values.shape}")
    points = np.asarray(anchors, dtype=np.intp)
    size = values.size
    if points.ndim != 1 or (size and (points.size == 0 or points[-1] != size - 1)) or (not size and points.size):
        raise ValueError(f"anchors must be one-dimensional and end at the last index of y ({size - 1})")
    if points.size and (points[0] < 0 or np.any(np.diff(points) <= 0)):
        raise ValueError("anchors must be strictly increasing indices into y")
    if not size:
        nothing = np.empty(0, dtype=np.uint32)
        return SmoothingSummary(np.zeros(1, dtype=np.uint32), nothing, nothing.astype(np.uint8), nothing.astype(np.float64),
                                nothing.astype(np.int16), nothing.astype(np.int16), float("nan"), float("nan"))
    finite = np.isfinite(values)
    if finite.all():
        counts = np.diff(points, prepend=-1)
        finite_values = values
        finite_upto = points + 1
    else:
        finite_upto = np.cumsum(finite)[points]
        counts = np.diff(finite_upto, prepend=0)
        finite_values = values[finite]
    low = float(finite_values.min()) if finite_values.size else float("nan")
    high = float(finite_values.max()) if finite_values.size else float("nan")
    shift = HUGE_SHIFT if max(abs(low), abs(high)) > HUGE else 0
    if shift:
        finite_values = np.ldexp(finite_values, -shift)
    longest = int(counts.max())
    block_starts = _block_starts(longest)
    # the blocks of every segment, in summary order (per segment, block 0 ends at the anchor)
    blocks_per_segment = np.searchsorted(block_starts, counts, side="left")
    first_block = np.concatenate(([0], np.cumsum(blocks_per_segment)[:-1])).astype(np.intp)
    total_blocks = int(blocks_per_segment.sum())
    block_segment = np.repeat(np.arange(points.size), blocks_per_segment)
    block_position = np.arange(total_blocks) - np.repeat(first_block, blocks_per_segment)
    next_start = np.append(block_starts[1:].astype(np.intp), longest)
    block_end_back = np.minimum(next_start[block_position], counts[block_segment])
    block_sizes = block_end_back - block_starts[block_position].astype(np.intp)
    # each block is a run of consecutive finite points: one reduceat pass, in series order, sums them
    reverse = first_block[block_segment] + blocks_per_segment[block_segment] - 1 - block_position
    block_first = finite_upto[block_segment] - block_end_back
    block_sums = np.add.reduceat(finite_values, block_first[reverse])[reverse] if total_blocks else np.zeros(0)
    sums = np.bincount(block_segment, weights=block_sums, minlength=points.size)
    means = np.divide(sums, counts, out=np.zeros(points.size), where=counts > 0)
    stored = block_position < blocks_per_segment[block_segment] - 1
    owners = block_segment[stored]
    with np.errstate(over="ignore", invalid="ignore"):
        exponents, deviations = _quantise(block_sums[stored] / block_sizes[stored] - means[owners], owners, points.size)
    return SmoothingSummary(
        block_starts=block_starts,
        counts=counts.astype(np.uint32),
        flags=_non_finite_flags(values[points]),
        means=np.ldexp(means, shift),
        exponents=exponents + np.int16(shift),
        deviations=deviations,
        low=low,
        high=high,
    )


def min_max_summary(y: ArrayLike, n: int = DEFAULT_POINTS) -> tuple[NDArray[np.intp], SmoothingSummary]:
    """:func:`min_max_indices` of ``y`` and the :class:`SmoothingSummary` anchored at every kept index.

    Draw the raw line from ``y[indices]`` and the smoothed one from the summary at the same x:
    it is TensorBoard's EMA of the full series there, whatever weight the browser picks.

    >>> y = np.arange(10_000.0) % 7
    >>> indices, summary = min_max_summary(y, 100)
    >>> indices.size == summary.size <= 100
    True
    """
    values = np.asarray(y, dtype=np.float64)
    indices = min_max_indices(values, n)
    return indices, smoothing_summary(values, indices)
