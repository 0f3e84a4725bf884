"""``Table``: rows and columns stored as a columnar file (Parquet when pyarrow imports, else JSON lines).

Cells hold numbers, strings, bools, None, lists of those, or media (an ``Image`` per row, say);
media cells are written as their own files and the table keeps their references.
"""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from typing import Any

import numpy as np

from jupyter_tracker.media._files import write_media
from jupyter_tracker.values import MediaValue

_SCALARS = (str, int, float, bool, type(None))


class Table(MediaValue):
    """A table to log: ``Table(columns=["image", "label"], data=[[Image(x), "cat"], ...])`` or ``Table(dataframe=df)``.

    >>> table = Table(columns=["a", "b"], data=[[1, "x"], [2, "y"]])
    >>> table.add_data(3, "z"); len(table.data)
    3
    """

    media_kind = "table"

    def __init__(self, columns: Sequence[str] | None = None, data: Sequence[Sequence[Any]] | Any | None = None,
                 dataframe: Any | None = None) -> None:
        if dataframe is not None:
            if data is not None:
                raise ValueError("Table() takes data= or dataframe=, not both")
            if not hasattr(dataframe, "columns") or not hasattr(dataframe, "to_numpy"):
                raise TypeError(f"Table(dataframe=...) needs a pandas DataFrame, not {type(dataframe).__name__}")
            columns = [str(column) for column in dataframe.columns] if columns is None else columns
            data = dataframe.to_numpy(dtype=object).tolist()
        if isinstance(data, np.ndarray):
            if data.ndim != 2:
                raise ValueError(f"Table(data=...): an array must be 2-D (rows, columns), got shape {data.shape}")
            data = data.tolist()
        rows = [] if data is None else list(data)
        if columns is None:
            width = len(rows[0]) if rows else 0
            columns = [f"col_{index}" for index in range(width)]
        if isinstance(columns, str) or not all(isinstance(column, str) for column in columns):
            raise TypeError("Table(columns=...) must be a list of strings")
        self.columns: list[str] = list(columns)
        if len(set(self.columns)) != len(self.columns):
            raise ValueError(f"Table(columns=...): column names must be unique, got {self.columns}")
        self.data: list[list[Any]] = []
        for row in rows:
            self.add_data(*row)

    def add_data(self, *values: Any) -> None:
        """Appends one row (as wandb's ``Table.add_data``); the values are checked now."""
        if len(values) != len(self.columns):
            raise ValueError(f"Table row {len(self.data)}: {len(values)} values for {len(self.columns)} columns "
                             f"{self.columns}")
        self.data.append([_cell(value, len(self.data), column) for value, column in zip(values, self.columns, strict=True)])

    @property
    def media_columns(self) -> list[str]:
        return [column for index, column in enumerate(self.columns)
                if any(isinstance(row[index], MediaValue) for row in self.data)]

    def encode(self, run_dir: Any) -> dict[str, Any]:
        """Writes the table (and its media cells) under ``media/``; returns the table's reference."""
        media_columns = self.media_columns
        columns: dict[str, list[Any]] = {column: [] for column in self.columns}
        for row in self.data:
            for column, value in zip(self.columns, row, strict=True):
                if isinstance(value, MediaValue):
                    value = json.dumps(value.encode(run_dir))
                columns[column].append(value)
        data, file_format = _parquet(columns)
        if data is None:
            data, file_format = _json_lines(self.columns, columns), "jsonl"
        path, digest = write_media(run_dir, "tables", data, "." + file_format)
        return {"_type": "table-file", "path": path, "sha256": digest, "format": file_format,
                "columns": list(self.columns), "nrows": len(self.data), "ncols": len(self.columns),
                "media_columns": media_columns}

    def _repr_html_(self) -> str:
        from jupyter_tracker.media.display import table_html

        return table_html(self.columns, self.data)

    def __repr__(self) -> str:
        return f"<Table {len(self.data)} rows x {len(self.columns)} columns>"


def _cell(value: Any, row: int, column: str) -> Any:
    if type(value) in (int, float, str, bool) or value is None:
        return value
    if isinstance(value, MediaValue):
        if isinstance(value, Table):
            raise TypeError(f"Table row {row}, column {column!r}: a Table cannot hold another Table")
        return value
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, _SCALARS):
        return value
    if isinstance(value, (list, tuple, np.ndarray)):
        items = value.tolist() if isinstance(value, np.ndarray) else list(value)
        if all(isinstance(item, _SCALARS) for item in items):
            return items
    if hasattr(value, "isoformat"):  # dates and timestamps from a DataFrame
        return value.isoformat()
    raise TypeError(f"Table row {row}, column {column!r}: cannot store a {type(value).__module__}."
                    f"{type(value).__qualname__} (use numbers, strings, bools, None, lists of those, or media)")


def _parquet(columns: dict[str, list[Any]]) -> tuple[bytes | None, str]:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        return None, "parquet"
    try:
        table = pa.Table.from_pydict(columns)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, TypeError, ValueError, OverflowError):
        return None, "parquet"  # mixed types in one column: JSON lines keep them as they are
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    return buffer.getvalue(), "parquet"


def _json_lines(names: list[str], columns: dict[str, list[Any]]) -> bytes:
    rows = zip(*(columns[name] for name in names), strict=True) if names else iter(())
    lines = [json.dumps(dict(zip(names, row, strict=True)), allow_nan=True) for row in rows]
    return ("\n".join(lines) + ("\n" if lines else "")).encode("utf-8")

