"""The tracking server's artifact endpoints: files by digest (each kept once per entity), versions, aliases, lineage.

A client asks which of its files' digests the server lacks, uploads only those (the server
hashes every upload and refuses one whose content does not match its digest, so a stored file
is always what its name says), then commits the version's manifest; a commit that names a file
the server lacks gets 409 with the missing digests. An interrupted upload resumes by asking
again: what arrived is kept. A large file is sent in parts (``PUT blobs/<digest>/part?offset=``,
appended under a file lock, so server processes sharing the disk agree), and a cut-off upload
continues from ``GET blobs/<digest>/part``'s ``received``; downloads can ask for a byte range. Versions, aliases and uses live in a SQLite file under the
server's data directory (as sweeps do), files in the server's file store under
``<data dir>/artifacts``, in one folder per entity. Every call checks the key's access to the entity.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Body, Depends, Query, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
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
#: the largest part a download may ask for (an upload part is bounded by the request size limit)
MAX_PART_BYTES = 64 << 20
_JSON_BODY = Body(...)


def _error(status: int, message: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"error": message, **extra}, status_code=status)


def _blob_name(digest: str) -> str:
    return f"sha256/{digest[:2]}/{digest[2:]}"


class PartialUploads:
    """Files arriving in parts: ``<folder>/<entity key>/<digest>``, appended at the offset the client names."""

    def __init__(self, folder: Path, max_bytes: int) -> None:
        self.folder = folder
        self.max_bytes = max_bytes

    def path(self, key: int, digest: str) -> Path:
        return self.folder / str(int(key)) / digest

    def received(self, key: int, digest: str) -> int:
        path = self.path(key, digest)
        return path.stat().st_size if path.is_file() else 0

    @contextlib.contextmanager
    def locked(self, key: int, digest: str) -> Iterator[int]:
        """The partial file opened for appending, under an exclusive lock (one writer at a time)."""
        path = self.path(key, digest)
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o600)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX)
            yield descriptor
        finally:
            os.close(descriptor)

    def finish(self, key: int, digest: str, target: Path) -> bool:
        """Moves a complete part file into place if it hashes to ``digest``; drops it otherwise."""
        path = self.path(key, digest)
        hasher = hashlib.sha256()
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                hasher.update(block)
        if hasher.hexdigest() != digest:
            path.unlink(missing_ok=True)
            return False
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(path, target)
        return True


def artifact_router(config: ServerConfig, authenticate: Callable[..., Principal]) -> APIRouter:
    """The artifact routes over ``config.data_dir / "artifacts"``."""
    folder = config.data_dir / "artifacts"
    registry = ArtifactRegistry(folder / "registry.sqlite")
    blobs = FileStore(folder, config.max_file_bytes)
    parts = PartialUploads(folder / "partial", config.max_file_bytes)
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

    def blob_path(entity: str, digest: str) -> Path:
        return blobs.run_folder(registry.entity_key(entity)) / _blob_name(digest)

    def has_blob(entity: str, digest: str) -> bool:
        return blob_path(entity, digest).is_file()

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

    @router.get("/blobs/{digest}/part")
    def part_received(entity: str, project: str, digest: str, principal: Principal = Auth) -> Any:
        """How much of a file sent in parts has arrived: ``{"received", "stored"}``."""
        refused = checked(principal, entity, project)
        if refused is not None:
            return refused
        if not is_sha256(digest):
            return _error(400, f"{digest!r} is not a SHA-256 hex digest")
        if has_blob(entity, digest):
            return {"received": blob_path(entity, digest).stat().st_size, "stored": True}
        return {"received": parts.received(registry.entity_key(entity), digest), "stored": False}

    @router.put("/blobs/{digest}/part")
    async def upload_part(entity: str, project: str, digest: str, request: Request,
                          offset: int = Query(..., ge=0), size: int = Query(..., ge=1),  # noqa: B008
                          principal: Principal = Auth) -> Any:
        """Appends the body at ``offset`` of a ``size``-byte file; the last part checks the digest and stores it.

        An ``offset`` other than what has arrived gets 409 with ``received``; nothing is written then.
        """
        refused = checked(principal, entity, project)
        if refused is not None:
            return refused
        if not is_sha256(digest):
            return _error(400, f"{digest!r} is not a SHA-256 hex digest")
        if size > config.max_file_bytes:
            return _error(413, f"file is over the size limit of {config.max_file_bytes} bytes")
        body = await request.body()
        if offset + len(body) > size:
            return _error(400, f"part of {len(body)} bytes at offset {offset} goes past the file's size {size}")
        key = await run_in_threadpool(registry.entity_key, entity)
        if await run_in_threadpool(has_blob, entity, digest):
            return {"received": size, "stored": True}

        def append() -> Any:
            with parts.locked(key, digest) as descriptor:
                received = os.fstat(descriptor).st_size
                if received != offset:
                    return _error(409, f"{received} bytes of this file have arrived; send the part at offset {received}",
                                  received=received)
                os.lseek(descriptor, 0, os.SEEK_END)
                os.write(descriptor, body)
                received += len(body)
                if received < size:
                    return {"received": received, "stored": False}
                if not parts.finish(key, digest, blob_path(entity, digest)):
                    return _error(400, f"the uploaded content does not hash to {digest}; nothing was kept")
                return {"received": received, "stored": True}

        return await run_in_threadpool(append)

    @router.get("/blobs/{digest}")
    def download(entity: str, project: str, digest: str, offset: int = Query(0, ge=0),  # noqa: B008
                 length: int | None = Query(None, ge=1, le=MAX_PART_BYTES), principal: Principal = Auth) -> Any:  # noqa: B008
        """The file's bytes, or ``length`` bytes from ``offset`` (downloads in parts, memory bounded)."""
        refused = checked(principal, entity, project)
        if refused is not None:
            return refused
        if not is_sha256(digest):
            return _error(400, f"{digest!r} is not a SHA-256 hex digest")
        if offset == 0 and length is None:
            try:
                size, chunks = blobs.open(registry.entity_key(entity), _blob_name(digest))
            except (FileNotFoundError, NotADirectoryError):
                return _error(404, f"no artifact file {digest} in entity {entity!r}")
            return StreamingResponse(chunks, media_type="application/octet-stream", headers={"Content-Length": str(size)})
        path = blob_path(entity, digest)
        if path.is_symlink() or not path.is_file():
            return _error(404, f"no artifact file {digest} in entity {entity!r}")
        with open(path, "rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            handle.seek(min(offset, size))
            data = handle.read(max(0, (size if length is None else min(size, offset + length)) - offset))
        return Response(data, media_type="application/octet-stream", headers={"X-Jt-File-Size": str(size)})

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
