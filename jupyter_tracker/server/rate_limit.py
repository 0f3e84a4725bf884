"""Token-bucket rate limits per API key and per client IP.

:class:`SharedRateLimiter`, which the server uses, keeps its buckets in the server's database,
so a limit holds across ``--workers N`` and across several hosts on one PostgreSQL;
:class:`RateLimiter` keeps them in one process's memory. A bucket holds up to ``capacity`` tokens and refills at ``capacity / period`` tokens a second;
a request takes one. When the bucket is empty the caller is told how many seconds until the
next token, which the server sends as ``Retry-After``. The clock is injectable.

>>> limiter = RateLimiter(parse_rate("2/minute"), clock=lambda: 0.0)
>>> [limiter.take("k") for _ in range(3)]
[0.0, 0.0, 30.0]
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

_PERIODS = {"second": 1.0, "sec": 1.0, "s": 1.0, "minute": 60.0, "min": 60.0, "m": 60.0, "hour": 3600.0, "h": 3600.0}
_MAX_BUCKETS = 100_000


@dataclass(frozen=True)
class Rate:
    """``requests`` per ``period`` seconds."""

    requests: int
    period: float

    def __str__(self) -> str:
        return f"{self.requests}/{self.period:g}s"


def parse_rate(text: str) -> Rate:
    """Reads ``200/minute``, ``10/second``, ``1000/hour`` or ``50/30s``."""
    count, sep, unit = str(text).strip().lower().partition("/")
    try:
        requests = int(count)
    except ValueError:
        raise ValueError(f"rate limit {text!r}: expected N/second, N/minute or N/hour") from None
    unit = unit.strip() or "minute"
    if unit in _PERIODS:
        period = _PERIODS[unit]
    else:
        number = unit.rstrip("smh")
        suffix = unit[len(number) :] or "s"
        try:
            period = float(number) * _PERIODS[suffix]
        except (ValueError, KeyError):
            raise ValueError(f"rate limit {text!r}: expected N/second, N/minute or N/hour") from None
    if requests < 1 or period <= 0:
        raise ValueError(f"rate limit {text!r}: needs at least one request per period")
    return Rate(requests, period)


class RateLimiter:
    """Buckets by name (e.g. ``key:<id>`` and ``ip:<address>``), thread-safe."""

    def __init__(self, rate: Rate, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate
        self._clock = clock
        self._refill_per_second = rate.requests / rate.period
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, name: str) -> float:
        """Takes a token; returns 0 when allowed, else the seconds until one is available."""
        now = self._clock()
        capacity = float(self.rate.requests)
        with self._lock:
            tokens, last = self._buckets.get(name, (capacity, now))
            tokens = min(capacity, tokens + (now - last) * self._refill_per_second)
            if tokens >= 1.0:
                self._buckets[name] = (tokens - 1.0, now)
                self._forget_full(now)
                return 0.0
            self._buckets[name] = (tokens, now)
            return (1.0 - tokens) / self._refill_per_second

    def _forget_full(self, now: float) -> None:
        """Drops buckets that have refilled completely, so memory stays bounded."""
        if len(self._buckets) < _MAX_BUCKETS:
            return
        full_after = self.rate.period
        self._buckets = {name: value for name, value in self._buckets.items() if now - value[1] < full_after}


class TokenStore(Protocol):
    """Where shared buckets live (the server's :class:`~jupyter_tracker.server.storage.Storage`)."""

    def take_token(self, name: str, capacity: float, per_second: float, now: float) -> float: ...

    def forget_full_buckets(self, older_than: float) -> None: ...


class SharedRateLimiter:
    """Buckets held in the database, drawn from atomically by every server process that shares it.

    The clock is wall time (``time.time``): processes on several hosts compare it.
    """

    #: takes between two clean-ups of buckets that have refilled
    CLEANUP_EVERY = 5_000

    def __init__(self, store: TokenStore, rate: Rate, clock: Callable[[], float] = time.time) -> None:
        self.rate = rate
        self._store = store
        self._clock = clock
        self._refill_per_second = rate.requests / rate.period
        self._takes = 0
        self._lock = threading.Lock()

    def take(self, name: str) -> float:
        """Takes a token; returns 0 when allowed, else the seconds until one is available."""
        now = self._clock()
        with self._lock:
            self._takes += 1
            cleanup = self._takes % self.CLEANUP_EVERY == 0
        if cleanup:
            self._store.forget_full_buckets(now - self.rate.period)
        return self._store.take_token(name, float(self.rate.requests), self._refill_per_second, now)
