"""The one module that talks HTTP to a tracking server: a thin client over httpx for the v1 API.

Every request goes through one ``httpx.Client`` whose transport can be injected (``httpx.MockTransport``
in tests). Failures are sorted into a small tree so that callers decide by type, never by
parsing messages::

    SyncError
     ├── TransientError            network error, 5xx: retry with backoff
     │    └── RateLimitedError     429, carries the server's Retry-After
     └── RefusedError              any other 4xx: retrying the same request cannot help
          ├── AuthError            401, 403: the key is missing, wrong, revoked or not allowed here
          ├── SequenceGapError     409: the batch starts past the server's applied_seq (carries it)
          └── PayloadTooLargeError 413: the body is over the server's size limit

An API key is sent only in the ``Authorization`` header; it is scrubbed from every message this
module builds, so it cannot leak into a log line or an error.
"""

from __future__ import annotations

import json
import math
import ssl
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import httpx

from jupyter_tracker import settings
from jupyter_tracker.sync.backoff import RetryableError

API_PREFIX = "/api/v1"
MSGPACK = "application/msgpack"


class SyncError(Exception):
    """Something went wrong talking to the tracking server."""


class TransientError(SyncError, RetryableError):
    """The server could not be reached or failed (5xx); the same request may succeed later."""


class RateLimitedError(TransientError):
    """429: over the server's rate limit; ``retry_after`` says when to come back."""


