"""An artifact's manifest: its entries (path, digest, size, reference) and the digest of the whole.

Pure apart from hashing files. An entry's digest is the SHA-256 of its content (hex); a
reference to an ``http(s)://`` object is recorded, never fetched, and its digest is the URI. The
artifact's digest covers every entry's path, digest, reference and size, so two artifacts with
the same content have the same digest whatever their metadata: logging one again adds no version.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

_BLOCK = 1 << 20


class ManifestError(ValueError):
    """An entry path that would escape the artifact's root, or a malformed manifest."""


def file_digest(path: Path) -> tuple[str, int]:
    """(SHA-256 hex, size) of a file, read once in 1 MB blocks."""
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as handle:
        while True:
            block = handle.read(_BLOCK)
            if not block:
                break
            digest.update(block)
            size += len(block)
    return digest.hexdigest(), size


def check_entry_path(name: object) -> str:
    """A clean relative POSIX path inside the artifact, or :class:`ManifestError`.

    >>> check_entry_path("models/a.pt")
    'models/a.pt'
    """
    text = str(name)
    if not text or "\x00" in text or "\\" in text or not text.isprintable():
        raise ManifestError(f"artifact file name {text!r} is not allowed (empty, NUL, backslash or control characters)")
    path = PurePosixPath(text)
    if path.is_absolute() or ".." in path.parts:
        raise ManifestError(f"artifact file name {text!r} would leave the artifact's folder")
    parts = [part for part in path.parts if part not in ("", ".")]
    if not parts:
        raise ManifestError(f"artifact file name {text!r} names no file")
    return "/".join(parts)


def is_sha256(digest: object) -> bool:
    return isinstance(digest, str) and len(digest) == 64 and all(c in "0123456789abcdef" for c in digest)


@dataclass
class ArtifactManifestEntry:
    """One file of an artifact (wandb's ``ArtifactManifestEntry``).

    ``ref`` is set for a reference (``file://...`` or ``https://...``); ``local_path`` is where the
    content is before the artifact is logged (not part of the manifest).
    """

    path: str
    digest: str
    size: int | None = None
    ref: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    local_path: str | None = None
    is_tmp: bool = False
    _artifact: Any = field(default=None, repr=False, compare=False)

    @property
    def name(self) -> str:
        return self.path

    def ref_url(self) -> str | None:
        return self.ref

    def download(self, root: str | Path | None = None) -> str:
        """Puts this one file under ``root`` (the artifact's default folder) and returns its path."""
        if self._artifact is None:
            raise ManifestError(f"entry {self.path!r} belongs to no artifact")
        return self._artifact._download_entry(self, root)

    def to_json(self) -> dict[str, Any]:
        value: dict[str, Any] = {"digest": self.digest, "size": self.size}
        if self.ref is not None:
            value["ref"] = self.ref
        if self.extra:
            value["extra"] = dict(self.extra)
        return value

    @classmethod
    def from_json(cls, path: str, value: Mapping[str, Any]) -> ArtifactManifestEntry:
        if not isinstance(value, Mapping) or not isinstance(value.get("digest"), str):
            raise ManifestError(f"manifest entry {path!r} is malformed: expected {{'digest': str, 'size': int}}")
        size = value.get("size")
        if size is not None and (not isinstance(size, int) or isinstance(size, bool) or size < 0):
            raise ManifestError(f"manifest entry {path!r}: size must be a non-negative integer")
        ref = value.get("ref")
        if ref is not None and not isinstance(ref, str):
            raise ManifestError(f"manifest entry {path!r}: ref must be a string")
        if ref is None and not is_sha256(value["digest"]):
            raise ManifestError(f"manifest entry {path!r}: digest must be a SHA-256 hex string")
        extra = value.get("extra") or {}
        return cls(check_entry_path(path), value["digest"], size, ref, dict(extra) if isinstance(extra, Mapping) else {})


def manifest_digest(entries: Iterable[ArtifactManifestEntry]) -> str:
    """The artifact's digest: SHA-256 over its entries in path order (content only, not metadata)."""
    listed = sorted(([entry.path, entry.digest, entry.ref, entry.size] for entry in entries), key=lambda item: str(item[0]))
    return hashlib.sha256(json.dumps(listed, separators=(",", ":")).encode("utf-8")).hexdigest()


def entries_to_json(entries: Iterable[ArtifactManifestEntry]) -> dict[str, dict[str, Any]]:
    return {entry.path: entry.to_json() for entry in sorted(entries, key=lambda entry: entry.path)}


def entries_from_json(value: Any) -> dict[str, ArtifactManifestEntry]:
    if not isinstance(value, Mapping):
        raise ManifestError("manifest entries must be an object {path: {digest, size, ref}}")
    entries = {}
    for path, item in value.items():
        entry = ArtifactManifestEntry.from_json(str(path), item)
        entries[entry.path] = entry
    return entries
