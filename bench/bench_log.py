"""Logging benchmark: jupyter_tracker against wandb (offline), mlflow (local), trackio (local) and
tensorboardX, on the same workloads in the same invocation.

    .venv-bench/bin/python bench/bench_log.py            # everything (see bench/README.md)
    python bench/bench_log.py --libs jupyter_tracker     # ours only
    python bench/bench_log.py --scale 0.1                # a quick smoke run (targets not judged)
    git archive HEAD jupyter_tracker | tar -x -C /tmp/base
    python bench/bench_log.py --baseline /tmp/base       # before/after: HEAD's version in the same rounds

Each (library, workload) pair runs in a fresh child process (its own imports, its own peak RSS);
``import`` time is measured in fresh processes too, best of 5. The table goes to stdout and
everything, raw figures included, to ``bench/out/bench-<time>.json`` and ``bench/out/latest.json``.
A library that cannot be imported, crashes or times out is reported as such, never as a number.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402
from common import BASELINE, LIBRARIES, OURS, PEER_WORKLOADS, RSS_WORKLOADS, WORKLOADS  # noqa: E402

#: target for jupyter_tracker: (label, workload or "import", field, comparison, bound, unit)
TARGETS = (
    ("log() p50, 10 scalars", "scalars10", "log_p50_us", "<=", 5.0, "us"),
    ("log() p99, 10 scalars", "scalars10", "log_p99_us", "<=", 50.0, "us"),
    ("points/s durable (incl. fsync'd finish), 10 scalars x 20k", "scalars10", "points_per_s", ">=", 1_000_000, "pts/s"),
    ("points/s durable (incl. fsync'd finish), 10 scalars x 100k", "rss10", "points_per_s", ">=", 1_000_000, "pts/s"),
    ("finish() after 100,000 steps (1 scalar)", "scalar1", "finish_s", "<=", 0.2, "s"),
    ("finish() after 100,000 steps (10 scalars)", "rss10", "finish_s", "<=", 0.2, "s"),
    ("RSS growth, 1M points as 100k x 10", "rss10", "rss_growth_mb", "<=", 50.0, "MB"),
    ("RSS growth, 1M points as 1M x 1", "rss1", "rss_growth_mb", "<=", 50.0, "MB"),
    ("import jupyter_tracker (best of 5)", "import", "import_best_ms", "<=", 150.0, "ms"),
)
#: jupyter_tracker's durable points/s as a share of a raw reference measured in the same run (issue 14):
#: (label, workload, reference library, lowest share)
RAW_TARGETS = (
    ("points/s vs raw msgpack rows, 1 scalar", "scalar1", "raw-msgpack", 0.60),
    ("points/s vs raw msgpack rows, 10 scalars", "scalars10", "raw-msgpack", 0.70),
)
#: the loop's mean log() time may be at most this many times its p50 (the writer thread must not
#: hold the GIL long enough to stall the training loop)
MEAN_OVER_P50 = 2.0
#: figures shown for information next to the targets (no bound in the issue)
INFO = (
    ("points/s durable, 1 scalar x 100k", "scalar1", "points_per_s", "pts/s"),
    ("points/s durable, 1 scalar x 1M", "rss1", "points_per_s", "pts/s"),
    ("log() p50 / p99, 1 scalar", "scalar1", "log_p50_us", "us"),
)
#: modules that ``import jupyter_tracker`` must not load (issue 2, must-have 1)
HEAVY_MODULES = ("pandas", "plotly", "ipywidgets", "anywidget", "fastapi", "uvicorn", "httpx",
                 "sqlalchemy", "starlette", "IPython", "torch", "pyarrow", "msgpack_numpy")

#: a (library, workload) run longer than this is not repeated: its figures already span minutes
REPEAT_ONLY_UNDER_S = 60.0

ENV_FOR_CHILDREN = {
    "WANDB_MODE": "offline",
    "WANDB_SILENT": "true",
    "WANDB_DISABLE_CODE": "true",
    "HF_HUB_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "GRADIO_ANALYTICS_ENABLED": "False",
    "DO_NOT_TRACK": "1",
    "MLFLOW_ENABLE_ASYNC_LOGGING": "false",
    "PYTHONWARNINGS": "ignore",
}


def default_python() -> str:
    bench_venv = common.ROOT / ".venv-bench" / "bin" / "python"
    return str(bench_venv) if bench_venv.exists() else sys.executable


def child_env(workdir: Path) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("WANDB_", "MLFLOW_", "TRACKIO_", "JUPYTER_TRACKER_"))}
    env.update(ENV_FOR_CHILDREN)
    env.update(
        WANDB_DIR=str(workdir),
        WANDB_CONFIG_DIR=str(workdir / "wandb-config"),
        WANDB_CACHE_DIR=str(workdir / "wandb-cache"),
        WANDB_DATA_DIR=str(workdir / "wandb-data"),
        TRACKIO_DIR=str(workdir / "trackio"),
        HF_HOME=str(workdir / "hf"),
        MPLCONFIGDIR=str(workdir / "mpl"),
        JUPYTER_TRACKER_HOME=str(workdir / "jt-home"),
    )
    return env


# child side ------------------------------------------------------------------------------------
def child_main(library: str, workload: str, result_path: Path, workdir: Path) -> int:
    workdir.mkdir(parents=True, exist_ok=True)
    os.chdir(workdir)  # anything a library writes to the working directory lands in the temp dir
    try:
        result = common.run_child(library, workload, workdir)
        result["status"] = "ok"
    except ImportError as error:
        result = {"library": library, "workload": workload, "status": "not installed",
                  "error": f"{type(error).__name__}: {error}"}
    except BaseException as error:  # noqa: BLE001 - any failure is reported, never a number
        result = {"library": library, "workload": workload, "status": "crashed",
                  "error": f"{type(error).__name__}: {error}", "traceback": traceback.format_exc()[-4000:]}
    common.write_json(result, result_path)
    return 0


def import_child_main(library: str) -> int:
    adapter = common.load_adapter(library)
    start = time.perf_counter()
    try:
        lib = adapter.load()
    except ImportError as error:
        print(json.dumps({"status": "not installed", "error": f"{type(error).__name__}: {error}"}))
        return 0
    elapsed = time.perf_counter() - start
    heavy = sorted(name for name in HEAVY_MODULES if name in sys.modules)
    print(json.dumps({"status": "ok", "import_s": elapsed, "heavy_modules": heavy,
                      "numpy_loaded": "numpy" in sys.modules, "modules": len(sys.modules),
                      "version": str(getattr(lib, "__version__", "?"))}))
    return 0


# parent side -----------------------------------------------------------------------------------
def run_pair(python: str, library: str, workload: str, timeout: float, scale: float, keep: bool,
             budget: float) -> dict[str, Any]:
    workdir = Path(tempfile.mkdtemp(prefix=f"jtbench-{library}-{workload}-"))
    result_path = workdir / "result.json"
    env = child_env(workdir)
    if scale != 1.0:
        env["BENCH_SCALE"] = str(scale)
    env["BENCH_BUDGET"] = str(budget)
    command = [python, str(Path(__file__).resolve()), "--child", library, workload, str(result_path), str(workdir)]
    started = time.perf_counter()
    try:
        proc = subprocess.run(command, env=env, capture_output=True, text=True, timeout=timeout, cwd=workdir)
        rc: int | None = proc.returncode
        stderr = proc.stderr
    except subprocess.TimeoutExpired as expired:
        rc = None
        stderr = (expired.stderr.decode(errors="replace") if isinstance(expired.stderr, bytes)
                  else (expired.stderr or ""))
    wall = time.perf_counter() - started
    if result_path.exists():
        result = json.loads(result_path.read_text())
    elif rc is None:
        result = {"library": library, "workload": workload, "status": f"timed out after {timeout:.0f} s",
                  "stderr_tail": stderr[-2000:]}
    else:
        result = {"library": library, "workload": workload, "status": f"crashed (exit {rc})",
                  "error": stderr[-2000:]}
    result["child_wall_s"] = wall
    if not keep:
        shutil.rmtree(workdir, ignore_errors=True)
    else:
        result["workdir"] = str(workdir)
    return result


def measure_import(python: str, library: str, repeats: int) -> dict[str, Any]:
    times = []
    last: dict[str, Any] = {}
    for _ in range(repeats):
        workdir = Path(tempfile.mkdtemp(prefix=f"jtbench-import-{library}-"))
        try:
            proc = subprocess.run([python, str(Path(__file__).resolve()), "--import-child", library],
                                  env=child_env(workdir), capture_output=True, text=True, timeout=300, cwd=workdir)
        except subprocess.TimeoutExpired:
            return {"status": "timed out", "library": library}
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
        lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
        if proc.returncode != 0 or not lines:
            return {"status": f"crashed (exit {proc.returncode})", "error": proc.stderr[-2000:], "library": library}
        last = json.loads(lines[-1])
        if last["status"] != "ok":
            return {**last, "library": library}
        times.append(last["import_s"])
    return {**last, "library": library, "import_times_s": times, "import_best_ms": min(times) * 1000}


# formatting ------------------------------------------------------------------------------------
def fmt_num(value: Any, unit: str = "") -> str:
    if value is None:
        return "-"
    if unit == "pts/s":
        return f"{value:,.0f}"
    if unit == "s":
        return f"{value:.3f}"
    if unit in ("us", "ms", "MB"):
        return f"{value:.1f}" if value < 1000 else f"{value:,.0f}"
    return str(value)


def ratio(ours: float | None, peer: float | None, higher_is_better: bool) -> str:
    if ours is None or peer is None or ours <= 0 or peer <= 0:
        return "-"
    value = ours / peer if higher_is_better else peer / ours
    return f"{value:,.1f}x" if value >= 10 else f"{value:.2f}x"


def table(headers: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows, strict=False)]
    lines = [" | ".join(str(cell).ljust(width) for cell, width in zip(headers, widths, strict=False)),
             "-+-".join("-" * width for width in widths)]
    lines += [" | ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=False)) for row in rows]
    return "\n".join(lines)


COLUMNS = (
    ("import s", "import_s", "s"), ("init s", "init_s", "s"), ("log p50 us", "log_p50_us", "us"),
    ("log p99 us", "log_p99_us", "us"), ("log mean us", "log_mean_us", "us"), ("points/s (incl. finish)", "points_per_s", "pts/s"),
    ("CPU us/step (all threads)", "cpu_per_step_us", "us"),
    ("finish s", "finish_s", "s"), ("peak RSS MB", "peak_rss_mb", "MB"), ("RSS growth MB", "rss_growth_mb", "MB"),
)
RATIO_COLUMNS = (
    ("log p50", "log_p50_us", False), ("log p99", "log_p99_us", False), ("log mean", "log_mean_us", False),
    ("points/s", "points_per_s", True), ("CPU/step", "cpu_per_step_us", False),
    ("init", "init_s", False), ("finish", "finish_s", False), ("peak RSS", "peak_rss_mb", False),
)


def report(results: dict[str, dict[str, dict[str, Any]]], imports: dict[str, dict[str, Any]], scale: float,
           budget: float) -> str:
    out: list[str] = []
    for workload_name, by_lib in results.items():
        workload = WORKLOADS[workload_name]
        steps = max(1, int(workload.steps * scale))
        out.append(f"\n== {workload.title}" + (f"  [scaled to {steps:,} steps]" if scale != 1 else ""))
        rows = []
        notes: list[str] = []
        for library, result in by_lib.items():
            if result.get("status") != "ok":
                error = first_line(result.get("error", ""))
                rows.append([library, "-", result.get("status", "?") + (": " + error[:90] if error else "")]
                            + [""] * (len(COLUMNS) - 1))
                continue
            name = library + (" *" if result.get("partial") else "")
            rows.append([name, result.get("version", "?")] + [fmt_num(result.get(key), unit) for _, key, unit in COLUMNS])
            if result.get("partial"):
                notes.append(f"* {library}: partial, {result['steps']:,} of {result['steps_planned']:,} steps within "
                             f"the {budget:.0f} s budget; its figures are over those steps (finish after them)")
        out.append(table(["library", "version"] + [title for title, _, _ in COLUMNS], rows))
        out.extend(notes)
        ours = by_lib.get(OURS, {})
        peers = [lib for lib in by_lib if lib != OURS]
        if ours.get("status") == "ok" and peers:
            out.append("jupyter_tracker vs each peer (peer / ours for times and RSS, ours / peer for points/s; "
                       ">1 = jupyter_tracker better):")
            ratio_rows = []
            for library in peers:
                peer = by_lib[library]
                if peer.get("status") != "ok":
                    ratio_rows.append([library] + ["n/a (" + peer.get("status", "?") + ")"] + [""] * (len(RATIO_COLUMNS) - 1))
                    continue
                ratio_rows.append([library + (" *" if peer.get("partial") else "")]
                                  + [ratio(ours.get(key), peer.get(key), better) for _, key, better in RATIO_COLUMNS])
            out.append(table(["vs"] + [title for title, _, _ in RATIO_COLUMNS], ratio_rows))
    if imports:
        out.append("\n== import time, fresh process, best of N (interpreter start-up excluded)")
        rows = []
        ours_ms = imports.get(OURS, {}).get("import_best_ms")
        for library, info in imports.items():
            if info.get("status") != "ok":
                rows.append([library, info.get("status", "?"), "", first_line(info.get("error", ""))])
                continue
            note = ("heavy modules: " + (", ".join(info["heavy_modules"]) or "none")
                    if library == OURS else f"ours is {ratio(ours_ms, info['import_best_ms'], False)} faster")
            rows.append([library, f"{info['import_best_ms']:.1f}", ", ".join(f"{t * 1000:.0f}" for t in info["import_times_s"]), note])
        out.append(table(["library", "best ms", "all ms", "note"], rows))
    out.append("\n== jupyter_tracker targets (issues 2 and 14)" + ("  [SCALED RUN: not judged]" if scale != 1 else ""))
    judged = [OURS] + ([BASELINE] if any(BASELINE in by_lib for by_lib in results.values()) else [])
    rows = []
    for label, workload_name, key, op, bound, unit in TARGETS:
        row = [label]
        for library in judged:
            source = imports.get(library, {}) if workload_name == "import" else results.get(workload_name, {}).get(library, {})
            value = source.get(key)
            if value is None or source.get("status") != "ok":
                verdict = "NOT RUN" if not source else f"FAIL ({source.get('status', 'no figure')})"
            elif scale != 1 and workload_name != "import":
                verdict = "(scaled)"
            else:
                verdict = "PASS" if (value <= bound if op == "<=" else value >= bound) else "FAIL"
            row += [fmt_num(value, unit) + f" {unit}" if value is not None else "-", verdict]
        rows.append(row[:2] + [f"{op} {fmt_num(bound, unit)} {unit}"] + row[2:])
    for label, workload_name, reference, share in RAW_TARGETS:
        row = [label]
        for library in judged:
            ours_run = results.get(workload_name, {}).get(library, {})
            ref_run = results.get(workload_name, {}).get(reference, {})
            if ours_run.get("status") != "ok" or ref_run.get("status") != "ok":
                row += ["-", "NOT RUN"]
                continue
            measured = ours_run["points_per_s"] / ref_run["points_per_s"]
            verdict = "(scaled)" if scale != 1 else ("PASS" if measured >= share else "FAIL")
            row += [f"{measured:.0%} of {ref_run['points_per_s']:,.0f}", verdict]
        rows.append(row[:2] + [f">= {share:.0%}"] + row[2:])
    for workload_name in ("scalars10", "scalar1"):
        row = [f"log() mean / p50, {WORKLOADS[workload_name].title}"]
        for library in judged:
            ours_run = results.get(workload_name, {}).get(library, {})
            if ours_run.get("status") != "ok":
                row += ["-", "NOT RUN"]
                continue
            measured = ours_run["log_mean_us"] / ours_run["log_p50_us"]
            verdict = "(scaled)" if scale != 1 else ("PASS" if measured <= MEAN_OVER_P50 else "FAIL")
            row += [f"{measured:.2f} ({ours_run['log_mean_us']:.2f} / {ours_run['log_p50_us']:.2f} us)", verdict]
        rows.append(row[:2] + [f"<= {MEAN_OVER_P50:.1f}"] + row[2:])
    for label, workload_name, key, unit in INFO:
        row = [label]
        for library in judged:
            source = results.get(workload_name, {}).get(library, {})
            if source.get("status") != "ok":
                row += ["-", "info"]
                continue
            value = fmt_num(source.get(key), unit) + f" {unit}"
            if key == "log_p50_us":
                value = f"{source['log_p50_us']:.1f} / {source['log_p99_us']:.1f} us"
            row += [value, "info"]
        rows.append(row[:2] + ["(no target)"] + row[2:])
    headers = ["target", "measured", "bound", "verdict"] + ([f"{BASELINE}", "verdict"] if len(judged) > 1 else [])
    out.append(table(headers, rows))
    return "\n".join(out)


def median_result(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The median of every figure over the runs that succeeded (the last run when none did)."""
    good = [run for run in runs if run.get("status") == "ok"]
    if not good:
        return runs[-1]
    combined = dict(good[-1])
    for key, value in good[-1].items():
        if isinstance(value, float) and key != "loadavg_start":
            combined[key] = statistics.median(run[key] for run in good if isinstance(run.get(key), (int, float)))
    combined["repeats"] = len(good)
    combined["repeats_points_per_s"] = [run.get("points_per_s") for run in runs]
    combined["loadavg_start"] = statistics.median(run.get("loadavg_start", 0.0) for run in good)
    return combined


