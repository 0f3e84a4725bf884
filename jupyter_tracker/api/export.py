"""Writes a run's full history (every row, not sampled) to CSV or Parquet.

Cells that are not plain scalars (lists, arrays, media references) are written as JSON text,
so every format can hold them and nothing is silently dropped.
"""

from __future__ import annotations

import importlib.util
import json
import math
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jupyter_tracker.api.public import Run
from jupyter_tracker.api.sampling import has_any_key, history_columns, project_row, row_columns

if TYPE_CHECKING:  # pragma: no cover
    import pandas

FORMATS = ("csv", "parquet")
ROW_FIELDS = ("_step", "_runtime", "_timestamp")


class ExportError(ValueError):
    """The export cannot be written as asked (unknown format, missing pyarrow)."""


def _cell(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if hasattr(value, "tolist"):
        value = value.tolist()  # numpy scalars become Python ones; arrays become lists
        if value is None or isinstance(value, (bool, int, float, str)):
            return value
    return json.dumps(value, default=str)


def export_rows(run: Run, keys: Sequence[str] | None = None) -> Iterator[dict[str, Any]]:
    """Every history row of the run; with ``keys``, rows holding any of them, cut to those keys."""
    wanted = [key for key in keys or () if key not in ROW_FIELDS]
    columns = history_columns([*wanted, "_runtime", "_timestamp"]) if keys else None
    for row in run.scan_history():
        if columns is not None:
            if wanted and not has_any_key(row, wanted):
                continue
            row = project_row(row, columns)
        yield {key: _cell(value) for key, value in row.items()}


def _uniform_columns(frame: pandas.DataFrame) -> pandas.DataFrame:
    """Object columns holding mixed types become text, which Parquet requires."""
    for column in frame.columns:
        if frame[column].dtype != object:
            continue
        values = [value for value in frame[column] if not (value is None or (isinstance(value, float) and math.isnan(value)))]
        kinds = {type(value) for value in values}
        if len(kinds) > 1:
            frame[column] = [
                None if value is None or (isinstance(value, float) and math.isnan(value))
                else value if isinstance(value, str) else json.dumps(value)
                for value in frame[column]
            ]
    return frame


def history_frame(run: Run, keys: Sequence[str] | None = None) -> pandas.DataFrame:
    """The full history as a DataFrame: ``_step``, the metrics, ``_runtime``, ``_timestamp``."""
    import pandas

    rows = list(export_rows(run, keys))
    if not rows:
        return pandas.DataFrame(columns=history_columns([*(keys or ()), "_runtime", "_timestamp"]))
    frame = pandas.DataFrame.from_records(rows)
    return _uniform_columns(frame[row_columns(frame.columns, ["_step", *(keys or ())])])


def format_for(output: str | Path | None, requested: str | None) -> str:
    """The format asked for, else the output's suffix (``.parquet``/``.pq``), else CSV."""
    if requested:
        if requested not in FORMATS:
            raise ExportError(f"unknown format {requested!r}; use csv or parquet")
        return requested
    suffix = Path(str(output)).suffix.lower() if output not in (None, "-") else ""
    return "parquet" if suffix in (".parquet", ".pq") else "csv"


def export_history(
    run: Run, output: str | Path | None = None, fmt: str | None = None, keys: Sequence[str] | None = None
) -> tuple[str, pandas.DataFrame]:
    """Writes the run's history; returns where it went (``"-"`` is stdout) and the frame written.

    The default output is ``<run id>.csv`` (or ``.parquet``) in the working directory.
    """
    fmt = format_for(output, fmt)
    if fmt == "parquet" and importlib.util.find_spec("pyarrow") is None:
        raise ExportError("Parquet needs pyarrow: pip install 'jupyter_tracker[parquet]' (or use --format csv)")
    if output == "-" and fmt == "parquet":
        raise ExportError("Parquet cannot go to standard output; give --output FILE")
    frame = history_frame(run, keys)
    if output == "-":
        frame.to_csv(sys.stdout, index=False)
        return "-", frame
    target = Path(output) if output is not None else Path(f"{run.id}.{fmt}")
    if target.parent != Path(""):
        target.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "csv":
        frame.to_csv(target, index=False)
    else:
        frame.to_parquet(target, index=False)
    return str(target), frame
