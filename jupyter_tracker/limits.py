"""The recommended-limits table and the checker that warns once per kind and never drops data."""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Mapping
from typing import Any


class LimitWarning(UserWarning):
    """A recommended bound was crossed; the data is kept, pages may get slower.

    >>> str(LimitWarning("distinct_metrics", 10_000, 10_001))[:36]
    'distinct metric names in a run: 10,0'
    """

    def __init__(self, kind: str, bound: int, observed: int, subject: str | None = None) -> None:
        self.kind = kind
        self.bound = bound
        self.observed = observed
        self.subject = subject
        self.limit = LIMITS[kind]
        super().__init__(self._message())

    def _message(self) -> str:
        about = f" ({self.subject})" if self.subject else ""
        return (
            f"{self.limit.what}: {self.observed:,} {self.limit.unit}{about} exceeds the recommended "
            f"{self.bound:,}. The data is kept. {self.limit.advice}"
        )

    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (LimitWarning, (self.kind, self.bound, self.observed, self.subject))


@dataclasses.dataclass(frozen=True)
class Limit:
    """One row of the recommended-limits table."""

    kind: str
    what: str
    bound: int
    unit: str
    advice: str


LIMITS: dict[str, Limit] = {
    limit.kind: limit
    for limit in (
        Limit("distinct_metrics", "distinct metric names in a run", 10_000, "names",
              "Log related values under one name (a list or a Table) instead of a name per item."),
        Limit("value_size", "one logged value", 1_000_000, "bytes",
              "Log large arrays as a Histogram or save them as a file with run.save()."),
        Limit("call_size", "one log call", 25_000_000, "bytes",
              "Split the call, or save large data as files."),
        Limit("scalar_points", "points per scalar metric", 100_000, "points",
              "Log less often (every N steps); charts show at most 1,500 points per line anyway."),
        Limit("media_points", "points per media metric", 50_000, "points",
              "Log media less often, e.g. once per epoch."),
        Limit("histogram_points", "points per histogram metric", 10_000, "points",
              "Log histograms less often, e.g. once per epoch."),
        Limit("config_size", "run config, total", 10_000_000, "bytes",
              "Keep large objects out of the config; save them as files."),
        Limit("runs_per_project", "runs in a project", 10_000, "runs",
              "Start a new project, or delete runs you no longer need."),
        Limit("files_per_run", "files uploaded by one run", 1_000, "files",
              "Log many files as one artifact instead (jupyter_tracker.Artifact: add_dir, then "
              "run.log_artifact), or bundle them into an archive before run.save()."),
        Limit("parallel_agents", "parallel agents on one sweep", 20, "agents",
              "More agents mostly wait on the sweep's store; run fewer agents, or split the search into sweeps."),
    )
}


#: a run length no loop reaches: nothing left to warn about
_NEVER = 1 << 62


