"""Sweep state on the tracking server, for agents on many machines: the store's calls over HTTP.

Requests go through the sync part's client (the one place that talks HTTP); a transient failure
or a rate limit is retried with backoff, honouring ``Retry-After``, for up to two minutes.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Sequence
from typing import Any

from jupyter_tracker.sweeps.config import SweepConfig
from jupyter_tracker.sweeps.local_store import SweepNotFoundError
from jupyter_tracker.sweeps.trials import Claim, Sweep, Trial

#: seconds a request is retried before the agent gives up
RETRY_SECONDS = 120.0


def _sweep(values: dict[str, Any]) -> Sweep:
    return Sweep(values["id"], values["project"], values.get("entity"), values["config"], values["state"],
                 int(values["seed"]), float(values["created"]))


class RemoteSweepStore:
    """The :class:`~jupyter_tracker.sweeps.stores.SweepStore` calls, answered by a tracking server.

    >>> store = RemoteSweepStore("http://127.0.0.1:8600", api_key="...")  # doctest: +SKIP
    """

    def __init__(self, base_url: str, api_key: str, transport: Any = None) -> None:
        from jupyter_tracker.sync.transport import TrackerClient

        self._client = TrackerClient(base_url, api_key, transport=transport)
        self.base_url = self._client.base_url

    def __repr__(self) -> str:
        return f"RemoteSweepStore({self.base_url!r})"

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        from jupyter_tracker.sync.backoff import Backoff, retry
        from jupyter_tracker.sync.transport import RefusedError

        def once() -> Any:
            options = {"json": body} if body is not None else {}
            return self._client.request(method, path, **options).json()

        try:
            return retry(once, Backoff(base=0.25, cap=5.0), deadline=time.monotonic() + RETRY_SECONDS)
        except RefusedError as error:
            if error.status == 404:
                raise SweepNotFoundError(str(error.body.get("error") or error)) from None
            if error.status == 400:
                raise ValueError(str(error.body.get("error") or error)) from None
            raise

    def create_sweep(self, config: SweepConfig, project: str, entity: str | None = None, seed: int | None = None) -> str:
        return str(self._call("POST", "/sweeps", {"config": config.raw, "project": project, "entity": entity, "seed": seed})["id"])

    def get_sweep(self, sweep_id: str) -> Sweep:
        return _sweep(self._call("GET", f"/sweeps/{sweep_id}"))

    def set_state(self, sweep_id: str, state: str) -> Sweep:
        return _sweep(self._call("PUT", f"/sweeps/{sweep_id}/state", {"state": state}))

    def register_agent(self, sweep_id: str, pid: int | None = None, host: str | None = None) -> tuple[str, int]:
        answer = self._call("POST", f"/sweeps/{sweep_id}/agents",
                            {"pid": pid or os.getpid(), "host": host or socket.gethostname()})
        return str(answer["agent_id"]), int(answer["alive"])

    def deregister_agent(self, agent_id: str) -> None:
        self._call("DELETE", f"/sweep-agents/{agent_id}")

    def heartbeat(self, agent_id: str, lease_seconds: float = 30.0) -> set[int]:
        return {int(number) for number in self._call("POST", f"/sweep-agents/{agent_id}/heartbeat",
                                                     {"lease_seconds": lease_seconds})["stop"]}

    def claim(self, sweep_id: str, agent_id: str, lease_seconds: float = 30.0) -> Claim:
        answer = self._call("POST", f"/sweep-agents/{agent_id}/claim", {"lease_seconds": lease_seconds})
        trial = Trial.from_dict(answer["trial"]) if answer.get("trial") else None
        return Claim(str(answer["status"]), trial)

    def bind_run(self, sweep_id: str, number: int, run_id: str) -> None:
        self._call("PUT", f"/sweeps/{sweep_id}/trials/{number}/run", {"run_id": run_id})

    def report(self, sweep_id: str, number: int, values: Sequence[float]) -> bool:
        clean = [value if value == value else None for value in (float(v) for v in values)]
        return bool(self._call("POST", f"/sweeps/{sweep_id}/trials/{number}/metrics", {"values": clean})["stop"])

    def finish_trial(self, sweep_id: str, number: int, state: str, value: float | None = None, error: str | None = None) -> None:
        if value is not None and value != value:
            value = None
        self._call("PUT", f"/sweeps/{sweep_id}/trials/{number}/result", {"state": state, "value": value, "error": error})

    def trials(self, sweep_id: str) -> list[Trial]:
        return [Trial.from_dict(values) for values in self._call("GET", f"/sweeps/{sweep_id}/trials")]
