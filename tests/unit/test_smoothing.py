"""Smoothing: hand-computed short series, an independent reference for long ones, NaN/inf, constants;
the EMA of a downsampled series from its summary of the full series, within 1 % of the full EMA."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jupyter_tracker.downsample import SmoothingSummary, min_max_indices, min_max_summary, smoothing_summary
from jupyter_tracker.smoothing import gaussian, running_average, smooth_summary, tensorboard_ema, time_weighted_ema


# an independent reference: each smoothed point as the explicit weighted mean of the finite points so far,
# sum_j w^(n-j) (1-w) y_j / (1 - w^n), rather than TensorBoard's running recurrence
def reference_ema(values: list[float], weight: float) -> list[float]:
    if values and all(value == values[0] for value in values):
        return list(values)
    finite_values: list[float] = []
    out = []
    for value in values:
        if not math.isfinite(value):
            out.append(value)
            continue
        finite_values.append(value)
        count = len(finite_values)
        # weights below 1e-300 add nothing at double precision: keep the window where they matter
        span = count if weight == 0 else min(count, int(700 / -math.log(weight)) + 1) if weight > 0 else 1
        powers = weight ** np.arange(span - 1, -1, -1, dtype=np.float64)
        total = float(np.dot(powers * (1 - weight), np.asarray(finite_values[-span:])))
        out.append(total / (1 - weight**count))
    return out


def test_ema_by_hand() -> None:
    # w = 0.5: last 0.5 -> 0.5/0.5; last 1.25 -> 1.25/0.75; last 2.125 -> 2.125/0.875
    assert tensorboard_ema([1.0, 2.0, 3.0], 0.5).tolist() == pytest.approx([1.0, 5 / 3, 17 / 7], abs=1e-15)
    # w = 0 is no smoothing at all
    assert tensorboard_ema([3.0, -1.0, 7.5], 0.0).tolist() == [3.0, -1.0, 7.5]
    # the first point is always its raw value (debiasing)
    assert tensorboard_ema([10.0, 0.0], 0.9)[0] == pytest.approx(10.0, abs=1e-12)
    # w = 0.9, [0, 10]: last 0 -> 0; last 1.0 -> 1/(1-0.81)
    assert tensorboard_ema([0.0, 10.0], 0.9).tolist() == pytest.approx([0.0, 1.0 / 0.19], abs=1e-12)


def test_ema_non_finite_points_pass_through_and_do_not_count() -> None:
    values = [1.0, math.nan, 2.0, math.inf, -math.inf, 3.0]
    smoothed = tensorboard_ema(values, 0.5)
    assert math.isnan(smoothed[1]) and smoothed[3] == math.inf and smoothed[4] == -math.inf
    # the finite points are smoothed as if the others were not there
    assert smoothed[[0, 2, 5]].tolist() == pytest.approx(tensorboard_ema([1.0, 2.0, 3.0], 0.5).tolist(), abs=1e-15)


@pytest.mark.parametrize("constant", [0.0, 1e-300, 0.1, 3.7, -2.5, 1e300])
@pytest.mark.parametrize("weight", [0.0, 0.6, 0.99, 0.999])
def test_ema_constant_series_stays_constant(constant: float, weight: float) -> None:
    assert (tensorboard_ema(np.full(5_000, constant), weight) == constant).all()


def test_ema_constant_with_gaps_stays_constant_to_rounding() -> None:
    values = np.full(1_000, 0.1)
    values[::7] = np.nan
    smoothed = tensorboard_ema(values, 0.95)
    finite = np.isfinite(values)
    assert np.allclose(smoothed[finite], 0.1, rtol=1e-12, atol=0)
    assert np.isnan(smoothed[~finite]).all()


@pytest.mark.parametrize("weight", [0.0, 0.3, 0.6, 0.9, 0.99, 0.999])
def test_ema_matches_reference_on_long_series(weight: float) -> None:
    rng = np.random.default_rng(int(weight * 1000))
    values = np.cumsum(rng.normal(size=2_000)) + 5 * rng.random(2_000)
    values[rng.integers(0, 2_000, 40)] = np.nan
    values[rng.integers(0, 2_000, 5)] = np.inf
    expected = np.array(reference_ema(values.tolist(), weight))
    smoothed = tensorboard_ema(values, weight)
    assert np.array_equal(np.isnan(smoothed), np.isnan(expected))
    finite = np.isfinite(expected)
    assert np.allclose(smoothed[finite], expected[finite], rtol=1e-9, atol=1e-9)
    assert np.array_equal(smoothed[~finite], expected[~finite], equal_nan=True)


def test_ema_edges_and_errors() -> None:
    assert tensorboard_ema([], 0.6).size == 0
    assert tensorboard_ema([math.nan, math.nan], 0.6).tolist() == pytest.approx([math.nan, math.nan], nan_ok=True)
    assert tensorboard_ema(np.arange(5, dtype=np.int64), 0.5).dtype == np.float64
    with pytest.raises(ValueError, match="weight"):
        tensorboard_ema([1.0, 2.0], 1.0)
    with pytest.raises(ValueError, match="weight"):
        tensorboard_ema([1.0, 2.0], -0.1)
    with pytest.raises(ValueError, match="one-dimensional"):
        tensorboard_ema(np.ones((2, 2)), 0.5)


def test_running_average_by_hand_and_reference() -> None:
    assert running_average([1.0, 2.0, 3.0, 4.0], 2).tolist() == [1.0, 1.5, 2.5, 3.5]
    assert running_average([1.0, 2.0, 3.0, 4.0], 1).tolist() == [1.0, 2.0, 3.0, 4.0]
    # the window counts finite points: the NaN passes through and is skipped
    smoothed = running_average([1.0, math.nan, 3.0, 5.0], 2)
    assert math.isnan(smoothed[1]) and smoothed[[0, 2, 3]].tolist() == [1.0, 2.0, 4.0]
    assert (running_average(np.full(100, 2.5), 10) == 2.5).all()
    rng = np.random.default_rng(1)
    values = rng.normal(size=2_000)
    expected = [float(np.mean(values[max(0, i - 24) : i + 1])) for i in range(values.size)]
    assert np.allclose(running_average(values, 25), expected, atol=1e-12)
    with pytest.raises(ValueError, match="window"):
        running_average([1.0], 0)


def test_gaussian_by_hand_and_reference() -> None:
    values = np.array([0.0, 0.0, 3.0, 0.0, 0.0])
    weights = np.exp(-0.5 * np.arange(-3, 4) ** 2)
    # the middle point: its neighbours within 3 sigma, all finite, kernel renormalised
    middle = (3.0 * weights[3]) / weights[1:6].sum()
    assert gaussian(values, 1.0)[2] == pytest.approx(middle, abs=1e-12)
    assert np.allclose(gaussian(np.full(50, -4.0), 3.0), -4.0, rtol=0, atol=1e-12)
    rng = np.random.default_rng(2)
    series = rng.normal(size=500)
    series[[10, 200]] = np.nan
    smoothed = gaussian(series, 2.0)
    radius = 6
    kernel = np.exp(-0.5 * (np.arange(-radius, radius + 1) / 2.0) ** 2)
    for index in (0, 5, 11, 250, 499):
        window = range(max(0, index - radius), min(series.size, index + radius + 1))
        num = sum(kernel[j - index + radius] * series[j] for j in window if math.isfinite(series[j]))
        den = sum(kernel[j - index + radius] for j in window if math.isfinite(series[j]))
        assert smoothed[index] == pytest.approx(num / den, abs=1e-12)
    assert math.isnan(smoothed[10]) and math.isnan(smoothed[200])
    assert gaussian([1.0, 5.0], 0.0).tolist() == [1.0, 5.0]
    assert gaussian([1.0, 2.0, 3.0], 10.0).size == 3
    with pytest.raises(ValueError, match="sigma"):
        gaussian([1.0], -1.0)


def test_time_weighted_ema_by_hand() -> None:
    # a point one half-life older weighs half: (0*0.5 + 2) / (0.5 + 1)
    assert time_weighted_ema([0.0, 1.0], [0.0, 2.0], 1.0).tolist() == pytest.approx([0.0, 4 / 3])
    # uneven spacing: a long pause forgets the past
    smoothed = time_weighted_ema([0.0, 0.1, 100.0], [10.0, 10.0, 0.0], 1.0)
    assert smoothed[1] == pytest.approx(10.0) and smoothed[2] == pytest.approx(0.0, abs=1e-20)
    with_gap = time_weighted_ema([0.0, 1.0, 2.0], [1.0, math.nan, 1.0], 1.0)
    assert math.isnan(with_gap[1]) and with_gap[2] == pytest.approx(1.0)
    assert np.allclose(time_weighted_ema(np.arange(100.0), np.full(100, 7.0), 3.0), 7.0, rtol=1e-12)
    with pytest.raises(ValueError, match="half_life"):
        time_weighted_ema([0.0], [1.0], 0.0)
    with pytest.raises(ValueError, match="length"):
        time_weighted_ema([0.0, 1.0], [1.0], 1.0)


def test_time_weighted_ema_matches_reference() -> None:
    rng = np.random.default_rng(3)
    times = np.cumsum(rng.exponential(size=1_000))
    values = rng.normal(size=1_000)
    expected = []
    for index in range(values.size):
        ages = times[index] - times[: index + 1]
        weights = 0.5 ** (ages / 5.0)
        expected.append(float(np.sum(weights * values[: index + 1]) / np.sum(weights)))
    assert np.allclose(time_weighted_ema(times, values, 5.0), expected, atol=1e-10)


def test_importable_without_ipython() -> None:
    code = (
        "import sys\n"
        "import jupyter_tracker.smoothing, jupyter_tracker.downsample\n"
        "bad = [m for m in ('IPython', 'ipywidgets', 'plotly', 'anywidget', 'pandas') if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# --- smoothing a downsampled series through its summary of the full series (issue 8, item 7) ---

# the slider's range, with the weights where a block's w^k spread hurts most (time constants 2..100)
SLIDER_WEIGHTS = [0.0, 0.3, 0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.93, 0.95, 0.97, 0.98, 0.99, 0.995, 0.999]


def loss_with_spikes(size: int = 100_000, seed: int = 0) -> np.ndarray:
    """A decaying loss with skewed, loss-spike-like noise (exponential, mean 0.3): the issue's case."""
    rng = np.random.default_rng(seed)
    steps = np.arange(size, dtype=np.float64)
    return 1.0 + 2.0 * np.exp(-steps / 20_000) + rng.exponential(0.3, size)


