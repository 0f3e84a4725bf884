"""The tracking server's HTTP API (FastAPI): runs, records, files, history and queries under ``/api/v1``.

Every endpoint but ``/api/v1/health`` needs ``Authorization: Bearer <api key>``. Errors are
``{"error": "<message>"}``; no message, log line or response ever holds a key. Requests with
a valid key are rate-limited per key, others per client IP (token buckets kept in the database,
so the limits hold across workers and hosts); over the limit the answer is 429 with
``Retry-After``. The contract the sync client relies on is in the docstrings of the routes.
"""

from __future__ import annotations

import concurrent.futures
import gc
import hashlib
import hmac
import logging
import math
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Annotated, Any

import numpy as np
from fastapi import Depends, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from jupyter_tracker.server import access_log, api_keys, history_series, json_values, openapi_doc, uniform_batch
from jupyter_tracker.server.artifact_routes import artifact_router
from jupyter_tracker.server.config import ServerConfig
from jupyter_tracker.server.file_store import FileNameError, FileStore, FileTooLarge
from jupyter_tracker.server.rate_limit import RateLimiter, SharedRateLimiter, parse_rate
from jupyter_tracker.server.record_parts import PartOutOfPlace, RecordParts
from jupyter_tracker.server.report_routes import report_router
from jupyter_tracker.server.request_guard import RequestGuard
from jupyter_tracker.server.storage import (
    MAX_STEP,
    BadRequest,
    Forbidden,
    Principal,
    Storage,
    StorageError,
    check_name,
    open_storage,
)
from jupyter_tracker.server.sweep_routes import sweep_router
from jupyter_tracker.server.web_pages import web_router
from jupyter_tracker.server.web_run_sections import PageRuns, run_sections_router
from jupyter_tracker.store import records

API = "/api/v1"
USERNAME_HEADER = "x-jt-username"
MSGPACK_TYPES = ("application/msgpack", "application/x-msgpack", "application/octet-stream")
MAX_SAMPLES = 100_000
MAX_PAGE_SIZE = 10_000
MAX_PER_PAGE = 1_000
_logger = logging.getLogger("jupyter_tracker.server")


