"""Open SQLite connections to run indexes, kept for the life of the process.

Opening a connection, setting it up and closing it again (closing the last connection to a WAL
database checkpoints it, with an fsync) cost one to three milliseconds at every run's ``init`` and
``finish``, next to a transaction of tens of microseconds; a sweep or a notebook starting run after
run paid it every time. So each process keeps one connection per index file (the few most recently
used ones) and reuses it.

The index is a cache of the run logs (``RunIndex.rebuild``), so its transactions are committed
without an fsync (``synchronous=NORMAL`` in WAL mode): a power cut may lose the last updates,
never corrupt the file. A connection is opened again when the file it was opened on is gone or
replaced, in a forked child, and after an error.
"""

from __future__ import annotations

import atexit
import os
import sqlite3
import threading
from collections import OrderedDict
from pathlib import Path
from typing import NamedTuple

from jupyter_tracker.store.sqlite_wal import enter_wal_mode

#: connections kept open (least recently used closed first): a process rarely uses more than one
#: store root; a test session or a script visiting many roots must not run out of file descriptors
MAX_OPEN = 4


class _Kept(NamedTuple):
    connection: sqlite3.Connection
    #: the process that opened it and the file (device, inode) it was opened on
    pid: int
    file_id: tuple[int, int]
    #: one transaction at a time on a connection shared by threads
    lock: threading.Lock


_kept: OrderedDict[str, _Kept] = OrderedDict()
_kept_lock = threading.Lock()


def _file_id(path: Path) -> tuple[int, int] | None:
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return stat.st_dev, stat.st_ino


def _open(path: Path, schema: str) -> _Kept:
    path.parent.mkdir(parents=True, exist_ok=True)
    connection = sqlite3.connect(path, timeout=30, check_same_thread=False)
    try:
        enter_wal_mode(connection)
        connection.execute("PRAGMA synchronous=NORMAL")
        connection.executescript(schema)
        file_id = _file_id(path)
        if file_id is None:
            raise sqlite3.OperationalError(f"{path} disappeared while it was opened")
    except BaseException:
        connection.close()
        raise
    return _Kept(connection, os.getpid(), file_id, threading.Lock())


def kept_connection(path: Path, schema: str) -> tuple[sqlite3.Connection, threading.Lock]:
    """The process's open connection to the index at ``path`` (``schema`` applied), and the lock to hold while using it.

    Raises ``sqlite3.Error`` or ``OSError`` when the index cannot be opened.
    """
    key = str(path)
    with _kept_lock:
        kept = _kept.get(key)
        if kept is not None and (kept.pid != os.getpid() or kept.file_id != _file_id(path)):
            del _kept[key]
            if kept.pid == os.getpid():
                kept.connection.close()  # a forked child leaves its parent's connection alone
            kept = None
        if kept is None:
            kept = _open(path, schema)
            _kept[key] = kept
            while len(_kept) > MAX_OPEN:
                _, oldest = _kept.popitem(last=False)
                with oldest.lock:
                    oldest.connection.close()
        else:
            _kept.move_to_end(key)
        return kept.connection, kept.lock


def forget(path: Path) -> None:
    """Closes the kept connection to ``path`` (after an error: the next use opens a fresh one)."""
    with _kept_lock:
        kept = _kept.pop(str(path), None)
    if kept is not None and kept.pid == os.getpid():
        with kept.lock:
            try:
                kept.connection.close()
            except sqlite3.Error:
                pass


@atexit.register
def close_all() -> None:
    """Closes every kept connection (at exit, so that each index is checkpointed and its WAL removed)."""
    with _kept_lock:
        kept = list(_kept)
    for path in kept:
        forget(Path(path))
