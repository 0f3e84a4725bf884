"""The sampler thread: one sample every ``interval`` seconds, the mean of each ``window`` logged.

Sampling and averaging are separated from the thread (``tick``) so that tests drive them with
an injected clock; the thread only calls ``tick`` from a loop whose clock is ``Event.wait``.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from jupyter_tracker import console
from jupyter_tracker.store import records

Emit = Callable[[float, dict[str, float]], None]
Sample = Callable[[], dict[str, float]]


class SystemSampler:
    """Samples ``sample()`` and calls ``emit(unix_time, means)`` once per window.

    >>> sampler = SystemSampler(sample=lambda: {"system/cpu_percent": 5.0}, emit=print, window=15)
    >>> sampler.tick(now=0.0); sampler.tick(now=15.0)
    15.0 {'system/cpu_percent': 5.0}
    """

    def __init__(
        self,
        sample: Sample,
        emit: Emit,
        interval: float = 2.0,
        window: float = 15.0,
        clock: Callable[[], float] = time.time,
        name: str = "jt-system",
    ) -> None:
        if interval <= 0 or window <= 0:
            raise ValueError(f"system metrics: interval and window must be positive, got {interval} and {window}")
        self._sample = sample
        self._emit = emit
        self.interval = float(interval)
        self.window = float(window)
        self._clock = clock
        self._name = name
        self._sums: dict[str, float] = {}
        self._counts: dict[str, int] = {}
        self._origin: float | None = None
        self._index = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        #: CPU seconds this sampler's thread has spent (its own cost, for the benchmark)
        self.cpu_seconds = 0.0
        self.samples_taken = 0
        self.windows_emitted = 0

    # the pure part, driven by the thread or by a test ------------------------------------------
    def tick(self, now: float | None = None) -> None:
        """Takes one sample at ``now``; emits a window's means once the window is over.

        Windows are fixed slices ``(origin + k·window, origin + (k+1)·window]`` of the clock, so
        they do not drift with the sampling interval; a window is stamped with its end time.
        """
        now = self._clock() if now is None else now
        values = self._sample()
        with self._lock:
            if self._origin is None:
                self._origin = now
            index = max(0, math.ceil((now - self._origin) / self.window - 1e-9) - 1)
            if index != self._index:
                self._emit_window(self._window_end(self._index))
                self._index = index
            for key, value in values.items():
                self._sums[key] = self._sums.get(key, 0.0) + value
                self._counts[key] = self._counts.get(key, 0) + 1
            self.samples_taken += 1
            end = self._window_end(index)
            if now >= end - 1e-9:
                self._emit_window(end)
                self._index = index + 1

    def _window_end(self, index: int) -> float:
        return (self._origin or 0.0) + (index + 1) * self.window

    def _emit_window(self, stamp: float) -> None:
        if not self._counts:
            return
        means = {key: self._sums[key] / self._counts[key] for key in self._sums}
        self._sums, self._counts = {}, {}
        self.windows_emitted += 1
        self._emit(stamp, means)

    def flush(self, now: float | None = None) -> None:
        """Emits the means of a partial window (at finish), stamped ``now``, if it holds any sample."""
        with self._lock:
            self._emit_window(self._clock() if now is None else now)

    # the thread ------------------------------------------------------------------------------
    def start(self) -> None:
        """Starts the thread; the first sample comes one interval later (CPU percent needs one)."""
        if self._origin is None:
            self._origin = self._clock()
        self._thread = threading.Thread(target=self._loop, name=self._name, daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        started = time.thread_time()
        try:
            while not self._stop.wait(self.interval):
                self._safe_tick()
                self.cpu_seconds = time.thread_time() - started
        finally:
            self.cpu_seconds = time.thread_time() - started

    def _safe_tick(self) -> None:
        try:
            self.tick()
        except Exception as error:  # tracking never breaks the training loop: one warning, go on
            console.warn_once("system-metrics", f"system metrics: a sample failed ({type(error).__name__}: {error})")

    def stop(self, timeout: float = 5.0, flush: bool = True) -> None:
        """Stops the thread and, with ``flush``, emits the partial last window."""
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)
        if flush:
            self.flush()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()


def _combine(sources: Sequence[Sample]) -> Sample:
    def sample() -> dict[str, float]:
        values: dict[str, float] = {}
        for source in sources:
            values.update(source())
        return values

    return sample


def start_system_metrics(run: Any, sources: Sequence[Sample] | None = None,
                         clock: Callable[[], float] = time.time) -> SystemSampler | None:
    """Starts the sampler of ``run`` (the start hook); nothing for disabled runs or when turned off.

    Each window becomes a ``(SYSTEM, unix_time, runtime, means)`` record; the sampler stops, and
    writes its partial last window, inside ``run.finish()``.
    """
    settings = run.settings
    if run.disabled or settings.disable_system_metrics or not run.dir:
        return None
    if sources is None:
        from jupyter_tracker.system.sources import default_sources

        sources = default_sources()

    def emit(now: float, means: dict[str, float]) -> None:
        run._append((records.SYSTEM, now, now - run._t0, means))

    sampler = SystemSampler(_combine(sources), emit, interval=settings.system_sample_interval,
                            window=settings.system_window, clock=clock, name=f"jt-system-{run.id}")
    sampler.start()
    run.system_sampler = sampler

    def stop(_run: Any) -> None:
        sampler.stop()
        for source in sources:
            close = getattr(source, "close", None)
            if close is not None:
                close()

    run.before_finish(stop)
    return sampler
