"""What a run does with artifacts: ``run.log_artifact`` stores a version, ``run.use_artifact`` records lineage.

Local first: a logged artifact is committed to the local store (its files copied once by
digest) before ``log_artifact`` returns; an online run then uploads it to the tracking server
in the background (:mod:`.upload`), sending only the files the server lacks. ``use_artifact``
asks the server first when the run is online (another machine may have logged a newer
version), then the local store.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from jupyter_tracker import console
from jupyter_tracker.artifacts.artifact import Artifact
from jupyter_tracker.artifacts.local_store import LocalArtifactStore
from jupyter_tracker.artifacts.names import ArtifactNameError, check_alias, parse_path
from jupyter_tracker.artifacts.registry import ArtifactNotFoundError

#: how long ``use_artifact`` asks an unresponsive server (at most the run's sync timeout) before the local store
RESOLVE_RETRY_SECONDS = 10.0


def local_store(run: Any) -> LocalArtifactStore:
    """The artifact store beside the run's store root (one per run, opened on first use)."""
    store = getattr(run, "_artifact_store", None)
    if store is None:
        store = LocalArtifactStore(run.settings.root)
        run._artifact_store = store
    return store


def _online(run: Any) -> bool:
    settings = run.settings
    return not run.disabled and settings.mode == "online" and bool(settings.base_url)


def _artifact_from_path(path: str | os.PathLike[str], name: str | None, type_name: str | None) -> Artifact:
    text = os.fspath(path)
    if "://" in text:
        base = Path(urlsplit(text).path).name or "reference"
        artifact = Artifact(name or _clean_name(base), type_name or "unspecified")
        artifact.add_reference(text)
        return artifact
    local = Path(text)
    artifact = Artifact(name or _clean_name(local.name), type_name or "unspecified")
    if local.is_dir():
        artifact.add_dir(local)
    elif local.is_file():
        artifact.add_file(local)
    else:
        raise FileNotFoundError(f"log_artifact: {text} is not a file, a folder or a URI")
    return artifact


def _check_running(run: Any, what: str) -> None:
    if getattr(run, "_finished", False):
        from jupyter_tracker.tracked_run import RunFinishedError

        raise RunFinishedError(f"run {run.id} is finished; {what} needs a running run (call jupyter_tracker.init())")


def _clean_name(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "-", text)[:128] or "artifact"


def log_artifact(run: Any, artifact_or_path: Artifact | str | os.PathLike[str], name: str | None = None,
                 type: str | None = None, aliases: Sequence[str] | None = None,  # noqa: A002 - wandb's name
                 tags: Sequence[str] | None = None) -> Artifact:
    """Logs an artifact (or a file, folder or URI as one) as the run's output; returns it, versioned."""
    _check_running(run, "log_artifact")
    if isinstance(artifact_or_path, Artifact):
        artifact = artifact_or_path
    elif isinstance(artifact_or_path, (str, os.PathLike)):
        artifact = _artifact_from_path(artifact_or_path, name, type)
    else:
        raise TypeError(f"log_artifact takes an Artifact or a path, not {artifact_or_path.__class__.__name__}")
    if isinstance(aliases, str):
        aliases = [aliases]
    wanted = [check_alias(alias) if alias != "latest" else alias for alias in (aliases or [])]
    if run.disabled:
        return artifact
    store = local_store(run)
    record = store.commit(artifact, run.project, run.entity, wanted, run.id)
    artifact._bind(record, store)
    if _online(run):
        from jupyter_tracker.artifacts.upload import uploader_for

        uploader_for(run).push(record)
    return artifact


def use_artifact(run: Any, artifact_or_name: Artifact | str, type: str | None = None,  # noqa: A002
                 aliases: Sequence[str] | None = None, use_as: str | None = None) -> Artifact:
    """Marks a logged version as the run's input and returns it (``download()`` it to read its files).

    ``"name"``, ``"name:alias"``, ``"name:v3"``, ``"project/name:alias"`` or a logged ``Artifact``.
    """
    _check_running(run, "use_artifact")
    if isinstance(artifact_or_name, Artifact):
        if artifact_or_name._record is None:
            raise ArtifactNameError(f"use_artifact: artifact {artifact_or_name.name} is not logged yet; log it first")
        artifact = artifact_or_name
    elif isinstance(artifact_or_name, str):
        artifact = _resolve(run, artifact_or_name)
    else:
        raise TypeError(f"use_artifact takes an artifact name or an Artifact, not {artifact_or_name.__class__.__name__}")
    if type is not None and artifact.type != type:
        raise ValueError(f"use_artifact: {artifact.qualified_name} has type {artifact.type!r}, not {type!r}")
    if run.disabled:
        return artifact
    record = artifact._record
    assert record is not None
    if artifact._source.kind == "local":
        artifact._source.record_use(record, run.id)
        if _online(run):
            from jupyter_tracker.artifacts.upload import uploader_for

            uploader_for(run).record_use(record, run.id)
    else:
        try:
            artifact._source.record_use(record, run.id)
        except Exception as error:  # lineage must not stop the run
            console.warn_once("artifact-use", f"could not record that run {run.id} used {artifact.name} "
                                              f"({error.__class__.__name__}: {error})")
    return artifact


def _resolve(run: Any, spec: str) -> Artifact:
    path = parse_path(spec)
    project = path.project or run.project
    if _online(run):
        from jupyter_tracker.artifacts.remote_store import remote_store_for

        try:
            patience = min(RESOLVE_RETRY_SECONDS, float(run.settings.sync_timeout))
            remote = remote_store_for(run.settings, retry_seconds=patience)
            return Artifact._from_record(remote.resolve(path.entity or run.entity, project, path.name, path.selector),
                                         remote)
        except ArtifactNotFoundError:
            pass
        except Exception as error:  # unreachable server: the local store may still hold it
            console.warn_once("artifact-resolve", f"could not ask {run.settings.base_url} for {spec} "
                                                  f"({error.__class__.__name__}: {error}); looking in the local store")
    store = local_store(run)
    return Artifact._from_record(store.resolve(path.entity or run.entity, project, path.name, path.selector), store)
