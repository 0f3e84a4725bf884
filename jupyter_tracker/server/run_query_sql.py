"""wandb-style run filters and orders translated into SQL over the ``runs`` table, on SQLite and PostgreSQL.

:mod:`jupyter_tracker.api.filters` defines what a filter means, over run dicts in Python; this
module expresses the same meaning in SQL where it can, so a runs query over a large project
reads one page of rows instead of every run. Where it cannot be exact it says so:

* :func:`translate` returns ``None`` for a filter or order SQL cannot express (``$regex``,
  ``$all``, ``$size``, ordering by ``tags``, whole ``config``/``summary`` values); the caller then
  evaluates the query in Python;
* a JSON value that is a list or an object (MongoDB's array semantics, wandb's
  ``{"value": ...}`` wrappers) or a dotted name that may reach into a nested value makes that
  *row* uncertain: :attr:`RunQuery.uncertain` is true for it, and a caller that finds any
  uncertain row falls back to Python for the whole query.

JSON values are typed on both backends as ``number``, ``string``, ``boolean``, ``null``,
``array``, ``object`` or ``missing``, and compared only within a type, as
the Python evaluation does. Strings compare by code point (``COLLATE "C"`` on PostgreSQL).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from jupyter_tracker.api import filters as run_filters
from jupyter_tracker.server import schema as t

#: the keys every run object has; a field outside them (and outside config/summary) is always missing
_RUN_OBJECT_KEYS = frozenset(
    {"id", "name", "state", "entity", "project", "group", "tags", "notes", "job_type", "created", "updated"}
    | {"runtime", "exit_code", "config", "summary", "applied_seq", "history_rows", "user"}
)
#: run-object attributes held in a column: (column, holds numbers)
_COLUMNS: dict[str, tuple[sa.Column[Any], bool]] = {
    "id": (t.runs.c.run_id, False),
    "name": (t.runs.c.name, False),
    "state": (t.runs.c.state, False),
    "group": (t.runs.c.group_name, False),
    "notes": (t.runs.c.notes, False),
    "job_type": (t.runs.c.job_type, False),
    "user": (t.runs.c.created_by, False),
    "created": (t.runs.c.created, True),
    "updated": (t.runs.c.updated, True),
    "runtime": (t.runs.c.runtime, True),
    "exit_code": (t.runs.c.exit_code, True),
    "applied_seq": (t.runs.c.applied_seq, True),
    "history_rows": (t.runs.c.history_rows, True),
}
_COMPARISONS = {"$lt": "__lt__", "$lte": "__le__", "$gt": "__gt__", "$gte": "__ge__"}


class Untranslatable(Exception):
    """The filter or order needs the Python evaluation."""


@dataclass
class _Typed:
    """One field of a row as SQL expressions: its JSON type (``missing`` when absent) and its value by type.

    Each expression is NULL only where its type does not apply, so a comparison guarded by the
    type is always plainly true or false (and ``NOT`` of it too).
    """

    kind: Any
    text: Any
    number: Any
    boolean: Any


@dataclass
class RunQuery:
    """A filter and an order in SQL: rows that ``where`` keeps, in ``order_by`` order, unless ``uncertain``."""

    where: Any
    uncertain: Any
    order_by: list[Any]
    inner_columns: list[Any]

    def source(self, project_id: int) -> Any:
        """The project's runs with each JSON value the query needs read once (a materialized CTE).

        ``where`` and ``order_by`` name its columns; without it, every mention of a value would
        parse the run's JSON again.
        """
        columns = {column.name: column for column, _numeric in _COLUMNS.values()}
        query = sa.select(t.runs.c.pk, *columns.values(), *self.inner_columns).where(t.runs.c.project_id == project_id)
        return query.cte("jt_runs").prefix_with("MATERIALIZED")


class _Translator:
    def __init__(self, backend: str, entity: str, project: str) -> None:
        self.backend = backend
        self.identity = {"entity": entity, "project": project}
        self.uncertain: list[Any] = []
        #: JSON values read once per row in the inner query: (section, key) -> their column names
        self.extracted: dict[tuple[str, str], tuple[str, str]] = {}
        self.inner_columns: list[Any] = []
        self.uses_tags = False

    # -- fields --------------------------------------------------------------------------
    def _string(self, expression: Any) -> Any:
        return expression.collate("C") if self.backend == "postgresql" else expression

    def _column(self, column: sa.Column[Any], numeric: bool) -> _Typed:
        value = sa.literal_column(column.name, column.type)
        kind = sa.case((value.is_(None), "null"), else_="number" if numeric else "string")
        if numeric:
            return _Typed(kind, sa.null(), value, sa.null())
        return _Typed(kind, self._string(value), sa.null(), sa.null())

    def _extract(self, column: sa.Column[Any], key: str) -> tuple[Any, Any]:
        """The inner query's columns for one JSON value: (its type, its value), each read once per row."""
        names = self.extracted.get((column.name, key))
        if names is None:
            number = len(self.extracted)
            names = (f"jt_kind_{number}", f"jt_value_{number}")
            self.extracted[(column.name, key)] = names
            if self.backend == "postgresql":
                from sqlalchemy.dialects.postgresql import JSONB

                # the column is jsonb (schema version 6): the value is read without parsing the document
                value = sa.literal_column(column.name, JSONB).op("->", return_type=JSONB)(sa.literal(key, sa.Text))
                self.inner_columns += [sa.func.jsonb_typeof(value).label(names[0]), value.label(names[1])]
            else:
                if '"' in key or "\\" in key:
                    raise Untranslatable(key)
                path = f'$."{key}"'
                self.inner_columns += [
                    sa.func.json_type(column, path).label(names[0]),
                    sa.func.json_extract(column, path).label(names[1]),
                ]
        return sa.literal_column(names[0], sa.Text), sa.literal_column(names[1])

    def _json(self, column: sa.Column[Any], key: str) -> _Typed:
        raw_kind, value = self._extract(column, key)
        if self.backend == "postgresql":
            kind: Any = sa.func.coalesce(raw_kind, "missing")
            text = value.op("#>>", return_type=sa.Text)(sa.literal_column("'{}'"))
            number = sa.case((kind == "number", sa.cast(text, sa.Numeric)), else_=sa.null())
            boolean = sa.case((kind == "boolean", sa.case((text == "true", 1), else_=0)), else_=sa.null())
            return _Typed(kind, sa.case((kind == "string", self._string(text)), else_=sa.null()), number, boolean)
        kind = sa.case(
            (raw_kind.in_(("integer", "real")), "number"),
            (raw_kind == "text", "string"),
            (raw_kind.in_(("true", "false")), "boolean"),
            else_=sa.func.coalesce(raw_kind, "missing"),
        )
        return _Typed(
            kind,
            sa.case((raw_kind == "text", value), else_=sa.null()),
            sa.case((raw_kind.in_(("integer", "real")), value), else_=sa.null()),
            sa.case((raw_kind == "true", 1), (raw_kind == "false", 0), else_=sa.null()),
        )

    def _section(self, section: str, rest: str) -> _Typed:
        column = t.runs.c.config if section == "config" else t.runs.c.summary
        typed = self._json(column, rest)
        self.uncertain.append(typed.kind.in_(("array", "object")))
        parts = rest.split(".")
        if len(parts) > 1:
            # the flat dotted key wins; when it is missing, a prefix key may hold a nested value
            prefixes = [self._json(column, ".".join(parts[:cut])).kind for cut in range(1, len(parts))]
            self.uncertain.append(sa.and_(typed.kind == "missing", sa.or_(*[kind != "missing" for kind in prefixes])))
        return typed

    def field(self, field: str) -> list[_Typed] | None:
        """The typed values ``field`` has for a row (``name`` has two), or None when constant for every row."""
        section, _, rest = field.partition(".")
        if section in ("config", "summary", "summary_metrics", "summaryMetrics") and rest:
            return [self._section(run_filters.canonical_field(field).partition(".")[0], rest)]
        if field == "name":
            return [self._column(t.runs.c.name, False), self._column(t.runs.c.run_id, False)]
        key = run_filters.canonical_field(field)
        if key in _COLUMNS:
            return [self._column(*_COLUMNS[key])]
        if key in ("entity", "project") or key not in _RUN_OBJECT_KEYS:
            return None
        raise Untranslatable(field)  # tags, config, summary: lists and objects

    # -- conditions ----------------------------------------------------------------------
    def _equal(self, typed: _Typed, target: Any) -> Any:
        if target is None:
            return typed.kind.in_(("missing", "null"))
        if isinstance(target, bool):
            return sa.and_(typed.kind == "boolean", typed.boolean == int(target))
        if isinstance(target, (int, float)):
            if isinstance(target, float) and not math.isfinite(target):
                raise Untranslatable(target)
            return sa.and_(typed.kind == "number", typed.number == target)
        if isinstance(target, str):
            return sa.and_(typed.kind == "string", typed.text == target)
        raise Untranslatable(target)

    def _compare(self, typed: _Typed, operator: str, target: Any) -> Any:
        method = _COMPARISONS[operator]
        if isinstance(target, bool):
            return sa.and_(typed.kind == "boolean", getattr(typed.boolean, method)(int(target)))
        if isinstance(target, (int, float)):
            if isinstance(target, float) and math.isnan(target):
                return sa.false()
            if isinstance(target, float) and math.isinf(target):
                raise Untranslatable(target)
            return sa.and_(typed.kind == "number", getattr(typed.number, method)(target))
        if isinstance(target, str):
            return sa.and_(typed.kind == "string", getattr(typed.text, method)(target))
        return sa.false()  # None and other values compare with nothing

    def _operator(self, values: list[_Typed], field: str, operator: str, operand: Any, convert: Any) -> Any:
        if operator in ("$eq", "$ne"):
            target = convert(operand)
            if target is None and field == "name":
                found = sa.and_(*[typed.kind == "null" for typed in values])  # neither a name nor an id
            else:
                found = sa.or_(*[self._equal(typed, target) for typed in values])
            return found if operator == "$eq" else sa.not_(found)
        if operator in _COMPARISONS:
            target = convert(operand)
            return sa.or_(*[self._compare(typed, operator, target) for typed in values])
        if operator in ("$in", "$nin"):
            if not isinstance(operand, (list, tuple)):
                raise Untranslatable(operand)  # the Python evaluation names the error
            found = sa.or_(sa.false(), *[self._operator(values, field, "$eq", item, convert) for item in operand])
            return found if operator == "$in" else sa.not_(found)
        if operator == "$exists":
            present = sa.or_(*[typed.kind != "missing" for typed in values])
            if field == "name":
                present = sa.or_(*[typed.kind == "string" for typed in values])
            return present if operand else sa.not_(present)
        if (
            operator == "$not"
            and isinstance(operand, Mapping)
            and operand
            and all(str(k).startswith("$") for k in operand)
        ):
            return sa.not_(self._condition(values, field, operand))
        raise Untranslatable(operator)  # $regex, $all, $size, $not of a regex

    def _condition(self, values: list[_Typed], field: str, condition: Any) -> Any:
        key = run_filters.canonical_field(field)
        convert = run_filters._to_timestamp if key in ("created", "updated") else (lambda value: value)
        if isinstance(condition, Mapping) and condition and all(str(k).startswith("$") for k in condition):
            if "$options" in condition:
                raise Untranslatable("$options")
            return sa.and_(*[self._operator(values, field, op, operand, convert) for op, operand in condition.items()])
        return self._operator(values, field, "$eq", condition, convert)

    def _has_tag(self, tag: str) -> Any:
        """True when the run's tags (always a list of strings) hold ``tag``."""
        if not self.uses_tags:
            self.uses_tags = True
            self.inner_columns.append(t.runs.c.tags)
        tags = sa.literal_column("tags", sa.Text)
        if self.backend == "postgresql":
            from sqlalchemy.dialects.postgresql import JSONB

            return sa.func.jsonb_exists(sa.cast(tags, JSONB), sa.literal(tag, sa.Text))
        each = sa.func.json_each(tags).table_valued("value")
        return sa.exists().where(each.c.value == tag)

    def _tags(self, condition: Any) -> Any:
        """``tags`` filters by tag: "has tag", any/none of a list of tags, and ``$exists``."""
        if not (isinstance(condition, Mapping) and condition and all(str(k).startswith("$") for k in condition)):
            condition = {"$eq": condition}
        clauses = []
        for operator, operand in condition.items():
            if operator in ("$eq", "$ne") and isinstance(operand, str):
                found = self._has_tag(operand)
            elif operator in ("$in", "$nin") and isinstance(operand, list) and all(isinstance(x, str) for x in operand):
                found = sa.or_(sa.false(), *[self._has_tag(tag) for tag in operand])
            elif operator == "$exists":
                clauses.append(sa.true() if operand else sa.false())  # every run has a list of tags
                continue
            else:
                raise Untranslatable(operator)
            clauses.append(found if operator in ("$eq", "$in") else sa.not_(found))
        return sa.and_(sa.true(), *clauses)

    def filter(self, document: Mapping[str, Any]) -> Any:
        clauses: list[Any] = []
        for key, condition in document.items():
            key = str(key)
            if key in ("$and", "$or", "$nor"):
                parts = [self.filter(part) for part in condition]
                if key == "$and":
                    clauses.append(sa.and_(sa.true(), *parts))
                elif key == "$or":
                    clauses.append(sa.or_(sa.false(), *parts))
                else:
                    clauses.append(sa.not_(sa.or_(sa.false(), *parts)))
                continue
            if run_filters.canonical_field(key) == "tags":
                clauses.append(self._tags(condition))
                continue
            values = self.field(key)
            if values is None:  # entity, project or a field no run has: the same answer for every row
                keep = run_filters.compile_filter({key: condition})(self.identity)
                clauses.append(sa.true() if keep else sa.false())
                continue
            # SQL's NULL would turn NOT into NULL too: every leaf is a plain true or false
            clauses.append(sa.func.coalesce(self._condition(values, key, condition), sa.false()))
        return sa.and_(sa.true(), *clauses)

    def order(self, order: str | None) -> list[Any]:
        field, descending = run_filters.parse_order(order)
        # the order runs are listed in, kept for ties
        tiebreak: list[Any] = [sa.literal_column("created"), sa.literal_column("pk")]
        if field == "created" and not descending:
            return tiebreak
        values = self.field("display_name" if field == "name" else field)
        if values is None:
            return tiebreak
        typed = values[0]
        absent = sa.case((typed.kind.in_(("number", "string", "boolean")), 0), else_=1)
        rank = sa.case((typed.kind == "number", 0), (typed.kind == "string", 1), else_=2)
        keys = [key for key in (rank, typed.number, typed.text, typed.boolean) if not isinstance(key, sa.Null)]
        return [absent, *[key.desc() if descending else key for key in keys], *tiebreak]


def translate(
    backend: str, entity: str, project: str, filters: Mapping[str, Any] | None, order: str | None
) -> RunQuery | None:
    """The query in SQL, or None when part of it needs the Python evaluation (or is invalid).

    Only filters :func:`jupyter_tracker.api.filters.compile_filter` accepts are translated, so
    every error message still comes from the Python evaluation.
    """
    try:
        run_filters.compile_filter(filters)
        run_filters.parse_order(order)
    except (ValueError, TypeError, RecursionError):
        return None
    translator = _Translator(backend, entity, project)
    try:
        where = translator.filter(filters or {})
        order_by = translator.order(order)
    except (Untranslatable, RecursionError):
        return None
    return RunQuery(where, sa.or_(sa.false(), *translator.uncertain), order_by, translator.inner_columns)
