"""The console: WANDB_SILENT silences everything whenever it is set, output can go to a file or to
``logging``, and ``WANDB_CONSOLE=wrap`` copies stdout/stderr into ``output.log`` without changing them."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import pytest

import jupyter_tracker as jt
from jupyter_tracker import console
from jupyter_tracker.limits import LimitWarning
from jupyter_tracker.tracked_run import StepWarning
from tests.helpers import only_run_dir

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def root(store_root: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("WANDB_MODE", "offline")
    return store_root


def run_child(code: str, tmp_path: Path, **environment: str) -> subprocess.CompletedProcess[str]:
    """Runs ``code`` in a fresh interpreter with a clean WANDB_* environment and the store under tmp_path."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("WANDB_", "JUPYTER_TRACKER_"))}
    env.update({"WANDB_DIR": str(tmp_path), "WANDB_MODE": "offline", "PYTHONPATH": str(REPO),
                "JUPYTER_TRACKER_HOME": str(tmp_path / "home"), "COLUMNS": "80"})
    env.update(environment)
    tmp_path.mkdir(parents=True, exist_ok=True)
    result = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=tmp_path, env=env,
                            capture_output=True, timeout=120)
    # decoded by hand: text=True would turn tqdm's carriage returns into newlines
    return subprocess.CompletedProcess(result.args, result.returncode, result.stdout.decode(), result.stderr.decode())


NOISY_SCRIPT = """
    import os, warnings
    warnings.simplefilter("always")
    {before_import}
    import jupyter_tracker as jt
    {after_import}
    run = jt.init(project="p", config={{"lr": 0.1}})
    {after_init}
    run.log({{"a": 1.0}}, step=5, commit=True)
    run.log({{"a": 2.0}}, step=1)                      # StepWarning
    run.log({{"text": "x" * 1_000_001}})               # LimitWarning
    run.config.lr = 0.2                                # ConfigWarning
    run.finish()                                       # goodbye message
    print("kinds", sorted({{type(w).__name__ for w in run.warnings}}), flush=True)
"""


def noisy(where: str) -> str:
    parts = {"before_import": "", "after_import": "", "after_init": ""}
    parts[where] = 'os.environ["WANDB_SILENT"] = "true"'
    return NOISY_SCRIPT.format(**parts)


def test_the_console_speaks_when_not_silent(tmp_path):
    result = run_child(noisy("before_import").replace('os.environ["WANDB_SILENT"] = "true"', "pass"), tmp_path)
    assert result.returncode == 0, result.stderr
    assert "jupyter_tracker: run" in result.stdout  # start and finish banners
    for name in ("StepWarning", "LimitWarning", "ConfigWarning"):
        assert name in result.stderr


@pytest.mark.parametrize("where", ["before_import", "after_import", "after_init"])
def test_wandb_silent_silences_everything_whenever_it_is_set(tmp_path, where):
    result = run_child(noisy(where), tmp_path)
    assert result.returncode == 0, result.stderr
    expected_out = "kinds ['ConfigWarning', 'LimitWarning', 'StepWarning']\n"
    if where == "after_init":  # only the start banner came before the switch
        assert result.stdout.splitlines()[-1] + "\n" == expected_out
        assert "finished" not in result.stdout
    else:
        assert result.stdout == expected_out
    assert result.stderr == ""


def test_silent_in_process_after_init(root, monkeypatch, capsys):
    monkeypatch.setenv("WANDB_CONSOLE", "off")
    run = jt.init()
    capsys.readouterr()
    monkeypatch.setenv("WANDB_SILENT", "Yes")
    with warnings.catch_warnings(record=True) as shown:
        warnings.simplefilter("always")
        run.log({"a": 1.0}, step=3, commit=True)
        run.log({"a": 1.0}, step=1)
        console.info("hello")
        console.error("broken")
        console.warn_once("kind-x", "once")
        bar = console.progress_bar(3, "bar")
        bar.update(3)
        bar.close()
        console.progress(3, "p")(3)
        run.finish()
    assert shown == [] and [type(w) for w in run.warnings] == [StepWarning]
    assert capsys.readouterr() == ("", "")


