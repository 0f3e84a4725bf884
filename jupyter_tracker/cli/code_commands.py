"""``jupyter-tracker restore``: brings a run's code back (its commit, then its uncommitted diff)."""

from __future__ import annotations

from pathlib import Path

import click


@click.command()
@click.argument("run")
@click.option("--dir", "directory", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Store holding the run: a directory holding jupyter_tracker/ (or that folder itself). "
                   "Default: $WANDB_DIR or ./jupyter_tracker.")
@click.option("--repo", type=click.Path(file_okay=False, path_type=Path), default=Path("."), show_default=True,
              help="The git work tree to restore into.")
@click.option("--print-only", "print_only", is_flag=True, help="Only print the git commands; change nothing.")
def restore(run: str, directory: Path | None, repo: Path, print_only: bool) -> None:
    """Check out RUN's git commit and apply its uncommitted diff (files/diff.patch).

    RUN is a run id, `project/id` or a run directory. Refuses to run when the work tree has
    uncommitted changes, so nothing of yours is overwritten; --print-only shows the commands.
    """
    from jupyter_tracker.code.restore import RestoreError, describe, plan_code_restore, restore_code
    from jupyter_tracker.settings import resolve

    root = resolve({"dir": str(directory)}).root if directory is not None else None
    try:
        if print_only:
            click.echo(describe(plan_code_restore(run, root=root)))
            return
        plan = restore_code(run, repo=repo, root=root)
    except RestoreError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"checked out {plan.commit}" + (f" and applied {plan.diff_path}" if plan.diff_path else ""))
    click.echo("(a detached HEAD: `git switch -c <branch>` keeps work you do from here)")


COMMANDS = [restore]
