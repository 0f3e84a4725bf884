"""A run's summary and its metric definitions (``define_metric``: step metric, summary mode, goal).

The summary is a view: last logged values, overlaid by aggregates that ``define_metric`` asks
for (min, max, mean, best), overlaid by values set by hand.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import math
from collections.abc import Callable, Iterable, Iterator, Mapping, MutableMapping
from typing import Any

from jupyter_tracker.values import normalise_mapping

#: summary names keep up to four dots
SUMMARY_MAX_DOTS = 4
SUMMARY_MODES = ("min", "max", "mean", "last", "best", "first", "none", "copy")
GOALS = ("minimize", "maximize")


@dataclasses.dataclass(frozen=True)
class MetricDefinition:
    """What ``define_metric`` said about a name or a glob of names."""

    name: str
    step_metric: str | None = None
    summary: tuple[str, ...] = ()
    goal: str | None = None
    hidden: bool = False

    @property
    def is_glob(self) -> bool:
        return any(char in self.name for char in "*?[")

    def matches(self, key: str) -> bool:
        return fnmatch.fnmatchcase(key, self.name) if self.is_glob else key == self.name

    def to_record(self) -> dict[str, Any]:
        return dataclasses.asdict(self) | {"summary": list(self.summary)}

    @classmethod
    def from_record(cls, data: Mapping[str, Any]) -> MetricDefinition:
        return cls(data["name"], data.get("step_metric"), tuple(data.get("summary") or ()),
                   data.get("goal"), bool(data.get("hidden")))


def make_definition(
    name: str,
    step_metric: str | None = None,
    summary: str | None = None,
    goal: str | None = None,
    hidden: bool = False,
) -> MetricDefinition:
    """Checks ``define_metric``'s arguments; the message names the one at fault."""
    if not isinstance(name, str) or not name:
        raise ValueError("define_metric: name must be a non-empty string such as 'loss' or 'val/*'")
    modes: tuple[str, ...] = ()
    if summary is not None:
        modes = tuple(part.strip().lower() for part in str(summary).split(",") if part.strip())
        unknown = [mode for mode in modes if mode not in SUMMARY_MODES]
        if unknown:
            raise ValueError(f"define_metric({name!r}): summary {unknown[0]!r} is not one of {', '.join(SUMMARY_MODES)}")
    if goal is not None:
        goal = {"min": "minimize", "max": "maximize"}.get(str(goal).lower(), str(goal).lower())
        if goal not in GOALS:
            raise ValueError(f"define_metric({name!r}): goal must be 'minimize' or 'maximize', not {goal!r}")
    if "best" in modes and goal is None:
        raise ValueError(f"define_metric({name!r}): summary='best' needs goal='minimize' or 'maximize'")
    return MetricDefinition(name, step_metric, modes, goal, bool(hidden))


class MetricDefinitions:
    """All definitions of a run; the latest exact name wins over any glob."""

    def __init__(self) -> None:
        self.definitions: list[MetricDefinition] = []

    def add(self, definition: MetricDefinition) -> None:
        self.definitions.append(definition)

    def resolve(self, key: str) -> MetricDefinition | None:
        exact = None
        glob = None
        for definition in self.definitions:
            if definition.is_glob:
                if definition.matches(key):
                    glob = definition
            elif definition.name == key:
                exact = definition
        return exact or glob

    def step_metric(self, key: str) -> str | None:
        definition = self.resolve(key)
        return definition.step_metric if definition else None

    def __bool__(self) -> bool:
        return bool(self.definitions)


