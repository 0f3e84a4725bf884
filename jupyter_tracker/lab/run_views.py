"""The data of the front-end views (projects, runs table, run page, active runs) read from a run backend.

One place builds what the JupyterLab extension and the server's web pages draw, so both hosts
show the same numbers: a metric is sent as its min/max-downsampled points (at most
``points_per_line``) plus the smoothing summary of the FULL series, from which the browser's
``smoothSummary`` (``notebook/static/smoothing.js``) draws TensorBoard's EMA for any weight.
"""

from __future__ import annotations

import base64
import math
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from jupyter_tracker.downsample import min_max_summary

#: the plot budget of DESIGN.md: lines are downsampled to this many points, the data stays queryable
POINTS_PER_LINE = 1500
#: summary values shown beside each run in the sidebar
SUMMARY_VALUES_PER_RUN = 4
#: x-axes a run page offers besides a metric's own step metric
ROW_AXES = ("_step", "_runtime", "_timestamp")
#: logged steps of one media key a run page's media browser offers (evenly spaced, the last one kept)
MEDIA_STEPS_PER_KEY = 500
#: histograms of one key sent to the browser (each carries its bins and counts)
HISTOGRAMS_PER_KEY = 100
#: runs one compare view overlays
COMPARE_MAX_RUNS = 10
#: file types a browser may show inline (an image, audio or video tag); every other file is only ever downloaded
INLINE_IMAGE_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".gif": "image/gif",
                      ".webp": "image/webp", ".wav": "audio/wav", ".mp4": "video/mp4", ".webm": "video/webm",
                      ".ogg": "video/ogg"}
#: rows of a logged Table one answer sends (the count says how many it has)
TABLE_ROWS = 200
#: the media kinds a run page's media browser shows, by their reference's ``_type``
FILE_MEDIA_KINDS = {"audio-file": "audio", "video-file": "video", "html-file": "html", "table-file": "table"}


def json_number(value: Any) -> Any:
    """``value`` as JSON can carry it: NaN and ±inf become the strings ``"NaN"``/``"Infinity"``/``"-Infinity"``."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        return value
    number = float(value)
    if math.isfinite(number):
        return int(value) if isinstance(value, (int, np.integer)) else number
    return "NaN" if math.isnan(number) else ("Infinity" if number > 0 else "-Infinity")


def _plain(value: Any) -> Any:
    """Config/summary values made JSON-safe (nested dicts and lists kept, non-finite numbers as strings)."""
    if isinstance(value, Mapping):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    if isinstance(value, (str, bool)) or value is None:
        return value
    if isinstance(value, (int, float, np.integer, np.floating)):
        return json_number(value)
    return str(value)


def _scalar_summary(summary: Mapping[str, Any]) -> dict[str, Any]:
    return {
        key: json_number(value)
        for key, value in summary.items()
        if not key.startswith("_") and isinstance(value, (int, float)) and not isinstance(value, bool)
    }


def run_row(record: Mapping[str, Any], now: float | None = None) -> dict[str, Any]:
    """One run as a runs-table row: identity, state, times, tags and its scalar summary values."""
    return {
        "id": record.get("id"),
        "name": record.get("name") or record.get("id"),
        "project": record.get("project"),
        "entity": record.get("entity"),
        "state": record.get("state") or "unknown",
        "group": record.get("group"),
        "tags": list(record.get("tags") or []),
        "created": record.get("created"),
        "updated": record.get("updated"),
        "runtime": record.get("runtime"),
        "summary": _scalar_summary(record.get("summary") or {}),
        "now": time.time() if now is None else now,
    }


def list_projects(backend: Any, entity: str | None = None) -> list[dict[str, Any]]:
    """Every project with its run count and how many of them are running."""
    projects = []
    for name in backend.projects(entity):
        pages = backend.list_runs(entity, name, None, "-created_at", 100_000)
        runs = pages.page(1)
        projects.append({
            "name": name,
            "entity": entity,
            "runs": pages.total(),
            "running": sum(1 for run in runs if run.get("state") == "running"),
            "updated": max((run.get("updated") or run.get("created") or 0 for run in runs), default=None),
        })
    return projects


def list_runs(backend: Any, project: str, entity: str | None = None, limit: int = 10_000) -> list[dict[str, Any]]:
    """The project's runs, newest first, as runs-table rows (at most ``limit``)."""
    pages = backend.list_runs(entity, project, None, "-created_at", max(1, limit))
    now = time.time()
    return [run_row(record, now) for record in pages.page(1)]


