"""The outermost layer of the server's app: refuses encoded slashes in paths and never drops a connection.

Starlette routes on the percent-decoded path, so ``/runs/a/p%2Fr1%2Ffiles/x`` would reach the
file route of another run; a path holding ``%2F`` or ``%5C`` is refused with 400 before routing.
An unexpected exception becomes a plain 500 answer here instead of propagating to Starlette's
error middleware, which re-raises it and makes uvicorn close a keep-alive connection that other
requests of the same client are using.
"""

from __future__ import annotations

import json
import logging
from typing import Any

_ENCODED_SEPARATORS = (b"%2f", b"%5c")
_logger = logging.getLogger("jupyter_tracker.server")

Scope = dict[str, Any]


def _json_answer(status: int, message: str) -> tuple[dict[str, Any], dict[str, Any]]:
    body = json.dumps({"error": message}).encode("utf-8")
    start = {
        "type": "http.response.start",
        "status": status,
        "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
    }
    return start, {"type": "http.response.body", "body": body}


class RequestGuard:
    """ASGI middleware: 400 for encoded path separators, 500 (connection kept) for unexpected errors."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        raw_path = (scope.get("raw_path") or scope.get("path", "").encode("utf-8", "surrogateescape")).lower()
        if any(separator in raw_path for separator in _ENCODED_SEPARATORS):
            start, body = _json_answer(
                400, "an encoded slash (%2F or %5C) in the path is not allowed: names may not contain slashes"
            )
            await send(start)
            await send(body)
            return
        started = False

        async def tracked_send(message: dict[str, Any]) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracked_send)
        except Exception as error:
            _logger.error("unexpected server error: %s", type(error).__name__, exc_info=error)
            if started:
                raise  # the answer is half sent: only closing the connection can end it
            start, body = _json_answer(500, "internal server error")
            await send(start)
            await send(body)
