"""The run page's further sections and the compare view on the tracking server's web pages.

JSON under ``/_pages/api/`` for the views of ``labextension/`` (the same builders as the
JupyterLab extension, :mod:`jupyter_tracker.lab.run_views`): a run's system metrics, its warnings,
its media (images, histograms, audio, video, HTML and tables per key and step), a logged table's
rows, its files, one file's bytes, and selected runs side by side.
Every route needs a signed-in session (:func:`web_pages.session_principal`) whose entities include
the run's; they only read, so no CSRF token is needed. A file is looked up by its stored name in
the run's own folder of the file store (names are checked, links never followed); only common
image types are ever sent inline, and every file answer carries ``nosniff`` and a sandboxing CSP,
so an uploaded HTML or SVG file can never run as this site's page.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from starlette.concurrency import run_in_threadpool

from jupyter_tracker.server.config import ServerConfig
from jupyter_tracker.server.file_store import FileNameError, FileStore
from jupyter_tracker.server.report_routes import StorageRuns
from jupyter_tracker.server.storage import NotFound, Storage

#: the headers of every answer (the pages' own, see web_pages.SECURITY_HEADERS)
JSON_HEADERS = {"X-Content-Type-Options": "nosniff", "Cache-Control": "no-store", "Referrer-Policy": "same-origin"}
#: a file's bytes are never a page of this site: no script, no plugin, a unique origin if opened
FILE_HEADERS = {**JSON_HEADERS, "Content-Security-Policy": "default-src 'none'; sandbox",
                "X-Frame-Options": "DENY", "Cross-Origin-Resource-Policy": "same-origin"}


class PageRuns(StorageRuns):
    """The server's runs of one entity as a run-views backend, system metrics included."""

    def system_rows(self, entity: str | None, project: str, run_id: str) -> list[dict[str, Any]]:
        return self.storage.system_rows(self.storage.run_pk(self.entity, project, run_id))

    def run_warnings(self, entity: str | None, project: str, run_id: str) -> list[dict[str, Any]]:
        """The warning records the run synced (kept with its other metadata in the run's ``extra``)."""
        import sqlalchemy as sa

        from jupyter_tracker.server import schema

        pk = self.storage.run_pk(self.entity, project, run_id)
        with self.storage.engine.connect() as connection:
            extra = connection.execute(sa.select(schema.runs.c.extra).where(schema.runs.c.pk == pk)).scalar_one()
        return list(json.loads(extra or "{}").get("warnings") or [])

    def table(self, project: str, run_id: str, name: str) -> dict[str, Any]:
        """The first rows of one of the run's logged tables, read from a copy of its stored file."""
        from jupyter_tracker.lab import run_views

        with tempfile.TemporaryDirectory() as folder:
            return run_views.table_rows(self.download_file(self.entity, project, run_id, name, Path(folder)), name)


def run_sections_router(config: ServerConfig, storage: Storage) -> APIRouter:
    """System metrics, warnings, media, a table's rows, files, a file's bytes and compare JSON for the signed-in pages."""
    from jupyter_tracker.api.backend import RunNotFoundError
    from jupyter_tracker.lab import run_views
    from jupyter_tracker.server.web_pages import session_principal

    router = APIRouter(include_in_schema=False)
    files = FileStore(config.data_dir, config.max_file_bytes)

    def refusal(request: Request, entity: str) -> JSONResponse | None:
        principal = session_principal(request, storage, config)
        if principal is None:
            return JSONResponse({"error": "not signed in"}, status_code=401, headers=JSON_HEADERS)
        if entity not in principal.entities:
            return JSONResponse({"error": f"no access to entity {entity!r}"}, status_code=403, headers=JSON_HEADERS)
        return None

    async def answer(request: Request, entity: str, build: Callable[[PageRuns], Any]) -> JSONResponse:
        refused = await run_in_threadpool(refusal, request, entity)
        if refused is not None:
            return refused
        try:
            payload = await run_in_threadpool(build, PageRuns(storage, files, entity))
        except (NotFound, RunNotFoundError) as error:
            return JSONResponse({"error": str(getattr(error, "message", error))}, status_code=404,
                                headers=JSON_HEADERS)
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            return JSONResponse({"error": "no such file"}, status_code=404, headers=JSON_HEADERS)
        except ValueError as error:
            return JSONResponse({"error": str(error)}, status_code=400, headers=JSON_HEADERS)
        return JSONResponse(payload, headers=JSON_HEADERS)

    @router.get("/_pages/api/system/{entity}/{project}/{run_id}")
    async def system_json(request: Request, entity: str, project: str, run_id: str) -> JSONResponse:
        return await answer(request, entity, lambda runs: {
            "system": run_views.system_metrics(runs, project, run_id, entity)})

    @router.get("/_pages/api/warnings/{entity}/{project}/{run_id}")
    async def warnings_json(request: Request, entity: str, project: str, run_id: str) -> JSONResponse:
        return await answer(request, entity, lambda runs: {
            "warnings": run_views.run_warnings(runs, project, run_id, entity)})

    @router.get("/_pages/api/table/{entity}/{project}/{run_id}/{name:path}")
    async def table_json(request: Request, entity: str, project: str, run_id: str, name: str) -> JSONResponse:
        return await answer(request, entity, lambda runs: runs.table(project, run_id, name))

    @router.get("/_pages/api/media/{entity}/{project}/{run_id}")
    async def media_json(request: Request, entity: str, project: str, run_id: str) -> JSONResponse:
        return await answer(request, entity, lambda runs: run_views.run_media(runs, project, run_id, entity))

    @router.get("/_pages/api/files/{entity}/{project}/{run_id}")
    async def files_json(request: Request, entity: str, project: str, run_id: str) -> JSONResponse:
        return await answer(request, entity, lambda runs: run_views.run_files(runs, project, run_id, entity))

    @router.get("/_pages/api/compare/{entity}/{project}")
    async def compare_json(request: Request, entity: str, project: str, runs: str = "") -> JSONResponse:
        ids = [part for part in runs.split(",") if part]
        return await answer(request, entity, lambda backend: run_views.compare_runs(backend, project, ids, entity))

    @router.get("/_pages/api/file/{entity}/{project}/{run_id}/{name:path}")
    async def file_bytes(request: Request, entity: str, project: str, run_id: str, name: str,
                         download: int = 0) -> Response:
        refused = await run_in_threadpool(refusal, request, entity)
        if refused is not None:
            return refused

        def open_file() -> tuple[int, Any]:
            return files.open(storage.run_pk(entity, project, run_id), name)

        try:
            size, chunks = await run_in_threadpool(open_file)
        except NotFound as error:
            return JSONResponse({"error": str(getattr(error, "message", error))}, status_code=404,
                                headers=JSON_HEADERS)
        except FileNameError as error:
            return JSONResponse({"error": str(error)}, status_code=400, headers=JSON_HEADERS)
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            return JSONResponse({"error": f"run {run_id!r} has no file {name!r}"}, status_code=404,
                                headers=JSON_HEADERS)
        image = run_views.inline_type(name)
        headers = {**FILE_HEADERS, "Content-Length": str(size)}
        if download or not image:
            headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(PurePosixPath(name).name)}"
        return StreamingResponse(chunks, media_type=image if image and not download else "application/octet-stream",
                                 headers=headers)

    return router
