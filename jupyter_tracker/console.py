"""Every message the library writes passes through here, so one switch can silence or redirect it.

``WANDB_SILENT`` is read each time the console speaks: setting it after ``import`` or after
``init`` takes effect at once. ``JUPYTER_TRACKER_CONSOLE_OUTPUT`` sends messages to ``stdout``
(default), to ``logging`` (logger ``jupyter_tracker``) or to ``file:PATH``.
"""

from __future__ import annotations

import logging
import sys
import threading
import warnings
from collections.abc import Callable
from typing import Protocol

from jupyter_tracker import settings

PREFIX = "jupyter_tracker: "
_logger = logging.getLogger("jupyter_tracker")
_lock = threading.Lock()
_warned_kinds: set[str] = set()


class WarningSink(Protocol):
    """Receives warnings for display, e.g. the notebook's inline warning box."""

    def __call__(self, warning: Warning) -> bool: ...


_warning_sinks: list[WarningSink] = []


def add_warning_sink(sink: WarningSink) -> None:
    """Lets a front end (the notebook) show warnings its own way; a sink returns True when it showed one."""
    if sink not in _warning_sinks:
        _warning_sinks.append(sink)


def remove_warning_sink(sink: WarningSink) -> None:
    """Undoes :func:`add_warning_sink`."""
    if sink in _warning_sinks:
        _warning_sinks.remove(sink)


def _original_stream(stream_name: str):  # type: ignore[no-untyped-def]
    stream = getattr(sys, stream_name)
    return getattr(stream, "original_stream", stream)


def _write(text: str, level: int) -> None:
    target = settings.console_output()
    if target == "logging":
        _logger.log(level, text)
        return
    if target.startswith("file:"):
        path = target[len("file:") :]
        with _lock, open(path, "a", encoding="utf-8") as handle:
            handle.write(PREFIX + text + "\n")
        return
    stream = _original_stream("stderr" if level >= logging.WARNING else "stdout")
    try:
        stream.write(PREFIX + text + "\n")
        stream.flush()
    except (OSError, ValueError):
        pass


def info(text: str) -> None:
    """A normal message (run banner, where data went); nothing when silent."""
    if settings.is_silent():
        return
    _write(text, logging.INFO)


def error(text: str) -> None:
    """The library's own failure, contained; the training loop goes on."""
    if settings.is_silent():
        return
    _write(text, logging.ERROR)


def warn_once(kind: str, text: str) -> None:
    """One message per kind of failure for the process, so an outage does not flood the output."""
    with _lock:
        if kind in _warned_kinds:
            return
        _warned_kinds.add(kind)
    error(text)


def forget_warned(kind: str) -> None:
    """Lets :func:`warn_once` speak again for ``kind`` (after a recovery)."""
    with _lock:
        _warned_kinds.discard(kind)


def warning(message: Warning, stacklevel: int = 3) -> None:
    """Emits a warning object through :mod:`warnings` (or a front-end sink); nothing when silent."""
    if settings.is_silent():
        return
    for sink in list(_warning_sinks):
        try:
            if sink(message):
                return
        except Exception:  # a broken display must not break logging
            continue
    if settings.console_output() == "stdout":
        warnings.warn(message, stacklevel=stacklevel)
    else:
        _write(str(message), logging.WARNING)


class _NoBar:
    """What :func:`progress_bar` returns when silent: accepts the calls, shows nothing."""

    def update(self, count: int = 1) -> None:
        return None

    def set_postfix(self, **values: object) -> None:
        return None

    def close(self) -> None:
        return None


def progress_bar(total: int, description: str, unit: str = "it"):  # type: ignore[no-untyped-def]
    """A tqdm bar on the real stderr (or a silent stand-in); used by the demo and by sync."""
    if settings.is_silent():
        return _NoBar()
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return _NoBar()
    return tqdm(total=total, desc=description, unit=unit, file=_original_stream("stderr"), dynamic_ncols=True)


def progress(iterable_total: int, description: str) -> Callable[[int], None]:
    """A progress reporter that prints nothing when silent; returns an ``advance(n)`` callable."""
    if settings.is_silent():
        return lambda _n: None
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return lambda _n: None
    bar = tqdm(total=iterable_total, desc=description, file=_original_stream("stderr"), leave=False)

    def advance(count: int) -> None:
        bar.update(count)
        if bar.n >= iterable_total:
            bar.close()

    return advance
