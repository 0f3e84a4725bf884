"""The user-facing query API, shaped like wandb's public API: ``Api``, ``Run``, ``Runs``.

Every rule a user sees lives here (path parsing, the key semantics of ``history`` and
``scan_history``, pandas); where the runs are stored is a :class:`~.backend.Backend`'s business,
local (the run store) or remote (the tracking server). pandas is imported only by the methods
that return a DataFrame.

>>> api = Api()  # doctest: +SKIP
>>> run = api.run("mnist/1a2b3c4d")  # doctest: +SKIP
>>> run.history(keys=["loss"])  # doctest: +SKIP
>>> api.runs("mnist", filters={"config.lr": {"$lt": 0.01}}, order="-summary.acc")  # doctest: +SKIP
"""

from __future__ import annotations

import datetime as _datetime
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jupyter_tracker.api.backend import ApiError, Backend, RunChanges, RunNotFoundError, RunPages, RunRecord
from jupyter_tracker.api.sampling import DEFAULT_SAMPLES, check_samples, has_all_keys, project_row, row_columns, sample
from jupyter_tracker.settings import Settings, resolve
from jupyter_tracker.values import DottedValues, normalise_mapping

#: as in a live run: config names keep up to three dots, summary names up to four
_CONFIG_MAX_DOTS = 3
_SUMMARY_MAX_DOTS = 4

if TYPE_CHECKING:  # pragma: no cover
    import pandas

#: Api(overrides=...) keys and the settings they set (wandb's names first)
_OVERRIDE_NAMES = {
    "entity": "entity",
    "project": "project",
    "base_url": "base_url",
    "api_key": "api_key",
    "mode": "mode",
    "dir": "dir",
    "root": "dir",
}
_FINAL_STATES = frozenset({"finished", "failed", "killed"})


def _check_keys(keys: Any, what: str) -> list[str] | None:
    if keys is None:
        return None
    if isinstance(keys, str):
        return [keys]
    try:
        listed = list(keys)
    except TypeError:
        raise TypeError(f"{what}: keys must be a list of metric names, e.g. keys=['loss'], not {keys!r}") from None
    for key in listed:
        if not isinstance(key, str):
            raise TypeError(f"{what}: keys must be metric names (strings), got {key!r}")
    return listed or None


def _split_path(path: str) -> list[str]:
    parts = [part for part in str(path).strip().strip("/").split("/") if part]
    if len(parts) == 4 and parts[2] == "runs":  # entity/project/runs/id, as in a run's URL
        parts = [parts[0], parts[1], parts[3]]
    return parts


class ReadOnlyValues(DottedValues):
    """A run's config or summary as the API returns it: dict-like and read-only.

    Names are flat and dotted (``"opt.name"``), as they were logged; a prefix gives the nested
    dict (``config["opt"]``) and attribute access works for plain names (``config.lr``).

    >>> config = ReadOnlyValues({"lr": 0.1, "opt.name": "adam"})
    >>> config["lr"], config.lr, config["opt"]
    (0.1, 0.1, {'name': 'adam'})
    """

    def __setattr__(self, name: str, value: Any) -> None:
        raise TypeError("a run's values read through the Api are read-only")

    def __repr__(self) -> str:
        return repr(self._values)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, ReadOnlyValues):
            return self._values == other._values
        if isinstance(other, Mapping):
            return self._values == dict(other)
        return NotImplemented

    def to_dict(self) -> dict[str, Any]:
        """A plain copy with the flat dotted names."""
        return dict(self._values)


