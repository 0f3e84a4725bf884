"""``wandb.sdk.lib``: ``RunDisabled``, the class of a ``mode="disabled"`` run, which integrations test for."""

from __future__ import annotations

from jupyter_tracker.tracked_run import DisabledRun as RunDisabled

__all__ = ["RunDisabled"]

