"""jupyter_tracker: notebook-first experiment tracking with wandb's core API.

``import jupyter_tracker as wandb`` keeps an ordinary training script working. Importing the
package is light: pandas, plotly, widgets, HTTP and the server load only when used.
"""

from __future__ import annotations

from typing import Any

from jupyter_tracker import sdk as _sdk
from jupyter_tracker.limits import LimitWarning
from jupyter_tracker.run_config import ConfigWarning
from jupyter_tracker.run_summary import MetricDefinition
from jupyter_tracker.sdk import UsageError, define_metric, finish, init, log, log_artifact, save, use_artifact
from jupyter_tracker.settings import Settings
from jupyter_tracker.store.reader import RunLogWarning
from jupyter_tracker.tracked_run import Run, RunFinishedError, StepWarning

__version__ = "0.1.0"

#: names loaded on first use: module path and attribute
_LAZY = {
    "Api": ("jupyter_tracker.api", "Api"),
    "Artifact": ("jupyter_tracker.artifacts", "Artifact"),
    "Audio": ("jupyter_tracker.media", "Audio"),
    "Histogram": ("jupyter_tracker.media", "Histogram"),
    "Html": ("jupyter_tracker.media", "Html"),
    "Image": ("jupyter_tracker.media", "Image"),
    "Table": ("jupyter_tracker.media", "Table"),
    "Video": ("jupyter_tracker.media", "Video"),
    "agent": ("jupyter_tracker.sweeps", "agent"),
    "as_wandb": ("jupyter_tracker.compat", "as_wandb"),
    "login": ("jupyter_tracker.sync.login", "login"),
    "restore": ("jupyter_tracker.code.restore", "restore"),
    "runs_table": ("jupyter_tracker.notebook.runs_table", "runs_table"),
    "sweep": ("jupyter_tracker.sweeps", "sweep"),
    "unwatch": ("jupyter_tracker.model_watch", "unwatch"),
    "watch": ("jupyter_tracker.model_watch", "watch"),
}

__all__ = [
    "Api",
    "Artifact",
    "Audio",
    "ConfigWarning",
    "Histogram",
    "Html",
    "Image",
    "LimitWarning",
    "MetricDefinition",
    "Run",
    "RunFinishedError",
    "RunLogWarning",
    "Settings",
    "StepWarning",
    "Table",
    "UsageError",
    "Video",
    "agent",
    "as_wandb",
    "config",
    "define_metric",
    "finish",
    "init",
    "load_ipython_extension",
    "log",
    "log_artifact",
    "login",
    "restore",
    "run",
    "runs_table",
    "save",
    "summary",
    "sweep",
    "unload_ipython_extension",
    "unwatch",
    "use_artifact",
    "watch",
]


class _NoRun:
    """Stands in for ``config``/``summary`` before ``init``: reading is empty, writing explains."""

    def __init__(self, what: str) -> None:
        self._what = what

    def __getitem__(self, key: str) -> Any:
        raise KeyError(key)

    def __setitem__(self, key: str, value: Any) -> None:
        raise UsageError(f"call jupyter_tracker.init() before setting {self._what}[{key!r}]")

    def update(self, *args: Any, **kwargs: Any) -> None:
        raise UsageError(f"call jupyter_tracker.init() before {self._what}.update()")

    def keys(self) -> list[str]:
        return []

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(())

    def __len__(self) -> int:
        return 0

    def __repr__(self) -> str:
        return f"<{self._what}: no run; call jupyter_tracker.init()>"


def __getattr__(name: str) -> Any:
    # the module imported above, never the ``sdk`` attribute, which a stray import could replace
    if name == "run":
        return _sdk.current_run()
    if name in ("config", "summary"):
        current = _sdk.current_run()
        return getattr(current, name) if current is not None else _NoRun(name)
    if name in _LAZY:
        import importlib

        module_name, attribute = _LAZY[name]
        return getattr(importlib.import_module(module_name), attribute)
    raise AttributeError(f"module 'jupyter_tracker' has no attribute {name!r}")


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext jupyter_tracker``: registers the ``%tracker`` magics."""
    from jupyter_tracker.notebook.extension import load

    load(ipython)


def unload_ipython_extension(ipython: Any) -> None:
    """``%unload_ext jupyter_tracker``: removes everything the extension added."""
    from jupyter_tracker.notebook.extension import unload

    unload(ipython)