def test_info_and_errors_go_to_stdout_and_stderr(monkeypatch, capsys):
    monkeypatch.delenv("WANDB_SILENT", raising=False)
    monkeypatch.delenv("JUPYTER_TRACKER_CONSOLE_OUTPUT", raising=False)
    console.info("hello")
    console.error("broken")
    assert capsys.readouterr() == ("jupyter_tracker: hello\n", "jupyter_tracker: broken\n")


def test_warn_once_speaks_once_per_kind_until_forgotten(monkeypatch, capsys):
    monkeypatch.delenv("WANDB_SILENT", raising=False)
    monkeypatch.delenv("JUPYTER_TRACKER_CONSOLE_OUTPUT", raising=False)
    console.forget_warned("test-kind")
    console.warn_once("test-kind", "network failure, retrying")
    console.warn_once("test-kind", "network failure, retrying")
    assert capsys.readouterr().err.count("retrying") == 1
    console.forget_warned("test-kind")
    console.warn_once("test-kind", "network failure, retrying")
    assert capsys.readouterr().err.count("retrying") == 1
    console.forget_warned("test-kind")


def test_redirect_to_a_file(root, monkeypatch, capsys, tmp_path):
    target = tmp_path / "messages.txt"
    monkeypatch.setenv("JUPYTER_TRACKER_CONSOLE_OUTPUT", f"file:{target}")
    monkeypatch.setenv("WANDB_CONSOLE", "off")
    with warnings.catch_warnings(record=True) as shown:
        warnings.simplefilter("always")
        run = jt.init()
        run.log({"a": 1.0}, step=2, commit=True)
        run.log({"a": 1.0}, step=0)
        run.finish()
    assert shown == []
    assert capsys.readouterr() == ("", "")
    text = target.read_text()
    assert "started" in text and "finished" in text and "step 0 is lower" in text
    assert all(line.startswith("jupyter_tracker: ") for line in text.splitlines())


def test_redirect_to_logging(root, monkeypatch, capsys, caplog):
    monkeypatch.setenv("JUPYTER_TRACKER_CONSOLE_OUTPUT", "logging")
    monkeypatch.setenv("WANDB_CONSOLE", "off")
    with caplog.at_level(logging.INFO, logger="jupyter_tracker"), warnings.catch_warnings(record=True) as shown:
        warnings.simplefilter("always")
        run = jt.init()
        run.log({"text": "x" * 1_000_001})
        run.finish()
    assert shown == [] and capsys.readouterr() == ("", "")
    levels = {(record.levelno, "value" in record.getMessage()) for record in caplog.records}
    assert (logging.WARNING, True) in levels
    assert any(record.levelno == logging.INFO and "finished" in record.getMessage() for record in caplog.records)
    assert [w.kind for w in run.warnings if isinstance(w, LimitWarning)] == ["value_size"]


def test_silent_beats_a_redirect(root, monkeypatch, tmp_path):
    target = tmp_path / "messages.txt"
    monkeypatch.setenv("JUPYTER_TRACKER_CONSOLE_OUTPUT", f"file:{target}")
    monkeypatch.setenv("WANDB_SILENT", "true")
    console.info("hello")
    assert not target.exists()


# output capture ------------------------------------------------------------------------------------------
TQDM_SCRIPT = """
    import sys
    {setup}
    from tqdm import tqdm
    print("plain line on stdout", flush=True)
    print("plain line on stderr", file=sys.stderr, flush=True)
    for _ in tqdm(range(50), ncols=60, mininterval=0, miniters=1, ascii=True,
                  bar_format="{{l_bar}}{{bar}}| {{n_fmt}}/{{total_fmt}}"):
        pass
    sys.stdout.write("tty=%s\\n" % sys.stdout.isatty())
    {teardown}
"""


def tqdm_script(console_mode: str | None) -> str:
    if console_mode is None:
        return TQDM_SCRIPT.format(setup="", teardown="")
    setup = f'import jupyter_tracker as jt; run = jt.init(project="p", settings={{"console": "{console_mode}"}})'
    return TQDM_SCRIPT.format(setup=setup, teardown="run.finish(quiet=True)")


