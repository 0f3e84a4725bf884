"""Being ``wandb``: the opt-in, the served module tree, its metadata, and that no import replaces live state."""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import os
import subprocess
import sys
import textwrap
import types
from collections.abc import Iterator
from pathlib import Path

import pytest

import jupyter_tracker
from jupyter_tracker import sdk
from jupyter_tracker.compat import WANDB_VERSION, as_wandb, is_wandb, stop_being_wandb
from jupyter_tracker.compat.finder import TREE
from jupyter_tracker.store.reader import read_run
from tests.extras import FRAMEWORKS, import_or_skip

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def as_wandb_on(store_root: Path) -> Iterator[types.ModuleType]:
    """jupyter_tracker is ``wandb`` for one test; everything is undone after it."""
    as_wandb(silent=True)
    import wandb

    yield wandb
    stop_being_wandb()


def _python(code: str, tmp_path: Path, **environment: str) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("WANDB_", "JUPYTER_TRACKER_"))}
    env.update({"WANDB_DIR": str(tmp_path), "WANDB_MODE": "offline", "PYTHONPATH": str(REPO)}, **environment)
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, env=env,
                          cwd=tmp_path, timeout=120)


def test_off_by_default(tmp_path):
    result = _python("""
        import importlib.metadata, importlib.util, jupyter_tracker
        assert importlib.util.find_spec("wandb") is None
        try:
            importlib.metadata.version("wandb")
        except importlib.metadata.PackageNotFoundError:
            print("no wandb")
        """, tmp_path)
    assert result.returncode == 0, result.stderr
    assert "no wandb" in result.stdout


def test_opting_in_answers_the_metadata_frameworks_check(as_wandb_on):
    assert importlib.metadata.version("wandb") == WANDB_VERSION
    assert importlib.metadata.distribution("wandb").metadata["Name"] == "wandb"
    assert importlib.metadata.metadata("wandb")["Version"] == WANDB_VERSION
    assert importlib.util.find_spec("wandb") is not None
    assert as_wandb_on.__version__ == WANDB_VERSION
    assert is_wandb()


