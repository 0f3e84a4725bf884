"""Query stored runs into pandas: ``Api().run(...)``, ``Api().runs(...)``, as wandb's public API.

:func:`backend_for` decides where runs are read from: the local run store, or the tracking
server when one is configured. pandas loads only when a DataFrame is asked for.
"""

from __future__ import annotations

from typing import Any

from jupyter_tracker.api.backend import ApiError, Backend, RunNotFoundError
from jupyter_tracker.api.public import Api, File, Project, ReadOnlyValues, Run, Runs
from jupyter_tracker.settings import Settings

__all__ = [
    "Api",
    "ApiError",
    "Backend",
    "File",
    "Project",
    "ReadOnlyValues",
    "Run",
    "RunNotFoundError",
    "Runs",
    "backend_for",
]


def backend_for(settings: Settings, timeout: float | None = None) -> Any:
    """The backend an ``Api`` with these settings reads from.

    The hook for stores other than the local one: with no ``base_url`` configured (or in
    offline/dryrun mode) it is the local run store under ``settings.root``. With a server
    configured it is ``jupyter_tracker.api.remote.RemoteBackend(settings, timeout=timeout)``
    when that module exists; until then the local store, said once.
    """
    from jupyter_tracker.api.local import LocalBackend

    if settings.base_url and not settings.offline:
        try:
            from jupyter_tracker.api.remote import RemoteBackend
        except ImportError:
            from jupyter_tracker import console

            console.warn_once(
                "api-no-remote",
                f"no server backend is installed for {settings.base_url}; reading the local store {settings.root}",
            )
        else:
            return RemoteBackend(settings, timeout=timeout)
    return LocalBackend(settings.root)
