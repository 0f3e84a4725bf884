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
