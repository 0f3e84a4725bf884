"""Smoothing of metric series: pure functions from numpy arrays to numpy arrays of the same length.

The default is TensorBoard's debiased exponential moving average. The live panel runs the same
formula in the browser (``notebook/static/smoothing.js``) on the points it holds; these
functions serve static figures, reports and the API, and both give the same numbers on the
same points. Every function lets a non-finite point (NaN, ±inf) pass through unchanged and
leaves it out of its neighbours' averages.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike, NDArray

from jupyter_tracker.downsample import HUGE, HUGE_SHIFT, SmoothingSummary

__all__ = ["gaussian", "running_average", "smooth_summary", "tensorboard_ema", "time_weighted_ema"]


def _as_float_array(values: ArrayLike, what: str = "values") -> NDArray[np.float64]:
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 1:
        raise ValueError(f"{what} must be one-dimensional, got shape {array.shape}")
    return array


def tensorboard_ema(values: ArrayLike, weight: float) -> NDArray[np.float64]:
    """TensorBoard's debiased exponential moving average with ``weight`` in [0, 1).

    Over the finite points: ``last = w·last + (1−w)·y; n += 1; smoothed = last / (1 − wⁿ)``.
    A non-finite point passes through unchanged and does not move ``last``; a series whose
    points are all equal is returned unchanged (as TensorBoard does, so rounding cannot make a
    constant wobble).

    >>> tensorboard_ema([1.0, 2.0, 3.0], 0.5).round(6).tolist()
    [1.0, 1.666667, 2.428571]
    """
    array = _as_float_array(values)
    weight = float(weight)
    if not 0.0 <= weight < 1.0:
        raise ValueError(f"weight must be in [0, 1), got {weight}")
    if array.size == 0:
        return array.copy()
    points = array.tolist()
    first = points[0]
    if all(point == first for point in points):
        return array.copy()
    smoothed = list(points)
    last = 0.0
    count = 0
    isfinite = math.isfinite
    complement = 1.0 - weight
    # a plain loop, operation for operation as in smoothing.js, so both round the same way
    for index, point in enumerate(points):
        if not isfinite(point):
            continue
        last = last * weight + complement * point
        count += 1
        smoothed[index] = last / (1.0 - weight**count)
    return np.asarray(smoothed, dtype=np.float64)


def running_average(values: ArrayLike, window: int) -> NDArray[np.float64]:
    """Trailing mean of each point and the finite points before it, ``window`` finite points in all.

    >>> running_average([1.0, 2.0, 3.0, 4.0], 2).tolist()
    [1.0, 1.5, 2.5, 3.5]
    """
    array = _as_float_array(values)
    window = int(window)
    if window < 1:
        raise ValueError(f"window must be at least 1, got {window}")
    finite = np.isfinite(array)
    result = array.copy()
    if not finite.any():
        return result
    finite_values = array[finite]
    # cumulative sums over the finite points only: the window counts finite points
    sums = np.concatenate(([0.0], np.cumsum(finite_values)))
    ends = np.arange(1, finite_values.size + 1)
    starts = np.maximum(ends - window, 0)
    result[finite] = (sums[ends] - sums[starts]) / (ends - starts)
    return result


def gaussian(values: ArrayLike, sigma: float) -> NDArray[np.float64]:
    """Gaussian-weighted mean over neighbouring points (by index), kernel cut at 3·sigma.

    Non-finite neighbours get no weight; the weights of each point are renormalised over its
    finite neighbours, so the ends are not pulled towards zero.

    >>> gaussian([1.0, 1.0, 1.0], 2.0).tolist()
    [1.0, 1.0, 1.0]
    """
    array = _as_float_array(values)
    sigma = float(sigma)
    if not sigma > 0.0:
        if sigma == 0.0:
            return array.copy()
        raise ValueError(f"sigma must be positive, got {sigma}")
    finite = np.isfinite(array)
    result = array.copy()
    if not finite.any():
        return result
    radius = max(1, int(math.ceil(3.0 * sigma)))
    offsets = np.arange(-radius, radius + 1, dtype=np.float64)
    kernel = np.exp(-0.5 * (offsets / sigma) ** 2)
    filled = np.where(finite, array, 0.0)
    weights = finite.astype(np.float64)
    numerator = np.convolve(filled, kernel, mode="same")
    denominator = np.convolve(weights, kernel, mode="same")
    if array.size < kernel.size:
        # np.convolve's "same" takes the longer input's length; trim to ours, centred
        start = (kernel.size - array.size) // 2
        numerator = numerator[start : start + array.size]
        denominator = denominator[start : start + array.size]
    result[finite] = numerator[finite] / denominator[finite]
    return result


def time_weighted_ema(times: ArrayLike, values: ArrayLike, half_life: float) -> NDArray[np.float64]:
    """Exponential moving average whose decay follows elapsed time, not point count.

    A point ``half_life`` time units older than another weighs half as much, however unevenly
    points are spaced. Debiased like :func:`tensorboard_ema`: each smoothed value is the
    weighted mean of the finite points so far, so the first one equals its raw value.

    >>> time_weighted_ema([0.0, 1.0], [0.0, 2.0], 1.0).tolist()
    [0.0, 1.3333333333333333]
    """
    time_array = _as_float_array(times, "times")
    array = _as_float_array(values)
    if time_array.shape != array.shape:
        raise ValueError(f"times and values differ in length ({time_array.size} != {array.size})")
    half_life = float(half_life)
    if not half_life > 0.0:
        raise ValueError(f"half_life must be positive, got {half_life}")
    result = array.copy()
    weighted_sum = 0.0
    weight_total = 0.0
    previous_time: float | None = None
    isfinite = math.isfinite
    for index, (moment, point) in enumerate(zip(time_array.tolist(), array.tolist(), strict=True)):
        if not (isfinite(point) and isfinite(moment)):
            continue
        if previous_time is not None:
            decay = 0.5 ** (max(moment - previous_time, 0.0) / half_life)
            weighted_sum *= decay
            weight_total *= decay
        weighted_sum += point
        weight_total += 1.0
        previous_time = moment
        result[index] = weighted_sum / weight_total
    return result


def smooth_summary(summary: SmoothingSummary, weight: float) -> NDArray[np.float64]:
    """TensorBoard's EMA of a full series at the anchors of its :class:`SmoothingSummary`.

    The Python twin of ``smoothSummary`` in ``notebook/static/smoothing.js`` (the same arithmetic,
    vectorised per block; equal to 1e-9), for static figures, reports and tests. Per segment, each
    block's mean gets the block's share of the EMA's weights, ``w^start · (1 − w^length)``, and the
    running value decays by ``w^count``; the debiased value is clamped to the series' finite
    range. A non-finite anchor passes through.

    >>> from jupyter_tracker.downsample import min_max_summary
    >>> values = np.random.default_rng(0).exponential(size=100_000)
    >>> indices, summary = min_max_summary(values, 1_500)
    >>> error = smooth_summary(summary, 0.9) - tensorboard_ema(values, 0.9)[indices]
    >>> bool(np.abs(error).max() < 0.01 * np.ptp(values))
    True
    """
    weight = float(weight)
    if not 0.0 <= weight < 1.0:
        raise ValueError(f"weight must be in [0, 1), got {weight}")
    counts = summary.counts.astype(np.int64)
    starts = summary.block_starts.astype(np.int64)
    anchors = counts.size
    # every block of every segment, in summary order, as the browser walks them
    blocks = np.searchsorted(starts, counts, side="left")
    first_block = np.concatenate(([0], np.cumsum(blocks)[:-1])).astype(np.intp)
    segment = np.repeat(np.arange(anchors), blocks)
    position = np.arange(segment.size) - first_block[segment]
    lengths = np.minimum(np.append(starts[1:], np.iinfo(np.int64).max)[position], counts[segment]) - starts[position]
    stored = position < blocks[segment] - 1
    deviation = np.zeros(segment.size)
    # a series beyond ±2^1000 is smoothed scaled by 2^-64 (exactly), so no sum overflows
    low, high = summary.low, summary.high
    shift = HUGE_SHIFT if max(abs(low), abs(high)) > HUGE else 0
    deviation[stored] = summary.deviations * 2.0 ** (summary.exponents.astype(np.float64)[segment[stored]] - (15 + shift))
    spread = np.bincount(segment[stored], weights=deviation[stored] * lengths[stored], minlength=anchors)
    last_block = ~stored
    deviation[last_block] = -spread[segment[last_block]] / lengths[last_block]
    shares = (summary.means[segment] * 2.0**-shift + deviation) * weight ** starts[position] * (1.0 - weight**lengths)
    contributions = np.bincount(segment, weights=shares, minlength=anchors).tolist()
    decays = (weight**counts).tolist()
    debias = (1.0 - weight ** np.cumsum(counts)).tolist()
    flags = summary.flags.tolist()
    low, high, unscale = low * 2.0**-shift, high * 2.0**-shift, 2.0**shift
    smoothed = [0.0] * anchors
    last = 0.0
    for anchor in range(anchors):
        last = last * decays[anchor] + contributions[anchor]
        flag = flags[anchor]
        smoothed[anchor] = _PASSING[flag] if flag else min(max(last / debias[anchor], low), high) * unscale
    return np.asarray(smoothed, dtype=np.float64)


#: the value a non-finite anchor passes through, by its flag
_PASSING = (0.0, math.nan, math.inf, -math.inf)
