"""``wandb.env``: the names of wandb's environment variables, and ``set_project``/``set_entity``.

jupyter_tracker honours these variables through :mod:`jupyter_tracker.settings`; setting one here
affects the next ``init``, as in wandb.
"""

from __future__ import annotations

import os

__all__ = [
    "API_KEY", "BASE_URL", "CACHE_DIR", "CONFIG_PATHS", "CONSOLE", "DIR", "DISABLE_CODE", "ENTITY",
    "IGNORE", "JOB_TYPE", "LOG_MODEL", "MODE", "NAME", "NOTEBOOK_NAME", "NOTES", "PROJECT", "RESUME",
    "RUN_GROUP", "RUN_ID", "SILENT", "TAGS", "USERNAME", "WATCH", "set_entity", "set_project",
]

API_KEY = "WANDB_API_KEY"
BASE_URL = "WANDB_BASE_URL"
CACHE_DIR = "WANDB_CACHE_DIR"
CONFIG_PATHS = "WANDB_CONFIG_PATHS"
CONSOLE = "WANDB_CONSOLE"
DIR = "WANDB_DIR"
DISABLE_CODE = "WANDB_DISABLE_CODE"
ENTITY = "WANDB_ENTITY"
IGNORE = "WANDB_IGNORE_GLOBS"
JOB_TYPE = "WANDB_JOB_TYPE"
LOG_MODEL = "WANDB_LOG_MODEL"
MODE = "WANDB_MODE"
NAME = "WANDB_NAME"
NOTEBOOK_NAME = "WANDB_NOTEBOOK_NAME"
NOTES = "WANDB_NOTES"
PROJECT = "WANDB_PROJECT"
RESUME = "WANDB_RESUME"
RUN_GROUP = "WANDB_RUN_GROUP"
RUN_ID = "WANDB_RUN_ID"
SILENT = "WANDB_SILENT"
TAGS = "WANDB_TAGS"
USERNAME = "WANDB_USERNAME"
WATCH = "WANDB_WATCH"


def set_project(value: str, env: dict[str, str] | None = None) -> None:
    """Sets ``WANDB_PROJECT`` (in ``env`` if given) for the runs started after."""
    (os.environ if env is None else env)[PROJECT] = value or "uncategorized"


def set_entity(value: str, env: dict[str, str] | None = None) -> None:
    """Sets ``WANDB_ENTITY`` (in ``env`` if given) for the runs started after."""
    (os.environ if env is None else env)[ENTITY] = value