class RunValues(ReadOnlyValues):
    """A stored run's config or summary: read as a dict; values set here are saved by ``run.update()``.

    Values are checked as ``log`` checks them (a bad one raises naming its key) and kept as flat
    dotted names. ``run.summary.update({...})`` saves at once, as wandb's does.

    >>> run = Api().run("mnist/1a2b3c4d")  # doctest: +SKIP
    >>> run.summary["test_acc"] = 0.93; run.config["checkpoint"] = "best.pt"; run.update()  # doctest: +SKIP
    """

    def __init__(self, values: Mapping[str, Any] | None, what: str, max_dots: int,
                 save: Any = None) -> None:
        super().__init__(values)
        object.__setattr__(self, "_changes", {})
        object.__setattr__(self, "_what", what)
        object.__setattr__(self, "_max_dots", max_dots)
        object.__setattr__(self, "_save", save)

    def __setitem__(self, key: str, value: Any) -> None:
        self._set({key: value})

    def __setattr__(self, name: str, value: Any) -> None:
        if name.startswith("_"):
            raise AttributeError(f"{name} cannot be set on a run's {self._what}")
        self._set({name: value})

    def __delitem__(self, key: str) -> None:
        raise TypeError(f"keys of a run's {self._what} cannot be deleted (history is append-only); set a new value")

    def _set(self, data: Mapping[str, Any]) -> None:
        flat = normalise_mapping(data, self._max_dots, self._what)
        self._values.update(flat)
        self._changes.update(flat)

    def update(self, data: Mapping[str, Any] | None = None, **values: Any) -> None:
        """Sets several values (``dict.update``); the summary's ``update`` also saves them at once."""
        incoming = dict(data or {})
        incoming.update(values)
        if incoming:
            self._set(incoming)
        if self._save is not None:
            self._save()

    @property
    def changes(self) -> dict[str, Any]:
        """Values set since the run was read or last saved."""
        return dict(self._changes)


class File:
    """One file kept with a run (a saved file, a media file, ``output.log``)."""

    def __init__(self, run: Run, name: str, size: int | None = None, updated: float | None = None) -> None:
        self.run = run
        self.name = name
        self.size = size
        self.updated_at = updated

    def download(self, root: str | Path = ".", replace: bool = False, exist_ok: bool = False) -> Path:
        """Copies the file to ``root/<name>`` and returns that path (wandb's ``File.download``).

        An existing file raises ``FileExistsError`` unless ``replace`` (overwrite) or ``exist_ok``
        (leave it and return its path).
        """
        target = Path(root) / self.name
        if target.exists() and exist_ok and not replace:
            return target
        return self.run._backend.download_file(
            self.run.entity, self.run.project, self.run.id, self.name, Path(root), replace=replace
        )

    def __repr__(self) -> str:
        return f"<File {self.name} ({self.size} bytes)>"


