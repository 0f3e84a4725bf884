"""The tracking server's artifact endpoints: files by digest (each kept once per entity), versions, aliases, lineage.

A client asks which of its files' digests the server lacks, uploads only those (the server
hashes every upload and refuses one whose content does not match its digest, so a stored file
is always what its name says), then commits the version's manifest; a commit that names a file
the server lacks gets 409 with the missing digests. An interrupted upload resumes by asking
again: what arrived is kept. Versions, aliases and uses live in a SQLite file under the
server's data directory (as sweeps do), files in the server's file store under
``<data dir>/artifacts``, in one folder per entity. Every call checks the key's access to the entity.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Body, Depends, Request
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.concurrency import run_in_threadpool

from jupyter_tracker.artifacts.manifest import (
    ManifestError,
    entries_from_json,
    entries_to_json,
    is_sha256,
    manifest_digest,
)
from jupyter_tracker.artifacts.names import ArtifactNameError, check_name
from jupyter_tracker.artifacts.registry import ArtifactNotFoundError, ArtifactRegistry, ArtifactTypeError
from jupyter_tracker.server.config import ServerConfig
from jupyter_tracker.server.file_store import FileStore, FileTooLarge
from jupyter_tracker.server.storage import Principal

API = "/api/v1"
#: digests one ``blobs/missing`` question may name
MAX_DIGESTS = 100_000
_JSON_BODY = Body(...)


def _error(status: int, message: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"error": message, **extra}, status_code=status)


def _blob_name(digest: str) -> str:
    return f"sha256/{digest[:2]}/{digest[2:]}"


def artifact_router(config: ServerConfig, authenticate: Callable[..., Principal]) -> APIRouter:
    """The artifact routes over ``config.data_dir / "artifacts"``."""
    folder = config.data_dir / "artifacts"
    registry = ArtifactRegistry(folder / "registry.sqlite")
    blobs = FileStore(folder, config.max_file_bytes)
    router = APIRouter(prefix=f"{API}/artifacts/{{entity}}/{{project}}", tags=["artifacts"])
    Auth = Depends(authenticate)

    def checked(principal: Principal, entity: str, project: str) -> JSONResponse | None:
        if entity not in principal.entities:
            return _error(403, f"this key has no access to entity {entity!r}")
        try:
            check_name(project, "project")
        except ArtifactNameError as error:
            return _error(400, str(error))
        return None

    def has_blob(entity: str, digest: str) -> bool:
        return (blobs.run_folder(registry.entity_key(entity)) / _blob_name(digest)).is_file()

    def guarded(action: Callable[[], Any]) -> Any:
        try:
            return action()
        except ArtifactNotFoundError as error:
            return _error(404, str(error))
        except (ArtifactNameError, ArtifactTypeError, ManifestError, ValueError, TypeError) as error:
            return _error(400, str(error))

    @router.post("/blobs/missing")
    def missing(entity: str, project: str, body: dict[str, Any] = _JSON_BODY, principal: Principal = Auth) -> Any:
        """``{"digests": [...]}`` → ``{"missing": [...]}``: the files the client still has to upload."""
        refused = checked(principal, entity, project)
        if refused is not None:
            return refused
        digests = body.get("digests")
        if not isinstance(digests, list) or len(digests) > MAX_DIGESTS or not all(is_sha256(d) for d in digests):
            return _error(400, f'body must be {{"digests": [SHA-256 hex, ...]}} with at most {MAX_DIGESTS} digests')
        return {"missing": [digest for digest in dict.fromkeys(digests) if not has_blob(entity, digest)]}

    @router.put("/blobs/{digest}")
    async def upload(entity: str, project: str, digest: str, request: Request, principal: Principal = Auth) -> Any:
        """Stores the body as the file ``digest`` if it hashes to it (400 and nothing kept otherwise)."""
        refused = checked(principal, entity, project)
        if refused is not None:
            return refused
        if not is_sha256(digest):
            return _error(400, f"{digest!r} is not a SHA-256 hex digest")
        declared = request.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > config.max_file_bytes:
            return _error(413, f"file is over the size limit of {config.max_file_bytes} bytes")
        key = await run_in_threadpool(registry.entity_key, entity)
        if await run_in_threadpool(has_blob, entity, digest):
            return {"digest": digest, "stored": False}
        incoming = await run_in_threadpool(blobs.begin_upload, key, _blob_name(digest))
        hasher = hashlib.sha256()
        try:
            async for chunk in request.stream():
                if chunk:
                    hasher.update(chunk)
                    await run_in_threadpool(incoming.write, chunk)
            if hasher.hexdigest() != digest:
                return _error(400, f"the uploaded content hashes to {hasher.hexdigest()}, not {digest}; nothing was kept")
            size = await run_in_threadpool(incoming.commit)
        except FileTooLarge as error:
            return _error(413, str(error))
        finally:
            incoming.abort()
        return {"digest": digest, "size": size, "stored": True}

    @router.get("/blobs/{digest}")
    def download(entity: str, project: str, digest: str, principal: Principal = Auth) -> Any:
        refused = checked(principal, entity, project)
        if refused is not None:
            return refused
        if not is_sha256(digest):
            return _error(400, f"{digest!r} is not a SHA-256 hex digest")
        try:
            size, chunks = blobs.open(registry.entity_key(entity), _blob_name(digest))
        except (FileNotFoundError, NotADirectoryError):
            return _error(404, f"no artifact file {digest} in entity {entity!r}")
        return StreamingResponse(chunks, media_type="application/octet-stream", headers={"Content-Length": str(size)})

    @router.post("/collections/{name}/versions")
    def commit(entity: str, project: str, name: str, body: dict[str, Any] = _JSON_BODY, principal: Principal = Auth) -> Any:
        """Commits a version: ``{"type", "entries", "aliases", "description", "metadata", "run_id"}``.

        The digest is computed here; content equal to an existing version adds none.
        """
        refused = checked(principal, entity, project)
        if refused is not None:
            return refused

        def act() -> Any:
            entries = entries_from_json(body.get("entries"))
            lacking = sorted({e.digest for e in entries.values() if e.ref is None and not has_blob(entity, e.digest)})
            if lacking:
                return _error(409, f"{len(lacking)} file(s) of the artifact are not uploaded yet", missing=lacking)
            aliases = body.get("aliases") or []
            metadata = body.get("metadata") or {}
            if not isinstance(aliases, list) or not isinstance(metadata, dict):
                raise ValueError("aliases must be a list and metadata an object")
            run_id = body.get("run_id")
            description = body.get("description")
            return registry.commit(
                entity, project, check_name(name), str(body.get("type")), manifest_digest(entries.values()),
                entries_to_json(entries.values()), str(description) if description is not None else None, metadata,
                [str(alias) for alias in aliases], check_name(run_id, "run id") if run_id else None,
            )

        return guarded(act)

    @router.get("/collections/{name}")
    def versions(entity: str, project: str, name: str, type: str | None = None,  # noqa: A002
                 principal: Principal = Auth) -> Any:
        refused = checked(principal, entity, project)
        if refused is not None:
            return refused
        return guarded(lambda: {"versions": registry.versions(entity, project, check_name(name), type)})

    @router.get("/collections/{name}/{selector}")
    def resolve(entity: str, project: str, name: str, selector: str, principal: Principal = Auth) -> Any:
        refused = checked(principal, entity, project)
        if refused is not None:
            return refused
        return guarded(lambda: registry.resolve(entity, project, check_name(name), selector))

    @router.put("/collections/{name}/{selector}/aliases")
    def set_aliases(entity: str, project: str, name: str, selector: str, body: dict[str, Any] = _JSON_BODY,
                    principal: Principal = Auth) -> Any:
        refused = checked(principal, entity, project)
        if refused is not None:
            return refused

        def act() -> Any:
            aliases = body.get("aliases")
            if not isinstance(aliases, list):
                raise ValueError('body must be {"aliases": [...]}')
            version = registry.resolve(entity, project, check_name(name), selector)["version"]
            return registry.set_aliases(entity, project, name, version, [str(alias) for alias in aliases])

        return guarded(act)

    @router.post("/collections/{name}/{selector}/uses")
    def use(entity: str, project: str, name: str, selector: str, body: dict[str, Any] = _JSON_BODY,
            principal: Principal = Auth) -> Any:
        """Records that run ``{"run_id"}`` used the version (lineage)."""
        refused = checked(principal, entity, project)
        if refused is not None:
            return refused

        def act() -> Any:
            run_id = check_name(body.get("run_id"), "run id")
            version = registry.resolve(entity, project, check_name(name), selector)["version"]
            registry.record_use(entity, project, name, version, run_id)
            return {"ok": True, "version": version}

        return guarded(act)

    @router.get("/collections/{name}/{selector}/uses")
    def uses(entity: str, project: str, name: str, selector: str, principal: Principal = Auth) -> Any:
        refused = checked(principal, entity, project)
        if refused is not None:
            return refused

        def act() -> Any:
            version = registry.resolve(entity, project, check_name(name), selector)["version"]
            return {"runs": registry.used_by(entity, project, name, version)}

        return guarded(act)

    @router.get("/runs/{run_id}/{which}")
    def run_artifacts(entity: str, project: str, run_id: str, which: str, principal: Principal = Auth) -> Any:
        """The versions a run ``logged`` or ``used``: ``{"versions": [...]}``."""
        refused = checked(principal, entity, project)
        if refused is not None:
            return refused
        if which not in ("logged", "used"):
            return _error(404, f"no such listing {which!r}: use 'logged' or 'used'")
        listing = registry.logged_by_run if which == "logged" else registry.used_by_run
        return {"versions": listing(entity, project, run_id)}

    return router