class RefusedError(SyncError):
    """The server refused the request (4xx); ``status`` and the server's ``message`` say why."""

    def __init__(self, message: str, status: int, body: Mapping[str, Any] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.body = dict(body or {})


class AuthError(RefusedError):
    """401 or 403: no key, an invalid or revoked key, or a project the key may not touch."""


class SequenceGapError(RefusedError):
    """409: the batch starts after ``applied_seq + 1``; resend from ``applied_seq + 1``."""

    @property
    def applied_seq(self) -> int:
        return int(self.body.get("applied_seq") or 0)


class PayloadTooLargeError(RefusedError):
    """413: the body is larger than the server accepts; send less at once."""


def public_url(base_url: str) -> str:
    """``base_url`` without any ``user:password@`` part and trailing slash: safe to store and show."""
    parts = urlsplit(base_url.strip())
    netloc = parts.hostname or ""
    if parts.port:
        netloc += f":{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path.rstrip("/"), "", ""))


def _segment(value: str) -> str:
    return quote(str(value), safe="")


def _file_path(name: str) -> str:
    return "/".join(_segment(part) for part in name.split("/"))


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None  # an HTTP date; the backoff's own window applies instead
    return seconds if math.isfinite(seconds) and seconds >= 0 else None


def _tls_verification(ca_bundle: str | None) -> ssl.SSLContext | bool:
    """A context trusting ``ca_bundle`` (a file or a directory of certificates); else the defaults."""
    if not ca_bundle:
        return True
    try:
        if Path(ca_bundle).is_dir():
            return ssl.create_default_context(capath=ca_bundle)
        return ssl.create_default_context(cafile=ca_bundle)
    except (OSError, ssl.SSLError) as error:
        raise SyncError(
            f"the CA bundle {ca_bundle} (REQUESTS_CA_BUNDLE / SSL_CERT_FILE) cannot be read: {error}"
        ) from None


class TrackerClient:
    """A session with one tracking server under one API key.

    >>> client = TrackerClient("http://127.0.0.1:8600", api_key="...")  # doctest: +SKIP
    >>> client.viewer()["default_entity"]  # doctest: +SKIP
    'alice'
    """

    def __init__(
        self,
        base_url: str,
        api_key: str | None,
        username: str | None = None,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 30.0,
        ca_bundle: str | None = None,
    ) -> None:
        self.base_url = public_url(base_url)
        self._key = api_key or ""
        headers = {"User-Agent": "jupyter_tracker-sync/0.1"}
        if api_key:
            headers["Authorization"] = f"Bearer {api_key}"
        if username:
            headers["X-Jt-Username"] = username
        self._http = httpx.Client(
            base_url=base_url.rstrip("/") + API_PREFIX,
            headers=headers,
            transport=transport,
            timeout=timeout,
            verify=_tls_verification(ca_bundle or settings.ca_bundle()),
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> TrackerClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _scrub(self, text: str) -> str:
        return text.replace(self._key, "<api key>") if self._key else text

    # the one place a request is made ------------------------------------------------------------
    def request(self, method: str, path: str, **options: Any) -> httpx.Response:
        """Sends one request; returns a 2xx response or raises a :class:`SyncError`."""
        try:
            response = self._http.request(method, path, **options)
        except httpx.TransportError as error:
            # httpx names the URL and the cause, never the headers; scrub anyway
            raise TransientError(self._scrub(f"{type(error).__name__}: {error}") or type(error).__name__) from None
        if response.is_success:
            return response
        raise self._error_for(method, path, response)

    def _error_for(self, method: str, path: str, response: httpx.Response) -> SyncError:
        status = response.status_code
        body: dict[str, Any] = {}
        try:
            parsed = response.json()
            if isinstance(parsed, dict):
                body = parsed
        except (json.JSONDecodeError, UnicodeDecodeError, ValueError):
            pass
        detail = body.get("error") or body.get("detail") or response.reason_phrase or "no message"
        message = self._scrub(f"{method} {API_PREFIX}{path}: {status} {detail}")
        if status == 429:
            return RateLimitedError(message, _retry_after(response))
        if status >= 500 or status == 408:
            return TransientError(message, _retry_after(response))
        if status in (401, 403):
            return AuthError(message, status, body)
        if status == 409:
            return SequenceGapError(message, status, body)
        if status == 413:
            return PayloadTooLargeError(message, status, body)
        return RefusedError(message, status, body)

    # endpoints ------------------------------------------------------------------------------------
    def health(self) -> dict[str, Any]:
        return self.request("GET", "/health").json()

    def viewer(self) -> dict[str, Any]:
        """Who the key belongs to: ``username``, ``entities``, ``default_entity``, ``key_kind``."""
        return self.request("GET", "/viewer").json()

    @staticmethod
    def run_path(entity: str, project: str, run_id: str) -> str:
        return f"/runs/{_segment(entity)}/{_segment(project)}/{_segment(run_id)}"

    def upsert_run(self, entity: str, project: str, run_id: str, metadata: Mapping[str, Any]) -> dict[str, Any]:
        """Creates the run (or finds it); the answer's ``applied_seq`` says where to resume."""
        return self.request("PUT", self.run_path(entity, project, run_id), json={"metadata": dict(metadata)}).json()

    def post_records(self, entity: str, project: str, run_id: str, payload: bytes) -> int:
        """Sends one batch (a run-log frame payload); returns the server's new ``applied_seq``."""
        response = self.request(
            "POST",
            self.run_path(entity, project, run_id) + "/records",
            content=payload,
            headers={"Content-Type": MSGPACK},
        )
        return int(response.json()["applied_seq"])

    def post_record_part(
        self, entity: str, project: str, run_id: str, first_seq: int, offset: int, total: int, part: bytes
    ) -> dict[str, Any]:
        """Sends bytes ``offset ..`` of a payload too large for one request: ``{"applied_seq", "received"}``."""
        return self.request(
            "POST",
            self.run_path(entity, project, run_id) + "/records/parts",
            params={"first_seq": first_seq, "offset": offset, "total": total},
            content=part,
            headers={"Content-Type": MSGPACK},
        ).json()

    def put_file(self, entity: str, project: str, run_id: str, name: str, data: bytes) -> dict[str, Any]:
        return self.request(
            "PUT",
            self.run_path(entity, project, run_id) + "/files/" + _file_path(name),
            content=data,
            headers={"Content-Type": "application/octet-stream"},
        ).json()

    def list_files(self, entity: str, project: str, run_id: str) -> list[dict[str, Any]]:
        return self.request("GET", self.run_path(entity, project, run_id) + "/files").json()

    def download_file(self, entity: str, project: str, run_id: str, name: str) -> bytes:
        return self.request("GET", self.run_path(entity, project, run_id) + "/files/" + _file_path(name)).content

    def get_run(self, entity: str, project: str, run_id: str) -> dict[str, Any]:
        return self.request("GET", self.run_path(entity, project, run_id)).json()

    def list_runs(
        self,
        entity: str,
        project: str,
        filters: Mapping[str, Any] | None = None,
        order: str | None = None,
        page: int = 1,
        per_page: int = 50,
    ) -> dict[str, Any]:
        """One page of a project's runs: ``{"runs": [...], "total": N}``."""
        params: dict[str, Any] = {"page": page, "per_page": per_page}
        if filters:
            params["filters"] = json.dumps(filters)
        if order:
            params["order"] = order
        return self.request("GET", f"/projects/{_segment(entity)}/{_segment(project)}/runs", params=params).json()

    def history(
        self,
        entity: str,
        project: str,
        run_id: str,
        keys: list[str] | None = None,
        samples: int = 1500,
        x_axis: str = "_step",
        sampling: str = "minmax",
    ) -> dict[str, Any]:
        """Sampled history: ``sampling="rows"`` is ``Run.history``'s, ``"minmax"`` the charts' (min/max per key)."""
        params: dict[str, Any] = {"samples": samples, "x_axis": x_axis, "sampling": sampling}
        if keys:
            params["keys"] = ",".join(keys)
        return self.request("GET", self.run_path(entity, project, run_id) + "/history", params=params).json()

    def scan_history(
        self,
        entity: str,
        project: str,
        run_id: str,
        keys: list[str] | None = None,
        min_step: int = 0,
        page_size: int = 1000,
    ) -> dict[str, Any]:
        params: dict[str, Any] = {"min_step": min_step, "page_size": page_size}
        if keys:
            params["keys"] = ",".join(keys)
        return self.request("GET", self.run_path(entity, project, run_id) + "/scan_history", params=params).json()
