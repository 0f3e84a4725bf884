"""Smoothing: hand-computed short series, an independent reference for long ones, NaN/inf, constants."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest

from jupyter_tracker.smoothing import gaussian, running_average, tensorboard_ema, time_weighted_ema


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