class ApiError(Exception):
    """An error answer: status, message and optional headers/extra fields."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}
        self.extra = extra


def _error(status: int, message: str, headers: dict[str, str] | None = None, **extra: Any) -> JSONResponse:
    return JSONResponse({"error": message, **extra}, status_code=status, headers=headers)


def _version() -> str:
    from jupyter_tracker import __version__

    return __version__


class Authenticator:
    """Checks the bearer key of a request and applies the rate limits.

    A request with a valid key is limited by that key's bucket only, so a flood of unauthenticated
    requests from one address (a JupyterHub's, say) cannot lock out the valid keys behind it;
    requests without a valid key draw from their address's bucket. Keys still stored as scrypt
    hashes cost ~16 MB and ~70 ms to check: at most :data:`SLOW_CHECKS` such checks run at once,
    a key id that just failed one waits :data:`FAILURE_HOLD` seconds before the next, and a
    key that passes is rewritten to the fast hash.
    """

    #: concurrent scrypt checks (each holds ~16 MB)
    SLOW_CHECKS = 2
    #: seconds a key id that failed a scrypt check is refused further slow checks
    FAILURE_HOLD = 1.0

    def __init__(self, storage: Storage, limiter: SharedRateLimiter | RateLimiter) -> None:
        self.storage = storage
        self.limiter = limiter
        self._pepper = secrets.token_bytes(32)
        self._verified: dict[str, tuple[str, bytes]] = {}
        self._failed: dict[str, float] = {}
        self._slow_pool = concurrent.futures.ThreadPoolExecutor(self.SLOW_CHECKS, thread_name_prefix="jt-key-check")
        self._lock = threading.Lock()

    def _limit(self, bucket: str) -> None:
        wait = self.limiter.take(bucket)
        if wait > 0:
            seconds = max(1, math.ceil(wait))
            raise ApiError(
                429,
                f"rate limit exceeded ({self.limiter.rate.requests} requests per {self.limiter.rate.period:g} s); "
                f"retry after {seconds} s",
                headers={"Retry-After": str(seconds)},
            )

    def _secret_ok(self, key_id: str, secret: str, secret_hash: str) -> bool:
        # a key verified once is remembered by a keyed digest, never in clear
        digest = hmac.new(self._pepper, secret.encode("utf-8"), hashlib.sha256).digest()
        with self._lock:
            cached = self._verified.get(key_id)
        if cached is not None and cached[0] == secret_hash and hmac.compare_digest(cached[1], digest):
            return True
        if not api_keys.is_slow_hash(secret_hash):
            return api_keys.verify_secret(secret, secret_hash)  # microseconds: nothing to cache
        if not self._slow_check(key_id, secret, secret_hash):
            return False
        fast = api_keys.hash_secret(secret)
        self.storage.upgrade_key_hash(key_id, secret_hash, fast)
        with self._lock:
            if len(self._verified) > 10_000:
                self._verified.clear()
            self._verified[key_id] = (fast, digest)
        return True

    def _slow_check(self, key_id: str, secret: str, secret_hash: str) -> bool:
        """A scrypt check on one of two dedicated threads, refused for a key id that failed one just now.

        Dedicated threads because each thread that ever ran scrypt keeps its 16 MB in its own
        malloc arena: run on the request threads, a flood grows the process by 16 MB per thread.
        """
        try:
            verdict = self._slow_pool.submit(self._check_unless_held, key_id, secret, secret_hash).result(timeout=30)
        except concurrent.futures.TimeoutError:
            raise ApiError(
                503, "the server is busy checking keys; retry shortly", headers={"Retry-After": "1"}
            ) from None
        if verdict is None:
            raise ApiError(429, "too many failed attempts with this key id; retry in 1 s", headers={"Retry-After": "1"})
        return verdict

    def _check_unless_held(self, key_id: str, secret: str, secret_hash: str) -> bool | None:
        with self._lock:
            failed_at = self._failed.get(key_id)
        if failed_at is not None and time.monotonic() - failed_at < self.FAILURE_HOLD:
            return None
        ok = api_keys.verify_secret(secret, secret_hash)
        if not ok:
            with self._lock:
                if len(self._failed) > 10_000:
                    self._failed.clear()
                self._failed[key_id] = time.monotonic()
        return ok

    def __call__(self, request: Request) -> Principal:
        client = request.client.host if request.client else "unknown"
        header = request.headers.get("authorization", "")
        scheme, _, presented = header.partition(" ")
        if scheme.lower() != "bearer" or not presented.strip():
            self._limit(f"ip:{client}")
            raise ApiError(401, "missing API key: send 'Authorization: Bearer <api key>'")
        parsed = api_keys.parse_key(presented.strip())
        if parsed is None:
            self._limit(f"ip:{client}")
            raise ApiError(401, "invalid API key")
        key_id, secret = parsed
        record = self.storage.key_record(key_id)
        if record is None or not self._secret_ok(key_id, secret, record.secret_hash):
            self._limit(f"ip:{client}")
            raise ApiError(401, "invalid API key")
        if record.revoked is not None:
            self._limit(f"ip:{client}")
            raise ApiError(401, "this API key has been revoked")
        self._limit(f"key:{key_id}")
        if record.kind == "service":
            # WANDB_USERNAME is optional, as in wandb: without it the service account itself is the author
            username = request.headers.get(USERNAME_HEADER) or record.entity
            try:
                check_name(username, "X-Jt-Username")
            except BadRequest as exc:
                raise ApiError(400, exc.message) from None
            return Principal(key_id, "service", username, [record.entity], record.entity)
        return Principal(key_id, "user", record.entity, [record.entity, *record.teams], record.entity)


class QueryCache:
    """Recent runs-query results by (project stamp, filters, order): paging re-filters nothing.

    The stamp changes whenever a run of the project changes, so an entry is never stale.
    """

    def __init__(self, size: int = 64) -> None:
        self._size = size
        self._entries: OrderedDict[tuple[Any, ...], list[dict[str, Any]]] = OrderedDict()
        self._lock = threading.Lock()

    def get_or_compute(self, key: tuple[Any, ...], compute: Callable[[], list[dict[str, Any]]]) -> list[dict[str, Any]]:
        with self._lock:
            if key in self._entries:
                self._entries.move_to_end(key)
                return self._entries[key]
        value = compute()
        with self._lock:
            self._entries[key] = value
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)
        return value


def _check_access(principal: Principal, entity: str) -> None:
    if entity not in principal.entities:
        raise Forbidden(f"this key has no access to entity {entity!r}")


def _split_keys(keys: str | None) -> list[str]:
    return [key for key in (keys or "").split(",") if key]


def create_app(config: ServerConfig, storage: Storage | None = None) -> FastAPI:
    """The ASGI app over a storage (opened from ``config.db_url`` when not given)."""
    storage = storage if storage is not None else open_storage(config.db_url)
    file_store = FileStore(config.data_dir, config.max_file_bytes)
    record_parts = RecordParts(config.data_dir)
    authenticate = Authenticator(storage, SharedRateLimiter(storage, parse_rate(config.rate_limit)))
    query_cache = QueryCache()
    app = FastAPI(
        title="jupyter_tracker server",
        version=_version(),
        description="Self-hosted tracking server: runs, history, files and queries for jupyter_tracker.",
        openapi_url=None,  # served below, behind the key like every endpoint but health
        docs_url=None,
        redoc_url=None,
    )
    app.state.storage = storage
    app.state.config = config
    app.add_middleware(RequestGuard)
    access_log.install()
    openapi_doc.install(app)

    @app.exception_handler(ApiError)
    async def _api_error(_request: Request, exc: ApiError) -> JSONResponse:
        return _error(exc.status, exc.message, exc.headers, **exc.extra)

    @app.exception_handler(StorageError)
    async def _storage_error(_request: Request, exc: StorageError) -> JSONResponse:
        return _error(exc.status, exc.message, **exc.extra)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return _error(exc.status_code, str(exc.detail), getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        # the message names the field and the problem, never the submitted value
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error.get('loc', ()))}: {error.get('msg', 'invalid')}"
            for error in exc.errors()
        )
        return _error(400, f"invalid request: {problems}")

    @app.exception_handler(Exception)
    async def _unexpected(_request: Request, exc: Exception) -> JSONResponse:
        _logger.error("unexpected server error: %s", type(exc).__name__, exc_info=exc)
        return _error(500, "internal server error")

    Auth = Depends(authenticate)
    app.include_router(sweep_router(config, authenticate))
    app.include_router(artifact_router(config, authenticate))
    app.include_router(report_router(config, storage, authenticate))

    @app.get(f"{API}/health", tags=["server"])
    def health() -> dict[str, Any]:
        """Liveness and version; needs no key."""
        return {"status": "ok", "version": _version(), "backend": storage.backend}

    @app.get(f"{API}/openapi.json", tags=["server"], include_in_schema=False)
    def openapi_schema(principal: Principal = Auth) -> dict[str, Any]:
        """The OpenAPI schema of this API."""
        return app.openapi()

    @app.get(f"{API}/viewer", tags=["auth"])
    def viewer(principal: Principal = Auth) -> dict[str, Any]:
        """Who the key is: username, the entities it may use, and the key's kind."""
        return {
            "username": principal.username or None,
            "entities": principal.entities,
            "default_entity": principal.default_entity,
            "key_kind": principal.key_kind,
        }

    @app.put(f"{API}/runs/{{entity}}/{{project}}/{{run_id}}", tags=["runs"])
    async def upsert_run(entity: str, project: str, run_id: str, request: Request, principal: Principal = Auth) -> Any:
        """Creates the run (and its project) or finds it: ``{"run_id", "applied_seq", "created"}``."""
        _check_access(principal, entity)
        body = await _read_body(request, 1024 * 1024)
        try:
            document = json_values.parse_strict(body or b"{}", "request body")
        except ValueError as error:
            raise ApiError(400, f'{error}; expected JSON {{"metadata": {{...}}}}') from None
        metadata = document.get("metadata", {}) if isinstance(document, dict) else None
        if not isinstance(metadata, dict):
            raise ApiError(400, 'request body must be JSON: {"metadata": {...}}')
        applied, created = await run_in_threadpool(
            storage.upsert_run, entity, project, run_id, metadata, principal.username
        )
        return JSONResponse(
            {"run_id": run_id, "applied_seq": applied, "created": created}, status_code=201 if created else 200
        )

    @app.post(f"{API}/runs/{{entity}}/{{project}}/{{run_id}}/records", tags=["runs"])
    async def append_records(
        entity: str, project: str, run_id: str, request: Request, principal: Principal = Auth
    ) -> dict[str, Any]:
        """Applies a run-log frame payload (msgpack ``[first_seq, [record, ...]]``): ``{"applied_seq"}``.

        Records at or below the run's applied sequence are ignored; a batch past
        ``applied_seq + 1`` gets 409 with ``applied_seq``; malformed gets 400, too large 413.
        Nothing changes on an error.
        """
        _check_access(principal, entity)
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type not in MSGPACK_TYPES:
            raise ApiError(415, "records must be sent as Content-Type: application/msgpack")
        body = await _read_body(request, config.max_batch_bytes)
        try:
            first_seq, batch = _decode_records(body)
        except Exception:
            raise ApiError(
                400, "malformed batch: the body is not a msgpack [first_seq, [records...]] payload"
            ) from None
        applied = await run_in_threadpool(storage.apply_batch, entity, project, run_id, first_seq, batch, body)
        return {"applied_seq": applied}

    @app.post(f"{API}/runs/{{entity}}/{{project}}/{{run_id}}/records/parts", tags=["runs"])
    async def append_record_part(
        entity: str,
        project: str,
        run_id: str,
        request: Request,
        first_seq: Annotated[int, Query(ge=1, le=MAX_STEP)],
        total: Annotated[int, Query(ge=1)],
        offset: Annotated[int, Query(ge=0)] = 0,
        principal: Principal = Auth,
    ) -> dict[str, Any]:
        """One byte range of a records payload too large for one request: ``{"applied_seq", "received"}``.

        The body is bytes ``offset .. offset + len`` of the payload (``total`` bytes, at most
        ``max_record_bytes``, else 413). When the last part lands the payload is applied as a
        records POST would apply it. A part whose offset is not where the received bytes end gets
        409 with ``received``; a payload starting past ``applied_seq + 1`` gets 409 with
        ``applied_seq``; a payload already applied answers at once.
        """
        _check_access(principal, entity)
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type not in MSGPACK_TYPES:
            raise ApiError(415, "record parts must be sent as Content-Type: application/msgpack")
        if total > config.max_record_bytes:
            raise ApiError(
                413, f"a records payload of {total} bytes is over the limit of {config.max_record_bytes} bytes"
            )
        body = await _read_body(request, config.max_batch_bytes)
        pk = await run_in_threadpool(storage.run_pk, entity, project, run_id)
        applied = await run_in_threadpool(storage.applied_seq, pk)
        if first_seq <= applied:
            await run_in_threadpool(record_parts.done, pk, first_seq, total)
            return {"applied_seq": applied, "received": total}
        if first_seq > applied + 1:
            raise ApiError(
                409,
                f"sequence gap: server has applied up to {applied}, payload starts at {first_seq}",
                applied_seq=applied,
            )
        try:
            payload = await run_in_threadpool(record_parts.add, pk, first_seq, total, offset, body)
        except PartOutOfPlace as exc:
            raise ApiError(409, str(exc), received=exc.received, applied_seq=applied) from None
        except ValueError as exc:
            raise ApiError(400, f"offset: {exc}") from None
        if payload is None:
            return {"applied_seq": applied, "received": offset + len(body)}
        try:
            try:
                payload_seq, batch = _decode_records(payload)
            except Exception:
                raise ApiError(
                    400, "malformed payload: the parts do not form a msgpack [first_seq, [records...]] payload"
                ) from None
            if payload_seq != first_seq:
                raise ApiError(400, f"first_seq: the payload starts at {payload_seq!r}, not {first_seq}")
            applied = await run_in_threadpool(
                storage.apply_batch, entity, project, run_id, first_seq, batch, payload
            )
        finally:
            await run_in_threadpool(record_parts.done, pk, first_seq, total)
        return {"applied_seq": applied, "received": total}

    @app.get(f"{API}/runs/{{entity}}/{{project}}/{{run_id}}", tags=["runs"])
    def get_run(entity: str, project: str, run_id: str, principal: Principal = Auth) -> Any:
        """The run object: id, name, state, config, summary, applied_seq, ..."""
        _check_access(principal, entity)
        return JSONResponse(storage.get_run(entity, project, run_id))

    @app.get(f"{API}/runs/{{entity}}/{{project}}/{{run_id}}/warnings", tags=["runs"])
    def run_warnings(entity: str, project: str, run_id: str, principal: Principal = Auth) -> Any:
        """``{"warnings": [...]}``: the warning records the run synced, as recorded, oldest first.

        Limits crossed (``{"kind", "bound", "observed", "subject"}``) and what the run's writer
        could not keep; JupyterLab reading this server lists them on its run page, as the
        server's own pages do. The text is data: a client shows it as plain text.
        """
        _check_access(principal, entity)
        return JSONResponse({"warnings": PageRuns(storage, file_store, entity).run_warnings(entity, project, run_id)})

    @app.get(f"{API}/projects/{{entity}}/{{project}}/runs", tags=["runs"])
    def query_runs(
        entity: str,
        project: str,
        filters: str | None = None,
        order: str | None = None,
        page: Annotated[int, Query(ge=1, le=MAX_STEP)] = 1,
        per_page: Annotated[int, Query(ge=1, le=MAX_PER_PAGE)] = 50,
        principal: Principal = Auth,
    ) -> Any:
        """The runs of a project matching wandb-style ``filters`` (JSON), sorted by ``order``, one page."""
        _check_access(principal, entity)
        parsed: Any = None
        if filters:
            try:
                parsed = json_values.parse_strict(filters, "filters")
            except ValueError as error:
                raise ApiError(400, f"{error}; filters must be a JSON object (MongoDB-style, as in wandb)") from None
            if not isinstance(parsed, dict):
                raise ApiError(400, "filters must be a JSON object (MongoDB-style, as in wandb)")
        start = (page - 1) * per_page
        in_sql = storage.query_runs_page(entity, project, parsed, order, start, per_page)
        if in_sql is not None:  # filtered, ordered and paged in SQL
            return JSONResponse({"runs": in_sql[0], "total": in_sql[1]})
        stamp, runs = storage.project_runs(entity, project)
        selected = query_cache.get_or_compute(
            (stamp, filters or "", order or ""), lambda: _filter_and_sort(runs, parsed, order)
        )
        return JSONResponse({"runs": selected[start : start + per_page], "total": len(selected)})

    @app.get(f"{API}/runs/{{entity}}/{{project}}/{{run_id}}/history", tags=["history"])
    def history(
        entity: str,
        project: str,
        run_id: str,
        keys: str | None = None,
        samples: Annotated[int, Query(ge=1, le=MAX_SAMPLES)] = 1500,
        x_axis: str = "_step",
        stream: str = "default",
        sampling: str = "minmax",
        principal: Principal = Auth,
    ) -> Any:
        """Sampled history against ``x_axis`` (any logged key).

        ``sampling=minmax`` (for charts): at most ``samples`` points per key, each key's min and max
        kept. ``sampling=rows`` (``Run.history``, as wandb and the local store do it): at most
        ``samples`` whole rows at evenly spaced positions, first and last kept; with ``keys`` only
        rows holding one of them, cut down to ``x_axis`` and the keys. ``stream=system`` gives the
        system metrics instead, against ``_runtime`` or ``_timestamp``.
        """
        _check_access(principal, entity)
        if stream not in ("default", "system"):
            raise ApiError(400, "stream must be 'default' or 'system'")
        if sampling not in ("minmax", "rows"):
            raise ApiError(400, "sampling must be 'minmax' or 'rows'")
        pk = storage.run_pk(entity, project, run_id)
        if stream == "default" and sampling == "rows":
            rows = sampled_rows(storage, pk, _split_keys(keys), samples, x_axis)
            return JSONResponse({"x_axis": x_axis, "rows": json_values.to_json(rows)})
        if stream == "system":
            x_axis = x_axis if x_axis in ("_runtime", "_timestamp") else "_runtime"
            rows = sampled_system(storage.system_rows(pk), _split_keys(keys), samples, x_axis)
        else:
            rows = sampled_history(storage, pk, _split_keys(keys), samples, x_axis)
        return JSONResponse({"x_axis": x_axis, "rows": rows})  # already JSON-safe: skip FastAPI's encoder

    @app.get(f"{API}/runs/{{entity}}/{{project}}/{{run_id}}/scan_history", tags=["history"])
    def scan_history(
        entity: str,
        project: str,
        run_id: str,
        keys: str | None = None,
        min_step: Annotated[int, Query(ge=0, le=MAX_STEP)] = 0,
        page_size: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 1000,
        principal: Principal = Auth,
    ) -> Any:
        """Full rows with ``_step >= min_step``, a page at a time; ``next_min_step`` is null at the end.

        With ``keys``, only rows holding every key take part, cut down to ``_step`` and the keys.
        """
        _check_access(principal, entity)
        if not 1 <= page_size <= MAX_PAGE_SIZE:
            raise ApiError(400, f"page_size must be between 1 and {MAX_PAGE_SIZE}")
        pk = storage.run_pk(entity, project, run_id)
        rows = storage.scan_rows(pk, min_step, page_size + 1)
        next_min_step = None
        if len(rows) > page_size:
            next_min_step = int(rows[page_size]["_step"])
            rows = rows[:page_size]
        wanted = _split_keys(keys)
        if wanted:
            rows = [
                {"_step": row["_step"], **{key: row[key] for key in wanted}}
                for row in rows
                if all(key in row for key in wanted)
            ]
        return JSONResponse({"rows": json_values.to_json(rows), "next_min_step": next_min_step})

    @app.put(f"{API}/runs/{{entity}}/{{project}}/{{run_id}}/files/{{name:path}}", tags=["files"])
    async def upload_file(
        entity: str, project: str, run_id: str, name: str, request: Request, principal: Principal = Auth
    ) -> dict[str, Any]:
        """Stores the raw body as the run's file ``name`` (size-limited, name checked): ``{"name", "size"}``."""
        _check_access(principal, entity)
        _check_file_name(name)
        declared = request.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > config.max_file_bytes:
            raise ApiError(413, f"file is over the size limit of {config.max_file_bytes} bytes")
        pk = await run_in_threadpool(storage.run_pk, entity, project, run_id)
        try:
            upload = await run_in_threadpool(file_store.begin_upload, pk, name)
        except FileNameError as exc:
            raise ApiError(400, str(exc)) from None
        try:
            async for chunk in request.stream():
                if chunk:
                    await run_in_threadpool(upload.write, chunk)
            size = await run_in_threadpool(upload.commit)
        except FileTooLarge as exc:
            raise ApiError(413, str(exc)) from None
        except FileNameError as exc:
            raise ApiError(400, str(exc)) from None
        finally:
            upload.abort()
        return {"name": name, "size": size}

    @app.get(f"{API}/runs/{{entity}}/{{project}}/{{run_id}}/files/{{name:path}}", tags=["files"])
    def download_file(entity: str, project: str, run_id: str, name: str, principal: Principal = Auth) -> Any:
        """The bytes of the run's file ``name``."""
        _check_access(principal, entity)
        _check_file_name(name)
        pk = storage.run_pk(entity, project, run_id)
        try:
            size, chunks = file_store.open(pk, name)
        except FileNameError as exc:
            raise ApiError(400, str(exc)) from None
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise ApiError(404, f"run {run_id} has no file {name!r}") from None
        except OSError:  # e.g. O_NOFOLLOW meeting a link planted after the check
            raise ApiError(400, f"file name {name!r} is not allowed") from None
        return StreamingResponse(chunks, media_type="application/octet-stream", headers={"Content-Length": str(size)})

    @app.get(f"{API}/runs/{{entity}}/{{project}}/{{run_id}}/files", tags=["files"])
    def list_files(entity: str, project: str, run_id: str, principal: Principal = Auth) -> list[dict[str, Any]]:
        """``[{"name", "size", "updated"}]`` of the run's uploaded files."""
        _check_access(principal, entity)
        pk = storage.run_pk(entity, project, run_id)
        return file_store.list(pk)

    app.include_router(run_sections_router(config, storage))  # the run page's sections and compare, signed in
    app.include_router(web_router(config, storage, authenticate))  # last: its page paths are catch-alls
    return app


def _decode_records(payload: bytes) -> tuple[int, Any]:
    """``(first_seq, batch)`` of a records payload: runs of uniform float history as columns, the rest decoded.

    Columns (:class:`~jupyter_tracker.server.uniform_batch.UniformBatch`, or
    :class:`~jupyter_tracker.server.uniform_batch.Segments` when other records lie among them)
    build no object per row; :meth:`Storage.apply_batch` takes every form. Raises on bytes that
    are not a payload.
    """
    columns = uniform_batch.read(payload)
    if columns is not None:
        return columns.first_seq, columns
    return records.decode_payload(payload)


def _check_file_name(name: str) -> None:
    from jupyter_tracker.server.file_store import check_file_name

    try:
        check_file_name(name)
    except FileNameError as exc:
        raise ApiError(400, str(exc)) from None


async def _read_body(request: Request, limit: int) -> bytes:
    """The request body, or 413 as soon as it passes ``limit`` bytes."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise ApiError(413, f"request body of {int(declared)} bytes is over the limit of {limit} bytes")
    parts: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise ApiError(413, f"request body is over the limit of {limit} bytes")
        parts.append(chunk)
    return b"".join(parts)


def _filter_and_sort(
    runs: list[dict[str, Any]], filters: dict[str, Any] | None, order: str | None
) -> list[dict[str, Any]]:
    """Applies the query's filters and order with :mod:`jupyter_tracker.api.filters`."""
    from jupyter_tracker.api import filters as run_filters

    try:
        if filters:
            runs = run_filters.filter_runs(runs, filters)
        if run_filters.parse_order(order) == ("created", False):
            return list(runs)  # the storage lists runs oldest first already
        return run_filters.sort_runs(runs, order)
    except (ValueError, TypeError, KeyError) as exc:
        raise ApiError(400, f"invalid filters or order: {exc}") from None
    except RecursionError:
        raise ApiError(400, "invalid filters: nested too deeply") from None


def sampled_history(storage: Storage, pk: int, keys: list[str], samples: int, x_axis: str) -> list[dict[str, Any]]:
    """Rows of at most ``samples`` points per key (min/max kept), merged by step, in step order."""
    numeric = set(storage.numeric_keys(pk))
    if not keys:
        keys = sorted(numeric - {x_axis})
    keys = [key for key in keys if key not in ("_step", x_axis)]
    wanted_numeric = [key for key in keys if key in numeric]
    other = [key for key in keys if key not in numeric]
    series = storage.series(pk, wanted_numeric + ([x_axis] if x_axis != "_step" and x_axis in numeric else []))
    rows: dict[int, dict[str, Any]] = {}
    encode = json_values.encode_float
    for key in wanted_numeric:
        steps, y = series[key]
        if x_axis == "_step":
            x = steps.astype(np.float64)
        elif x_axis in series:
            steps, x, y = history_series.align(series[x_axis][0], series[x_axis][1], steps, y)
        else:
            continue  # the x-axis has no numeric values: nothing to plot against
        picked = history_series.select_indices(x, y, samples)
        # plain Python values first: indexing numpy arrays one element at a time is slow
        picked_steps = steps[picked].tolist()
        picked_values = y[picked].tolist()
        picked_x = x[picked].tolist() if x_axis != "_step" else picked_steps
        for step, x_value, value in zip(picked_steps, picked_x, picked_values, strict=True):
            row = rows.get(step)
            if row is None:
                row = rows[step] = {"_step": step}
                if x_axis != "_step":
                    row[x_axis] = encode(x_value)
            row[key] = encode(value)
    if other:
        _add_other_keys(storage, pk, other, samples, x_axis, rows)
    return [rows[step] for step in sorted(rows)]


#: fields every history row has; a key among them selects every row
ROW_FIELDS = ("_step", "_timestamp", "_runtime")


def sampled_rows(storage: Storage, pk: int, keys: list[str], samples: int, x_axis: str) -> list[dict[str, Any]]:
    """wandb's ``Run.history`` sampling, the same rows the local store picks (:mod:`jupyter_tracker.api.sampling`)."""
    from jupyter_tracker.api.sampling import history_columns, project_row, sample_indices

    wanted = [key for key in keys if key != x_axis] or list(keys)
    if not keys or any(key in ROW_FIELDS for key in wanted):
        positions = storage.row_positions(pk)
        rows = storage.rows_at(pk, [positions[index] for index in sample_indices(len(positions), samples)])
    else:
        holding: list[dict[str, Any]] = []
        min_step = 0
        while True:  # only rows holding one of the keys take part: every row is looked at once
            page = storage.scan_rows(pk, min_step, 5001)
            holding.extend(row for row in page[:5000] if any(key in row for key in wanted))
            if len(page) <= 5000:
                break
            min_step = int(page[5000]["_step"])
        rows = [holding[index] for index in sample_indices(len(holding), samples)]
    if keys:
        columns = history_columns(keys, x_axis)
        rows = [project_row(row, columns) for row in rows]
    return rows


def _add_other_keys(
    storage: Storage, pk: int, keys: list[str], samples: int, x_axis: str, rows: dict[int, dict[str, Any]]
) -> None:
    """Non-numeric keys (strings, media references, arrays): evenly spaced rows from the full history."""
    found: dict[str, list[tuple[int, Any, Any]]] = {key: [] for key in keys}
    min_step = 0
    while True:
        page = storage.scan_rows(pk, min_step, 5001)
        for row in page[:5000]:
            for key in keys:
                if key in row and (x_axis == "_step" or x_axis in row):
                    found[key].append((int(row["_step"]), row.get(x_axis), row[key]))
        if len(page) <= 5000:
            break
        min_step = int(page[5000]["_step"])
    for key, points in found.items():
        if len(points) > samples:
            picks = np.linspace(0, len(points) - 1, samples).round().astype(np.int64).tolist()
            points = [points[i] for i in sorted(set(picks))]
        for step, x_value, value in points:
            row = rows.setdefault(step, {"_step": step})
            if x_axis != "_step":
                row[x_axis] = json_values.to_json(x_value)
            row[key] = json_values.to_json(value)


def sampled_system(measured: list[dict[str, Any]], keys: list[str], samples: int, x_axis: str) -> list[dict[str, Any]]:
    """System-metric rows: at most ``samples`` points per key (min/max kept) against wall time."""
    if not keys:
        keys = sorted({key for row in measured for key in row if not key.startswith("_")})
    chosen: dict[int, dict[str, Any]] = {}
    for key in keys:
        positions = [index for index, row in enumerate(measured) if history_series.is_numeric(row.get(key))]
        if not positions:
            continue
        x = np.array([measured[index][x_axis] for index in positions], dtype=np.float64)
        y = np.array([measured[index][key] for index in positions], dtype=np.float64)
        for picked in history_series.select_indices(x, y, samples).tolist():
            index = positions[picked]
            row = chosen.setdefault(
                index, {"_runtime": measured[index]["_runtime"], "_timestamp": measured[index]["_timestamp"]}
            )
            row[key] = json_values.encode_float(float(y[picked]))
    return [json_values.to_json(chosen[index]) for index in sorted(chosen)]


#: allocations between young-generation collections in a serving process (Python's default is 700)
SERVING_GC_THRESHOLD = 100_000


def tune_collector_for_serving() -> None:
    """Freezes what the app built at start-up and collects the young generation rarely.

    A records batch decodes into tens of thousands of short-lived, acyclic objects (a list and a
    dict per row, a float per value); with the default thresholds each batch set off dozens of
    young collections, and every few batches a full one walking the whole heap (the app's modules
    and every batch in flight), about a quarter of the ingest's CPU. Frozen start-up objects are
    never walked again; cyclic garbage still goes, only later.
    """
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(SERVING_GC_THRESHOLD, middle, old)


def app_from_environment() -> FastAPI:
    """The factory uvicorn calls in each worker (configuration from the environment)."""
    app = create_app(ServerConfig.from_environment())
    tune_collector_for_serving()
    return app
