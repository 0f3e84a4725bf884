"""Exponential backoff with full jitter, honouring a server's ``Retry-After``; pure, clock injected.

The delay before retry ``n`` (counting from 0) is drawn uniformly from
``[0, min(cap, base * 2**n)]`` ("full jitter", which spreads many clients that failed together
across the whole window instead of bunching them at its edge). A server that says
``Retry-After: s`` is never retried sooner than ``s`` seconds; a second of jitter is added so
clients told the same ``s`` do not all come back in the same instant.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

#: the most jitter added on top of a ``Retry-After``
RETRY_AFTER_SPREAD = 1.0
#: jitter comes from the system's entropy: drawn from the ``random`` module, a retry in the sync
#: thread would move a seeded training loop's own draws, and forked clients would jitter alike
_JITTER = random.SystemRandom()


class RetryableError(Exception):
    """A failure worth retrying later (network error, 5xx, 429); may carry the server's ``Retry-After``."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class RetriesExhausted(RetryableError):
    """:func:`retry` gave up: its deadline passed or it was told to stop; wraps the last failure."""


class Backoff:
    """The delays between the attempts of one operation.

    >>> backoff = Backoff(base=1.0, cap=8.0, uniform=lambda: 1.0)
    >>> [backoff.next_delay() for _ in range(5)]
    [1.0, 2.0, 4.0, 8.0, 8.0]
    >>> backoff.next_delay(retry_after=30.0)
    31.0
    """

    def __init__(self, base: float = 1.0, cap: float = 60.0, uniform: Callable[[], float] = _JITTER.random) -> None:
        if base <= 0 or cap < base:
            raise ValueError(f"backoff needs 0 < base <= cap, got base={base}, cap={cap}")
        self.base = base
        self.cap = cap
        self._uniform = uniform
        self.attempt = 0

    def ceiling(self, attempt: int | None = None) -> float:
        """The upper bound of the jitter window for ``attempt`` (default: the next one)."""
        attempt = self.attempt if attempt is None else attempt
        # 2**attempt overflows a float past ~1000 attempts; the cap is reached long before
        return min(self.cap, self.base * 2 ** min(attempt, 64))

    def next_delay(self, retry_after: float | None = None) -> float:
        """Seconds to wait before the next attempt; advances the attempt counter."""
        ceiling = self.ceiling()
        self.attempt += 1
        if retry_after is not None and retry_after >= 0:
            return retry_after + self._uniform() * min(RETRY_AFTER_SPREAD, ceiling)
        return self._uniform() * ceiling

    def reset(self) -> None:
        """Back to the first, shortest window (after a success)."""
        self.attempt = 0


def retry(
    operation: Callable[[], T],
    backoff: Backoff,
    sleep: Callable[[float], bool | None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    deadline: float | None = None,
    on_failure: Callable[[RetryableError, float], None] | None = None,
    should_stop: Callable[[], bool] = lambda: False,
) -> T:
    """Calls ``operation`` until it succeeds or raises something other than :class:`RetryableError`.

    ``sleep`` may be ``threading.Event().wait`` so that stopping interrupts a long wait; a sleep
    that returns True (the event was set) is treated like ``should_stop``. ``deadline`` is a
    time on ``clock``; past it, or once ``should_stop()``, :class:`RetriesExhausted` is raised
    with the last failure as its cause. ``on_failure(error, delay)`` is told before each wait.

    >>> attempts = iter([RetryableError("down"), "ok"])
    >>> def flaky():
    ...     outcome = next(attempts)
    ...     if isinstance(outcome, Exception):
    ...         raise outcome
    ...     return outcome
    >>> retry(flaky, Backoff(), sleep=lambda seconds: None)
    'ok'
    """
    while True:
        try:
            result = operation()
        except RetryableError as error:
            delay = backoff.next_delay(error.retry_after)
            if should_stop() or (deadline is not None and clock() + delay > deadline):
                raise RetriesExhausted(str(error), error.retry_after) from error
            if on_failure is not None:
                on_failure(error, delay)
            if sleep(delay) is True or should_stop():
                raise RetriesExhausted(str(error), error.retry_after) from error
            continue
        backoff.reset()
        return result
