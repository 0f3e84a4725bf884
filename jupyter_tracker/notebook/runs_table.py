"""The runs of a project as an interactive table: search, filter, sort, group, pages and a comparison chart.

The rows come from the local run index. The pandas frame is built once and cached; each view
change filters and sorts that frame with vectorised operations and renders only the visible page
as an escaped HTML table, so 10,000 runs stay responsive. Filter expressions such as
``config.lr < 0.01 and state == "finished"`` are parsed with :mod:`ast` into a small whitelist
of comparisons and evaluated on columns; user text is never evaluated as Python.
"""

from __future__ import annotations

import ast
import datetime as dt
import html
import json
import math
import operator
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jupyter_tracker.notebook.run_card import format_duration

if TYPE_CHECKING:
    import pandas as pd

#: the columns every runs frame has before its ``config.*`` and ``summary.*`` columns
BASE_COLUMNS = ("name", "state", "created", "duration", "group", "tags")
_SEARCHED = ("name", "state", "group", "job_type", "notes")
_MAX_COMPARED = 20


class FilterError(ValueError):
    """A filter expression that cannot be used; the message says what and where."""


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
    dynamic = sorted(column for column in frame.columns if column not in BASE_COLUMNS)
    frame = frame[[*BASE_COLUMNS, *[c for c in dynamic if c.startswith("config.")],
                   *[c for c in dynamic if c.startswith("summary.")]]]
    frame["created"] = pd.to_datetime(frame["created"])
    frame["duration"] = pd.to_numeric(frame["duration"], errors="coerce")
    return frame, extras


# filter expressions ----------------------------------------------------------------------------------
_COMPARE: dict[type, Callable[[Any, Any], Any]] = {
    ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.Lt: operator.lt,
    ast.LtE: operator.le, ast.Gt: operator.gt, ast.GtE: operator.ge,
}
_BACKTICKED = re.compile(r"`([^`]+)`")


class _Column:
    def __init__(self, name: str) -> None:
        self.name = name


def resolve_column(name: str, columns: Sequence[str]) -> str:
    """``lr`` -> ``config.lr`` when that is the only match; an unknown name is a FilterError."""
    if name in columns or name == "id":
        return name
    matches = [prefix + name for prefix in ("config.", "summary.") if prefix + name in columns]
    if len(matches) == 1:
        return matches[0]
    if len(matches) > 1:
        raise FilterError(f"{name!r} is ambiguous: write {' or '.join(matches)}")
    raise FilterError(f"unknown column {name!r}; columns: {', '.join(['id', *columns][:30])}")


def _dotted_name(node: ast.AST) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = _dotted_name(node.value)
        return f"{base}.{node.attr}" if base is not None else None
    return None