def test_importing_wandb_and_its_framework_modules_stays_light(tmp_path):
    result = _python("""
        import sys, jupyter_tracker
        jupyter_tracker.as_wandb()
        import wandb, wandb.sdk.lib, wandb.wandb_run, wandb.sdk.lib.config_util, wandb.util, wandb.env
        print(sorted(name for name in ("numpy", "pandas", "torch", "httpx", "plotly") if name in sys.modules))
        """, tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_lightning_requirement_cache_accepts_the_version(as_wandb_on):
    import_or_skip("lightning_utilities", "frameworks", FRAMEWORKS)
    from lightning_utilities.core.imports import RequirementCache

    assert RequirementCache("wandb>=0.12.10")


@pytest.mark.parametrize("name", sorted(name for name in TREE if not name.startswith("wandb.integration.keras")))
def test_every_served_module_is_a_real_module(as_wandb_on, name):
    module = importlib.import_module(name)
    assert isinstance(module, types.ModuleType)
    assert module.__name__ == name
    assert sys.modules[name] is module


def test_the_names_integrations_import(as_wandb_on):
    wandb = as_wandb_on
    from wandb.sdk.data_types.base_types.wb_value import WBValue
    from wandb.sdk.lib import RunDisabled
    from wandb.sdk.lib.config_util import ConfigError
    from wandb.wandb_run import Run

    assert Run is jupyter_tracker.Run
    assert wandb.sdk.wandb_run.Run is Run  # an attribute path, without importing the module first
    assert issubclass(RunDisabled, Run)
    assert issubclass(ConfigError, Exception)
    assert isinstance(wandb.Image(__import__("numpy").zeros((2, 2))), WBValue)
    assert isinstance(wandb.Histogram([1, 2, 3]), WBValue)
    assert len(wandb.util.generate_id()) == 8
    assert wandb.util.json_dumps_safer({"a": __import__("numpy").arange(3)}) == '{"a": [0, 1, 2]}'
    assert wandb.env.PROJECT == "WANDB_PROJECT"
    assert wandb.apis.public.Api is jupyter_tracker.Api
    for name in ("require", "setup", "termlog", "termwarn", "termerror", "ensure_configured", "_attach", "alert",
                 "watch", "unwatch", "init", "log", "finish", "define_metric", "save", "Table", "Audio", "Html"):
        assert callable(getattr(wandb, name)), name
    wandb.require("service")
    assert callable(wandb.tensorboard.patch) and callable(wandb.sweep) and callable(wandb.agent)
    assert wandb.Artifact is jupyter_tracker.Artifact and callable(wandb.log_artifact) and callable(wandb.use_artifact)


def test_wandb_run_config_and_summary_follow_the_current_run(as_wandb_on):
    wandb = as_wandb_on
    assert wandb.run is None
    run = wandb.init(project="p", config={"id2label": {0: "neg", 1: "pos"}})
    assert wandb.run is run
    wandb.config["lr"] = 0.1
    wandb.summary["best"] = 3
    assert dict(wandb.config) == {"id2label.0": "neg", "id2label.1": "pos", "lr": 0.1}
    assert wandb.summary["best"] == 3
    assert wandb._attach(run.id) is run
    wandb.finish()
    assert wandb.run is None


def test_wandb_log_is_the_current_runs_log_as_in_wandb(as_wandb_on):
    wandb = as_wandb_on
    with pytest.raises(jupyter_tracker.UsageError, match="init"):
        wandb.log({"loss": 1.0})
    run = wandb.init(project="p")
    assert wandb.log == run.log  # one call per logged row, not a forwarding function and then the run's
    for step in range(3):
        wandb.log({"loss": 1.0 / (step + 1)})
    wandb.finish()
    with pytest.raises(jupyter_tracker.UsageError, match="init"):
        wandb.log({"loss": 1.0})
    assert run.summary["loss"] == 1.0 / 3 and read_run(Path(run.dir))[0].rows == 3


def test_wandb_settings_take_any_of_wandbs_settings(as_wandb_on):
    wandb = as_wandb_on
    settings = wandb.Settings(start_method="thread", mode="disabled", _disable_stats=True)
    assert settings.start_method == "thread"
    run = wandb.init(project="p", settings=settings)
    assert run.disabled and isinstance(run, importlib.import_module("wandb.sdk.lib").RunDisabled)


def test_a_failed_submodule_import_leaves_run_config_and_summary_working(as_wandb_on):
    wandb = as_wandb_on
    sdk_module = sys.modules["jupyter_tracker.sdk"]
    run = wandb.init(project="p")
    with pytest.raises(ModuleNotFoundError):
        importlib.import_module("wandb.sdk.anything_missing")
    with pytest.raises(ImportError):
        exec("import wandb.sdk.lib.anything_missing", {})
    assert sys.modules["jupyter_tracker.sdk"] is sdk_module and jupyter_tracker.sdk is sdk_module
    assert wandb.run is run and jupyter_tracker.run is run
    wandb.config.update({"a": 1})
    wandb.summary["s"] = 2
    wandb.log({"x": 1.0})
    assert run.config["a"] == 1 and run.summary["s"] == 2 and run.summary["x"] == 1.0


def test_an_aliased_package_never_executes_sdk_a_second_time(tmp_path):
    result = _python("""
        import sys, jupyter_tracker
        sys.modules["wandb"] = jupyter_tracker
        import wandb
        run = wandb.init(project="p")
        try:
            import wandb.sdk.anything_missing
        except ImportError as error:
            print("refused:", error)
        assert jupyter_tracker.sdk is sys.modules["jupyter_tracker.sdk"]
        assert wandb.run is run
        wandb.summary["s"] = 1
        print("summary", run.summary["s"])
        """, tmp_path)
    assert result.returncode == 0, result.stderr
    assert "refused:" in result.stdout and "summary 1" in result.stdout


def test_opting_in_wins_over_an_installed_wandb_and_says_so_once(tmp_path):
    installed = tmp_path / "site"
    (installed / "wandb").mkdir(parents=True)
    (installed / "wandb" / "__init__.py").write_text("REAL = True\n")
    result = _python("""
        import wandb
        assert wandb.REAL
        import jupyter_tracker
        jupyter_tracker.as_wandb()
        jupyter_tracker.as_wandb()
        import wandb
        assert not hasattr(wandb, "REAL") and wandb.__version__
        print("served")
        """, tmp_path, PYTHONPATH=f"{REPO}{os.pathsep}{installed}")
    assert result.returncode == 0, result.stderr
    assert "served" in result.stdout
    assert (result.stdout + result.stderr).count("set aside") == 1


def test_opting_in_silently_says_nothing(tmp_path):
    installed = tmp_path / "site"
    (installed / "wandb").mkdir(parents=True)
    (installed / "wandb" / "__init__.py").write_text("REAL = True\n")
    result = _python("import jupyter_tracker; jupyter_tracker.as_wandb(silent=True); import wandb; print(wandb.__version__)",
                     tmp_path, PYTHONPATH=f"{REPO}{os.pathsep}{installed}")
    assert result.returncode == 0, result.stderr
    assert "set aside" not in result.stdout + result.stderr


@pytest.mark.parametrize(("value", "served"), [("1", True), ("true", True), ("0", False), ("", False)])
def test_the_environment_variable_opts_in_at_interpreter_start(tmp_path, value, served):
    result = _python("import importlib.util; print(importlib.util.find_spec('wandb') is not None)", tmp_path,
                     JUPYTER_TRACKER_AS_WANDB=value)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(served)


def test_opting_in_in_code_passes_to_subprocesses(tmp_path):
    result = _python("""
        import subprocess, sys, jupyter_tracker
        jupyter_tracker.as_wandb()
        child = subprocess.run([sys.executable, "-c", "import wandb; print(wandb.__version__)"],
                               capture_output=True, text=True)
        print(child.stdout.strip(), child.returncode)
        """, tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [WANDB_VERSION, "0"]


def test_the_run_command_serves_wandb_and_keeps_the_exit_status(tmp_path):
    script = tmp_path / "train.py"
    script.write_text("import sys, wandb\nrun = wandb.init(project='cli')\nwandb.log({'loss': 1.0})\n"
                      "print('ran', wandb.__version__)\nsys.exit(3)\n")
    env = {key: value for key, value in os.environ.items() if not key.startswith(("WANDB_", "JUPYTER_TRACKER_"))}
    env.update({"WANDB_DIR": str(tmp_path), "WANDB_MODE": "offline", "WANDB_SILENT": "true"})
    command = Path(sys.executable).with_name("jupyter-tracker")
    result = subprocess.run([str(command), "run", "--", sys.executable, str(script)],
                            capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)
    assert result.returncode == 3, result.stderr
    assert f"ran {WANDB_VERSION}" in result.stdout
    runs = jupyter_tracker.Api(overrides={"dir": str(tmp_path)}).runs("cli")
    assert [run.state for run in runs] == ["failed"]


def test_the_magic_opts_in(store_root):
    from IPython.testing.globalipapp import get_ipython

    shell = get_ipython()
    shell.run_line_magic("load_ext", "jupyter_tracker")
    try:
        shell.run_line_magic("tracker", "as-wandb --silent")
        assert is_wandb()
        assert importlib.import_module("wandb").__version__ == WANDB_VERSION
    finally:
        stop_being_wandb()
        shell.run_line_magic("unload_ext", "jupyter_tracker")
    assert not is_wandb()


def test_stop_being_wandb_undoes_everything(store_root):
    as_wandb(silent=True)
    importlib.import_module("wandb.sdk.lib")
    stop_being_wandb()
    assert not [name for name in sys.modules if name.split(".")[0] == "wandb"]
    assert importlib.util.find_spec("wandb") is None
    assert "JUPYTER_TRACKER_AS_WANDB" not in os.environ


def test_config_takes_non_string_keys_and_speaks_of_config(store_root):
    from jupyter_tracker.run_config import ConfigError

    run = jupyter_tracker.init(project="p")
    run.config.update({"id2label": {0: "neg", 1: "pos"}, 7: "seven"})
    assert run.config.as_dict() == {"id2label.0": "neg", "id2label.1": "pos", "7": "seven"}
    with pytest.raises(ConfigError, match="config 'bad'"):
        run.config.update({"bad": object()})
    assert "bad" not in run.config


def test_run_label_is_accepted(store_root):
    run = jupyter_tracker.init(project="p")
    run._label(code="transformers_trainer")
    assert sdk.current_run() is run
