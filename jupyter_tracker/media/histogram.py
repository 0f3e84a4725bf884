"""``Histogram``: a distribution kept as bin edges and counts (never the raw values), at most 512 bins."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from jupyter_tracker.media._files import as_numpy
from jupyter_tracker.values import MediaValue

MAX_BINS = 512


class Histogram(MediaValue):
    """A histogram to log: ``run.log({"weights": Histogram(layer.weight)})``.

    From raw values (``sequence``, binned now into ``num_bins`` bins; NaN and inf are left out)
    or from a precomputed ``np_histogram=(counts, bin_edges)`` as ``numpy.histogram`` returns.

    >>> Histogram([1, 2, 2, 3], num_bins=2).counts.tolist()
    [1, 3]
    """

    media_kind = "histogram"

    def __init__(self, sequence: Sequence[float] | Any | None = None,
                 np_histogram: tuple[Any, Any] | None = None, num_bins: int = 64) -> None:
        if isinstance(num_bins, bool) or not isinstance(num_bins, (int, np.integer)) or not 1 <= num_bins <= MAX_BINS:
            raise ValueError(f"Histogram(num_bins=...) must be an int from 1 to {MAX_BINS}, got {num_bins!r}")
        if np_histogram is not None:
            self.counts, self.bin_edges = _checked_histogram(np_histogram)
        elif sequence is not None:
            values = _values(sequence)
            self.counts, self.bin_edges = np.histogram(values[np.isfinite(values)], bins=int(num_bins))
        else:
            raise ValueError("Histogram() needs sequence=... (values) or np_histogram=(counts, bin_edges)")

    @property
    def num_bins(self) -> int:
        return len(self.counts)

    def encode(self, run_dir: Any) -> dict[str, Any]:
        """Bins and counts go inline in the history row (a few KB at most); no file."""
        return {"_type": "histogram", "bins": self.bin_edges.tolist(), "values": self.counts.tolist()}

    def _repr_html_(self) -> str:
        from jupyter_tracker.media.display import histogram_svg

        return histogram_svg(self.counts, self.bin_edges)

    def __repr__(self) -> str:
        return f"<Histogram {self.num_bins} bins, {int(self.counts.sum())} values>"


def _values(sequence: Any) -> np.ndarray:
    data = as_numpy(sequence)
    try:
        values = np.asarray(data, dtype=np.float64).ravel()
    except (TypeError, ValueError):
        raise TypeError(f"Histogram(sequence=...) needs numbers, got {type(sequence).__name__} "
                        "holding values that are not numbers") from None
    return values


def _checked_histogram(np_histogram: Any) -> tuple[np.ndarray, np.ndarray]:
    try:
        counts_in, edges_in = np_histogram
    except (TypeError, ValueError):
        raise TypeError("Histogram(np_histogram=...) takes a pair (counts, bin_edges), as numpy.histogram returns") from None
    try:
        counts = np.asarray(as_numpy(counts_in), dtype=np.float64).ravel()
        edges = np.asarray(as_numpy(edges_in), dtype=np.float64).ravel()
    except (TypeError, ValueError):
        raise TypeError("Histogram(np_histogram=...): counts and bin_edges must be numbers") from None
    if len(counts) == 0 or len(counts) > MAX_BINS:
        raise ValueError(f"Histogram(np_histogram=...): 1 to {MAX_BINS} bins allowed, got {len(counts)}")
    if len(edges) != len(counts) + 1:
        raise ValueError(f"Histogram(np_histogram=...): {len(counts)} counts need {len(counts) + 1} bin edges, "
                         f"got {len(edges)}")
    if not np.all(np.isfinite(edges)) or np.any(np.diff(edges) < 0):
        raise ValueError("Histogram(np_histogram=...): bin edges must be finite and increasing")
    if not np.all(np.isfinite(counts)) or np.any(counts < 0):
        raise ValueError("Histogram(np_histogram=...): counts must be finite and not negative")
    if np.all(counts == np.rint(counts)):
        return counts.astype(np.int64), edges
    return counts, edges