class FilterExpression:
    """A parsed filter expression, evaluated on a runs frame to a boolean mask.

    Allowed: column names (``state``, ``config.lr``, or ```summary.train/loss``` in backticks),
    literals (numbers, strings, True/False/None, lists), comparisons ``== != < <= > >= in not in``,
    and ``and``, ``or``, ``not``, parentheses.

    >>> FilterExpression('config.lr < 0.01 and state == "finished"', ["state", "config.lr"])  # doctest: +ELLIPSIS
    <FilterExpression ...>
    """

    def __init__(self, text: str, columns: Sequence[str]) -> None:
        self.text = text
        self.columns = list(columns)
        self._quoted: dict[str, str] = {}

        def quote(match: re.Match[str]) -> str:
            placeholder = f"__jt_column_{len(self._quoted)}__"
            self._quoted[placeholder] = match.group(1)
            return placeholder

        source = _BACKTICKED.sub(quote, text.strip())
        try:
            tree = ast.parse(source, mode="eval")
        except SyntaxError as error:
            raise FilterError(f"cannot parse the filter {text!r}: {error.msg}") from None
        self._tree = self._check(tree.body)

    def __repr__(self) -> str:
        return f"<FilterExpression {self.text!r}>"

    # parse-time checks: only whitelisted nodes; column names resolved
    def _check(self, node: ast.AST) -> Any:
        if isinstance(node, ast.BoolOp):
            return (type(node.op), [self._check(value) for value in node.values])
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            return (ast.Not, self._check(node.operand))
        if isinstance(node, ast.Compare):
            operands = [self._operand(node.left)] + [self._operand(value) for value in node.comparators]
            for op in node.ops:
                if type(op) not in _COMPARE and not isinstance(op, (ast.In, ast.NotIn)):
                    raise FilterError(f"operator {type(op).__name__} is not allowed in a filter")
            return (ast.Compare, [type(op) for op in node.ops], operands)
        operand = self._operand(node)
        if isinstance(operand, _Column):
            return (ast.Compare, [ast.Eq], [operand, True])
        raise FilterError(f"{ast.unparse(node)!r} is not a condition (compare it with something)")

    def _operand(self, node: ast.AST) -> Any:
        name = _dotted_name(node)
        if name is not None:
            name = self._quoted.get(name, name)
            return _Column(resolve_column(name, self.columns))
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float, str, bool, type(None))):
            return node.value
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            value = self._operand(node.operand)
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                return -value if isinstance(node.op, ast.USub) else value
        if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
            values = [self._operand(element) for element in node.elts]
            if any(isinstance(value, _Column) for value in values):
                raise FilterError("a list in a filter holds literals only")
            return values
        raise FilterError(f"{ast.unparse(node)!r} is not allowed in a filter (columns, literals and comparisons only)")

    # evaluation
    def mask(self, frame: pd.DataFrame) -> pd.Series:
        """A boolean Series over ``frame``'s rows: True where the expression holds."""
        return self._evaluate(self._tree, frame).fillna(False).astype(bool)

    def _evaluate(self, node: Any, frame: pd.DataFrame) -> pd.Series:
        kind = node[0]
        if kind is ast.And or kind is ast.Or:
            masks = [self._evaluate(child, frame) for child in node[1]]
            result = masks[0]
            for other in masks[1:]:
                result = (result & other) if kind is ast.And else (result | other)
            return result
        if kind is ast.Not:
            return ~self._evaluate(node[1], frame)
        _, ops, operands = node
        result = None
        for index, op in enumerate(ops):
            part = _compare(op, operands[index], operands[index + 1], frame)
            result = part if result is None else (result & part)
        return result


def _values(operand: Any, frame: pd.DataFrame) -> Any:
    import pandas as pd

    if isinstance(operand, _Column):
        if operand.name == "id":
            return pd.Series(frame.index, index=frame.index)
        return frame[operand.name]
    return operand


def _compare(op: type, left: Any, right: Any, frame: pd.DataFrame) -> pd.Series:
    import pandas as pd

    left_values, right_values = _values(left, frame), _values(right, frame)
    if op in (ast.In, ast.NotIn):
        mask = _contains(left_values, right_values, frame)
        return ~mask if op is ast.NotIn else mask
    if not isinstance(left_values, pd.Series):  # literal on the left: mirror the comparison
        mirrored: dict[type, type] = {ast.Lt: ast.Gt, ast.Gt: ast.Lt, ast.LtE: ast.GtE, ast.GtE: ast.LtE}
        op = mirrored.get(op, op)
        left_values, right_values = right_values, left_values
    if not isinstance(left_values, pd.Series):
        return pd.Series(bool(_COMPARE[op](left_values, right_values)), index=frame.index)
    if right_values is None and op in (ast.Eq, ast.NotEq):
        missing = left_values.isna()
        return missing if op is ast.Eq else ~missing
    function = _COMPARE[op]
    series = _comparable(left_values, right_values)
    try:
        return pd.Series(function(series, right_values), index=frame.index)
    except TypeError:  # mixed types in one column: compare what compares, the rest is False
        return series.map(lambda value: _safe(function, value, right_values)).astype(bool)


def _comparable(series: pd.Series, other: Any) -> pd.Series:
    """Converts a column so a literal compares as a user means: numbers numerically, dates as dates."""
    import pandas as pd

    if isinstance(other, (int, float)) and not isinstance(other, bool) and series.dtype == object:
        return pd.to_numeric(series, errors="coerce")
    if isinstance(other, str) and pd.api.types.is_datetime64_any_dtype(series):
        return series.astype(str)
    return series


def _safe(function: Callable[[Any, Any], Any], left: Any, right: Any) -> bool:
    try:
        return bool(function(left, right))
    except TypeError:
        return False


