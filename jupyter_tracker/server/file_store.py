"""The server's file store on disk: one folder per run, names checked, links never followed.

Files of a run live under ``<data dir>/runs/<run key>/`` where the run key is the database's
number for the run (never a name a client chose). A file name is a relative POSIX path; ``..``,
``.``, empty parts, absolute paths, backslashes, NUL and control characters are refused, and so
is any path that passes through a symbolic link. Uploads are written to a temporary file and
renamed into place, so a reader never sees half a file.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import BinaryIO

MAX_NAME_CHARS = 1024
_CHUNK = 1 << 20


class FileNameError(ValueError):
    """A file name that could escape the run's folder or is not allowed."""


class FileTooLarge(ValueError):
    """An upload over the size limit."""


def check_file_name(name: str) -> str:
    """Returns the name when it is a safe relative path, else raises :class:`FileNameError`.

    >>> check_file_name("media/images/a.png")
    'media/images/a.png'
    >>> check_file_name("../x")
    Traceback (most recent call last):
    ...
    jupyter_tracker.server.file_store.FileNameError: file name '../x' is not allowed: it contains '..'
    """
    if not name or len(name) > MAX_NAME_CHARS:
        raise FileNameError(f"file name must be 1 to {MAX_NAME_CHARS} characters")
    if "\x00" in name or not name.isprintable():
        raise FileNameError("file name is not allowed: it contains NUL or control characters")
    if "\\" in name:
        raise FileNameError(f"file name {name!r} is not allowed: it contains a backslash")
    if name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        raise FileNameError(f"file name {name!r} is not allowed: it is an absolute path")
    parts = name.split("/")
    if any(part == ".." for part in parts):
        raise FileNameError(f"file name {name!r} is not allowed: it contains '..'")
    if any(part in ("", ".") for part in parts):
        raise FileNameError(f"file name {name!r} is not allowed: empty or '.' path parts")
    return name


class FileStore:
    """Reads and writes the files of runs under one data directory."""

    def __init__(self, data_dir: Path, max_file_bytes: int) -> None:
        self.data_dir = Path(data_dir)
        self.max_file_bytes = max_file_bytes
        self.data_dir.mkdir(parents=True, exist_ok=True)

    def run_folder(self, run_key: int) -> Path:
        return self.data_dir / "runs" / str(int(run_key))

    def _resolve(self, run_key: int, name: str, create: bool) -> Path:
        """The path of a run's file; refuses links anywhere between the data dir and the file."""
        check_file_name(name)
        folder = self.run_folder(run_key)
        if create:
            folder.mkdir(parents=True, exist_ok=True)
        current = folder
        for folder_part in (current.parent.parent, current.parent, current):
            if folder_part.is_symlink():
                raise FileNameError("file store folder is a symbolic link; refusing to follow it")
        parts = name.split("/")
        for part in parts[:-1]:
            current = current / part
            if current.is_symlink():
                raise FileNameError(f"file name {name!r} is not allowed: it passes through a link")
            if create and not current.exists():
                current.mkdir()
            elif current.exists() and not current.is_dir():
                raise FileNameError(f"file name {name!r} is not allowed: {part!r} is a file")
        target = current / parts[-1]
        if target.is_symlink():
            raise FileNameError(f"file name {name!r} is not allowed: it is a link")
        if target.exists() and not target.is_file():
            raise FileNameError(f"file name {name!r} is not allowed: it is a folder")
        return target

    def begin_upload(self, run_key: int, name: str) -> Upload:
        """Starts writing a run's file; :meth:`Upload.commit` puts it in place."""
        target = self._resolve(run_key, name, create=True)
        return Upload(target, self.max_file_bytes)

    def write(self, run_key: int, name: str, chunks: Iterable[bytes]) -> int:
        """Stores a whole file at once; raises :class:`FileTooLarge` (nothing kept) past the size limit."""
        upload = self.begin_upload(run_key, name)
        try:
            for chunk in chunks:
                upload.write(chunk)
            return upload.commit()
        finally:
            upload.abort()

    def open(self, run_key: int, name: str) -> tuple[int, Iterator[bytes]]:
        """(size, chunks) of a stored file; FileNotFoundError when absent."""
        target = self._resolve(run_key, name, create=False)
        flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0)
        descriptor = os.open(target, flags)
        size = os.fstat(descriptor).st_size

        def chunks() -> Iterator[bytes]:
            with os.fdopen(descriptor, "rb") as handle:
                while True:
                    data = handle.read(_CHUNK)
                    if not data:
                        return
                    yield data

        return size, chunks()

    def list(self, run_key: int) -> list[dict[str, object]]:
        """``[{"name", "size", "updated"}]`` of a run's files; links and temporary files are left out."""
        folder = self.run_folder(run_key)
        if not folder.is_dir() or folder.is_symlink():
            return []
        found: list[dict[str, object]] = []
        for root, dirs, files in os.walk(folder, followlinks=False):
            dirs[:] = sorted(d for d in dirs if not os.path.islink(os.path.join(root, d)))
            for file_name in sorted(files):
                path = os.path.join(root, file_name)
                if file_name.startswith(".upload-") or os.path.islink(path):
                    continue
                stat = os.stat(path, follow_symlinks=False)
                name = os.path.relpath(path, folder).replace(os.sep, "/")
                found.append({"name": name, "size": stat.st_size, "updated": stat.st_mtime})
        return sorted(found, key=lambda item: str(item["name"]))


class Upload:
    """A file being received: written to a temporary file beside the target, renamed on commit."""

    def __init__(self, target: Path, max_bytes: int) -> None:
        self.target = target
        self.max_bytes = max_bytes
        self.size = 0
        handle, self._temp_name = tempfile.mkstemp(prefix=".upload-", dir=target.parent)
        self._out: BinaryIO | None = os.fdopen(handle, "wb")

    def write(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if self.size > self.max_bytes:
            raise FileTooLarge(f"file is over the size limit of {self.max_bytes} bytes")
        assert self._out is not None
        self._out.write(chunk)

    def commit(self) -> int:
        """Puts the file in place (replacing an older version); returns its size."""
        assert self._out is not None
        self._out.close()
        self._out = None
        if self.target.is_symlink():
            raise FileNameError(f"file name {self.target.name!r} is not allowed: it is a link")
        os.replace(self._temp_name, self.target)
        self._temp_name = ""
        return self.size

    def abort(self) -> None:
        """Drops the temporary file unless committed; safe to call more than once."""
        if self._out is not None:
            self._out.close()
            self._out = None
        if self._temp_name:
            with contextlib.suppress(OSError):
                os.unlink(self._temp_name)
            self._temp_name = ""
