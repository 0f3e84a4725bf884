"""Artifacts on a tracking server: versions read over ``/api/v1/artifacts``, files fetched through the cache.

Downloads land first in the content-addressed cache under ``WANDB_CACHE_DIR`` (checked against
their digest), so a file fetched once is never fetched again, whatever artifact or version holds it.
Uploads send only the files the server lacks; a file larger than :data:`PART_BYTES` goes in parts,
so an upload cut off mid-file resumes from the last part the server has, and downloads come in
parts too, so memory stays bounded whatever the file's size.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote

from jupyter_tracker.artifacts.content_store import ContentStore
from jupyter_tracker.artifacts.manifest import entries_from_json
from jupyter_tracker.artifacts.registry import ArtifactNotFoundError, encode_metadata

T = TypeVar("T")
#: how long one request keeps retrying transient failures (network, 5xx, 429)
RETRY_SECONDS = 60.0
#: files larger than this are sent and fetched in parts of this size
PART_BYTES = 8 << 20
_BLOCK = 1 << 20


class _PartOffset(Exception):
    """The server has a different amount of a file sent in parts than the client assumed."""

    def __init__(self, received: int) -> None:
        super().__init__(received)
        self.received = received


def _segment(value: str) -> str:
    return quote(str(value), safe="")


def download_cache() -> ContentStore:
    """The cache of downloaded artifact files: ``<WANDB_CACHE_DIR>/artifacts/obj``."""
    from jupyter_tracker.settings import cache_dir

    return ContentStore(cache_dir() / "artifacts" / "obj")


class ArtifactUploadError(RuntimeError):
    """The server refused an artifact (or a file of it); the message says why."""


class RemoteArtifactStore:
    """The artifacts of a tracking server, through an ``Api`` remote backend (its client and entity).

    >>> store = RemoteArtifactStore(RemoteBackend(settings))  # doctest: +SKIP
    >>> store.resolve(None, "mnist", "model", "best")["version"]  # doctest: +SKIP
    """

    kind = "remote"

    def __init__(self, backend: Any, cache: ContentStore | None = None, retry_seconds: float = RETRY_SECONDS,
                 part_bytes: int = PART_BYTES) -> None:
        self.backend = backend
        self.client = backend.client
        self.cache = cache if cache is not None else download_cache()
        self.retry_seconds = retry_seconds
        self.part_bytes = part_bytes
        #: bytes of file content sent by :meth:`push` (what deduplication saves shows here)
        self.bytes_uploaded = 0
        self.files_uploaded = 0

    def __repr__(self) -> str:
        return f"<RemoteArtifactStore {self.client.base_url}>"

    def _call(self, operation: Callable[[], T], what: str) -> T:
        from jupyter_tracker.sync.backoff import Backoff, RetriesExhausted, retry
        from jupyter_tracker.sync.transport import RefusedError

        try:
            return retry(operation, Backoff(base=0.5, cap=10.0), deadline=time.monotonic() + self.retry_seconds)
        except RetriesExhausted as error:
            raise ArtifactUploadError(f"{self.client.base_url} did not answer ({what}): {error}") from None
        except RefusedError as error:
            if error.status == 409 and isinstance(error.body.get("received"), int):
                raise _PartOffset(error.body["received"]) from None
            if error.status == 404:
                raise ArtifactNotFoundError(str(error.body.get("error") or f"{what}: not found")) from None
            raise ArtifactUploadError(f"{what}: {error}") from None

    def _json(self, method: str, path: str, what: str, **options: Any) -> Any:
        return self._call(lambda: self.client.request(method, path, **options).json(), what)

    def _base(self, entity: str | None, project: str) -> str:
        return f"/artifacts/{_segment(self.backend._entity(entity))}/{_segment(project)}"

    def _version_path(self, record: dict[str, Any]) -> str:
        return f"{self._base(record['entity'], record['project'])}/collections/{_segment(record['name'])}/v{record['version']}"

    # reading -----------------------------------------------------------------------------------
    def resolve(self, entity: str | None, project: str, name: str, selector: str) -> dict[str, Any]:
        path = f"{self._base(entity, project)}/collections/{_segment(name)}/{_segment(selector)}"
        return self._json("GET", path, f"artifact {project}/{name}:{selector}")

    def versions(self, entity: str | None, project: str, name: str, type_name: str | None = None) -> list[dict[str, Any]]:
        params = {"type": type_name} if type_name else {}
        path = f"{self._base(entity, project)}/collections/{_segment(name)}"
        try:
            return list(self._json("GET", path, f"versions of {project}/{name}", params=params)["versions"])
        except ArtifactNotFoundError:
            return []

    def run_versions(self, entity: str | None, project: str, run_id: str, which: str) -> list[dict[str, Any]]:
        """The versions run ``run_id`` ``logged`` or ``used``."""
        path = f"{self._base(entity, project)}/runs/{_segment(run_id)}/{which}"
        return list(self._json("GET", path, f"artifacts {which} by run {run_id}")["versions"])

    def used_by(self, record: dict[str, Any]) -> list[str]:
        return list(self._json("GET", self._version_path(record) + "/uses", f"runs that used {record['name']}")["runs"])

    def run(self, record: dict[str, Any], run_id: str) -> Any:
        from jupyter_tracker.api.public import Run

        return Run(self.backend, self.backend.get_run(record["entity"], record["project"], run_id), complete=True)

    def fetch(self, record: dict[str, Any], digest: str, target: Path) -> Path:
        """Copies the file ``digest`` to ``target``, downloading it into the cache only if absent there."""
        if not self.cache.has(digest):
            url = f"{self._base(record['entity'], record['project'])}/blobs/{digest}"
            sizes = [item.get("size") or 0 for item in record["manifest"].values() if item.get("digest") == digest]
            size = int(sizes[0]) if sizes else 0
            if size <= self.part_bytes:
                data = self._call(lambda: self.client.request("GET", url).content, f"artifact file {digest[:12]}")
                self.cache.put_chunks([data], expected=digest)
            else:
                self.cache.put_chunks(self._parts_of(url, size, digest), expected=digest)
        return self.cache.copy_out(digest, target)

    def _get_part(self, url: str, offset: int) -> bytes:
        return self.client.request("GET", url, params={"offset": offset, "length": self.part_bytes}).content

    def _parts_of(self, url: str, size: int, digest: str) -> Iterator[bytes]:
        offset = 0
        while offset < size:
            data = self._call(functools.partial(self._get_part, url, offset), f"artifact file {digest[:12]} at byte {offset}")
            if not data:
                raise ArtifactUploadError(f"artifact file {digest[:12]} ended at byte {offset} of {size}")
            offset += len(data)
            yield data

    # writing -----------------------------------------------------------------------------------
    def record_use(self, record: dict[str, Any], run_id: str) -> None:
        self._json("POST", self._version_path(record) + "/uses", f"use of {record['name']}", json={"run_id": run_id})

    def set_aliases(self, record: dict[str, Any], aliases: list[str]) -> dict[str, Any]:
        return self._json("PUT", self._version_path(record) + "/aliases", f"aliases of {record['name']}",
                          json={"aliases": aliases})

    def _uploader(self, url: str, path: Path, size: int) -> Callable[[], Any]:
        def send() -> Any:  # a fresh read of the file on every attempt
            headers = {"Content-Type": "application/octet-stream", "Content-Length": str(size)}
            return self.client.request("PUT", url, content=_blocks(path), headers=headers)

        return send

    def _send_parts(self, url: str, path: Path, size: int, name: str) -> int:
        """Sends a large file part by part from what the server already has; returns the bytes sent."""
        state = self._json("GET", f"{url}/part", f"upload state of a file of {name}")
        received, sent = int(state["received"]), 0
        with open(path, "rb") as handle:
            while not state.get("stored") and received < size:
                handle.seek(received)
                data = handle.read(self.part_bytes)
                offset = received
                try:
                    state = self._json("PUT", f"{url}/part", f"a part of a file of {name}", content=data,
                                       params={"offset": offset, "size": size},
                                       headers={"Content-Type": "application/octet-stream"})
                except _PartOffset as moved:  # another upload of the same file got further, or a part was lost
                    received = moved.received
                    continue
                received = int(state["received"])
                sent += len(data)
        return sent

    def push(self, local: Any, record: dict[str, Any], entity: str | None, aliases: list[str] | None = None,
             run_id: str | None = None) -> dict[str, Any]:
        """Uploads a version of the local store: the files the server lacks, then the manifest."""
        project, name = record["project"], record["name"]
        base = self._base(entity, project)
        entries = entries_from_json(record["manifest"])
        digests = sorted({entry.digest for entry in entries.values() if entry.ref is None})
        missing = self._json("POST", f"{base}/blobs/missing", f"files of {name}", json={"digests": digests})["missing"]
        for digest in missing:
            path = local.objects.path_for(digest)
            size = path.stat().st_size
            if size > self.part_bytes:
                self.bytes_uploaded += self._send_parts(f"{base}/blobs/{digest}", path, size, name)
            else:
                self._call(self._uploader(f"{base}/blobs/{digest}", path, size), f"file {digest[:12]} of {name}")
                self.bytes_uploaded += size
            self.files_uploaded += 1
        body = {"type": record["type"], "entries": record["manifest"], "description": record.get("description"),
                "metadata": encode_metadata(record.get("metadata") or {}), "aliases": aliases if aliases is not None else
                [alias for alias in record.get("aliases") or [] if alias != "latest"], "run_id": run_id}
        return self._json("POST", f"{base}/collections/{_segment(name)}/versions", f"artifact {name}", json=body)


def _blocks(path: Path) -> Iterator[bytes]:
    with open(path, "rb") as handle:
        while True:
            block = handle.read(_BLOCK)
            if not block:
                return
            yield block


def remote_store_for(settings: Any, retry_seconds: float = RETRY_SECONDS) -> RemoteArtifactStore:
    """The server's artifact store for a run's settings (``base_url``, ``api_key``)."""
    from jupyter_tracker.api.remote import RemoteBackend

    return RemoteArtifactStore(RemoteBackend(settings, retry_seconds=retry_seconds), retry_seconds=retry_seconds)
