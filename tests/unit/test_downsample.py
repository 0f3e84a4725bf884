"""Downsampling: the point budget holds, extremes and ends are kept, x stays sorted, gaps stay gaps."""

from __future__ import annotations

import numpy as np
import pytest

from jupyter_tracker.downsample import lttb, lttb_indices, min_max_buckets, min_max_indices, min_max_summary

METHODS = [min_max_buckets, lttb]


def _series(size: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = np.arange(size, dtype=np.float64)
    y = np.cumsum(rng.normal(size=size))
    return x, y


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("size", [0, 1, 5, 1_500, 1_501, 1_650, 3_001, 10_007, 100_000])
@pytest.mark.parametrize("budget", [4, 10, 1_500])
def test_budget_ends_extremes_and_order(method, size: int, budget: int) -> None:  # type: ignore[no-untyped-def]
    x, y = _series(size, seed=size)
    small_x, small_y = method(x, y, budget)
    assert small_x.size == small_y.size <= max(budget, 0) or size <= budget
    if size <= budget:
        assert np.array_equal(small_x, x) and np.array_equal(small_y, y)
        return
    assert small_x.size <= budget
    assert np.all(np.diff(small_x) > 0), "x must come back strictly increasing (no duplicates)"
    assert small_x[0] == x[0] and small_x[-1] == x[-1]
    assert small_y.max() == y.max() and small_y.min() == y.min()
    # every kept point is a real point of the series
    assert np.array_equal(small_y, y[small_x.astype(int)])


def test_min_max_keeps_every_spike_at_bucket_resolution() -> None:
    x = np.arange(100_000, dtype=np.float64)
    y = np.zeros_like(x)
    spikes = np.arange(500, 100_000, 5_000)
    y[spikes] = np.arange(1, spikes.size + 1, dtype=np.float64)
    y[spikes + 7] = -np.arange(1, spikes.size + 1, dtype=np.float64)
    small_x, small_y = min_max_buckets(x, y, 1_500)
    assert set(spikes).issubset(set(small_x.astype(int)))
    assert set(spikes + 7).issubset(set(small_x.astype(int)))


def test_uses_most_of_the_budget() -> None:
    for size in (1_501, 1_650, 2_999, 100_000):
        _, y = _series(size)
        assert min_max_indices(y, 1_500).size >= 1_400, size


@pytest.mark.parametrize("method", METHODS)
def test_non_finite_points_keep_gaps_and_do_not_count_as_extremes(method) -> None:  # type: ignore[no-untyped-def]
    x, y = _series(50_000, seed=4)
    y[1_000:1_200] = np.nan
    y[30_000] = np.inf
    y[40_000] = -np.inf
    small_x, small_y = method(x, y, 1_500)
    assert small_x.size <= 1_500
    assert np.isnan(small_y).any(), "a run of NaN must keep one point so the line shows a gap"
    finite = np.isfinite(y)
    assert np.nanmax(np.where(np.isfinite(small_y), small_y, np.nan)) == y[finite].max()
    assert np.nanmin(np.where(np.isfinite(small_y), small_y, np.nan)) == y[finite].min()
    assert np.all(np.diff(small_x) > 0)


@pytest.mark.parametrize("method", METHODS)
def test_all_nan_and_unsorted_input(method) -> None:  # type: ignore[no-untyped-def]
    x = np.arange(5_000, dtype=np.float64)
    y = np.full(5_000, np.nan)
    small_x, small_y = method(x, y, 100)
    assert 0 < small_x.size <= 100 and np.isnan(small_y).all()
    rng = np.random.default_rng(5)
    order = rng.permutation(5_000)
    _, values = _series(5_000, seed=6)
    small_x, small_y = method(x[order], values[order], 200)
    assert np.all(np.diff(small_x) > 0)
    assert np.array_equal(small_y, values[small_x.astype(int)])


def test_errors() -> None:
    with pytest.raises(ValueError, match="equal length"):
        min_max_buckets([1.0, 2.0], [1.0])
    with pytest.raises(ValueError, match="at least 4"):
        lttb(np.arange(10.0), np.arange(10.0), 3)


def test_lttb_follows_the_shape() -> None:
    x = np.linspace(0, 20 * np.pi, 20_000)
    y = np.sin(x)
    indices = lttb_indices(x, y, 500)
    # the downsampled line stays close to the original everywhere
    assert np.max(np.abs(np.interp(x, x[indices], y[indices]) - y)) < 0.05


@pytest.mark.parametrize("size", [0, 1, 5, 1_500, 1_501, 10_007, 100_000])
def test_min_max_summary_keeps_the_envelope_and_anchors_every_kept_point(size: int) -> None:
    _, y = _series(size, seed=size)
    if size > 100:
        y[50:90] = np.nan
    indices, summary = min_max_summary(y, 1_500)
    assert np.array_equal(indices, min_max_indices(y, 1_500))
    assert summary.size == indices.size
    assert int(summary.counts.sum()) == int(np.isfinite(y).sum())
    # one block per point nearest each anchor: the summary never holds more blocks than points
    assert summary.deviations.size <= max(size - summary.size, 0)


def test_min_max_indices_with_a_gap_at_the_smallest_budget() -> None:
    _, y = _series(1_000, seed=9)
    y[100:200] = np.nan
    indices = min_max_indices(y, 4)
    assert 0 < indices.size <= 4
    assert indices[0] == 0 and indices[-1] == 999