class LimitChecker:
    """Counts what the limits table bounds and reports each kind once.

    Every method returns the warnings it newly raises (usually none) so that the caller decides
    where they are shown; the checker itself never prints and never refuses data.

    Scalar points are counted per run of rows with the same key set (a training loop logs the same
    names step after step): :meth:`count_row` compares the row's keys with the current ones (one
    C-level tuple comparison) and adds one to a single counter; the per-name counts in
    :attr:`scalar_points` are brought up to date only when the key set changes or when they are
    read. The step at which the busiest name of the set crosses its bound is known in advance, so
    the warning comes on exactly that row.

    The run's hot path, which has already compared the row's names with :attr:`run_keys`, does
    not call :meth:`count_row` for a row with the same names: it adds the number of such rows to
    :attr:`run_rows` before anything reads the counts, and calls :meth:`check_points` on the row at
    which ``run_rows`` passes ``run_limit``.
    """

    def __init__(self) -> None:
        #: points per scalar name, up to the start of the current run of rows with the same keys
        self.scalar_points: Counter[str] = Counter()
        self.media_points: Counter[str] = Counter()
        self.histogram_points: Counter[str] = Counter()
        self.rows = 0
        self._raised: set[str] = set()
        #: the key set of the current run of rows (and its names in row order), its length so far, and
        #: the length at which its busiest name crosses the scalar-points bound
        self._keys: frozenset[str] = frozenset()
        self.run_keys: tuple[str, ...] = ()
        self.run_rows = 0
        self.run_limit = LIMITS["scalar_points"].bound

    def _raise(self, kind: str, observed: int, subject: str | None = None) -> list[LimitWarning]:
        if kind in self._raised:
            return []
        self._raised.add(kind)
        return [LimitWarning(kind, LIMITS[kind].bound, observed, subject)]

    def count_row(self, row: Mapping[str, Any]) -> list[LimitWarning] | None:
        """Adds one point to each key of a committed row; returns warnings only when a bound is crossed.

        The same keys as the previous row (the usual case) cost one key-set comparison and an
        addition; new names are in :attr:`scalar_points` as soon as this returns.
        """
        if tuple(row) != self.run_keys:  # a tuple compares interned names by identity: cheaper than a set
            self._start_run(row)
        self.run_rows += 1
        if self.run_rows > self.run_limit:
            return self.check_points()
        return None

    def _fold_run(self) -> None:
        """Adds the current run's rows to the per-name counts and starts the run again from zero."""
        run = self.run_rows
        if run:
            counts = self.scalar_points
            for key in self._keys:
                counts[key] += run
            self.rows += run
            self.run_rows = 0

    def _start_run(self, row: Mapping[str, Any]) -> None:
        self._fold_run()
        keys = frozenset(row)
        counts = self.scalar_points
        for key in keys:
            counts[key] += 0  # a new name is known (distinct names) before its first point is folded in
        self._keys = keys
        self.run_keys = tuple(row)  # the same names in another order only start a new run: still exact
        busiest = max((counts[key] for key in keys), default=0)
        self.run_limit = max(0, LIMITS["scalar_points"].bound - busiest) if keys else _NEVER

    def points(self) -> Counter[str]:
        """Points per scalar name, the current run of rows included."""
        self._fold_run()
        return self.scalar_points

    def count_media(self, key: str, kind: str) -> list[LimitWarning]:
        """Counts a media or histogram point, which have their own, lower bounds."""
        counter = self.histogram_points if kind == "histogram" else self.media_points
        counter[key] += 1
        limit_kind = "histogram_points" if kind == "histogram" else "media_points"
        if counter[key] > LIMITS[limit_kind].bound:
            return self._raise(limit_kind, counter[key], key)
        return []

    def check_points(self) -> list[LimitWarning]:
        """Compares the busiest scalar metric with its bound (on the row that crosses it, and at finish)."""
        points = self.points()
        bound = LIMITS["scalar_points"].bound
        if "scalar_points" in self._raised:
            self.run_limit = _NEVER
            return []
        self.run_limit = max(0, bound - max((points[key] for key in self._keys), default=0))
        if self.rows <= bound:
            return []
        busiest = points.most_common(1)
        key, most = busiest[0] if busiest else ("", 0)
        if most > bound:
            self.run_limit = _NEVER
            return self._raise("scalar_points", most, key)
        return []

    def check_distinct(self, distinct: int) -> list[LimitWarning]:
        if distinct > LIMITS["distinct_metrics"].bound:
            return self._raise("distinct_metrics", distinct)
        return []

    def check_value(self, key: str, size: int) -> list[LimitWarning]:
        if size > LIMITS["value_size"].bound:
            return self._raise("value_size", size, key)
        return []

    def check_call(self, size: int) -> list[LimitWarning]:
        if size > LIMITS["call_size"].bound:
            return self._raise("call_size", size)
        return []

    def check_config(self, size: int) -> list[LimitWarning]:
        if size > LIMITS["config_size"].bound:
            return self._raise("config_size", size)
        return []

    def check_runs(self, runs_in_project: int) -> list[LimitWarning]:
        if runs_in_project > LIMITS["runs_per_project"].bound:
            return self._raise("runs_per_project", runs_in_project)
        return []

    def check_files(self, files: int) -> list[LimitWarning]:
        if files > LIMITS["files_per_run"].bound:
            return self._raise("files_per_run", files)
        return []
