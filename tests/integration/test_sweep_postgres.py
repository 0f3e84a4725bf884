"""Sweep state in PostgreSQL: two stores (as two server processes) hand out a grid without repeats."""

from __future__ import annotations

import os
import threading
import time

import pytest

from jupyter_tracker.sweeps.config import parse_config
from tests.integration.server_fixtures import postgres_available, postgres_database, require_postgres_or_step_aside

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not postgres_available() and os.environ.get("JT_REQUIRE_POSTGRES") != "1",
                       reason="needs JT_TEST_POSTGRES_DSN (scripts/test.sh starts PostgreSQL)"),
]


def test_two_stores_on_one_database_share_a_sweep_without_repeats():
    require_postgres_or_step_aside()
    from jupyter_tracker.sweeps.postgres_store import PostgresSweepStore

    with postgres_database() as url:
        first, second = PostgresSweepStore(url), PostgresSweepStore(url)
        config = parse_config({"method": "grid", "metric": {"name": "loss"}, "run_cap": 70,
                               "parameters": {"a": {"values": list(range(8))}, "b": {"values": list(range(10))}}})
        sweep_id = first.create_sweep(config, "shared")
        claimed: list[int] = []
        failures: list[BaseException] = []

        def agent(store: PostgresSweepStore) -> None:
            try:
                agent_id, _ = store.register_agent(sweep_id)
                while (claim := store.claim(sweep_id, agent_id)).status != "done":
                    if claim.trial is None:
                        time.sleep(0.01)  # others still run their last trials
                        continue
                    claimed.append(claim.trial.grid_index)
                    store.finish_trial(sweep_id, claim.trial.number, "finished", float(claim.trial.number))
                store.deregister_agent(agent_id)
            except BaseException as error:  # reported by the test thread
                failures.append(error)

        threads = [threading.Thread(target=agent, args=(first if n % 2 else second,)) for n in range(10)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert not failures, failures
        assert sorted(claimed) == list(range(70))  # run_cap 70 of the 80 grid points, each once
        trials = second.trials(sweep_id)
        assert len(trials) == 70 and all(trial.state == "finished" for trial in trials)
        assert second.get_sweep(sweep_id).state == "finished"
