"""``jupyter-tracker import-tb DIR``: existing TensorBoard event files become runs.

Each folder under ``DIR`` that holds event files (``*tfevents*``) becomes one run named after
the folder; its events are read with TensorBoard's own ``EventFileLoader`` (which also reads
what ``tf.summary`` writes), values of one step are merged into one row, and rows are logged in
step order with the step as ``global_step``.
"""

from __future__ import annotations

import sys
import threading
from pathlib import Path
from typing import Any

from jupyter_tracker import console
from jupyter_tracker.tensorboard.events import TagPlugins, event_values
from jupyter_tracker.tensorboard.live_sync import STEP_KEY


def event_folders(logdir: Path) -> dict[Path, list[Path]]:
    """Folders under ``logdir`` (itself included) holding event files, each with its files in name order."""
    found: dict[Path, list[Path]] = {}
    for path in sorted(Path(logdir).rglob("*tfevents*")):
        if path.is_file():
            found.setdefault(path.parent, []).append(path)
    return found


_loader_lock = threading.Lock()


def event_file_loader(path: str) -> Any:
    """TensorBoard's ``EventFileLoader`` of ``path``, reading records without importing TensorFlow.

    TensorBoard reads records through TensorFlow whenever it is installed (an import of seconds);
    unless the program has imported it already, TensorBoard's own record reader is used instead.
    """
    from tensorboard.backend.event_processing import event_file_loader as loaders

    if "tensorflow" in sys.modules:
        return loaders.EventFileLoader(path)
    with _loader_lock:
        make_iterator, loaders._make_tf_record_iterator = loaders._make_tf_record_iterator, OwnRecords
        try:
            return loaders.EventFileLoader(path)
        finally:
            loaders._make_tf_record_iterator = make_iterator


class OwnRecords:
    """The records of an event file, read by TensorBoard's own reader (what it uses when TensorFlow is absent)."""

    def __init__(self, file_path: str) -> None:
        from tensorboard.compat.tensorflow_stub import errors, pywrap_tensorflow

        self._end = errors.OutOfRangeError
        self._reader = pywrap_tensorflow.PyRecordReader_New(file_path)

    def __iter__(self) -> OwnRecords:
        return self

    def __next__(self) -> bytes:
        try:
            self._reader.GetNext()
        except self._end:
            raise StopIteration from None
        return self._reader.record()


def read_rows(files: list[Path]) -> dict[int, dict[str, Any]]:
    """``{step: {tag: value}}`` of a folder's event files (later values of a tag at a step win)."""
    try:
        import tensorboard.backend.event_processing.event_file_loader  # noqa: F401
    except ImportError:
        raise ImportError("reading TensorBoard event files needs tensorboard: pip install 'jupyter_tracker[tensorboard]'") from None
    plugins = TagPlugins()
    rows: dict[int, dict[str, Any]] = {}
    for path in files:
        for event in event_file_loader(str(path)).Load():
            try:
                found = event_values(event, plugins)
            except Exception as error:  # one odd value must not lose the rest of the file
                console.warn_once(f"import-tb-{type(error).__name__}",
                                  f"{path}: a value could not be read ({type(error).__name__}: {error}); skipped")
                continue
            if found is not None and found.values:
                rows.setdefault(found.step, {}).update(found.values)
    return rows


def import_logdir(logdir: str | Path, project: str | None = None, **init_options: Any) -> list[Any]:
    """Imports every event folder under ``logdir`` as a run; returns the finished runs."""
    import jupyter_tracker as jt

    root = Path(logdir)
    if not root.is_dir():
        raise FileNotFoundError(f"import-tb: {logdir} is not a folder")
    folders = event_folders(root)
    if not folders:
        raise FileNotFoundError(f"import-tb: no TensorBoard event files (*tfevents*) under {logdir}")
    runs = []
    for folder, files in folders.items():
        name = folder.relative_to(root).as_posix() if folder != root else root.resolve().name
        rows = read_rows(files)
        run = jt.init(project=project, name=name.replace("/", "-"), reinit=True, **init_options)
        try:
            for tag in sorted({tag for row in rows.values() for tag in row}):
                run.define_metric(tag, step_metric=STEP_KEY)
            for step in sorted(rows):
                run.log({**rows[step], STEP_KEY: step})
        finally:
            run.finish()
        runs.append(run)
    return runs
