"""Replays a run directory into its state: metadata, config, summary, history and how it ended.

A torn or corrupt tail is skipped with a warning; it is never fatal.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from jupyter_tracker import console
from jupyter_tracker.store import record_spans, records
from jupyter_tracker.store.run_dir import run_log_path


class RunLogWarning(UserWarning):
    """A run log had a torn tail or a corrupt record; what came before it is kept."""


@dataclasses.dataclass
class RunState:
    """Everything a run log says about its run, rebuilt from the records."""

    run_dir: Path
    metadata: dict[str, Any] = dataclasses.field(default_factory=dict)
    config: dict[str, Any] = dataclasses.field(default_factory=dict)
    summary_manual: dict[str, Any] = dataclasses.field(default_factory=dict)
    last_values: dict[str, Any] = dataclasses.field(default_factory=dict)
    metric_definitions: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    warnings: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    files: dict[str, dict[str, Any]] = dataclasses.field(default_factory=dict)
    #: system-metrics windows: the values plus ``_timestamp`` and ``_runtime`` (no ``_step``)
    system_rows: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    rows: int = 0
    next_step: int = 0
    last_seq: int = 0
    runtime: float = 0.0
    last_timestamp: float | None = None
    state: str = "running"
    exit_code: int | None = None
    valid_end: int = len(records.MAGIC)
    problems: list[str] = dataclasses.field(default_factory=list)
    #: more than a torn tail was skipped (a damaged header, corrupt bytes before intact frames)
    damaged: bool = False

    @property
    def summary(self) -> dict[str, Any]:
        """Last logged values (or the summary stored at finish) overlaid with values set by hand."""
        merged = dict(self.last_values)
        merged.update(self.summary_manual)
        return merged


def iter_log(run_dir: Path, warn: bool = True) -> tuple[Iterator[records.Record], records.ScanResult]:
    """Iterates over the records of a run directory's log; problems are warned about at the end."""
    path = run_log_path(run_dir)
    data = path.read_bytes()
    result = records.ScanResult()

    def generate() -> Iterator[records.Record]:
        yield from records.iter_records(data, result, source=str(path))
        if warn:
            for problem in result.problems or []:
                console.warning(RunLogWarning(problem), stacklevel=4)

    return generate(), result


def sampled_history_records(
    run_dir: Path, choose: Callable[[int], list[int]], keys: Sequence[str] | None = None
) -> list[records.Record] | None:
    """The history records at the positions ``choose(count)`` picks out of the log's ``count`` history records.

    ``choose`` returns increasing positions (:func:`~jupyter_tracker.api.sampling.sample_indices`).
    Records are located without decoding them (:mod:`record_spans`) and only the chosen ones are
    decoded: ``history()`` of a 100,000-row run decodes 500. With ``keys``, only the rows holding
    at least one of them count, and only records whose bytes hold a key's bytes are decoded. None
    when the log is not intact from end to end (damage, a torn tail, a live run's unfinished
    frame) or holds a layout the walker does not know: the caller then reads it with
    :func:`iter_log`, which skips what it must and says so.
    """
    found = _sampled_history(run_dir, choose, keys)
    if found is None:
        return None
    return [record_spans.as_record(seq, record) for seqs, decoded in found for seq, record in zip(seqs, decoded, strict=True)]


def sampled_history_rows(
    run_dir: Path, choose: Callable[[int], list[int]], keys: Sequence[str] | None = None
) -> list[dict[str, Any]] | None:
    """The rows (as :func:`history_row` makes them) of the records :func:`sampled_history_records` picks.

    Built in place from the decoded records, which nothing else holds: no record objects and no
    copy of each row, so ``history(samples=<every row>)`` costs little more than decoding.
    """
    with _collector_paused():
        found = _sampled_history(run_dir, choose, keys)
        if found is None:
            return None
        rows = [_row_in_place(record[1], record[2], record[3], record[4]) for _, decoded in found for record in decoded]
        del found  # the record lists die before the collector is back
    return rows


