"""The live panel's media row: the latest images of each image key and each histogram key over time.

A :class:`MediaTrack` takes the history rows the :class:`~jupyter_tracker.notebook.live_feed.LiveFeed`
sees (from the writer thread: ``Image`` and ``Histogram`` objects already encoded; from the
run log when the panel starts late: their reference dicts) and keeps, per image key, the last
:data:`IMAGE_STEPS` steps (a list under one key keeps up to :data:`IMAGES_PER_STEP` images a
step) and, per histogram key, up to :data:`HISTOGRAM_COLUMNS` histograms spread over the run.

:func:`build_media_update` packs them for the widget: the PNG bytes as they are on disk and each
histogram key as one float32 heatmap (bins resampled onto a common grid, one column a step),
in one binary buffer. The step slider acts in the browser on those bytes. The bytes sent are
capped (:data:`LIVE_MEDIA_BYTES`, :data:`FINAL_MEDIA_BYTES` for what stays in a saved notebook)
by dropping the oldest steps first; the latest image of each key is always kept.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["MediaTrack", "build_media_update"]

#: steps of each image key the slider can go back over
IMAGE_STEPS = 20
#: images of one step shown when a list was logged under one key
IMAGES_PER_STEP = 8
#: histograms kept per key (older ones are thinned to every other one past this)
HISTOGRAM_COLUMNS = 256
#: rows of the heatmap (the common bins every histogram is resampled onto)
HEATMAP_ROWS = 64
#: image bytes sent while the run goes on, and kept in the widget state after finish()
LIVE_MEDIA_BYTES = 4_000_000
FINAL_MEDIA_BYTES = 1_000_000

_IMAGE_REF = "image-file"
_HISTOGRAM_REF = "histogram"


def _image_source(value: Any) -> tuple[Any, dict[str, Any]] | None:
    """(bytes or a run-relative path, its width/height/caption) for an image value, else None."""
    if getattr(value, "media_kind", None) == "image":
        return value, {"width": value.width, "height": value.height, "caption": value.caption}
    if isinstance(value, Mapping) and value.get("_type") == _IMAGE_REF and isinstance(value.get("path"), str):
        return value["path"], {key: value.get(key) for key in ("width", "height", "caption")}
    return None


def _histogram_arrays(value: Any) -> tuple[np.ndarray, np.ndarray] | None:
    """(bin edges, counts) of a histogram value, else None."""
    if getattr(value, "media_kind", None) == "histogram":
        return np.asarray(value.bin_edges, dtype=np.float64), np.asarray(value.counts, dtype=np.float64)
    if isinstance(value, Mapping) and value.get("_type") == _HISTOGRAM_REF:
        try:
            edges = np.asarray(value.get("bins"), dtype=np.float64)
            counts = np.asarray(value.get("values"), dtype=np.float64)
        except (TypeError, ValueError):
            return None
        if edges.ndim == 1 and counts.ndim == 1 and edges.size == counts.size + 1 and counts.size:
            return edges, counts
    return None


class _HistogramSeries:
    """Histograms of one key spread over the run: every ``stride``-th is kept, the latest always."""

    __slots__ = ("kept", "stride", "seen", "latest")

    def __init__(self) -> None:
        self.kept: list[tuple[float, np.ndarray, np.ndarray]] = []
        self.stride = 1
        self.seen = 0
        self.latest: tuple[float, np.ndarray, np.ndarray] | None = None

    def add(self, entry: tuple[float, np.ndarray, np.ndarray]) -> None:
        if self.seen % self.stride == 0:
            self.kept.append(entry)
            if len(self.kept) >= HISTOGRAM_COLUMNS:
                self.kept = self.kept[::2]
                self.stride *= 2
        self.seen += 1
        self.latest = entry

    def columns(self) -> list[tuple[float, np.ndarray, np.ndarray]]:
        if self.latest is not None and (not self.kept or self.kept[-1] is not self.latest):
            return [*self.kept, self.latest]
        return list(self.kept)


class MediaTrack:
    """Images and histograms of a run's history rows, kept small for the live panel.

    >>> track = MediaTrack(run_dir=None)
    >>> track.take(3, "w", {"_type": "histogram", "bins": [0.0, 1.0, 2.0], "values": [1, 2]})
    True
    >>> track.histogram_keys()
    ['w']
    """

    def __init__(self, run_dir: str | Path | None) -> None:
        self.run_dir = Path(run_dir) if run_dir else None
        self._lock = threading.Lock()
        self._images: dict[str, deque[tuple[float, list[tuple[Any, dict[str, Any]]]]]] = {}
        self._histograms: dict[str, _HistogramSeries] = {}
        self.version = 0

    def take(self, step: float, key: str, value: Any) -> bool:
        """Keeps ``value`` when it is an image, a list of images or a histogram; True when it did."""
        images: list[tuple[Any, dict[str, Any]]] = []
        if isinstance(value, list):
            for item in value:
                source = _image_source(item)
                if source is None:
                    return False
                images.append(source)
        else:
            source = _image_source(value)
            if source is not None:
                images.append(source)
        histogram = None if images else _histogram_arrays(value)
        if not images and histogram is None:
            return False
        with self._lock:
            if images:
                steps = self._images.get(key)
                if steps is None:
                    steps = self._images[key] = deque(maxlen=IMAGE_STEPS)
                steps.append((float(step), images[:IMAGES_PER_STEP]))
                self.version += 1
                return True
            assert histogram is not None
            series = self._histograms.get(key)
            if series is None:
                series = self._histograms[key] = _HistogramSeries()
            series.add((float(step), *histogram))
            self.version += 1
            return True

    def image_keys(self) -> list[str]:
        with self._lock:
            return sorted(self._images)

    def histogram_keys(self) -> list[str]:
        with self._lock:
            return sorted(self._histograms)

    def snapshot(self) -> tuple[dict[str, list[tuple[float, list[tuple[Any, dict[str, Any]]]]]],
                                dict[str, list[tuple[float, np.ndarray, np.ndarray]]]]:
        """Copies of what is kept (lists of references; no bytes copied)."""
        with self._lock:
            images = {key: list(steps) for key, steps in self._images.items()}
            histograms = {key: series.columns() for key, series in self._histograms.items()}
        return images, histograms

    def image_bytes(self, source: Any) -> bytes | None:
        """The PNG bytes of a kept image: from the encoded object, or the file under the run directory."""
        if isinstance(source, str):
            if self.run_dir is None:
                return None
            from jupyter_tracker.media.readback import MediaPathError, resolve_run_path

            try:
                return resolve_run_path(self.run_dir, source).read_bytes()
            except (OSError, MediaPathError):
                return None
        try:
            return bytes(source.png_bytes())
        except Exception:
            return None


def heatmap(columns: list[tuple[float, np.ndarray, np.ndarray]], rows: int = HEATMAP_ROWS
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(steps, common bin edges, counts ``rows × steps``): each histogram resampled onto shared bins.

    Counts are spread evenly within each logged bin (the cumulative count is interpolated), so
    every column keeps its total.

    >>> steps, edges, z = heatmap([(0, np.array([0.0, 1.0]), np.array([4.0])), (1, np.array([0.0, 2.0]), np.array([2.0]))], rows=2)
    >>> edges.tolist(), z.tolist()
    ([0.0, 1.0, 2.0], [[4.0, 1.0], [0.0, 1.0]])
    """
    low = min(float(edges[0]) for _, edges, _ in columns)
    high = max(float(edges[-1]) for _, edges, _ in columns)
    if not high > low:
        low, high = low - 0.5, high + 0.5
    grid = np.linspace(low, high, rows + 1)
    z = np.empty((rows, len(columns)), dtype=np.float32)
    for position, (_, edges, counts) in enumerate(columns):
        cumulative = np.concatenate(([0.0], np.cumsum(counts)))
        z[:, position] = np.diff(np.interp(grid, edges, cumulative))
    steps = np.array([step for step, _, _ in columns], dtype=np.float64)
    return steps, grid, z


