"""Starts a private SQLite tracking server as a child process, for the demo and one-off use.

It listens on a free loopback port, with its own database and file store under the user's
``~/.jupyter_tracker/embedded/``, and hands out one API key that is revoked when it stops, so
no key outlives the session and none is ever printed or written to a log.
"""

from __future__ import annotations

import contextlib
import dataclasses
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from jupyter_tracker import settings

_STARTUP_SECONDS = 60.0


@dataclasses.dataclass(frozen=True)
class EmbeddedServer:
    """Where the embedded server answers and the key that reaches it."""

    base_url: str
    api_key: str
    db_url: str
    log_path: Path


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until_healthy(base_url: str, process: subprocess.Popen[bytes], log_path: Path,
                       timeout: float = _STARTUP_SECONDS) -> None:
    """Waits for a server process's health endpoint; raises when it exits or stays silent."""
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with {process.returncode}; see {log_path}")
        try:
            if httpx.get(f"{base_url}/api/v1/health", timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"the server did not answer within {timeout:.0f} s; see {log_path}")


@contextlib.contextmanager
def embedded_server(home: Path | None = None) -> Iterator[EmbeddedServer]:
    """Runs ``jupyter-tracker server`` on SQLite for the duration of the ``with`` block."""
    from jupyter_tracker.server.serve import default_user
    from jupyter_tracker.server.storage import open_storage

    home = Path(home) if home is not None else settings.user_config_dir() / "embedded"
    home.mkdir(parents=True, exist_ok=True)
    db_url = f"sqlite:///{home / 'server.sqlite'}"
    storage = open_storage(db_url)
    try:
        new_key = storage.create_key(user=default_user())
    finally:
        storage.close()
    port = _free_port()
    base_url = f"http://127.0.0.1:{port}"
    log_path = home / "server.log"
    command = [
        sys.executable, "-c", "from jupyter_tracker.cli import main; main()", "server",
        "--port", str(port), "--db", db_url, "--data-dir", str(home / "files"), "--log-level", "warning",
    ]
    with log_path.open("ab") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_until_healthy(base_url, process, log_path)
        yield EmbeddedServer(base_url, new_key.key, db_url, log_path)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        storage = open_storage(db_url)
        try:
            storage.revoke_key(new_key.key_id)
        finally:
            storage.close()
