"""Media to log (``Image``, ``Histogram``, ``Table``, ``Audio``, ``Html``): validated when made, written later.

``log()`` keeps only a reference; the run's writer thread calls ``encode(run_dir)``, which writes
the file under ``media/`` (named by its content hash) and returns the small reference dict that
the history row stores. ``readback`` reads them back for the Api.
"""

from __future__ import annotations

from jupyter_tracker.media.audio import Audio
from jupyter_tracker.media.histogram import Histogram
from jupyter_tracker.media.html import Html
from jupyter_tracker.media.image import Image
from jupyter_tracker.media.table import Table
from jupyter_tracker.media.video import Video

__all__ = ["Audio", "Histogram", "Html", "Image", "Table", "Video"]
