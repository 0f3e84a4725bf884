"""``import wandb``: jupyter_tracker's API plus the module-level names the integrations call.

``wandb.run``, ``wandb.config`` and ``wandb.summary`` follow the current run (PEP 562
``__getattr__``), and the subpackages (``wandb.sdk``, ``wandb.util``...) load on first attribute
access, as in wandb.
"""

from __future__ import annotations

from typing import Any

import jupyter_tracker
from jupyter_tracker import console, sdk
from jupyter_tracker.compat.tree.sdk_lib import RunDisabled
from jupyter_tracker.compat.tree.wandb_settings import Settings
from jupyter_tracker.limits import LimitWarning
from jupyter_tracker.model_watch import unwatch, watch
from jupyter_tracker.run_config import ConfigWarning
from jupyter_tracker.sdk import UsageError, define_metric, finish, init, log, save
from jupyter_tracker.tracked_run import Run

__all__ = [
    "ConfigWarning",
    "LimitWarning",
    "Run",
    "RunDisabled",
    "Settings",
    "UsageError",
    "_attach",
    "alert",
    "define_metric",
    "ensure_configured",
    "finish",
    "init",
    "log",
    "require",
    "save",
    "setup",
    "termerror",
    "termlog",
    "termwarn",
    "unwatch",
    "watch",
]


def require(requirement: str | None = None, experiment: str | None = None) -> None:
    """wandb's feature switches (``wandb.require("service")``): every feature is always on here."""
    return None


def setup(settings: Any = None) -> None:
    """wandb's process-wide setup; nothing to prepare here (a run starts with ``init``)."""
    return None


def ensure_configured() -> None:
    """wandb checks its login here; jupyter_tracker needs no login to record locally."""
    return None


_said: set[str] = set()


def termlog(string: str = "", newline: bool = True, repeat: bool = True, prefix: bool = True) -> None:
    """A message from an integration, through jupyter_tracker's console (silent when ``WANDB_SILENT``)."""
    text = str(string)
    if repeat or text not in _said:
        _said.add(text)
        console.info(text)


def termwarn(string: str = "", newline: bool = True, repeat: bool = True, prefix: bool = True) -> None:
    """A warning from an integration (on stderr), once per text when ``repeat=False``."""
    text = str(string)
    if repeat:
        console.error(text)
    else:
        console.warn_once(f"termwarn:{text}", text)


def termerror(string: str = "", newline: bool = True, repeat: bool = True, prefix: bool = True) -> None:
    """An error message from an integration (on stderr)."""
    console.error(str(string))


def alert(title: str, text: str, level: Any = None, wait_duration: Any = None) -> None:
    """``wandb.alert``: there is no notification service here, so the alert is printed and kept in the summary."""
    run = sdk.current_run()
    level_name = getattr(level, "value", level) or "INFO"
    console.info(f"alert [{level_name}] {title}: {text}")
    if run is not None:
        run.summary[f"alerts/{title}"] = f"[{level_name}] {text}"


def _attach(attach_id: str | None = None, run_id: str | None = None, run: Any = None) -> Run:
    """Lightning's re-attach after pickling: the current run if it is the one asked for, else that run resumed."""
    current = sdk.current_run()
    wanted = run_id or attach_id
    if current is not None and (wanted is None or current.id == wanted):
        return current
    return sdk.init(id=wanted, resume="allow")


def __getattr__(name: str) -> Any:
    if name == "Classes":  # with the media (numpy), not with ``import wandb``
        from jupyter_tracker.media.overlays import Classes

        return Classes
    if name == "__version__":
        from jupyter_tracker.compat.distribution import WANDB_VERSION

        return WANDB_VERSION
    try:
        return getattr(jupyter_tracker, name)
    except AttributeError:
        raise AttributeError(f"module 'wandb' has no attribute {name!r} (served by jupyter_tracker)") from None
