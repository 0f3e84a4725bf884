"""One run's lifecycle: log, step and ``commit=False`` bookkeeping, config, summary, finish, resume.

The run never touches the disk itself: every change becomes a record appended to the writer's
in-memory queue. ``log`` is the hot path; its common case (a flat dict of Python numbers with no
explicit step) checks types, copies the dict, stamps it and appends it, in a few microseconds.
"""

from __future__ import annotations

import json
import operator
import os
import socket
import sys
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

from jupyter_tracker import console
from jupyter_tracker.limits import LimitChecker, LimitWarning
from jupyter_tracker.run_config import Config
from jupyter_tracker.run_summary import MetricDefinition, MetricDefinitions, Summary, make_definition
from jupyter_tracker.settings import Settings
from jupyter_tracker.store import records
from jupyter_tracker.store.reader import RunState
from jupyter_tracker.store.run_dir import SYNC_STATE_NAME
from jupyter_tracker.store.writer import CATCH_UP_ROWS, RunLogWriter, UnwrittenRecordsWarning
from jupyter_tracker.values import PLAIN_TYPES, fast_copy, normalise_row

_HISTORY = records.HISTORY
_CATCH_UP_MASK = CATCH_UP_ROWS - 1
_time = time.time
#: int.from_bytes bound once: looked up on ``int`` each call, a classmethod makes a new method object
_int_from_bytes = int.from_bytes
#: True when every type of an iterable is one the store keeps as it is (one C call)
_plain_types_only = PLAIN_TYPES.issuperset


#: steps are stored as signed 64-bit integers by the server and every reader
MAX_STEP = 2**63 - 1


def checked_step(step: Any) -> int:
    """The step ``log(step=...)`` was given, as an int; anything but an integer in ``[0, 2**63)`` raises.

    A bool, a float (even ``3.0``), a string or an out-of-range integer is refused rather than
    coerced: a silently rounded or huge step would misplace the row or stall the run's sync.
    """
    if isinstance(step, bool) or not hasattr(step, "__index__"):
        raise TypeError(f"log(step=...) must be an int, not {type(step).__name__} ({step!r})")
    value = operator.index(step)
    if not 0 <= value <= MAX_STEP:
        raise ValueError(f"log(step=...) must be between 0 and 2**63 - 1, not {value}")
    return value


class StepWarning(UserWarning):
    """``log`` was given a step lower than the run's current step; that row was dropped."""


class RunFinishedError(RuntimeError):
    """The run was used after ``finish()``."""


