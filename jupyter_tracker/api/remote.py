"""The ``Api`` backend over a tracking server's HTTP API (``/api/v1``), through the sync transport.

Answers :class:`jupyter_tracker.api.backend.Backend`'s questions with the contract's read
endpoints: runs queries, run objects, sampled and paged history, files, warnings. Transient failures
(network, 5xx, 429) are retried with backoff for up to :data:`RETRY_SECONDS`; NaN and ±inf,
which JSON cannot hold, come back from the server as ``"NaN"``/``"Infinity"``/``"-Infinity"``
and are turned back into floats here.
"""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

from jupyter_tracker.api.backend import ApiError, FileRecord, RunNotFoundError, RunRecord
from jupyter_tracker.settings import Settings

T = TypeVar("T")

#: how long one read keeps retrying transient failures before it raises ``ApiError``
RETRY_SECONDS = 60.0
#: system-metrics windows read whole (the server's sample cap); a longer run's come min/max-sampled per key
SYSTEM_ROWS = 100_000
_SPECIAL_FLOATS = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


def decode_value(value: Any) -> Any:
    """Undoes the server's JSON encoding of non-finite floats, inside lists and dicts too."""
    if isinstance(value, str):
        return _SPECIAL_FLOATS.get(value, value)
    if isinstance(value, list):
        return [decode_value(item) for item in value]
    if isinstance(value, dict):
        return {key: decode_value(item) for key, item in value.items()}
    return value


def _decode_run(run: Mapping[str, Any]) -> RunRecord:
    record: dict[str, Any] = dict(run)
    for section in ("config", "summary"):
        record[section] = decode_value(record.get(section) or {})
    record["tags"] = list(record.get("tags") or [])
    return record  # type: ignore[return-value]


class RemotePages:
    """One runs query on the server, fetched a page at a time (:class:`~.backend.RunPages`)."""

    def __init__(self, fetch: Callable[[int], dict[str, Any]], per_page: int) -> None:
        self._fetch = fetch
        self.per_page = per_page
        self._cache: dict[int, list[RunRecord]] = {}
        self._total: int | None = None

    def _load(self, number: int) -> list[RunRecord]:
        if number not in self._cache:
            answer = self._fetch(number)
            self._total = int(answer.get("total") or 0)
            self._cache[number] = [_decode_run(run) for run in answer.get("runs") or []]
        return self._cache[number]

    def total(self) -> int:
        if self._total is None:
            self._load(1)
        return self._total or 0

    def page(self, number: int) -> list[RunRecord]:
        if number < 1:
            return []
        return self._load(number)