def _contains(left: Any, right: Any, frame: pd.DataFrame) -> pd.Series:
    import pandas as pd

    if isinstance(left, pd.Series) and isinstance(right, list):
        return left.isin(right)
    if isinstance(right, pd.Series):  # "baseline" in tags, or "lr" in name
        needle = left
        return right.map(lambda value: _safe(operator.contains, value, needle) if value is not None else False).astype(bool)
    if isinstance(right, list):
        return pd.Series(left in right, index=frame.index)
    raise FilterError("`in` needs a list or a column on its right")


# rendering -------------------------------------------------------------------------------------------
_TABLE_CSS = """
.jt-runs{font:12px/1.4 var(--jp-ui-font-family,system-ui,sans-serif);color:inherit;overflow-x:auto;max-width:100%}
.jt-runs table.jt-grid{border-collapse:collapse;margin:0;table-layout:auto;border:none;font-size:12px}
.jt-runs table.jt-grid th{position:sticky;top:0;text-align:left;font-weight:600;padding:3px 8px;white-space:nowrap;
 border:none;border-bottom:1px solid rgba(127,127,127,.45);background:rgba(127,127,127,.08)}
.jt-runs table.jt-grid td{text-align:left;padding:2px 8px;white-space:nowrap;border:none;
 border-bottom:1px solid rgba(127,127,127,.15);max-width:280px;overflow:hidden;text-overflow:ellipsis;line-height:1.4}
.jt-runs table.jt-grid td.num{text-align:right;font-family:var(--jp-code-font-family,monospace)}
.jt-runs table.jt-grid tr,.jt-runs table.jt-grid tr:nth-child(odd){background:transparent}
.jt-runs table.jt-grid tr:hover td{background:rgba(127,127,127,.10)}
.jt-runs .s-finished{color:#16a34a}.jt-runs .s-failed,.jt-runs .s-crashed{color:#dc2626}
.jt-runs .s-running{color:#2563eb}.jt-runs .s-killed{color:#ea580c}
.jt-runs .jt-empty{opacity:.7;padding:6px}
"""


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


