"""``jupyter_tracker.login``: keeps a server address and its API key in the login file (mode 0600).

The file (``~/.jupyter_tracker/login.json``, see ``settings.login_file_path``) holds one key per
server and which server is current; ``settings.resolve`` falls back to it when neither an
argument nor ``WANDB_BASE_URL``/``WANDB_API_KEY`` names one. A key is never printed: messages
name the server and the key's owner only.
"""

from __future__ import annotations

import getpass
import json
import os
import sys
from pathlib import Path
from typing import Any

from jupyter_tracker import console
from jupyter_tracker import settings as settings_module

DEFAULT_HOST = "http://127.0.0.1:8600"


class LoginError(RuntimeError):
    """No key could be found or the server refused it; the message says what to do."""


def _normalise_host(host: str) -> str:
    host = host.strip().rstrip("/")
    if "://" not in host:
        host = "http://" + host
    return host


def write_login(host: str, key: str, path: Path | None = None) -> Path:
    """Stores ``key`` for ``host`` and makes ``host`` current; the file is created with mode 0600."""
    path = Path(path) if path is not None else settings_module.login_file_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    stored = settings_module.read_login_file() if path == settings_module.login_file_path() else {}
    hosts: dict[str, Any] = stored["hosts"] if isinstance(stored.get("hosts"), dict) else {}
    hosts[host] = {"key": key}
    content = json.dumps({"current": host, "hosts": hosts}, indent=1, sort_keys=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(content)
    os.chmod(temporary, 0o600)
    os.replace(temporary, path)
    return path


def stored_key(host: str) -> str | None:
    entry = (settings_module.read_login_file().get("hosts") or {}).get(host) or {}
    return entry.get("key") if isinstance(entry, dict) else None


def login(
    key: str | None = None,
    host: str | None = None,
    relogin: bool = False,
    verify: bool = True,
    timeout: float = 10.0,
    transport: Any = None,
) -> bool:
    """Logs in to a tracking server, as ``wandb.login``; returns True once a key is stored.

    The key comes from ``key``, then ``WANDB_API_KEY``, then the login file (unless ``relogin``),
    then a prompt when a terminal is attached. With ``verify`` the server is asked who the key
    belongs to; a refused key raises :class:`LoginError` and is not stored.

    >>> jupyter_tracker.login(key="jt_...", host="http://127.0.0.1:8600")  # doctest: +SKIP
    True
    """
    resolved = settings_module.resolve({"base_url": host} if host else {})
    host = _normalise_host(host or resolved.base_url or DEFAULT_HOST)
    if key is None:
        key = settings_module.environment_value("WANDB_API_KEY") or None
    if key is None and not relogin:
        key = stored_key(host)
        if key is not None:
            console.info(f"already logged in to {host} (pass relogin=True to use another key)")
            return True
    if key is None:
        if not sys.stdin or not sys.stdin.isatty():
            raise LoginError(
                f"no API key for {host}: pass key=..., set WANDB_API_KEY, "
                "or run `jupyter-tracker login --host URL --key KEY`"
            )
        key = getpass.getpass(f"API key for {host} (input hidden): ").strip()
    key = key.strip()
    if not key:
        raise LoginError("the API key is empty")
    who = ""
    if verify:
        who = _verify(host, key, timeout, transport)
    write_login(host, key)
    console.info(f"logged in to {host}{who}; the key is stored in {settings_module.login_file_path()} (mode 0600)")
    return True


def _verify(host: str, key: str, timeout: float, transport: Any) -> str:
    from jupyter_tracker.sync.transport import AuthError, SyncError, TrackerClient, TransientError

    with TrackerClient(host, key, transport=transport, timeout=timeout) as client:
        try:
            viewer = client.viewer()
        except AuthError as error:
            raise LoginError(f"{host} refused this API key ({error.status}); nothing was stored") from None
        except TransientError as error:
            console.error(f"could not reach {host} to check the key ({error}); storing it unverified")
            return ""
        except SyncError as error:
            raise LoginError(f"{host} did not accept the login: {error}") from None
    username = viewer.get("username")
    return f" as {username}" if username else ""
