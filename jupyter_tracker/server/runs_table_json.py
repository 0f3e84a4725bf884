"""The runs table's JSON body for the server's pages, built so 10,000 runs answer in milliseconds.

Serialising 10,000 runs-table rows (~3.8 MB) costs ~200 ms and gzip another ~40 ms, per request.
Here each run's row is serialised once per version of the run: :meth:`Storage.project_runs`
hands back the same run object until that run changes, so a row's JSON is kept beside the object
it was made from, and a request after one run changed re-serialises that one row. The whole body
(and its gzip, made the first time a browser asks for it) is kept until any run of the project
changes. Rows leave out the per-request ``now`` of :func:`run_views.run_row`: the page ages runs
by the browser's clock, so a kept body never goes stale.
"""

from __future__ import annotations

import gzip
import json
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from jupyter_tracker.server.storage import Storage

#: projects whose bodies are kept (each holds its rows' JSON once: ~4 MB at 10,000 runs)
PROJECTS_KEPT = 8
#: the newest runs a body holds, as the notebook's runs list (``run_views.list_runs``)
MAX_ROWS = 10_000
#: gzip level 1: a third of the bytes at a fifth of level 6's time (3.8 MB -> 0.85 MB in ~35 ms)
GZIP_LEVEL = 1


@dataclass
class RunsBody:
    """One project's runs JSON (``{"runs": [...]}``, newest first, at most :data:`MAX_ROWS`) and its gzip."""

    stamp: tuple[int, ...]
    json: bytes
    gzipped: bytes | None = None
    #: id(run object) -> (the run object, kept so the id stays its own; its row as JSON)
    rows: dict[int, tuple[dict[str, Any], bytes]] = field(default_factory=dict)

    def gzip(self) -> bytes:
        if self.gzipped is None:
            self.gzipped = gzip.compress(self.json, GZIP_LEVEL, mtime=0)
        return self.gzipped


def _row_json(run: dict[str, Any]) -> bytes:
    from jupyter_tracker.lab.run_views import run_row

    row = run_row(run)
    del row["now"]
    return json.dumps(row, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode("utf-8")


class RunsTableBodies:
    """The runs bodies of recently read projects, kept until a run of the project changes.

    >>> bodies = RunsTableBodies(storage)  # doctest: +SKIP
    >>> bodies.body("alice", "mnist").json[:9]  # doctest: +SKIP
    b'{"runs":['
    """

    def __init__(self, storage: Storage, projects_kept: int = PROJECTS_KEPT, max_rows: int = MAX_ROWS) -> None:
        self.storage = storage
        self.projects_kept = projects_kept
        self.max_rows = max_rows
        self._lock = threading.Lock()
        self._bodies: OrderedDict[tuple[str, str], RunsBody] = OrderedDict()

    def body(self, entity: str, project: str) -> RunsBody:
        """The project's body as of now (raises the storage's NotFound for an unknown entity)."""
        stamp, runs = self.storage.project_runs(entity, project)
        name = (entity, project)
        with self._lock:
            kept = self._bodies.get(name)
            if kept is not None:
                self._bodies.move_to_end(name)
                if kept.stamp == stamp:
                    return kept
        known = kept.rows if kept is not None else {}
        rows: dict[int, tuple[dict[str, Any], bytes]] = {}
        parts = []
        # project_runs is oldest first (by created, then insertion): newest first here
        for run in runs[: -self.max_rows - 1 : -1]:
            found = known.get(id(run))
            if found is None or found[0] is not run:
                found = (run, _row_json(run))
            rows[id(run)] = found
            parts.append(found[1])
        built = RunsBody(tuple(stamp), b'{"runs":[' + b",".join(parts) + b"]}", rows=rows)
        with self._lock:
            self._bodies[name] = built
            self._bodies.move_to_end(name)
            while len(self._bodies) > self.projects_kept:
                self._bodies.popitem(last=False)
        return built


def accepts_gzip(accept_encoding: str) -> bool:
    """True when an ``Accept-Encoding`` header takes gzip (named or ``*``, with a q above 0)."""
    for part in accept_encoding.split(","):
        name, _, parameters = part.partition(";")
        if name.strip().lower() not in ("gzip", "*"):
            continue
        parameters = parameters.strip().lower()
        if not parameters.startswith("q="):
            return True
        try:
            return float(parameters[2:]) > 0
        except ValueError:
            return False
    return False
