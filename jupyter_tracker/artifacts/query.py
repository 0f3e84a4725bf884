"""``Api().artifact("project/name:alias")`` and ``Api().artifacts(type, "project/name")``: stored versions.

The artifact store follows the ``Api``'s backend: the local store under its root, or the
tracking server it reads from.
"""

from __future__ import annotations

from typing import Any

from jupyter_tracker.artifacts.artifact import Artifact
from jupyter_tracker.artifacts.local_store import LocalArtifactStore
from jupyter_tracker.artifacts.names import check_name, parse_path


def artifact_store_for(api: Any) -> Any:
    """The artifact store beside the runs an ``Api`` reads."""
    return _store_for_backend(api.backend, api.settings.root)


def _store_for_backend(backend: Any, default_root: Any = None) -> Any:
    if getattr(backend, "kind", None) == "remote":
        from jupyter_tracker.artifacts.remote_store import RemoteArtifactStore

        return RemoteArtifactStore(backend)
    return LocalArtifactStore(getattr(backend, "root", None) or default_root)


def run_artifacts(run: Any, which: str) -> list[Artifact]:
    """The versions a public-API ``Run`` ``logged`` or ``used``, oldest first."""
    store = _store_for_backend(run._backend)
    return [Artifact._from_record(record, store) for record in store.run_versions(run.entity, run.project, run.id, which)]


def artifact(api: Any, name: str, type_name: str | None = None) -> Artifact:
    """One version by ``name:alias``, ``project/name:v3`` or ``entity/project/name:alias`` (alias default ``latest``)."""
    path = parse_path(name)
    store = artifact_store_for(api)
    record = store.resolve(path.entity or api.default_entity, path.project or api.settings.project, path.name,
                           path.selector)
    found = Artifact._from_record(record, store)
    if type_name is not None and found.type != type_name:
        raise ValueError(f"artifact {found.qualified_name} has type {found.type!r}, not {type_name!r}")
    return found


def artifacts(api: Any, type_name: str, name: str) -> list[Artifact]:
    """Every version of ``project/name`` (or ``name``) of that type, oldest first."""
    path = parse_path(name)
    if ":" in name.rsplit("/", 1)[-1]:
        raise ValueError(f"Api().artifacts: give the artifact's name without a version or alias, not {name!r}")
    check_name(type_name, "artifact type")
    store = artifact_store_for(api)
    records = store.versions(path.entity or api.default_entity, path.project or api.settings.project, path.name,
                             type_name)
    return [Artifact._from_record(record, store) for record in records]
