"""The runs of a project as a pandas frame, and the pure view over it: filter, search, sort, columns, pages, groups.

The frame is built once from the run index and cached; each view change filters and sorts it
with vectorised operations, and only the visible page, with only the chosen columns, is ever
formatted, so 10,000 runs and 12,000 metric columns stay responsive. Nothing here needs widgets.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jupyter_tracker.notebook.run_card import format_duration
from jupyter_tracker.notebook.runs_filter import FilterError, FilterExpression, resolve_column
from jupyter_tracker.notebook.runs_table_columns import BASE_SHOWN, default_columns, natural_key, ordered_columns

if TYPE_CHECKING:
    import pandas as pd

#: the columns every runs frame has before its ``config.*`` and ``summary.*`` columns
BASE_COLUMNS = BASE_SHOWN
#: the label of runs without a value in a group-by (no group, no tags, a config key they lack)
MISSING_GROUP = "(none)"
STATIC_DIR = Path(__file__).parent / "static"


# building the frame ------------------------------------------------------------------------------
_PLAIN = (bool, int, float, str, type(None))


def _flatten(values: Mapping[str, Any], prefix: str) -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in values.items():
        if type(value) in _PLAIN:  # the common case first: this runs for every cell of 10,000 runs
            flat[prefix + key] = value
        elif isinstance(value, dict) and "_type" not in value:
            flat.update(_flatten(value, f"{prefix}{key}."))
        else:
            flat[prefix + key] = _cell_value(value)
    return flat


def _cell_value(value: Any) -> Any:
    """Scalars stay as they are; anything else becomes short text, so columns stay hashable and sortable."""
    if isinstance(value, _PLAIN):
        return value
    if isinstance(value, dict):
        return f"<{value.get('_type', 'dict')}>"
    if hasattr(value, "item") and getattr(value, "ndim", 1) == 0:
        return value.item()
    try:
        return json.dumps(value, default=str)
    except (TypeError, ValueError):
        return str(value)


def build_frame(rows: Iterable[Mapping[str, Any]], now: float | None = None) -> tuple[pd.DataFrame, dict[str, dict[str, Any]]]:
    """One row per run (index ``id``): name, state, created, duration, group, tags, config.*, summary.*.

    Also returns, per run id, what is not a column: ``dir``, ``job_type`` and ``notes`` (kept out of
    ``DataFrame.attrs``, which pandas deep-copies on every operation).
    """
    import pandas as pd

    now = now if now is not None else dt.datetime.now().timestamp()
    records = []
    extras: dict[str, dict[str, Any]] = {}
    for row in rows:
        created = row.get("created")
        runtime = row.get("runtime")
        if runtime is None and row.get("state") == "running" and created is not None:
            runtime = now - created
        record = {
            "id": row.get("id"),
            "name": row.get("name"),
            "state": row.get("state"),
            "created": dt.datetime.fromtimestamp(created) if created is not None else None,
            "duration": float(runtime) if runtime is not None else math.nan,
            "group": row.get("group"),
            "tags": tuple(row.get("tags") or ()),
        }
        record.update(_flatten(row.get("config") or {}, "config."))
        record.update(_flatten({k: v for k, v in (row.get("summary") or {}).items() if not str(k).startswith("_")},
                               "summary."))
        records.append(record)
        extras[str(row.get("id"))] = {"dir": row.get("dir"), "job_type": row.get("job_type"), "notes": row.get("notes")}
    frame = pd.DataFrame.from_records(records, columns=None) if records else pd.DataFrame(columns=["id", *BASE_COLUMNS])
    frame = frame.set_index("id")
    dynamic = sorted(column for column in frame.columns.tolist() if column not in BASE_COLUMNS)
    frame = frame[[*BASE_COLUMNS, *[c for c in dynamic if c.startswith("config.")],
                   *[c for c in dynamic if c.startswith("summary.")]]]
    frame["created"] = pd.to_datetime(frame["created"])
    frame["duration"] = pd.to_numeric(frame["duration"], errors="coerce")
    return frame, extras


# rendering -------------------------------------------------------------------------------------------
@lru_cache(maxsize=1)
def table_css() -> str:
    """The table's styles, shared by the widget and the HTML that renderers without widgets show."""
    return (STATIC_DIR / "runs_table.css").read_text(encoding="utf-8")


