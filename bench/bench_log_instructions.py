"""CPU instructions per logged step, counted by valgrind: a figure other load on the machine does not move.

    .venv-bench/bin/python bench/bench_log_instructions.py                       # scalars10 and scalar1
    .venv-bench/bin/python bench/bench_log_instructions.py --baseline /tmp/base  # and another version

On a shared 2-core machine the wall-clock figures of ``bench_log.py`` swing by a factor of two
between runs; the number of instructions a step costs does not. Each library logs the workload's
rows under ``valgrind --tool=callgrind`` twice, for ``--steps`` and for ``--steps`` plus
``--extra`` steps (same imports, same init, same finish), and the difference over ``--extra`` is
the cost of one step: the row's building and ``log()`` in the loop, and every thread's share of
the work (packing, framing, the fsync'd finish). The share of raw-msgpack is raw-msgpack's count
over ours, the same ratio the wall-clock target takes.

Valgrind runs every thread on one core, so a background thread does its work at other moments
than it would natively (jupyter_tracker's writer takes records the loop did not pack within its
interval, which natively it rarely does); the system-metrics sampler is off, its work follows the
wall clock, which valgrind slows some fifty times.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402
from common import BASELINE, WORKLOADS  # noqa: E402

REFERENCE = "raw-msgpack"


def child(library: str, workload_name: str, steps: int) -> None:
    """Logs ``steps`` rows of the workload through one library: what valgrind counts."""
    workload = WORKLOADS[workload_name]
    adapter = common.load_adapter(library)
    lib = adapter.load()
    make = common.row_maker(workload.keys)
    with tempfile.TemporaryDirectory() as workdir:
        handle = adapter.start(lib, Path(workdir), "bench", f"{library}-{workload_name}")
        log = adapter.logger(handle)
        log(make(0))
        for step in range(1, steps + 1):
            log(make(step))
        adapter.finish(handle)


def count(python: str, library: str, workload: str, steps: int) -> int:
    env = dict(os.environ, PYTHONHASHSEED="0", JUPYTER_TRACKER_DISABLE_SYSTEM_METRICS="1",
               JUPYTER_TRACKER_HOME=tempfile.mkdtemp(prefix="jt-instr-"))
    command = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", python, __file__,
               "--child", library, workload, str(steps)]
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    found = re.search(r"Collected : (\d+)", done.stderr)
    if done.returncode or not found:
        raise RuntimeError(f"{library} {workload}: valgrind failed ({done.returncode}): {done.stderr[-1500:]}")
    return int(found.group(1))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workloads", nargs="+", choices=["scalars10", "scalar1"], default=["scalars10", "scalar1"])
    parser.add_argument("--steps", type=int, default=2000, help="steps of the shorter run (default 2,000)")
    parser.add_argument("--extra", type=int, default=10_000, help="steps the longer run adds (default 10,000)")
    parser.add_argument("--baseline", type=Path, default=None, metavar="DIR",
                        help="a directory holding another version's jupyter_tracker package, counted beside ours")
    parser.add_argument("--python", default=None, help="interpreter (default: .venv-bench if built)")
    parser.add_argument("--child", nargs=3, metavar=("LIB", "WORKLOAD", "STEPS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], args.child[1], int(args.child[2]))
        return 0
    if shutil.which("valgrind") is None:
        print("valgrind is not installed: nothing to count", file=sys.stderr)
        return 2
    python = args.python or str(common.ROOT / ".venv-bench" / "bin" / "python")
    if not Path(python).exists():
        python = sys.executable
    libraries = [REFERENCE, "jupyter_tracker"]
    if args.baseline is not None:
        os.environ["BENCH_BASELINE_DIR"] = str(args.baseline.resolve())
        libraries.append(BASELINE)
    print(f"instructions per step: (count at {args.steps + args.extra:,} steps - count at {args.steps:,}) / {args.extra:,}")
    print(f"{'workload':10} | {'library':20} | {'instructions/step':>17} | share of {REFERENCE}")
    for workload in args.workloads:
        per_step = {}
        for library in libraries:
            short = count(python, library, workload, args.steps)
            long = count(python, library, workload, args.steps + args.extra)
            per_step[library] = (long - short) / args.extra
        for library, value in per_step.items():
            print(f"{workload:10} | {library:20} | {value:17,.0f} | {per_step[REFERENCE] / value:.0%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
