"""The sync client against a real server process: live sync, outages, 429 storms, offline runs, many writers.

Every test runs on SQLite and, when ``JT_TEST_POSTGRES_DSN`` is set, on PostgreSQL (the
``server_backend`` parametrisation of the server fixtures).
"""

# ruff: noqa: F811  (the server fixtures are imported by name and used as parameters)
from __future__ import annotations

import json
import math
import os
import socket
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

import jupyter_tracker as jt
from jupyter_tracker import settings as settings_module
from jupyter_tracker.api.remote import decode_value
from jupyter_tracker.store.reader import read_run
from jupyter_tracker.sync.backoff import Backoff
from jupyter_tracker.sync.replay import sync_dirs
from jupyter_tracker.sync.sync_state import SyncState
from jupyter_tracker.sync.transport import TrackerClient
from jupyter_tracker.sync.uploader import OutageReporter, RunUpload, make_retrier
from tests.integration.server_fixtures import (  # noqa: F401  (fixtures)
    ServerProcess,
    isolated_environment,
    online,
    server,
    server_backend,
    server_factory,
)

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]


def wait_until(condition: Callable[[], Any], timeout: float = 30.0, interval: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout} s")


# reading the server's copy (waiting out the rate limit where a test set a low one) -----------------------
def get_json(server: ServerProcess, path: str, params: dict[str, Any] | None = None) -> Any:
    with server.client() as client:
        while True:
            response = client.get(path, params=params)
            if response.status_code != 429:
                response.raise_for_status()
                return decode_value(response.json())
            time.sleep(float(response.headers.get("Retry-After", "1")))


def server_run(server: ServerProcess, project: str, run_id: str, entity: str = "alice") -> dict[str, Any]:
    return get_json(server, f"/api/v1/runs/{entity}/{project}/{run_id}")


def server_applied(server: ServerProcess, project: str, run_id: str) -> int:
    with server.client() as client:
        response = client.get(f"/api/v1/runs/alice/{project}/{run_id}")
        return int(response.json().get("applied_seq") or 0) if response.status_code == 200 else 0


def server_history(server: ServerProcess, project: str, run_id: str, entity: str = "alice") -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    min_step: int | None = 0
    while min_step is not None:
        page = get_json(
            server, f"/api/v1/runs/{entity}/{project}/{run_id}/scan_history", {"min_step": min_step, "page_size": 1000}
        )
        rows.extend(page["rows"])
        min_step = page["next_min_step"]
    return rows


def server_files(server: ServerProcess, project: str, run_id: str) -> list[dict[str, Any]]:
    return sorted(get_json(server, f"/api/v1/runs/alice/{project}/{run_id}/files"), key=lambda item: item["name"])


def local_history(run_dir: str | Path) -> list[dict[str, Any]]:
    _, rows = read_run(Path(run_dir), warn=False, keep_history=True)
    return rows


def same_value(left: Any, right: Any) -> bool:
    if isinstance(left, float) and isinstance(right, float) and math.isnan(left) and math.isnan(right):
        return True
    if isinstance(left, dict) and isinstance(right, dict):
        return left.keys() == right.keys() and all(same_value(left[key], right[key]) for key in left)
    if isinstance(left, (list, tuple)) and isinstance(right, (list, tuple)):
        return len(left) == len(right) and all(same_value(a, b) for a, b in zip(left, right, strict=True))
    return bool(left == right)


def assert_rows_equal(local: list[dict[str, Any]], remote: list[dict[str, Any]], drop: tuple[str, ...] = ()) -> None:
    assert len(remote) == len(local), f"server has {len(remote)} rows, the run log {len(local)}"
    for mine, theirs in zip(local, remote, strict=True):
        mine = {key: value for key, value in mine.items() if key not in drop}
        theirs = {key: value for key, value in theirs.items() if key not in drop}
        assert same_value(mine, theirs), (mine, theirs)


