"""The ``jupyter-tracker`` command: thin click commands over the library's public functions.

Each topic lives in its own module and is registered on :data:`main` below.
"""

from __future__ import annotations

import click


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="jupyter_tracker")
def main() -> None:
    """Notebook-first experiment tracking.

    Runs are kept under ./jupyter_tracker/ (or $WANDB_DIR). Start with `jupyter-tracker demo`,
    then `jupyter-tracker ls` to see what was recorded.
    """


def _register() -> None:
    """Adds every topic's commands; each module holds one topic."""
    from jupyter_tracker.cli import code_commands, demo_command, store_commands

    for command in store_commands.COMMANDS + demo_command.COMMANDS + code_commands.COMMANDS:
        main.add_command(command)
    from jupyter_tracker.cli import sync_commands

    for command in sync_commands.COMMANDS:
        main.add_command(command)
    from jupyter_tracker.cli import server_commands

    for command in server_commands.COMMANDS:
        main.add_command(command)
    from jupyter_tracker.cli import sweep_commands

    for command in sweep_commands.COMMANDS:
        main.add_command(command)
    from jupyter_tracker.cli import run_command

    for command in run_command.COMMANDS:
        main.add_command(command)
    from jupyter_tracker.cli import tensorboard_commands

    for command in tensorboard_commands.COMMANDS:
        main.add_command(command)
    from jupyter_tracker.cli import report_commands

    for command in report_commands.COMMANDS:
        main.add_command(command)


_register()
