"""The %tracker magics on IPython's real test shell: parsing, usage errors, %%tracker runs, unload."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from IPython.core.error import UsageError
from IPython.testing import globalipapp
from IPython.utils.capture import capture_output

from jupyter_tracker import console, sdk
from jupyter_tracker.limits import LimitWarning
from jupyter_tracker.notebook import extension
from jupyter_tracker.notebook.extension import NotebookHooks
from jupyter_tracker.notebook.magics import parse_value
from jupyter_tracker.notebook.warnings_box import WarningsBox
from jupyter_tracker.store.index import RunIndex
from jupyter_tracker.store.run_dir import iter_run_dirs


@pytest.fixture
def ip(store_root: Path) -> Iterator[Any]:
    globalipapp.start_ipython()  # once per process; later calls return None
    shell = globalipapp.get_ipython()
    shell.run_line_magic("load_ext", "jupyter_tracker")
    yield shell
    if "tracker" in shell.magics_manager.magics["line"]:
        shell.run_line_magic("unload_ext", "jupyter_tracker")


def index_rows(store_root: Path, project: str) -> list[dict[str, Any]]:
    return RunIndex(store_root).runs(project)


def test_load_registers_line_and_cell_magic(ip: Any) -> None:
    assert "tracker" in ip.magics_manager.magics["line"]
    assert "tracker" in ip.magics_manager.magics["cell"]
    assert extension._hooks is not None and extension._hooks.on_run_start in sdk.start_hooks


def test_notebook_hooks_install_once(ip: Any) -> None:
    hooks = extension.ensure_notebook_hooks()
    assert extension.ensure_notebook_hooks() is hooks
    assert sdk.start_hooks.count(hooks.on_run_start) == 1
    assert console._warning_sinks.count(hooks.warnings_box) == 1
    ip.run_line_magic("load_ext", "jupyter_tracker")  # a second %load_ext is a no-op (IPython's rule)
    assert sdk.start_hooks.count(hooks.on_run_start) == 1


def test_init_parses_every_run_option(ip: Any, store_root: Path) -> None:
    ip.run_line_magic(
        "tracker",
        "init --project mnist --name baseline --group exp-1 --tags a,b c --mode offline "
        "--notes 'first try' --job-type train --config lr=0.1 batch_size=32 opt=adam layers=[64,64] use_bn=True",
    )
    run = sdk.current_run()
    assert run is not None
    assert (run.project, run.name, run.group, run.tags) == ("mnist", "baseline", "exp-1", ("a", "b", "c"))
    assert (run.mode, run.notes, run.job_type) == ("offline", "first try", "train")
    assert run.config.as_dict() == {"lr": 0.1, "batch_size": 32, "opt": "adam", "layers": [64, 64], "use_bn": True}


@pytest.mark.parametrize(
    ("text", "value"),
    [("0.1", 0.1), ("32", 32), ("-3", -3), ("1e-3", 0.001), ("True", True), ("None", None),
     ("[1, 2]", [1, 2]), ("{'a': 1}", {"a": 1}), ("'quoted'", "quoted"), ("adam", "adam"),
     ("", ""), ("9**99", "9**99"), ("__import__('os')", "__import__('os')"), ("1.2.3", "1.2.3")],
)
def test_config_values_are_literals_where_they_parse(text: str, value: Any) -> None:
    assert parse_value(text) == value


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("", "needs a subcommand"),
        ("start --project p", "unknown %tracker subcommand 'start'"),
        ("init --bogus 1", "unrecognized arguments: --bogus 1"),
        ("init --config lr", "--config expects KEY=VALUE"),
        ("init --config =1", "--config expects KEY=VALUE"),
        ("init --mode sometimes", "invalid choice: 'sometimes'"),
        ("init --resume maybe", "invalid choice: 'maybe'"),
        ("init --notes 'unclosed", "No closing quotation"),
        ("finish --exit-code one", "invalid int value"),
        ("silent maybe", "invalid choice: 'maybe'"),
        ("runs --page-size 0", "--page-size must be at least 1"),
    ],
)
def test_bad_arguments_raise_a_usage_error_and_start_nothing(ip: Any, store_root: Path, line: str, message: str) -> None:
    with pytest.raises(UsageError, match=None) as raised:
        ip.run_line_magic("tracker", line)
    assert message in str(raised.value)
    assert sdk.current_run() is None
    assert iter_run_dirs(store_root) == []


def test_usage_errors_show_the_usage(ip: Any) -> None:
    with pytest.raises(UsageError) as raised:
        ip.run_line_magic("tracker", "init --bogus")
    assert "usage: %tracker init [--project PROJECT]" in str(raised.value)


def test_settings_init_rejects_become_usage_errors(ip: Any, store_root: Path) -> None:
    ip.run_line_magic("tracker", "init --project p --id taken --mode offline")
    ip.run_line_magic("tracker", "finish --quiet")
    with pytest.raises(UsageError, match="already exists"):
        ip.run_line_magic("tracker", "init --project p --id taken --resume never")
    assert sdk.current_run() is None


def test_finish_with_exit_code_marks_the_run_failed(ip: Any, store_root: Path) -> None:
    ip.run_line_magic("tracker", "init --project p --mode offline")
    run = sdk.current_run()
    ip.run_line_magic("tracker", "finish --exit-code 3 --quiet")
    assert sdk.current_run() is None
    assert (run.state, run.exit_code) == ("failed", 3)


def test_finish_without_a_run_says_so(ip: Any, capfd: pytest.CaptureFixture[str]) -> None:
    ip.run_line_magic("tracker", "finish")
    assert "no run to finish" in capfd.readouterr().out


def test_cell_magic_runs_the_cell_as_one_run(ip: Any, store_root: Path) -> None:
    value = ip.run_cell_magic(
        "tracker", "--project cells --name whole-cell --config lr=0.01 --mode offline",
        "import jupyter_tracker as jt\nfor step in range(5):\n    jt.log({'loss': 1 / (step + 1)})\nseen = jt.run.name\nseen.upper()",
    )
    assert value == "WHOLE-CELL"
    assert ip.user_ns["seen"] == "whole-cell"
    assert sdk.current_run() is None
    (row,) = index_rows(store_root, "cells")
    assert (row["name"], row["state"], row["exit_code"], row["config"]) == ("whole-cell", "finished", 0, {"lr": 0.01})
    assert row["summary"]["loss"] == pytest.approx(0.2)


def test_cell_magic_keeps_a_trailing_semicolon_quiet(ip: Any, store_root: Path) -> None:
    assert ip.run_cell_magic("tracker", "--project p --mode offline", "6 * 7") == 42
    assert ip.run_cell_magic("tracker", "--project p --mode offline", "6 * 7;") is None


def test_cell_magic_marks_the_run_failed_and_reraises(ip: Any, store_root: Path) -> None:
    with pytest.raises(ZeroDivisionError):
        ip.run_cell_magic("tracker", "--project cells --name broken --mode offline",
                          "import jupyter_tracker as jt\njt.log({'x': 1})\nbroken_run = jt.run\n1 / 0")
    run = ip.user_ns["broken_run"]
    assert (run.state, run.exit_code) == ("failed", 1)
    assert sdk.current_run() is None
    (row,) = index_rows(store_root, "cells")
    assert (row["state"], row["exit_code"]) == ("failed", 1)


def test_cell_magic_marks_an_interrupted_run_killed(ip: Any, store_root: Path) -> None:
    with pytest.raises(KeyboardInterrupt):
        ip.run_cell_magic("tracker", "--project cells --mode offline", "raise KeyboardInterrupt")
    (row,) = index_rows(store_root, "cells")
    assert (row["state"], row["exit_code"]) == ("killed", 130)


def test_cell_magic_with_bad_arguments_runs_nothing(ip: Any, store_root: Path) -> None:
    ip.user_ns.pop("ran", None)
    with pytest.raises(UsageError, match="unrecognized arguments"):
        ip.run_cell_magic("tracker", "--project p --epochs 3", "ran = True")
    assert "ran" not in ip.user_ns
    assert iter_run_dirs(store_root) == []


def test_cell_magic_with_a_syntax_error_starts_nothing(ip: Any, store_root: Path) -> None:
    with pytest.raises(SyntaxError):
        ip.run_cell_magic("tracker", "--project p", "def broken(:\n    pass")
    assert iter_run_dirs(store_root) == []


def test_cell_magic_runs_magics_inside_the_cell(ip: Any, store_root: Path) -> None:
    ip.run_cell_magic("tracker", "--project p --mode offline", "inner = %tracker status\n")
    assert "inner" in ip.user_ns


def test_status_displays_the_run_card(ip: Any) -> None:
    ip.run_line_magic("tracker", "init --project p --mode offline --name <b>bold</b>")
    with capture_output() as captured:
        ip.run_line_magic("tracker", "status")
    (output,) = captured.outputs
    assert "&lt;b&gt;bold&lt;/b&gt;" in output.data["text/html"]
    assert "<b>bold</b>" not in output.data["text/html"]


def test_silent_on_and_off_set_wandb_silent(ip: Any, monkeypatch: pytest.MonkeyPatch,
                                            capfd: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("WANDB_SILENT", "false")  # restored after the test
    ip.run_line_magic("tracker", "silent on")
    ip.run_line_magic("tracker", "init --project p --mode offline")
    ip.run_line_magic("tracker", "finish")
    assert capfd.readouterr().out == ""
    ip.run_line_magic("tracker", "silent off")
    ip.run_line_magic("tracker", "init --project p --mode offline")
    assert "jupyter_tracker: run" in capfd.readouterr().out


def test_runs_shows_the_runs_table_widget(ip: Any, store_root: Path) -> None:
    for name in ("first", "second"):
        ip.run_line_magic("tracker", f"init --project table --mode offline --name {name}")
        ip.run_line_magic("tracker", "finish --quiet")
    with capture_output() as captured:
        ip.run_line_magic("tracker", "runs --project table")
    (output,) = captured.outputs
    assert "application/vnd.jupyter.widget-view+json" in output.data
    assert "first" in output.data["text/html"] and "second" in output.data["text/html"]


def test_live_without_a_run_is_a_usage_error(ip: Any) -> None:
    with pytest.raises(UsageError, match="no run is active"):
        ip.run_line_magic("tracker", "live")


def test_unload_removes_everything(ip: Any) -> None:
    hooks = extension._hooks
    assert hooks is not None
    ip.run_line_magic("unload_ext", "jupyter_tracker")
    assert "tracker" not in ip.magics_manager.magics["line"]
    assert "tracker" not in ip.magics_manager.magics["cell"]
    assert "TrackerMagics" not in ip.magics_manager.registry
    assert hooks.on_run_start not in sdk.start_hooks
    assert hooks.warnings_box not in console._warning_sinks
    with pytest.raises(UsageError):
        ip.run_line_magic("tracker", "status")
    ip.run_line_magic("load_ext", "jupyter_tracker")  # and it loads again cleanly
    assert "tracker" in ip.magics_manager.magics["line"]


# the start hook and the warnings box, with what they show injected -----------------------------------
@pytest.fixture
def shown(store_root: Path) -> Iterator[dict[str, list[Any]]]:
    seen: dict[str, list[Any]] = {"panels": [], "boxes": []}
    box = WarningsBox(is_notebook=lambda: True, show=seen["boxes"].append)
    hooks = NotebookHooks(show_panel=seen["panels"].append, is_notebook=lambda: True, warnings_box=box)
    hooks.install()
    yield seen
    hooks.uninstall()


def test_a_run_start_shows_the_live_panel(shown: dict[str, list[Any]]) -> None:
    run = sdk.init(project="p", mode="offline")
    assert shown["panels"] == [run]


@pytest.mark.parametrize(("variable", "value", "mode"), [
    ("WANDB_SILENT", "true", "offline"), ("JUPYTER_TRACKER_LIVE", "off", "offline"), (None, None, "disabled"),
])
def test_no_live_panel_when_silent_off_or_disabled(shown: dict[str, list[Any]], monkeypatch: pytest.MonkeyPatch,
                                                   variable: str | None, value: str | None, mode: str) -> None:
    if variable:
        monkeypatch.setenv(variable, value)
    sdk.init(project="p", mode=mode)
    assert shown["panels"] == []


def test_limit_warnings_show_once_as_a_box(shown: dict[str, list[Any]]) -> None:
    import numpy as np

    run = sdk.init(project="p", mode="offline")
    run.log({"<big>": np.zeros(200_000)})
    run.log({"<big>": np.zeros(200_000)})
    (box,) = shown["boxes"]
    assert "one logged value" in box["text/html"] and "&lt;big&gt;" in box["text/html"]
    assert "1,000,000" in box["text/html"] and "Histogram" in box["text/html"]
    assert [type(warning) for warning in run.warnings] == [LimitWarning]


def test_silent_shows_no_box_but_the_run_keeps_the_warning(shown: dict[str, list[Any]],
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    import numpy as np

    monkeypatch.setenv("WANDB_SILENT", "true")
    run = sdk.init(project="p", mode="offline")
    run.log({"big": np.zeros(200_000)})
    assert shown["boxes"] == []
    assert [warning.kind for warning in run.warnings] == ["value_size"]


def test_the_box_declines_outside_a_notebook_and_other_warnings() -> None:
    seen: list[Any] = []
    outside = WarningsBox(is_notebook=lambda: False, show=seen.append)
    inside = WarningsBox(is_notebook=lambda: True, show=seen.append)
    assert outside(LimitWarning("value_size", 1_000_000, 2_000_000, "x")) is False
    assert inside(UserWarning("not a limit")) is False
    assert seen == []


def test_load_ext_imports_nothing_heavy(tmp_path: Path) -> None:
    script = (
        "import sys\n"
        "from IPython.testing import globalipapp\n"
        "globalipapp.start_ipython()\n"
        "shell = globalipapp.get_ipython()\n"
        "shell.run_line_magic('load_ext', 'jupyter_tracker')\n"
        "shell.run_line_magic('tracker', 'init --project p --mode offline')\n"
        "shell.run_line_magic('tracker', 'finish --quiet')\n"
        "print(sorted(name for name in ('pandas', 'plotly', 'ipywidgets', 'anywidget', 'httpx') if name in sys.modules))\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                            cwd=tmp_path, env={**os.environ, "WANDB_DIR": str(tmp_path)})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "[]"
