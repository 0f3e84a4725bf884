"""The tracking server's reports: saved versions, a read-only page per report, and share links.

A report belongs to an entity and a project; saving and reading need a key with access to that
entity. The page at ``/reports/<entity>/<project>/<id>`` renders the report from the server's own
runs (only runs of the report's entity, whatever its run sets name) for a request with such a
key; ``/reports/shared?token=<token>`` renders it for anyone holding a share token until the
token is revoked (a query value named ``token``, which the access log masks), within the
server's rate limit for requests without a key (per client address: token guessing is slowed).
Reports live in the data directory (``reports/<entity>/<project>/<id>/v*.json``, see
:class:`jupyter_tracker.reports.storage.ReportFolder`); share tokens are kept only as hashes.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import secrets
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from fastapi import APIRouter, Body, Depends, Request
from fastapi.responses import HTMLResponse, JSONResponse

from jupyter_tracker.server.config import ServerConfig
from jupyter_tracker.server.file_store import FileStore
from jupyter_tracker.server.rate_limit import RateLimiter, SharedRateLimiter
from jupyter_tracker.server.storage import NotFound, Principal, Storage

API = "/api/v1"
_JSON_BODY: Any = Body(...)
#: a page may run only its own script (nonce); styles and embedded images are allowed, nothing is fetched
_CSP = ("default-src 'none'; script-src 'nonce-{nonce}'; style-src 'unsafe-inline'; img-src data: https:; "
        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'")


def _answer(description: str) -> dict[str, Any]:
    return {"description": description,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}


#: the error answers of the JSON routes (401, 403, 429 are added for every authenticated route)
_ERRORS: dict[int | str, dict[str, Any]] = {
    400: _answer("A name, id or report document that cannot be used; the message names it."),
    403: _answer("The key has no access to the entity."),
    404: _answer("No such report, version or share token."),
}


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


class StorageRuns:
    """The server's runs of one entity, as the ``Api`` backend that report panels read.

    Every call is held to ``entity``: a report's run set cannot name another entity's runs.
    """

    kind = "server"

    def __init__(self, storage: Storage, files: FileStore, entity: str) -> None:
        self.storage = storage
        self.file_store = files
        self.entity = entity

    def list_runs(self, entity: str | None, project: str | None, filters: Mapping[str, Any] | None,
                  order: str | None, per_page: int) -> Any:
        from jupyter_tracker.api import filters as run_filters
        from jupyter_tracker.api.backend import RecordPages

        runs = self.storage.query_runs(self.entity, project or "") if project else []
        if filters:
            runs = run_filters.filter_runs(runs, filters)
        return RecordPages(run_filters.sort_runs(runs, order), per_page)

    def get_run(self, entity: str | None, project: str | None, run_id: str) -> Any:
        from jupyter_tracker.api.backend import RunNotFoundError

        try:
            return self.storage.get_run(self.entity, project or "", run_id)
        except NotFound:
            raise RunNotFoundError(f"no run {run_id!r}") from None

    def history_rows(self, entity: str | None, project: str, run_id: str, keys: Sequence[str] | None = None,
                     min_step: int | None = None, max_step: int | None = None,
                     page_size: int = 1000) -> Iterator[dict[str, Any]]:
        pk = self.storage.run_pk(self.entity, project, run_id)
        step = min_step or 0
        while True:
            rows = self.storage.scan_rows(pk, step, page_size)
            for row in rows:
                if max_step is not None and row.get("_step", 0) >= max_step:
                    return
                yield row
            if len(rows) < page_size:
                return
            step = int(rows[-1].get("_step", step)) + 1

    def files(self, entity: str | None, project: str, run_id: str) -> list[dict[str, Any]]:
        pk = self.storage.run_pk(self.entity, project, run_id)
        return [dict(item) for item in self.file_store.list(pk)]

    def download_file(self, entity: str | None, project: str, run_id: str, name: str, root: Path,
                      replace: bool = False) -> Path:
        pk = self.storage.run_pk(self.entity, project, run_id)
        _, chunks = self.file_store.open(pk, name)
        target = Path(root) / Path(name).name
        with target.open("wb") as stream:
            for chunk in chunks:
                stream.write(chunk)
        return target

    def projects(self, entity: str | None) -> list[str]:
        return []


class ShareTokens:
    """Read-only share tokens, kept as SHA-256 hashes: ``<data_dir>/report_shares/<hash>.json``."""

    def __init__(self, root: Path) -> None:
        self.root = root

    @staticmethod
    def _hash(token: str) -> str:
        return hashlib.sha256(token.encode("utf-8")).hexdigest()

    def create(self, entity: str, project: str, report_id: str) -> str:
        token = secrets.token_urlsafe(24)
        self.root.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=self.root, suffix=".part")
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            json.dump({"entity": entity, "project": project, "id": report_id}, stream)
        os.replace(temporary, self.root / f"{self._hash(token)}.json")
        return token

    def lookup(self, token: str) -> dict[str, str] | None:
        if not token or len(token) > 128:
            return None
        path = self.root / f"{self._hash(token)}.json"
        try:
            return dict(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError):
            return None

    def revoke(self, token: str) -> dict[str, str] | None:
        found = self.lookup(token)
        if found is not None:
            (self.root / f"{self._hash(token)}.json").unlink(missing_ok=True)
        return found


def report_router(config: ServerConfig, storage: Storage, authenticate: Callable[..., Principal]) -> APIRouter:
    """The report routes (JSON under ``/api/v1/reports``, pages under ``/reports``)."""
    from jupyter_tracker.reports import model
    from jupyter_tracker.reports.storage import ReportFolder, ReportNotFoundError, check_name

    reports_root = Path(config.data_dir) / "reports"
    shares = ShareTokens(Path(config.data_dir) / "report_shares")
    files = FileStore(config.data_dir, config.max_file_bytes)
    router = APIRouter(tags=["reports"])
    Auth = Depends(authenticate)

    def folder(entity: str) -> ReportFolder:
        return ReportFolder(reports_root / check_name(entity, "entity"))

    def allowed(principal: Principal, entity: str) -> JSONResponse | None:
        if entity not in principal.entities:
            return _error(403, f"this key has no access to entity {entity!r}")
        return None

    def guarded(action: Callable[[], Any]) -> Any:
        try:
            return action()
        except ReportNotFoundError as error:
            return _error(404, str(error))
        except (ValueError, model.ReportFormatError) as error:
            return _error(400, str(error))

    def page(entity: str, project: str, report_id: str) -> HTMLResponse:
        from jupyter_tracker.reports.html import render_document

        report = folder(entity).load(project, report_id)
        report.entity, report.project = entity, project
        api = SimpleNamespace(backend=StorageRuns(storage, files, entity), default_entity=entity)
        nonce = secrets.token_urlsafe(16)
        document = render_document(report, api, nonce=nonce, local_files=False)  # type: ignore[arg-type]
        return HTMLResponse(document, headers={"Content-Security-Policy": _CSP.format(nonce=nonce),
                                               "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer",
                                               "Cache-Control": "no-store"})

    @router.post(f"{API}/reports/{{entity}}/{{project}}", responses=_ERRORS)
    def save(entity: str, project: str, body: dict[str, Any] = _JSON_BODY, principal: Principal = Auth) -> Any:
        """Saves a report document as a new version (a new id when it has none): ``{id, version}``."""
        if (refused := allowed(principal, entity)) is not None:
            return refused

        def act() -> Any:
            report = model.Report.from_dict(body)
            report.entity, report.project = entity, check_name(project, "project")
            saved = folder(entity).save(report)
            return {"id": saved.id, "version": saved.version, "page": f"/reports/{entity}/{project}/{saved.id}"}

        return guarded(act)

    @router.get(f"{API}/reports/{{entity}}/{{project}}", responses=_ERRORS)
    def listing(entity: str, project: str, principal: Principal = Auth) -> Any:
        """The project's saved reports, newest change first."""
        if (refused := allowed(principal, entity)) is not None:
            return refused
        return guarded(lambda: {"reports": [vars(saved) for saved in folder(entity).list(project)]})

    @router.get(f"{API}/reports/{{entity}}/{{project}}/{{report_id}}", responses=_ERRORS)
    def document(entity: str, project: str, report_id: str, version: int | None = None,
                 principal: Principal = Auth) -> Any:
        """One saved report's JSON document (latest version unless ``version``)."""
        if (refused := allowed(principal, entity)) is not None:
            return refused
        return guarded(lambda: folder(entity).read_document(project, report_id, version))

    @router.post(f"{API}/reports/{{entity}}/{{project}}/{{report_id}}/shares", responses=_ERRORS)
    def share(entity: str, project: str, report_id: str, principal: Principal = Auth) -> Any:
        """A new read-only share token for the report: ``{token, page}`` (shown once)."""
        if (refused := allowed(principal, entity)) is not None:
            return refused

        def act() -> Any:
            folder(entity).read_document(project, report_id)
            token = shares.create(entity, project, report_id)
            return {"token": token, "page": f"/reports/shared?token={token}"}

        return guarded(act)

    @router.delete(f"{API}/reports/shares", responses=_ERRORS)
    def revoke(token: str, principal: Principal = Auth) -> Any:
        """Revokes a share token; its link stops working at once."""
        found = shares.lookup(token)
        if found is None or found["entity"] not in principal.entities:
            return _error(404, "no such share token")
        shares.revoke(token)
        return {"revoked": True}

    #: the server's limiter (the Authenticator's, buckets kept in the database); a share page has no
    #: key, so it draws from its address's bucket, as every request without a valid key does
    limiter: RateLimiter | SharedRateLimiter | None = getattr(authenticate, "limiter", None)

    def over_limit(request: Request) -> HTMLResponse | None:
        """A 429 page when the caller's address has used up its requests (guessing tokens, or a flood)."""
        if limiter is None:
            return None
        client = request.client.host if request.client else "unknown"
        wait = limiter.take(f"ip:{client}")
        if wait <= 0:
            return None
        seconds = max(1, math.ceil(wait))
        return HTMLResponse("<!DOCTYPE html><title>Too many requests</title><p>Too many requests from this address "
                            f"(rate limit {limiter.rate.requests} per {limiter.rate.period:g} s); retry after "
                            f"{seconds} s.</p>", status_code=429, headers={"Retry-After": str(seconds)})

    @router.get("/reports/shared", response_class=HTMLResponse, include_in_schema=False)
    def shared_page(request: Request, token: str = "") -> Any:
        if (refused := over_limit(request)) is not None:
            return refused
        found = shares.lookup(token)
        if found is None:
            return HTMLResponse("<!DOCTYPE html><title>Not found</title><p>This share link is not valid "
                                "(it may have been revoked).</p>", status_code=404)
        return guarded(lambda: page(found["entity"], found["project"], found["id"]))

    def page_reader(request: Request) -> Principal:
        """A browser signed in to the server's pages (session cookie), else the bearer key."""
        from jupyter_tracker.server.web_pages import session_principal

        return session_principal(request, storage, config) or authenticate(request)

    PageReader = Depends(page_reader)

    @router.get("/reports/{entity}/{project}/{report_id}", response_class=HTMLResponse, include_in_schema=False)
    def report_page(entity: str, project: str, report_id: str, principal: Principal = PageReader) -> Any:
        if (refused := allowed(principal, entity)) is not None:
            return refused
        return guarded(lambda: page(entity, project, report_id))

    return router
