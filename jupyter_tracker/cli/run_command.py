"""``jupyter-tracker run -- python train.py``: a program (and every process it starts) sees jupyter_tracker as wandb."""

from __future__ import annotations

import subprocess
import sys

import click


@click.command(context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False})
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
def run(command: tuple[str, ...]) -> None:
    """Run COMMAND with `import wandb` giving jupyter_tracker, e.g. `jupyter-tracker run -- python train.py`.

    Sets JUPYTER_TRACKER_AS_WANDB=1 for the command, so the framework integrations that call
    wandb (Lightning, transformers, accelerate, Keras) record runs here, in the command and in
    every Python process it starts (launchers, workers). Exits with the command's exit status.
    """
    from jupyter_tracker import settings

    settings.set_as_wandb(True)  # inherited by the command and everything it starts
    try:
        completed = subprocess.run(list(command), check=False)
    except FileNotFoundError:
        raise click.ClickException(f"command not found: {command[0]}") from None
    except KeyboardInterrupt:
        sys.exit(130)
    sys.exit(completed.returncode if completed.returncode >= 0 else 128 - completed.returncode)


COMMANDS = [run]
