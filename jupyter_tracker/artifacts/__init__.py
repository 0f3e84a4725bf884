"""Artifacts: versioned files (datasets, models) logged by runs, deduplicated by content, with lineage.

>>> from jupyter_tracker.artifacts import Artifact  # doctest: +SKIP
"""

from __future__ import annotations

from jupyter_tracker.artifacts.artifact import Artifact, ArtifactFinalizedError, ArtifactVerificationError
from jupyter_tracker.artifacts.manifest import ArtifactManifestEntry, ManifestError
from jupyter_tracker.artifacts.names import ArtifactNameError
from jupyter_tracker.artifacts.registry import ArtifactNotFoundError, ArtifactTypeError

__all__ = [
    "Artifact",
    "ArtifactFinalizedError",
    "ArtifactManifestEntry",
    "ArtifactNameError",
    "ArtifactNotFoundError",
    "ArtifactTypeError",
    "ArtifactVerificationError",
    "ManifestError",
]
