"""Hyperparameter sweeps with wandb's configuration format: search, controller state and agents.

>>> sweep_id = jupyter_tracker.sweep({"method": "random", "metric": {"name": "loss"},
...     "parameters": {"lr": {"min": 0.001, "max": 0.1}}}, project="demo")  # doctest: +SKIP
>>> jupyter_tracker.agent(sweep_id, function=train, count=10)  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from jupyter_tracker.sweeps.config import SweepConfig, SweepConfigError, parse_config
from jupyter_tracker.sweeps.trials import Sweep, Trial

__all__ = ["SweepConfig", "SweepConfigError", "Sweep", "Trial", "agent", "parse_config", "sweep", "sweep_store", "view"]


def _short_id(sweep_id: str) -> str:
    """wandb also accepts ``entity/project/sweep_id``; the store knows sweeps by the last part."""
    return str(sweep_id).rstrip("/").rsplit("/", 1)[-1]


def sweep_store(project: str | None = None, entity: str | None = None) -> Any:
    """The store this process's runs use (the tracking server when logged in, else the local store)."""
    from jupyter_tracker import settings as settings_module
    from jupyter_tracker.sweeps.stores import store_for

    return store_for(settings_module.resolve({"project": project, "entity": entity}))


def sweep(
    sweep: Mapping[str, Any] | str | Path,
    entity: str | None = None,
    project: str | None = None,
    prior_runs: Any = None,
) -> str:
    """Checks a sweep configuration (a dict or a YAML file), stores the sweep and returns its id.

    The configuration is checked before anything is stored: an error names the key at fault.
    """
    from jupyter_tracker import console
    from jupyter_tracker import settings as settings_module
    from jupyter_tracker.sweeps.stores import store_for

    config = parse_config(sweep)
    if prior_runs:
        console.warn_once("sweep-prior-runs", "sweep(prior_runs=...) is not supported yet: the sweep starts without them")
    resolved = settings_module.resolve({"project": project or config.project, "entity": entity or config.entity})
    store = store_for(resolved)
    sweep_id = store.create_sweep(config, resolved.project, resolved.entity)
    console.info(f"sweep {sweep_id} created ({config.method}, project {resolved.project}); "
                 f"start agents with jupyter_tracker.agent({sweep_id!r}, function=...) or `jupyter-tracker agent {sweep_id}`")
    return sweep_id


def agent(
    sweep_id: str,
    function: Callable[[], Any] | None = None,
    entity: str | None = None,
    project: str | None = None,
    count: int | None = None,
) -> list[Trial]:
    """Runs trials of a sweep: ``function()`` in this process, or the sweep's program when None.

    Inside ``function``, ``jupyter_tracker.init()`` starts the trial's run with the suggested
    values in ``run.config``. Returns the trials this agent ran.
    """
    from jupyter_tracker import settings as settings_module
    from jupyter_tracker.sweeps.stores import store_for
    from jupyter_tracker.sweeps.sweep_agent import Agent

    resolved = settings_module.resolve({"project": project, "entity": entity})
    store = store_for(resolved)
    runner = Agent(store, _short_id(sweep_id), function=function, count=count, settings=resolved)
    shown = _show_in_notebook(store, runner.sweep_id) if function is not None else None
    if shown is not None:
        runner.trial_settings["live"] = "off"  # the sweep's view stands for its trials' live panels
    try:
        return runner.run()
    finally:
        if shown is not None:
            _final_view(*shown)


def view(sweep_id: str, project: str | None = None, entity: str | None = None) -> Any:
    """The live notebook view of a sweep: progress, parallel coordinates, best run, parameter importance."""
    from jupyter_tracker.notebook.sweep_view import sweep_view

    return sweep_view(sweep_id, project=project, entity=entity)


def _show_in_notebook(store: Any, sweep_id: str) -> tuple[Any, Any] | None:
    """In a Jupyter kernel, an agent shows its sweep's live view under the cell; returns it and its display."""
    import sys

    ipython = sys.modules.get("IPython")  # only looked at when already loaded: scripts never import it
    shell = ipython.get_ipython() if ipython is not None else None
    if shell is None or getattr(shell, "kernel", None) is None:
        return None
    try:
        from IPython.display import display

        from jupyter_tracker.notebook.sweep_view import SweepView

        shown = SweepView(store, sweep_id)
        return shown, display(shown, display_id=True)
    except Exception as error:  # the view is optional; the trials run without it
        _view_failed(error)
        return None


def _final_view(shown: Any, handle: Any) -> None:
    """The agent is done: the output is replaced by the final view, so a saved notebook keeps it."""
    try:
        shown.refresh()
        handle.update(shown)
    except Exception as error:  # the view is optional; the trials are recorded
        _view_failed(error)


def _view_failed(error: Exception) -> None:
    from jupyter_tracker import console

    console.warn_once("sweep-view", f"could not show the sweep view ({type(error).__name__}: {error})")