def _worst_error(values: np.ndarray, weight: float, budget: int = 1_500) -> float:
    """Largest |summary EMA − full-series EMA| over the drawn points, as a fraction of the range."""
    indices, summary = min_max_summary(values, budget)
    full = tensorboard_ema(values, weight)[indices]
    smoothed = smooth_summary(summary, weight)
    assert np.array_equal(np.isnan(smoothed), np.isnan(full))
    assert np.array_equal(smoothed[np.isinf(full)], full[np.isinf(full)])
    finite = np.isfinite(full)
    error = float(np.abs(smoothed[finite] - full[finite]).max(initial=0.0))
    spread = float(np.ptp(values[np.isfinite(values)]))
    return error / spread if spread else error  # a constant: any error at all is a failure


def test_smoothing_the_envelope_alone_is_biased() -> None:
    """The issue's reproduction: EMA of the ≤ 1,500 min/max points sits ~+0.5 above the full EMA."""
    values = loss_with_spikes()
    indices = min_max_indices(values, 1_500)
    bias = np.mean(tensorboard_ema(values[indices], 0.9) - tensorboard_ema(values, 0.9)[indices])
    assert bias > 0.3


@pytest.mark.parametrize("weight", SLIDER_WEIGHTS)
@pytest.mark.parametrize("seed", [0, 1])
def test_summary_matches_full_series_ema_within_one_percent(weight: float, seed: int) -> None:
    values = loss_with_spikes(seed=seed)
    assert _worst_error(values, weight) <= 0.01


