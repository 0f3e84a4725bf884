"""The answer ``importlib.metadata`` gives for the distribution ``wandb`` while jupyter_tracker is wandb.

Frameworks decide whether wandb is there from its installed metadata (Lightning's
``RequirementCache("wandb>=0.12.10")``, accelerate's ``is_wandb_available``), not only from
``import wandb``; this distribution says a version they all accept.
"""

from __future__ import annotations

import importlib.metadata
import os
from pathlib import Path

#: the wandb release whose API the served module tree follows
WANDB_VERSION = "0.19.11"

_METADATA = f"""Metadata-Version: 2.1
Name: wandb
Version: {WANDB_VERSION}
Summary: served by jupyter_tracker (jupyter_tracker.as_wandb())
"""


class WandbDistribution(importlib.metadata.Distribution):
    """Metadata of ``wandb`` as served by jupyter_tracker: a name, a version, no files."""

    def read_text(self, filename: str) -> str | None:
        if filename in ("METADATA", "PKG-INFO"):
            return _METADATA
        if filename == "top_level.txt":
            return "wandb\n"
        if filename == "INSTALLER":
            return "jupyter_tracker\n"
        return None

    def locate_file(self, path: str | os.PathLike[str]) -> Path:
        return Path(__file__).parent / path