class Aggregate:
    """Running min, max, mean, first and last of one metric."""

    __slots__ = ("modes", "goal", "minimum", "maximum", "total", "count", "first", "last")

    def __init__(self, modes: tuple[str, ...], goal: str | None) -> None:
        self.modes = modes
        self.goal = goal
        self.minimum = math.inf
        self.maximum = -math.inf
        self.total = 0.0
        self.count = 0
        self.first: Any = None
        self.last: Any = None

    def add(self, value: Any) -> None:
        if self.count == 0 and self.first is None:
            self.first = value
        self.last = value
        if type(value) in (int, float) and not math.isnan(value):
            self.minimum = min(self.minimum, value)
            self.maximum = max(self.maximum, value)
            self.total += value
            self.count += 1

    def _mode_value(self, mode: str) -> Any:
        if mode == "best":
            mode = "min" if self.goal == "minimize" else "max"
        if mode == "min":
            return self.minimum if self.count else None
        if mode == "max":
            return self.maximum if self.count else None
        if mode == "mean":
            return self.total / self.count if self.count else None
        if mode == "first":
            return self.first
        return self.last

    def value(self) -> Any:
        if len(self.modes) == 1:
            return self._mode_value(self.modes[0])
        return {mode: self._mode_value(mode) for mode in self.modes}


class Summary(MutableMapping[str, Any]):
    """The run's summary: dict-like, the last value of each metric unless told otherwise.

    >>> summary = Summary({"loss": 0.5})
    >>> summary["best_acc"] = 0.99
    >>> dict(summary)
    {'loss': 0.5, 'best_acc': 0.99}
    """

    def __init__(self, last_values: dict[str, Any] | None = None,
                 on_set: Callable[[dict[str, Any]], None] | None = None) -> None:
        self._last = last_values if last_values is not None else {}
        self._manual: dict[str, Any] = {}
        self._aggregates: dict[str, Aggregate] = {}
        self._excluded: set[str] = set()
        self._on_set = on_set

    def _visible_keys(self) -> list[str]:
        keys = dict.fromkeys(self._last)
        keys.update(dict.fromkeys(self._aggregates))
        keys.update(dict.fromkeys(self._manual))
        return [key for key in keys if key not in self._excluded or key in self._manual]

    def __getitem__(self, key: str) -> Any:
        if key in self._manual:
            return self._manual[key]
        if key in self._excluded:
            raise KeyError(key)
        if key in self._aggregates:
            return self._aggregates[key].value()
        return self._last[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.update({key: value})

    def __delitem__(self, key: str) -> None:
        if key not in self:
            raise KeyError(key)
        self._manual.pop(key, None)
        self._excluded.add(key)

    def __iter__(self) -> Iterator[str]:
        return iter(self._visible_keys())

    def __len__(self) -> int:
        return len(self._visible_keys())

    def __repr__(self) -> str:
        return f"Summary({dict(self)!r})"

    def update(self, data: Any = None, **kwargs: Any) -> None:  # type: ignore[override]
        """Sets values by hand: later ``log`` calls no longer change these keys."""
        incoming = dict(data or {})
        incoming.update(kwargs)
        flat = normalise_mapping(incoming, SUMMARY_MAX_DOTS, "summary")
        self._manual.update(flat)
        self._excluded.difference_update(flat)
        if self._on_set is not None:
            self._on_set(flat)

    # used by the run ---------------------------------------------------------------------
    def aggregate(self, key: str, definition: MetricDefinition) -> bool:
        """Applies a definition's summary modes to ``key``; True when the key needs aggregation."""
        modes = definition.summary
        if not modes:
            return False
        if modes == ("none",):
            self._excluded.add(key)
            self._aggregates.pop(key, None)
            return False
        self._excluded.discard(key)
        modes = tuple(mode for mode in modes if mode != "none")
        if modes in (("last",), ("copy",)):
            self._aggregates.pop(key, None)
            return False
        if key not in self._aggregates:
            self._aggregates[key] = Aggregate(modes, definition.goal)
            if key in self._last:
                self._aggregates[key].add(self._last[key])
        return True

    def add_values(self, row: Mapping[str, Any], keys: Iterable[str]) -> None:
        aggregates = self._aggregates
        for key in keys:
            aggregates[key].add(row[key])

    def as_dict(self) -> dict[str, Any]:
        return {key: self[key] for key in self._visible_keys()}

    def _load(self, last_values: Mapping[str, Any], manual: Mapping[str, Any]) -> None:
        """Restores a resumed run's summary without recording it again."""
        self._last.update(last_values)
        self._manual.update(manual)
