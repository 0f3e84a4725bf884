"""Runs the tracking server under uvicorn, after migrating the database and making a first key.

>>> from jupyter_tracker.server.config import ServerConfig
>>> serve(ServerConfig(db_url="sqlite:///server.sqlite"), port=8600)  # doctest: +SKIP
"""

from __future__ import annotations

import getpass
import os

from jupyter_tracker.server import api_keys
from jupyter_tracker.server.config import CONFIG_ENVIRONMENT_NAME, DEFAULT_HOST, DEFAULT_PORT, ServerConfig
from jupyter_tracker.server.storage import Storage, open_storage


def default_user() -> str:
    """The OS user name, the owner of the first key."""
    try:
        return getpass.getuser()
    except Exception:  # no passwd entry (containers)
        return "admin"


def prepare(config: ServerConfig, first_user: str | None = None) -> api_keys.NewKey | None:
    """Creates or migrates the database; on a database without keys, makes a user and its first key."""
    if config.db_url.startswith("sqlite:///"):
        path = config.db_url[len("sqlite:///") :]
        if path and path != ":memory:":
            os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    config.data_dir.mkdir(parents=True, exist_ok=True)
    storage: Storage = open_storage(config.db_url)
    try:
        if storage.list_keys():
            return None
        return storage.create_key(user=first_user or default_user())
    finally:
        storage.close()


def serve(
    config: ServerConfig, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, workers: int = 1, log_level: str = "info"
) -> None:
    """Serves until interrupted. The access log shows method, path and status, never headers (keys)."""
    import uvicorn

    os.environ[CONFIG_ENVIRONMENT_NAME] = config.to_json()  # read again by each worker process
    uvicorn.run(
        "jupyter_tracker.server.app:app_from_environment",
        factory=True,
        host=host,
        port=port,
        workers=workers if workers > 1 else None,
        log_level=log_level,
        access_log=True,
        proxy_headers=False,  # the client IP used for rate limits is the peer's, not a header's
        server_header=False,
    )
