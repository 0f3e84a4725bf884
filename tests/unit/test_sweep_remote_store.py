"""The remote sweep store's client side, on an injected transport: retries, errors, NaN in JSON."""

from __future__ import annotations

import json
import math

import httpx
import pytest

from jupyter_tracker.sweeps.local_store import SweepNotFoundError
from jupyter_tracker.sweeps.remote_store import RemoteSweepStore

TRIAL = {"sweep_id": "s1", "number": 3, "params": {"lr": 0.1}, "state": "running", "run_id": "r1",
         "agent_id": "agent-1", "grid_index": None, "retry_of": None, "value": None, "history": [1.0, None],
         "stop_requested": False, "error": None, "created": 1.0, "updated": 1.0}


def test_a_rate_limited_claim_is_retried_after_the_servers_delay():
    answers = iter([httpx.Response(429, headers={"Retry-After": "0"}, json={"error": "slow down"}),
                    httpx.Response(503, json={"error": "restarting"}),
                    httpx.Response(200, json={"status": "trial", "trial": TRIAL})])
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return next(answers)

    store = RemoteSweepStore("http://tracker.test", "key-1", transport=httpx.MockTransport(handler))
    claim = store.claim("s1", "agent-1", lease_seconds=60)
    assert claim.status == "trial" and claim.trial is not None and claim.trial.params == {"lr": 0.1}
    assert math.isnan(claim.trial.history[1])
    assert len(seen) == 3 and seen[-1].url.path == "/api/v1/sweep-agents/agent-1/claim"
    assert json.loads(seen[-1].content) == {"lease_seconds": 60}
    assert seen[-1].headers["Authorization"] == "Bearer key-1"


def test_not_found_and_bad_requests_become_the_local_stores_errors():
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/state"):
            return httpx.Response(400, json={"error": "sweep state: expected one of running, paused"})
        return httpx.Response(404, json={"error": "no sweep 'zz'"})

    store = RemoteSweepStore("http://tracker.test", "key-1", transport=httpx.MockTransport(handler))
    with pytest.raises(SweepNotFoundError, match="no sweep 'zz'"):
        store.get_sweep("zz")
    with pytest.raises(ValueError, match="sweep state"):
        store.set_state("zz", "asleep")


def test_nan_metric_values_travel_as_null():
    bodies: list[dict] = []

    def handler(request: httpx.Request) -> httpx.Response:
        bodies.append(json.loads(request.content))
        return httpx.Response(200, json={"stop": True, "ok": True})

    store = RemoteSweepStore("http://tracker.test", "key-1", transport=httpx.MockTransport(handler))
    assert store.report("s1", 3, [0.5, float("nan")]) is True
    store.finish_trial("s1", 3, "finished", float("nan"))
    assert bodies == [{"values": [0.5, None]}, {"state": "finished", "value": None, "error": None}]
