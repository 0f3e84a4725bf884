"""``wandb.sdk.wandb_config``: the config class."""

from __future__ import annotations

from jupyter_tracker.run_config import Config

__all__ = ["Config"]
