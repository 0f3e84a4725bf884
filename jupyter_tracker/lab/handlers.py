"""The Jupyter server's ``/jupyter-tracker/*`` JSON endpoints behind the JupyterLab extension.

Every handler is ``@tornado.web.authenticated`` (Jupyter's own token or password login) and
reads runs through :func:`jupyter_tracker.api.backend_for`: the local store, or the tracking
server when one is configured. Reading is blocking file or HTTP IO, so it runs in a thread.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

import tornado.web
from jupyter_server.base.handlers import APIHandler
from jupyter_server.utils import url_path_join

from jupyter_tracker.api.backend import ApiError, RunNotFoundError
from jupyter_tracker.lab import run_views

#: the URL prefix under the Jupyter server's base URL
ROUTE_PREFIX = "jupyter-tracker"


class RunsSource:
    """The backend the handlers read, made once per server from the settings of its root directory."""

    def __init__(self, root_dir: Path) -> None:
        self.root_dir = root_dir
        self._backend: Any = None
        self.steps = run_views.LastSteps()
        #: one thread reads the store: the backend's SQLite index and the step cache stay on it,
        #: and the server's shared executor is never filled by slow reads
        self.reader = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="jupyter-tracker-lab")

    def backend(self) -> Any:
        if self._backend is None:
            from jupyter_tracker.api import backend_for
            from jupyter_tracker.settings import resolve

            self._backend = backend_for(resolve(directory=self.root_dir))
        refresh = getattr(self._backend, "refresh", None)
        if refresh is not None:
            refresh()  # runs started since the last request show up
        return self._backend


class _ViewHandler(APIHandler):
    """Answers one view's JSON; a missing run is a 404, an unreadable store a 502 with the reason."""

    def initialize(self, source: RunsSource) -> None:
        self.source = source

    async def _answer(self, build: Callable[[Any], Any]) -> None:
        try:
            payload = await asyncio.get_running_loop().run_in_executor(
                self.source.reader, lambda: build(self.source.backend()))
        except RunNotFoundError as error:
            raise tornado.web.HTTPError(404, reason=str(error)) from error
        except ApiError as error:
            raise tornado.web.HTTPError(502, reason=str(error)) from error
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(payload, allow_nan=False))


class ProjectsHandler(_ViewHandler):
    @tornado.web.authenticated
    async def get(self) -> None:
        await self._answer(lambda backend: {"projects": run_views.list_projects(backend)})


class RunsHandler(_ViewHandler):
    @tornado.web.authenticated
    async def get(self) -> None:
        project = self.get_query_argument("project")
        await self._answer(lambda backend: {"project": project, "runs": run_views.list_runs(backend, project)})


class RunHandler(_ViewHandler):
    @tornado.web.authenticated
    async def get(self) -> None:
        run_id = self.get_query_argument("id")
        project = self.get_query_argument("project", None)

        def build(backend: Any) -> Any:
            found = project or backend.get_run(None, None, run_id)["project"]
            return run_views.run_page(backend, found, run_id)

        await self._answer(build)


class _RunHandler(_ViewHandler):
    """A handler about one run: ``?id=`` and optionally ``?project=`` (found from the id otherwise)."""

    def run_answer(self, view: Callable[[Any, str, str], Any]) -> Any:
        run_id = self.get_query_argument("id")
        project = self.get_query_argument("project", None)

        def build(backend: Any) -> Any:
            found = project or backend.get_run(None, None, run_id)["project"]
            return view(backend, found, run_id)

        return self._answer(build)


class MediaHandler(_RunHandler):
    @tornado.web.authenticated
    async def get(self) -> None:
        await self.run_answer(run_views.run_media)


class FilesHandler(_RunHandler):
    @tornado.web.authenticated
    async def get(self) -> None:
        await self.run_answer(run_views.run_files)


class CompareHandler(_ViewHandler):
    @tornado.web.authenticated
    async def get(self) -> None:
        project = self.get_query_argument("project")
        ids = [part for part in self.get_query_argument("ids").split(",") if part]
        try:
            await self._answer(lambda backend: run_views.compare_runs(backend, project, ids))
        except ValueError as error:
            raise tornado.web.HTTPError(400, reason=str(error)) from error


