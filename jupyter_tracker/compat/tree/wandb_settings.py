"""``wandb.Settings`` (``wandb.sdk.wandb_settings``): takes any of wandb's settings as keywords.

Scripts write ``wandb.init(settings=wandb.Settings(start_method="thread", ...))``; ``init`` uses
the settings jupyter_tracker knows (``mode``, ``project``, ...) and keeps the others as extras.
"""

from __future__ import annotations

from typing import Any

__all__ = ["Settings"]


class Settings(dict):  # type: ignore[type-arg]
    """wandb's settings object, as a mapping ``init(settings=...)`` reads.

    >>> Settings(start_method="thread").start_method
    'thread'
    """

    def __init__(self, **settings: Any) -> None:
        super().__init__(settings)

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(f"wandb.Settings has no setting {name!r}") from None

    def __setattr__(self, name: str, value: Any) -> None:
        self[name] = value

    def update(self, settings: Any = None, **more: Any) -> None:  # type: ignore[override]
        """Adds settings from a mapping (or another Settings) and keywords."""
        super().update(dict(settings or {}), **more)
