"""The public API: ``jupyter_tracker.__all__`` is sorted, complete and resolvable, and importing the
package stays light (no pandas, plotly, widgets, HTTP, server or torch until used)."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
import types
from pathlib import Path

import pytest

import jupyter_tracker

REPO = Path(__file__).resolve().parents[2]

#: names that only exist through the module's ``__getattr__``
DYNAMIC = {"run", "config", "summary"}

HEAVY_MODULES = ("pandas", "plotly", "ipywidgets", "httpx", "fastapi", "sqlalchemy", "IPython", "torch")


def test_all_is_sorted_and_unique():
    names = jupyter_tracker.__all__
    assert names == sorted(names)
    assert len(names) == len(set(names))


def test_all_is_complete():
    public = {
        name for name, value in vars(jupyter_tracker).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
        and name not in ("annotations", "Any")
    }
    missing = (public | set(jupyter_tracker._LAZY) | DYNAMIC) - set(jupyter_tracker.__all__)
    assert not missing, f"public names missing from __all__: {sorted(missing)}"


@pytest.mark.parametrize("name", jupyter_tracker.__all__)
def test_every_name_resolves(name):
    value = getattr(jupyter_tracker, name)
    if name == "run":
        assert value is None or isinstance(value, jupyter_tracker.Run)
    else:
        assert value is not None
    if name in jupyter_tracker._LAZY:
        module_name, attribute = jupyter_tracker._LAZY[name]
        assert value is getattr(importlib.import_module(module_name), attribute)




def test_unknown_names_raise_attribute_error():
    with pytest.raises(AttributeError, match="no_such_name"):
        jupyter_tracker.no_such_name  # noqa: B018


def test_drop_in_names_for_wandb_users():
    for name in ("init", "log", "finish", "config", "summary", "run", "define_metric", "save", "restore",
                 "login", "Api", "Image", "Histogram", "Table", "Audio", "Html"):
        assert name in jupyter_tracker.__all__


def _modules_after(code: str, tmp_path: Path) -> list[str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("WANDB_", "JUPYTER_TRACKER_"))}
    env.update({"PYTHONPATH": str(REPO), "WANDB_DIR": str(tmp_path), "WANDB_MODE": "offline", "WANDB_SILENT": "true"})
    script = code + f"\nimport json, sys\nprint(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in {list(HEAVY_MODULES)!r})))"
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, cwd=tmp_path,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_import_is_light(tmp_path):
    assert _modules_after("import jupyter_tracker", tmp_path) == []


def test_an_offline_run_in_a_script_stays_light(tmp_path):
    code = (
        "import jupyter_tracker as jt\n"
        "run = jt.init(project='p', config={'lr': 0.1})\n"
        "for step in range(10): jt.log({'loss': 1.0 / (step + 1)})\n"
        "jt.finish()\n"
    )
    assert _modules_after(code, tmp_path) == []
