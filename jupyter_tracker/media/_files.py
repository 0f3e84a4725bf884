"""Writes a media file under a run's ``media/`` named by its content hash, atomically and only once."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

#: the sub-folders of ``media/`` that media kinds write to
KIND_DIRS = frozenset({"images", "tables", "audio", "html", "videos"})


def write_media(run_dir: str | os.PathLike[str], kind_dir: str, data: bytes, suffix: str) -> tuple[str, str]:
    """Writes ``data`` as ``media/<kind_dir>/<sha256>.<suffix>``; returns (path relative to the run, sha256).

    The same content logged twice is one file; a reader never sees a half-written one.
    """
    if kind_dir not in KIND_DIRS:
        raise ValueError(f"unknown media folder {kind_dir!r}")
    digest = hashlib.sha256(data).hexdigest()
    relative = f"media/{kind_dir}/{digest[:32]}{suffix}"
    target = Path(run_dir) / relative
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        temporary.write_bytes(data)
        os.replace(temporary, target)
    return relative, digest


def caption_text(caption: object, what: str) -> str | None:
    """A caption as stored: None or a string (numbers are accepted and turned into text)."""
    if caption is None:
        return None
    if isinstance(caption, (str, int, float)) and not isinstance(caption, bool):
        return str(caption)
    raise TypeError(f"{what}(caption=...) must be a string, not {type(caption).__name__}")


def as_numpy(data: object) -> object:
    """torch tensors become numpy arrays (torch is never imported here); anything else is returned as is."""
    import sys

    torch = sys.modules.get("torch")
    if torch is not None and isinstance(data, torch.Tensor):
        return data.detach().cpu().numpy()
    return data