def format_cell(column: str, value: Any) -> str:
    """A cell's text (not yet escaped)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if column == "duration":
        return format_duration(value)
    if column == "created":
        return value.strftime("%Y-%m-%d %H:%M") if hasattr(value, "strftime") else str(value)
    if isinstance(value, tuple):
        return ", ".join(str(item) for item in value)
    if isinstance(value, float):
        return f"{value:.6g}" if math.isfinite(value) else str(value)
    text = str(value)
    return text if len(text) <= 120 else text[:119] + "…"



def column_kind(frame: pd.DataFrame, column: str) -> str:
    """``state``, ``num`` (right-aligned, monospace) or ``text``."""
    if column == "state":
        return "state"
    return "num" if frame[column].dtype.kind in "if" else "text"


def page_cells(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Each row of a page (already cut to its columns) as ``{"id", "cells"}``: the cells' text, not escaped."""
    columns = [str(column) for column in frame.columns]
    return [
        {"id": str(run_id), "cells": [format_cell(column, value) for column, value in zip(columns, values, strict=False)]}
        for run_id, values in zip(frame.index, frame.itertuples(index=False, name=None), strict=False)
    ]


def render_html(frame: pd.DataFrame, index_name: str | None = "id", note: str = "", empty: str = "no runs match") -> str:
    """An escaped HTML table of ``frame`` (call it on one page, not on 10,000 rows), id and name kept in view."""
    escape = html.escape
    columns = [str(column) for column in frame.columns]
    kinds = [column_kind(frame, column) for column in frame.columns]
    sticky_name = bool(columns) and columns[0] == "name"

    def sticky(position: int) -> str:
        return " jt-sticky jt-sticky-2" if sticky_name and position == 0 else ""

    head = f'<th class="jt-sticky jt-index"><span class="jt-head">{escape(index_name or "")}</span></th>' if index_name else ""
    head += "".join(f'<th class="{sticky(position).strip()}"><span class="jt-head">{escape(column)}</span></th>'
                    for position, column in enumerate(columns))
    body = []
    for row in page_cells(frame):
        cells = [f'<td class="jt-sticky jt-index">{escape(row["id"])}</td>'] if index_name else []
        for position, (kind, text) in enumerate(zip(kinds, row["cells"], strict=False)):
            classes = {"state": f"s-{escape(text)}", "num": "num"}.get(kind, "") + sticky(position)
            cells.append(f'<td class="{classes.strip()}">{escape(text)}</td>')
        body.append("<tr>" + "".join(cells) + "</tr>")
    if not body:
        body.append(f'<tr><td class="jt-empty" colspan="{len(columns) + 1}">{escape(empty)}</td></tr>')
    note_html = f'<div class="jt-runs-note">{escape(note)}</div>' if note else ""
    return (f'<style>{table_css()}</style><div class="jt-runs">{note_html}<div class="jt-runs-scroll">'
            f'<table class="jt-grid"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table></div></div>')


