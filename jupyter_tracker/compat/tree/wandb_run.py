"""``wandb.sdk.wandb_run`` and ``wandb.wandb_run``: the run class integrations check with ``isinstance``."""

from __future__ import annotations

from jupyter_tracker.tracked_run import Run

__all__ = ["Run"]
