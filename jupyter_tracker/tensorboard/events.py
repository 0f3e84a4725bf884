"""TensorBoard events to run values: scalars, histograms and images of one ``Event`` protobuf.

Handles both shapes a summary value comes in: the legacy fields (``simple_value``, ``histo``,
``image``: what ``torch.utils.tensorboard`` and tensorboardX write) and tensors tagged by a
plugin (``scalars``, ``histograms``, ``images``: what ``tf.summary`` writes, and what
TensorBoard's ``EventFileLoader`` turns legacy values into). Works on tensorboard's and
tensorboardX's protobuf classes alike (duck-typed); other plugins' values are skipped.
"""

from __future__ import annotations

import math
import os
import tempfile
from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass
class EventValues:
    """The values of one event: ``step`` and ``{tag: number | Histogram | Image}``."""

    step: int
    wall_time: float
    values: dict[str, Any] = field(default_factory=dict)


class TagPlugins:
    """Remembers each tag's plugin: only the first value of a tag carries its metadata."""

    def __init__(self) -> None:
        self.by_tag: dict[str, str] = {}

    def plugin_of(self, value: Any) -> str | None:
        metadata = getattr(value, "metadata", None)
        name = metadata.plugin_data.plugin_name if metadata is not None and value.HasField("metadata") else ""
        if name:
            self.by_tag[value.tag] = name
            return name
        return self.by_tag.get(value.tag)


def event_values(event: Any, plugins: TagPlugins) -> EventValues | None:
    """The values of an event holding a summary; None for any other event (file version, graph...)."""
    if not event.HasField("summary"):
        return None
    found = EventValues(int(event.step), float(event.wall_time))
    for value in event.summary.value:
        try:
            converted = _value(value, plugins)
        except Exception as error:  # one odd value must not cost the event its other values
            from jupyter_tracker import console

            console.warn_once(f"tensorboard-value-{type(error).__name__}",
                              f"TensorBoard value {value.tag!r} was skipped ({type(error).__name__}: {error})")
            continue
        if converted is not None:
            found.values[value.tag] = converted
    return found


def _value(value: Any, plugins: TagPlugins) -> Any:
    kind = value.WhichOneof("value")
    if kind == "simple_value":
        return float(value.simple_value)
    if kind == "histo":
        return _histogram_from_proto(value.histo)
    if kind == "image":
        return _image_from_png(bytes(value.image.encoded_image_string))
    if kind == "tensor":
        plugin = plugins.plugin_of(value)
        array = _tensor_array(value.tensor)
        if array is None:
            return None
        if plugin == "scalars" or (plugin is None and array.size == 1 and array.dtype.kind in "fiu"):
            return float(array.reshape(-1)[0])
        if plugin == "histograms" and array.ndim == 2 and array.shape[1] == 3:
            return _histogram_from_buckets(array.astype(np.float64))
        if plugin == "images" and array.dtype.kind in "OS" and array.size >= 3:
            return _image_from_png(bytes(array.reshape(-1)[2]))
    return None


def _tensor_array(tensor: Any) -> np.ndarray | None:
    try:
        from tensorboard.util import tensor_util

        return np.asarray(tensor_util.make_ndarray(tensor))
    except Exception:  # a tensorboardX proto or an unusual dtype: the plain value lists
        for name in ("float_val", "double_val", "int_val", "int64_val"):
            listed = list(getattr(tensor, name, []) or [])
            if listed:
                return np.asarray(listed, dtype=np.float64)
        strings = list(getattr(tensor, "string_val", []) or [])
        return np.asarray(strings, dtype=object) if strings else None


def _histogram_from_proto(histo: Any) -> Any:
    limits = [float(limit) for limit in histo.bucket_limit]
    counts = [float(count) for count in histo.bucket]
    if not counts:
        return None
    low, high = float(histo.min), float(histo.max)
    edges = [low]
    for limit in limits:
        edge = limit if math.isfinite(limit) else high
        edges.append(max(edge, edges[-1] + 1e-12 * max(1.0, abs(edges[-1]))))
    return _histogram(np.asarray(counts), np.asarray(edges))


def _histogram_from_buckets(buckets: np.ndarray) -> Any:
    if buckets.shape[0] == 0:
        return None
    edges = np.concatenate([buckets[:, 0], buckets[-1:, 1]])
    if not np.all(np.diff(edges) > 0):  # a single-value histogram: one bucket of zero width
        edges = np.linspace(edges[0] - 0.5, edges[0] + 0.5, len(edges))
    return _histogram(buckets[:, 2], edges)


def _histogram(counts: np.ndarray, edges: np.ndarray) -> Any:
    """A ``Histogram`` of TensorBoard buckets: empty buckets at both ends dropped, merged down to 512 at most."""
    from jupyter_tracker.media import Histogram
    from jupyter_tracker.media.histogram import MAX_BINS

    counts = np.clip(np.asarray(counts, dtype=np.float64), 0, None)
    filled = np.flatnonzero(counts)
    if filled.size:
        first, last = int(filled[0]), int(filled[-1]) + 1
        counts, edges = counts[first:last], edges[first:last + 1]
    if len(counts) > MAX_BINS:
        group = -(-len(counts) // MAX_BINS)
        padded = np.concatenate([counts, np.zeros((-len(counts)) % group)])
        counts = padded.reshape(-1, group).sum(axis=1)
        edges = np.concatenate([edges[:-1:group], edges[-1:]])
    return Histogram(np_histogram=(counts, edges))


def _image_from_png(data: bytes) -> Any:
    from jupyter_tracker.media import Image

    handle, path = tempfile.mkstemp(suffix=".png", prefix="jt-tb-")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        return Image(path)
    finally:
        os.unlink(path)