def _sampled_history(
    run_dir: Path, choose: Callable[[int], list[int]], keys: Sequence[str] | None
) -> list[tuple[Sequence[int], list[Any]]] | None:
    """The chosen history records as ``(sequence numbers, decoded records)`` a frame at a time, or None."""
    payloads = records.intact_payloads(run_log_path(run_dir).read_bytes())
    if payloads is None:
        return None
    try:
        if keys:
            matched = [pair for payload in payloads for pair in record_spans.history_with_keys(payload, keys)]
            picked_pairs = [matched[index] for index in choose(len(matched))]
            return [([seq for seq, _ in picked_pairs], [record for _, record in picked_pairs])]
        spans = [record_spans.payload_spans(payload) for payload in payloads]
        located = [record_spans.history_indices(item) for item in spans]
        chosen = choose(sum(len(indices) for indices in located))
        found: list[tuple[Sequence[int], list[Any]]] = []
        position, first = 0, 0
        for item, indices in zip(spans, located, strict=True):
            end = first + len(indices)
            picked = []
            while position < len(chosen) and chosen[position] < end:
                picked.append(indices[chosen[position] - first])
                position += 1
            if picked:
                found.append((range(item.first_seq, item.first_seq + item.count) if len(picked) == item.count
                              else [item.first_seq + index for index in picked],
                              record_spans.decoded_at(item, picked)))
            first = end
        return found
    except Exception:  # an intact CRC over a payload that does not walk or decode: the full reader reports it
        return None


def iter_history_fields(
    run_dir: Path, warn: bool = True, keys: Sequence[str] | None = None
) -> Iterator[tuple[int, float, float, dict[str, Any]]]:
    """``(step, unix time, runtime, values)`` of every history record, in log order.

    With ``keys``, only the records whose values hold at least one of them; on an intact log the
    records whose bytes hold none of the keys' bytes are not decoded (``scan_history(keys=...)``
    of a metric logged every 100 steps decodes 1 % of the log). An intact log is walked frame by
    frame with no record objects built; anything else goes through :func:`iter_log`, which skips
    damage and warns about it.
    """
    payloads = records.intact_payloads(run_log_path(run_dir).read_bytes())
    history = records.HISTORY
    if payloads is None:
        stream, _ = iter_log(run_dir, warn=warn)
        for record in stream:
            if record.kind == history and (not keys or any(key in record.fields[3] for key in keys)):
                yield record.fields  # type: ignore[misc]
        return
    for number, payload in enumerate(payloads):
        try:
            found = _history_of_payload(payload, keys)
        except Exception as error:  # an intact CRC over bytes that do not decode: skipped, as iter_log does
            if warn:
                console.warning(RunLogWarning(f"{run_log_path(run_dir)}: frame {number} does not decode "
                                              f"({type(error).__name__}); later records kept"), stacklevel=3)
            continue
        yield from found


def history_row_pages(run_dir: Path, warn: bool = True) -> Iterator[list[dict[str, Any]]]:
    """Every history row as ``scan_history()`` gives it, a frame's rows at a time, in log order.

    A row is the record's values dict with ``_step``, ``_timestamp`` and ``_runtime`` added after
    the values; it was decoded for this row alone, so the caller owns it. Pages, not rows: a
    caller chains them in C (``itertools.chain.from_iterable``), and 100,000 rows then cost no
    Python frame each on top of decoding them; each frame's records are dropped as soon as its
    rows are taken, so they never all live at once. A log that is not intact from end to end
    goes through :func:`iter_log`, which skips damage and warns about it.
    """
    payloads = records.intact_payloads(run_log_path(run_dir).read_bytes())
    if payloads is None:
        stream, _ = iter_log(run_dir, warn=warn)
        page: list[dict[str, Any]] = []
        for record in stream:
            if record.kind == records.HISTORY:
                page.append(_row_in_place(*record.fields))
                if len(page) >= _FALLBACK_PAGE_ROWS:
                    yield page
                    page = []
        if page:
            yield page
        return
    for number, payload in enumerate(payloads):
        try:
            yield _rows_of_payload(payload)
        except Exception as error:  # an intact CRC over bytes that do not decode: skipped, as iter_log does
            if warn:
                console.warning(RunLogWarning(f"{run_log_path(run_dir)}: frame {number} does not decode "
                                              f"({type(error).__name__}); later records kept"), stacklevel=3)


#: rows per page when a damaged log is read record by record
_FALLBACK_PAGE_ROWS = 4096


def _row_in_place(step: int, timestamp: float, runtime: float, values: dict[str, Any]) -> dict[str, Any]:
    """A decoded record's values as its row (what :func:`history_row` gives, without the copy)."""
    values["_step"] = step
    values["_timestamp"] = timestamp
    values["_runtime"] = runtime
    return values


