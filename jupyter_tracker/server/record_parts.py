"""Records too large for one request arrive in parts: staged on disk, applied whole when the last part lands.

``log()`` accepts a call of up to 25 MB (the documented guideline), more than a batch request
may carry (``max_batch_bytes``, and any proxy's body limit in front of the server). The client
sends such a records payload (msgpack ``[first_seq, [record]]``) as consecutive byte ranges;
each part names its ``offset`` and the payload's ``total`` size. The staged bytes live in
``<data dir>/staging/<run key>-<first_seq>-<total>.part``, so a retried part or a restarted
client resumes where the server stopped (a part at the wrong offset is refused and told how
many bytes the server holds), and any server process sharing the data dir can take the next part.
"""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path

#: staged payloads untouched for this long are abandoned uploads and are removed
STALE_SECONDS = 24 * 3600


class PartOutOfPlace(Exception):
    """A part whose offset is not where the staged bytes end; ``received`` says where they end."""

    def __init__(self, received: int) -> None:
        super().__init__(f"part out of place: the server holds {received} bytes of this payload")
        self.received = received


class RecordParts:
    """The staging folder of partly received payloads."""

    def __init__(self, data_dir: Path) -> None:
        self.folder = Path(data_dir) / "staging"

    def _path(self, run_key: int, first_seq: int, total: int) -> Path:
        return self.folder / f"{int(run_key)}-{int(first_seq)}-{int(total)}.part"

    def add(self, run_key: int, first_seq: int, total: int, offset: int, data: bytes) -> bytes | None:
        """Appends one part; returns the whole payload once ``total`` bytes are in, else None.

        Raises :class:`PartOutOfPlace` when ``offset`` is not the staged size, and ``ValueError``
        when the part would run past ``total``.
        """
        if offset + len(data) > total:
            raise ValueError(f"part runs past the payload's total of {total} bytes")
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self._path(run_key, first_seq, total)
        if offset == 0:
            self._forget_others(run_key, first_seq, path)
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
        received = path.stat().st_size if path.exists() else 0
        if offset != received:
            raise PartOutOfPlace(received)
        with path.open("ab") as handle:
            handle.write(data)
        if received + len(data) < total:
            return None
        payload = path.read_bytes()
        return payload

    def done(self, run_key: int, first_seq: int, total: int) -> None:
        """Drops a payload once it is applied (or found already applied)."""
        with contextlib.suppress(FileNotFoundError):
            self._path(run_key, first_seq, total).unlink()

    def _forget_others(self, run_key: int, first_seq: int, keep: Path) -> None:
        """Removes other totals staged for the same record, and abandoned payloads of any run."""
        prefix = f"{int(run_key)}-{int(first_seq)}-"
        now = time.time()
        for other in self.folder.glob("*.part"):
            if other == keep:
                continue
            with contextlib.suppress(OSError):
                if other.name.startswith(prefix) or now - other.stat().st_mtime > STALE_SECONDS:
                    os.unlink(other)
