"""Turns logged values into strict JSON: NaN and ±inf become the strings "NaN", "Infinity", "-Infinity".

Numpy arrays become nested lists, bytes become ``{"_type": "bytes", "hex": ...}``. Pure.
"""

from __future__ import annotations

import json
import math
from typing import Any

NAN = "NaN"
INF = "Infinity"
NEG_INF = "-Infinity"


def encode_float(value: float) -> float | str:
    """A float as JSON allows it."""
    if value != value:
        return NAN
    if value == math.inf:
        return INF
    if value == -math.inf:
        return NEG_INF
    return value


def to_json(value: Any) -> Any:
    """A value ready for ``json.dumps(allow_nan=False)``.

    >>> to_json({"a": float("nan"), "b": [1, float("-inf")]})
    {'a': 'NaN', 'b': [1, '-Infinity']}
    """
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return encode_float(value)
    if isinstance(value, dict):
        return {str(key): to_json(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_json(item) for item in value]
    if isinstance(value, (bytes, bytearray, memoryview)):
        return {"_type": "bytes", "hex": bytes(value).hex()}
    tolist = getattr(value, "tolist", None)
    if tolist is not None:
        return to_json(tolist())
    return str(value)


def dumps(value: Any) -> str:
    """Compact strict JSON of a stored document (config, summary, ...)."""
    return json.dumps(to_json(value), separators=(",", ":"), allow_nan=False)


def loads(text: str | None) -> Any:
    return json.loads(text) if text else None


#: the deepest nesting of lists and dicts the server stores (a client refuses deeper values at log time)
MAX_NESTING = 256


def nesting_depth_over(value: Any, limit: int = MAX_NESTING) -> bool:
    """True when ``value`` nests lists, tuples or dicts more than ``limit`` deep (no recursion)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, (list, tuple)):
            children = item
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


def parse_strict(text: bytes | str, what: str) -> Any:
    """JSON that can be stored and read back: finite numbers, valid Unicode, bounded nesting.

    Raises ``ValueError`` whose message names ``what`` and the problem, never the value.

    >>> parse_strict('{"created": 1e400}', "request body")
    Traceback (most recent call last):
    ...
    ValueError: request body: created is not a finite number
    """
    try:
        # NaN and Infinity parse, so that the check below can name the field that holds them
        value = json.loads(text)
    except RecursionError:
        raise ValueError(f"{what}: nested more than {MAX_NESTING} levels deep") from None
    except ValueError as error:
        raise ValueError(f"{what} is not valid JSON ({getattr(error, 'msg', error)})") from None
    problem = first_unstorable(value)
    if problem is not None:
        raise ValueError(f"{what}: {problem}")
    return value


def first_unstorable(value: Any) -> str | None:
    """What makes a parsed JSON value unstorable (a path and the reason), or None when it is fine."""
    stack: list[tuple[Any, str, int]] = [(value, "", 1)]
    while stack:
        item, path, depth = stack.pop()
        where = path or "the value"
        if isinstance(item, float) and not math.isfinite(item):
            return f"{where} is not a finite number"
        if isinstance(item, str) and not _encodable(item):
            return f"{where} is not valid Unicode (a lone surrogate escape)"
        if isinstance(item, (dict, list)):
            if depth > MAX_NESTING:
                return f"{where} is nested more than {MAX_NESTING} levels deep"
            pairs = item.items() if isinstance(item, dict) else enumerate(item)
            for key, child in pairs:
                if isinstance(key, str) and not _encodable(key):
                    return f"a name in {where} is not valid Unicode (a lone surrogate escape)"
                stack.append((child, f"{path}.{key}" if path else str(key), depth + 1))
    return None


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
