"""``wandb.sdk``: the run API and the subpackages the integrations import from (``lib``, ``wandb_run``...)."""

from __future__ import annotations

from jupyter_tracker.compat.tree.wandb_settings import Settings
from jupyter_tracker.sdk import define_metric, finish, init, log, save

__all__ = ["Settings", "define_metric", "finish", "init", "log", "save"]

