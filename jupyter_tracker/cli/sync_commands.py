"""``jupyter-tracker sync`` and ``jupyter-tracker login``: thin commands over :mod:`jupyter_tracker.sync`."""

from __future__ import annotations

from pathlib import Path

import click


@click.command()
@click.argument("run_dirs", nargs=-1, type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option(
    "--all",
    "sync_all",
    is_flag=True,
    help="Every run under ./jupyter_tracker (or $WANDB_DIR) not yet complete on the server.",
)
@click.option("--host", default=None, help="Server URL (default: $WANDB_BASE_URL, then the login file).")
@click.option("--key", default=None, help="API key (default: $WANDB_API_KEY, then the login file).")
@click.option("--entity", default=None, help="Entity to upload to (default: the run's, else the key's default).")
@click.option("--project", default=None, help="Project to upload to (default: the run's).")
@click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="With --all: the directory holding run directories.",
)
@click.option("--force", is_flag=True, help="With --all: also ask the server about runs already complete.")
def sync(
    run_dirs: tuple[Path, ...],
    sync_all: bool,
    host: str | None,
    key: str | None,
    entity: str | None,
    project: str | None,
    directory: Path | None,
    force: bool,
) -> None:
    """Upload run directories to the tracking server.

    Only what the server has not acknowledged is sent, so this is safe to run again at any time,
    e.g. after an offline run (WANDB_MODE=offline) or an upload cut short by a timeout.

        jupyter-tracker sync ./jupyter_tracker/run-20250101_120000-abc123
        jupyter-tracker sync --all
    """
    from jupyter_tracker import settings as settings_module
    from jupyter_tracker.sync.replay import all_run_dirs, sync_dirs
    from jupyter_tracker.sync.transport import SyncError

    if not run_dirs and not sync_all:
        raise click.UsageError("name run directories, or pass --all")
    settings = settings_module.resolve({"base_url": host, "api_key": key, "dir": directory})
    targets = list(run_dirs)
    if sync_all:
        targets += [path for path in all_run_dirs(settings.root, settings.base_url or "", force) if path not in targets]
        if not targets:
            click.echo(f"every run under {settings.root} is already on the server")
            return
    try:
        outcomes = sync_dirs(targets, settings, entity=entity, project=project)
    except SyncError as error:
        raise click.ClickException(str(error)) from None
    failed = [outcome for outcome in outcomes if outcome.error]
    for outcome in failed:
        click.echo(f"{outcome.run_dir}: {outcome.error}", err=True)
    if failed:
        raise click.ClickException(f"{len(failed)} of {len(targets)} runs not uploaded; run the command again")


@click.command()
@click.option("--host", default=None, help="Server URL, e.g. http://127.0.0.1:8600.")
@click.option("--key", default=None, help="API key (prompted for when omitted).")
@click.option("--relogin", is_flag=True, help="Replace the key stored for this server.")
@click.option("--no-verify", is_flag=True, help="Store the key without asking the server about it.")
def login(host: str | None, key: str | None, relogin: bool, no_verify: bool) -> None:
    """Store a tracking server's address and API key (in ~/.jupyter_tracker/login.json, mode 0600).

    Runs then sync to that server unless WANDB_BASE_URL / WANDB_API_KEY say otherwise.
    """
    from jupyter_tracker.sync.login import LoginError
    from jupyter_tracker.sync.login import login as do_login

    try:
        do_login(key=key, host=host, relogin=relogin or key is not None, verify=not no_verify)
    except LoginError as error:
        raise click.ClickException(str(error)) from None


COMMANDS = [sync, login]