@pytest.mark.parametrize("weight", [0.0, 0.6, 0.9, 0.99, 0.999])
def test_summary_within_one_percent_across_nan_gaps_and_infinities(weight: float) -> None:
    values = loss_with_spikes(seed=2)
    values[1_000:1_300] = np.nan  # a gap spanning several buckets
    values[50_000:50_020] = np.nan
    values[70_001] = np.inf
    values[80_002] = -np.inf
    values[99_999] = np.nan  # a non-finite last point
    assert _worst_error(values, weight) <= 0.01


@pytest.mark.parametrize("magnitude", [1e-300, 1e300, 1.7e308])
def test_summary_within_one_percent_at_extreme_magnitudes(magnitude: float) -> None:
    """Sums of points near the float64 limit must not overflow (they are taken scaled by 2^-64)."""
    values = loss_with_spikes(seed=5)
    values *= magnitude / values.max()
    for weight in (0.0, 0.9, 0.999):
        assert _worst_error(values, weight) <= 0.01, weight


@pytest.mark.parametrize("size", [1, 2, 10, 1_500, 10_000, 262_144])
def test_summary_error_holds_at_other_lengths(size: int) -> None:
    values = loss_with_spikes(size, seed=size)
    for weight in (0.0, 0.6, 0.9, 0.99, 0.999):
        assert _worst_error(values, weight) <= 0.01, weight