# the view: pure state and operations, no widgets -------------------------------------------------------
class RunsView:
    """Filtering, sorting, columns, grouping and paging over a cached runs frame (no widgets: unit-testable).

    Newest runs first until a column is chosen to sort by; the columns shown start as
    :func:`~jupyter_tracker.notebook.runs_table_columns.default_columns`.

    >>> view = RunsView(build_frame(rows)[0])  # doctest: +SKIP
    >>> view.set(filter_text='config.lr < 0.01', sort_by="summary.acc", ascending=False).page_html()  # doctest: +SKIP
    """

    def __init__(self, frame: pd.DataFrame, page_size: int = 25, extras: Mapping[str, Mapping[str, Any]] | None = None,
                 columns: Sequence[str] | None = None) -> None:
        self.frame = frame
        #: a plain list: iterating pandas' string index of 12,000 names costs a quarter of a second
        self._columns: list[str] = frame.columns.tolist()
        self.extras = extras or {}
        self.page_size = max(1, int(page_size))
        self.search = ""
        self.filter_text = ""
        self.sort_by: str | None = "created" if "created" in frame.columns else None
        self.ascending = False
        self.page = 0
        self.shown: list[str] = []
        self._haystack: pd.Series | None = None
        self._result: pd.DataFrame | None = None
        if columns is None:
            self.shown = default_columns(frame)
        else:
            self.show_columns(columns)

    @property
    def columns(self) -> list[str]:
        """Every column of the frame (what filters and sorting may name), shown or not."""
        return self._columns

    def set(self, **changes: Any) -> RunsView:
        """Changes search/filter/sort (recomputed lazily); a bad filter raises FilterError and changes nothing."""
        if "filter_text" in changes and changes["filter_text"].strip():
            FilterExpression(changes["filter_text"], self.columns)  # validate before changing state
        if "sort_by" in changes and changes["sort_by"] not in (None, "id") and changes["sort_by"] not in self.frame.columns:
            raise FilterError(f"unknown column {changes['sort_by']!r}")
        for key, value in changes.items():
            if key not in ("search", "filter_text", "sort_by", "ascending", "page_size"):
                raise TypeError(f"unknown view option {key!r}")
            setattr(self, key, value)
        self._result = None
        self.page = 0
        return self

    def toggle_sort(self, column: str) -> RunsView:
        """What a click on a column's header does: sort by it ascending, or flip the order if it is already the key."""
        if column == self.sort_by:
            return self.set(ascending=not self.ascending)
        return self.set(sort_by=column, ascending=True)

    def show_columns(self, columns: Iterable[str]) -> RunsView:
        """Shows exactly these columns (in the table's order: base, config, summary); an unknown name is an error."""
        wanted = list(columns)
        known = set(self._columns)
        unknown = [column for column in wanted if column not in known]
        if unknown:
            raise FilterError(f"unknown column {unknown[0]!r}")
        self.shown = ordered_columns(self._columns, wanted)
        return self

    def set_column_shown(self, column: str, shown: bool) -> RunsView:
        """Adds or removes one column (what a tick in the column picker does)."""
        current = set(self.shown)
        if shown:
            current.add(column)
        else:
            current.discard(column)
        return self.show_columns(current)

    def default_columns(self) -> RunsView:
        self.shown = default_columns(self.frame)
        return self

    def _search_haystack(self) -> pd.Series:
        if self._haystack is None:
            frame = self.frame
            parts = [frame.index.to_series().astype(str)]
            for column in ("name", "state", "group"):
                parts.append(frame[column].fillna("").astype(str))
            parts.append(frame["tags"].map(lambda tags: " ".join(tags)))
            for key in ("job_type", "notes"):
                parts.append(frame.index.to_series().map(
                    lambda run_id, key=key: str((self.extras.get(run_id) or {}).get(key) or "")))
            haystack = parts[0]
            for part in parts[1:]:
                haystack = haystack + "\u0000" + part
            self._haystack = haystack.str.lower()
        return self._haystack

    def result(self) -> pd.DataFrame:
        """The filtered and sorted frame, every column (cached until the search, filter or sort changes)."""
        if self._result is not None:
            return self._result
        frame = self.frame
        if self.search.strip():
            frame = frame[self._search_haystack().str.contains(self.search.strip().lower(), regex=False).to_numpy()]
        if self.filter_text.strip():
            frame = frame[FilterExpression(self.filter_text, self.columns).mask(frame).to_numpy()]
        if self.sort_by:
            frame = sort_frame(frame, self.sort_by, self.ascending)
        self._result = frame
        return frame

    @property
    def page_count(self) -> int:
        return max(1, math.ceil(len(self.result()) / self.page_size))

    def go_to(self, page: int) -> int:
        self.page = min(max(0, int(page)), self.page_count - 1)
        return self.page

    def page_frame(self) -> pd.DataFrame:
        """The current page's rows, with only the shown columns."""
        start = self.page * self.page_size
        return self.result().iloc[start : start + self.page_size][self.shown]

    def summary_line(self) -> str:
        shown = len(self.result())
        total = len(self.frame)
        matching = f"{shown:,} of {total:,} runs" if shown != total else f"{total:,} runs"
        hidden = len(self.frame.columns) - len(self.shown)
        columns = f" · {len(self.shown):,} of {len(self.frame.columns):,} columns" if hidden > 0 else ""
        return f"{matching} · page {self.page + 1} of {self.page_count}{columns}"

    def page_html(self) -> str:
        return render_html(self.page_frame(), note=self.summary_line())

    def grouped(self, by: str, metrics: Sequence[str] | None = None) -> pd.DataFrame:
        """One row per value of ``by`` (group, tags, state or any config key): run count and mean/min/max of
        each numeric summary column (or of ``metrics``), over the currently filtered runs.

        Runs without a value are one group labelled ``(none)``; numbers sort before text, ``(none)`` last.
        """
        frame = self.result()
        if by != "id":
            by = resolve_column(by, self.columns)
        kinds = {column: dtype.kind for column, dtype in zip(self._columns, frame.dtypes.tolist(), strict=False)}
        candidates = metrics if metrics is not None else [column for column in self._columns if column.startswith("summary.")]
        metrics = [column for column in candidates if kinds.get(column, "O") in "if"]
        keyed = frame[[by, *metrics]] if by in frame.columns else frame[metrics].assign(id=frame.index)
        if by == "tags":
            keyed = keyed.explode("tags")
        keys = keyed[by].map(_group_label)
        grouped = keyed.assign(**{by: keys}).groupby(by, dropna=False, sort=False)
        counts = grouped.size().rename("runs")
        if metrics:
            table = grouped[metrics].agg(["mean", "min", "max"])
            table.columns = [f"{column} {stat}" for column, stat in table.columns]
            result = table.join(counts)[["runs", *table.columns]]
        else:
            result = counts.to_frame()
        order = sorted(range(len(result)), key=lambda position: _group_order(result.index[position]))
        return result.iloc[order]

    def grouped_html(self, by: str, metrics: Sequence[str] | None = None) -> str:
        table = self.grouped(by, metrics)
        return render_html(table, index_name=by, note=f"{len(table):,} groups by {by}", empty="no runs to group")


