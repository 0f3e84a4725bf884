"""The run side of a sweep trial: ``init()`` inside an agent's function or program gets the suggestion.

An agent writes the trial's parameter file and names it in the run's settings
(``WANDB_SWEEP_PARAM_PATH`` for a program, :func:`jupyter_tracker.settings.sweep_trial` for a
function). When the run starts, :func:`attach` locks the suggested values into ``run.config``
(a later change warns and is ignored, as in wandb) and, for a hyperband sweep, reports the
sweep metric's values as the run logs them. In a program started by an agent, SIGTERM (the
agent stopping the trial early) exits through ``atexit``, so the run is finished with what it
logged instead of being cut off.
"""

from __future__ import annotations

import json
import math
import signal
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from jupyter_tracker import console
from jupyter_tracker.store import records
from jupyter_tracker.sweeps.search import nest
from jupyter_tracker.sweeps.stores import SweepStore, open_location

#: seconds between metric reports to the sweep's store
REPORT_INTERVAL = 0.5


def write_trial_file(path: Path, trial: Mapping[str, Any]) -> Path:
    """Writes a trial's parameter file atomically (the run's process may start reading at once)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    partial.write_text(json.dumps(trial, allow_nan=True), encoding="utf-8")
    partial.replace(path)
    return path


def read_trial_file(path: str | Path) -> dict[str, Any]:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def attach(run: Any) -> None:
    """Start hook: applies the trial's parameters to a run started by a sweep agent."""
    path = run.settings.sweep_param_path
    if not path:
        return
    trial = read_trial_file(path)
    run.config.lock(nest(trial["params"]), owner="sweep")
    run.sweep_id = trial["sweep_id"]
    if run.disabled:
        return  # mode="disabled": the function still sees its values; nothing is recorded
    store = open_location(trial["store"], run.settings)
    if trial.get("run_id") != run.id:
        store.bind_run(trial["sweep_id"], trial["number"], run.id)
    if trial.get("report_metric") and trial.get("metric"):
        MetricReporter(run, store, trial["sweep_id"], trial["number"], trial["metric"]).start()
    if trial.get("program"):
        _finish_on_sigterm()


def _finish_on_sigterm() -> None:
    """Only where the program left SIGTERM alone, and only from the main thread (Python's rule)."""
    if threading.current_thread() is not threading.main_thread():
        return
    if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _exit_cleanly)


def _exit_cleanly(signum: int, frame: Any) -> None:
    raise SystemExit(0)


class MetricReporter:
    """Sends the sweep metric's logged values to the sweep's store, for hyperband, from a daemon thread."""

    def __init__(self, run: Any, store: SweepStore, sweep_id: str, number: int, metric: str) -> None:
        self._store = store
        self._sweep_id = sweep_id
        self._number = number
        self._metric = metric
        self._values: list[float] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="jupyter-tracker-sweep-report", daemon=True)
        run.add_record_observer(self._observe)
        run.on_finish(lambda _run: self.stop())

    def start(self) -> None:
        self._thread.start()

    def _observe(self, first_seq: int, batch: list[Any]) -> None:
        found = []
        for record in batch:
            if record[0] == records.HISTORY and self._metric in record[4]:
                value = record[4][self._metric]
                try:
                    found.append(float(value))
                except (TypeError, ValueError):
                    found.append(math.nan)
        if found:
            with self._lock:
                self._values.extend(found)

    def _send(self) -> None:
        with self._lock:
            values, self._values = self._values, []
        if not values:
            return
        try:
            self._store.report(self._sweep_id, self._number, values)
        except Exception as error:  # the sweep's bookkeeping must not break the training loop
            console.warn_once("sweep-report", f"could not report {self._metric} to the sweep ({type(error).__name__}: {error})")

    def _loop(self) -> None:
        while not self._stop.wait(REPORT_INTERVAL):
            self._send()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
        self._send()
