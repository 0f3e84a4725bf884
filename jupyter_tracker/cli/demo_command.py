"""``jupyter-tracker demo``: one real tracked run end to end, for a first look."""

from __future__ import annotations

import contextlib
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
    every epoch. Unless --offline, a private SQLite tracking server is started on loopback for
    the run to sync to in the background, and the history is read back from it.
    """
    from jupyter_tracker.api import Api
    from jupyter_tracker.demo import train

    with contextlib.ExitStack() as stack:
        server = None
        if not offline:
            from jupyter_tracker.server.embedded import embedded_server

            server = stack.enter_context(embedded_server())
            click.echo(f"Tracking server (SQLite, {server.db_url}) listening on {server.base_url}")
        run = train(epochs=epochs, directory=directory, mode="offline" if offline else None,
                    server=(server.base_url, server.api_key) if server else None)
        if server is not None:
            api = Api(overrides={"base_url": server.base_url}, api_key=server.api_key)
            source = f"the tracking server at {server.base_url}"
        else:
            api = Api(overrides={"dir": str(directory)} if directory else None)
            source = "the local run store"
        stored = api.run(f"{run.project}/{run.id}")
        frame = stored.history(keys=["train/loss", "train/acc"], samples=6, pandas=True)
        click.echo("")
        click.echo(f"Run {run.name} ({run.id}) is {stored.state}.")
        click.echo(f"  run directory: {run.dir}")
        click.echo(f"  summary:       {dict(stored.summary)}")
        click.echo(f"  history of train/loss and train/acc, sampled, read back from {source}:")
        text = frame.to_string(max_cols=6) if hasattr(frame, "to_string") else str(frame)
        click.echo("    " + text.replace("\n", "\n    "))
    click.echo("Next: `jupyter-tracker ls` lists runs; `jupyter-tracker export <id> --format csv` writes one;")
    click.echo("      `jupyter-tracker server` runs a tracking server of your own.")


COMMANDS = [demo]
