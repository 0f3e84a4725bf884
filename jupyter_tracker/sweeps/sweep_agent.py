"""A sweep agent: claims suggestions from the sweep's store and runs each as a trial.

A trial is either a call of the user's function in this process (``agent(id, function=train)``:
``init()`` inside it picks up the suggestion) or the sweep's ``program``/``command`` run as a
subprocess (``jupyter-tracker agent ID``). A heartbeat thread renews the agent's lease on its
trial and carries stop orders back (hyperband, a cancelled sweep): a subprocess is terminated,
a function is interrupted at its next bytecode with :class:`TrialStopped`.
"""

from __future__ import annotations

import ctypes
import signal
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from jupyter_tracker import console
from jupyter_tracker import settings as settings_module
from jupyter_tracker.limits import LIMITS, LimitWarning
from jupyter_tracker.sweeps.command_line import expand_command
from jupyter_tracker.sweeps.config import SweepConfigError, parse_config
from jupyter_tracker.sweeps.local_store import DEFAULT_LEASE_SECONDS
from jupyter_tracker.sweeps.search import nest
from jupyter_tracker.sweeps.stores import SweepStore, location
from jupyter_tracker.sweeps.trial_run import write_trial_file
from jupyter_tracker.sweeps.trials import Trial

#: the lease and heartbeat of agents on a tracking server (20 agents: 120 heartbeats a minute)
REMOTE_LEASE_SECONDS = 60.0
REMOTE_HEARTBEAT_SECONDS = 10.0


class TrialStopped(BaseException):
    """Raised inside a trial's function when the sweep stops that trial (hyperband, cancel).

    A BaseException, like KeyboardInterrupt, so a training loop's ``except Exception`` does not
    swallow it. It arrives at the function's next bytecode: code that must not be cut short
    (writing a checkpoint) can catch it, finish, and return.
    """


