"""The local backend of ``Api``: runs listed from the SQLite run index, history read from run logs.

The index (``store/index.py``) answers listing and filtering without opening any run log, so
``Api().runs(...)`` stays fast with 10,000 runs; it is a cache, and run directories it does not
know (copied in from another machine, or written while it was lost) are added the first time a
backend looks (``RunIndex.rebuild``). History always comes from the run log, the source of truth.
"""

from __future__ import annotations

import functools
import itertools
import json
import os
import shutil
import sqlite3
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

from jupyter_tracker import console
from jupyter_tracker.api import filters as filter_module
from jupyter_tracker.api.backend import ApiError, FileRecord, RecordPages, RunChanges, RunNotFoundError, RunRecord
from jupyter_tracker.api.sampling import check_samples, history_columns, project_row, sample_indices
from jupyter_tracker.store import records
from jupyter_tracker.store.index import RunIndex, RunIndexError, index_values, listing_signature
from jupyter_tracker.store.reader import (
    history_row,
    history_row_pages,
    iter_history_fields,
    iter_log,
    read_run,
    sampled_history_rows,
)
from jupyter_tracker.store.run_dir import (
    RUN_LOG_NAME,
    find_run_dir,
    iter_run_dirs,
    run_id_from_dir,
    stored_files,
)
from jupyter_tracker.store.run_edit import RunEditError, append_run_changes

#: states after which a run's index row no longer changes
FINAL_STATES = frozenset({"finished", "failed", "killed"})
#: columns every history row has, whatever was logged
ROW_FIELDS = ("_step", "_timestamp", "_runtime")
#: index columns a listing reads; the JSON ones are decoded only when a filter, an order or a page needs them
_LIST_COLUMNS = (
    "id", "project", "entity", "name", "state", "run_group", "job_type", "tags", "notes",
    "created", "updated", "runtime", "exit_code", "dir", "config", "summary", "host",
)
_JSON_COLUMNS = ("tags", "config", "summary")
#: run fields whose equality with a string a listing lets SQLite check (the index column of each);
#: ``state`` is not one: a "running" row may turn out to be crashed when its process is looked at
_SQL_EQUAL_COLUMNS = {"group": "run_group", "job_type": "job_type"}
_HISTORY = records.HISTORY
_SYSTEM = getattr(records, "SYSTEM", "system")


def _record_from_index(row: dict[str, Any]) -> RunRecord:
    """An index row (a fresh dict from ``RunIndex``) as a run record, in place."""
    row.pop("pid", None)
    return row  # type: ignore[return-value]


def _json_columns(fields: set[str]) -> list[str]:
    """The JSON index columns (tags, config, summary) that a set of filter or order fields reads."""
    return [column for column in _JSON_COLUMNS if column in fields or any(f.startswith(column + ".") for f in fields)]


def _decode_columns(row: dict[str, Any], columns: Sequence[str]) -> dict[str, Any]:
    """Decodes the JSON text columns of a raw index row in place (each at most once)."""
    for column in columns:
        value = row.get(column)
        if value is None or value == "":
            row[column] = [] if column == "tags" else {}
        elif isinstance(value, str):
            row[column] = json.loads(value)
    return row


class _DecodingPages(RecordPages):
    """Pages of raw index rows whose remaining JSON columns are decoded as each page is read."""

    def page(self, number: int) -> list[RunRecord]:
        return [_decode_columns(row, _JSON_COLUMNS) for row in super().page(number)]  # type: ignore[arg-type,misc]


