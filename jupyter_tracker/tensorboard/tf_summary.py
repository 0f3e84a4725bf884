"""``tf.summary`` into the run: the event files of TensorFlow's summary writers are read as they grow.

TensorFlow's ``tf.summary.create_file_writer`` writes its events from C++ (also from inside a
``tf.function``), so there is no Python ``add_event`` to wrap as for torch and tensorboardX.
Instead the writer's ``__init__``, ``flush`` and ``close`` are wrapped: a writer's folder is noted
when it is made, and the events TensorFlow has written to its new event files are read (with
TensorBoard's own loader, which keeps its place in each file) and fed to the run's
:class:`~jupyter_tracker.tensorboard.live_sync.RunFeed` on every ``flush``/``close``, every
:data:`POLL_SECONDS` in a daemon thread (TensorFlow flushes by itself every ``max_queue`` events or
``flush_millis``), and when the run finishes. TensorFlow is never imported here: the patch is
installed only when the program has already imported it.
"""

from __future__ import annotations

import functools
import glob
import os
import sys
import threading
import weakref
from collections.abc import Callable
from typing import Any

#: how often open writers' event files are read without a flush
POLL_SECONDS = 1.0
#: TensorFlow's summary writer class (``tf.summary.create_file_writer`` returns one)
WRITER = ("tensorflow.python.ops.summary_ops_v2", "_ResourceSummaryWriter")


class EventFileTail:
    """The new event files of one writer's folder, read from where the last read stopped."""

    def __init__(self, logdir: str) -> None:
        """Made before the writer: its file is created (and may be written) as the writer is made."""
        self.logdir = logdir
        self._existing = set(self._files())
        self._loaders: dict[str, Any] = {}
        self._lock = threading.Lock()

    def _files(self) -> list[str]:
        return sorted(glob.glob(os.path.join(glob.escape(self.logdir), "*tfevents*")))

    def read(self, add: Callable[[Any], None]) -> None:
        """Passes every event written since the last read to ``add``."""
        from tensorboard.backend.event_processing.event_file_loader import EventFileLoader

        with self._lock:
            for path in self._files():
                if path in self._existing:
                    continue
                loader = self._loaders.get(path)
                if loader is None:
                    loader = self._loaders[path] = EventFileLoader(path)
                for event in loader.Load():
                    add(event)


class TfSummaryPatch:
    """Wraps TensorFlow's summary writer; ``feed()`` gives the current run's feed (or None)."""

    def __init__(self, feed: Callable[[], Any], safely: Callable[[Callable[[], None]], None]) -> None:
        self._feed = feed
        self._safely = safely
        self._tails: weakref.WeakKeyDictionary[Any, EventFileTail] = weakref.WeakKeyDictionary()
        self._originals: list[tuple[type, str, Any]] = []
        self._poller: threading.Thread | None = None
        self._stop = threading.Event()
        self._finishing: set[int] = set()

    @property
    def active(self) -> bool:
        return bool(self._originals)

    def install(self) -> list[str]:
        """Wraps the writer when TensorFlow is already imported; returns the patched ``module.Class``."""
        if self._originals or "tensorflow" not in sys.modules:
            return []
        module_name, class_name = WRITER
        try:
            module = sys.modules.get(module_name) or __import__(module_name, fromlist=[class_name])
            writer = getattr(module, class_name)
        except (ImportError, AttributeError):
            return []
        self._wrap(writer)
        return [f"{module_name}.{class_name}"]

    def _wrap(self, writer: type) -> None:
        patch = self
        init, flush, close = writer.__init__, writer.flush, writer.close  # type: ignore[misc,attr-defined]

        def init_and_follow(self: Any, create_fn: Any, init_op_fn: Any, *args: Any, **kwargs: Any) -> None:
            tails: list[EventFileTail] = []
            patch._safely(lambda: tails.extend(patch._tail_for(init_op_fn)))
            init(self, create_fn, init_op_fn, *args, **kwargs)
            if tails:
                patch._tails[self] = tails[0]
                patch._start_polling()

        def flush_and_read(self: Any) -> Any:
            result = flush(self)
            patch._safely(lambda: patch._read(self, whole_steps=True))
            return result

        def close_and_read(self: Any) -> Any:
            result = close(self)
            patch._safely(lambda: patch._read(self, whole_steps=True))
            patch._tails.pop(self, None)
            return result

        for name, original, replacement in (("__init__", init, init_and_follow), ("flush", flush, flush_and_read),
                                            ("close", close, close_and_read)):
            self._originals.append((writer, name, original))
            setattr(writer, name, replacement)

    def uninstall(self) -> None:
        self._stop.set()
        for writer, name, original in reversed(self._originals):
            setattr(writer, name, original)
        self._originals.clear()
        self._tails.clear()

    @staticmethod
    def _tail_for(init_op_fn: Any) -> list[EventFileTail]:
        logdir = getattr(init_op_fn, "keywords", {}).get("logdir")
        if logdir is None or not hasattr(logdir, "numpy"):  # made in a graph: no folder known before it runs
            return []
        value = logdir.numpy()
        return [EventFileTail(value.decode() if isinstance(value, bytes) else str(value))]

    def _read(self, writer: Any, whole_steps: bool = False) -> None:
        """Feeds the writer's new events; ``whole_steps`` (a flush) also writes the row of the last step read."""
        tail = self._tails.get(writer)
        feed = self._feed()
        if tail is None or feed is None:
            return
        self._remember_finish(feed, writer)
        tail.read(lambda event: feed.add(event, tail.logdir))
        if whole_steps:
            feed.flush()

    def _remember_finish(self, feed: Any, writer: Any) -> None:
        """At the run's finish, the open writers are flushed so their last events reach it."""
        if id(feed) in self._finishing:
            return
        self._finishing.add(id(feed))
        patch = self

        def flush_open_writers(_run: Any) -> None:
            for open_writer in list(patch._tails.keys()):
                patch._safely(open_writer.flush)

        feed.run.before_finish(flush_open_writers)

    def _start_polling(self) -> None:
        if self._poller is not None and self._poller.is_alive():
            return
        self._stop.clear()
        self._poller = threading.Thread(target=self._poll, name="jupyter-tracker-tf-summary", daemon=True)
        self._poller.start()

    def _poll(self) -> None:
        while not self._stop.wait(POLL_SECONDS):
            writers = list(self._tails.keys())
            if not writers:
                return
            for writer in writers:
                self._safely(functools.partial(self._read, writer))
