"""``wandb.sdk.wandb_settings``: the settings class (``wandb.Settings``)."""

from __future__ import annotations

from jupyter_tracker.settings import Settings

__all__ = ["Settings"]