def strip_banner(text: str) -> str:
    return "".join(line for line in text.splitlines(keepends=True) if not line.startswith("jupyter_tracker: "))


def test_wrap_copies_stdout_and_stderr_and_tqdm_renders_the_same(tmp_path):
    plain = run_child(tqdm_script(None), tmp_path / "plain")
    wrapped = run_child(tqdm_script("wrap"), tmp_path / "wrapped")
    assert plain.returncode == 0 and wrapped.returncode == 0, wrapped.stderr
    assert strip_banner(wrapped.stdout) == plain.stdout
    assert wrapped.stderr == plain.stderr
    assert "50/50" in plain.stderr and "\r" in plain.stderr
    log = (only_run_dir(tmp_path / "wrapped" / "jupyter_tracker") / "output.log").read_text()
    assert "plain line on stdout" in log and "plain line on stderr" in log
    assert "50/50" in log and "tty=False" in log
    assert "jupyter_tracker: " not in log  # the library's own messages are not user output


def test_wrap_is_the_default(tmp_path):
    result = run_child(tqdm_script(None).replace("import sys", "import sys; import jupyter_tracker as jt; run = jt.init()"),
                       tmp_path)
    assert result.returncode == 0, result.stderr
    log = (only_run_dir(tmp_path / "jupyter_tracker") / "output.log").read_text()
    assert "plain line on stdout" in log


def test_wrap_keeps_a_terminal_a_terminal(tmp_path):
    pty = pytest.importorskip("pty")
    code = textwrap.dedent("""
        import sys, jupyter_tracker as jt
        before = (sys.stdout.isatty(), sys.stderr.isatty(), sys.stdout.fileno(), sys.stdout.encoding)
        run = jt.init(project="p", settings={"console": "wrap"})
        after = (sys.stdout.isatty(), sys.stderr.isatty(), sys.stdout.fileno(), sys.stdout.encoding)
        run.finish(quiet=True)
        print("SAME" if before == after else f"DIFFERENT {before} {after}")
    """)
    env = {key: value for key, value in os.environ.items() if not key.startswith("WANDB_")}
    env.update({"WANDB_DIR": str(tmp_path), "WANDB_MODE": "offline", "WANDB_SILENT": "true", "PYTHONPATH": str(REPO)})
    leader, follower = pty.openpty()
    process = subprocess.Popen([sys.executable, "-c", code], stdin=follower, stdout=follower, stderr=follower,
                               env=env, cwd=tmp_path)
    os.close(follower)
    output = b""
    try:
        while True:
            try:
                chunk = os.read(leader, 4096)
            except OSError:
                break
            if not chunk:
                break
            output += chunk
    finally:
        process.wait(timeout=60)
        os.close(leader)
    assert b"SAME" in output, output


def test_off_captures_nothing(tmp_path):
    result = run_child(tqdm_script("off"), tmp_path)
    assert result.returncode == 0, result.stderr
    run_dir = only_run_dir(tmp_path / "jupyter_tracker")
    log = run_dir / "output.log"
    assert not log.exists() or log.read_text() == ""


def test_capture_in_process_restores_the_streams_at_finish(root, capsys):
    original_out, original_err = sys.stdout, sys.stderr
    run = jt.init(settings={"console": "wrap"})
    assert sys.stdout is not original_out and sys.stdout.original_stream is original_out
    print("hello from the loop")
    print("to stderr", file=sys.stderr)
    run.finish()
    assert sys.stdout is original_out and sys.stderr is original_err
    captured = capsys.readouterr()
    assert "hello from the loop" in captured.out and "to stderr" in captured.err
    text = (Path(run.dir) / "output.log").read_text()
    assert "hello from the loop\n" in text and "to stderr\n" in text


def test_output_log_continues_on_resume(root):
    run = jt.init(id="again", settings={"console": "wrap"})
    print("first session")
    run.finish()
    run = jt.init(id="again", resume="allow", settings={"console": "wrap"})
    print("second session")
    run.finish()
    text = (Path(run.dir) / "output.log").read_text()
    assert text.index("first session") < text.index("second session")