# live sync -----------------------------------------------------------------------------------------------
def test_a_run_synced_while_logging_matches_the_local_log_point_for_point(
    server: ServerProcess, tmp_path: Path
) -> None:
    run = jt.init(project="live", dir=tmp_path, config={"lr": 0.01, "opt": {"name": "adam"}}, settings=online(server))
    for step in range(1500):
        run.log({"loss": 1.0 / (step + 1), "acc": step / 1500, "note": f"s{step}" if step % 100 == 0 else None})
    run.log({"odd": float("nan"), "big": float("inf"), "small": float("-inf")})
    # visible on the server while the run is still logging
    wait_until(lambda: server_applied(server, "live", run.id) > 1000)
    assert run.state == "running"
    for step in range(1500):
        run.log({"loss": 0.5, "val/acc": step * 0.001}, commit=step % 2 == 0)
    run.summary["best"] = 0.99
    run.finish()
    assert SyncState.load(Path(run.dir)).complete
    local = local_history(run.dir)
    assert_rows_equal(local, server_history(server, "live", run.id))
    remote = server_run(server, "live", run.id)
    state, _ = read_run(Path(run.dir), warn=False)
    assert remote["applied_seq"] == state.last_seq
    assert remote["state"] == "finished"
    assert remote["config"]["lr"] == 0.01
    assert remote["summary"]["best"] == 0.99


