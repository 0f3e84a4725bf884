"""Artifacts in the local store: files kept once by digest under ``<root>/artifacts/objects``,
versions and lineage in ``<root>/artifacts/registry.sqlite`` (root: ``WANDB_DIR``/``./jupyter_tracker``).
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any

from jupyter_tracker.artifacts.content_store import ContentStore
from jupyter_tracker.artifacts.manifest import entries_to_json, manifest_digest
from jupyter_tracker.artifacts.registry import ArtifactRegistry

ARTIFACTS_DIR = "artifacts"


class LocalArtifactStore:
    """The artifacts under one store root; the source of logged and used artifacts offline.

    >>> store = LocalArtifactStore(Path("jupyter_tracker"))  # doctest: +SKIP
    >>> store.resolve(None, "mnist", "model", "latest")["version"]  # doctest: +SKIP
    """

    kind = "local"

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        folder = self.root / ARTIFACTS_DIR
        self.objects = ContentStore(folder / "objects")
        self.registry = ArtifactRegistry(folder / "registry.sqlite")

    def __repr__(self) -> str:
        return f"<LocalArtifactStore {self.root}>"

    # writing -----------------------------------------------------------------------------------
    def commit(self, artifact: Any, project: str, entity: str | None, aliases: list[str],
               logged_by: str | None) -> dict[str, Any]:
        """Stores the artifact's files (each content once) and adds or finds its version.

        A file already held by digest is not copied again; a file that changed since it was added
        is stored as it is now and its entry follows.
        """
        entries = artifact._entries
        for entry in entries.values():
            if entry.ref is not None or entry.local_path is None:
                continue
            entry.digest, entry.size, _ = self.objects.put_file(Path(entry.local_path), entry.digest)
        manifest = entries_to_json(entries.values())
        digest = manifest_digest(entries.values())
        record = self.registry.commit(
            "", project, artifact._base_name, artifact.type, digest, manifest,
            artifact.description, artifact.metadata, aliases, logged_by,
        )
        for entry in entries.values():
            if entry.is_tmp and entry.local_path:
                with contextlib.suppress(OSError):
                    os.unlink(entry.local_path)
        return record

    def set_aliases(self, record: dict[str, Any], aliases: list[str]) -> dict[str, Any]:
        return self.registry.set_aliases(record["entity"] or "", record["project"], record["name"],
                                         record["version"], aliases)

    def record_use(self, record: dict[str, Any], run_id: str) -> None:
        self.registry.record_use(record["entity"] or "", record["project"], record["name"], record["version"], run_id)

    # reading -----------------------------------------------------------------------------------
    def resolve(self, entity: str | None, project: str, name: str, selector: str) -> dict[str, Any]:
        return self.registry.resolve("", project, name, selector)  # local runs share one namespace

    def versions(self, entity: str | None, project: str, name: str, type_name: str | None = None) -> list[dict[str, Any]]:
        return self.registry.versions("", project, name, type_name)

    def run_versions(self, entity: str | None, project: str, run_id: str, which: str) -> list[dict[str, Any]]:
        """The versions run ``run_id`` ``logged`` or ``used``."""
        listing = self.registry.logged_by_run if which == "logged" else self.registry.used_by_run
        return listing("", project, run_id)

    def used_by(self, record: dict[str, Any]) -> list[str]:
        return self.registry.used_by(record["entity"] or "", record["project"], record["name"], record["version"])

    def fetch(self, record: dict[str, Any], digest: str, target: Path) -> Path:
        """Copies the stored content ``digest`` to ``target``."""
        if not self.objects.has(digest):
            raise FileNotFoundError(f"the local store {self.root} holds no file with digest {digest[:12]}...")
        return self.objects.copy_out(digest, target)

    def run(self, record: dict[str, Any], run_id: str) -> Any:
        """The public-API run ``run_id`` of the record's project (for ``logged_by``/``used_by``)."""
        from jupyter_tracker.api.local import LocalBackend
        from jupyter_tracker.api.public import Run

        backend = LocalBackend(self.root)
        return Run(backend, backend.get_run(None, record["project"], run_id), complete=True)