def _series_payload(x: np.ndarray, y: np.ndarray, extra_axes: Mapping[str, np.ndarray]) -> dict[str, Any]:
    """The drawn points of one metric and the smoothing summary of all of them (base64 of its bytes)."""
    indices, summary = min_max_summary(y, POINTS_PER_LINE)
    return {
        "points": int(y.size),
        "x": {name: [json_number(v) for v in values[indices].tolist()] for name, values in {"_step": x, **extra_axes}.items()},
        "y": [json_number(v) for v in y[indices].tolist()],
        "summary": base64.b64encode(summary.to_bytes()).decode("ascii"),
    }


def _metric_columns(backend: Any, project: str, run_id: str, entity: str | None) -> dict[str, Any]:
    """Each scalar metric's chart data, read from the run's whole history."""
    columns: dict[str, dict[str, list[float]]] = {}
    for row in backend.history_rows(entity, project, run_id):
        step = row.get("_step")
        runtime = row.get("_runtime")
        timestamp = row.get("_timestamp")
        for key, value in row.items():
            if key.startswith("_") or isinstance(value, bool) or not isinstance(value, (int, float)):
                continue
            column = columns.setdefault(key, {"_step": [], "_runtime": [], "_timestamp": [], "y": []})
            column["_step"].append(float(step) if step is not None else math.nan)
            column["_runtime"].append(float(runtime) if runtime is not None else math.nan)
            column["_timestamp"].append(float(timestamp) if timestamp is not None else math.nan)
            column["y"].append(float(value))
    metrics = {}
    for key in sorted(columns):
        column = columns[key]
        metrics[key] = _series_payload(
            np.asarray(column["_step"]), np.asarray(column["y"]),
            {"_runtime": np.asarray(column["_runtime"]), "_timestamp": np.asarray(column["_timestamp"])},
        )
    return metrics


def system_metrics(backend: Any, project: str, run_id: str, entity: str | None = None) -> dict[str, Any]:
    """The run's system metrics (``system/...``: CPU, memory, GPU when sampled), charted against time.

    System rows have no step: ``_step`` holds the window's index so the series shape is a metric's.
    A backend without ``system_rows`` gives none.
    """
    reader = getattr(backend, "system_rows", None)
    rows = reader(entity, project, run_id) if reader is not None else []
    columns: dict[str, dict[str, list[float]]] = {}
    for index, row in enumerate(rows):
        for key, value in row.items():
            if key.startswith("_") or isinstance(value, bool) or not isinstance(value, (int, float)):
                continue
            column = columns.setdefault(key, {"_step": [], "_runtime": [], "_timestamp": [], "y": []})
            column["_step"].append(float(index))
            column["_runtime"].append(float(row.get("_runtime") if row.get("_runtime") is not None else math.nan))
            column["_timestamp"].append(float(row.get("_timestamp") if row.get("_timestamp") is not None else math.nan))
            column["y"].append(float(value))
    return {
        key: _series_payload(np.asarray(column["_step"]), np.asarray(column["y"]),
                             {"_runtime": np.asarray(column["_runtime"]), "_timestamp": np.asarray(column["_timestamp"])})
        for key, column in sorted(columns.items())
    }


def run_page(backend: Any, project: str, run_id: str, entity: str | None = None) -> dict[str, Any]:
    """Everything a run page draws: the run, its config and summary, each metric's chart data, system metrics, warnings."""
    record = backend.get_run(entity, project, run_id)
    return {
        "run": run_row(record),
        "config": _plain(record.get("config") or {}),
        "summary": _plain({k: v for k, v in (record.get("summary") or {}).items() if not k.startswith("_")}),
        "notes": record.get("notes"),
        "metrics": _metric_columns(backend, project, run_id, entity),
        "system": system_metrics(backend, project, run_id, entity),
        # a local run's upload to the tracking server (a run read from the server has none to show)
        "sync": sync_state(Path(record["dir"])) if record.get("dir") else None,
        "warnings": run_warnings(backend, project, run_id, entity, record),
        "axes": list(ROW_AXES),
    }