def _rows_of_payload(payload: bytes) -> list[dict[str, Any]]:
    """The history rows of one payload (see :func:`history_row_pages`); one loop, no call per row."""
    history = records.HISTORY
    rows: list[dict[str, Any]] = []
    append = rows.append
    with _collector_paused():
        _, decoded = records.decode_payload(payload)
        for record in decoded:
            if record[0] == history:
                values = record[4]
                values["_step"] = record[1]
                values["_timestamp"] = record[2]
                values["_runtime"] = record[3]
                append(values)
        del decoded  # the record lists die before the collector is back: it has nothing to walk
    return rows


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """Pauses the garbage collector while decoded records are turned into rows.

    A frame's records are thousands of lists (tracked objects) that live only until their rows
    are taken; with the collector on, each frame's decode ended in collections that walked them
    and then the rows of every frame before (``history(samples=<every row>)``: 37 collections,
    up to 170 ms). A row of numbers and strings is not tracked at all, so the rows kept cost it nothing.
    Nothing here makes cycles; user code never runs inside (no yield in the block).
    """
    collecting = gc.isenabled()
    if collecting:
        gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()


def _history_of_payload(payload: bytes, keys: Sequence[str] | None) -> list[tuple[int, float, float, dict[str, Any]]]:
    """The history fields of one payload, only those holding one of ``keys`` when given."""
    if keys:
        try:
            matched = record_spans.history_with_keys(payload, keys)
        except record_spans.UnexpectedLayout:  # a layout the walker does not know: decoded whole below
            pass
        else:
            return [(record[1], record[2], record[3], record[4]) for _, record in matched]
    history = records.HISTORY
    _, decoded = records.decode_payload(payload)
    return [(record[1], record[2], record[3], record[4]) for record in decoded
            if record[0] == history and (not keys or any(key in record[4] for key in keys))]


def history_row(record: records.Record) -> dict[str, Any]:
    """A history record as wandb shows a row: the values plus ``_step``, ``_timestamp``, ``_runtime``."""
    step, timestamp, runtime, values = record.fields
    row = dict(values)
    row["_step"] = step
    row["_timestamp"] = timestamp
    row["_runtime"] = runtime
    return row


def read_run(run_dir: Path, warn: bool = True, keep_history: bool = False) -> tuple[RunState, list[dict[str, Any]]]:
    """Replays a run directory; returns its state and, when asked, every history row."""
    state = RunState(run_dir=Path(run_dir))
    history: list[dict[str, Any]] = []
    stream, result = iter_log(run_dir, warn=warn)
    for record in stream:
        state.last_seq = record.seq
        kind = record.kind
        if kind == records.HISTORY:
            step, timestamp, runtime, values = record.fields
            state.rows += 1
            state.next_step = step + 1
            state.runtime = runtime
            state.last_timestamp = timestamp
            state.last_values.update(values)
            if keep_history:
                history.append(history_row(record))
        elif kind == records.CONFIG:
            state.config.update(record.fields[0])
        elif kind == records.SUMMARY:
            state.summary_manual.update(record.fields[0])
        elif kind == records.RUN:
            # metadata only: a run is running until its FINISH record, and again after a RESUME;
            # a name or tags changed after the finish (Api ``run.update()``) leaves it finished
            state.metadata.update(record.fields[0])
        elif kind == records.RESUME:
            state.state = "running"
        elif kind == records.DEFINE_METRIC:
            state.metric_definitions.append(record.fields[0])
        elif kind == records.WARNING:
            state.warnings.append(record.fields[0])
        elif kind == records.SYSTEM:
            timestamp, runtime, values = record.fields
            state.system_rows.append({**values, "_timestamp": timestamp, "_runtime": runtime})
        elif kind == records.FILE:
            state.files[record.fields[0]["name"]] = record.fields[0]
        elif kind == records.FINISH:
            info = record.fields[0]
            state.state = info.get("state", "finished")
            state.exit_code = info.get("exit_code")
            state.runtime = info.get("runtime", state.runtime)
            if info.get("summary") is not None:
                # the final summary is the whole view; keys set by hand stay marked as such so that
                # a resumed run's later log calls do not overwrite them
                final = dict(info["summary"])
                state.summary_manual = {key: final[key] for key in state.summary_manual if key in final}
                state.last_values = {key: value for key, value in final.items() if key not in state.summary_manual}
    state.valid_end = result.valid_end
    state.problems = list(result.problems or [])
    state.damaged = result.damaged
    return state, history
