"""``wandb.sdk.lib.config_util``: the error a refused config change raises."""

from __future__ import annotations

from jupyter_tracker.run_config import ConfigError

__all__ = ["ConfigError"]
