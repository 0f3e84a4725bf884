"""Artifact deduplication benchmark: logging the same 100 MB twice stores (and uploads) it once.

For each repetition, in a fresh store: a 100 MB file is logged as artifact ``a`` (hashed and
copied into the store), logged again as ``a`` (identical content: no new version, nothing
copied), then as artifact ``b`` (a new name, the same content: nothing copied). The store's
bytes on disk are counted after each. Then an online run against a real ``jupyter-tracker
server`` (SQLite, loopback) logs ``a`` and ``b``: the bytes sent and the bytes the server holds.
Medians of ``--repeats`` repetitions are printed with the load average.

    .venv/bin/python bench/bench_artifacts.py             # 100 MB, 3 repetitions (~1 minute)
    .venv/bin/python bench/bench_artifacts.py --mb 10 --repeats 1   # smoke run
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _disk_bytes(folder: Path) -> int:
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file() and "sha256" in path.parts)


def local_round(payload: Path, work: Path) -> dict[str, float]:
    import jupyter_tracker as jt
    from jupyter_tracker.artifacts import Artifact

    store = work / "store"
    run = jt.init(project="bench", dir=store, mode="offline", settings={"console": "off", "disable_code": True,
                                                                         "disable_system_metrics": True})
    figures: dict[str, float] = {}
    for label, name in (("first", "a"), ("identical", "a"), ("other_name", "b")):
        started = time.perf_counter()
        artifact = Artifact(name, type="model")
        artifact.add_file(payload)
        run.log_artifact(artifact)
        figures[f"{label}_s"] = time.perf_counter() - started
        figures[f"{label}_version"] = int(str(artifact.version)[1:])
        figures[f"{label}_stored_mb"] = _disk_bytes(store / "jupyter_tracker" / "artifacts") / 1e6
    run.finish(quiet=True)
    return figures


def server_round(payload: Path, work: Path) -> dict[str, float]:
    import jupyter_tracker as jt
    from jupyter_tracker.artifacts import Artifact
    from tests.integration.server_fixtures import start_server

    with start_server(work / "server") as server:
        run = jt.init(project="bench", dir=work / "client", settings={
            "base_url": server.base_url, "api_key": server.api_key, "console": "off", "disable_code": True,
            "disable_system_metrics": True, "sync_unsynced_on_init": False})
        figures: dict[str, float] = {}
        for name in ("a", "b"):
            started = time.perf_counter()
            artifact = Artifact(name, type="model")
            artifact.add_file(payload)
            run.log_artifact(artifact)
            uploader = run._artifact_uploader
            uploader.wait(600)
            figures[f"{name}_logged_and_uploaded_s"] = time.perf_counter() - started
            figures[f"{name}_sent_mb"] = uploader._remote().bytes_uploaded / 1e6
        run.finish(quiet=True)
        figures["server_holds_mb"] = _disk_bytes(server.data_dir / "artifacts") / 1e6
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mb", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=3)
    options = parser.parse_args()
    os.environ["WANDB_SILENT"] = "true"
    rounds: dict[str, list[dict[str, float]]] = {"local": [], "server": []}
    with tempfile.TemporaryDirectory(prefix="jt-bench-artifacts-") as temporary:
        base = Path(temporary)
        payload = base / "weights.bin"
        with open(payload, "wb") as handle:
            for _ in range(options.mb):
                handle.write(os.urandom(1 << 20))
        os.environ["WANDB_CACHE_DIR"] = str(base / "cache")
        for repeat in range(options.repeats):  # interleaved: local, server, local, server ...
            rounds["local"].append(local_round(payload, base / f"local-{repeat}"))
            rounds["server"].append(server_round(payload, base / f"server-{repeat}"))
    load = os.getloadavg()
    print(f"artifact dedup, {options.mb} MB file, medians of {options.repeats} (load average {load[0]:.2f} "
          f"{load[1]:.2f} {load[2]:.2f}, {os.cpu_count()} CPUs)")
    for kind, results in rounds.items():
        for key in results[0]:
            value = statistics.median(result[key] for result in results)
            print(f"  {kind:6s} {key:32s} {value:10.3f}")
    local = rounds["local"][-1]
    server = rounds["server"][-1]
    stored_once = abs(local["other_name_stored_mb"] - options.mb * 1.048576) < 0.01
    sent_once = server["b_sent_mb"] == server["a_sent_mb"]
    print(f"target: the same content stored once locally ({'met' if stored_once else 'MISSED'}), "
          f"uploaded and held once by the server ({'met' if sent_once and server['server_holds_mb'] < options.mb * 1.1 else 'MISSED'})")


if __name__ == "__main__":
    main()
