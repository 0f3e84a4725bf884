"""What a run directory records of its upload: ``sync.json`` (server, acknowledged sequence, offset, files).

Written atomically (a temporary file renamed over the old one) after every acknowledged batch,
so a crash leaves either the previous or the new state. It never holds an API key: only the
server's address without credentials, where the run lives there, and what the server confirmed.
"""

from __future__ import annotations

import dataclasses
import json
import os
import socket
import time
from pathlib import Path

SYNC_STATE_NAME = "sync.json"


@dataclasses.dataclass
class SyncState:
    """The acknowledged part of one run's upload.

    ``offset`` is a frame boundary in the run log at or before the first record the server has
    not acknowledged; ``applied_seq`` is the server's answer. ``complete`` is set once the whole
    log of a finished run and its files are on the server.
    """

    base_url: str | None = None
    entity: str | None = None
    project: str | None = None
    run_id: str | None = None
    applied_seq: int = 0
    offset: int = 0
    complete: bool = False
    files: dict[str, list[int]] = dataclasses.field(default_factory=dict)
    pid: int | None = None
    host: str | None = None
    updated: float | None = None
    problems: list[str] = dataclasses.field(default_factory=list)

    @classmethod
    def load(cls, run_dir: Path) -> SyncState:
        """The state in ``run_dir``, or a blank one when there is none (or it is unreadable)."""
        path = Path(run_dir) / SYNC_STATE_NAME
        try:
            values = json.loads(path.read_text(encoding="utf-8"))
        except (FileNotFoundError, ValueError, OSError):
            return cls()
        known = {field.name for field in dataclasses.fields(cls)}
        return cls(**{key: value for key, value in values.items() if key in known})

    @staticmethod
    def exists(run_dir: Path) -> bool:
        return (Path(run_dir) / SYNC_STATE_NAME).is_file()

    def claim(self) -> None:
        """Marks this process as the one uploading the run (the backlog sync leaves live runs alone)."""
        self.pid = os.getpid()
        self.host = socket.gethostname()

    def save(self, run_dir: Path) -> None:
        self.updated = time.time()
        path = Path(run_dir) / SYNC_STATE_NAME
        temporary = path.with_name(f".{SYNC_STATE_NAME}.{os.getpid()}.tmp")
        temporary.write_text(json.dumps(dataclasses.asdict(self), indent=1, sort_keys=True), encoding="utf-8")
        os.replace(temporary, path)

    def same_server(self, base_url: str, entity: str, project: str, run_id: str) -> bool:
        return (self.base_url, self.entity, self.project, self.run_id) == (base_url, entity, project, run_id)

    def owned_by_live_process(self) -> bool:
        """True when the process that last claimed the upload still runs on this host (not this process)."""
        if not self.pid or self.host != socket.gethostname() or self.pid == os.getpid():
            return False
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
