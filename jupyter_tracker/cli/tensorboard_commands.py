"""``jupyter-tracker import-tb DIR``: TensorBoard event files as runs (see :mod:`jupyter_tracker.tensorboard.importer`)."""

from __future__ import annotations

import click


@click.command("import-tb")
@click.argument("logdir", type=click.Path(exists=True, file_okay=False))
@click.option("--project", default=None, help="Project of the runs (default: WANDB_PROJECT or 'uncategorized').")
@click.option("--mode", type=click.Choice(["online", "offline"]), default=None,
              help="offline keeps the runs local; online also syncs them to the configured server.")
def import_tb(logdir: str, project: str | None, mode: str | None) -> None:
    """Imports the TensorBoard event files under LOGDIR: one run per folder holding event files.

    Scalars, histograms and images are logged at their TensorBoard step (as `global_step`).
    """
    from jupyter_tracker.tensorboard.importer import import_logdir

    options = {"mode": mode} if mode else {}
    try:
        runs = import_logdir(logdir, project=project, **options)
    except (FileNotFoundError, ImportError) as error:
        raise click.ClickException(str(error)) from None
    for run in runs:
        click.echo(f"{run.name}: {run.id} ({run.step} rows) in {run.dir}")


COMMANDS = [import_tb]
