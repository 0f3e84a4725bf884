"""Times one refresh of the live panel: 10 metrics × 100,000 points, downsample + smooth + build the update.

    .venv/bin/python bench/bench_live_panel.py [--metrics 10] [--points 100000] [--repeats 20]

A refresh of the widget is ``build_update`` (min/max-bucket downsampling of every metric to at
most 1,500 points and packing the columns into one binary buffer: float64 values, float32 times); smoothing then runs
in the browser. The figure the target (≤ 20 ms) is judged on also smooths every downsampled
line in Python (``tensorboard_ema``), as the static fallback does, so it bounds both views.
Also printed: the bytes one refresh sends, the static figure's size, and how the refresh cost
grows with the series (1,000 → 1,000,000 points per metric). Best of ``--repeats``, in ms.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from jupyter_tracker.notebook.live_feed import LiveFeed  # noqa: E402
from jupyter_tracker.notebook.live_panel import build_update  # noqa: E402
from jupyter_tracker.notebook.live_static import static_bundle  # noqa: E402
from jupyter_tracker.smoothing import tensorboard_ema  # noqa: E402

TARGET_MS = 20.0


def make_feed(metrics: int, points: int, seed: int = 0) -> LiveFeed:
    """A feed holding ``metrics`` random-walk metrics of ``points`` points (fed in writer-sized batches)."""
    rng = np.random.default_rng(seed)
    feed = LiveFeed()
    names = [f"{'train' if k % 2 else 'val'}/metric_{k}" for k in range(metrics)]
    walks = {name: np.cumsum(rng.normal(size=points)).tolist() for name in names}
    batch = 2048
    for start in range(0, points, batch):
        records = [
            ("h", step, 1.7e9 + step * 0.01, step * 0.01, {name: walks[name][step] for name in names})
            for step in range(start, min(points, start + batch))
        ]
        feed.observe(start + 1, records)
    return feed


def best_ms(action, repeats: int) -> float:  # type: ignore[no-untyped-def]
    best = float("inf")
    for _ in range(repeats):
        began = time.perf_counter()
        action()
        best = min(best, (time.perf_counter() - began) * 1000)
    return best


def refresh_with_smoothing(feed: LiveFeed) -> int:
    snapshot = feed.snapshot()
    index, data = build_update(snapshot)
    for metric in index["metrics"]:
        start = metric["offset"]
        for column, dtype in zip(metric["columns"], metric["dtypes"], strict=True):
            end = start + metric["count"] * (4 if dtype == "f4" else 8)
            if column == "value":
                tensorboard_ema(np.frombuffer(data[start:end], dtype=np.float64), 0.6)
            start = end
    return len(data)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--metrics", type=int, default=10)
    parser.add_argument("--points", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=20)
    arguments = parser.parse_args()

    feed = make_feed(arguments.metrics, arguments.points)
    update_ms = best_ms(lambda: build_update(feed.snapshot()), arguments.repeats)
    refresh_ms = best_ms(lambda: refresh_with_smoothing(feed), arguments.repeats)
    index, data = build_update(feed.snapshot())
    static_ms = best_ms(lambda: static_bundle(feed.snapshot()), max(3, arguments.repeats // 4))
    static_bytes = len(json.dumps(static_bundle(feed.snapshot())))
    verdict = "ok" if refresh_ms <= TARGET_MS else "OVER TARGET"

    print(f"live panel refresh, {arguments.metrics} metrics x {arguments.points:,} points (best of {arguments.repeats})")
    print(f"  downsample + pack (widget refresh)        {update_ms:8.2f} ms")
    print(f"  downsample + smooth + pack                {refresh_ms:8.2f} ms   target <= {TARGET_MS:.0f} ms: {verdict}")
    print(f"  bytes sent per refresh (binary buffer)    {len(data):>11,}   + index JSON {len(json.dumps(index)):,} B")
    print(f"  points held by the browser per line       {max(m['count'] for m in index['metrics']):>11,}")
    print(f"  static fallback figure (all charts)       {static_ms:8.2f} ms, {static_bytes:,} B "
          f"({static_bytes / arguments.metrics / 1000:.0f} KB per chart)")
    print("  scaling, one refresh of 10 metrics:")
    for points in (1_000, 10_000, 100_000, 1_000_000):
        scaled = make_feed(10, points, seed=points) if points != arguments.points or arguments.metrics != 10 else feed
        milliseconds = best_ms(lambda scaled=scaled: refresh_with_smoothing(scaled), 5)
        _, scaled_data = build_update(scaled.snapshot())
        print(f"    {points:>9,} points per metric    {milliseconds:8.2f} ms   {len(scaled_data):>9,} B")


if __name__ == "__main__":
    main()