class Run:
    """A tracked run, returned by :func:`jupyter_tracker.init`.

    >>> run = jupyter_tracker.init(project="mnist", mode="offline")  # doctest: +SKIP
    >>> run.log({"loss": 0.5}); run.finish()  # doctest: +SKIP
    """

    def __init__(
        self,
        settings: Settings,
        run_id: str,
        name: str,
        run_dir: Path | None,
        writer: RunLogWriter | None,
        resumed_from: RunState | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.id = run_id
        self._name = name
        self.project = settings.project
        self.entity = settings.entity
        self.group = settings.group
        self.job_type = settings.job_type
        self.tags: tuple[str, ...] = tuple(settings.tags)
        self.notes = settings.notes
        self.mode = settings.mode
        self._dir = run_dir
        self._writer = writer
        self._append: Callable[[Any], None] = writer.append if writer else (lambda record: None)
        self.warnings: list[Warning] = []
        self.state = "running"
        self.exit_code: int | None = None
        self.resumed = resumed_from is not None
        self._limits = LimitChecker()
        self._metrics = MetricDefinitions()
        self._last_values: dict[str, Any] = {}
        #: the record of the last row log()'s fast path committed, not yet in _last_values (see
        #: _fold_last_row): a tuple, or its bytes when the fast path packed it
        self._last_row: tuple[Any, ...] | bytes | None = None
        #: the fast path packs each row into its record's bytes at once (see log()); None while a
        #: record observer (a live view) reads the records as Python objects
        self._pack_row: Callable[[Any], bytes] | None = records.make_plain_packer() if writer else None
        self._aggregated: set[str] = set()
        self._known_key_count = 0
        #: the last committed row's names, in its order (checked), then its value types when all are
        #: plain, as one list: a row with the same names and types takes log()'s fast path (one list
        #: build and one comparison per call). None while a step is pending and once the run is finished.
        self._row_signature: list[Any] | None = None
        #: while the last committed row holds floats only and the fast path packs rows: what such a
        #: row packs to (records.float_row_template), checked on the packed bytes; else None
        self._row_template: tuple[int, int, int] | None = None
        #: while the fast path is on, the step it started from (its rows are counted for the limits
        #: from the step, when the counts are read) and the step whose row crosses a points bound
        self._fast_from = 0
        self._warn_step = 0
        self._pending: dict[str, Any] = {}
        self._step = 0
        self._finished = False
        self._finish_lock = threading.Lock()
        self._finish_callbacks: list[Callable[[Run], None]] = []
        self._finishing_callbacks: list[Callable[[Run], None]] = []
        self.start_time = clock()
        self._t0 = self.start_time
        self.config = Config(on_change=self._record_config, on_warning=self._emit_warning)
        self.summary = _RunSummary(self._fold_last_row, self._last_values, on_set=self._record_summary)
        if resumed_from is not None:
            self._restore(resumed_from)

    # identity ------------------------------------------------------------------------------
    @property
    def name(self) -> str:
        return self._name

    @name.setter
    def name(self, value: str) -> None:
        self._name = str(value)
        self._append((records.RUN, {"name": self._name}))

    @property
    def dir(self) -> str:
        """The run directory, as wandb's ``run.dir``: what a framework writes here (checkpoints) is kept
        with the run and synced at finish, less ``WANDB_IGNORE_GLOBS``; the run log, ``output.log``,
        ``sync.json``, ``files/`` and ``media/`` are the store's own (``store/run_dir.py``)."""
        return str(self._dir) if self._dir is not None else ""

    @property
    def path(self) -> str:
        return f"{self.entity}/{self.project}/{self.id}" if self.entity else f"{self.project}/{self.id}"

    @property
    def url(self) -> str | None:
        """The run's page on the tracking server (``<server>/<entity>/<project>/runs/<id>``), as wandb's
        ``run.url``; None for an offline, disabled or local-only run (no server, or no API key).

        The entity is the run's own, else the one the server named when the sync connected, else the
        logged-in user; None until one of them is known.
        """
        settings = self.settings
        if self.disabled or settings.mode != "online" or not settings.base_url or not settings.api_key:
            return None
        entity = self.entity or self._synced_entity() or settings.username
        if not entity:
            return None
        parts = urlsplit(settings.base_url.strip())
        server = urlunsplit((parts.scheme, parts.netloc.rpartition("@")[2], parts.path.rstrip("/"), "", ""))
        return f"{server}/{quote(entity)}/{quote(str(self.project))}/runs/{quote(self.id)}"

    def _synced_entity(self) -> str | None:
        """The entity the sync recorded in the run directory once the server named it (``sync.json``)."""
        if self._dir is None:
            return None
        try:
            entity = json.loads((self._dir / SYNC_STATE_NAME).read_text(encoding="utf-8")).get("entity")
        except (OSError, ValueError, AttributeError):
            return None
        return str(entity) if entity else None

    @property
    def step(self) -> int:
        """The step the next committed row gets."""
        return self._step

    @property
    def offline(self) -> bool:
        return self.settings.offline

    @property
    def disabled(self) -> bool:
        return False

    def save(self, glob_str: str | None = None, base_path: str | None = None, policy: str = "live") -> bool | list[str]:
        """With no argument, makes sure the run has its name (wandb's ``run.save()``) and returns True.

        With a glob, copies matching files into the run's ``files/``.
        """
        if glob_str is None:
            return True
        from jupyter_tracker.run_files import save_files

        saved = save_files(self, glob_str, base_path=base_path, policy=policy)
        return saved

    def watch(self, models: Any, criterion: Any = None, log: str | None = "gradients", log_freq: int = 1000,
              idx: int | None = None, log_graph: bool = False) -> None:
        """Histograms of a torch model's gradients and/or parameters every ``log_freq`` steps (see :func:`jupyter_tracker.watch`)."""
        from jupyter_tracker.model_watch import watch_run

        watch_run(self, models, log=log, log_freq=log_freq, idx=idx)

    def unwatch(self, models: Any = None) -> None:
        """Removes the hooks :meth:`watch` added."""
        from jupyter_tracker.model_watch import unwatch_run

        unwatch_run(self, models)

    def log_artifact(self, artifact_or_path: Any, name: str | None = None, type: str | None = None,  # noqa: A002
                     aliases: list[str] | None = None, tags: list[str] | None = None) -> Any:
        """Logs an ``Artifact`` (or a file, folder or URI as one) as this run's output; returns it versioned."""
        from jupyter_tracker.artifacts.run_artifacts import log_artifact

        return log_artifact(self, artifact_or_path, name=name, type=type, aliases=aliases, tags=tags)

    def use_artifact(self, artifact_or_name: Any, type: str | None = None,  # noqa: A002
                     aliases: list[str] | None = None, use_as: str | None = None) -> Any:
        """Marks ``"name:alias"`` (or a logged ``Artifact``) as this run's input and returns it."""
        from jupyter_tracker.artifacts.run_artifacts import use_artifact

        return use_artifact(self, artifact_or_name, type=type, aliases=aliases, use_as=use_as)

    def _label(self, code: str | None = None, repo: str | None = None, code_version: str | None = None,
               **labels: Any) -> None:
        """wandb's telemetry label (``run._label(code="transformers_trainer")``): which integration started the run."""
        named = {"code": code, "repo": repo, "code_version": code_version, **labels}
        self._labels = {**getattr(self, "_labels", {}), **{key: str(value) for key, value in named.items() if value}}

    # metadata ------------------------------------------------------------------------------
    def metadata(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self._name,
            "project": self.project,
            "entity": self.entity,
            "group": self.group,
            "job_type": self.job_type,
            "tags": list(self.tags),
            "notes": self.notes,
            "mode": self.mode,
            "created": self.start_time,
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "python": sys.version.split()[0],
            "argv": list(sys.argv),
        }

    def _restore(self, state: RunState) -> None:
        self._step = state.next_step
        self.config._load(state.config)
        self.summary._load(state.last_values, state.summary_manual)
        self._t0 = self.start_time - state.runtime
        for definition in state.metric_definitions:
            self._metrics.add(MetricDefinition.from_record(definition))
        self.start_time = state.metadata.get("created", self.start_time)
        for key in state.last_values:
            self._limits.scalar_points[key] += 0
        self._resolve_new_keys(state.last_values)

    # recording -----------------------------------------------------------------------------
    def _record_config(self, changes: dict[str, Any]) -> None:
        self._append((records.CONFIG, changes))
        size_warnings = self._limits.check_config(self.config.size_bytes())
        if size_warnings:
            self._emit_limit_warnings(size_warnings)

    def _record_summary(self, changes: dict[str, Any]) -> None:
        self._append((records.SUMMARY, changes))

    def _emit_warning(self, warning: Warning) -> None:
        self.warnings.append(warning)
        console.warning(warning, stacklevel=5)

    def _emit_limit_warnings(self, found: list[LimitWarning]) -> None:
        for warning in found:
            self._append((records.WARNING, {"kind": warning.kind, "bound": warning.bound,
                                            "observed": warning.observed, "subject": warning.subject}))
            self._emit_warning(warning)

    # the hot path ----------------------------------------------------------------------------
    def log(self, data: Mapping[str, Any], step: int | None = None, commit: bool | None = None) -> None:
        """Records a dict of metrics for the current step.

        ``commit=False`` merges into the pending step; ``step=s`` moves to step ``s`` (a lower
        step than the current one warns and drops the row). Invalid values raise ``TypeError``
        naming the key, and nothing of the call is recorded.
        """
        if type(data) is dict and step is None and commit is None:
            # The common case: the names of the last committed row (already checked: strings, not
            # empty) with the same plain value types, no pending step, a live run (_row_signature is
            # None otherwise). The same row the general path writes, in the same interrupt-safe order;
            # the limits count these rows from the step when they read the counts (_count_fast_rows),
            # and the row that crosses a bound is known ahead (_warn_step).
            now = _time()
            number = self._step
            record: Any = None
            template = self._row_template
            if template is not None:
                # Floats only (the usual metrics row): the row is packed first and its bytes are
                # checked against what such a row packs to, in one integer operation
                # (records.float_row_template), instead of comparing a list of names and types; a row
                # it refuses could not match the list either (the list says floats only, under these names).
                pack_row = self._pack_row  # called from a local: an attribute is looked up as a method first
                if number >= template[2]:  # the step's encoding grew a byte: so does the template
                    template = self._row_template = records.float_row_template(
                        pack_row, number, self._limits.run_keys)  # type: ignore[arg-type]
                try:
                    packed = pack_row((_HISTORY, number, now, now - self._t0, data))  # type: ignore[misc]
                except Exception:
                    packed = b""
                if template is not None and _int_from_bytes(packed, "little") & template[0] == template[1]:
                    record = packed
            elif [*data, *map(type, data.values())] == self._row_signature:  # names and types as one list
                record = (_HISTORY, number, now, now - self._t0, data)
                pack_row = self._pack_row
                if pack_row is not None:
                    # The record is packed now, on this thread, into the bytes the run log holds: that
                    # keeps the values as they are (the caller may change its dict once log() returns)
                    # without a copy, and the writer only joins bytes. Packing rows by the hundred later
                    # instead made every hundredth call pay for all of them, far above the median.
                    try:
                        record = pack_row(record)
                    except Exception:  # a value msgpack refuses (an int beyond 64 bits, a lone surrogate)
                        pack_row = None
                if pack_row is None:  # Python objects: a record observer reads them, or the writer coerces
                    record = (_HISTORY, number, now, record[3], {**data})  # {**data}: dict.copy() without a lookup
            if record is not None:
                self._step = number + 1
                append = self._append
                append(record)
                self._last_row = record  # its row has every name of the rows before it: folded in when read
                if not number & _CATCH_UP_MASK and self._writer is not None:
                    self._writer.catch_up()  # joins the queued rows here, in one call; waits if the writer falls behind
                if self._aggregated:
                    aggregated = self._aggregated.intersection(data)
                    if aggregated:
                        self.summary.add_values(data, aggregated)
                if number >= self._warn_step:  # this row makes a name cross the points bound: warn now
                    self._check_points()
                return
        self._log_row(data, step, commit)

    def _log_row(self, data: Mapping[str, Any], step: int | None, commit: bool | None) -> None:
        """``log`` for every row but a flat dict of plain values with the last row's names and types."""
        if self._finished:
            raise RunFinishedError(f"run {self.id} is finished; call jupyter_tracker.init() to start a new one")
        self._count_fast_rows()
        row = fast_copy(data) if type(data) is dict else None
        if row is None:
            row = self._check_slow(data)
        if step is not None:
            if not self._move_to_step(step):
                return
            if commit is None:
                commit = False
        if commit is False:
            self._row_signature = self._row_template = None  # the next committing call merges the pending step
            self._pending.update(row)
            return
        # A KeyboardInterrupt (the notebook's stop button) can land after any C call. So every call
        # comes before the bookkeeping, and the append, which is last, leaves the step counter and
        # the pending dict already consistent: an interrupt anywhere never writes a step twice.
        now = _time()
        pending = self._pending
        if pending:
            pending.update(row)
            row = pending
            self._pending = {}
        step = self._step
        self._step = step + 1
        self._append((_HISTORY, step, now, now - self._t0, row))
        if not step & _CATCH_UP_MASK and self._writer is not None:
            self._writer.catch_up()
        limits = self._limits
        found = limits.count_row(row)
        types = tuple(map(type, row.values()))
        if _plain_types_only(types):  # the next row with these names and types may take the fast path
            # names are str, never equal to a type: a row matches only with the same names and types
            self._row_signature = [*limits.run_keys, *types]
            self._row_template = (records.float_row_template(self._pack_row, self._step, limits.run_keys)
                                  if self._pack_row is not None and types and set(types) == {float} else None)
            self._fast_from = self._step
            self._warn_step = self._step + limits.run_limit - limits.run_rows
        else:
            self._row_signature = self._row_template = None
        # new keys are resolved before the row reaches the last values, so that a summary
        # aggregate created for them here is not seeded with the value add_values adds next
        if len(limits.scalar_points) != self._known_key_count:
            self._resolve_new_keys(row)
        if self._aggregated:
            keys = self._aggregated.intersection(row)
            if keys:
                self.summary.add_values(row, keys)
        self._fold_last_row()
        self._last_values.update(row)
        if found:
            self._emit_limit_warnings(found)

    def _count_fast_rows(self) -> None:
        """Adds the rows the fast path committed since it was turned on to the limits' count (before it is read)."""
        if self._row_signature is not None:
            self._limits.run_rows += self._step - self._fast_from
            self._fast_from = self._step

    def _check_points(self) -> None:
        """The fast path's limits check: on the row at which the busiest name crosses its bound, and at finish."""
        self._count_fast_rows()
        limits = self._limits
        found = limits.check_points()
        self._warn_step = self._step + limits.run_limit - limits.run_rows
        if found:
            self._emit_limit_warnings(found)

    def _fold_last_row(self) -> None:
        """Brings the last values up to date with the fast path's last row (before they are read or updated)."""
        row = self._last_row
        if row is not None:
            self._last_row = None
            self._last_values.update((records.unpack_record(row) if type(row) is bytes else row)[4])

    def _check_slow(self, data: Mapping[str, Any]) -> dict[str, Any]:
        row, sizes, media = normalise_row(data)
        if sizes:
            found: list[LimitWarning] = []
            for key, size in sizes.items():
                found += self._limits.check_value(key, size)
            found += self._limits.check_call(sum(sizes.values()))
            if found:
                self._emit_limit_warnings(found)
        for key, value in media:
            found = self._limits.count_media(key, "histogram" if value.media_kind == "histogram" else "media")
            if found:
                self._emit_limit_warnings(found)
        return row

    def _move_to_step(self, step: int) -> bool:
        step = checked_step(step)
        if step < self._step:
            self._emit_warning(StepWarning(
                f"step {step} is lower than the run's current step {self._step}; "
                "the row was dropped (steps must increase; log another metric as x-axis, see define_metric)"
            ))
            return False
        if step > self._step:
            if self._pending:
                self.log({}, commit=True)
            self._step = step
        return True

    def _resolve_new_keys(self, row: Mapping[str, Any]) -> None:
        limits = self._limits
        self._known_key_count = len(limits.scalar_points)
        found = limits.check_distinct(len(limits.scalar_points))
        if found:
            self._emit_limit_warnings(found)
        if self._metrics:
            for key in row:
                definition = self._metrics.resolve(key)
                if definition is not None and self.summary.aggregate(key, definition):
                    self._aggregated.add(key)

    # metric definitions ------------------------------------------------------------------------
    def define_metric(
        self,
        name: str,
        step_metric: str | None = None,
        step_sync: bool | None = None,
        hidden: bool | None = None,
        summary: str | None = None,
        goal: str | None = None,
        overwrite: bool | None = None,
    ) -> MetricDefinition:
        """Sets the x-axis (``step_metric``) and the summary mode of a metric or a glob (``"val/*"``).

        >>> run.define_metric("val_acc", step_metric="epoch", summary="max")  # doctest: +SKIP
        """
        definition = make_definition(name, step_metric, summary, goal, bool(hidden))
        self._metrics.add(definition)
        self._append((records.DEFINE_METRIC, definition.to_record()))
        self._fold_last_row()
        for key in list(self._last_values) + list(self._limits.scalar_points):
            resolved = self._metrics.resolve(key)
            if resolved is not None and self.summary.aggregate(key, resolved):
                self._aggregated.add(key)
            elif key in self._aggregated and (resolved is None or not resolved.summary):
                self._aggregated.discard(key)
        return definition

    @property
    def metric_definitions(self) -> MetricDefinitions:
        return self._metrics

    # observers used by the notebook and sync parts -------------------------------------------
    def on_finish(self, callback: Callable[[Run], None]) -> None:
        """Calls ``callback(run)`` once the run is finished (the live panel's final figure, sync)."""
        self._finish_callbacks.append(callback)

    def before_finish(self, callback: Callable[[Run], None]) -> None:
        """Calls ``callback(run)`` inside ``finish()`` while the run log is still open.

        For parts that write their last records at the end (system metrics, ``policy="end"`` files).
        """
        self._finishing_callbacks.append(callback)

    def add_record_observer(self, observer: Callable[[int, list[Any]], None]) -> None:
        """Feeds ``observer(first_seq, records)`` every batch the writer thread writes (live views)."""
        if self._writer is not None:
            self._pack_row = self._row_template = None  # the observer reads the records as Python objects
            self._writer.add_observer(observer)

    def flush(self, timeout: float = 10.0) -> bool:
        """Waits until every record logged so far is in the run log on disk (OS buffers)."""
        return self._writer.flush(timeout) if self._writer is not None else True

    # finishing ---------------------------------------------------------------------------------
    def finish(self, exit_code: int | None = None, quiet: bool | None = None) -> None:
        """Commits the pending step, writes the summary, fsyncs the run log and closes the run."""
        with self._finish_lock:
            if self._finished:
                return
            try:
                self._finish(exit_code)
            finally:
                # log() takes the general path, which refuses a finished run
                self._row_signature = self._row_template = None
                self._finished = True
        for callback in self._finish_callbacks:
            try:
                callback(self)
            except Exception as error:  # a front end's failure must not fail finish()
                console.warn_once(f"finish-callback-{type(error).__name__}",
                                  f"a finish hook failed ({type(error).__name__}: {error}); the run is saved")
        if not quiet:
            self._say_goodbye()

    def _finish(self, exit_code: int | None) -> None:
        for callback in self._finishing_callbacks:
            try:
                callback(self)
            except Exception as error:  # a part's last records must not fail finish()
                console.warn_once(f"before-finish-{type(error).__name__}",
                                  f"a finish hook failed ({type(error).__name__}: {error}); the run is saved")
        if self._pending:
            self.log({}, commit=True)
        self._check_points()
        self.exit_code = exit_code if exit_code is not None else 0
        if self.state == "running":
            self.state = "finished" if self.exit_code == 0 else "failed"
        self.runtime = _time() - self._t0
        self._append((records.FINISH, {
            "state": self.state, "exit_code": self.exit_code, "runtime": self.runtime,
            "summary": self.summary.as_dict(), "time": _time(),
        }))
        if self._writer is not None:
            self._writer.close()
            self._report_unwritten(self._writer)

    def _report_unwritten(self, writer: RunLogWriter) -> None:
        """A full disk is said at finish: how many records are missing from the run log, and what that means."""
        unwritten, dropped = writer.records_unwritten, writer.records_dropped
        if not unwritten and not dropped:
            return
        error = writer.last_write_error
        reason = f" ({type(error).__name__}: {error})" if error is not None else ""
        if unwritten:
            # the finish record is among them: the log ends mid-run, so the run is not "finished"
            self.state = "crashed"
            outcome = "the log ends before the run's finish record, so the run is marked crashed"
        else:
            outcome = "the records after them, the finish record included, are on disk"
        self._emit_warning(UnwrittenRecordsWarning(
            f"run {self.id}: {unwritten + dropped:,} of {writer.records_written:,} records could not be written to "
            f"{writer.path}{reason}: {dropped:,} dropped while the disk refused writes, {unwritten:,} still unwritten "
            f"at finish; {outcome}"))

    def _say_goodbye(self) -> None:
        steps = f"{self._step:,} steps" if self._step != 1 else "1 step"
        where = f" in {self._dir}" if self._dir is not None else ""
        console.info(f"run {self._name} ({self.id}) {self.state}: {steps}{where}")

    # display -----------------------------------------------------------------------------------
    def __repr__(self) -> str:
        return f"<Run {self.path} name={self._name!r} state={self.state}>"

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        """In a notebook, a run displays as a compact card (name, state, config, summary, warnings)."""
        from jupyter_tracker.notebook.run_card import run_card_mimebundle

        return run_card_mimebundle(self)

    def _repr_html_(self) -> str:
        from jupyter_tracker.notebook.run_card import render_run_card

        return render_run_card(self)

    def __enter__(self) -> Run:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, trace: Any) -> None:
        if kind is None:
            self.finish()
        else:
            self.state = "killed" if issubclass(kind, KeyboardInterrupt) else "failed"
            self.finish(exit_code=130 if issubclass(kind, KeyboardInterrupt) else 1)


