"""``wandb.sdk``: the run API and the subpackages the integrations import from (``lib``, ``wandb_run``...)."""

from __future__ import annotations

from jupyter_tracker.sdk import define_metric, finish, init, log, save
from jupyter_tracker.settings import Settings

__all__ = ["Settings", "define_metric", "finish", "init", "log", "save"]

