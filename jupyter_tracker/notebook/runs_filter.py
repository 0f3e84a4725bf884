"""Filter expressions for the runs table, such as ``config.lr < 0.01 and state == "finished"``.

The text is parsed with :mod:`ast` into a small whitelist of comparisons and evaluated on a
runs frame's columns with vectorised operations; user text is never evaluated as Python.
"""

from __future__ import annotations

import ast
import operator
import re
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd


class FilterError(ValueError):
    """A filter expression that cannot be used; the message says what and where."""



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
