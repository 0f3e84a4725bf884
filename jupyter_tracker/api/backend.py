"""The small contract between the public ``Api`` objects and where runs are stored.

:mod:`jupyter_tracker.api.public` (``Api``, ``Run``, ``Runs``) holds every user-facing rule
(path parsing, wandb's key semantics of ``history``/``scan_history``, pandas); a backend only
answers a few questions about stored runs. Two backends exist: ``local.LocalBackend`` over the
run store on disk, and ``remote.RemoteBackend`` over the tracking server's HTTP API.
:func:`jupyter_tracker.api.backend_for` picks one from the settings.

Runs cross this boundary as plain dicts (:class:`RunRecord`), the same shape the server sends
(``GET /api/v1/runs/{entity}/{project}/{run_id}``), so a record from either side works.

Errors::

    ApiError                 anything a backend cannot answer
     └── RunNotFoundError    no such run (also a LookupError)
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol, TypedDict, runtime_checkable


class ApiError(Exception):
    """A backend could not answer (unreadable store, server error); the message says why."""


class RunNotFoundError(ApiError, LookupError):
    """No run matches the path that was asked for."""


class RunRecord(TypedDict, total=False):
    """One run as a backend describes it (every key optional except ``id`` and ``project``).

    ``created``/``updated`` are unix times; ``config`` and ``summary`` are flat dicts with
    dotted names (``"opt.name"``); ``dir`` is the run directory (local backend only).
    """

    id: str
    name: str | None
    state: str
    entity: str | None
    project: str
    group: str | None
    tags: list[str]
    notes: str | None
    job_type: str | None
    created: float | None
    updated: float | None
    runtime: float | None
    exit_code: int | None
    config: dict[str, Any]
    summary: dict[str, Any]
    dir: str


class FileRecord(TypedDict, total=False):
    """One file kept with a run: its name relative to the run (``"media/images/x.png"``)."""

    name: str
    size: int
    updated: float | None


class RunChanges(TypedDict, total=False):
    """Changes to a stored run (``run.update()``): metadata (name, tags, notes, group, job_type),
    and config and summary values as flat dotted names, already checked."""

    metadata: dict[str, Any]
    config: dict[str, Any]
    summary: dict[str, Any]


@runtime_checkable
class RunPages(Protocol):
    """The result of one ``list_runs`` query, fetched a page at a time.

    ``total()`` is the number of matching runs; ``page(n)`` returns page ``n`` (1-based) of at
    most ``per_page`` records, ``[]`` past the end. A remote backend fetches each page when asked;
    a local one may hold everything already (see :class:`RecordPages`).
    """

    per_page: int

    def total(self) -> int: ...

    def page(self, number: int) -> list[RunRecord]: ...


class RecordPages:
    """:class:`RunPages` over records already in memory (what the local backend returns).

    >>> pages = RecordPages([{"id": "a", "project": "p"}, {"id": "b", "project": "p"}], per_page=1)
    >>> pages.total(), pages.page(2), pages.page(3)
    (2, [{'id': 'b', 'project': 'p'}], [])
    """

    def __init__(self, records: Sequence[RunRecord], per_page: int = 50) -> None:
        if per_page < 1:
            raise ValueError(f"per_page must be at least 1, got {per_page}")
        self.records = list(records)
        self.per_page = per_page

    def total(self) -> int:
        return len(self.records)

    def page(self, number: int) -> list[RunRecord]:
        start = (number - 1) * self.per_page
        return self.records[start : start + self.per_page] if number >= 1 else []


@runtime_checkable
class Backend(Protocol):
    """What the public ``Api`` needs from a store of runs.

    ``entity`` may be None (local runs usually have none); ``project`` may be None in
    ``list_runs`` to mean every project the backend can see.
    """

    #: ``"local"`` or ``"remote"``, shown in reprs and messages
    kind: str

    def list_runs(
        self,
        entity: str | None,
        project: str | None,
        filters: Mapping[str, Any] | None,
        order: str | None,
        per_page: int,
    ) -> RunPages:
        """Runs of a project matching wandb-style ``filters`` (see :mod:`.filters`), in ``order``.

        Invalid filters raise ``ValueError`` at once, before any page is fetched.
        """
        ...

    def get_run(self, entity: str | None, project: str | None, run_id: str) -> RunRecord:
        """One run, as fresh as the backend can make it; raises :class:`RunNotFoundError`.

        ``project`` None means "any project" (a bare run id).
        """
        ...

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
        """Every committed history row, in step order, with ``_step``, ``_timestamp``, ``_runtime``.

        Not sampled. ``min_step <= _step < max_step`` when given. With ``keys``, the backend may
        leave out rows that hold none of them (it must keep every row holding one); the caller
        applies the exact semantics and projection. ``page_size`` is a hint for paged transports.
        """
        ...

    def sampled_history(
        self,
        entity: str | None,
        project: str,
        run_id: str,
        keys: Sequence[str] | None,
        samples: int,
        x_axis: str = "_step",
    ) -> list[dict[str, Any]]:
        """At most ``samples`` rows for ``Run.history`` (wandb's sampled history).

        Without ``keys``: whole rows, evenly spaced, first and last kept (:mod:`.sampling`).
        With ``keys``: only rows holding at least one of them, each reduced to ``x_axis`` and
        ``keys``. A server may sample differently (e.g. keeping extremes), within ``samples``.
        """
        ...

    def system_rows(self, entity: str | None, project: str, run_id: str) -> list[dict[str, Any]]:
        """The run's system-metrics rows (``stream="system"``), with ``_timestamp`` and ``_runtime``."""
        ...

    def files(self, entity: str | None, project: str, run_id: str) -> list[FileRecord]:
        """Files kept with the run (saved files, media, ``output.log``)."""
        ...

    def download_file(
        self, entity: str | None, project: str, run_id: str, name: str, root: Path, replace: bool = False
    ) -> Path:
        """Copies one of the run's files to ``root/name`` and returns that path."""
        ...

    def projects(self, entity: str | None) -> list[str]:
        """Names of the projects that hold runs."""
        ...