def _record_from_log(run_dir: Path, base: Mapping[str, Any] | None = None) -> RunRecord:
    """A run record rebuilt from its log; ``base`` (an index row) fills what the log lacks."""
    state, _ = read_run(run_dir, warn=False)
    metadata = state.metadata
    record: dict[str, Any] = dict(base or {})
    for key in ("id", "name", "entity", "project", "group", "notes", "job_type", "created", "host"):
        if metadata.get(key) is not None:
            record[key] = metadata[key]
    record.setdefault("id", run_id_from_dir(run_dir))
    record["tags"] = list(metadata.get("tags") or record.get("tags") or [])
    record["config"] = dict(state.config)
    record["summary"] = dict(state.summary)
    record["runtime"] = state.runtime
    record["dir"] = str(run_dir)
    if state.state != "running" or record.get("state") in (None, "finished"):
        # the log knows how it ended; a run with no finish record keeps the index's "crashed"
        record["state"] = state.state
        record["exit_code"] = state.exit_code
    record.setdefault("updated", state.last_timestamp)
    return record  # type: ignore[return-value]


_Method = TypeVar("_Method", bound=Callable[..., Any])


def _index_errors_as_api_errors(method: _Method) -> _Method:
    """A run index that cannot be used (a full disk) is an :class:`ApiError`, never a raw ``sqlite3`` error."""

    @functools.wraps(method)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return method(*args, **kwargs)
        except RunIndexError as error:
            raise ApiError(str(error)) from error

    return wrapper  # type: ignore[return-value]


def _entity_matches(record_entity: Any, entity: str | None) -> bool:
    """Local runs usually have no entity: an entity in the path only excludes runs of another one."""
    return entity is None or record_entity is None or record_entity == entity


