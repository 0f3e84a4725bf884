"""wandb's MongoDB-style run filters and run ordering, evaluated over run dicts. Pure.

A run dict has the shape of :class:`jupyter_tracker.api.backend.RunRecord` (the server's run
object): ``id``, ``name``, ``state``, ``group``, ``tags``, ``created``, ``config``, ``summary``...
The local ``Api`` and the tracking server both use this module, so a filter means the same
thing on either side.

Field names (wandb's spellings are accepted as aliases):

============================================  ============================================
``config.lr``, ``config.lr.value``            a config value (flat dotted names, then nested)
``summary.acc``, ``summary_metrics.acc``      a summary value
``state``, ``group``, ``job_type``, ``notes``  run attributes (``jobType`` also accepted)
``tags``                                      a list: ``{"tags": "a"}`` means "has tag a"
``display_name``                              the run's display name (``run.name``)
``name``                                      the display name *or* the run id (wandb's
                                              filter ``name`` is the id; ours is the display
                                              name, so either matches)
``id``, ``entity``, ``project``               identity
``created_at``, ``updated_at``/``heartbeat_at``  unix times; ISO-8601 strings and datetimes
                                              are accepted as operands
``runtime``, ``exit_code``                    numbers
============================================  ============================================

Operators: ``$eq $ne $lt $lte $gt $gte $in $nin $regex ($options) $exists $not $all $size``
on fields, ``$and $or $nor`` on whole filters. As in MongoDB, a list-valued field matches when
the list itself or any element matches, ``{"field": None}`` also matches a missing field, and
``$lt``-style comparisons only compare numbers with numbers and strings with strings.

>>> run = {"id": "a1", "name": "brisk-river-1", "state": "finished", "group": "exp-42",
...        "tags": ["baseline"], "config": {"lr": 0.005}, "summary": {"acc": 0.9}}
>>> matches(run, {"group": "exp-42", "config.lr": {"$lt": 0.01}})
True
>>> matches(run, {"$or": [{"tags": "tuned"}, {"summary_metrics.acc": {"$gte": 0.95}}]})
False
"""

from __future__ import annotations

import datetime as _datetime
import math
import numbers
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Protocol

Predicate = Callable[[Mapping[str, Any]], bool]


class _Missing:
    """The value of a field a run does not have."""

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()

FIELD_OPERATORS = frozenset(
    {"$eq", "$ne", "$lt", "$lte", "$gt", "$gte", "$in", "$nin", "$regex", "$options", "$exists", "$not", "$all", "$size"}
)
LOGICAL_OPERATORS = frozenset({"$and", "$or", "$nor"})

#: wandb (GraphQL) spellings of run attributes -> the run dict's key
_ATTRIBUTE_ALIASES = {
    "display_name": "display_name",
    "displayName": "display_name",
    "created_at": "created",
    "createdAt": "created",
    "updated_at": "updated",
    "updatedAt": "updated",
    "heartbeat_at": "updated",
    "heartbeatAt": "updated",
    "job_type": "job_type",
    "jobType": "job_type",
    "run_id": "id",
    "_id": "id",
    "exitcode": "exit_code",
    "exitCode": "exit_code",
}
_SECTIONS = {"config": "config", "summary": "summary", "summary_metrics": "summary", "summaryMetrics": "summary"}
_TIME_FIELDS = frozenset({"created", "updated"})
_DEFAULT_ORDER = "+created_at"


# field lookup -------------------------------------------------------------------------------
def _lookup(mapping: Any, parts: Sequence[str]) -> Any:
    """Finds ``parts`` in a flat dict with dotted names whose deepest values may be nested dicts."""
    if not isinstance(mapping, Mapping) or not parts:
        return MISSING
    for cut in range(len(parts), 0, -1):
        key = ".".join(parts[:cut])
        if key not in mapping:
            continue
        value = mapping[key]
        for part in parts[cut:]:
            if isinstance(value, Mapping) and part in value:
                value = value[part]
            else:
                value = MISSING
                break
        if value is not MISSING:
            return value
    return MISSING


