"""``wandb.sdk.wandb_init``: ``init``."""

from __future__ import annotations

from jupyter_tracker.sdk import init

__all__ = ["init"]