class LocalBackend:
    """Runs under one store root (``WANDB_DIR``/``./jupyter_tracker``).

    >>> backend = LocalBackend(Path("jupyter_tracker"))  # doctest: +SKIP
    >>> backend.list_runs(None, "mnist", {"state": "finished"}, "-created_at", 50).total()  # doctest: +SKIP
    12
    """

    kind = "local"

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.index = RunIndex(self.root)
        self._scanned = False
        #: run directories opened by path (outside the index, e.g. ``export ./some/run-dir``)
        self._opened_dirs: dict[str, Path] = {}
        #: directories of runs whose process is alive, as last seen
        self._live_dirs: set[Path] = set()

    def __repr__(self) -> str:
        return f"<LocalBackend {self.root}>"

    # the index -------------------------------------------------------------------------------
    def refresh(self) -> None:
        """Looks for unindexed run directories again on the next query."""
        self._scanned = False

    def _ensure_indexed(self) -> None:
        """Adds run directories the index does not know, once per backend (or after ``refresh``).

        One ``listdir`` of the root; when its run directories are those of the last listing
        whose every run was indexed (:func:`listing_signature`), nothing more is read.
        """
        if self._scanned:
            return
        self._scanned = True
        if not self.root.is_dir():
            return
        names = [name for name in os.listdir(self.root) if name.startswith("run-")]
        signature = listing_signature(names)
        if self.index.indexed_listing() == signature:
            return
        missing, complete = self._unindexed_dirs(names)
        if complete:
            # every directory's id is in the index: remembered, so that later fresh queries skip the ids
            self.index.remember_listing(signature)
        if not missing:
            return
        try:
            self.index.rebuild(missing)
        except Exception:
            for path in missing:  # one unreadable directory must not hide the others
                try:
                    self.index.rebuild([path])
                except Exception as error:
                    console.warn_once(
                        f"index-rebuild-{path.name}",
                        f"could not index run directory {path} ({type(error).__name__}: {error}); it is skipped",
                    )

    def _unindexed_dirs(self, names: list[str]) -> tuple[list[Path], bool]:
        """Run directories (with a log) among ``names`` whose id the index lacks, and whether there are none at all.

        ``False`` also when a directory without a log yet (a copy under way) is not indexed:
        such a listing is not remembered, so the directory is looked at again.
        """
        known = self.index.known_ids()
        # the id is the name's last dash-separated part (run_id_from_dir, without a Path per name)
        wanted = {self.root / name for name in names if name.rsplit("-", 1)[-1] not in known}
        if not wanted:
            return [], True
        return [path for path in iter_run_dirs(self.root) if path in wanted], False

    def _index_rows(self, project: str | None, equal: Mapping[str, str] | None = None,
                    holding: Mapping[str, str] | None = None) -> list[dict[str, Any]]:
        """Rows of the index, oldest first, with their JSON columns still text.

        ``holding`` maps a JSON text column to text its rows must contain (a superset pre-screen,
        checked by SQLite so the rows it drops are neither built nor decoded).

        ``RunIndex.runs`` decodes every config and summary; a 10,000-run listing that filters on
        ``group`` needs none of them, so this reads the same table without decoding. Rows of
        running runs go through ``RunIndex.get``, which tells a crashed run from a live one.
        """
        if not self.root.is_dir():
            return []  # reading must not create a store where there is none
        self._ensure_indexed()
        if not self.index.path.is_file():
            return []
        query = f"SELECT {', '.join(_LIST_COLUMNS)} FROM runs"
        conditions = [("project", project)] if project is not None else []
        conditions += list((equal or {}).items())
        arguments: tuple[Any, ...] = tuple(value for _, value in conditions)
        clauses = [f"{column} = ?" for column, _ in conditions]
        for column, text in (holding or {}).items():
            clauses.append(f"instr({column}, ?) > 0")
            arguments += (text,)
        if clauses:
            query += " WHERE " + " AND ".join(clauses)
        try:
            connection = sqlite3.connect(self.index.path, timeout=30)
            try:
                fetched = connection.execute(query + " ORDER BY created", arguments).fetchall()
            finally:
                connection.close()
        except sqlite3.Error as error:
            raise ApiError(f"could not read the run index {self.index.path}: {error}") from error
        rows = []
        for values in fetched:
            row = dict(zip(_LIST_COLUMNS, values, strict=True))
            row["group"] = row.pop("run_group")
            if row["state"] == "running":
                row = self.index.get(row["id"]) or row
            rows.append(row)
        return rows

    # the Backend protocol -------------------------------------------------------------------
    @_index_errors_as_api_errors
    def list_runs(
        self,
        entity: str | None,
        project: str | None,
        filters: Mapping[str, Any] | None,
        order: str | None,
        per_page: int,
    ) -> RecordPages:
        # the conditions on plain columns (group, state, ...) run first, on rows whose JSON columns
        # are still text: config and summary are decoded only for the rows those conditions keep
        plain: dict[str, Any] = {}
        decoded: dict[str, Any] = {}
        if filters is not None and not isinstance(filters, Mapping):
            filter_module.compile_filter(filters)  # raises the ValueError that names what is wrong
        equal: dict[str, str] = {}
        holding: dict[str, str] = {}
        for key, condition in (filters or {}).items():
            part = {key: condition}
            column = _SQL_EQUAL_COLUMNS.get(filter_module.canonical_field(key)) if isinstance(key, str) else None
            if column is not None and type(condition) is str:
                equal[column] = condition  # also checked in Python below, on the few rows SQLite returns
            if key == "tags" and type(condition) is str:
                # a tag equal to it has its JSON text (as the index writes it) in the tags column;
                # SQLite keeps only those rows, so a 10,000-run project decodes a handful
                holding["tags"] = json.dumps(condition)
            (decoded if _json_columns(filter_module.fields_used(part)) else plain)[key] = condition
        keep_plain = filter_module.compile_filter(plain)
        keep_decoded = filter_module.compile_filter(decoded)
        filter_columns = _json_columns(filter_module.fields_used(decoded))
        selected = [
            _record_from_index(row)
            for row in self._index_rows(project, equal, holding)
            if _entity_matches(row["entity"], entity) and keep_plain(row)
            and keep_decoded(_decode_columns(row, filter_columns))
        ]
        order_columns = _json_columns(filter_module.fields_used(None, order))
        if order_columns:
            for row in selected:
                _decode_columns(row, order_columns)  # type: ignore[arg-type]
        return _DecodingPages(filter_module.sort_runs(selected, order, presorted="created"), per_page=per_page)

    @_index_errors_as_api_errors
    def get_run(self, entity: str | None, project: str | None, run_id: str) -> RunRecord:
        if run_id in self._opened_dirs:
            row: dict[str, Any] | None = dict(_record_from_log(self._opened_dirs[run_id]))
        else:
            row = self.index.get(run_id) if self.root.is_dir() else None
            if row is None and self.root.is_dir():
                self.refresh()
                self._ensure_indexed()
                row = self.index.get(run_id)
        if row is None or (project is not None and row.get("project") != project) \
                or not _entity_matches(row.get("entity"), entity):
            where = f" in project {project!r}" if project is not None else ""
            raise RunNotFoundError(f"no run {run_id!r}{where} in the local store {self.root}")
        record = _record_from_index(row)
        if record.get("state") not in FINAL_STATES:
            # a running (or crashed) run's index row is from its start: its log is newer
            run_dir = self._run_dir(record)
            if run_dir is not None:
                record = _record_from_log(run_dir, base=record)
        return record

    def open_run_dir(self, run_dir: Path) -> RunRecord:
        """A run read straight from its directory, index or not (``jupyter-tracker export DIR``)."""
        path = Path(run_dir)
        if not (path / RUN_LOG_NAME).is_file():
            raise RunNotFoundError(f"{path} is not a run directory (it has no {RUN_LOG_NAME})")
        record = _record_from_log(path)
        self._opened_dirs[record["id"]] = path
        return record

    def _run_dir(self, record: Mapping[str, Any]) -> Path | None:
        run_id = str(record.get("id"))
        if run_id in self._opened_dirs:
            return self._opened_dirs[run_id]
        stored = record.get("dir")
        if stored and (Path(stored) / RUN_LOG_NAME).is_file():
            return Path(stored)
        return find_run_dir(self.root, run_id)  # the store was moved or copied

    def _require_dir(self, entity: str | None, project: str | None, run_id: str) -> Path:
        if run_id in self._opened_dirs:
            return self._opened_dirs[run_id]
        row = self.index.get(run_id) if self.root.is_dir() else None
        run_dir = self._run_dir(row or {"id": run_id})
        if run_dir is None:
            raise RunNotFoundError(f"the run directory of {run_id!r} is missing from {self.root}")
        if row is not None and row.get("state") == "running":
            self._live_dirs.add(run_dir)
        else:
            self._live_dirs.discard(run_dir)
        return run_dir

    def _log_records(self, run_dir: Path) -> Iterator[records.Record]:
        # a live run's writer may be mid-frame: an unfinished tail is not yet written, not torn
        stream, _ = iter_log(run_dir, warn=run_dir not in self._live_dirs)
        return stream

    def _history_records(self, run_dir: Path) -> Iterator[records.Record]:
        for record in self._log_records(run_dir):
            if record.kind == _HISTORY:
                yield record

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
        wanted = [key for key in keys or () if key not in ROW_FIELDS]
        every_row = not keys or len(wanted) < len(keys)
        if every_row and min_step is None and max_step is None:
            # every row: a frame's rows come as one list, chained in C (no Python frame per row)
            return itertools.chain.from_iterable(self._history_row_pages(entity, project, run_id))
        return self._filtered_history_rows(entity, project, run_id, None if every_row else wanted, min_step, max_step)

    @_index_errors_as_api_errors
    def _history_row_pages(self, entity: str | None, project: str, run_id: str) -> Iterator[list[dict[str, Any]]]:
        run_dir = self._require_dir(entity, project, run_id)
        yield from history_row_pages(run_dir, warn=run_dir not in self._live_dirs)

    @_index_errors_as_api_errors
    def _filtered_history_rows(
        self,
        entity: str | None,
        project: str,
        run_id: str,
        wanted: Sequence[str] | None,
        min_step: int | None,
        max_step: int | None,
    ) -> Iterator[dict[str, Any]]:
        """Rows in a step range, or holding one of ``wanted`` (None: every row)."""
        run_dir = self._require_dir(entity, project, run_id)
        # rows holding none of the keys are left out by the reader, most of them without being decoded
        history = iter_history_fields(run_dir, warn=run_dir not in self._live_dirs, keys=wanted)
        for step, timestamp, runtime, values in history:
            if min_step is not None and step < min_step:
                continue
            if max_step is not None and step >= max_step:
                continue
            # each values dict was decoded for this row alone and nothing else holds it: no copy
            values["_step"] = step
            values["_timestamp"] = timestamp
            values["_runtime"] = runtime
            yield values

    @_index_errors_as_api_errors
    def sampled_history(
        self,
        entity: str | None,
        project: str,
        run_id: str,
        keys: Sequence[str] | None,
        samples: int,
        x_axis: str = "_step",
    ) -> list[dict[str, Any]]:
        samples = check_samples(samples)
        run_dir = self._require_dir(entity, project, run_id)
        wanted = [key for key in keys if key != x_axis] or list(keys) if keys else []
        every_row = not wanted or any(key in ROW_FIELDS for key in wanted)
        # only the sampled rows are built (and without keys, decoded), not all 100,000 of a long run
        rows = sampled_history_rows(run_dir, lambda count: sample_indices(count, samples),
                                    None if every_row else wanted)
        if rows is None:
            entries = list(self._history_records(run_dir))
            if not every_row:
                entries = [entry for entry in entries if any(key in entry.fields[3] for key in wanted)]
            rows = [history_row(entries[index]) for index in sample_indices(len(entries), samples)]
        if keys:
            columns = history_columns(keys, x_axis)
            rows = [project_row(row, columns) for row in rows]
        return rows

    @_index_errors_as_api_errors
    def system_rows(self, entity: str | None, project: str, run_id: str) -> list[dict[str, Any]]:
        run_dir = self._require_dir(entity, project, run_id)
        rows = []
        for record in self._log_records(run_dir):
            if record.kind == _SYSTEM:
                timestamp, runtime, values = record.fields
                rows.append({**values, "_runtime": runtime, "_timestamp": timestamp})
        return rows

    @_index_errors_as_api_errors
    def files(self, entity: str | None, project: str, run_id: str) -> list[FileRecord]:
        run_dir = self._require_dir(entity, project, run_id)
        listed: list[FileRecord] = []
        for name, path in stored_files(run_dir).items():
            stat = path.stat()
            listed.append({"name": name, "size": stat.st_size, "updated": stat.st_mtime})
        return listed

    @_index_errors_as_api_errors
    def download_file(
        self, entity: str | None, project: str, run_id: str, name: str, root: Path, replace: bool = False
    ) -> Path:
        run_dir = self._require_dir(entity, project, run_id)
        source = stored_files(run_dir).get(name)
        if source is None:
            raise RunNotFoundError(f"run {run_id!r} has no file {name!r}")
        target = Path(root) / name
        if target.exists() and not replace:
            raise FileExistsError(f"{target} exists; pass replace=True to overwrite it")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)
        return target

    @_index_errors_as_api_errors
    def update_run(self, entity: str | None, project: str | None, run_id: str, changes: RunChanges) -> RunRecord:
        """Appends the changes to the run's log (append-only, synced later like any record) and re-indexes it."""
        run_dir = self._require_dir(entity, project, run_id)
        try:
            append_run_changes(run_dir, changes.get("metadata"), changes.get("config"), changes.get("summary"))
        except RunEditError as error:
            raise ApiError(str(error)) from error
        state, _ = read_run(run_dir, warn=False)
        self.index.upsert(index_values(state.metadata, state.state, state.config, state.summary,
                                       state.runtime, state.exit_code, run_dir))
        return self.get_run(entity, project, run_id)

    @_index_errors_as_api_errors
    def projects(self, entity: str | None) -> list[str]:
        names = {row["project"] for row in self._index_rows(None) if _entity_matches(row["entity"], entity)}
        return sorted(name for name in names if name)