def _section_value(mapping: Any, parts: list[str]) -> Any:
    value = _lookup(mapping, parts)
    if value is MISSING and "value" in parts[1:]:
        # wandb wraps each config entry as {"value": ...}: config.lr.value, config.opt.value.name
        position = parts.index("value", 1)
        value = _lookup(mapping, parts[:position] + parts[position + 1 :])
    if isinstance(value, Mapping) and set(value) <= {"value", "desc"} and "value" in value:
        value = value["value"]  # a record that still carries wandb's wrapper
    return value


def field_getter(field: str) -> Callable[[Mapping[str, Any]], Any]:
    """A fast ``getter(run) -> value or MISSING`` for one field, resolved once (see :func:`get_field`)."""
    section, _, rest = field.partition(".")
    if section in _SECTIONS and rest:
        name, parts = _SECTIONS[section], rest.split(".")

        def from_section(run: Mapping[str, Any]) -> Any:
            mapping = run.get(name)
            if type(mapping) is dict:  # the common case: the dotted name is a key
                value = mapping.get(rest, MISSING)
                if value is not MISSING and type(value) is not dict:
                    return value
            return _section_value(mapping, parts)

        return from_section
    key = canonical_field(field)
    return lambda run: run.get(key, MISSING)


def field_values(run: Mapping[str, Any], field: str) -> list[Any]:
    """Every value ``field`` can mean for this run: usually one, ``[]`` when the run lacks it.

    ``name`` gives the display name and the id; other fields give at most one value.

    >>> field_values({"id": "a1", "name": "calm-sea-3"}, "name")
    ['calm-sea-3', 'a1']
    """
    if field == "name":
        return [value for value in (run.get("name"), run.get("id")) if value is not None]
    value = get_field(run, field)
    return [] if value is MISSING else [value]


def get_field(run: Mapping[str, Any], field: str) -> Any:
    """The value of one filter/order field, or :data:`MISSING`.

    >>> get_field({"config": {"opt.name": "adam"}}, "config.opt.value.name")
    'adam'
    """
    return field_getter(field)(run)


def canonical_field(field: str) -> str:
    """The field a (possibly wandb-spelled) name refers to, as ``config.x``/``summary.x``/attribute."""
    section, _, rest = field.partition(".")
    if section in _SECTIONS and rest:
        return f"{_SECTIONS[section]}.{rest}"
    key = _ATTRIBUTE_ALIASES.get(field, field)
    return "name" if key == "display_name" else key


# value semantics ----------------------------------------------------------------------------
#: types whose values are plain already (no ``tolist`` to look for: most values a query meets)
_PLAIN_TYPES = frozenset({float, int, str, bool, type(None)})


def _plain(value: Any) -> Any:
    """numpy arrays and scalars as Python values, so lists and numbers compare as users expect."""
    if type(value) in _PLAIN_TYPES:
        return value
    if hasattr(value, "tolist") and not isinstance(value, (str, bytes)):
        try:
            return value.tolist()
        except Exception:
            return value
    return value


def _candidates(value: Any) -> list[Any]:
    """The list itself and each element (MongoDB's array semantics); one value otherwise."""
    value = _plain(value)
    if isinstance(value, (list, tuple)):
        return [list(value), *value]
    return [value]


def _is_number(value: Any) -> bool:
    kind = type(value)
    if kind is float or kind is int:  # the common case, without the ABC check (a sort of 10,000 runs calls this per run)
        return True
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _equal(left: Any, right: Any) -> bool:
    if isinstance(left, bool) != isinstance(right, bool):
        return False
    if _is_number(left) and _is_number(right):
        if isinstance(left, float) and isinstance(right, float) and math.isnan(left) and math.isnan(right):
            return True
        return bool(left == right)
    if isinstance(left, (list, tuple)) and isinstance(right, (list, tuple)):
        return len(left) == len(right) and all(_equal(a, b) for a, b in zip(left, right, strict=True))
    try:
        return bool(left == right)
    except Exception:
        return False


def _comparable(left: Any, right: Any) -> bool:
    if _is_number(left) and _is_number(right):
        return not (math.isnan(left) or math.isnan(right))
    return (isinstance(left, str) and isinstance(right, str)) or (isinstance(left, bool) and isinstance(right, bool))


_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "$lt": lambda a, b: a < b,
    "$lte": lambda a, b: a <= b,
    "$gt": lambda a, b: a > b,
    "$gte": lambda a, b: a >= b,
}


