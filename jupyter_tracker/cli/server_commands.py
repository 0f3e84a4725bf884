"""``jupyter-tracker server`` and ``jupyter-tracker keys``: run the tracking server, manage its API keys."""

from __future__ import annotations

import datetime

import click

from jupyter_tracker.server.config import (
    DEFAULT_HOST,
    DEFAULT_MAX_BATCH_BYTES,
    DEFAULT_MAX_FILE_BYTES,
    DEFAULT_MAX_RECORD_BYTES,
    DEFAULT_PORT,
    DEFAULT_RATE_LIMIT,
)

_DB_HELP = "Database URL: sqlite:///PATH or postgresql://USER@HOST/DB (default: ~/.jupyter_tracker/server.sqlite)."


def _show_key(key: str, owner: str) -> None:
    click.echo(f"API key for {owner} (shown once; store it now, e.g. `jupyter-tracker login --key ...`):")
    click.echo(f"  {key}")


@click.command()
@click.option("--host", default=DEFAULT_HOST, show_default=True, help="Address to listen on.")
@click.option("--port", default=DEFAULT_PORT, show_default=True, type=int, help="Port to listen on.")
@click.option("--db", "db_url", default=None, help=_DB_HELP)
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64), help="Server processes.")
@click.option(
    "--rate-limit",
    default=DEFAULT_RATE_LIMIT,
    show_default=True,
    help="Requests allowed per API key and per client IP, e.g. 200/minute or 10/second.",
)
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False),
    default=None,
    help="Where uploaded files go (default: ~/.jupyter_tracker/files).",
)
@click.option("--user", default=None, help="Owner of the first API key on a new database (default: your OS user).")
@click.option(
    "--max-batch-bytes",
    default=DEFAULT_MAX_BATCH_BYTES,
    show_default=True,
    type=int,
    help="Largest accepted batch of records.",
)
@click.option(
    "--max-record-bytes",
    default=DEFAULT_MAX_RECORD_BYTES,
    show_default=True,
    type=int,
    help="Largest records payload accepted in parts (one log call; the guideline is 25 MB).",
)
@click.option(
    "--max-file-bytes",
    default=DEFAULT_MAX_FILE_BYTES,
    show_default=True,
    type=int,
    help="Largest accepted file upload.",
)
@click.option(
    "--log-level",
    default="info",
    show_default=True,
    type=click.Choice(["critical", "error", "warning", "info", "debug"]),
)
def server(
    host: str,
    port: int,
    db_url: str | None,
    workers: int,
    rate_limit: str,
    data_dir: str | None,
    user: str | None,
    max_batch_bytes: int,
    max_file_bytes: int,
    max_record_bytes: int,
    log_level: str,
) -> None:
    """Run the tracking server (SQLite by default, PostgreSQL with --db postgresql://...).

    On a new database it creates a user (--user, default your OS user name) and prints that
    user's first API key, once.
    """
    from jupyter_tracker.server.config import ServerConfig
    from jupyter_tracker.server.serve import default_user, prepare, serve

    values: dict[str, object] = {
        "rate_limit": rate_limit,
        "max_batch_bytes": max_batch_bytes,
        "max_file_bytes": max_file_bytes,
        "max_record_bytes": max_record_bytes,
    }
    if db_url:
        values["db_url"] = db_url
    if data_dir:
        values["data_dir"] = data_dir
    try:
        config = ServerConfig(**values)  # type: ignore[arg-type]
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    owner = user or default_user()
    first = prepare(config, owner)
    if first is not None:
        click.echo(f"New server database: created its first user, {owner}.")
        _show_key(first.key, owner)
    serve(config, host=host, port=port, workers=workers, log_level=log_level)


@click.group()
def keys() -> None:
    """Manage the API keys of a tracking server's database (users, teams, service accounts)."""


def _storage(db_url: str | None):  # type: ignore[no-untyped-def]
    from jupyter_tracker.server.config import default_db_url
    from jupyter_tracker.server.storage import open_storage

    return open_storage(db_url or default_db_url())


_db_option = click.option("--db", "db_url", default=None, help=_DB_HELP)


@keys.command("create")
@click.option("--user", default=None, help="The user the key belongs to (created when new).")
@click.option("--team", default=None, help="With --user: make the user a member. With --service: the key's team.")
@click.option("--service", is_flag=True, help="A service-account key of --team (attribution via WANDB_USERNAME).")
@_db_option
def keys_create(user: str | None, team: str | None, service: bool, db_url: str | None) -> None:
    """Create a key: `keys create --user alice [--team research]` or `keys create --team research --service`."""
    from jupyter_tracker.server.storage import StorageError

    storage = _storage(db_url)
    try:
        made = storage.create_key(user=user, team=team, service=service)
    except StorageError as exc:
        raise click.UsageError(exc.message) from None
    finally:
        storage.close()
    _show_key(made.key, f"team {team} (service account)" if service else str(user))
    click.echo(f"key id: {made.key_id}")


def _when(value: float | None) -> str:
    if value is None:
        return "-"
    return datetime.datetime.fromtimestamp(value).strftime("%Y-%m-%d %H:%M")


@keys.command("list")
@_db_option
def keys_list(db_url: str | None) -> None:
    """List keys: id, owner, kind, created, revoked (never the keys themselves)."""
    storage = _storage(db_url)
    try:
        rows = storage.list_keys()
    finally:
        storage.close()
    click.echo(f"{'KEY ID':<14}{'OWNER':<24}{'KIND':<9}{'CREATED':<18}{'REVOKED':<18}ROTATED FROM")
    for row in rows:
        click.echo(
            f"{row['key_id']:<14}{row['owner']:<24}{row['kind']:<9}{_when(row['created']):<18}"
            f"{_when(row['revoked']):<18}{row['rotated_from'] or '-'}"
        )


@keys.command("revoke")
@click.argument("key_id")
@_db_option
def keys_revoke(key_id: str, db_url: str | None) -> None:
    """Revoke a key at once (requests with it get 401)."""
    storage = _storage(db_url)
    try:
        done = storage.revoke_key(key_id)
    finally:
        storage.close()
    if not done:
        raise click.ClickException(f"no active key with id {key_id}")
    click.echo(f"revoked key {key_id}")


@keys.command("rotate")
@click.argument("key_id")
@_db_option
def keys_rotate(key_id: str, db_url: str | None) -> None:
    """Make a new key for the same owner; the old key stays valid until you revoke it."""
    from jupyter_tracker.server.storage import StorageError

    storage = _storage(db_url)
    try:
        made = storage.rotate_key(key_id)
    except StorageError as exc:
        raise click.ClickException(exc.message) from None
    finally:
        storage.close()
    _show_key(made.key, f"the owner of {key_id}")
    click.echo(f"key id: {made.key_id} (revoke the old one with `jupyter-tracker keys revoke {key_id}`)")


COMMANDS = [server, keys]
