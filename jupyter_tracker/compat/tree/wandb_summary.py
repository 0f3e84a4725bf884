"""``wandb.sdk.wandb_summary``: the summary class."""

from __future__ import annotations

from jupyter_tracker.run_summary import Summary

__all__ = ["Summary"]
