"""Reads what a run directory holds back for the Api: its files, its media, a Table as a DataFrame.

Pure helpers over a run directory (no run objects); every path taken from a record is checked
to stay inside the run directory.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path, PurePosixPath
from typing import Any

from jupyter_tracker.store.run_dir import files_dir, media_dir


class MediaPathError(ValueError):
    """A media reference names a path outside the run's ``media/`` or ``files/``."""


def resolve_run_path(run_dir: str | Path, relative: str) -> Path:
    """``run_dir / relative`` for a path under ``media/`` or ``files/``; refuses anything that escapes."""
    text = str(relative)
    path = PurePosixPath(text)
    if (not text or "\x00" in text or "\\" in text or path.is_absolute() or ".." in path.parts
            or path.parts[0] not in ("media", "files")):
        raise MediaPathError(f"refusing media path {text!r}: it must lie under the run's media/ or files/")
    root = Path(run_dir).resolve()
    target = (root / text).resolve()
    if root not in target.parents:
        raise MediaPathError(f"refusing media path {text!r}: it resolves outside the run directory")
    return target


def media_path(run_dir: str | Path, ref: Mapping[str, Any]) -> Path:
    """The file a media reference (``{"_type": "image-file", "path": ...}``) points to."""
    if "path" not in ref:
        raise MediaPathError(f"a {ref.get('_type', 'media')} reference has no file")
    return resolve_run_path(run_dir, ref["path"])


def _listing(root: Path, skip_hidden: bool = True) -> list[dict[str, Any]]:
    if not root.is_dir():
        return []
    entries = []
    for path in sorted(root.rglob("*")):
        if not path.is_file() or path.is_symlink() or (skip_hidden and path.name.startswith(".")):
            continue
        stat = path.stat()
        entries.append({"name": path.relative_to(root).as_posix(), "size": stat.st_size, "updated": stat.st_mtime})
    return entries


def list_files(run_dir: str | Path) -> list[dict[str, Any]]:
    """The run's saved files (``files/``): ``[{"name", "size", "updated"}]``, names relative to ``files/``."""
    return _listing(files_dir(Path(run_dir)))


def list_media(run_dir: str | Path) -> list[dict[str, Any]]:
    """The run's media files, names relative to the run directory (``media/images/<sha>.png``)."""
    return [dict(entry, name="media/" + entry["name"]) for entry in _listing(media_dir(Path(run_dir)))]


def file_path(run_dir: str | Path, name: str) -> Path:
    """The path of saved file ``name`` (relative to ``files/``, or ``media/...``), checked to stay inside."""
    text = str(name)
    relative = text if text.startswith(("media/", "files/")) else "files/" + text
    return resolve_run_path(run_dir, relative)


def table_to_dataframe(run_dir: str | Path, ref: Mapping[str, Any]) -> Any:
    """A logged Table as a pandas DataFrame; media cells come back as their reference dicts."""
    import pandas as pd

    path = media_path(run_dir, ref)
    if ref.get("format") == "parquet" or path.suffix == ".parquet":
        frame = pd.read_parquet(path)
    else:
        rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        frame = pd.DataFrame(rows, columns=list(ref.get("columns") or (rows[0].keys() if rows else [])))
    for column in ref.get("media_columns") or ():
        frame[column] = pd.Series([json.loads(value) if isinstance(value, str) else None for value in frame[column]],
                                  index=frame.index, dtype=object)
    return frame


def histogram_arrays(ref: Mapping[str, Any]) -> tuple[Any, Any]:
    """(counts, bin_edges) of a logged Histogram, as numpy arrays."""
    import numpy as np

    return np.asarray(ref["values"]), np.asarray(ref["bins"], dtype=float)


def image_array(run_dir: str | Path, ref: Mapping[str, Any]) -> Any:
    """The pixels of a logged Image as a numpy array (needs Pillow)."""
    import numpy as np
    from PIL import Image as PILImage

    with PILImage.open(media_path(run_dir, ref)) as image:
        return np.asarray(image).copy()


def run_table(api_run: Any, key: str, step: int | None = None) -> Any:
    """The Table logged under ``key`` of an :class:`jupyter_tracker.api.public.Run` as a DataFrame.

    The last one logged, or the one at ``step``. Works on any Api backend (local store or
    server): the table file is fetched through ``api_run.file(path).download``.

    >>> run_table(jupyter_tracker.Api().run("mnist/1a2b3c4d"), "predictions")  # doctest: +SKIP
    """
    import tempfile

    found = None
    for row in api_run.scan_history(keys=[key, "_step"]):
        value = row.get(key)
        if isinstance(value, Mapping) and value.get("_type") == "table-file":
            if step is None or row.get("_step") == step:
                found = value
            if step is not None and row.get("_step") == step:
                break
    if found is None:
        at = f" at step {step}" if step is not None else ""
        raise KeyError(f"run {api_run.id} has no Table logged under {key!r}{at}")
    with tempfile.TemporaryDirectory() as directory:
        api_run.file(found["path"]).download(directory)
        return table_to_dataframe(directory, found)


def histograms_over_time(rows: Any, key: str, num_bins: int = 64) -> tuple[Any, Any, Any]:
    """Histograms logged under ``key`` across steps, rebinned onto shared edges: for a heatmap.

    ``rows`` are history rows (dicts with ``_step``). Returns ``(steps, edges, counts)`` with
    ``counts[i]`` the histogram of ``steps[i]`` on ``edges`` (``num_bins + 1`` values spanning every
    histogram); each old bin's count is spread evenly over its width.

    >>> rows = [{"_step": 0, "w": {"_type": "histogram", "bins": [0, 1, 2], "values": [1, 3]}}]
    >>> steps, edges, counts = histograms_over_time(rows, "w", num_bins=4)
    >>> counts.tolist()
    [[0.5, 0.5, 1.5, 1.5]]
    """
    import numpy as np

    found = [(row.get("_step"), row[key]) for row in rows
             if isinstance(row.get(key), Mapping) and row[key].get("_type") == "histogram"]
    if not found:
        return np.zeros(0), np.zeros(0), np.zeros((0, 0))
    low = min(float(ref["bins"][0]) for _, ref in found)
    high = max(float(ref["bins"][-1]) for _, ref in found)
    edges = np.linspace(low, high if high > low else low + 1.0, num_bins + 1)
    counts = np.empty((len(found), num_bins))
    for index, (_, ref) in enumerate(found):
        old_edges = np.asarray(ref["bins"], dtype=float)
        cumulative = np.concatenate([[0.0], np.cumsum(np.asarray(ref["values"], dtype=float))])
        counts[index] = np.diff(np.interp(edges, old_edges, cumulative))
    return np.asarray([step for step, _ in found], dtype=float), edges, counts