def _to_timestamp(value: Any) -> Any:
    """ISO-8601 strings and datetimes as unix times (naive ones are UTC, as the server's are)."""
    if isinstance(value, str):
        text = value.strip()
        if text.endswith("Z"):
            text = text[:-1] + "+00:00"
        try:
            value = _datetime.datetime.fromisoformat(text)
        except ValueError:
            return value
    if isinstance(value, _datetime.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=_datetime.timezone.utc)
        return value.timestamp()
    if isinstance(value, _datetime.date):
        return _datetime.datetime(value.year, value.month, value.day, tzinfo=_datetime.timezone.utc).timestamp()
    return value


# compiling ---------------------------------------------------------------------------------
class _Searcher(Protocol):
    """A compiled pattern: Python's ``re.Pattern`` (given by a caller) or an RE2 pattern (from a filter)."""

    def search(self, text: str) -> Any: ...


#: ``$options`` letters and the inline flag RE2 takes for each (RE2 has no verbose mode)
_REGEX_FLAGS = {"i": "i", "m": "m", "s": "s"}


def _compile_regex(pattern: Any, options: Any, field: str) -> _Searcher:
    """A ``$regex`` compiled by RE2, whose matching time is linear in the text.

    A backtracking engine lets one pattern such as ``^(a+)+$`` run for minutes, and on a shared
    server that stalls every other request; RE2 has no backreferences or lookaround, so those
    are refused with a message that says so.
    """
    if isinstance(pattern, re.Pattern):
        return pattern
    if not isinstance(pattern, str):
        raise ValueError(f"filter on {field!r}: $regex needs a string pattern, got {pattern!r}")
    flags = ""
    for letter in str(options or ""):
        flag = _REGEX_FLAGS.get(letter)
        if flag is None:
            raise ValueError(f"filter on {field!r}: unknown $options letter {letter!r} (use i, m, s)")
        flags += flag
    import re2

    settings = re2.Options()
    settings.log_errors = False
    try:
        return re2.compile(f"(?{flags}){pattern}" if flags else pattern, settings)
    except re2.error as error:
        reason = error.args[0].decode("utf-8", "replace") if error.args and isinstance(error.args[0], bytes) else error
        raise ValueError(
            f"filter on {field!r}: bad $regex {pattern!r}: {reason} "
            "(regexes run on RE2: no backreferences or lookaround)"
        ) from None


def _is_operator_document(condition: Any) -> bool:
    if not isinstance(condition, Mapping) or not condition:
        return False
    dollar = [str(key).startswith("$") for key in condition]
    if any(dollar) and not all(dollar):
        raise ValueError(f"filter condition {dict(condition)!r} mixes $operators with plain keys")
    return all(dollar)


def _compile_condition(field: str, condition: Any) -> Callable[[list[Any]], bool]:
    """A test on the values of one field (``[]`` when the run lacks it)."""
    is_time = canonical_field(field) in _TIME_FIELDS
    convert = _to_timestamp if is_time else (lambda value: value)
    if not _is_operator_document(condition):
        return _compile_operator(field, "$eq", condition, {}, convert)
    tests = [
        _compile_operator(field, operator, operand, condition, convert)
        for operator, operand in condition.items()
        if operator != "$options"
    ]
    if "$options" in condition and "$regex" not in condition:
        raise ValueError(f"filter on {field!r}: $options needs $regex")
    return lambda values: all(test(values) for test in tests)


