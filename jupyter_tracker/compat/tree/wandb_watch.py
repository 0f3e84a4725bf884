"""``wandb.sdk.wandb_watch``: ``watch`` and ``unwatch`` of torch modules."""

from __future__ import annotations

from jupyter_tracker.model_watch import unwatch, watch

__all__ = ["unwatch", "watch"]
