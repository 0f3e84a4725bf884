"""Bias of the live panel's smoothed line, before and after smoothing from a summary of the full series.

    .venv/bin/python bench/bench_smoothing_bias.py [--points 100000] [--budget 1500] [--repeats 7]

The case of issue 8 (item 7): a decaying loss with skewed, loss-spike-like noise (exponential,
mean 0.3), 100,000 points, downsampled to at most 1,500 by min/max buckets. *Before*: the EMA
of the kept points alone (what the panel did). *After*: the EMA from the SmoothingSummary sent
beside the envelope (``min_max_summary`` + ``smooth_summary``, the Python twin of the browser's
``smoothSummary``). Both are compared with ``tensorboard_ema`` of the full series at the drawn
points, for every weight of the slider: mean bias and worst error, as a % of the series' range
(the target: worst ≤ 1 % at every weight). Also printed: the bytes per metric of the envelope
and of the summary, and the time to build the summary and to smooth it (medians of
``--repeats`` interleaved repetitions, with the 1-minute load average).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from jupyter_tracker.downsample import min_max_indices, min_max_summary  # noqa: E402
from jupyter_tracker.smoothing import smooth_summary, tensorboard_ema  # noqa: E402

WEIGHTS = [0.0, 0.3, 0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.93, 0.95, 0.97, 0.98, 0.99, 0.995, 0.999]
TARGET_PERCENT = 1.0
#: the live panel's envelope columns: step, runtime, wall (float32) and value (float64)
ENVELOPE_BYTES_PER_POINT = 20


def skewed_loss(points: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    steps = np.arange(points, dtype=np.float64)
    return 1.0 + 2.0 * np.exp(-steps / 20_000) + rng.exponential(0.3, points)


def _percent(error: np.ndarray, spread: float) -> float:
    return float(100.0 * error / spread) if spread else 0.0


def bias_table(values: np.ndarray, budget: int) -> bool:
    """Prints before/after per weight; True when every weight holds the target."""
    indices, summary = min_max_summary(values, budget)
    envelope = values[indices]
    spread = float(np.ptp(values[np.isfinite(values)]))
    print(f"{values.size:,} points -> {indices.size:,} drawn; range {spread:.3f}")
    print(f"{'weight':>7}  {'before: mean bias':>17} {'worst %':>8}  {'after: mean bias':>16} {'worst %':>8}")
    holds = True
    for weight in WEIGHTS:
        full = tensorboard_ema(values, weight)[indices]
        before = tensorboard_ema(envelope, weight) - full
        after = smooth_summary(summary, weight) - full
        worst_after = _percent(np.nanmax(np.abs(after)), spread)
        holds &= worst_after <= TARGET_PERCENT
        print(f"{weight:>7}  {np.nanmean(before):>+17.4f} {_percent(np.nanmax(np.abs(before)), spread):>8.2f}"
              f"  {np.nanmean(after):>+16.5f} {worst_after:>8.3f}")
    envelope_bytes = indices.size * ENVELOPE_BYTES_PER_POINT
    print(f"bytes per metric: envelope {envelope_bytes:,} + summary {summary.nbytes:,} "
          f"({summary.nbytes / max(summary.size, 1):.1f} B per drawn point, {summary.deviations.size:,} block deviations)")
    return holds


def timings(values: np.ndarray, budget: int, repeats: int) -> None:
    """Medians of interleaved repetitions: envelope alone, envelope + summary, smoothing the summary."""
    _, summary = min_max_summary(values, budget)
    actions = {
        "min_max_indices (envelope alone)": lambda: min_max_indices(values, budget),
        "min_max_summary (envelope + summary)": lambda: min_max_summary(values, budget),
        "summary.to_bytes()": summary.to_bytes,
        "smooth_summary (Python twin), w=0.9": lambda: smooth_summary(summary, 0.9),
    }
    samples: dict[str, list[float]] = {name: [] for name in actions}
    for _ in range(repeats):
        for name, action in actions.items():
            start = time.perf_counter()
            action()
            samples[name].append((time.perf_counter() - start) * 1e3)
    for name, times in samples.items():
        print(f"  {name:<40} median {statistics.median(times):7.2f} ms")
    print(f"  load average (1 min) {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=100_000)
    parser.add_argument("--budget", type=int, default=1_500)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--seed", type=int, default=0)
    arguments = parser.parse_args()
    values = skewed_loss(arguments.points, arguments.seed)
    holds = bias_table(values, arguments.budget)
    print("with NaN gaps and infinities:")
    gappy = values.copy()
    gappy[1_000:1_300] = np.nan
    gappy[arguments.points // 2 :: 9_973] = np.inf
    holds &= bias_table(gappy, arguments.budget)
    timings(values, arguments.budget, arguments.repeats)
    print(f"target: worst error <= {TARGET_PERCENT} % of range at every weight: {'PASS' if holds else 'FAIL'}")
    return 0 if holds else 1


if __name__ == "__main__":
    raise SystemExit(main())