def _group_label(value: Any) -> Any:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return MISSING_GROUP
    return value if isinstance(value, (str, int, float, bool)) else str(value)


def _group_order(label: Any) -> tuple[int, Any]:
    if label == MISSING_GROUP:
        return (2, ())
    if isinstance(label, (int, float)) and not isinstance(label, bool):
        return (0, float(label))
    return (1, natural_key(str(label)))


def sort_frame(frame: pd.DataFrame, column: str, ascending: bool = True) -> pd.DataFrame:
    """Sorts by one column, missing values last; a column of mixed types sorts numbers before text."""
    if column == "id":
        return frame.sort_index(ascending=ascending, kind="stable")
    try:
        return frame.sort_values(column, ascending=ascending, na_position="last", kind="stable")
    except TypeError:
        return _sort_mixed(frame, column, ascending)


def _sort_mixed(frame: pd.DataFrame, column: str, ascending: bool) -> pd.DataFrame:
    import numpy as np
    import pandas as pd

    values = frame[column].reset_index(drop=True)
    numbers = pd.to_numeric(values, errors="coerce")
    missing = values.isna()
    keys = pd.DataFrame({
        "rank": np.where(numbers.notna(), 0, np.where(missing, 2, 1)),
        "number": numbers,
        "text": values.where(numbers.isna() & ~missing, "").astype(str),
    })
    order = keys.sort_values(["rank", "number", "text"], ascending=[True, ascending, ascending],
                             kind="stable", na_position="last").index
    return frame.iloc[order.to_numpy()]
