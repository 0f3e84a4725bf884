"""Reading a run log with one corrupt byte near its start against reading it intact (issue 9, item 6).

The reader must skip the damage and find the next frame in time linear in the file size: the
target is that the damaged read costs at most 1.5x the intact one. Prints the medians of several
interleaved repetitions with the load average.

    .venv/bin/python bench/bench_log_resync.py [--megabytes 18] [--repeat 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from jupyter_tracker.store import records  # noqa: E402
from jupyter_tracker.store.reader import read_run  # noqa: E402
from jupyter_tracker.store.run_dir import RUN_LOG_NAME  # noqa: E402

ROWS_PER_FRAME = 2048


def build_log(megabytes: float) -> bytes:
    """A log of history frames as the writer writes them (2,048 rows each), about ``megabytes`` long."""
    pack = records.make_packer()
    data = bytearray(records.MAGIC)
    seq, step = 1, 0
    while len(data) < megabytes * 1e6:
        batch = [(records.HISTORY, step + i, 1.7e9 + step + i, float(step + i),
                  {"loss": 1.0 / (step + i + 1), "acc": (step + i) * 1e-6, "lr": 0.1})
                 for i in range(ROWS_PER_FRAME)]
        data += records.encode_frame(seq, batch, pack)
        seq += len(batch)
        step += len(batch)
    return bytes(data)


def time_read(run_dir: Path) -> tuple[float, int]:
    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        state, _ = read_run(run_dir, warn=False)
    return time.perf_counter() - started, state.rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megabytes", type=float, default=18.0)
    parser.add_argument("--repeat", type=int, default=5)
    options = parser.parse_args()
    intact = build_log(options.megabytes)
    damaged = bytearray(intact)
    damaged[len(records.MAGIC) + 100] ^= 0xFF  # inside the first frame's payload
    with tempfile.TemporaryDirectory() as temp:
        intact_dir, damaged_dir = Path(temp, "intact"), Path(temp, "damaged")
        for folder, data in ((intact_dir, intact), (damaged_dir, bytes(damaged))):
            folder.mkdir()
            (folder / RUN_LOG_NAME).write_bytes(data)
        times: dict[str, list[float]] = {"intact": [], "damaged": []}
        rows: dict[str, int] = {}
        for _ in range(options.repeat):  # interleaved, so a burst of other load hits both alike
            for label, folder in (("intact", intact_dir), ("damaged", damaged_dir)):
                seconds, count = time_read(folder)
                times[label].append(seconds)
                rows[label] = count
    load = os.getloadavg()[0]
    print(f"run log of {len(intact) / 1e6:.1f} MB, {rows['intact']:,} rows; {options.repeat} interleaved repetitions, "
          f"load average {load:.2f} on {os.cpu_count()} CPUs")
    for label in ("intact", "damaged"):
        print(f"  read {label:8s}: median {statistics.median(times[label]):.3f} s "
              f"(min {min(times[label]):.3f}, max {max(times[label]):.3f}), {rows[label]:,} rows")
    ratio = statistics.median(times["damaged"]) / statistics.median(times["intact"])
    print(f"  damaged / intact: {ratio:.2f}x  target <= 1.5x: {'PASS' if ratio <= 1.5 else 'FAIL'}")


if __name__ == "__main__":
    main()