class RemoteBackend:
    """Runs on a tracking server, read with the API key of ``settings`` (``base_url``, ``api_key``).

    ``timeout`` bounds one request (default 30 s); ``transport`` is an httpx transport (tests).

    >>> backend = RemoteBackend(settings.resolve({"base_url": "http://127.0.0.1:8600"}))  # doctest: +SKIP
    >>> backend.get_run("alice", "mnist", "abc123")["summary"]  # doctest: +SKIP
    """

    kind = "remote"

    def __init__(
        self,
        settings: Settings,
        timeout: float | None = None,
        transport: Any = None,
        retry_seconds: float = RETRY_SECONDS,
    ) -> None:
        from jupyter_tracker.sync.transport import TrackerClient

        if not settings.base_url:
            raise ApiError("no tracking server configured (base_url)")
        self.client = TrackerClient(
            settings.base_url,
            settings.api_key,
            username=settings.username,
            transport=transport,
            timeout=timeout or 30.0,
        )
        self.base_url = self.client.base_url
        self.retry_seconds = retry_seconds
        self._default_entity: str | None = None

    def __repr__(self) -> str:
        return f"<RemoteBackend {self.base_url}>"

    def close(self) -> None:
        self.client.close()

    # one place that calls the server: retries, and errors in the Api's terms --------------------------
    def _call(self, operation: Callable[[], T], what: str) -> T:
        from jupyter_tracker.sync.backoff import Backoff, RetriesExhausted, retry
        from jupyter_tracker.sync.transport import RefusedError, SyncError

        try:
            return retry(operation, Backoff(base=0.5, cap=10.0), deadline=time.monotonic() + self.retry_seconds)
        except RetriesExhausted as error:
            raise ApiError(f"{self.base_url} did not answer ({what}): {error}") from None
        except RefusedError as error:
            if error.status == 404:
                raise RunNotFoundError(f"{what}: not found on {self.base_url}") from None
            raise ApiError(str(error)) from None
        except SyncError as error:
            raise ApiError(str(error)) from None

    def _entity(self, entity: str | None) -> str:
        if entity:
            return entity
        if self._default_entity is None:
            viewer = self._call(self.client.viewer, "who the API key belongs to")
            self._default_entity = str(viewer.get("default_entity") or viewer.get("username") or "")
        return self._default_entity

    @staticmethod
    def _project(project: str | None, run_id: str | None = None) -> str:
        if not project:
            where = f" for run {run_id!r}" if run_id else ""
            raise ApiError(f"a tracking server needs a project{where}: use a path like 'entity/project/run_id'")
        return project

    # the Backend protocol ---------------------------------------------------------------------------------
    def list_runs(
        self,
        entity: str | None,
        project: str | None,
        filters: Mapping[str, Any] | None,
        order: str | None,
        per_page: int,
    ) -> RemotePages:
        from jupyter_tracker.api import filters as run_filters

        run_filters.compile_filter(filters)  # invalid filters raise ValueError here, before any request
        if per_page < 1:
            raise ValueError(f"per_page must be at least 1, got {per_page}")
        project = self._project(project)
        resolved_entity = self._entity(entity)
        filters = dict(filters) if filters else None

        def fetch(number: int) -> dict[str, Any]:
            return self._call(
                lambda: self.client.list_runs(resolved_entity, project, filters, order, number, per_page),
                f"runs of {resolved_entity}/{project}",
            )

        return RemotePages(fetch, per_page)

    def get_run(self, entity: str | None, project: str | None, run_id: str) -> RunRecord:
        project = self._project(project, run_id)
        resolved_entity = self._entity(entity)
        run = self._call(
            lambda: self.client.get_run(resolved_entity, project, run_id), f"run {resolved_entity}/{project}/{run_id}"
        )
        return _decode_run(run)

    def history_rows(
        self,
        entity: str | None,
        project: str,
        run_id: str,
        keys: Sequence[str] | None = None,
        min_step: int | None = None,
        max_step: int | None = None,
        page_size: int = 1000,
    ) -> Iterator[dict[str, Any]]:
        resolved_entity = self._entity(entity)
        next_step: int | None = max(0, min_step or 0)
        key_list = list(keys) if keys else None
        while next_step is not None:
            step = next_step
            answer = self._call(
                functools.partial(
                    self.client.scan_history, resolved_entity, project, run_id, key_list, step, page_size
                ),
                f"history of {resolved_entity}/{project}/{run_id}",
            )
            for row in answer.get("rows") or []:
                if max_step is not None and row.get("_step", 0) >= max_step:
                    return
                yield decode_value(row)
            following = answer.get("next_min_step")
            next_step = int(following) if following is not None and int(following) > step else None

    def sampled_history(
        self,
        entity: str | None,
        project: str,
        run_id: str,
        keys: Sequence[str] | None,
        samples: int,
        x_axis: str = "_step",
    ) -> list[dict[str, Any]]:
        resolved_entity = self._entity(entity)
        answer = self._call(
            lambda: self.client.history(
                resolved_entity, project, run_id, list(keys) if keys else None, samples, x_axis, sampling="rows"
            ),
            f"history of {resolved_entity}/{project}/{run_id}",
        )
        return [decode_value(row) for row in answer.get("rows") or []]

    def system_rows(self, entity: str | None, project: str, run_id: str) -> list[dict[str, Any]]:
        # the history endpoint's system stream: every window up to SYSTEM_ROWS, min/max per key beyond
        resolved_entity = self._entity(entity)
        path = self.client.run_path(resolved_entity, project, run_id) + "/history"
        params = {"stream": "system", "samples": SYSTEM_ROWS, "x_axis": "_timestamp"}
        answer = self._call(
            lambda: self.client.request("GET", path, params=params).json(),
            f"system metrics of {resolved_entity}/{project}/{run_id}",
        )
        return [decode_value(row) for row in answer.get("rows") or []]

    def run_warnings(self, entity: str | None, project: str, run_id: str) -> list[dict[str, Any]]:
        """The warning records the run synced (limits crossed, ...), for the run page to list.

        Read from the server's warnings endpoint: a run read from the server has no log here to scan.
        """
        resolved_entity = self._entity(entity)
        path = self.client.run_path(resolved_entity, project, run_id) + "/warnings"
        answer = self._call(
            lambda: self.client.request("GET", path).json(),
            f"warnings of {resolved_entity}/{project}/{run_id}",
        )
        return [decode_value(item) for item in answer.get("warnings") or [] if isinstance(item, dict)]

    def files(self, entity: str | None, project: str, run_id: str) -> list[FileRecord]:
        resolved_entity = self._entity(entity)
        listed = self._call(
            lambda: self.client.list_files(resolved_entity, project, run_id),
            f"files of {resolved_entity}/{project}/{run_id}",
        )
        return [
            FileRecord(name=item["name"], size=int(item.get("size") or 0), updated=item.get("updated"))
            for item in listed
        ]

    def download_file(
        self, entity: str | None, project: str, run_id: str, name: str, root: Path, replace: bool = False
    ) -> Path:
        target = Path(root) / name
        resolved_root = Path(root).resolve()
        if resolved_root not in target.resolve().parents:
            raise ApiError(f"file name {name!r} would land outside {root}")
        if target.exists() and not replace:
            raise FileExistsError(f"{target} exists; pass replace=True to overwrite it")
        resolved_entity = self._entity(entity)
        data = self._call(
            lambda: self.client.download_file(resolved_entity, project, run_id, name),
            f"file {name} of {resolved_entity}/{project}/{run_id}",
        )
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        return target

    def projects(self, entity: str | None) -> list[str]:
        raise ApiError(
            f"{self.base_url}: listing projects is not part of the server's v1 API; "
            "name the project in the path ('entity/project')"
        )
