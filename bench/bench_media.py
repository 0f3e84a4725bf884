"""Media and system-metrics benchmark (issue 5): log() with an image, writer encoding, sampler overhead.

    .venv/bin/python bench/bench_media.py [--calls 5000] [--images 300] [--sampler-seconds 6]

Prints a table and writes ``bench/out/media-latest.json``. Figures:

- ``log()`` p50/p99 with a 256x256x3 uint8 ``Image`` in the dict (the image made before the
  call, as a training loop does), next to ``log()`` of 10 floats: the call only validates and
  keeps a reference, so its cost should stay the same order. ``Image()`` itself (which copies the
  array) is reported on its own, and so is the PNG encoding the writer thread does later.
- images encoded per second by the writer thread (distinct images, from ``log`` to on disk).
- the system sampler's own CPU cost: thread CPU time per sample with the real psutil (and NVML,
  when present) sources, as a share of one core at the default 2 s interval.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
OUT = ROOT / "bench" / "out"

TARGET_LOG_P50_US = 20.0
TARGET_SAMPLER_CORE_PERCENT = 1.0


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def natural_images(count: int, seed: int = 0) -> list[np.ndarray]:
    """Distinct 256x256x3 images that compress like photos (gradients plus noise), not like pure noise."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:256, 0:256]
    base = np.stack([x, y, (x + y) // 2], axis=-1).astype(np.int16)
    return [np.clip(base + rng.integers(-12, 13, base.shape), 0, 255).astype(np.uint8) for _ in range(count)]


def time_calls(call, count: int) -> list[float]:  # type: ignore[no-untyped-def]
    timings = []
    clock = time.perf_counter_ns
    for index in range(count):
        started = clock()
        call(index)
        timings.append((clock() - started) / 1000.0)
    return timings


def bench_log(calls: int, workdir: Path) -> dict[str, float]:
    import jupyter_tracker as jt

    pixels = natural_images(64)
    images = [jt.Image(array) for array in pixels]
    run = jt.init(project="bench-media", mode="offline", dir=str(workdir),
                  settings={"disable_system_metrics": True, "console": "off"})
    floats = {f"m{index}": 0.1 * index for index in range(10)}
    scalar_timings = time_calls(lambda i: run.log(floats), calls)
    image_timings = time_calls(lambda i: run.log({"image": images[i % 64], "loss": 0.5}), calls)
    list_timings = time_calls(lambda i: run.log({"images": images[:8], "loss": 0.5}), calls // 4)
    construct = time_calls(lambda i: jt.Image(pixels[i % 64]), 500)
    run.finish(quiet=True)
    return {
        "log_10_floats_p50_us": statistics.median(scalar_timings),
        "log_image_p50_us": statistics.median(image_timings),
        "log_image_p99_us": percentile(image_timings, 0.99),
        "log_8_images_list_p50_us": statistics.median(list_timings),
        "image_construct_p50_us": statistics.median(construct),
    }


def bench_encoding(count: int, workdir: Path) -> dict[str, float]:
    import jupyter_tracker as jt
    from jupyter_tracker.media.png import encode_png

    pixels = natural_images(count, seed=1)
    started = time.perf_counter()
    sizes = [len(encode_png(array)) for array in pixels[:50]]
    encode_ms = (time.perf_counter() - started) / 50 * 1000
    run = jt.init(project="bench-media", mode="offline", dir=str(workdir),
                  settings={"disable_system_metrics": True, "console": "off"})
    images = [jt.Image(array) for array in pixels]
    started = time.perf_counter()
    for image in images:
        run.log({"image": image})
    logged = time.perf_counter() - started
    run.flush(timeout=600)
    written = time.perf_counter() - started
    run.finish(quiet=True)
    return {
        "png_encode_ms": encode_ms,
        "png_kib": statistics.mean(sizes) / 1024,
        "writer_images_per_s": count / written,
        "log_calls_s": logged,
    }


def bench_sampler(seconds: float) -> dict[str, float]:
    from jupyter_tracker.system import SystemSampler, default_sources

    sources = default_sources()

    def sample() -> dict[str, float]:
        values: dict[str, float] = {}
        for source in sources:
            values.update(source())
        return values

    interval = 0.05  # many samples in a short time; the cost per sample is what matters
    sampler = SystemSampler(sample, lambda *_: None, interval=interval, window=15.0)
    sampler.start()
    time.sleep(seconds)
    sampler.stop(flush=False)
    per_sample_ms = sampler.cpu_seconds / max(1, sampler.samples_taken) * 1000
    return {
        "sampler_samples": sampler.samples_taken,
        "sampler_cpu_ms_per_sample": per_sample_ms,
        "sampler_core_percent_at_2s": per_sample_ms / 1000 / 2.0 * 100,
        "gpu_source": float(len(sources) > 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=5000)
    parser.add_argument("--images", type=int, default=300)
    parser.add_argument("--sampler-seconds", type=float, default=6.0)
    options = parser.parse_args()
    os.environ["WANDB_SILENT"] = "true"
    with tempfile.TemporaryDirectory() as directory:
        results = {**bench_log(options.calls, Path(directory) / "a"),
                   **bench_encoding(options.images, Path(directory) / "b"),
                   **bench_sampler(options.sampler_seconds)}
    verdict_log = "PASS" if results["log_image_p50_us"] <= TARGET_LOG_P50_US else "FAIL"
    verdict_sampler = "PASS" if results["sampler_core_percent_at_2s"] < TARGET_SAMPLER_CORE_PERCENT else "FAIL"
    rows = [
        ("log() p50, 10 floats", f"{results['log_10_floats_p50_us']:.1f} us", ""),
        ("log() p50, 256x256x3 Image + 1 float", f"{results['log_image_p50_us']:.1f} us",
         f"target <= {TARGET_LOG_P50_US:.0f} us: {verdict_log}"),
        ("log() p99, 256x256x3 Image + 1 float", f"{results['log_image_p99_us']:.1f} us", ""),
        ("log() p50, list of 8 Images", f"{results['log_8_images_list_p50_us']:.1f} us", ""),
        ("Image(array) (copies the array), p50", f"{results['image_construct_p50_us']:.1f} us", "before log()"),
        ("PNG encoding of one image", f"{results['png_encode_ms']:.2f} ms", f"{results['png_kib']:.0f} KiB each"),
        ("images encoded by the writer", f"{results['writer_images_per_s']:.0f} /s", "log() to on disk"),
        ("sampler CPU per sample", f"{results['sampler_cpu_ms_per_sample']:.3f} ms",
         f"{int(results['sampler_samples'])} samples" + (", with NVML" if results["gpu_source"] else ", no GPU")),
        ("sampler CPU at the 2 s default", f"{results['sampler_core_percent_at_2s']:.4f} % of a core",
         f"target < {TARGET_SAMPLER_CORE_PERCENT:.0f} %: {verdict_sampler}"),
    ]
    width = max(len(row[0]) for row in rows)
    for name, value, note in rows:
        print(f"{name:<{width}}  {value:>16}  {note}")
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "media-latest.json").write_text(json.dumps(
        {"results": results, "targets": {"log_image_p50": verdict_log, "sampler": verdict_sampler}}, indent=2))


if __name__ == "__main__":
    main()
