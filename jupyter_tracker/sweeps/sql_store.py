"""Sweep state in a SQL database: the controller's bookkeeping, shared by every agent of a sweep.

The same statements run on SQLite (the local store, :mod:`local_store`) and on PostgreSQL (a
tracking server's database, :mod:`postgres_store`). Every change is one transaction that first
takes the sweep's write lock (SQLite: ``BEGIN IMMEDIATE``; PostgreSQL: the sweep's row ``FOR
UPDATE``), so agents take turns: a claim reads the sweep's trials, computes the next suggestion
and records it before another agent can look. A trial is leased to its agent; the agent's heartbeat renews the lease.
A trial whose agent stopped beating (or whose agent process on this machine is gone) is marked
failed and its suggestion handed out again, so a killed agent loses no grid point.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import secrets
import socket
import string
import time
from collections.abc import Callable, Sequence
from typing import Any

from jupyter_tracker import names
from jupyter_tracker.sweeps import hyperband
from jupyter_tracker.sweeps.config import SweepConfig, parse_config
from jupyter_tracker.sweeps.controller import next_point
from jupyter_tracker.sweeps.trials import SWEEP_STATES, Claim, Sweep, Trial

#: seconds a trial stays leased to its agent without a heartbeat
DEFAULT_LEASE_SECONDS = 30.0

SCHEMA = """
CREATE TABLE IF NOT EXISTS sweeps (
    id TEXT PRIMARY KEY,
    project TEXT NOT NULL,
    entity TEXT,
    config TEXT NOT NULL,
    state TEXT NOT NULL,
    seed INTEGER NOT NULL,
    created DOUBLE PRECISION NOT NULL,
    updated DOUBLE PRECISION NOT NULL
);
CREATE TABLE IF NOT EXISTS sweep_trials (
    sweep_id TEXT NOT NULL,
    number INTEGER NOT NULL,
    params TEXT NOT NULL,
    state TEXT NOT NULL,
    run_id TEXT,
    agent_id TEXT,
    lease_until DOUBLE PRECISION,
    grid_index INTEGER,
    retry_of INTEGER,
    counts INTEGER NOT NULL DEFAULT 0,
    value DOUBLE PRECISION,
    history TEXT NOT NULL DEFAULT '[]',
    stop_requested INTEGER NOT NULL DEFAULT 0,
    error TEXT,
    created DOUBLE PRECISION NOT NULL,
    updated DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (sweep_id, number)
);
CREATE TABLE IF NOT EXISTS sweep_agents (
    id TEXT PRIMARY KEY,
    sweep_id TEXT NOT NULL,
    host TEXT NOT NULL,
    pid INTEGER NOT NULL,
    heartbeat DOUBLE PRECISION NOT NULL,
    state TEXT NOT NULL,
    created DOUBLE PRECISION NOT NULL
);
CREATE INDEX IF NOT EXISTS sweep_trials_state ON sweep_trials(sweep_id, state);
"""


def schema_statements() -> list[str]:
    """The schema, one statement each (PostgreSQL's driver runs one at a time)."""
    return [statement.strip() for statement in SCHEMA.split(";") if statement.strip()]


_TRIAL_COLUMNS = (
    "sweep_id", "number", "params", "state", "run_id", "agent_id", "grid_index", "retry_of", "value",
    "history", "stop_requested", "error", "created", "updated",
)
_ID_ALPHABET = string.ascii_lowercase + string.digits


class SweepNotFoundError(KeyError):
    """No sweep with this id in the store; the message names the id and where it looked."""

    def __str__(self) -> str:
        return str(self.args[0])


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _finite(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


class SqlSweepStore:
    """Sweeps, trials and agents in one database; subclasses say how to connect and lock.

    ``path`` names the database in messages. Connections are made per operation (SQLite) or
    kept per thread (PostgreSQL) by the subclass.
    """

    #: how the database is named in messages
    path: Any = "the sweep store"

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._host = socket.gethostname()
        self._configs: dict[str, SweepConfig] = {}

    # what a database provides --------------------------------------------------------------
    def _transaction(self) -> contextlib.AbstractContextManager[Any]:
        """A write transaction; its connection's ``execute(sql, params)`` takes ``?`` placeholders."""
        raise NotImplementedError

    def _reading(self) -> contextlib.AbstractContextManager[Any]:
        raise NotImplementedError

    def _lock_sweep(self, connection: Any, sweep_id: str) -> None:
        """Serialises the changes to one sweep (a no-op where the transaction already holds the database)."""

    # sweeps --------------------------------------------------------------------------------
    def create_sweep(self, config: SweepConfig, project: str, entity: str | None = None, seed: int | None = None) -> str:
        """Stores a new sweep and returns its id (eight letters and digits, like wandb's)."""
        sweep_id = "".join(secrets.choice(_ID_ALPHABET) for _ in range(8))
        now = self._clock()
        with self._transaction() as connection:
            connection.execute(
                "INSERT INTO sweeps (id, project, entity, config, state, seed, created, updated) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (sweep_id, project, entity, json.dumps(config.raw), "running",
                 secrets.randbits(31) if seed is None else int(seed), now, now),
            )
        return sweep_id

    def get_sweep(self, sweep_id: str) -> Sweep:
        with self._reading() as connection:
            return self._sweep(connection, sweep_id)

    def _sweep(self, connection: Any, sweep_id: str) -> Sweep:
        row = connection.execute(
            "SELECT id, project, entity, config, state, seed, created FROM sweeps WHERE id = ?", (sweep_id,)
        ).fetchone()
        if row is None:
            raise SweepNotFoundError(f"no sweep {sweep_id!r} in {self.path}")
        return Sweep(row[0], row[1], row[2], json.loads(row[3]), row[4], row[5], row[6])

    def sweeps(self, project: str | None = None) -> list[Sweep]:
        with self._reading() as connection:
            query = "SELECT id FROM sweeps" + (" WHERE project = ?" if project else "") + " ORDER BY created"
            ids = [row[0] for row in connection.execute(query, (project,) if project else ())]
            return [self._sweep(connection, sweep_id) for sweep_id in ids]

    def set_state(self, sweep_id: str, state: str) -> Sweep:
        """pause, resume (``running``), stop, cancel (also stops running trials) or finish a sweep."""
        if state not in SWEEP_STATES:
            raise ValueError(f"sweep state: expected one of {', '.join(SWEEP_STATES)}, got {state!r}")
        with self._transaction() as connection:
            self._lock_sweep(connection, sweep_id)
            sweep = self._sweep(connection, sweep_id)
            if sweep.state in ("cancelled", "finished") and state in ("running", "paused"):
                raise ValueError(f"sweep {sweep_id} is {sweep.state}; it cannot be {'resumed' if state == 'running' else 'paused'}")
            connection.execute("UPDATE sweeps SET state = ?, updated = ? WHERE id = ?", (state, self._clock(), sweep_id))
            if state == "cancelled":
                connection.execute(
                    "UPDATE sweep_trials SET stop_requested = 1 WHERE sweep_id = ? AND state = 'running'", (sweep_id,)
                )
                connection.execute("DELETE FROM sweep_trials WHERE sweep_id = ? AND state = 'pending'", (sweep_id,))
            return self._sweep(connection, sweep_id)

    # agents --------------------------------------------------------------------------------
    def register_agent(self, sweep_id: str, pid: int | None = None, host: str | None = None) -> tuple[str, int]:
        """Adds an agent; returns its id and how many agents of the sweep are alive with it."""
        agent_id = "agent-" + "".join(secrets.choice(_ID_ALPHABET) for _ in range(8))
        now = self._clock()
        with self._transaction() as connection:
            self._sweep(connection, sweep_id)
            connection.execute(
                "INSERT INTO sweep_agents (id, sweep_id, host, pid, heartbeat, state, created) VALUES (?, ?, ?, ?, ?, 'running', ?)",
                (agent_id, sweep_id, host or self._host, pid or os.getpid(), now, now),
            )
            alive = self._live_agents(connection, sweep_id, now)
        return agent_id, alive

    def _live_agents(self, connection: Any, sweep_id: str, now: float) -> int:
        rows = connection.execute(
            "SELECT host, pid, heartbeat FROM sweep_agents WHERE sweep_id = ? AND state = 'running'", (sweep_id,)
        ).fetchall()
        return sum(1 for host, pid, beat in rows
                   if beat > now - DEFAULT_LEASE_SECONDS and (host != self._host or _pid_alive(pid)))

    def agent_sweep(self, agent_id: str) -> str:
        """The sweep an agent works for (the server checks access through it)."""
        with self._reading() as connection:
            row = connection.execute("SELECT sweep_id FROM sweep_agents WHERE id = ?", (agent_id,)).fetchone()
        if row is None:
            raise SweepNotFoundError(f"no sweep agent {agent_id!r} in {self.path}")
        return str(row[0])

    def deregister_agent(self, agent_id: str) -> None:
        with self._transaction() as connection:
            connection.execute("UPDATE sweep_agents SET state = 'done', heartbeat = ? WHERE id = ?", (self._clock(), agent_id))

    def heartbeat(self, agent_id: str, lease_seconds: float = DEFAULT_LEASE_SECONDS) -> set[int]:
        """Renews the agent's leases; returns the numbers of its trials that should stop now."""
        now = self._clock()
        with self._transaction() as connection:
            connection.execute("UPDATE sweep_agents SET heartbeat = ? WHERE id = ?", (now, agent_id))
            connection.execute(
                "UPDATE sweep_trials SET lease_until = ? WHERE agent_id = ? AND state = 'running'", (now + lease_seconds, agent_id)
            )
            rows = connection.execute(
                "SELECT number FROM sweep_trials WHERE agent_id = ? AND state = 'running' AND stop_requested = 1", (agent_id,)
            ).fetchall()
        return {row[0] for row in rows}

    # trials --------------------------------------------------------------------------------
    def claim(self, sweep_id: str, agent_id: str, lease_seconds: float = DEFAULT_LEASE_SECONDS) -> Claim:
        """The next trial for ``agent_id``: a suggestion handed back by a lost agent first, else a new one."""
        now = self._clock()
        with self._transaction() as connection:
            self._lock_sweep(connection, sweep_id)
            sweep = self._sweep(connection, sweep_id)
            self._reap_lost(connection, sweep, now)
            if sweep.state == "paused":
                return Claim("wait")
            if sweep.state != "running":
                return Claim("done")
            config = self._config(sweep)
            run_id = names.random_run_id()
            counted, last_number, last_grid_index = connection.execute(
                "SELECT COALESCE(SUM(counts), 0), COALESCE(MAX(number), 0), MAX(grid_index) FROM sweep_trials WHERE sweep_id = ?",
                (sweep_id,),
            ).fetchone()
            if config.run_cap is not None and counted >= config.run_cap:
                return self._nothing_left(connection, sweep)
            pending = connection.execute(
                "SELECT MIN(number) FROM sweep_trials WHERE sweep_id = ? AND state = 'pending'", (sweep_id,)
            ).fetchone()[0]
            if pending is not None:
                connection.execute(
                    "UPDATE sweep_trials SET state = 'running', run_id = ?, agent_id = ?, lease_until = ?, counts = 1, updated = ? "
                    "WHERE sweep_id = ? AND number = ?",
                    (run_id, agent_id, now + lease_seconds, now, sweep_id, pending),
                )
                return Claim("trial", self._trial(connection, sweep_id, pending))
            number = last_number + 1
            # only bayes learns from the history; grid and random need its size alone (claims stay O(1))
            trials = self._trials(connection, sweep_id) if config.method == "bayes" else []
            next_grid_index = 0 if last_grid_index is None else last_grid_index + 1
            suggestion = next_point(config, sweep.seed, number, trials, next_grid_index)
            if suggestion is None:
                return self._nothing_left(connection, sweep)
            params, grid_index = suggestion
            connection.execute(
                "INSERT INTO sweep_trials (sweep_id, number, params, state, run_id, agent_id, lease_until, grid_index, counts, created, updated) "
                "VALUES (?, ?, ?, 'running', ?, ?, ?, ?, 1, ?, ?)",
                (sweep_id, number, json.dumps(params), run_id, agent_id, now + lease_seconds, grid_index, now, now),
            )
            return Claim("trial", self._trial(connection, sweep_id, number))

    def _config(self, sweep: Sweep) -> SweepConfig:
        """A sweep's parsed configuration (it never changes, so it is parsed once per store object)."""
        config = self._configs.get(sweep.id)
        if config is None:
            config = self._configs[sweep.id] = parse_config(sweep.config)
        return config

    def _nothing_left(self, connection: Any, sweep: Sweep) -> Claim:
        """No new suggestion: wait while a running trial might still be handed back, else finish the sweep."""
        busy = connection.execute(
            "SELECT COUNT(*) FROM sweep_trials WHERE sweep_id = ? AND state IN ('running', 'pending')", (sweep.id,)
        ).fetchone()[0]
        if busy:
            return Claim("wait")
        connection.execute("UPDATE sweeps SET state = 'finished', updated = ? WHERE id = ?", (self._clock(), sweep.id))
        return Claim("done")

    def _reap_lost(self, connection: Any, sweep: Sweep, now: float) -> None:
        """Marks failed the trials whose agent stopped beating or died, and requeues their suggestions."""
        rows = connection.execute(
            "SELECT t.number, t.lease_until, a.host, a.pid, a.state FROM sweep_trials t LEFT JOIN sweep_agents a ON a.id = t.agent_id "
            "WHERE t.sweep_id = ? AND t.state = 'running'",
            (sweep.id,),
        ).fetchall()
        next_number = connection.execute(
            "SELECT COALESCE(MAX(number), 0) + 1 FROM sweep_trials WHERE sweep_id = ?", (sweep.id,)
        ).fetchone()[0]
        for number, lease_until, host, pid, agent_state in rows:
            expired = lease_until is not None and lease_until < now
            dead = host == self._host and pid is not None and not _pid_alive(pid)
            if not (expired or dead or agent_state == "done"):
                continue
            connection.execute(
                "UPDATE sweep_trials SET state = 'failed', counts = 0, error = ?, updated = ? WHERE sweep_id = ? AND number = ?",
                ("agent lost: no heartbeat" if not dead else "agent process died", now, sweep.id, number),
            )
            if sweep.state in ("running", "paused"):
                connection.execute(
                    "INSERT INTO sweep_trials (sweep_id, number, params, state, grid_index, retry_of, counts, created, updated) "
                    "SELECT sweep_id, ?, params, 'pending', grid_index, number, 0, ?, ? FROM sweep_trials WHERE sweep_id = ? AND number = ?",
                    (next_number, now, now, sweep.id, number),
                )
                next_number += 1

    def bind_run(self, sweep_id: str, number: int, run_id: str) -> None:
        """Records the run a trial started (a function agent learns it when ``init()`` runs)."""
        with self._transaction() as connection:
            connection.execute(
                "UPDATE sweep_trials SET run_id = ?, updated = ? WHERE sweep_id = ? AND number = ?", (run_id, self._clock(), sweep_id, number)
            )

    def report(self, sweep_id: str, number: int, values: Sequence[float]) -> bool:
        """Appends metric values to a trial's history; returns True when the trial should stop (hyperband)."""
        now = self._clock()
        with self._transaction() as connection:
            self._lock_sweep(connection, sweep_id)
            row = connection.execute(
                "SELECT history, stop_requested FROM sweep_trials WHERE sweep_id = ? AND number = ?", (sweep_id, number)
            ).fetchone()
            if row is None:
                return False
            history = json.loads(row[0]) + [_finite(value) for value in values]
            connection.execute(
                "UPDATE sweep_trials SET history = ?, updated = ? WHERE sweep_id = ? AND number = ?",
                (json.dumps(history), now, sweep_id, number),
            )
            config = self._config(self._sweep(connection, sweep_id))
            if config.hyperband is not None and config.metric is not None and values:
                self._apply_hyperband(connection, sweep_id, config)
            stop = connection.execute(
                "SELECT stop_requested FROM sweep_trials WHERE sweep_id = ? AND number = ?", (sweep_id, number)
            ).fetchone()[0]
        return bool(stop)

    def _apply_hyperband(self, connection: Any, sweep_id: str, config: SweepConfig) -> None:
        assert config.hyperband is not None and config.metric is not None
        rows = connection.execute(
            "SELECT number, state, history FROM sweep_trials WHERE sweep_id = ? AND state IN ('running', 'finished', 'stopped')",
            (sweep_id,),
        ).fetchall()
        histories = {number: [value if value is not None else math.nan for value in json.loads(text)]
                     for number, _, text in rows}
        running = {number for number, state, _ in rows if state == "running"}
        for number in hyperband.trials_to_stop(histories, running, config.hyperband.bands, config.hyperband.eta,
                                               config.metric.goal):
            connection.execute(
                "UPDATE sweep_trials SET stop_requested = 1, error = COALESCE(error, 'stopped early by hyperband') "
                "WHERE sweep_id = ? AND number = ?",
                (sweep_id, number),
            )

    def finish_trial(self, sweep_id: str, number: int, state: str, value: float | None = None, error: str | None = None) -> None:
        """Records how a trial ended; a metric value reaching ``metric.target`` finishes the sweep."""
        if state not in ("finished", "failed", "stopped"):
            raise ValueError(f"trial state: expected finished, failed or stopped, got {state!r}")
        now = self._clock()
        with self._transaction() as connection:
            self._lock_sweep(connection, sweep_id)
            current = connection.execute(
                "SELECT state, stop_requested FROM sweep_trials WHERE sweep_id = ? AND number = ?", (sweep_id, number)
            ).fetchone()
            if current is None or current[0] != "running":
                return  # already reaped as lost: its suggestion went back to the queue
            if current[1] and state == "finished":
                state = "stopped"
            connection.execute(
                "UPDATE sweep_trials SET state = ?, value = ?, error = COALESCE(?, error), lease_until = NULL, updated = ? "
                "WHERE sweep_id = ? AND number = ?",
                (state, _finite(value), error, now, sweep_id, number),
            )
            sweep = self._sweep(connection, sweep_id)
            config = self._config(sweep)
            if sweep.state == "running" and config.metric is not None and config.metric.reached(_finite(value)):
                connection.execute("UPDATE sweeps SET state = 'finished', updated = ? WHERE id = ?", (now, sweep_id))

    def trials(self, sweep_id: str) -> list[Trial]:
        with self._reading() as connection:
            self._sweep(connection, sweep_id)
            return self._trials(connection, sweep_id)

    def _trials(self, connection: Any, sweep_id: str) -> list[Trial]:
        rows = connection.execute(
            f"SELECT {', '.join(_TRIAL_COLUMNS)} FROM sweep_trials WHERE sweep_id = ? ORDER BY number", (sweep_id,)
        ).fetchall()
        return [self._decode(row) for row in rows]

    def _trial(self, connection: Any, sweep_id: str, number: int) -> Trial:
        row = connection.execute(
            f"SELECT {', '.join(_TRIAL_COLUMNS)} FROM sweep_trials WHERE sweep_id = ? AND number = ?", (sweep_id, number)
        ).fetchone()
        return self._decode(row)

    @staticmethod
    def _decode(row: Sequence[Any]) -> Trial:
        values = dict(zip(_TRIAL_COLUMNS, row, strict=True))
        values["params"] = json.loads(values["params"])
        values["history"] = tuple(math.nan if value is None else value for value in json.loads(values["history"]))
        values["stop_requested"] = bool(values["stop_requested"])
        return Trial(**values)
