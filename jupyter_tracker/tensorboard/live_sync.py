"""Brings what a program writes with TensorBoard writers into the current run, as it writes it.

:func:`patch` wraps ``add_event``, ``flush`` and ``close`` of the event-file writers of
``torch.utils.tensorboard`` (tensorboard's ``EventFileWriter``) and tensorboardX: every event
still goes to its file, and its scalars, histograms and images also go to
``jupyter_tracker.run`` as one row per TensorBoard step, with the step as ``global_step`` (the
x-axis of those metrics). A row is written when the step changes, when the writer flushes or
closes, and when the run finishes. A value that cannot be converted is skipped, said once.

Several writers (``runs/train`` and ``runs/val`` both writing ``loss``) are kept apart by a
namespace: the writer's folder relative to ``root_logdir`` when given (``train/loss``), else the
folder's name for every writer after the first. With ``save=True`` the event files are kept with
the run (``run.save(..., policy="live")``), as wandb does.
"""

from __future__ import annotations

import importlib
import os
import threading
from collections.abc import Callable
from typing import Any

from jupyter_tracker import console
from jupyter_tracker.tensorboard.events import TagPlugins, event_values
from jupyter_tracker.tensorboard.tf_summary import TfSummaryPatch

STEP_KEY = "global_step"
#: (module, class) of the event-file writers patched
WRITERS = (
    ("tensorboard.summary.writer.event_file_writer", "EventFileWriter"),
    ("tensorboardX.event_file_writer", "EventFileWriter"),
)


class RunFeed:
    """Rows for one run, built from events: values of one step gathered, written when the step changes."""

    def __init__(self, run: Any, root_logdir: str | None = None, save: bool = True) -> None:
        self.run = run
        self.root_logdir = os.path.abspath(root_logdir) if root_logdir else None
        self.save = save
        self.namespaces: dict[str, str] = {}
        self.plugins = TagPlugins()
        self._step: int | None = None
        self._row: dict[str, Any] = {}
        self._defined: set[str] = set()
        self._lock = threading.Lock()
        run.before_finish(lambda _run: self.flush())

    def namespace(self, logdir: str | None) -> str:
        """The prefix of a writer's tags ("" for the first writer when no ``root_logdir`` is given)."""
        folder = os.path.abspath(logdir) if logdir else ""
        known = self.namespaces.get(folder)
        if known is not None:
            return known
        if self.root_logdir and folder and (folder + os.sep).startswith(self.root_logdir.rstrip(os.sep) + os.sep):
            relative = os.path.relpath(folder, self.root_logdir)
            prefix = "" if relative == "." else relative.replace(os.sep, "/") + "/"
        else:
            prefix = "" if not self.namespaces else os.path.basename(folder.rstrip(os.sep)) + "/"
        self.namespaces[folder] = prefix
        if self.save and folder and self.run.dir:
            self.run.save(os.path.join(folder, "*tfevents*"), base_path=os.path.dirname(folder), policy="live")
        return prefix

    def add(self, event: Any, logdir: str | None = None) -> None:
        found = event_values(event, self.plugins)
        if found is None or not found.values:
            return
        with self._lock:
            prefix = self.namespace(logdir)
            if self._step is not None and found.step != self._step:
                self._write()
            self._step = found.step
            self._row.update({prefix + tag: value for tag, value in found.values.items()} if prefix else found.values)

    def flush(self) -> None:
        with self._lock:
            self._write()

    def _write(self) -> None:
        if not self._row or self._step is None:
            return
        row, self._row = self._row, {}
        for key in row:
            if key not in self._defined:
                self._defined.add(key)
                self.run.define_metric(key, step_metric=STEP_KEY)
        self.run.log({**row, STEP_KEY: self._step})


class TensorBoardPatch:
    """The patched writer classes and the feed of the current run."""

    def __init__(self, current_run: Callable[[], Any], root_logdir: str | None = None, save: bool = True) -> None:
        self._current_run = current_run
        self.root_logdir = root_logdir
        self.save = save
        self._originals: list[tuple[type, str, Any]] = []
        self._feeds: dict[int, RunFeed] = {}
        self._lock = threading.Lock()
        self.tf_summary = TfSummaryPatch(self.feed, self._safely)

    @property
    def active(self) -> bool:
        return bool(self._originals) or self.tf_summary.active

    def feed(self) -> RunFeed | None:
        run = self._current_run()
        if run is None or getattr(run, "disabled", False):
            return None
        with self._lock:
            feed = self._feeds.get(id(run))
            if feed is None or feed.run is not run:
                # a finished run's feed wrote its last row at its finish: only the current one is kept
                feed = RunFeed(run, self.root_logdir, self.save)
                self._feeds = {id(run): feed}
            return feed

    def _safely(self, action: Callable[[], None]) -> None:
        try:
            action()
        except Exception as error:  # the program's TensorBoard writing must go on
            console.warn_once(f"tensorboard-{type(error).__name__}",
                              f"a TensorBoard value could not be logged to the run ({type(error).__name__}: {error})")

    def install(self, modules: tuple[tuple[str, str], ...] = WRITERS) -> list[str]:
        """Wraps every writer class that can be imported; returns the patched ``module.Class`` names."""
        patched = []
        for module_name, class_name in modules:
            try:
                writer = getattr(importlib.import_module(module_name), class_name)
            except (ImportError, AttributeError):
                continue
            if getattr(writer, "_jupyter_tracker_patched", False):
                continue
            self._wrap(writer)
            patched.append(f"{module_name}.{class_name}")
        return patched + self.tf_summary.install()

    def _wrap(self, writer: type) -> None:
        patch = self
        add_event, flush, close = writer.add_event, writer.flush, writer.close  # type: ignore[attr-defined]

        def add_event_and_log(self: Any, event: Any) -> Any:
            result = add_event(self, event)
            feed = patch.feed()
            if feed is not None:
                patch._safely(lambda: feed.add(event, _logdir_of(self)))
            return result

        def flush_and_log(self: Any) -> Any:
            feed = patch.feed()
            if feed is not None:
                patch._safely(feed.flush)
            return flush(self)

        def close_and_log(self: Any) -> Any:
            feed = patch.feed()
            if feed is not None:
                patch._safely(feed.flush)
            return close(self)

        for name, original, replacement in (("add_event", add_event, add_event_and_log),
                                            ("flush", flush, flush_and_log), ("close", close, close_and_log)):
            self._originals.append((writer, name, original))
            setattr(writer, name, replacement)
        writer._jupyter_tracker_patched = True  # type: ignore[attr-defined]

    def uninstall(self) -> None:
        self.tf_summary.uninstall()
        for writer, name, original in reversed(self._originals):
            setattr(writer, name, original)
            writer._jupyter_tracker_patched = False  # type: ignore[attr-defined]
        self._originals.clear()


def _logdir_of(writer: Any) -> str | None:
    getter = getattr(writer, "get_logdir", None)
    return str(getter()) if callable(getter) else getattr(writer, "_logdir", None)