def test_the_server_killed_mid_sync_and_restarted_ends_complete_without_duplicates(
    server: ServerProcess, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = jt.init(project="outage", dir=tmp_path, settings=online(server))
    step = 0

    def log_some(count: int) -> None:
        nonlocal step
        for _ in range(count):
            run.log({"loss": 1.0 / (step + 1), "step_copy": step})
            step += 1

    log_some(2000)
    wait_until(lambda: server_applied(server, "outage", run.id) > 0)
    log_some(20_000)  # a batch in flight or about to be when the server dies
    server.kill()
    log_some(2000)
    time.sleep(1.0)  # the thread meets the outage and backs off
    server.start()
    log_some(2000)
    run.finish()
    assert SyncState.load(Path(run.dir)).complete
    remote = server_history(server, "outage", run.id)
    steps = [row["_step"] for row in remote]
    assert steps == sorted(set(steps)), "a point was applied twice"
    assert_rows_equal(local_history(run.dir), remote)
    err = capsys.readouterr().err
    assert err.count("network failure, retrying") == 1
    assert server.api_key not in err


def test_a_429_storm_ends_complete_and_retry_after_is_honoured(
    server_factory: Callable[..., ServerProcess], tmp_path: Path
) -> None:
    server = server_factory(rate_limit="20/minute")
    run = jt.init(project="storm", dir=tmp_path, mode="offline", settings={"console": "off"})
    for step in range(800):
        run.log({"loss": 1.0 / (step + 1)})
    run.finish()

    exchanges: list[tuple[float, int, float | None]] = []

    class Recording(httpx.HTTPTransport):
        def handle_request(self, request: httpx.Request) -> httpx.Response:
            sent = time.monotonic()
            response = super().handle_request(request)
            retry_after = response.headers.get("Retry-After")
            exchanges.append((sent, response.status_code, float(retry_after) if retry_after else None))
            return response

    client = TrackerClient(server.base_url, server.api_key, transport=Recording())
    stop = threading.Event()
    reporter = OutageReporter(run.id)
    upload = RunUpload(
        Path(run.dir),
        client,
        {"id": run.id, "project": "storm"},
        entity="alice",
        retrier=make_retrier(reporter, stop, backoff_factory=lambda: Backoff(base=0.2, cap=5.0)),
        max_batch_records=30,
    )
    upload.upload_all()
    client.close()
    limited = [index for index, (_, status, _) in enumerate(exchanges) if status == 429]
    assert limited, "the server never said 429: the storm did not happen"
    for index in limited:
        sent, _, retry_after = exchanges[index]
        assert retry_after is not None
        if index + 1 < len(exchanges):
            assert exchanges[index + 1][0] >= sent + retry_after - 0.05, "retried before Retry-After"
    assert reporter.failures == len(limited)
    assert_rows_equal(local_history(run.dir), server_history(server, "storm", run.id))


def test_fifteen_processes_on_one_key_under_the_default_limit_all_end_complete(
    server_factory: Callable[..., ServerProcess], tmp_path: Path
) -> None:
    server = server_factory(rate_limit="200/minute")
    script = textwrap.dedent("""
        import sys, time
        import jupyter_tracker as jt
        run = jt.init(project="crowd", config={"worker": int(sys.argv[1])})
        for step in range(400):
            run.log({"loss": 1.0 / (step + 1), "worker": int(sys.argv[1])})
            if step % 40 == 0:
                time.sleep(0.6)
        run.finish()
        print("RUN", run.id, run.dir, flush=True)
    """)
    environment = dict(
        os.environ,
        WANDB_BASE_URL=server.base_url,
        WANDB_API_KEY=server.api_key,
        WANDB_CONSOLE="off",
        JUPYTER_TRACKER_SYNC_UNSYNCED_ON_INIT="false",
        PYTHONPATH=str(ROOT),
    )
    processes = []
    for worker in range(15):
        environment["WANDB_DIR"] = str(tmp_path / f"worker-{worker}")
        processes.append(
            subprocess.Popen(
                [sys.executable, "-c", script, str(worker)],
                env=dict(environment),
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
    outputs = [process.communicate(timeout=240) for process in processes]
    for process, (_out, err) in zip(processes, outputs, strict=True):
        assert process.returncode == 0, err
        assert "network failure" not in err, "a process was rate limited or lost the server"
    for out, _ in outputs:
        run_id, run_dir = out.split("RUN ", 1)[1].split()[:2]
        state, _ = read_run(Path(run_dir), warn=False)
        assert server_run(server, "crowd", run_id)["applied_seq"] == state.last_seq
        assert len(server_history(server, "crowd", run_id)) == 400
        assert SyncState.load(Path(run_dir)).complete
    assert " 429 " not in server.log_text()


# offline runs and `jupyter-tracker sync` -----------------------------------------------------------------
def train(run: Any) -> None:
    """The same training, for the offline and the live run."""
    run.config.update({"lr": 0.003, "layers": [64, 32], "opt": {"name": "sgd", "momentum": 0.9}})
    run.define_metric("val_acc", step_metric="epoch", summary="max")
    for step in range(300):
        row: dict[str, Any] = {"loss": 1.0 / (step + 1), "lr": 0.003}
        if step % 50 == 0:
            row.update({"epoch": step // 50, "val_acc": step / 300, "tag": f"epoch-{step // 50}"})
        if step == 7:
            row.update({"weird": float("nan"), "huge": float("inf")})
        run.log(row)
    run.summary["final_note"] = "done"
    Path(run.dir, "files", "model.txt").write_text("weights\n")
    Path(run.dir, "files", "scratch.tmp").write_text("never uploaded\n")


def comparable_run(run: dict[str, Any]) -> dict[str, Any]:
    keep = ("state", "exit_code", "config", "summary", "group", "tags", "job_type", "notes")
    return {key: run.get(key) for key in keep}


def test_an_offline_run_synced_later_equals_the_same_run_synced_live(server: ServerProcess, tmp_path: Path) -> None:
    offline = jt.init(
        project="twins",
        dir=tmp_path / "offline",
        mode="offline",
        settings={"console": "off", "ignore_globs": ["*.tmp"]},
    )
    train(offline)
    offline.finish()
    assert not SyncState.exists(Path(offline.dir)), "an offline run recorded a sync"
    live = jt.init(project="twins", dir=tmp_path / "live", settings=online(server, ignore_globs=["*.tmp"]))
    train(live)
    live.finish()
    settings = settings_module.resolve(
        {"base_url": server.base_url, "api_key": server.api_key, "ignore_globs": ["*.tmp"]}
    )
    (outcome,) = sync_dirs([Path(offline.dir)], settings, show_progress=False)
    assert outcome.error is None and outcome.records_sent > 0
    later_run = server_run(server, "twins", offline.id)
    live_run = server_run(server, "twins", live.id)
    assert same_value(comparable_run(later_run), comparable_run(live_run))
    volatile = ("_timestamp", "_runtime")
    assert_rows_equal(server_history(server, "twins", live.id), server_history(server, "twins", offline.id), volatile)
    assert_rows_equal(local_history(offline.dir), server_history(server, "twins", offline.id))
    names = [item["name"] for item in server_files(server, "twins", offline.id)]
    assert names == [item["name"] for item in server_files(server, "twins", live.id)]
    assert "model.txt" in names and "scratch.tmp" not in names


def run_cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from jupyter_tracker.cli import main; main()", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_sync_twice_changes_nothing_and_resumes_from_the_server(server: ServerProcess, tmp_path: Path) -> None:
    run = jt.init(project="again", dir=tmp_path, mode="offline", settings={"console": "off"})
    train(run)
    run.finish()
    environment = dict(os.environ, PYTHONPATH=str(ROOT))
    first = run_cli("sync", run.dir, "--host", server.base_url, "--key", server.api_key, env=environment)
    assert first.returncode == 0, first.stderr
    before = (
        server_run(server, "again", run.id),
        server_history(server, "again", run.id),
        server_files(server, "again", run.id),
    )
    second = run_cli("sync", run.dir, "--host", server.base_url, "--key", server.api_key, env=environment)
    assert second.returncode == 0, second.stderr
    assert "0 records and 0 files sent" in second.stdout
    after = (
        server_run(server, "again", run.id),
        server_history(server, "again", run.id),
        server_files(server, "again", run.id),
    )
    assert same_value(before, after)
    assert server.api_key not in first.stdout + first.stderr + second.stdout + second.stderr
    # `--all` finds nothing left to do
    environment.update(WANDB_DIR=str(tmp_path), WANDB_BASE_URL=server.base_url, WANDB_API_KEY=server.api_key)
    everything = run_cli("sync", "--all", env=environment)
    assert everything.returncode == 0, everything.stderr
    assert "already on the server" in everything.stdout


def test_sync_resumes_where_the_server_stopped(server: ServerProcess, tmp_path: Path) -> None:
    run = jt.init(project="halfway", dir=tmp_path, mode="offline", settings={"console": "off"})
    for step in range(1000):
        run.log({"loss": float(step)})
    run.finish()
    settings = settings_module.resolve({"base_url": server.base_url, "api_key": server.api_key})
    # the first 400 records reach the server, then the upload is cut short
    with TrackerClient(server.base_url, server.api_key) as client:
        upload = RunUpload(
            Path(run.dir), client, {"id": run.id, "project": "halfway"}, entity="alice", max_batch_records=400
        )
        upload.connect()
        upload._fill(final=True)
        batch = [upload._pending[index].raw for index in range(400)]
        from jupyter_tracker.sync.log_tail import encode_batch

        client.post_records("alice", "halfway", run.id, encode_batch(1, batch))
    (outcome,) = sync_dirs([Path(run.dir)], settings, show_progress=False)
    state, _ = read_run(Path(run.dir), warn=False)
    assert outcome.records_sent == state.last_seq - 400
    assert_rows_equal(local_history(run.dir), server_history(server, "halfway", run.id))


# what never leaves the machine, and what never connects -----------------------------------------------------
def test_keys_are_absent_from_run_directories_and_messages(
    server: ServerProcess, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = jt.init(project="secret", dir=tmp_path, settings=online(server, console="wrap"))
    train(run)
    print("hello from the training loop")
    run.finish()
    secret_part = server.api_key.rsplit("_", 1)[-1]
    for path in Path(run.dir).rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert server.api_key.encode() not in data, path
            assert secret_part.encode() not in data, path
    output = capsys.readouterr()
    assert server.api_key not in output.out + output.err
    assert SyncState.load(Path(run.dir)).complete


OFFLINE_SCRIPT = textwrap.dedent("""
    import sys
    import jupyter_tracker as jt
    run = jt.init(project="quiet", mode=sys.argv[1])
    for step in range(200):
        run.log({"loss": 1.0 / (step + 1)})
    run.finish()
    print("MODULES", "httpx" in sys.modules, "jupyter_tracker.sync" in sys.modules)
""")


@pytest.mark.parametrize("mode", ["offline", "dryrun"])
def test_offline_modes_open_no_connection(tmp_path: Path, mode: str) -> None:
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    listener.setblocking(False)
    port = listener.getsockname()[1]
    environment = dict(
        os.environ,
        WANDB_BASE_URL=f"http://127.0.0.1:{port}",
        WANDB_API_KEY="jt_x_never_used",
        WANDB_DIR=str(tmp_path),
        PYTHONPATH=str(ROOT),
        WANDB_MODE=mode,
    )
    completed = subprocess.run(
        [sys.executable, "-c", OFFLINE_SCRIPT, mode], env=environment, capture_output=True, text=True, timeout=120
    )
    assert completed.returncode == 0, completed.stderr
    assert "MODULES False False" in completed.stdout
    with pytest.raises(BlockingIOError):
        listener.accept()
    listener.close()
    (run_dir,) = (tmp_path / "jupyter_tracker").glob("run-*")
    assert not (run_dir / "sync.json").exists()


# the backlog: runs left unsynced are uploaded at the next online init ---------------------------------------
def test_a_run_left_unsynced_by_a_crash_is_synced_at_the_next_init(server: ServerProcess, tmp_path: Path) -> None:
    crashing = textwrap.dedent("""
        import os
        import jupyter_tracker as jt
        run = jt.init(project="backlog")
        for step in range(500):
            run.log({"loss": float(step)})
        run.flush()
        print("RUN", run.id, flush=True)
        os._exit(1)  # killed before the first upload and before finish()
    """)
    environment = dict(
        os.environ,
        WANDB_BASE_URL=server.base_url,
        WANDB_API_KEY=server.api_key,
        WANDB_DIR=str(tmp_path),
        JUPYTER_TRACKER_SYNC_INTERVAL="3600",
        WANDB_CONSOLE="off",
        PYTHONPATH=str(ROOT),
    )
    completed = subprocess.run(
        [sys.executable, "-c", crashing], env=environment, capture_output=True, text=True, timeout=120
    )
    crashed_id = completed.stdout.split("RUN ", 1)[1].split()[0]
    assert server_applied(server, "backlog", crashed_id) == 0
    run = jt.init(project="backlog", dir=tmp_path, settings=online(server, sync_unsynced_on_init=True))
    run.log({"loss": 0.0})
    (crashed_dir,) = (tmp_path / "jupyter_tracker").glob(f"run-*-{crashed_id}")
    state, _ = read_run(crashed_dir, warn=False)
    wait_until(lambda: server_applied(server, "backlog", crashed_id) == state.last_seq, timeout=60)
    run.finish()
    assert len(server_history(server, "backlog", crashed_id)) == 500


def test_an_unreachable_server_leaves_the_run_logging_locally(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # nothing listens at this address: the thread retries in the background, logging goes on
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    listener.close()
    run = jt.init(
        project="lonely",
        dir=tmp_path,
        settings={
            "base_url": f"http://127.0.0.1:{port}",
            "api_key": "jt_nobody_nothing",
            "sync_interval": 0.1,
            "sync_timeout": 1.0,
            "console": "off",
            "sync_unsynced_on_init": False,
        },
    )
    started = time.perf_counter()
    for step in range(5000):
        run.log({"loss": float(step)})
    assert time.perf_counter() - started < 5.0
    run.finish()
    state, _ = read_run(Path(run.dir), warn=False)
    assert state.rows == 5000 and state.state == "finished"
    err = capsys.readouterr()
    assert "network failure, retrying" in err.err
    assert "jupyter-tracker sync" in err.out
    assert json.loads((Path(run.dir) / "sync.json").read_text())["complete"] is False
