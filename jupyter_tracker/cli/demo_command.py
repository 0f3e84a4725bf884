"""``jupyter-tracker demo``: one real tracked run end to end, for a first look."""

from __future__ import annotations

from pathlib import Path

import click


@click.command()
@click.option("--epochs", default=20, show_default=True, help="Training epochs (80 steps each).")
@click.option("--dir", "directory", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Where run directories go (default ./jupyter_tracker or $WANDB_DIR).")
@click.option("--offline", is_flag=True, help="Keep the run local: no tracking server.")
def demo(epochs: int, directory: Path | None, offline: bool) -> None:
    """Train a small model as a tracked run and show where its data went.

    Logistic regression in numpy on synthetic data: metrics are logged every step, validation
    every epoch, and the run is then listed and read back as a pandas DataFrame.
    """
    from jupyter_tracker.api import Api
    from jupyter_tracker.demo import train

    run = train(epochs=epochs, directory=directory, mode="offline" if offline else None)
    frame = Api().run(f"{run.project}/{run.id}").history(samples=5)
    click.echo("")
    click.echo(f"Run {run.name} ({run.id}) is {run.state}.")
    click.echo(f"  run directory: {run.dir}")
    click.echo(f"  summary:       {dict(run.summary)}")
    click.echo("  history (5 of its rows, via jupyter_tracker.Api):")
    click.echo("    " + frame.to_string(max_cols=6).replace("\n", "\n    "))
    click.echo("Next: `jupyter-tracker ls` lists runs; `jupyter-tracker export <id> --format csv` writes one.")


COMMANDS = [demo]
