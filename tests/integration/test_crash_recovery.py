"""Crashes, kills and interrupts: a run killed with SIGKILL, a script that raises, a script that never
calls ``finish``, a KeyboardInterrupt in the loop. Each child is a real Python process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
import warnings
from pathlib import Path

import pytest

from jupyter_tracker.store import records
from jupyter_tracker.store.index import RunIndex
from jupyter_tracker.store.reader import RunLogWarning, read_run
from jupyter_tracker.store.run_dir import RUN_LOG_NAME
from tests.helpers import only_run_dir, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")]

REPO = Path(__file__).resolve().parents[2]
#: a child must be done well within this; "nothing hangs at exit"
CHILD_TIMEOUT = 60


def child_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("WANDB_", "JUPYTER_TRACKER_"))}
    env.update({"WANDB_DIR": str(tmp_path), "WANDB_MODE": "offline", "WANDB_SILENT": "true",
                "PYTHONPATH": str(REPO), "PYTHONUNBUFFERED": "1", "JUPYTER_TRACKER_HOME": str(tmp_path / "home")})
    env.update(extra)
    return env


def interruptible() -> None:
    """Runs in each child before Python starts: Ctrl-C raises KeyboardInterrupt there, as in a terminal.

    A test run started in the background (``cmd &`` in a script) ignores SIGINT, children inherit
    that, and a Python started with SIGINT ignored never turns it into KeyboardInterrupt.
    """
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def run_script(tmp_path: Path, code: str, **extra: str) -> subprocess.CompletedProcess[str]:
    started = time.monotonic()
    result = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=tmp_path, env=child_env(tmp_path, **extra), preexec_fn=interruptible,
                            capture_output=True, text=True, timeout=CHILD_TIMEOUT)
    assert time.monotonic() - started < CHILD_TIMEOUT
    return result


def read_back(tmp_path: Path):
    run_dir = only_run_dir(tmp_path / "jupyter_tracker")
    return run_dir, *read_run(run_dir, keep_history=True)


# SIGKILL ---------------------------------------------------------------------------------------------
KILLED_LOOP = """
    import jupyter_tracker as jt
    run = jt.init(project="crash", id="killed1", config={"lr": 0.1})
    step = 0
    while True:
        run.log({"loss": 1.0 / (step + 1), "step_copy": step, "text": "row %d" % step})
        step += 1
        if step % 2000 == 0:
            run.flush()
            print("flushed", step, flush=True)