#: the bytes of a warning record's kind in a run log's payload (the writer's canonical msgpack)
_WARNING_KIND = b"\xa7warning"


def _payload_seqs(payload: bytes) -> tuple[int, int]:
    """(first sequence number, record count) of one frame's payload, read from its head only."""
    import msgpack

    unpacker = msgpack.Unpacker(raw=False, strict_map_key=False, max_buffer_size=max(len(payload), 1))
    unpacker.feed(payload)
    if unpacker.read_array_header() != 2:
        raise ValueError("not a run-log payload")
    first_seq = unpacker.unpack()
    if type(first_seq) is not int:
        raise ValueError("not a run-log payload")
    return first_seq, unpacker.read_array_header()


def _missing_records(spans: list[tuple[int, int]]) -> dict[str, Any] | None:
    """A warning for the records missing between frames: a writer that could not write drops the oldest waiting ones."""
    missing = gaps = 0
    for (first, count), (following, _) in zip(spans, spans[1:]):
        if following > first + count:
            missing += following - first - count
            gaps += 1
    if not missing:
        return None
    where = "one place" if gaps == 1 else f"{gaps:,} places"
    return {"kind": "unwritten_records",
            "message": f"{missing:,} records are missing from the run log (in {where}): they could not be written "
                       "when they were logged (a full disk drops the oldest waiting records). What was written is kept."}


def _logged_warnings(run_dir: Path, live: bool) -> list[dict[str, Any]]:
    """The warning records of a run log, the records missing from it, and, once the run has ended, what could not be read.

    On an intact log only the frames whose bytes hold a warning record's kind are decoded (warnings
    are rare; the history is not decoded for them); any other log goes through the tolerant reader.
    """
    from jupyter_tracker.store import record_spans, records
    from jupyter_tracker.store.reader import iter_log
    from jupyter_tracker.store.run_dir import run_log_path

    try:
        payloads = records.intact_payloads(run_log_path(run_dir).read_bytes())
    except OSError:
        return []
    if payloads is not None:
        try:
            found = []
            for payload in payloads:
                if _WARNING_KIND in payload:
                    spans = record_spans.payload_spans(payload)
                    found += [record.fields[0] for record in record_spans.decode_records(spans, range(spans.count))
                              if record.kind == records.WARNING]
            missing = _missing_records([_payload_seqs(payload) for payload in payloads])
            return found + ([missing] if missing else [])
        except Exception:  # a layout the walker does not know: the full reader below knows it
            pass
    stream, result = iter_log(run_dir, warn=False)
    found, seqs = [], []
    for record in stream:
        seqs.append((record.seq, 1))
        if record.kind == records.WARNING:
            found.append(record.fields[0])
    # records skipped as damaged leave gaps too: those are said as the log's problems, not as unwritten
    missing = None if result.problems else _missing_records(seqs)
    found += [missing] if missing else []
    if not live:  # a live run's last frame may be mid-write: not a problem yet
        found += [{"kind": "run_log", "message": problem} for problem in result.problems or []]
    return found


def warning_entry(fields: Mapping[str, Any]) -> dict[str, Any]:
    """One stored warning as the run page lists it: its kind, a sentence saying what happened, and advice.

    >>> warning_entry({"kind": "scalar_points", "bound": 100000, "observed": 100001, "subject": "loss"})["title"]
    'points per scalar metric'
    """
    from jupyter_tracker.limits import LIMITS

    kind = str(fields.get("kind") or "warning")
    bound, observed, subject = fields.get("bound"), fields.get("observed"), fields.get("subject")
    subject = None if subject is None else str(subject)
    limit = LIMITS.get(kind)
    if limit is not None and isinstance(bound, int) and isinstance(observed, int):
        about = f" ({subject})" if subject else ""
        return {"kind": kind, "title": limit.what,
                "message": f"{observed:,} {limit.unit}{about}, more than the recommended {bound:,}. The data is kept.",
                "advice": limit.advice, "subject": subject, "bound": bound, "observed": observed}
    title = {"run_log": "run log", "unwritten_records": "records not written"}.get(kind, kind.replace("_", " "))
    message = fields.get("message")
    return {"kind": kind, "title": title, "message": str(message) if message is not None else json_text(fields),
            "advice": None, "subject": subject, "bound": json_number(bound), "observed": json_number(observed)}