def first_line(text: str) -> str:
    lines = [line for line in str(text).strip().splitlines() if line.strip()]
    return lines[-1][:160] if lines else ""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--libs", nargs="+", choices=list(LIBRARIES), default=list(LIBRARIES))
    parser.add_argument("--workloads", nargs="+", choices=list(WORKLOADS), default=None,
                        help="default: the two peer workloads for every library, the RSS ones for ours")
    parser.add_argument("--rss-all", action="store_true", help="run the 1M-point RSS workloads for the peers too")
    parser.add_argument("--python", default=None, help="interpreter of the children (default: .venv-bench if built)")
    parser.add_argument("--timeout", type=float, default=600, help="seconds allowed to one child (default 600)")
    parser.add_argument("--budget", type=float, default=240,
                        help="seconds one timed loop may run; a slower library stops there and its row is "
                             "marked partial, measured over the steps it did (0: no limit; default 240)")
    parser.add_argument("--repeat", type=int, default=3,
                        help="interleaved rounds (default 3): every (library, workload) runs once per round and "
                             "each figure is the median over the rounds; a run that failed, was partial or took "
                             f"over {REPEAT_ONLY_UNDER_S:.0f} s is not repeated")
    parser.add_argument("--scale", type=float, default=float(os.environ.get("BENCH_SCALE", "1")),
                        help="multiply every step count (smoke runs; targets are not judged)")
    parser.add_argument("--import-repeats", type=int, default=5)
    parser.add_argument("--baseline", type=Path, default=None, metavar="DIR",
                        help="a directory holding another version's jupyter_tracker package (git archive REF "
                             f"jupyter_tracker | tar -x -C DIR): measured as {BASELINE} on our workloads, in the "
                             "same interleaved rounds, with the same targets shown for it")
    parser.add_argument("--keep", action="store_true", help="keep each child's temp dir (run data) for inspection")
    parser.add_argument("--out", type=Path, default=common.OUT_DIR)
    parser.add_argument("--child", nargs=4, metavar=("LIB", "WORKLOAD", "RESULT", "WORKDIR"), help=argparse.SUPPRESS)
    parser.add_argument("--import-child", metavar="LIB", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.child:
        library, workload, result_path, workdir = args.child
        return child_main(library, workload, Path(result_path), Path(workdir))
    if args.import_child:
        return import_child_main(args.import_child)

    python = args.python or default_python()
    plan: list[tuple[str, str]] = []
    workloads = args.workloads or list(PEER_WORKLOADS) + list(RSS_WORKLOADS)
    libraries = list(args.libs)
    if args.baseline is not None:
        if not (args.baseline / "jupyter_tracker" / "__init__.py").exists():
            parser.error(f"--baseline {args.baseline}: no jupyter_tracker package there")
        os.environ["BENCH_BASELINE_DIR"] = str(args.baseline.resolve())  # inherited by the children
        libraries.insert(libraries.index(OURS) + 1 if OURS in libraries else 0, BASELINE)
    for workload in workloads:
        for library in libraries:
            if workload in RSS_WORKLOADS and library not in (OURS, BASELINE) and not (args.rss_all or args.workloads):
                continue
            plan.append((library, workload))
    print(f"python {python} ({platform.python_version()} here), {os.cpu_count()} CPUs, {platform.platform()}")
    print(f"{len(plan)} runs, each in a fresh process; timeout {args.timeout:.0f} s each", flush=True)

    started = time.time()
    tries: dict[tuple[str, str], list[dict[str, Any]]] = {pair: [] for pair in plan}
    settled: set[tuple[str, str]] = set()  # failed, partial or long: not repeated
    for round_number in range(max(1, args.repeat)):
        # interleaved: every (library, workload) once per round, so that load that comes and goes
        # on a shared machine falls on every library alike
        print(f"round {round_number + 1} of {args.repeat}", flush=True)
        for library, workload in plan:
            if (library, workload) in settled:
                continue
            print(f"  {workload:<10} {library:<16} ...", end=" ", flush=True)
            result = run_pair(python, library, workload, args.timeout, args.scale, args.keep, args.budget)
            tries[(library, workload)].append(result)
            if result.get("status") != "ok" or result.get("partial") or result["child_wall_s"] > REPEAT_ONLY_UNDER_S:
                settled.add((library, workload))
            if result.get("status") == "ok":
                print(f"p50 {result['log_p50_us']:.1f} us, mean {result['log_mean_us']:.1f} us, "
                      f"cpu {result['cpu_per_step_us']:.2f} us/step, "
                      f"{result['points_per_s']:,.0f} pts/s, finish {result['finish_s']:.3f} s "
                      f"({result['child_wall_s']:.1f} s, load {result['loadavg_end']:.1f})", flush=True)
            else:
                print(f"{result.get('status')}: {first_line(result.get('error', ''))[:120]}", flush=True)
    highest_load = 0.0
    results: dict[str, dict[str, dict[str, Any]]] = {}
    for library, workload in plan:
        runs = tries[(library, workload)]
        combined = median_result(runs)
        results.setdefault(workload, {})[library] = combined
        for run in runs:
            highest_load = max(highest_load, run.get("loadavg_start", 0), run.get("loadavg_end", 0))

    imports: dict[str, dict[str, Any]] = {}
    for library in libraries:
        ours_or_base = library in (OURS, BASELINE)
        imports[library] = measure_import(python, library, args.import_repeats if ours_or_base else min(3, args.import_repeats))

    text = report(results, imports, args.scale, args.budget)
    cpus = os.cpu_count() or 1
    if highest_load > cpus:  # the benchmark itself keeps about one CPU busy
        text += (f"\nNOTE: the 1-minute load average reached {highest_load:.1f} on {cpus} CPUs during these runs: "
                 "other processes competed for the CPU, so the figures are pessimistic; rerun on a quiet "
                 "machine (or with --repeat 3) before quoting them")
    print(text)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(started))
    payload = {"started": stamp, "python": python, "cpus": os.cpu_count(), "platform": platform.platform(),
               "scale": args.scale, "budget_s": args.budget, "repeat": args.repeat,
               "highest_loadavg": highest_load, "results": results, "imports": imports, "table": text,
               "targets": [dict(zip(("label", "workload", "field", "op", "bound", "unit"), target, strict=False)) for target in TARGETS]}
    common.write_json(payload, args.out / f"bench-{stamp}.json")
    common.write_json(payload, args.out / "latest.json")
    print(f"\nJSON: {args.out / f'bench-{stamp}.json'} (and latest.json)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
