"""``jupyter-tracker sweep`` and ``jupyter-tracker agent``: thin commands over :mod:`jupyter_tracker.sweeps`."""

from __future__ import annotations

from pathlib import Path

import click

_STATE_FLAGS = {"pause": "paused", "resume": "running", "stop": "stopped", "cancel": "cancelled"}


@click.command()
@click.argument("config_or_id")
@click.option("--project", default=None, help="Project of the sweep's runs (default: the config's, then $WANDB_PROJECT).")
@click.option("--entity", default=None, help="Entity of the sweep's runs (default: the config's, then $WANDB_ENTITY).")
@click.option("--pause", "action", flag_value="pause", help="Hand out no new trials until --resume.")
@click.option("--resume", "action", flag_value="resume", help="Hand out trials again after --pause.")
@click.option("--stop", "action", flag_value="stop", help="Start no new trials; running ones finish.")
@click.option("--cancel", "action", flag_value="cancel", help="Start no new trials and stop the running ones.")
@click.option("--status", "action", flag_value="status", help="Show the sweep's state and its trials.")
def sweep(config_or_id: str, project: str | None, entity: str | None, action: str | None) -> None:
    """Create a sweep from a YAML config, or pause/resume/stop/cancel one by id.

    The config is wandb's sweep configuration (method, metric, parameters, program, command,
    run_cap, early_terminate); a mistake is reported with the key at fault before anything runs.

        jupyter-tracker sweep sweep.yaml
        jupyter-tracker agent SWEEP_ID
        jupyter-tracker sweep --pause SWEEP_ID
    """
    from jupyter_tracker.sweeps import SweepConfigError, sweep_store
    from jupyter_tracker.sweeps import sweep as create_sweep
    from jupyter_tracker.sweeps.local_store import SweepNotFoundError

    if action is None:
        if not Path(config_or_id).is_file():
            raise click.UsageError(f"{config_or_id}: no such config file (to act on a sweep id, pass --pause, --resume, --stop, --cancel or --status)")
        try:
            sweep_id = create_sweep(Path(config_or_id), entity=entity, project=project)
        except SweepConfigError as error:
            raise click.ClickException(str(error)) from None
        click.echo(sweep_id)
        return
    store = sweep_store(project=project, entity=entity)
    sweep_id = config_or_id.rstrip("/").rsplit("/", 1)[-1]
    try:
        if action == "status":
            _show_status(store, sweep_id)
            return
        updated = store.set_state(sweep_id, _STATE_FLAGS[action])
    except SweepNotFoundError as error:
        raise click.ClickException(str(error)) from None
    except ValueError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"sweep {sweep_id} {updated.state}")


def _show_status(store: object, sweep_id: str) -> None:
    found = store.get_sweep(sweep_id)  # type: ignore[attr-defined]
    trials = store.trials(sweep_id)  # type: ignore[attr-defined]
    counts: dict[str, int] = {}
    for trial in trials:
        counts[trial.state] = counts.get(trial.state, 0) + 1
    summary = ", ".join(f"{count} {state}" for state, count in sorted(counts.items())) or "no trials yet"
    click.echo(f"sweep {sweep_id} ({found.config.get('method')}, project {found.project}): {found.state}; {summary}")
    for trial in trials:
        value = "" if trial.value is None else f" {trial.value:.6g}"
        click.echo(f"  {trial.number:>4} {trial.state:<9} {trial.run_id or '-':<10}{value} {trial.params}")


@click.command()
@click.argument("sweep_id")
@click.option("--count", type=click.IntRange(min=1), default=None, help="Run at most this many trials, then exit.")
@click.option("--project", default=None, help="Project of the sweep (default: $WANDB_PROJECT).")
@click.option("--entity", default=None, help="Entity of the sweep (default: $WANDB_ENTITY).")
def agent(sweep_id: str, count: int | None, project: str | None, entity: str | None) -> None:
    """Run trials of a sweep: its `program` (or `command`) once per suggestion, as a subprocess.

    Start up to 20 agents on one sweep, on this machine or on others logged in to the same server.
    Each trial's run gets the suggested values in its config (`init()` picks them up) and, with the
    default command, as `--name=value` arguments.
    """
    from jupyter_tracker.sweeps import agent as run_agent
    from jupyter_tracker.sweeps.local_store import SweepNotFoundError

    try:
        trials = run_agent(sweep_id, entity=entity, project=project, count=count)
    except SweepNotFoundError as error:
        raise click.ClickException(str(error)) from None
    states: dict[str, int] = {}
    for trial in trials:
        states[trial.state] = states.get(trial.state, 0) + 1
    click.echo(f"agent ran {len(trials)} trial(s): " + (", ".join(f"{n} {s}" for s, n in sorted(states.items())) or "none"))


COMMANDS = [sweep, agent]