def render_html(frame: pd.DataFrame, index_name: str | None = "id", note: str = "") -> str:
    """An escaped HTML table of ``frame`` (call it on one page, not on 10,000 rows)."""
    escape = html.escape
    columns = list(frame.columns)
    head = "".join(f"<th>{escape(str(column))}</th>" for column in ([index_name] if index_name else []) + columns)
    numeric = {column for column in columns if frame[column].dtype.kind in "if"}
    body = []
    for run_id, values in zip(frame.index, frame.itertuples(index=False, name=None), strict=False):
        cells = [f"<td>{escape(str(run_id))}</td>"] if index_name else []
        for column, value in zip(columns, values, strict=False):
            text = escape(format_cell(str(column), value))
            if column == "state":
                cells.append(f'<td class="s-{escape(str(value))}">{text}</td>')
            elif column in numeric:
                cells.append(f'<td class="num">{text}</td>')
            else:
                cells.append(f"<td>{text}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    if not body:
        body.append(f'<tr><td class="jt-empty" colspan="{len(columns) + 1}">no runs match</td></tr>')
    note_html = f'<div style="opacity:.7;margin:2px 0">{escape(note)}</div>' if note else ""
    return (f'<style>{_TABLE_CSS}</style><div class="jt-runs">{note_html}<table class="jt-grid"><thead><tr>{head}</tr></thead>'
            f'<tbody>{"".join(body)}</tbody></table></div>')


# the view: pure state and operations, no widgets -------------------------------------------------------
class RunsView:
    """Filtering, sorting, grouping and paging over a cached runs frame (no widgets: unit-testable).

    >>> view = RunsView(build_frame(rows))  # doctest: +SKIP
    >>> view.set(filter_text='config.lr < 0.01', sort_by="summary.acc", ascending=False).page_html()  # doctest: +SKIP
    """

    def __init__(self, frame: pd.DataFrame, page_size: int = 25, extras: Mapping[str, Mapping[str, Any]] | None = None) -> None:
        self.frame = frame
        self.extras = extras or {}
        self.page_size = max(1, int(page_size))
        self.search = ""
        self.filter_text = ""
        self.sort_by: str | None = None
        self.ascending = True
        self.page = 0
        self._haystack: pd.Series | None = None
        self._result: pd.DataFrame | None = None

    @property
    def columns(self) -> list[str]:
        return list(self.frame.columns)

    def set(self, **changes: Any) -> RunsView:
        """Changes search/filter/sort (recomputed lazily); a bad filter raises FilterError and changes nothing."""
        if "filter_text" in changes and changes["filter_text"].strip():
            FilterExpression(changes["filter_text"], self.columns)  # validate before changing state
        if "sort_by" in changes and changes["sort_by"] not in (None, "id", *self.columns):
            raise FilterError(f"unknown column {changes['sort_by']!r}")
        for key, value in changes.items():
            if key not in ("search", "filter_text", "sort_by", "ascending", "page_size"):
                raise TypeError(f"unknown view option {key!r}")
            setattr(self, key, value)
        self._result = None
        self.page = 0
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
        """The filtered and sorted frame (cached until the search, filter or sort changes)."""
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
        start = self.page * self.page_size
        return self.result().iloc[start : start + self.page_size]

    def summary_line(self) -> str:
        shown = len(self.result())
        total = len(self.frame)
        matching = f"{shown:,} of {total:,} runs" if shown != total else f"{total:,} runs"
        return f"{matching} · page {self.page + 1} of {self.page_count}"

    def page_html(self) -> str:
        return render_html(self.page_frame(), note=self.summary_line())

    def grouped(self, by: str) -> pd.DataFrame:
        """One row per value of ``by`` (group, tags, state or any config key): run count and mean/min/max of
        each numeric summary column, over the currently filtered runs."""
        frame = self.result()
        if by != "id":
            by = resolve_column(by, self.columns)
        metrics = [column for column in frame.columns if column.startswith("summary.") and frame[column].dtype.kind in "if"]
        keyed = frame[[by, *metrics]] if by in frame.columns else frame[metrics].assign(id=frame.index)
        if by == "tags":
            keyed = keyed.explode("tags")
        keys = keyed[by].map(lambda value: value if isinstance(value, (str, int, float, bool)) or value is None else str(value))
        grouped = keyed.assign(**{by: keys}).groupby(by, dropna=False, sort=True)
        table = grouped[metrics].agg(["mean", "min", "max"]) if metrics else None
        counts = grouped.size().rename("runs")
        if table is None:
            return counts.to_frame()
        table.columns = [f"{column} {stat}" for column, stat in table.columns]
        return table.join(counts)[["runs", *table.columns]]

    def grouped_html(self, by: str) -> str:
        table = self.grouped(by)
        return render_html(table, index_name=by, note=f"{len(table):,} groups by {by}")


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


# history for the comparison chart --------------------------------------------------------------------
def metric_history(run_dir: str | Path, metric: str) -> tuple[list[float], list[float]]:
    """Steps and values of one metric of one run (numeric points only), read from its run log."""
    from jupyter_tracker.store.reader import read_run

    _, rows = read_run(Path(run_dir), warn=False, keep_history=True)
    steps, values = [], []
    for row in rows:
        value = row.get(metric)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            steps.append(float(row["_step"]))
            values.append(float(value))
    return steps, values


def comparison_figure(frame: pd.DataFrame, run_dirs: Mapping[str, Any], run_ids: Sequence[str], metric: str,
                      history: Callable[[str, str], tuple[list[float], list[float]]] | None = None) -> Any:
    """A plotly figure with one line per run: ``metric`` against step (at most 1,500 points per line)."""
    import numpy as np
    import plotly.graph_objects as go

    from jupyter_tracker.downsample import min_max_buckets

    history = history or metric_history
    figure = go.Figure()
    for run_id in list(run_ids)[:_MAX_COMPARED]:
        run_dir = run_dirs.get(run_id)
        if not run_dir:
            continue
        try:
            steps, values = history(run_dir, metric)
        except OSError:  # the run directory was moved or deleted; the index still lists it
            continue
        if not steps:
            continue
        x, y = min_max_buckets(np.asarray(steps), np.asarray(values))
        label = f"{frame.at[run_id, 'name']} ({run_id})" if run_id in frame.index else str(run_id)
        figure.add_trace(go.Scattergl(x=x, y=y, mode="lines", name=label))
    figure.update_layout(
        title={"text": metric}, xaxis_title="step", height=380, margin={"l": 50, "r": 20, "t": 70, "b": 40},
        template="plotly_white", legend={"orientation": "h", "yanchor": "bottom", "y": 1.02, "xanchor": "right", "x": 1},
    )
    return figure


def figure_bundle(figure: Any) -> dict[str, Any]:
    """A plotly figure as a display bundle that stays small in the saved notebook (no plotly.js inside)."""
    names = ", ".join(trace.name or "" for trace in figure.data)
    return {
        "application/vnd.plotly.v1+json": figure.to_plotly_json(),
        "text/plain": f"comparison chart of {figure.layout.title.text}: {names}",
    }


# the widget ------------------------------------------------------------------------------------------
class RunsTable:
    """The runs of a project: an ipywidgets view in a notebook, a DataFrame with :meth:`to_dataframe`.

    >>> table = jupyter_tracker.runs_table("mnist")   # doctest: +SKIP
    >>> table                                         # the interactive table  # doctest: +SKIP
    >>> table.to_dataframe().sort_values("summary.acc").tail()  # doctest: +SKIP
    """

    def __init__(self, frame: pd.DataFrame, project: str | None = None, page_size: int = 25,
                 extras: Mapping[str, Mapping[str, Any]] | None = None) -> None:
        self.project = project
        self.extras = extras or {}
        self.view = RunsView(frame, page_size=page_size, extras=self.extras)
        self._widget: Any = None

    @classmethod
    def from_rows(cls, rows: Iterable[Mapping[str, Any]], project: str | None = None, page_size: int = 25) -> RunsTable:
        frame, extras = build_frame(rows)
        return cls(frame, project=project, page_size=page_size, extras=extras)

    def to_dataframe(self) -> pd.DataFrame:
        """A copy of the whole frame (every run, unfiltered)."""
        return self.view.frame.copy()

    def query(self, filter_text: str = "", search: str = "", sort_by: str | None = None, ascending: bool = True) -> pd.DataFrame:
        """The runs matching a filter expression and a search text, sorted; also what the widget shows."""
        view = RunsView(self.view.frame, extras=self.extras)
        view.set(filter_text=filter_text, search=search, sort_by=sort_by, ascending=ascending)
        return view.result()

    def group_by(self, column: str) -> pd.DataFrame:
        """Run count and mean/min/max of every numeric summary column per value of ``column``."""
        return RunsView(self.view.frame).grouped(column)

    def compare(self, run_ids: Sequence[str], metric: str) -> Any:
        """A plotly figure of ``metric`` over steps for each of ``run_ids``."""
        run_dirs = {run_id: extra.get("dir") for run_id, extra in self.extras.items()}
        return comparison_figure(self.view.frame, run_dirs, run_ids, metric)

    # display
    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        bundle = dict(self.widget()._repr_mimebundle_(include=include, exclude=exclude) or {})
        bundle["text/html"] = self.view.page_html()  # what renderers without widgets show
        bundle["text/plain"] = f"<RunsTable {self.project!r}: {len(self.view.frame):,} runs>"
        return bundle

    def __repr__(self) -> str:
        return f"<RunsTable {self.project!r}: {len(self.view.frame):,} runs>"

    def widget(self) -> Any:
        """The ipywidgets view (built once)."""
        if self._widget is None:
            self._widget = _RunsWidget(self).box
        return self._widget


class _RunsWidget:
    """The controls and output areas of a :class:`RunsTable`; every update replaces a widget's value in place."""

    def __init__(self, table: RunsTable) -> None:
        import ipywidgets as widgets

        self.table = table
        view = table.view
        columns = view.columns
        metrics = [column[len("summary."):] for column in columns if column.startswith("summary.")]
        group_choices = ["group", "tags", "state", *[c for c in columns if c.startswith("config.")]]
        layout = widgets.Layout
        self.search = widgets.Text(placeholder="search name, id, group, tags", description="search",
                                   continuous_update=True, layout=layout(width="260px"))
        self.filter = widgets.Text(placeholder='config.lr < 0.01 and state == "finished"', description="filter",
                                   continuous_update=False, layout=layout(width="420px"))
        self.sort_by = widgets.Dropdown(options=[("(none)", None), ("id", "id"), *[(c, c) for c in columns]],
                                        description="sort", layout=layout(width="240px"))
        self.descending = widgets.ToggleButton(value=False, description="descending", icon="sort-amount-desc",
                                               layout=layout(width="130px"))
        self.group_by = widgets.Dropdown(options=[("(no grouping)", None), *[(c, c) for c in group_choices]],
                                         description="group by", layout=layout(width="260px"))
        self.previous = widgets.Button(description="◀", layout=layout(width="40px"), tooltip="previous page")
        self.next = widgets.Button(description="▶", layout=layout(width="40px"), tooltip="next page")
        self.message = widgets.HTML()
        self.table_html = widgets.HTML()
        self.selection = widgets.SelectMultiple(options=[], rows=6, description="runs", layout=layout(width="420px"))
        self.metric = widgets.Dropdown(options=metrics, description="metric", layout=layout(width="300px"))
        self.compare = widgets.Button(description="compare", icon="line-chart", button_style="primary")
        self.chart = widgets.Output()
        self.search.observe(self._changed, names="value")
        self.filter.observe(self._changed, names="value")
        self.sort_by.observe(self._changed, names="value")
        self.descending.observe(self._changed, names="value")
        self.group_by.observe(lambda _change: self.refresh(), names="value")
        self.previous.on_click(lambda _button: self._page(-1))
        self.next.on_click(lambda _button: self._page(+1))
        self.compare.on_click(lambda _button: self._compare())
        title = widgets.HTML(f"<b>runs of {html.escape(str(table.project))}</b>" if table.project else "<b>runs</b>")
        self.box = widgets.VBox([
            title,
            widgets.HBox([self.search, self.filter]),
            widgets.HBox([self.sort_by, self.descending, self.group_by, self.previous, self.next]),
            self.message,
            self.table_html,
            widgets.HBox([self.selection, widgets.VBox([self.metric, self.compare])]),
            self.chart,
        ])
        self.refresh()

    def _changed(self, _change: Any) -> None:
        try:
            self.table.view.set(search=self.search.value, filter_text=self.filter.value,
                                sort_by=self.sort_by.value, ascending=not self.descending.value)
        except FilterError as error:
            self.message.value = f'<span style="color:#dc2626">{html.escape(str(error))}</span>'
            return
        self.message.value = ""
        self.refresh()

    def _page(self, delta: int) -> None:
        self.table.view.go_to(self.table.view.page + delta)
        self.refresh()

    def refresh(self) -> None:
        view = self.table.view
        if self.group_by.value:
            self.table_html.value = view.grouped_html(self.group_by.value)
        else:
            self.table_html.value = view.page_html()
        page = view.page_frame()
        self.selection.options = [(f"{name} ({run_id})", run_id) for run_id, name in zip(page.index, page["name"], strict=False)]

    def _compare(self) -> None:
        run_ids = list(self.selection.value)
        if not run_ids or not self.metric.value:
            self.message.value = "select runs on this page and a metric to compare"
            return
        self.message.value = ""
        try:
            figure = self.table.compare(run_ids, self.metric.value)
        except Exception as error:  # shown in the widget: a click has no traceback to show it in
            self.message.value = f'<span style="color:#dc2626">{html.escape(f"{type(error).__name__}: {error}")}</span>'
            return
        if not figure.data:
            self.message.value = html.escape(f"none of the selected runs has points of {self.metric.value}")
        self.chart.outputs = ({"output_type": "display_data", "data": figure_bundle(figure), "metadata": {}},)


def runs_table(project: str | None = None, root: str | Path | None = None, page_size: int = 25) -> RunsTable:
    """The runs of ``project`` (every project when None) in the local store, as an interactive table.

    >>> jupyter_tracker.runs_table("mnist")  # doctest: +SKIP
    """
    from jupyter_tracker import settings
    from jupyter_tracker.store.index import RunIndex

    index = RunIndex(Path(root) if root is not None else settings.default_root())
    return RunsTable.from_rows(index.runs(project), project=project, page_size=page_size)