class Agent:
    """Runs trials of one sweep until it is done, ``count`` trials have run, or it is interrupted.

    >>> Agent(store, sweep_id, function=train, count=5).run()  # doctest: +SKIP
    """

    def __init__(
        self,
        store: SweepStore,
        sweep_id: str,
        function: Callable[[], Any] | None = None,
        count: int | None = None,
        settings: settings_module.Settings | None = None,
        lease_seconds: float | None = None,
        heartbeat_seconds: float | None = None,
        poll_seconds: float = 1.0,
        trial_settings: Mapping[str, Any] | None = None,
    ) -> None:
        if count is not None and count < 1:
            raise ValueError(f"count: expected a positive number of trials, got {count!r}")
        self.store = store
        self.sweep_id = sweep_id
        self.function = function
        self.count = count
        self.settings = settings or settings_module.resolve({})
        # a server shares its rate limit among all agents of a key: beat less often there
        remote = location(store)["kind"] == "server"
        self.lease_seconds = lease_seconds or (REMOTE_LEASE_SECONDS if remote else DEFAULT_LEASE_SECONDS)
        self.heartbeat_seconds = heartbeat_seconds or (REMOTE_HEARTBEAT_SECONDS if remote else 2.0)
        self.poll_seconds = poll_seconds
        #: settings every trial's run gets (a notebook agent turns the per-run live panel off)
        self.trial_settings = dict(trial_settings or {})
        self.sweep = store.get_sweep(sweep_id)
        self.config = parse_config(self.sweep.config)
        if function is None and "${program}" in self.config.command and not self.config.program:
            raise SweepConfigError("program", "an agent without a function runs the sweep's program; add program: train.py")
        self.trials_run: list[Trial] = []
        self.agent_id: str | None = None
        self._current: Trial | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._trial_thread: int | None = None
        self._signalled: set[int] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()

    # the loop ----------------------------------------------------------------------------------
    def run(self) -> list[Trial]:
        """Claims and runs trials; returns the trials this agent ran."""
        agent_id, alive = self.store.register_agent(self.sweep_id)
        self.agent_id = agent_id
        bound = LIMITS["parallel_agents"].bound
        if alive > bound:
            console.warning(LimitWarning("parallel_agents", bound, alive, f"sweep {self.sweep_id}"))
        beat = threading.Thread(target=self._heartbeat_loop, name="jupyter-tracker-sweep-heartbeat", daemon=True)
        beat.start()
        try:
            while self.count is None or len(self.trials_run) < self.count:
                claim = self.store.claim(self.sweep_id, agent_id, self.lease_seconds)
                if claim.status == "done":
                    break
                if claim.status == "wait" or claim.trial is None:
                    time.sleep(self.poll_seconds)
                    continue
                self.trials_run.append(self._run_trial(claim.trial))
        finally:
            self._stop.set()
            beat.join(timeout=self.heartbeat_seconds + 5)
            self.store.deregister_agent(agent_id)
        return self.trials_run

    def _heartbeat_loop(self) -> None:
        while not self._stop.wait(self.heartbeat_seconds):
            try:
                to_stop = self.store.heartbeat(self.agent_id or "", self.lease_seconds)
            except Exception as error:  # a missed beat is retried; the lease outlasts a few of them
                console.warn_once("sweep-heartbeat", f"sweep heartbeat failed ({type(error).__name__}: {error}); retrying")
                continue
            with self._lock:
                current = self._current
                if current is not None and current.number in to_stop and current.number not in self._signalled:
                    self._signalled.add(current.number)
                    self._interrupt()

    def _interrupt(self) -> None:
        """Stops the running trial (called with the lock held, so the trial cannot end meanwhile)."""
        if self._process is not None and self._process.poll() is None:
            self._process.send_signal(signal.SIGTERM)
        elif self._trial_thread is not None:
            ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(self._trial_thread), ctypes.py_object(TrialStopped))

    # one trial ---------------------------------------------------------------------------------
    def _trial_file(self, trial: Trial) -> Path:
        directory = self.settings.root / "sweeps" / self.sweep_id
        metric = self.config.metric
        return write_trial_file(directory / f"trial-{trial.number}.json", {
            "sweep_id": self.sweep_id, "number": trial.number, "run_id": trial.run_id, "params": trial.params,
            "metric": metric.name if metric else None, "report_metric": self.config.hyperband is not None,
            "store": location(self.store), "program": self.function is None,
        })

    def _run_trial(self, trial: Trial) -> Trial:
        console.info(f"sweep {self.sweep_id}: trial {trial.number} ({trial.run_id}) with {nest(trial.params)}")
        param_file = self._trial_file(trial)
        if self.function is not None:
            state, error, value = self._call_function(trial, param_file)
        else:
            state, error, value = self._run_program(trial, param_file)
        try:
            self.store.finish_trial(self.sweep_id, trial.number, state, value, error)
        except Exception as failure:  # the lease will expire and the trial be marked lost instead
            console.warn_once("sweep-finish", f"could not record trial {trial.number} ({type(failure).__name__}: {failure})")
        return trial.__class__(**{**trial.as_dict(), "history": trial.history, "state": state, "value": value, "error": error})

    def _metric_value(self, summary: Any) -> float | None:
        if self.config.metric is None or summary is None:
            return None
        try:
            value = summary[self.config.metric.name]
            return float(value)
        except (KeyError, TypeError, ValueError):
            return None

    def _call_function(self, trial: Trial, param_file: Path) -> tuple[str, str | None, float | None]:
        from jupyter_tracker import sdk

        assert self.function is not None
        state, error = "finished", None
        overrides = {"sweep_id": self.sweep_id, "sweep_param_path": str(param_file), "run_id": trial.run_id,
                     "project": self.sweep.project}
        if self.sweep.entity:
            overrides["entity"] = self.sweep.entity
        try:
            with settings_module.sweep_trial({**self.trial_settings, **overrides}):
                with self._lock:
                    self._current, self._trial_thread = trial, threading.get_ident()
                try:
                    self.function()
                finally:
                    with self._lock:  # a stop arriving now is raised here, still inside the try
                        self._current, self._trial_thread = None, None
        except TrialStopped:
            state, error = "stopped", "stopped by the sweep"
        except KeyboardInterrupt:
            # the agent ends here; its trial stays leased until the agent deregisters, then goes to the next agent
            run = sdk.current_run()
            if run is not None and run.id == trial.run_id:
                run.state = "killed"
                run.finish(exit_code=130, quiet=True)
            raise
        except Exception as failure:
            state, error = "failed", f"{type(failure).__name__}: {failure}"
            console.error(f"sweep {self.sweep_id}: trial {trial.number} failed\n{traceback.format_exc()}")
        run = sdk.current_run()
        value = None
        if run is not None and run.id == trial.run_id:
            value = self._metric_value(run.summary)
            if state == "failed":
                run.state = "failed"
            run.finish(exit_code=0 if state != "failed" else 1, quiet=True)
        elif trial.run_id is not None:
            value = self._indexed_value(trial.run_id)
        return state, error, value

    def _indexed_value(self, run_id: str) -> float | None:
        from jupyter_tracker.store.index import RunIndex

        row = RunIndex(self.settings.root).get(run_id)
        return self._metric_value(row["summary"]) if row else None

    def _run_program(self, trial: Trial, param_file: Path) -> tuple[str, str | None, float | None]:
        argv = expand_command(self.config.command, nest(trial.params), self.config.program,
                              param_file.with_name(f"trial-{trial.number}-args.json"))
        environment = {
            "WANDB_SWEEP_ID": self.sweep_id, "WANDB_SWEEP_PARAM_PATH": str(param_file),
            "WANDB_RUN_ID": trial.run_id or "", "WANDB_PROJECT": self.sweep.project,
            "WANDB_DIR": str(self.settings.root),
        }
        if self.sweep.entity:
            environment["WANDB_ENTITY"] = self.sweep.entity
        try:
            with self._lock:
                self._current = trial
                self._process = subprocess.Popen(argv, env=settings_module.child_environment(environment),
                                                 preexec_fn=_end_with_parent if sys.platform == "linux" else None)
            code = self._process.wait()
        except OSError as failure:
            return "failed", f"could not start {argv[0]!r}: {failure}", None
        finally:
            with self._lock:
                self._current, self._process = None, None
        value = self._indexed_value(trial.run_id) if trial.run_id else None
        if trial.number in self._signalled:
            return "stopped", "stopped by the sweep", value
        if code != 0:
            return "failed", f"exit code {code}", value
        return "finished", None, value


def _end_with_parent() -> None:
    """In the trial's process before it starts: a SIGKILLed agent takes its trial down with it (Linux).

    SIGKILL, not SIGTERM: the trial is lost and handed to another agent, so its run must end as
    crashed, not finish as if it had completed.
    """
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