def test_summary_is_exact_where_nothing_was_dropped() -> None:
    values = loss_with_spikes(1_000, seed=3)
    values[[10, 11, 500]] = [np.nan, np.inf, np.nan]
    indices, summary = min_max_summary(values, 1_500)
    assert np.array_equal(indices, np.arange(1_000))
    for weight in (0.0, 0.6, 0.999):
        smoothed, full = smooth_summary(summary, weight), tensorboard_ema(values, weight)
        finite = np.isfinite(full)
        assert np.allclose(smoothed[finite], full[finite], rtol=1e-12, atol=0)
        assert np.array_equal(smoothed[~finite], full[~finite], equal_nan=True)


def test_summary_bytes_round_trip_and_size() -> None:
    values = loss_with_spikes()
    values[5:9] = np.nan
    indices, summary = min_max_summary(values, 1_500)
    data = summary.to_bytes()
    assert len(data) == summary.nbytes < 64 * indices.size
    again = SmoothingSummary.from_bytes(data)
    for field in ("block_starts", "counts", "flags", "means", "exponents", "deviations"):
        assert np.array_equal(getattr(again, field), getattr(summary, field)), field
    assert (again.low, again.high) == (summary.low, summary.high)
    assert np.array_equal(smooth_summary(again, 0.9), smooth_summary(summary, 0.9), equal_nan=True)
    with pytest.raises(ValueError, match="version"):
        SmoothingSummary.from_bytes(b"\x02" + data[1:])
    with pytest.raises(ValueError, match="at least"):
        SmoothingSummary.from_bytes(data[:10])


def test_summary_counts_every_finite_point_once() -> None:
    values = loss_with_spikes(20_000, seed=4)
    values[::7] = np.nan
    indices, summary = min_max_summary(values, 300)
    assert summary.size == indices.size
    assert int(summary.counts.sum()) == int(np.isfinite(values).sum())
    assert np.array_equal(summary.flags != 0, ~np.isfinite(values[indices]))


def test_summary_edges_and_errors() -> None:
    indices, summary = min_max_summary(np.array([]), 1_500)
    assert indices.size == 0 and summary.size == 0 and smooth_summary(summary, 0.5).size == 0
    _, summary = min_max_summary(np.full(5_000, np.nan), 100)
    assert np.isnan(smooth_summary(summary, 0.9)).all()
    with pytest.raises(ValueError, match="last index"):
        smoothing_summary(np.arange(10.0), [0, 5])
    with pytest.raises(ValueError, match="strictly increasing"):
        smoothing_summary(np.arange(10.0), [5, 3, 9])
    with pytest.raises(ValueError, match="one-dimensional"):
        smoothing_summary(np.zeros((2, 2)), [1])
    with pytest.raises(ValueError, match="weight"):
        smooth_summary(summary, 1.0)


_point = st.one_of(st.just(np.nan), st.just(np.inf), st.just(-np.inf), st.just(0.0))


@settings(max_examples=60, deadline=None)
@given(
    constant=st.floats(allow_nan=False, allow_infinity=False, min_value=-1e12, max_value=1e12),
    size=st.integers(1, 6_000),
    gaps=st.lists(st.tuples(st.integers(0, 5_999), st.sampled_from([np.nan, np.inf, -np.inf])), max_size=20),
    budget=st.integers(4, 2_000),
    weight=st.floats(0.0, 0.999),
)
def test_constant_series_stays_constant_and_non_finite_points_pass_through(
    constant: float, size: int, gaps: list[tuple[int, float]], budget: int, weight: float
) -> None:
    values = np.full(size, constant)
    for position, value in gaps:
        if position < size:
            values[position] = value
    indices, summary = min_max_summary(values, budget)
    smoothed = smooth_summary(summary, weight)
    drawn = values[indices]
    finite = np.isfinite(drawn)
    assert np.all(smoothed[finite] == constant)
    assert np.array_equal(smoothed[~finite], drawn[~finite], equal_nan=True)


@settings(max_examples=60, deadline=None)
@given(
    values=st.lists(st.one_of(st.floats(-1e6, 1e6), _point), min_size=1, max_size=3_000),
    budget=st.integers(4, 500),
    weight=st.floats(0.0, 0.999),
)
def test_summary_ema_stays_within_the_finite_range(values: list[float], budget: int, weight: float) -> None:
    series = np.asarray(values, dtype=np.float64)
    indices, summary = min_max_summary(series, budget)
    smoothed = smooth_summary(summary, weight)
    drawn = series[indices]
    finite = np.isfinite(drawn)
    assert np.array_equal(smoothed[~finite], drawn[~finite], equal_nan=True)
    if finite.any():
        assert np.all((smoothed[finite] >= summary.low) & (smoothed[finite] <= summary.high))