def _compile_operator(
    field: str, operator: str, operand: Any, document: Mapping[str, Any], convert: Callable[[Any], Any]
) -> Callable[[list[Any]], bool]:
    if operator not in FIELD_OPERATORS:
        known = ", ".join(sorted(FIELD_OPERATORS | LOGICAL_OPERATORS))
        raise ValueError(f"filter on {field!r}: unknown operator {operator!r} (known: {known})")
    if operator in ("$eq", "$ne"):
        target = _plain(convert(operand))

        def equal(values: list[Any]) -> bool:
            if target is None and not values:
                return True
            return any(_equal(candidate, target) for value in values for candidate in _candidates(value))

        return equal if operator == "$eq" else (lambda values: not equal(values))
    if operator in _COMPARE:
        target = _plain(convert(operand))
        compare = _COMPARE[operator]
        return lambda values: any(
            _comparable(candidate, target) and compare(candidate, target)
            for value in values
            for candidate in _candidates(value)
        )
    if operator in ("$in", "$nin"):
        if not isinstance(operand, (list, tuple, set, frozenset)):
            raise ValueError(f"filter on {field!r}: {operator} needs a list, got {operand!r}")
        items = [_plain(convert(item)) for item in operand]
        patterns = [item for item in items if isinstance(item, re.Pattern)]
        plain_items = [item for item in items if not isinstance(item, re.Pattern)]
        wants_missing = any(item is None for item in plain_items)

        def member(values: list[Any]) -> bool:
            if wants_missing and not values:
                return True
            for value in values:
                for candidate in _candidates(value):
                    if any(_equal(candidate, item) for item in plain_items):
                        return True
                    if isinstance(candidate, str) and any(pattern.search(candidate) for pattern in patterns):
                        return True
            return False

        return member if operator == "$in" else (lambda values: not member(values))
    if operator == "$regex":
        pattern = _compile_regex(operand, document.get("$options"), field)
        return lambda values: any(
            isinstance(candidate, str) and pattern.search(candidate) is not None
            for value in values
            for candidate in _candidates(value)
        )
    if operator == "$exists":
        wanted = bool(operand)
        return lambda values: bool(values) == wanted
    if operator == "$not":
        if isinstance(operand, (str, re.Pattern)):
            inner = _compile_operator(field, "$regex", operand, {}, convert)
        elif _is_operator_document(operand):
            inner = _compile_condition(field, operand)
        else:
            raise ValueError(f"filter on {field!r}: $not needs an operator document or a regex, got {operand!r}")
        return lambda values: not inner(values)
    if operator == "$all":
        if not isinstance(operand, (list, tuple)):
            raise ValueError(f"filter on {field!r}: $all needs a list, got {operand!r}")
        required = [_plain(item) for item in operand]

        def contains_all(values: list[Any]) -> bool:
            for value in values:
                elements = _candidates(value)[1:] if isinstance(_plain(value), (list, tuple)) else [_plain(value)]
                if all(any(_equal(element, item) for element in elements) for item in required):
                    return True
            return False

        return contains_all
    # $size
    if isinstance(operand, bool) or not isinstance(operand, int):
        raise ValueError(f"filter on {field!r}: $size needs an integer, got {operand!r}")
    return lambda values: any(
        isinstance(_plain(value), (list, tuple)) and len(_plain(value)) == operand for value in values
    )


def _logical(operator: str, parts: list[Predicate]) -> Predicate:
    if operator == "$and":
        return lambda run: all(part(run) for part in parts)
    if operator == "$or":
        return lambda run: any(part(run) for part in parts)
    return lambda run: not any(part(run) for part in parts)


def _field_test(field: str, test: Callable[[list[Any]], bool]) -> Predicate:
    if field == "name":
        return lambda run: test(field_values(run, "name"))
    getter = field_getter(field)

    def check(run: Mapping[str, Any]) -> bool:
        value = getter(run)
        return test([] if value is MISSING else [value])

    return check


def compile_filter(filters: Mapping[str, Any] | None) -> Predicate:
    """Checks a filter once and returns a fast ``predicate(run) -> bool``; bad filters raise ``ValueError``.

    >>> keep = compile_filter({"state": {"$in": ["finished", "crashed"]}})
    >>> keep({"state": "finished"}), keep({"state": "running"})
    (True, False)
    """
    if filters is None:
        return lambda run: True
    if not isinstance(filters, Mapping):
        raise ValueError(f"filters must be a dict such as {{'config.lr': {{'$lt': 0.1}}}}, got {type(filters).__name__}")
    tests: list[Predicate] = []
    for key, condition in filters.items():
        key = str(key)
        if key in LOGICAL_OPERATORS:
            if not isinstance(condition, (list, tuple)) or not condition:
                raise ValueError(f"{key} needs a non-empty list of filters, got {condition!r}")
            tests.append(_logical(key, [compile_filter(part) for part in condition]))
        elif key.startswith("$"):
            raise ValueError(f"unknown top-level filter operator {key!r} (use $and, $or or $nor)")
        else:
            tests.append(_field_test(key, _compile_condition(key, condition)))
    if len(tests) == 1:
        return tests[0]
    return lambda run: all(test(run) for test in tests)


