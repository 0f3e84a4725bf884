"""Which store holds a sweep: the local store of the runs, or the tracking server when logged in."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

from jupyter_tracker.settings import Settings
from jupyter_tracker.sweeps.config import SweepConfig
from jupyter_tracker.sweeps.trials import Claim, Sweep, Trial


class SweepStore(Protocol):
    """What agents and the notebook view need from a sweep's store (local SQLite or the server)."""

    def create_sweep(self, config: SweepConfig, project: str, entity: str | None = None, seed: int | None = None) -> str: ...
    def get_sweep(self, sweep_id: str) -> Sweep: ...
    def set_state(self, sweep_id: str, state: str) -> Sweep: ...
    def register_agent(self, sweep_id: str, pid: int | None = None, host: str | None = None) -> tuple[str, int]: ...
    def deregister_agent(self, agent_id: str) -> None: ...
    def heartbeat(self, agent_id: str, lease_seconds: float = ...) -> set[int]: ...
    def claim(self, sweep_id: str, agent_id: str, lease_seconds: float = ...) -> Claim: ...
    def bind_run(self, sweep_id: str, number: int, run_id: str) -> None: ...
    def report(self, sweep_id: str, number: int, values: Any) -> bool: ...
    def finish_trial(self, sweep_id: str, number: int, state: str, value: float | None = None, error: str | None = None) -> None: ...
    def trials(self, sweep_id: str) -> list[Trial]: ...


def uses_server(settings: Settings) -> bool:
    """Sweeps live on the server when runs sync to one (online, with an address and a key)."""
    return settings.mode == "online" and bool(settings.base_url) and bool(settings.api_key)


def store_for(settings: Settings) -> SweepStore:
    """The store the runs of ``settings`` use, so the sweep's agents on any machine that logs there meet."""
    if uses_server(settings):
        from jupyter_tracker.sweeps.remote_store import RemoteSweepStore

        return RemoteSweepStore(str(settings.base_url), str(settings.api_key))
    from jupyter_tracker.sweeps.local_store import LocalSweepStore

    return LocalSweepStore(settings.root)


def location(store: SweepStore) -> dict[str, Any]:
    """Where a store is, written into a trial's parameter file so the run's process finds it."""
    root = getattr(store, "root", None)
    if root is not None:
        return {"kind": "local", "root": str(root)}
    return {"kind": "server", "base_url": getattr(store, "base_url")}  # noqa: B009 - not part of the protocol


def open_location(where: Mapping[str, Any], settings: Settings) -> SweepStore:
    """The store a parameter file names; the server's key comes from the run's own settings."""
    if where.get("kind") == "server":
        from jupyter_tracker.sweeps.remote_store import RemoteSweepStore

        return RemoteSweepStore(str(where["base_url"]), settings.api_key or "")
    from jupyter_tracker.sweeps.local_store import LocalSweepStore

    return LocalSweepStore(Path(where["root"]))