def _within_budget(images: dict[str, list[tuple[float, list[Any]]]], sizes: dict[int, int], budget: int
                   ) -> dict[str, list[tuple[float, list[Any]]]]:
    """Drops the oldest steps (from the key holding most) until the bytes fit; the latest of each key stays."""
    kept = {key: list(steps) for key, steps in images.items()}

    def step_bytes(entry: tuple[float, list[Any]]) -> int:
        return sum(sizes.get(id(source), 0) for source, _ in entry[1])

    held = {key: sum(step_bytes(entry) for entry in steps) for key, steps in kept.items()}
    total = sum(held.values())
    while total > budget:
        candidates = [key for key, steps in kept.items() if len(steps) > 1]
        if not candidates:
            break
        key = max(candidates, key=held.__getitem__)
        dropped = step_bytes(kept[key].pop(0))
        held[key] -= dropped
        total -= dropped
    return kept


def build_media_update(track: MediaTrack, final: bool = False) -> tuple[dict[str, Any], bytes]:
    """The media row's index and one binary buffer: PNG bytes of the kept steps, heatmaps as float32.

    ``index["images"]``: per key, its steps, each with items ``{offset, length, width, height,
    caption}``; ``index["histograms"]``: per key, ``steps``, bin ``edges`` and the offset of its
    ``rows × len(steps)`` float32 counts (row-major: one row a bin).
    """
    images, histograms = track.snapshot()
    payloads: dict[int, bytes] = {}
    for steps in images.values():
        for _, items in steps:
            for source, _ in items:
                if id(source) not in payloads:
                    data = track.image_bytes(source)
                    if data is not None:
                        payloads[id(source)] = data
    budget = FINAL_MEDIA_BYTES if final else LIVE_MEDIA_BYTES
    images = _within_budget(images, {key: len(value) for key, value in payloads.items()}, budget)
    chunks: list[bytes] = []
    offset = 0
    written: dict[int, tuple[int, int]] = {}
    image_index = []
    for key in sorted(images):
        step_entries: list[dict[str, Any]] = []
        for step, items in images[key]:
            entries = []
            for source, info in items:
                data = payloads.get(id(source))
                if data is None:
                    continue
                if id(source) not in written:
                    written[id(source)] = (offset, len(data))
                    chunks.append(data)
                    offset += len(data)
                start, length = written[id(source)]
                entries.append({"offset": start, "length": length, "width": info.get("width"),
                                "height": info.get("height"),
                                "caption": None if info.get("caption") is None else str(info["caption"])})
            if entries:
                step_entries.append({"step": step, "items": entries})
        if step_entries:
            image_index.append({"key": key, "steps": step_entries})
    histogram_index = []
    for key in sorted(histograms):
        columns = histograms[key]
        if not columns:
            continue
        histogram_steps, edges, z = heatmap(columns)
        chunks.append(z.tobytes())
        histogram_index.append({"key": key, "steps": histogram_steps.tolist(), "edges": [float(f"{edge:.6g}") for edge in edges],
                                "offset": offset, "rows": int(z.shape[0])})
        offset += z.nbytes
    return {"images": image_index, "histograms": histogram_index, "version": track.version}, b"".join(chunks)