def matches(run: Mapping[str, Any], filters: Mapping[str, Any] | None) -> bool:
    """True when the run passes the filter (``None`` and ``{}`` pass everything)."""
    return compile_filter(filters)(run)


def filter_runs(runs: Iterable[Mapping[str, Any]], filters: Mapping[str, Any] | None) -> list[Any]:
    """The runs that pass, in their original order."""
    keep = compile_filter(filters)
    return [run for run in runs if keep(run)]


# ordering ----------------------------------------------------------------------------------
def parse_order(order: str | None) -> tuple[str, bool]:
    """``(field, descending)`` from wandb's order string.

    ``+field`` is ascending, ``-field`` descending; a bare field is descending, as in wandb.
    ``None`` or ``""`` means ``+created_at`` (oldest first, wandb's default).

    >>> parse_order("-summary.acc"), parse_order("+config.lr"), parse_order(None)
    (('summary.acc', True), ('config.lr', False), ('created', False))
    """
    text = (order or _DEFAULT_ORDER).strip()
    descending = True
    if text[:1] in "+-" and text[:1]:
        descending = text[0] == "-"
        text = text[1:].strip()
    if not text:
        raise ValueError(f"order {order!r} names no field (use e.g. '-created_at' or '+summary.loss')")
    return canonical_field(text), descending


def fields_used(filters: Mapping[str, Any] | None, order: str | None = None) -> set[str]:
    """The fields (canonical names, e.g. ``config.lr``) a filter and an order string look at.

    Lets a store decode only the columns a query needs.

    >>> sorted(fields_used({"$or": [{"tags": "a"}, {"summary_metrics.acc": {"$gt": 1}}]}, "-config.lr.value"))
    ['config.lr.value', 'summary.acc', 'tags']
    >>> sorted(fields_used(None))
    ['created']
    """
    found = {parse_order(order)[0]}

    def walk(document: Any) -> None:
        if not isinstance(document, Mapping):
            return
        for key, condition in document.items():
            if key in LOGICAL_OPERATORS and isinstance(condition, (list, tuple)):
                for part in condition:
                    walk(part)
            elif not str(key).startswith("$"):
                found.add(canonical_field(str(key)))

    walk(filters)
    return found


def _rank(value: Any) -> tuple[int, Any]:
    if _is_number(value):
        return (0, value)
    if isinstance(value, str):
        return (1, value)
    if isinstance(value, bool):
        return (2, value)
    return (3, repr(value))


def _absent(value: Any) -> bool:
    return value is MISSING or value is None or (isinstance(value, float) and math.isnan(value))


def sort_runs(
    runs: Iterable[Any],
    order: str | None,
    get: Callable[[Any], Mapping[str, Any]] | None = None,
    presorted: str | None = None,
) -> list[Any]:
    """Runs sorted by a wandb order string; runs without the field come last either way.

    Ties keep their incoming order. ``get`` maps an item to its run dict (default: the item).
    ``presorted`` names a field the runs already come sorted by, ascending with none missing
    (the index gives runs by ``created``): ordering by it then only reverses when asked.

    >>> runs = [{"id": "a", "summary": {"acc": 0.5}}, {"id": "b", "summary": {}}, {"id": "c", "summary": {"acc": 0.9}}]
    >>> [run["id"] for run in sort_runs(runs, "-summary.acc")]
    ['c', 'a', 'b']
    """
    field, descending = parse_order(order)
    if presorted is not None and field == presorted:
        listed = list(runs)
        return listed[::-1] if descending else listed
    getter = field_getter("display_name" if field == "name" else field)
    if get is None:
        value_of: Callable[[Any], Any] = lambda item: _plain(getter(item))  # noqa: E731
    else:
        value_of = lambda item: _plain(getter(get(item)))  # noqa: E731
    present: list[tuple[tuple[int, Any], Any]] = []
    absent: list[Any] = []
    for item in runs:
        value = value_of(item)
        if _absent(value):
            absent.append(item)
        else:
            present.append((_rank(value), item))
    present.sort(key=lambda pair: pair[0], reverse=descending)
    return [item for _, item in present] + absent