"""


def kill_after_flushes(tmp_path: Path, flushes: int) -> int:
    """Starts the logging loop, waits for ``flushes`` flush reports, SIGKILLs it; returns the last flushed step."""
    process = subprocess.Popen([sys.executable, "-c", textwrap.dedent(KILLED_LOOP)], cwd=tmp_path,
                               env=child_env(tmp_path), preexec_fn=interruptible, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    flushed = 0
    try:
        assert process.stdout is not None
        deadline = time.monotonic() + CHILD_TIMEOUT
        seen = 0
        while seen < flushes and time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line:
                break
            if line.startswith("flushed"):
                flushed = int(line.split()[1])
                seen += 1
        assert seen == flushes, process.stderr.read() if process.stderr else ""
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=CHILD_TIMEOUT)
        if process.stdout:
            process.stdout.close()
        if process.stderr:
            process.stderr.close()
    assert process.returncode == -signal.SIGKILL
    return flushed


def test_sigkill_mid_run_keeps_every_flushed_record(tmp_path):
    flushed = kill_after_flushes(tmp_path, flushes=5)
    run_dir, state, rows = read_back(tmp_path)  # no error, whatever the kill left
    steps = [row["_step"] for row in rows]
    assert len(steps) >= flushed, f"flushed up to {flushed}, read back {len(steps)}"
    assert steps == list(range(len(steps)))  # nothing missing, nothing duplicated, nothing reordered
    assert all(row["step_copy"] == row["_step"] and row["text"] == f"row {row['_step']}" for row in rows)
    assert state.config == {"lr": 0.1} and state.state == "running"
    index_row = RunIndex(tmp_path / "jupyter_tracker").get("killed1")
    assert index_row is not None and index_row["state"] == "crashed"


def test_the_writer_flushes_on_its_own_so_a_kill_after_one_interval_loses_nothing(tmp_path):
    code = """
        import time
        import jupyter_tracker as jt
        run = jt.init(project="crash", id="idle1")
        for step in range(10_000):
            run.log({"loss": float(step)})
        print("logged", run.step, "interval", run.settings.flush_interval, flush=True)
        time.sleep(CHILD_TIMEOUT)
    """.replace("CHILD_TIMEOUT", str(CHILD_TIMEOUT))
    process = subprocess.Popen([sys.executable, "-c", textwrap.dedent(code)], cwd=tmp_path, env=child_env(tmp_path), preexec_fn=interruptible,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        words = process.stdout.readline().split()
        assert words[:2] == ["logged", "10000"], process.stderr.read() if process.stderr else ""
        interval = float(words[3])
        started = time.monotonic()

        def all_rows_on_disk() -> bool:
            run_dirs = list((tmp_path / "jupyter_tracker").glob("run-*"))
            return bool(run_dirs) and read_run(run_dirs[0], warn=False)[0].rows == 10_000

        wait_until(all_rows_on_disk, timeout=10 * interval + 5)
        assert time.monotonic() - started < 10 * interval + 5
    finally:
        process.kill()
        process.communicate(timeout=CHILD_TIMEOUT)
    _, state, rows = read_back(tmp_path)
    assert [row["loss"] for row in rows] == [float(step) for step in range(10_000)]


def test_a_torn_tail_after_a_kill_is_skipped_and_the_run_can_resume(tmp_path):
    kill_after_flushes(tmp_path, flushes=2)
    run_dir = only_run_dir(tmp_path / "jupyter_tracker")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RunLogWarning)
        _, before = read_run(run_dir, keep_history=True)
    log_path = run_dir / RUN_LOG_NAME
    frame = records.encode_frame(10**9, [(records.HISTORY, 10**9, 0.0, 0.0, {"loss": 0.0})], records.make_packer())
    with log_path.open("ab") as handle:  # a frame torn in the middle, as a kill during write leaves it
        handle.write(frame[: len(frame) // 2])
    with pytest.warns(RunLogWarning, match="torn or corrupt tail"):
        state, after = read_run(run_dir, keep_history=True)
    assert [row["_step"] for row in after] == [row["_step"] for row in before]

    resumed = run_script(tmp_path, """
        import jupyter_tracker as jt
        run = jt.init(project="crash", id="killed1", resume="allow")
        print(run.step)
        run.log({"loss": -1.0})
        run.finish()
    """)
    assert resumed.returncode == 0, resumed.stderr
    assert int(resumed.stdout.split()[0]) == len(before)
    final_state, final_rows = read_run(run_dir, keep_history=True)
    assert final_state.problems == [] and final_state.state == "finished"
    assert [row["_step"] for row in final_rows] == list(range(len(before) + 1))
    assert final_rows[-1]["loss"] == -1.0


# exceptions and exits --------------------------------------------------------------------------------
def test_a_script_that_raises_leaves_the_run_failed_with_exit_code_1(tmp_path):
    result = run_script(tmp_path, """
        import jupyter_tracker as jt
        run = jt.init(project="crash", id="raised1")
        for step in range(100):
            jt.log({"loss": float(step)})
        raise RuntimeError("training blew up")
    """)
    assert result.returncode == 1 and "training blew up" in result.stderr
    _, state, rows = read_back(tmp_path)
    assert (state.state, state.exit_code) == ("failed", 1)
    assert len(rows) == 100
    row = RunIndex(tmp_path / "jupyter_tracker").get("raised1")
    assert (row["state"], row["exit_code"]) == ("failed", 1)


def test_a_script_that_exits_with_a_status_leaves_the_run_failed_with_that_code(tmp_path):
    result = run_script(tmp_path, """
        import sys
        import jupyter_tracker as jt
        run = jt.init(project="crash", id="exited3")
        for step in range(10):
            jt.log({"loss": float(step)})
        sys.exit(3)
    """)
    assert result.returncode == 3, result.stderr
    _, state, rows = read_back(tmp_path)
    assert (state.state, state.exit_code, len(rows)) == ("failed", 3, 10)
    row = RunIndex(tmp_path / "jupyter_tracker").get("exited3")
    assert (row["state"], row["exit_code"]) == ("failed", 3)


def test_a_script_that_never_calls_finish_is_finished_at_exit(tmp_path):
    result = run_script(tmp_path, """
        import jupyter_tracker as jt
        run = jt.init(project="crash", id="atexit1", config={"lr": 0.1})
        for step in range(1000):
            jt.log({"loss": float(step)}, commit=step % 2 == 0)
        run.summary["best"] = 3.0
    """)
    assert result.returncode == 0, result.stderr
    _, state, rows = read_back(tmp_path)
    assert (state.state, state.exit_code) == ("finished", 0)
    assert len(rows) == 501 and rows[-1]["loss"] == 999.0  # the pending step was committed too
    assert state.summary["best"] == 3.0
    row = RunIndex(tmp_path / "jupyter_tracker").get("atexit1")
    assert (row["state"], row["exit_code"]) == ("finished", 0)


def test_an_uncaught_keyboard_interrupt_marks_the_run_killed(tmp_path):
    result = run_script(tmp_path, """
        import os, signal
        import jupyter_tracker as jt
        run = jt.init(project="crash", id="ctrlc1")
        for step in range(100):
            jt.log({"loss": float(step)})
        os.kill(os.getpid(), signal.SIGINT)
        for step in range(10**9):  # the interrupt lands somewhere in here
            pass
    """)
    assert result.returncode != 0 and "KeyboardInterrupt" in result.stderr
    _, state, rows = read_back(tmp_path)
    assert (state.state, state.exit_code) == ("killed", 130)
    assert len(rows) == 100


def test_a_keyboard_interrupt_inside_the_loop_keeps_earlier_data_and_the_run_usable(tmp_path):
    result = run_script(tmp_path, """
        import os, signal
        import jupyter_tracker as jt
        run = jt.init(project="crash", id="stop1")
        step = 0
        try:
            while True:  # the notebook's stop button
                run.log({"loss": float(step)})
                step += 1
                if step == 5000:
                    os.kill(os.getpid(), signal.SIGINT)
        except KeyboardInterrupt:
            print("interrupted at", step, flush=True)
        run.log({"after": 1.0})  # re-running the next cell works
        run.finish()
    """)
    assert result.returncode == 0, result.stderr
    interrupted_at = int(result.stdout.split()[-1])
    _, state, rows = read_back(tmp_path)
    assert state.state == "finished" and state.problems == []
    steps = [row["_step"] for row in rows]
    assert steps == sorted(set(steps))
    assert len(rows) >= interrupted_at >= 5000 and rows[-1] == {**rows[-1], "after": 1.0}


@pytest.mark.parametrize("call", [
    'run.log({"a": 1.0, "b": "text"}, commit=calls % 3 != 0)',  # the general path, pending steps
    'run.log({"a": 1.0, "b": 2.0})',  # the fast path, and the rows it packs every 1,024 steps
])
def test_interrupts_landing_anywhere_in_log_never_corrupt_the_step_sequence(tmp_path, call):
    stop = tmp_path / "stop"
    # The child turns SIGINT into KeyboardInterrupt only while Run.log (or anything it calls) runs, so
    # the interrupts land at every possible point inside log() and never in the test's own loop.
    script = f"""
        import os, signal
        import jupyter_tracker as jt
        run = jt.init(project="crash", id="storm1")
        LOG_CODE = type(run).log.__code__
        interrupts = 0

        def interrupt_inside_log(signum, frame):
            global interrupts
            while frame is not None:
                if frame.f_code is LOG_CODE:
                    interrupts += 1
                    raise KeyboardInterrupt
                frame = frame.f_back

        signal.signal(signal.SIGINT, interrupt_inside_log)
        calls = 0
        print("ready", flush=True)
        while not os.path.exists({str(stop)!r}):
            try:
                {call}
            except KeyboardInterrupt:
                pass
            calls += 1
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        run.finish()
        print("interrupts", interrupts, "step", run.step, flush=True)
    """
    process = subprocess.Popen([sys.executable, "-c", textwrap.dedent(script)], cwd=tmp_path, env=child_env(tmp_path), preexec_fn=interruptible,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None and process.stdout.readline().strip() == "ready"
        deadline = time.monotonic() + 2
        while time.monotonic() < deadline and process.poll() is None:
            process.send_signal(signal.SIGINT)
            time.sleep(0.0005)
    finally:
        stop.touch()
    out, err = process.communicate(timeout=CHILD_TIMEOUT)
    assert process.returncode == 0, err
    interrupts = int(out.split()[-3])
    assert interrupts > 10, out
    _, state, rows = read_back(tmp_path)
    steps = [row["_step"] for row in rows]
    assert len(steps) == len(set(steps)) and steps == sorted(steps), "a step was written twice"
    assert state.state == "finished" and state.problems == []
    assert steps[-1] < int(out.split()[-1])


def test_a_script_that_leaves_a_run_open_exits_promptly(tmp_path):
    started = time.monotonic()
    result = run_script(tmp_path, """
        import jupyter_tracker as jt
        run = jt.init(project="crash", settings={"console": "wrap"})
        for step in range(50_000):
            run.log({"a": float(step)})
        print("done")
    """, JUPYTER_TRACKER_FLUSH_INTERVAL="5")
    assert result.returncode == 0 and result.stdout.strip() == "done", result.stderr
    assert time.monotonic() - started < 20
    _, state, rows = read_back(tmp_path)
    assert len(rows) == 50_000 and state.state == "finished"