class Run:
    """One stored run: its attributes, config, summary, history and files.

    Returned by :meth:`Api.run` and by iterating :class:`Runs`; nothing is read until asked.
    """

    def __init__(self, backend: Backend, record: RunRecord, complete: bool = False) -> None:
        self._backend = backend
        self._record: dict[str, Any] = dict(record)
        # records from a listing come from the index; a running run's values are newer in its log
        self._complete = complete or self._record.get("state") in _FINAL_STATES
        self._forget_changes()

    def _forget_changes(self) -> None:
        #: what ``update()`` would save: metadata set here, and the config/summary/tags handed out
        self._metadata_changes: dict[str, Any] = {}
        self._config_values: RunValues | None = None
        self._summary_values: RunValues | None = None
        self._tags: list[str] | None = None

    # identity ---------------------------------------------------------------------------------
    @property
    def id(self) -> str:
        return str(self._record["id"])

    @property
    def name(self) -> str | None:
        """The display name (``brisk-river-12``), as ``jupyter_tracker.run.name``; settable, then ``update()``."""
        return self._record.get("name")

    @name.setter
    def name(self, value: str) -> None:
        self._set_metadata("name", value)

    @property
    def display_name(self) -> str | None:
        return self.name

    @display_name.setter
    def display_name(self, value: str) -> None:
        self._set_metadata("name", value)

    def _set_metadata(self, key: str, value: Any) -> None:
        if value is not None and not isinstance(value, str):
            raise TypeError(f"run.{key} must be a str, not {type(value).__name__}")
        self._metadata_changes[key] = value
        self._record[key] = value

    @property
    def entity(self) -> str | None:
        return self._record.get("entity")

    @property
    def project(self) -> str:
        return str(self._record.get("project"))

    @property
    def path(self) -> list[str]:
        """``[entity, project, id]`` as wandb gives it (``"/".join(run.path)`` for a string)."""
        return [self.entity, self.project, self.id] if self.entity else [self.project, self.id]

    @property
    def state(self) -> str:
        """``running``, ``finished``, ``failed``, ``killed``, or ``crashed`` (its process is gone)."""
        return str(self._record.get("state"))

    @property
    def group(self) -> str | None:
        return self._record.get("group")

    @group.setter
    def group(self, value: str | None) -> None:
        self._set_metadata("group", value)

    @property
    def job_type(self) -> str | None:
        return self._record.get("job_type")

    @job_type.setter
    def job_type(self, value: str | None) -> None:
        self._set_metadata("job_type", value)

    @property
    def tags(self) -> list[str]:
        """The run's tags: a list that may be changed in place (``run.tags.append("best")``), then ``update()``."""
        if self._tags is None:
            self._tags = list(self._record.get("tags") or [])
        return self._tags

    @tags.setter
    def tags(self, value: Sequence[str]) -> None:
        if isinstance(value, str) or not all(isinstance(tag, str) for tag in value):
            raise TypeError(f"run.tags must be a list of strings, not {value!r}")
        self._tags = list(value)

    @property
    def notes(self) -> str | None:
        return self._record.get("notes")

    @notes.setter
    def notes(self, value: str | None) -> None:
        self._set_metadata("notes", value)

    @property
    def created_at(self) -> str | None:
        """Creation time as wandb shows it: ISO-8601 in UTC (``2026-11-23T10:46:07``)."""
        created = self._record.get("created")
        if created is None:
            return None
        moment = _datetime.datetime.fromtimestamp(float(created), tz=_datetime.timezone.utc)
        return moment.strftime("%Y-%m-%dT%H:%M:%S")

    @property
    def created(self) -> float | None:
        """Creation time as a unix timestamp."""
        return self._record.get("created")

    @property
    def runtime(self) -> float | None:
        """Seconds the run ran (so far, while it runs)."""
        self._complete_if_live()
        return self._record.get("runtime")

    @property
    def exit_code(self) -> int | None:
        self._complete_if_live()
        return self._record.get("exit_code")

    @property
    def dir(self) -> str | None:
        """The run directory (local store only)."""
        return self._record.get("dir")

    @property
    def url(self) -> str:
        """A link to the run: the server's run page, or the run directory as a ``file://`` URI."""
        if self._record.get("url"):
            return str(self._record["url"])
        if self.dir:
            return Path(self.dir).resolve().as_uri()
        return "/".join(self.path)

    @property
    def config(self) -> RunValues:
        """The run's config; values set here (``run.config["x"] = 1``) are saved by ``update()``."""
        if self._config_values is None:
            self._complete_if_live()
            self._config_values = RunValues(self._record.get("config"), "config", _CONFIG_MAX_DOTS)
        return self._config_values

    @property
    def summary(self) -> RunValues:
        """Last value of each metric (or its ``define_metric`` summary), and values set by hand.

        ``run.summary["test_acc"] = 0.9`` then ``run.update()`` (or ``run.summary.update()``) adds one.
        """
        if self._summary_values is None:
            self._complete_if_live()
            self._summary_values = RunValues(self._record.get("summary"), "summary", _SUMMARY_MAX_DOTS,
                                             save=self.update)
        return self._summary_values

    def _complete_if_live(self) -> None:
        if not self._complete:
            self.load(force=True)

    def load(self, force: bool = False) -> Run:
        """Reads the run again from its backend (always with ``force=True``); unsaved changes are dropped."""
        if force or not self._complete:
            self._record = dict(self._backend.get_run(self.entity, self.project, self.id))
            self._complete = True
            self._forget_changes()
        return self

    def update(self) -> Run:
        """Saves what was changed: name, tags, notes, group, job_type, config and summary values.

        The changes are recorded as new records after the run's history (nothing is rewritten),
        so a later sync uploads them and every reader sees them. A run still running in another
        process is refused (change it through its own ``jupyter_tracker.run``).

        >>> run = Api().run("mnist/1a2b3c4d")  # doctest: +SKIP
        >>> run.summary["test_acc"] = 0.93; run.tags.append("evaluated"); run.update()  # doctest: +SKIP
        """
        changes: RunChanges = {}
        metadata = dict(self._metadata_changes)
        if self._tags is not None and self._tags != list(self._record.get("tags") or []):
            metadata["tags"] = list(self._tags)
        if metadata:
            changes["metadata"] = metadata
        if self._config_values is not None and self._config_values.changes:
            changes["config"] = self._config_values.changes
        if self._summary_values is not None and self._summary_values.changes:
            changes["summary"] = self._summary_values.changes
        if not changes:
            return self
        save = getattr(self._backend, "update_run", None)
        if save is None and self._backend.kind == "remote":
            from jupyter_tracker.api.remote_edits import update_remote_run

            self._record = dict(update_remote_run(self._backend, self.entity, self.project, self.id, changes))
        elif save is None:
            raise ApiError(f"runs read from the {self._backend.kind} store cannot be changed here")
        else:
            self._record = dict(save(self.entity, self.project, self.id, changes))
        self._complete = True
        self._forget_changes()
        return self

    # history ------------------------------------------------------------------------------------
    def history(
        self,
        samples: int = DEFAULT_SAMPLES,
        keys: Sequence[str] | None = None,
        x_axis: str = "_step",
        pandas: bool = True,
        stream: str = "default",
    ) -> pandas.DataFrame | list[dict[str, Any]]:
        """Sampled history: at most ``samples`` rows, evenly spaced, first and last kept.

        Every row when the run has ``samples`` rows or fewer. Each row has the logged values and
        ``_step``, ``_timestamp``, ``_runtime``. With ``keys``, only rows holding at least one of
        them, reduced to ``x_axis`` and the keys. ``stream="system"`` gives the system metrics.
        Returns a pandas DataFrame, or a list of dicts with ``pandas=False``. For every row use
        :meth:`scan_history`.
        """
        samples = check_samples(samples)
        keys = _check_keys(keys, "history")
        if stream not in ("default", "system"):
            raise ValueError(f"stream must be 'default' or 'system', got {stream!r}")
        if stream == "system":
            if keys:
                raise ValueError("stream='system' returns every system metric; leave keys out")
            rows = sample(self._backend.system_rows(self.entity, self.project, self.id), samples)
        else:
            if not isinstance(x_axis, str) or not x_axis:
                raise ValueError(f"x_axis must be a metric name, got {x_axis!r}")
            rows = self._backend.sampled_history(self.entity, self.project, self.id, keys, samples, x_axis)
        if not pandas:
            return rows
        return _frame(rows, [x_axis, *keys] if keys else None)

    def scan_history(
        self,
        keys: Sequence[str] | None = None,
        page_size: int = 1000,
        min_step: int | None = None,
        max_step: int | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Every history row, in step order, as dicts (not sampled).

        With ``keys``, only the rows that hold every one of them, reduced to those keys (wandb's
        semantics). ``min_step <= _step < max_step`` when given.
        """
        keys = _check_keys(keys, "scan_history")
        if page_size < 1:
            raise ValueError(f"page_size must be at least 1, got {page_size}")
        rows = self._backend.history_rows(
            self.entity, self.project, self.id, keys, min_step=min_step, max_step=max_step, page_size=page_size
        )
        if keys is None and min_step is None and max_step is None:
            return iter(rows)  # every row as the backend gives it: no generator frame per row on top
        return _scan(rows, keys, min_step, max_step)

    # files --------------------------------------------------------------------------------------
    def files(self, names: Sequence[str] | None = None) -> list[File]:
        """Files kept with the run; ``names`` keeps only those."""
        listed = self._backend.files(self.entity, self.project, self.id)
        wanted = set(names) if names else None
        return [
            File(self, item["name"], item.get("size"), item.get("updated"))
            for item in listed
            if wanted is None or item["name"] in wanted
        ]

    def file(self, name: str) -> File:
        """One file of the run by name (``"model.pt"``, ``"media/images/x.png"``, ``"output.log"``)."""
        for item in self.files([name]):
            return item
        raise RunNotFoundError(f"run {self.id} has no file {name!r}")

    def logged_artifacts(self) -> list[Any]:
        """The artifact versions this run logged (``Artifact`` objects: ``download()`` them)."""
        from jupyter_tracker.artifacts.query import run_artifacts

        return run_artifacts(self, "logged")

    def used_artifacts(self) -> list[Any]:
        """The artifact versions this run used (``run.use_artifact``)."""
        from jupyter_tracker.artifacts.query import run_artifacts

        return run_artifacts(self, "used")

    def table(self, key: str, step: int | None = None) -> pandas.DataFrame:
        """The ``Table`` logged under ``key`` (the last one, or the one at ``step``) as a DataFrame."""
        from jupyter_tracker.media.readback import run_table

        return run_table(self, key, step=step)

    # display ------------------------------------------------------------------------------------
    def __repr__(self) -> str:
        return f"<Run {'/'.join(self.path)} ({self._record.get('state')})>"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Run) and other.path == self.path

    def __hash__(self) -> int:
        return hash(tuple(self.path))


def _scan(
    rows: Iterator[dict[str, Any]], keys: list[str] | None, min_step: int | None, max_step: int | None
) -> Iterator[dict[str, Any]]:
    for row in rows:
        step = row.get("_step")
        if min_step is not None and step is not None and step < min_step:
            continue
        if max_step is not None and step is not None and step >= max_step:
            continue
        if keys is None:
            yield row
        elif has_all_keys(row, keys):
            yield project_row(row, keys)


def _frame(rows: list[dict[str, Any]], columns: list[str] | None) -> pandas.DataFrame:
    import pandas

    if not rows:
        return pandas.DataFrame(columns=list(dict.fromkeys(columns)) if columns else ["_step"])
    frame = pandas.DataFrame.from_records(rows)
    ordered = row_columns(frame.columns, columns or ())
    return frame if ordered == list(frame.columns) else frame[ordered]


class Runs:
    """The runs of a query, fetched a page (``per_page`` runs) at a time; a lazy sequence.

    ``len(runs)``, ``runs[0]``, ``runs[:10]`` and iteration all work; runs come in ``order``.
    """

    def __init__(
        self,
        backend: Backend,
        entity: str | None,
        project: str | None,
        filters: Mapping[str, Any] | None = None,
        order: str | None = "+created_at",
        per_page: int = 50,
    ) -> None:
        if per_page < 1:
            raise ValueError(f"per_page must be at least 1, got {per_page}")
        self._backend = backend
        self.entity = entity
        self.project = project
        self.filters = dict(filters or {})
        self.order = order
        self.per_page = per_page
        self._pages: RunPages = backend.list_runs(entity, project, self.filters, order, per_page)
        self._loaded: dict[int, list[Run]] = {}

    def _page(self, number: int) -> list[Run]:
        if number not in self._loaded:
            self._loaded[number] = [Run(self._backend, record) for record in self._pages.page(number)]
        return self._loaded[number]

    def __len__(self) -> int:
        return self._pages.total()

    @property
    def length(self) -> int:
        return len(self)

    def __iter__(self) -> Iterator[Run]:
        number = 1
        while True:
            page = self._page(number)
            yield from page
            if len(page) < self.per_page:
                return
            number += 1

    def __getitem__(self, index: int | slice) -> Any:
        if isinstance(index, slice):
            return [self[position] for position in range(*index.indices(len(self)))]
        total = len(self)
        if index < 0:
            index += total
        if not 0 <= index < total:
            raise IndexError(f"run {index} of {total}")
        page = self._page(index // self.per_page + 1)
        return page[index % self.per_page]

    def histories(
        self,
        samples: int = DEFAULT_SAMPLES,
        keys: Sequence[str] | None = None,
        x_axis: str = "_step",
        format: str = "default",  # noqa: A002 - wandb's name
    ) -> pandas.DataFrame | list[dict[str, Any]]:
        """Sampled history of every run, with a ``run_id`` column (``format="pandas"`` for a DataFrame)."""
        if format not in ("default", "pandas"):
            raise ValueError(f"format must be 'default' or 'pandas', got {format!r}")
        rows: list[dict[str, Any]] = []
        for run in self:
            for row in run.history(samples=samples, keys=keys, x_axis=x_axis, pandas=False):
                rows.append({**row, "run_id": run.id})
        if format == "default":
            return rows
        return _frame(rows, ["run_id", x_axis, *(_check_keys(keys, "histories") or [])])

    def __repr__(self) -> str:
        where = "/".join(part for part in (self.entity, self.project) if part) or "all projects"
        return f"<Runs {where} ({len(self)} runs)>"


class Project:
    """A project that holds runs (``Api().projects()``)."""

    def __init__(self, api: Api, entity: str | None, name: str) -> None:
        self._api = api
        self.entity = entity
        self.name = name

    def runs(self, **options: Any) -> Runs:
        return self._api.runs("/".join(part for part in (self.entity, self.name) if part), **options)

    def __repr__(self) -> str:
        return f"<Project {self.name}>"


class Api:
    """Queries stored runs: the local run store, or the tracking server when one is configured.

    ``overrides`` takes wandb's keys (``entity``, ``project``, ``base_url``) and ``dir`` (the
    store root, like ``WANDB_DIR``); other options come from the environment as for ``init``.
    A ``backend`` may be passed directly (tests, other stores).

    >>> api = Api()  # doctest: +SKIP
    >>> api.run("mnist/1a2b3c4d").history()  # doctest: +SKIP
    """

    def __init__(
        self,
        overrides: Mapping[str, Any] | None = None,
        timeout: float | None = None,
        api_key: str | None = None,
        backend: Backend | None = None,
    ) -> None:
        arguments: dict[str, Any] = {}
        for key, value in (overrides or {}).items():
            if key not in _OVERRIDE_NAMES:
                raise ValueError(f"unknown override {key!r} (use {', '.join(sorted(_OVERRIDE_NAMES))})")
            arguments[_OVERRIDE_NAMES[key]] = value
        if api_key is not None:
            arguments["api_key"] = api_key
        self.settings: Settings = resolve(arguments)
        self.timeout = timeout
        if backend is None:
            from jupyter_tracker.api import backend_for

            backend = backend_for(self.settings, timeout=timeout)
        self._backend: Backend = backend

    @property
    def backend(self) -> Backend:
        return self._backend

    @property
    def default_entity(self) -> str | None:
        return self.settings.entity

    def flush(self) -> None:
        """Forgets what was cached, so runs written since are seen (wandb's ``Api.flush``)."""
        refresh = getattr(self._backend, "refresh", None)
        if callable(refresh):
            refresh()

    def run(self, path: str) -> Run:
        """One run by ``"project/run_id"``, ``"entity/project/run_id"`` or a bare ``"run_id"``.

        With the local store, a run directory's path also works. Raises
        :class:`~jupyter_tracker.api.backend.RunNotFoundError` when there is no such run.
        """
        text = str(path)
        opener = getattr(self._backend, "open_run_dir", None)
        if opener is not None and ("/" in text or "\\" in text) and (Path(text) / "run.jtlog").is_file():
            return Run(self._backend, opener(Path(text)), complete=True)
        parts = _split_path(text)
        if len(parts) == 1:
            entity, project, run_id = self.default_entity, None, parts[0]
        elif len(parts) == 2:
            entity, project, run_id = self.default_entity, parts[0], parts[1]
        elif len(parts) == 3:
            entity, project, run_id = parts
        else:
            raise ValueError(f"run path {path!r}: use 'project/run_id' or 'entity/project/run_id'")
        return Run(self._backend, self._backend.get_run(entity, project, run_id), complete=True)

    def runs(
        self,
        path: str | None = None,
        filters: Mapping[str, Any] | None = None,
        order: str = "+created_at",
        per_page: int = 50,
        include_sweeps: bool = True,
    ) -> Runs:
        """Runs of ``"project"`` or ``"entity/project"`` (every project when ``None``, local store).

        ``filters`` uses wandb's MongoDB-style operators, e.g.
        ``{"group": "exp-42", "config.lr": {"$lt": 0.01}}`` (see :mod:`jupyter_tracker.api.filters`);
        ``order`` is ``+``/``-`` and a field: ``created_at``, ``summary.<key>``, ``config.<key>``.
        """
        if path is None:
            entity, project = self.default_entity, None
        else:
            parts = _split_path(path)
            if len(parts) == 1:
                entity, project = self.default_entity, parts[0]
            elif len(parts) == 2:
                entity, project = parts
            else:
                raise ValueError(f"runs path {path!r}: use 'project' or 'entity/project'")
        return Runs(self._backend, entity, project, filters=filters, order=order, per_page=per_page)

    def projects(self, entity: str | None = None) -> list[Project]:
        """The projects that hold runs."""
        entity = entity or self.default_entity
        return [Project(self, entity, name) for name in self._backend.projects(entity)]

    def artifact(self, name: str, type: str | None = None) -> Any:  # noqa: A002 - wandb's name
        """One artifact version: ``"project/name:alias"``, ``"name:v3"`` (alias default ``latest``).

        >>> Api().artifact("mnist/model:best").download()  # doctest: +SKIP
        """
        from jupyter_tracker.artifacts.query import artifact

        return artifact(self, name, type)

    def artifacts(self, type_name: str, name: str, per_page: int = 50) -> list[Any]:
        """Every version of the artifact ``"project/name"`` of type ``type_name``, oldest first."""
        from jupyter_tracker.artifacts.query import artifacts

        return artifacts(self, type_name, name)

    artifact_versions = artifacts

    def reports(self, project: str | None = None) -> list[Any]:
        """Saved reports of ``"project"`` (``"entity/project"`` on a server): id, title, version, newest first."""
        from jupyter_tracker.reports.storage import list_reports

        return list_reports(project, self)

    def report(self, path: str, version: int | None = None) -> Any:
        """A saved report by ``"id"``, ``"project/id"`` or ``"entity/project/id"`` (latest version unless given)."""
        from jupyter_tracker.reports.storage import load_report

        return load_report(path, self, version)

    def __repr__(self) -> str:
        return f"<Api {getattr(self._backend, 'kind', type(self._backend).__name__)}: {self._backend!r}>"
