"""The column type of run documents (config, summary): jsonb on PostgreSQL, JSON text on SQLite.

The storage reads and writes these columns as JSON text on both backends (it parses many runs
in one ``json.loads``); on PostgreSQL the text is cast to ``jsonb`` on the way in and back to
text on the way out, so the runs-query filters can use jsonb operators on the stored value
without parsing it per row.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import ColumnElement
from sqlalchemy.types import UserDefinedType


class _Jsonb(UserDefinedType[Any]):
    """PostgreSQL's jsonb with no conversion in Python: values go in and out as JSON text."""

    cache_ok = True

    def get_col_spec(self, **_kw: Any) -> str:
        return "JSONB"


class _AsJsonb(ColumnElement[Any]):
    """``CAST(x AS JSONB)`` on PostgreSQL; ``x`` itself elsewhere."""

    inherit_cache = True

    def __init__(self, element: Any) -> None:
        self.element = element
        self.type = element.type


class _AsText(ColumnElement[Any]):
    """``CAST(x AS TEXT)`` on PostgreSQL; ``x`` itself elsewhere."""

    inherit_cache = True

    def __init__(self, element: Any) -> None:
        self.element = element
        self.type = element.type


@compiles(_AsJsonb)
def _as_jsonb_default(element: _AsJsonb, compiler: Any, **kw: Any) -> str:
    return str(compiler.process(element.element, **kw))


@compiles(_AsJsonb, "postgresql")
def _as_jsonb_postgresql(element: _AsJsonb, compiler: Any, **kw: Any) -> str:
    return f"CAST({compiler.process(element.element, **kw)} AS JSONB)"


@compiles(_AsText)
def _as_text_default(element: _AsText, compiler: Any, **kw: Any) -> str:
    return str(compiler.process(element.element, **kw))


@compiles(_AsText, "postgresql")
def _as_text_postgresql(element: _AsText, compiler: Any, **kw: Any) -> str:
    return f"CAST({compiler.process(element.element, **kw)} AS TEXT)"


class JsonDocument(sa.types.TypeDecorator[str]):
    """JSON text in Python; ``jsonb`` in a PostgreSQL column, ``TEXT`` in a SQLite one."""

    impl = sa.Text
    cache_ok = True

    def load_dialect_impl(self, dialect: sa.Dialect) -> sa.types.TypeEngine[Any]:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(_Jsonb())
        return dialect.type_descriptor(sa.Text())

    def process_bind_param(self, value: Any, dialect: sa.Dialect) -> Any:
        if dialect.name == "postgresql" and isinstance(value, str) and "\\u0000" in value:
            return value.replace("\\u0000", "\\ufffd")  # jsonb cannot hold NUL
        return value

    def bind_expression(self, bindvalue: Any) -> Any:
        return _AsJsonb(bindvalue)

    def column_expression(self, column: Any) -> Any:
        return _AsText(column)
