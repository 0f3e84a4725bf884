"""Copies the process's stdout and stderr into the run's ``output.log`` (``WANDB_CONSOLE=wrap``).

The user's streams keep doing exactly what they did: every attribute (``isatty``, ``fileno``,
``encoding``, ipykernel's own methods) is delegated, so tqdm bars and notebook output behave as
without the tracker. Only ``write`` is copied, and a failing copy is dropped silently.
"""

from __future__ import annotations

import sys
import threading
from pathlib import Path
from typing import Any, TextIO


class TeeStream:
    """Stands in for ``sys.stdout``/``sys.stderr`` and copies what is written to a file."""

    def __init__(self, original: TextIO, copy: TextIO, lock: threading.Lock) -> None:
        object.__setattr__(self, "original_stream", original)
        object.__setattr__(self, "_copy", copy)
        object.__setattr__(self, "_lock", lock)

    def write(self, text: str) -> int:
        written = self.original_stream.write(text)
        try:
            with self._lock:
                self._copy.write(text)
        except (OSError, ValueError, TypeError):
            pass
        return written

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.original_stream, name)

    def __setattr__(self, name: str, value: Any) -> None:
        if name in ("write", "writelines"):
            # IPython 9 patches ``sys.stdout.write`` for each cell and restores it after; patching the
            # stream under this tee instead would make it call itself (endless recursion in a kernel)
            object.__setattr__(self, name, value)
            return
        setattr(self.original_stream, name, value)


class OutputCapture:
    """Installs the tee on both streams for one run and removes it at finish."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._file: TextIO | None = None
        self._lock = threading.Lock()

    def start(self) -> None:
        self._file = open(self.path, "a", encoding="utf-8", errors="replace", buffering=1)
        sys.stdout = TeeStream(sys.stdout, self._file, self._lock)  # type: ignore[assignment]
        sys.stderr = TeeStream(sys.stderr, self._file, self._lock)  # type: ignore[assignment]

    def stop(self) -> None:
        for name in ("stdout", "stderr"):
            stream = getattr(sys, name)
            if isinstance(stream, TeeStream) and stream._copy is self._file:
                setattr(sys, name, stream.original_stream)
        if self._file is not None:
            with self._lock:
                self._file.close()
            self._file = None
