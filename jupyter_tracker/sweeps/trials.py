"""The records a sweep's controller keeps: one sweep, its trials, and what a claim returns."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

#: a sweep's states: ``running`` hands out suggestions, ``paused`` holds them back until resumed,
#: ``stopped`` lets running trials finish and starts no more, ``cancelled`` also stops running trials,
#: ``finished`` has nothing left to suggest
SWEEP_STATES = ("running", "paused", "stopped", "cancelled", "finished")
#: a trial's states: ``pending`` is a suggestion waiting for an agent (a lost agent's, handed out again)
TRIAL_STATES = ("pending", "running", "finished", "failed", "stopped")


@dataclasses.dataclass(frozen=True)
class Sweep:
    """A sweep as stored: its configuration as the user wrote it, state and seed."""

    id: str
    project: str
    entity: str | None
    config: dict[str, Any]
    state: str
    seed: int
    created: float


@dataclasses.dataclass(frozen=True)
class Trial:
    """One suggestion and what became of it.

    ``history`` holds the sweep metric's values in the order the run logged them (hyperband
    compares trials on it); ``value`` is the metric's summary value when the trial ended.
    """

    sweep_id: str
    number: int
    params: dict[str, Any]
    state: str
    run_id: str | None = None
    agent_id: str | None = None
    grid_index: int | None = None
    retry_of: int | None = None
    value: float | None = None
    history: tuple[float, ...] = ()
    stop_requested: bool = False
    error: str | None = None
    created: float = 0.0
    updated: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON values (a NaN in the history becomes None, as JSON has no NaN)."""
        values = dataclasses.asdict(self)
        values["history"] = [value if math.isfinite(value) else None for value in self.history]
        return values

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> Trial:
        known = {field.name for field in dataclasses.fields(cls)}
        fields = {key: value for key, value in values.items() if key in known}
        fields["history"] = tuple(math.nan if value is None else float(value) for value in fields.get("history") or ())
        return cls(**fields)


@dataclasses.dataclass(frozen=True)
class Claim:
    """An agent's request for work answered: a trial to run, ``wait`` (paused, or others may
    still hand a suggestion back) or ``done``."""

    status: str
    trial: Trial | None = None
