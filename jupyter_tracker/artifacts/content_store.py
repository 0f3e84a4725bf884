"""Content-addressed files on local disk: each distinct content is kept once, under its SHA-256.

Used for the local store's artifact objects and for the download cache. A file is written to a
temporary name beside its final place, checked against its digest, and renamed, so a reader never
sees half a file and a file already held is neither copied nor written again (deduplication).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path

from jupyter_tracker.artifacts.manifest import is_sha256

_BLOCK = 1 << 20


class DigestMismatchError(ValueError):
    """Content did not hash to the digest it was stored under (a file changed while it was read)."""


class ContentStore:
    """Blobs under ``root/sha256/ab/cdef...``.

    >>> store = ContentStore(Path("/tmp/objects"))  # doctest: +SKIP
    >>> store.put_file(Path("model.pt"), digest)  # doctest: +SKIP
    """

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def path_for(self, digest: str) -> Path:
        if not is_sha256(digest):
            raise ValueError(f"not a SHA-256 digest: {digest!r}")
        return self.root / "sha256" / digest[:2] / digest[2:]

    def has(self, digest: str) -> bool:
        return self.path_for(digest).is_file()

    def put_file(self, source: Path, digest: str) -> tuple[str, int, bool]:
        """Stores ``source`` under ``digest`` unless held already: (digest, size, copied).

        The copy is hashed as it is written; if ``source`` no longer has ``digest`` (it changed
        since it was hashed) it is stored under its new digest, which is returned.
        """
        target = self.path_for(digest)
        if target.is_file():
            return digest, target.stat().st_size, False
        return self.put_chunks(_read_blocks(source), expected=None)

    def put_chunks(self, chunks: Iterable[bytes], expected: str | None) -> tuple[str, int, bool]:
        """Stores a stream; with ``expected`` a different digest raises :class:`DigestMismatchError`."""
        self.root.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(prefix=".incoming-", dir=self.root)
        hasher = hashlib.sha256()
        size = 0
        try:
            with os.fdopen(handle, "wb") as out:
                for chunk in chunks:
                    hasher.update(chunk)
                    size += len(chunk)
                    out.write(chunk)
            digest = hasher.hexdigest()
            if expected is not None and digest != expected:
                raise DigestMismatchError(f"content hashed to {digest[:12]}..., expected {expected[:12]}...")
            target = self.path_for(digest)
            if target.is_file():
                return digest, size, False
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(temporary, target)
            temporary = ""
            return digest, size, True
        finally:
            if temporary:
                with contextlib.suppress(OSError):
                    os.unlink(temporary)

    def copy_out(self, digest: str, target: Path) -> Path:
        """Copies the blob to ``target`` (a plain copy: editing it never changes the store)."""
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.with_name(f".{target.name}.jt-download")
        shutil.copyfile(self.path_for(digest), temporary)
        os.replace(temporary, target)
        return target

    def disk_bytes(self) -> int:
        """Bytes held (what the deduplication saves shows here)."""
        return sum(path.stat().st_size for path in (self.root / "sha256").rglob("*") if path.is_file())


def _read_blocks(path: Path) -> Iterable[bytes]:
    with open(path, "rb") as handle:
        while True:
            block = handle.read(_BLOCK)
            if not block:
                return
            yield block
