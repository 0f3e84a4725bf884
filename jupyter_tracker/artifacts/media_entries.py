"""Media objects in artifacts: ``artifact.add(table, "predictions")`` and ``artifact.get("predictions")``.

A media object is encoded as it would be for a run (its files under ``media/``, named by their
content) into a staging folder under the cache; those files join the artifact with their
``media/...`` names (so an image shared by many tables is one file), beside
``<name>.<kind>.json``, the object's reference (wandb's ``predictions.table.json``). ``get``
downloads the artifact and rebuilds the object: a ``Table`` (its image cells as ``Image``), an
``Image``, a ``Histogram``; any other kind comes back as its reference dict.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

from jupyter_tracker.artifacts.manifest import ArtifactManifestEntry, check_entry_path


def add_media(artifact: Any, obj: Any, name: str) -> ArtifactManifestEntry:
    """Adds a media object (``Table``, ``Image``, ``Histogram``, ...) to ``artifact`` under ``name``."""
    from jupyter_tracker.settings import cache_dir
    from jupyter_tracker.values import MediaValue

    if not isinstance(obj, MediaValue):
        raise TypeError(f"Artifact.add takes a Table, Image, Histogram or other media object, not "
                        f"{type(obj).__name__}; use add_file for files")
    check_entry_path(name)
    staging = cache_dir() / "artifacts" / "staging" / uuid.uuid4().hex
    staging.mkdir(parents=True)
    reference = obj.encode(staging)
    media = staging / "media"
    if media.is_dir():
        for path in sorted(media.rglob("*")):
            if path.is_file():
                artifact.add_file(path, path.relative_to(staging).as_posix(), is_tmp=True, overwrite=True)
    entry_name = f"{name}.{obj.media_kind}.json"
    with artifact.new_file(entry_name, mode="w") as handle:
        json.dump(reference, handle)
    return artifact.get_entry(entry_name)


def media_entry_name(artifact: Any, name: str) -> str | None:
    """The ``<name>.<kind>.json`` entry of a media object added as ``name``, if any."""
    prefix = f"{name}."
    for path in artifact._entries:
        if path.startswith(prefix) and path.endswith(".json") and path.count(".") == name.count(".") + 2:
            return str(path)
    return None


def get_media(artifact: Any, name: str, root: str | Path | None = None) -> Any:
    """Rebuilds the media object added as ``name`` (downloading the artifact first)."""
    entry_name = media_entry_name(artifact, name)
    if entry_name is None:
        raise KeyError(f"artifact {artifact.name} has no object {name!r} (added with artifact.add)")
    folder = Path(artifact.download(root))
    reference = json.loads((folder / entry_name).read_text(encoding="utf-8"))
    return _rebuild(folder, reference)


def _rebuild(folder: Path, reference: dict[str, Any]) -> Any:
    from jupyter_tracker.media import Histogram, Image, Table
    from jupyter_tracker.media.readback import media_path, table_to_dataframe

    kind = reference.get("_type")
    if kind == "image-file":
        return Image(media_path(folder, reference), caption=reference.get("caption"))
    if kind == "histogram":
        return Histogram(np_histogram=(reference["values"], reference["bins"]))
    if kind == "table-file":
        frame = table_to_dataframe(folder, reference)
        for column in reference.get("media_columns") or ():
            frame[column] = [_rebuild(folder, cell) if isinstance(cell, dict) else cell for cell in frame[column]]
        return Table(columns=list(frame.columns), data=frame.to_numpy(dtype=object).tolist())
    return reference
