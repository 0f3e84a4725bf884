"""A run set's filter text, in either spelling, turned into the runs table's safe expression.

Two spellings are accepted: the runs table's (``config.lr < 0.1 and state == "finished"``) and
wandb's (``Config('lr') < 0.1 and Metric('State') == 'finished'``, ``SummaryMetric('acc')``).
wandb's calls are rewritten to column names on the parsed tree; the result is then parsed and
checked by :class:`jupyter_tracker.notebook.runs_filter.FilterExpression`, so user text is never
evaluated as Python.

>>> to_expression("Config('lr') < 0.1 and Metric('State') == 'finished'")
"`config.lr` < 0.1 and `state` == 'finished'"
"""

from __future__ import annotations

import ast
import re
from typing import Any

from jupyter_tracker.notebook.runs_filter import FilterError

#: wandb's ``Metric("...")`` run attributes -> the runs table's columns
RUN_ATTRIBUTES = {
    "state": "state",
    "name": "name",
    "displayname": "name",
    "display_name": "name",
    "createdtimestamp": "created",
    "created_at": "created",
    "createdat": "created",
    "runtime": "duration",
    "duration": "duration",
    "tags": "tags",
    "group": "group",
    "rungroup": "group",
    "id": "id",
    "run_id": "id",
}
_BACKTICK = re.compile(r"`([^`]+)`")
_SECTION_CALLS = {"Config": "config.", "SummaryMetric": "summary.", "Summary": "summary."}


def Config(name: str) -> str:  # noqa: N802 - wandb's name
    """The field of config value ``name`` (``"config.lr"``), for panels and ``order``."""
    return f"config.{name}"


def SummaryMetric(name: str) -> str:  # noqa: N802 - wandb's name
    """The field of summary value ``name`` (``"summary.acc"``)."""
    return f"summary.{name}"


def Metric(name: str) -> str:  # noqa: N802 - wandb's name
    """A run attribute (``"State"`` -> ``"state"``) or, for any other name, the logged metric itself."""
    return RUN_ATTRIBUTES.get(name.lower(), name)


def OrderBy(name: str, ascending: bool = False) -> str:  # noqa: N802 - wandb's name
    """A run set order entry: ``OrderBy("summary.acc")`` -> ``"-summary.acc"`` (wandb's default is descending)."""
    return ("+" if ascending else "-") + field_name(name)


def field_name(name: str) -> str:
    """A field as written by a user (``"Config('lr')"``, ``"c::lr"``, ``"config.lr"``) -> a column name."""
    text = name.strip()
    if text.startswith("c::"):
        return "config." + text[3:]
    if text.startswith("s::"):
        return "summary." + text[3:]
    if "(" in text:
        try:
            node = ast.parse(text, mode="eval").body
        except SyntaxError:
            return text
        rewritten = _rewrite_call(node)
        if rewritten is not None:
            return rewritten
    return text


def _rewrite_call(node: ast.AST) -> str | None:
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
        return None
    function = node.func.id
    if function not in (*_SECTION_CALLS, "Metric"):
        return None
    if len(node.args) != 1 or node.keywords or not isinstance(node.args[0], ast.Constant) \
            or not isinstance(node.args[0].value, str):
        raise FilterError(f"{function}(...) takes one quoted name, as in {function}('lr')")
    name = node.args[0].value
    if function == "Metric":
        return Metric(name)
    return _SECTION_CALLS[function] + name


class _CallsToColumns(ast.NodeTransformer):
    def visit_Call(self, node: ast.Call) -> ast.AST:  # noqa: N802 - ast's name
        column = _rewrite_call(node)
        if column is None:
            function = ast.unparse(node.func)
            raise FilterError(f"{function}(...) is not allowed in a filter (Config, SummaryMetric, Metric only)")
        # a backticked placeholder name keeps dots and slashes in the column intact
        return ast.Name(id=f"__column__{column}", ctx=ast.Load())


def to_expression(text: str) -> str:
    """The runs table's spelling of a filter written either way (empty stays empty)."""
    if not text or not text.strip():
        return ""
    if "(" not in text:
        return text.strip()
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as error:
        raise FilterError(f"cannot parse the filter {text!r}: {error.msg}") from None
    tree = _CallsToColumns().visit(tree)
    source = ast.unparse(tree)
    return _unplaceholder(source)


def _unplaceholder(source: str) -> str:
    return re.sub(r"__column__([^\s()<>=!,\]]+)", lambda match: f"`{match.group(1)}`", source)


#: run attributes whose string equality the store checks itself (group and job_type in SQLite)
_STORE_FIELDS = {"state": "state", "group": "group", "job_type": "job_type"}


def store_query(expression: str) -> tuple[dict[str, Any] | None, bool]:
    """The part of a run set filter the store answers first, and whether that part is all of it.

    The filter is a flat wandb-style dict (``{"group": "a", "tags": "report"}``), which is the
    form ``LocalBackend.list_runs`` sends to SQLite (group, job_type) or checks before decoding
    any config (state, tags): a ``$and`` wrapper would hide it from that path. Only top-level
    ``and`` parts of the forms ``'tag' in tags``, ``state == 'x'``, ``group == 'x'`` and
    ``job_type == 'x'`` are taken; the rest is left to the full expression, applied to the runs the
    store returns. ``complete`` is True when nothing is left (the store's answer is the run set,
    so it may also be ordered and cut short there).

    >>> store_query("'report' in tags and group == 'a'")
    ({'tags': 'report', 'group': 'a'}, True)
    >>> store_query("'a' in tags and 'b' in tags and config.lr < 0.1")
    ({'tags': {'$all': ['a', 'b']}}, False)
    """
    if not expression:
        return None, True
    try:
        tree = ast.parse(_BACKTICK.sub(lambda match: match.group(1), expression), mode="eval").body
    except SyntaxError:
        return None, False
    parts = tree.values if isinstance(tree, ast.BoolOp) and isinstance(tree.op, ast.And) else [tree]
    tags: list[str] = []
    equal: dict[str, str] = {}
    complete = True
    for part in parts:
        condition = _simple_condition(part)
        if condition is None:
            complete = False
        elif condition[0] == "tags":
            tags.append(condition[1])
        elif condition[0] in equal and equal[condition[0]] != condition[1]:
            complete = False  # ``group == 'a' and group == 'b'``: the expression itself says no
        else:
            equal[condition[0]] = condition[1]
    filters: dict[str, Any] = {}
    if tags:
        filters["tags"] = tags[0] if len(tags) == 1 else {"$all": tags}
    filters.update(equal)
    return (filters or None), complete


def _simple_condition(node: ast.AST) -> tuple[str, str] | None:
    """``(field, value)`` of ``'x' in tags`` or ``field == 'x'`` for a field the store checks; else None."""
    if not (isinstance(node, ast.Compare) and len(node.ops) == 1):
        return None
    left, op, right = node.left, node.ops[0], node.comparators[0]
    if isinstance(op, ast.In) and isinstance(left, ast.Constant) and isinstance(left.value, str) \
            and isinstance(right, ast.Name) and right.id == "tags":
        return "tags", left.value
    if isinstance(op, ast.Eq) and isinstance(left, ast.Name) and left.id in _STORE_FIELDS \
            and isinstance(right, ast.Constant) and isinstance(right.value, str):
        return _STORE_FIELDS[left.id], right.value
    return None
