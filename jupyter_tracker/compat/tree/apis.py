"""``wandb.apis`` and ``wandb.apis.public``: ``Api`` and its run objects."""

from __future__ import annotations

from typing import Any

__all__: list[str] = []

_NAMES = frozenset({"Api", "File", "Project", "Run", "Runs"})


def __getattr__(name: str) -> Any:
    # the Api loads pandas: only when asked for
    if name in _NAMES:
        from jupyter_tracker.api import public

        return getattr(public, name)
    raise AttributeError(f"module 'wandb.apis.public' has no attribute {name!r}")
