"""Keeps credentials out of uvicorn's access log: query values of key-like parameters and API keys are masked.

A key belongs in the ``Authorization`` header, which the access log never shows; but a user may
paste one into a URL (``?api_key=...``), and uvicorn logs the path with its query string.

>>> redact_target("/api/v1/viewer?api_key=jt_0123456789ab_secret&page=2")
'/api/v1/viewer?api_key=<redacted>&page=2'
"""

from __future__ import annotations

import logging
import re
from urllib.parse import unquote

ACCESS_LOGGER = "uvicorn.access"
#: query parameters whose values are credentials, whatever else they hold
_SECRET_PARAMETERS = re.compile(
    r"(?i)([?&;](?:api[_-]?key|key|token|access[_-]?token|auth|authorization|password|passwd|secret|bearer)=)[^&;#]*"
)
#: one of our API keys anywhere in the text (also percent-encoded), e.g. a key pasted into a path
_API_KEY = re.compile(r"jt_[0-9a-f]{12}_[A-Za-z0-9\-_%]+")


def redact_target(target: str) -> str:
    """A request target with every credential replaced by ``<redacted>``."""
    target = _SECRET_PARAMETERS.sub(r"\1<redacted>", target)
    if _API_KEY.search(target) or _API_KEY.search(unquote(target)):
        target = _API_KEY.sub("<redacted>", unquote(target))
    return target


class CredentialRedactor(logging.Filter):
    """Rewrites the request target of each access-log record (uvicorn passes it as the third argument)."""

    def filter(self, record: logging.LogRecord) -> bool:
        arguments = record.args
        if isinstance(arguments, tuple) and len(arguments) >= 3 and isinstance(arguments[2], str):
            record.args = (*arguments[:2], redact_target(arguments[2]), *arguments[3:])
        elif isinstance(record.msg, str) and "jt_" in record.msg:
            record.msg = redact_target(record.msg)
        return True


def install() -> None:
    """Adds the filter to uvicorn's access logger once per process (each worker calls it)."""
    logger = logging.getLogger(ACCESS_LOGGER)
    if not any(isinstance(existing, CredentialRedactor) for existing in logger.filters):
        logger.addFilter(CredentialRedactor())
