"""Checks and flattens what a user passes to ``log``, ``config`` and ``summary``.

Pure: no IO. The common case (a flat dict of Python floats and ints) takes a fast path that
only looks at the type of each value.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Iterator, Mapping
from typing import Any

#: value types written as they are, with no conversion
PLAIN_TYPES = frozenset({float, int, bool, type(None)})
#: deepest nesting of lists and dicts a value may have: deeper (or cyclic) values are refused with
#: the key named, instead of a ``RecursionError`` here or an encoding failure in the writer thread
MAX_NESTING = 100
#: a ``range`` becomes a list of its numbers up to this length (8 MB, within the config guideline)
MAX_RANGE_ITEMS = 1_000_000
_SIZED_TYPES = (str, bytes)


class MediaValue:
    """Base of loggable media (Image, Histogram, ...): validated at construction, encoded later.

    ``log`` only keeps a reference; the writer thread calls :meth:`encode`, which writes the
    media file under the run directory and returns the small dict that the run log stores.
    """

    media_kind = "media"

    def encode(self, run_dir: Any) -> dict[str, Any]:  # pragma: no cover - every subclass defines it
        raise NotImplementedError(f"{type(self).__name__} does not define encode()")


def _numpy():  # type: ignore[no-untyped-def]
    return sys.modules.get("numpy")


def _is_torch_tensor(value: Any) -> bool:
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(value, torch.Tensor)


def fast_copy(data: Mapping[str, Any]) -> dict[str, Any] | None:
    """Returns a copy of ``data`` when it is flat and holds only plain scalars, else None."""
    for key, value in data.items():
        if type(value) not in PLAIN_TYPES or type(key) is not str:
            return None
    if "" in data:  # one lookup rather than a test per key: the slow path names the error
        return None
    return dict(data)


def _check_key(key: Any, prefix: str) -> str:
    if not isinstance(key, str):
        raise TypeError(f"log key {prefix}{key!r} must be a str, not {type(key).__name__}")
    if not key:
        raise ValueError(f"log key {prefix!r}{key!r}: metric names must not be empty")
    return key


def _too_deep(key: str, value: Any, path: tuple[int, ...]) -> ValueError:
    key = key.split("[", 1)[0] if key.endswith("]") else key  # the logged name, not each list index
    if id(value) in path:
        return ValueError(f"cannot log {key!r}: the value contains itself (a cyclic list or dict)")
    return ValueError(f"cannot log {key!r}: the value is nested more than {MAX_NESTING} levels deep")


def normalise(value: Any, key: str, path: tuple[int, ...] = ()) -> tuple[Any, int]:
    """Returns the value as stored and its size in bytes (media count as zero).

    Raises ``TypeError`` naming ``key`` for anything the store cannot keep, and ``ValueError``
    for a cyclic value or one nested more than :data:`MAX_NESTING` levels deep. ``path`` holds
    the ids of the lists and dicts that enclose ``value``.
    """
    kind = type(value)
    if kind in PLAIN_TYPES:
        return value, 8
    if kind is str:
        return value, len(value)
    if isinstance(value, MediaValue):
        return value, 0
    if isinstance(value, (bool, int, float)):  # subclasses such as IntEnum
        return (bool(value) if isinstance(value, bool) else float(value) if isinstance(value, float) else int(value)), 8
    if isinstance(value, str):
        return str(value), len(value)
    np = _numpy()
    if np is not None:
        if isinstance(value, np.generic):
            if isinstance(value, np.bool_):
                return bool(value), 1
            if isinstance(value, np.integer):
                return int(value), 8
            if isinstance(value, np.floating):
                return float(value), 8
            if isinstance(value, np.str_):
                return str(value), len(value)
        if isinstance(value, np.ndarray):
            return _array(value, key, np)
    if _is_torch_tensor(value):
        array = value.detach().cpu().numpy()
        if array.ndim == 0:
            return normalise(array.item(), key)
        return _array(array, key, np or _numpy())
    if isinstance(value, range):
        return _range(value, key)
    if isinstance(value, (list, tuple)):
        if len(path) >= MAX_NESTING or id(value) in path:
            raise _too_deep(key, value, path)
        inner = (*path, id(value))
        items = []
        size = 0
        for index, item in enumerate(value):
            stored, item_size = normalise(item, f"{key}[{index}]", inner)
            if isinstance(stored, MediaValue):
                items.append(stored)
                continue
            items.append(stored)
            size += item_size
        return items, size
    raise TypeError(
        f"cannot log {key!r}: values of type {type(value).__module__}.{type(value).__qualname__} "
        "are not supported (use numbers, bools, strings, None, lists, numpy arrays, torch tensors "
        "or media such as jupyter_tracker.Image)"
    )


def _range(value: range, key: str) -> tuple[list[int], int]:
    """A ``range`` is kept as the list it yields, when that list is of a size one would log."""
    try:
        items = len(value)
    except OverflowError:
        items = MAX_RANGE_ITEMS + 1
    if items > MAX_RANGE_ITEMS:
        raise ValueError(
            f"cannot log {key!r}: {value!r} would be stored as a list of more than {MAX_RANGE_ITEMS:,} "
            "numbers; log its bounds instead (for example {'start': ..., 'stop': ..., 'step': ...})"
        )
    return list(value), 8 * items


def _array(value: Any, key: str, np: Any) -> tuple[Any, int]:
    if value.dtype.kind not in "biufc" or value.dtype.kind == "c":
        raise TypeError(f"cannot log {key!r}: numpy arrays of dtype {value.dtype} are not supported")
    if value.ndim == 0:
        return normalise(value.item(), key)
    copy = np.ascontiguousarray(value).copy()
    return copy, int(copy.nbytes)


def flatten(
    data: Mapping[str, Any], max_dots: int | None = None, prefix: str = "", path: tuple[int, ...] = ()
) -> dict[str, Any]:
    """Flattens nested dicts to dotted names; beyond ``max_dots`` the rest stays a nested value.

    >>> flatten({"a": 1, "b": {"c": "hello", "d": [1, 2, 3]}})
    {'a': 1, 'b.c': 'hello', 'b.d': [1, 2, 3]}
    >>> flatten({"a": {"b": {"c": 1}}}, max_dots=1)
    {'a.b': {'c': 1}}
    """
    if len(path) >= MAX_NESTING or id(data) in path:
        raise _too_deep(prefix.rstrip("."), data, path)
    inner = (*path, id(data))
    flat: dict[str, Any] = {}
    for key, value in data.items():
        name = prefix + _check_key(key, prefix)
        if isinstance(value, Mapping) and (max_dots is None or name.count(".") < max_dots):
            if value:
                flat.update(flatten(value, max_dots, name + ".", inner))
            else:
                flat[name] = {}
        else:
            flat[name] = value
    return flat


def normalise_row(data: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, int], list[tuple[str, MediaValue]]]:
    """Flattens and checks one ``log`` call: returns the row, the size of each sized value and the media.

    Everything is checked before anything is returned, so a bad value leaves nothing half-written.
    """
    if not isinstance(data, Mapping):
        raise TypeError(f"log() takes a dict of metric names to values, not {type(data).__name__}")
    flat = flatten(data)
    row: dict[str, Any] = {}
    sizes: dict[str, int] = {}
    media: list[tuple[str, MediaValue]] = []
    for key, value in flat.items():
        if isinstance(value, Mapping):
            stored: Any = _normalise_nested(value, key)
            size = 0
        else:
            stored, size = normalise(value, key)
        row[key] = stored
        if size > 8:
            sizes[key] = size
        if isinstance(stored, MediaValue):
            media.append((key, stored))
        elif isinstance(stored, list) and stored and all(isinstance(item, MediaValue) for item in stored):
            media.append((key, stored[0]))
    return row, sizes, media


def nested_under(flat: Mapping[str, Any], prefix: str) -> dict[str, Any]:
    """Rebuilds the nested dict of every dotted name under ``prefix`` (``config["opt"]``).

    >>> nested_under({"opt.name": "adam", "opt.betas": [0.9], "lr": 0.1}, "opt")
    {'name': 'adam', 'betas': [0.9]}
    """
    start = prefix + "."
    nested: dict[str, Any] = {}
    for key, value in flat.items():
        if not key.startswith(start):
            continue
        parts = key[len(start) :].split(".")
        node = nested
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return nested


class DottedValues(Mapping[str, Any]):
    """Flat dotted names read as a mapping: a prefix gives the nested dict, plain names are attributes.

    The base of a run's ``config`` and of the values the ``Api`` returns.

    >>> values = DottedValues({"lr": 0.1, "opt.name": "adam"})
    >>> values["lr"], values.lr, values["opt"], "opt" in values
    (0.1, 0.1, {'name': 'adam'}, True)
    """

    def __init__(self, values: Mapping[str, Any] | None = None) -> None:
        object.__setattr__(self, "_values", dict(values or {}))

    def __getitem__(self, key: str) -> Any:
        values: dict[str, Any] = self._values
        if key in values:
            return values[key]
        nested = nested_under(values, key)
        if nested:
            return nested
        raise KeyError(key)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        try:
            return self[name]
        except KeyError:
            raise AttributeError(f"no value named {name!r}") from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __contains__(self, key: object) -> bool:
        if key in self._values:
            return True
        prefix = f"{key}."
        return isinstance(key, str) and any(name.startswith(prefix) for name in self._values)


def normalise_mapping(data: Mapping[str, Any], max_dots: int, what: str) -> dict[str, Any]:
    """Flattens config or summary values with their own depth rule and checks every value."""
    if not isinstance(data, Mapping):
        raise TypeError(f"{what} must be a dict, not {type(data).__name__}")
    flat = flatten(data, max_dots=max_dots)
    return {key: _normalise_nested(value, key) for key, value in flat.items()}


def _normalise_nested(value: Any, key: str, path: tuple[int, ...] = ()) -> Any:
    if isinstance(value, Mapping):
        if len(path) >= MAX_NESTING or id(value) in path:
            raise _too_deep(key, value, path)
        inner = (*path, id(value))
        return {str(k): _normalise_nested(v, key, inner) for k, v in value.items()}
    stored, _ = normalise(value, key, path)
    return stored


def is_finite_number(value: Any) -> bool:
    """True for ints and finite floats (bools excluded): what min/max/mean summaries accept."""
    return type(value) in (int, float) and math.isfinite(value)
