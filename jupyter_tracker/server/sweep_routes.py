"""The tracking server's sweep endpoints: agents on many machines share one sweep through them.

The server keeps sweep state with the same controller as the local store: in its PostgreSQL
database when it has one (several server processes, on any number of machines, share it), else in
a SQLite file under its data directory. A sweep belongs to an entity; every call checks the key's
access to it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Body, Depends
from fastapi.responses import JSONResponse

from jupyter_tracker.server.config import ServerConfig
from jupyter_tracker.server.storage import Principal
from jupyter_tracker.sweeps.config import SweepConfigError, parse_config
from jupyter_tracker.sweeps.local_store import LocalSweepStore, SweepNotFoundError
from jupyter_tracker.sweeps.sql_store import SqlSweepStore

API = "/api/v1"
#: every sweep call takes a JSON object
_JSON_BODY: Any = Body(...)


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def sweep_router(config: ServerConfig, authenticate: Callable[..., Principal]) -> APIRouter:
    """The sweep routes over the server's sweep store."""
    store = sweep_store_for(config)
    router = APIRouter(prefix=API, tags=["sweeps"])
    Auth = Depends(authenticate)

    def sweep_of(sweep_id: str, principal: Principal) -> Any:
        sweep = store.get_sweep(sweep_id)
        if sweep.entity not in principal.entities:
            raise SweepNotFoundError(f"no sweep {sweep_id!r}")  # no hint that another entity's sweep exists
        return sweep

    def guarded(action: Callable[[], Any]) -> Any:
        try:
            return action()
        except SweepNotFoundError as error:
            return _error(404, str(error).split(" in ")[0])  # where the store is stays on the server
        except SweepConfigError as error:
            return _error(400, str(error))
        except ValueError as error:
            return _error(400, str(error))

    @router.post("/sweeps")
    def create(body: dict[str, Any] = _JSON_BODY, principal: Principal = Auth) -> Any:
        def act() -> Any:
            entity = body.get("entity") or principal.default_entity
            if entity not in principal.entities:
                return _error(403, f"this key has no access to entity {entity!r}")
            project = str(body.get("project") or "uncategorized")
            parsed = parse_config(body.get("config") or {})
            return {"id": store.create_sweep(parsed, project, entity, body.get("seed"))}

        return guarded(act)

    @router.get("/sweeps/{sweep_id}")
    def get(sweep_id: str, principal: Principal = Auth) -> Any:
        return guarded(lambda: _sweep_json(sweep_of(sweep_id, principal)))

    @router.put("/sweeps/{sweep_id}/state")
    def set_state(sweep_id: str, body: dict[str, Any] = _JSON_BODY, principal: Principal = Auth) -> Any:
        def act() -> Any:
            sweep_of(sweep_id, principal)
            return _sweep_json(store.set_state(sweep_id, str(body.get("state"))))

        return guarded(act)

    @router.get("/sweeps/{sweep_id}/trials")
    def trials(sweep_id: str, principal: Principal = Auth) -> Any:
        def act() -> Any:
            sweep_of(sweep_id, principal)
            return [trial.as_dict() for trial in store.trials(sweep_id)]

        return guarded(act)

    @router.post("/sweeps/{sweep_id}/agents")
    def register(sweep_id: str, body: dict[str, Any] = _JSON_BODY, principal: Principal = Auth) -> Any:
        def act() -> Any:
            sweep_of(sweep_id, principal)
            agent_id, alive = store.register_agent(sweep_id, pid=int(body.get("pid") or 0) or None, host=body.get("host"))
            return {"agent_id": agent_id, "alive": alive}

        return guarded(act)

    def agent_sweep(agent_id: str, principal: Principal) -> str:
        sweep_id = store.agent_sweep(agent_id)
        sweep_of(sweep_id, principal)
        return sweep_id

    @router.post("/sweep-agents/{agent_id}/claim")
    def claim(agent_id: str, body: dict[str, Any] = _JSON_BODY, principal: Principal = Auth) -> Any:
        def act() -> Any:
            found = store.claim(agent_sweep(agent_id, principal), agent_id, float(body.get("lease_seconds") or 30))
            return {"status": found.status, "trial": found.trial.as_dict() if found.trial else None}

        return guarded(act)

    @router.post("/sweep-agents/{agent_id}/heartbeat")
    def heartbeat(agent_id: str, body: dict[str, Any] = _JSON_BODY, principal: Principal = Auth) -> Any:
        def act() -> Any:
            agent_sweep(agent_id, principal)
            return {"stop": sorted(store.heartbeat(agent_id, float(body.get("lease_seconds") or 30)))}

        return guarded(act)

    @router.delete("/sweep-agents/{agent_id}")
    def deregister(agent_id: str, principal: Principal = Auth) -> Any:
        def act() -> Any:
            agent_sweep(agent_id, principal)
            store.deregister_agent(agent_id)
            return {"ok": True}

        return guarded(act)

    @router.put("/sweeps/{sweep_id}/trials/{number}/run")
    def bind_run(sweep_id: str, number: int, body: dict[str, Any] = _JSON_BODY, principal: Principal = Auth) -> Any:
        def act() -> Any:
            sweep_of(sweep_id, principal)
            store.bind_run(sweep_id, number, str(body.get("run_id")))
            return {"ok": True}

        return guarded(act)

    @router.post("/sweeps/{sweep_id}/trials/{number}/metrics")
    def report(sweep_id: str, number: int, body: dict[str, Any] = _JSON_BODY, principal: Principal = Auth) -> Any:
        def act() -> Any:
            sweep_of(sweep_id, principal)
            values = [float("nan") if value is None else float(value) for value in body.get("values") or []]
            return {"stop": store.report(sweep_id, number, values)}

        return guarded(act)

    @router.put("/sweeps/{sweep_id}/trials/{number}/result")
    def finish(sweep_id: str, number: int, body: dict[str, Any] = _JSON_BODY, principal: Principal = Auth) -> Any:
        def act() -> Any:
            sweep_of(sweep_id, principal)
            store.finish_trial(sweep_id, number, str(body.get("state")), body.get("value"), body.get("error"))
            return {"ok": True}

        return guarded(act)

    return router


def sweep_store_for(config: ServerConfig) -> SqlSweepStore:
    """PostgreSQL's database when the server uses one, else ``sweeps.sqlite`` in the data directory."""
    if config.db_url.startswith(("postgresql", "postgres:")):
        from jupyter_tracker.sweeps.postgres_store import PostgresSweepStore

        return PostgresSweepStore(config.db_url)
    return LocalSweepStore(config.data_dir / "sweeps")


def _sweep_json(sweep: Any) -> dict[str, Any]:
    return {"id": sweep.id, "project": sweep.project, "entity": sweep.entity, "config": sweep.config,
            "state": sweep.state, "seed": sweep.seed, "created": sweep.created}