def run_file_path(backend: Any, project: str, run_id: str, name: str, folder: Path) -> Path:
    """Where one of the run's files can be read, found by its listed name only (never a path built from input).

    A local run's file is looked up in the run directory's own listing; another backend's is
    checked against the run's file list, then downloaded into ``folder``.
    """
    from jupyter_tracker.store.run_dir import stored_files

    record = backend.get_run(None, project, run_id)
    if record.get("dir"):
        source = stored_files(Path(record["dir"])).get(name)
        if source is None:
            raise RunNotFoundError(f"run {run_id!r} has no file {name!r}")
        return source
    if name not in {item["name"] for item in backend.files(None, project, run_id)}:
        raise RunNotFoundError(f"run {run_id!r} has no file {name!r}")
    return Path(backend.download_file(None, project, run_id, name, folder))


#: a file is sent in pieces of this size, so a checkpoint of gigabytes never sits in the server's memory
FILE_CHUNK_BYTES = 1 << 20


class FileHandler(_ViewHandler):
    """One of a run's files: an image inline (for the media browser), anything else as a download."""

    @tornado.web.authenticated
    async def get(self) -> None:
        run_id = self.get_query_argument("id")
        project = self.get_query_argument("project")
        name = self.get_query_argument("name")
        download = self.get_query_argument("download", "") == "1"
        loop = asyncio.get_running_loop()
        with tempfile.TemporaryDirectory() as folder:
            try:
                path = await loop.run_in_executor(
                    self.source.reader, lambda: run_file_path(self.source.backend(), project, run_id, name, Path(folder)))
            except RunNotFoundError as error:
                raise tornado.web.HTTPError(404, reason=str(error)) from error
            except ApiError as error:
                raise tornado.web.HTTPError(502, reason=str(error)) from error
            image = run_views.inline_type(name)
            content_type = image if image and not download else "application/octet-stream"
            self.set_header("Content-Type", content_type)
            self.set_header("X-Content-Type-Options", "nosniff")
            self.set_header("Content-Security-Policy", "default-src 'none'; sandbox")
            if download or not image:
                self.set_header("Content-Disposition", f"attachment; filename*=UTF-8''{quote(Path(name).name)}")
            with path.open("rb") as handle:
                self.set_header("Content-Length", str(os.fstat(handle.fileno()).st_size))
                while chunk := await loop.run_in_executor(None, handle.read, FILE_CHUNK_BYTES):
                    self.write(chunk)
                    await self.flush()
        # APIHandler.finish sets the type it is given (JSON by default)
        self.finish(set_content_type=content_type)


class TableHandler(_ViewHandler):
    """The first rows of one of a run's logged tables (by its listed name), as JSON."""

    @tornado.web.authenticated
    async def get(self) -> None:
        run_id = self.get_query_argument("id")
        project = self.get_query_argument("project")
        name = self.get_query_argument("name")

        def build(backend: Any) -> Any:
            with tempfile.TemporaryDirectory() as folder:
                return run_views.table_rows(run_file_path(backend, project, run_id, name, Path(folder)), name)

        try:
            await self._answer(build)
        except ValueError as error:
            raise tornado.web.HTTPError(400, reason=str(error)) from error


class ActiveHandler(_ViewHandler):
    @tornado.web.authenticated
    async def get(self) -> None:
        await self._answer(lambda backend: {"runs": run_views.active_runs(backend, self.source.steps)})


def setup_handlers(web_app: Any, root_dir: Path) -> None:
    """Adds the endpoints to the Jupyter server's tornado application."""
    base_url = web_app.settings["base_url"]
    source = RunsSource(root_dir)
    routes: list[tuple[str, type[_ViewHandler]]] = [
        ("projects", ProjectsHandler),
        ("runs", RunsHandler),
        ("run", RunHandler),
        ("active", ActiveHandler),
        ("media", MediaHandler),
        ("files", FilesHandler),
        ("file", FileHandler),
        ("table", TableHandler),
        ("compare", CompareHandler),
    ]
    web_app.add_handlers(".*$", [
        (url_path_join(base_url, ROUTE_PREFIX, name), handler, {"source": source}) for name, handler in routes
    ])
