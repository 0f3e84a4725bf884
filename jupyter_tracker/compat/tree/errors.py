"""``wandb.errors``: the exception classes integrations catch."""

from __future__ import annotations

from jupyter_tracker.run_config import ConfigError
from jupyter_tracker.sdk import RunExistsError, UsageError

__all__ = ["AuthenticationError", "CommError", "ConfigError", "Error", "RunExistsError", "UsageError"]


class Error(Exception):
    """Base of wandb's communication errors."""


class CommError(Error):
    """The server could not be reached or refused a request."""


class AuthenticationError(CommError):
    """The API key was refused."""