def json_text(value: Any) -> str:
    """A value as JSON text (what a warning of an unknown kind shows)."""
    import json

    return json.dumps(_plain(value), sort_keys=True)


def run_warnings(backend: Any, project: str, run_id: str, entity: str | None = None,
                 record: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
    """The warnings a run recorded (limits crossed, its log's unreadable parts), for the run page.

    A backend with ``run_warnings`` (the tracking server's pages; ``RemoteBackend``, from the server's
    warnings endpoint) answers itself; a local run's warnings are read from its log; a run object
    that carries ``warnings`` gives those.
    """
    reader = getattr(backend, "run_warnings", None)
    if reader is not None:
        stored = reader(entity, project, run_id)
    else:
        record = record if record is not None else backend.get_run(entity, project, run_id)
        if record.get("dir"):
            stored = _logged_warnings(Path(record["dir"]), live=record.get("state") == "running")
            if record.get("state") == "crashed":
                stored.append({"kind": "run_log", "message": "The run log ends before the run's finish record: the "
                               "process stopped, or its last records could not be written. The run is marked crashed."})
        else:
            stored = list(record.get("warnings") or [])
    return [warning_entry(item) for item in stored if isinstance(item, Mapping)]


def _spread(items: list[Any], limit: int) -> list[Any]:
    """At most ``limit`` of ``items``, evenly spaced, the first and the last kept."""
    if len(items) <= limit:
        return items
    picks = sorted({round(i * (len(items) - 1) / (limit - 1)) for i in range(limit)})
    return [items[i] for i in picks]


def _image_entry(ref: Mapping[str, Any]) -> dict[str, Any] | None:
    path = ref.get("path")
    if not isinstance(path, str) or not path:
        return None
    caption = ref.get("caption")
    return {"file": path, "caption": caption if isinstance(caption, str) else None,
            "width": ref.get("width") if isinstance(ref.get("width"), int) else None,
            "height": ref.get("height") if isinstance(ref.get("height"), int) else None}


def _images(value: Any) -> list[dict[str, Any]] | None:
    """The images of a logged value (one Image or a list of them); None when it holds none."""
    refs = value if isinstance(value, list) else [value]
    if not refs or not all(isinstance(ref, Mapping) and ref.get("_type") == "image-file" for ref in refs):
        return None
    entries = [entry for entry in (_image_entry(ref) for ref in refs) if entry is not None]
    return entries or None


def _histogram(value: Any) -> dict[str, Any] | None:
    if not (isinstance(value, Mapping) and value.get("_type") == "histogram"):
        return None
    bins, counts = value.get("bins"), value.get("values")
    if not isinstance(bins, list) or not isinstance(counts, list) or len(bins) != len(counts) + 1:
        return None
    return {"bins": [json_number(edge) for edge in bins], "values": [json_number(count) for count in counts]}


def _file_media(value: Any) -> tuple[str, list[dict[str, Any]]] | None:
    """(kind, entries) of a logged Audio, Video, Html or Table (or a list of one kind); None otherwise."""
    refs = value if isinstance(value, list) else [value]
    if not refs or not all(isinstance(ref, Mapping) for ref in refs):
        return None
    kinds = {FILE_MEDIA_KINDS.get(str(ref.get("_type"))) for ref in refs}
    if len(kinds) != 1 or None in kinds:
        return None
    entries = []
    for ref in refs:
        path = ref.get("path")
        if not isinstance(path, str) or not path:
            continue
        entry: dict[str, Any] = {"file": path}
        caption = ref.get("caption")
        entry["caption"] = caption if isinstance(caption, str) else None
        for name in ("format", "columns", "nrows", "ncols", "duration", "sample_rate", "channels", "fps",
                     "width", "height", "frames"):
            if name in ref:
                entry[name] = _plain(ref[name])
        entries.append(entry)
    return (kinds.pop(), entries) if entries else None  # type: ignore[return-value]


def run_media(backend: Any, project: str, run_id: str, entity: str | None = None) -> dict[str, Any]:
    """The run's logged media per key, step by step, for the run page's media browser.

    ``{"media": {key: {"kind", "logged": n, "steps": [{"step", "images"|"bins"+"values"|"files"}]}}}``
    with ``kind`` one of ``images``, ``histogram``, ``audio``, ``video``, ``html``, ``table``:
    images name their file and caption; audio, video, HTML and tables name their file (fetched
    through the host's authenticated file route; a table's rows through its table route) with what
    the reference says of it. At most :data:`MEDIA_STEPS_PER_KEY` steps (:data:`HISTOGRAMS_PER_KEY`
    histograms) per key.
    """
    found: dict[str, dict[str, Any]] = {}
    for row in backend.history_rows(entity, project, run_id):
        step = row.get("_step")
        for key, value in row.items():
            if key.startswith("_") or not isinstance(value, (Mapping, list)):
                continue
            images = _images(value)
            if images is not None:
                entry: dict[str, Any] = {"step": step, "images": images}
                kind = "images"
            elif (histogram := _histogram(value)) is not None:
                entry = {"step": step, **histogram}
                kind = "histogram"
            elif (media := _file_media(value)) is not None:
                kind, files = media
                entry = {"step": step, "files": files}
            else:
                continue
            logged = found.setdefault(key, {"kind": kind, "steps": []})
            if logged["kind"] == kind:
                logged["steps"].append(entry)
    answer = {}
    for key in sorted(found):
        logged = found[key]
        limit = HISTOGRAMS_PER_KEY if logged["kind"] == "histogram" else MEDIA_STEPS_PER_KEY
        answer[key] = {"kind": logged["kind"], "logged": len(logged["steps"]), "steps": _spread(logged["steps"], limit)}
    return {"media": answer}


def _table_cell(value: Any) -> Any:
    """A table cell as JSON: a media cell (stored as its reference's JSON text) becomes that reference."""
    if isinstance(value, str) and value.startswith('{"_type"'):
        import json

        try:
            ref = json.loads(value)
        except ValueError:
            return value
        if isinstance(ref, dict) and isinstance(ref.get("path"), str):
            return _plain(ref)
    return _plain(value)


def table_rows(path: Path, name: str, limit: int = TABLE_ROWS) -> dict[str, Any]:
    """The first ``limit`` rows of a logged Table's file (Parquet needs pyarrow, JSON lines nothing).

    ``{"columns": [...], "rows": [[cell, ...], ...], "nrows": n}``; a media cell is its reference
    (``{"_type": "image-file", "path": ...}``), shown through the run's file route.
    """
    import json

    if name.endswith(".parquet"):
        try:
            import pyarrow.parquet as pq
        except ImportError as error:
            raise ValueError(f"{name} is a Parquet table: reading it needs pyarrow") from error
        parquet = pq.ParquetFile(path)
        columns = [str(column) for column in parquet.schema_arrow.names]
        nrows = parquet.metadata.num_rows
        head = next(parquet.iter_batches(batch_size=max(1, limit)), None) if nrows else None
        records = head.to_pylist() if head is not None else []
    elif name.endswith(".jsonl"):
        lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        nrows = len(lines)
        records = [json.loads(line) for line in lines[:limit]]
        columns = list(records[0]) if records else []
    else:
        raise ValueError(f"{name} is not a logged Table (.parquet or .jsonl)")
    rows = [[_table_cell(record.get(column)) for column in columns] for record in records[:limit]]
    return {"columns": columns, "rows": rows, "nrows": nrows}


def run_files(backend: Any, project: str, run_id: str, entity: str | None = None) -> dict[str, Any]:
    """The run's files (saved files, media, ``output.log``): name, size and time, sorted by name."""
    listed = backend.files(entity, project, run_id)
    return {"files": sorted(({"name": str(item["name"]), "size": int(item.get("size") or 0),
                              "updated": item.get("updated")} for item in listed), key=lambda item: item["name"])}


def inline_type(name: str) -> str | None:
    """The image type a browser may show inline for a file name; None: the file is only downloaded."""
    return INLINE_IMAGE_TYPES.get(Path(name).suffix.lower())


def compare_runs(backend: Any, project: str, run_ids: Sequence[str], entity: str | None = None) -> dict[str, Any]:
    """Selected runs side by side: each run's row, config and summary, and every metric's series per run."""
    ids = list(dict.fromkeys(run_ids))
    if not ids:
        raise ValueError("name at least one run to compare")
    if len(ids) > COMPARE_MAX_RUNS:
        raise ValueError(f"a compare view overlays at most {COMPARE_MAX_RUNS} runs, got {len(ids)}")
    runs, configs, summaries = [], {}, {}
    metrics: dict[str, dict[str, Any]] = {}
    for run_id in ids:
        page = run_page(backend, project, run_id, entity)
        runs.append(page["run"])
        configs[run_id] = page["config"]
        summaries[run_id] = page["summary"]
        for key, series in page["metrics"].items():
            metrics.setdefault(key, {})[run_id] = series
    return {"runs": runs, "config": configs, "summary": summaries,
            "metrics": {key: metrics[key] for key in sorted(metrics)}, "axes": list(ROW_AXES)}


def sync_state(run_dir: Path | None) -> dict[str, Any]:
    """Where a local run's upload stands: ``offline`` (no server), ``synced``, ``behind`` (bytes not yet acknowledged) or ``failing``."""
    from jupyter_tracker.store.run_dir import RUN_LOG_NAME
    from jupyter_tracker.sync.sync_state import SyncState

    if run_dir is None or not SyncState.exists(run_dir):
        return {"state": "offline"}
    state = SyncState.load(run_dir)
    if state.problems:
        return {"state": "failing", "problem": state.problems[-1]}
    try:
        size = (Path(run_dir) / RUN_LOG_NAME).stat().st_size
    except OSError:
        size = state.offset
    behind = max(0, size - state.offset)
    return {"state": "synced" if behind == 0 else "behind", "bytes_behind": behind}


def _history_step(raw_record: bytes) -> int | None:
    """The step of a history record's raw msgpack bytes (None for other records); its row is not decoded."""
    import msgpack

    from jupyter_tracker.store.records import HISTORY

    unpacker = msgpack.Unpacker(raw=False, strict_map_key=False)
    unpacker.feed(raw_record)
    try:
        if unpacker.read_array_header() < 2 or unpacker.unpack() != HISTORY:
            return None
        step = unpacker.unpack()
    except (ValueError, msgpack.UnpackException):
        return None
    return step if isinstance(step, int) else None


class LastSteps:
    """The last committed step of live runs, read incrementally from their logs.

    The status bar asks every 2 s; each ask reads only the frames written since the last one
    (``LogTail``), so a run of 100,000 steps costs what its newest records cost.
    """

    def __init__(self) -> None:
        self._tails: dict[Path, tuple[Any, int | None]] = {}

    def step(self, run_dir: Path) -> int | None:
        from jupyter_tracker.store.run_dir import RUN_LOG_NAME
        from jupyter_tracker.sync.log_tail import LogTail

        tail, last = self._tails.get(run_dir) or (LogTail(Path(run_dir) / RUN_LOG_NAME), None)
        for frame in tail.read():
            for raw_record in frame.raw_records:
                step = _history_step(raw_record)
                if step is not None:
                    last = step
        self._tails[run_dir] = (tail, last)
        return last

    def forget_others(self, live: set[Path]) -> None:
        for run_dir in list(self._tails):
            if run_dir not in live:
                del self._tails[run_dir]


def active_runs(backend: Any, steps: LastSteps | None = None, projects: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """Runs of the store that are running now: name, last step and sync state (the status bar's item)."""
    steps = steps if steps is not None else LastSteps()
    live: set[Path] = set()
    active = []
    for project in projects if projects is not None else backend.projects(None):
        pages = backend.list_runs(None, project, None, "-created_at", 100_000)
        # the listing's state is the one the sidebar shows (a crashed run is told apart there);
        # the step comes from the log's newest records, not from re-reading the whole run
        for record in pages.page(1):
            if record.get("state") != "running":
                continue
            run_dir = Path(record["dir"]) if record.get("dir") else None
            step = None
            if run_dir is not None:
                live.add(run_dir)
                step = steps.step(run_dir)
            active.append({**run_row(record), "step": step, "sync": sync_state(run_dir)})
    steps.forget_others(live)
    return active