class _RunSummary(Summary):
    """The run's summary, reading the last values only once the run has folded its fast path's last row in.

    log()'s fast path keeps a reference to its row instead of updating the last values for every
    name of every row (a dict update per call); every read of the last values goes through here.
    """

    def __init__(self, fold: Callable[[], None], last_values: dict[str, Any],
                 on_set: Callable[[dict[str, Any]], None]) -> None:
        super().__init__(last_values, on_set=on_set)
        self._fold = fold

    def _visible_keys(self) -> list[str]:
        self._fold()
        return super()._visible_keys()

    def __getitem__(self, key: str) -> Any:
        self._fold()
        return super().__getitem__(key)

    def aggregate(self, key: str, definition: MetricDefinition) -> bool:
        self._fold()
        return super().aggregate(key, definition)


class DisabledRun(Run):
    """``mode="disabled"``: accepts every call, keeps config and summary in memory, writes nothing."""

    def log(self, data: Mapping[str, Any], step: int | None = None, commit: bool | None = None) -> None:
        return None

    @property
    def disabled(self) -> bool:
        return True

    def save(self, glob_str: str | None = None, base_path: str | None = None, policy: str = "live") -> bool | list[str]:
        return True

    def _emit_warning(self, warning: Warning) -> None:
        self.warnings.append(warning)

    def _say_goodbye(self) -> None:
        return None
