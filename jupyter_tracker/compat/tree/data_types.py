"""``wandb.sdk.data_types.*`` and ``wandb.data_types``: the media classes and ``WBValue``, their common base."""

from __future__ import annotations

from jupyter_tracker.media import Audio, Histogram, Html, Image, Table, Video
from jupyter_tracker.media.overlays import Classes
from jupyter_tracker.values import MediaValue as WBValue

__all__ = ["Audio", "Classes", "Histogram", "Html", "Image", "Table", "Video", "WBValue"]
