"""Files saved with a run (``run.save``): copied into the run's ``files/``, recorded in the run log.

Policies as wandb's: ``now`` copies once, ``end`` copies at ``finish()``, ``live`` copies now and
again whenever a file changes (a polling thread per run, plus a last pass at ``finish()``).
Every copy becomes a ``("file", {name, size, policy, sha256})`` record; names are validated so
nothing lands outside ``files/``.
"""

from __future__ import annotations

import fnmatch
import glob
import hashlib
import os
import shutil
import threading
from collections.abc import Iterable
from pathlib import Path, PurePosixPath
from typing import Any

from jupyter_tracker import console
from jupyter_tracker.store import records
from jupyter_tracker.store.run_dir import files_dir, is_own_entry

POLICIES = ("live", "now", "end")
#: seconds between two looks at ``live`` files
LIVE_POLL_INTERVAL = 2.0
_GLOB_CHARS = frozenset("*?[")


class FileNameError(ValueError):
    """A file name would escape the run's ``files/`` directory or is not portable."""


def validate_name(name: str) -> str:
    """Returns ``name`` as a clean relative POSIX path inside ``files/``, or raises :class:`FileNameError`.

    >>> validate_name("checkpoints/model.pt")
    'checkpoints/model.pt'
    >>> validate_name("../etc/passwd")  # doctest: +IGNORE_EXCEPTION_DETAIL
    Traceback (most recent call last):
    ...
    jupyter_tracker.run_files.FileNameError: file name '../etc/passwd' would escape the run's files/ ('..' is not allowed)
    """
    text = str(name)
    if not text or "\x00" in text or "\\" in text:
        raise FileNameError(f"file name {text!r} is not allowed (empty, or holds a NUL or a backslash)")
    path = PurePosixPath(text)
    if path.is_absolute():
        raise FileNameError(f"file name {text!r} must be relative to the run's files/ directory")
    if ".." in path.parts:
        raise FileNameError(f"file name {text!r} would escape the run's files/ ('..' is not allowed)")
    parts = [part for part in path.parts if part not in ("", ".")]
    if not parts:
        raise FileNameError(f"file name {text!r} names no file")
    return "/".join(parts)


def is_ignored(name: str, ignore_globs: Iterable[str]) -> bool:
    """True when ``name`` (or its base name) matches one of ``WANDB_IGNORE_GLOBS``: kept local, never uploaded.

    >>> is_ignored("diff.patch", ["*.patch"]), is_ignored("code/a.py", ["*.patch"])
    (True, False)
    """
    base = PurePosixPath(name).name
    return any(fnmatch.fnmatchcase(name, pattern) or fnmatch.fnmatchcase(base, pattern) for pattern in ignore_globs)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _destination(run: Any, name: str) -> Path:
    root = files_dir(Path(run.dir))
    target = root / validate_name(name)
    resolved_root = root.resolve()
    if resolved_root not in target.resolve().parents:  # a symlinked folder inside files/ pointing out
        raise FileNameError(f"file name {name!r} resolves outside the run's files/ directory")
    return target


def _target(run: Any, source: Path, name: str) -> Path:
    """Where ``source`` is kept as ``name``: in ``files/``, or where it is when it was written into the
    run directory itself under that name (``run.save(os.path.join(run.dir, "model.pt"))``, as wandb
    users write it): the run lists and syncs it from there, so a large checkpoint is not stored twice."""
    target = _destination(run, name)
    if target.exists():
        return target  # saved into files/ before: that copy is the one the run lists, so it is kept fresh
    try:
        relative = source.resolve().relative_to(Path(run.dir).resolve())
    except ValueError:
        return target
    if relative.as_posix() == name and not is_own_entry(relative.parts[0]):
        return source
    return target


class RunFiles:
    """The saved files of one run: the names recorded so far and the globs still watched."""

    def __init__(self, run: Any, poll_interval: float = LIVE_POLL_INTERVAL) -> None:
        self._run = run
        self.poll_interval = poll_interval
        self.names: set[str] = set()
        self._live: list[tuple[str, Path]] = []
        self._end: list[tuple[str, Path]] = []
        self._seen: dict[str, tuple[int, int]] = {}
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        run.before_finish(self._at_finish)

    # recording -------------------------------------------------------------------------------
    def record(self, name: str, path: Path, policy: str) -> dict[str, Any]:
        """Appends the file record of ``files/name`` and checks the files-per-run bound."""
        run = self._run
        info: dict[str, Any] = {"name": name, "size": path.stat().st_size, "policy": policy,
                                "sha256": sha256_of(path)}
        if is_ignored(name, run.settings.ignore_globs):
            info["ignored"] = True  # WANDB_IGNORE_GLOBS: kept in files/, never uploaded
        run._append((records.FILE, info))
        with self._lock:
            self.names.add(name)
            count = len(self.names)
        found = run._limits.check_files(count)
        if found:
            run._emit_limit_warnings(found)
        return info

    def write_bytes(self, name: str, data: bytes, policy: str = "now") -> Path:
        """Writes ``data`` as ``files/name`` (the diff patch, captured code) and records it."""
        target = _destination(self._run, name)
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.with_name(f".{target.name}.tmp")
        temporary.write_bytes(data)
        os.replace(temporary, target)
        self.record(validate_name(name), target, policy)
        return target

    def copy(self, source: Path, name: str, policy: str) -> Path:
        """Copies ``source`` to ``files/name`` (unless it is that file already, or sits in the run directory as ``name``) and records it."""
        with self._lock:
            target = _target(self._run, source, name)
            stat = source.stat()
            if source.resolve() != target.resolve():
                target.parent.mkdir(parents=True, exist_ok=True)
                temporary = target.with_name(f".{target.name}.tmp")
                shutil.copy2(source, temporary)
                os.replace(temporary, target)
            self._seen[str(source)] = (stat.st_mtime_ns, stat.st_size)
            self.record(validate_name(name), target, policy)
        return target

    # globs -----------------------------------------------------------------------------------
    def save(self, glob_str: str | os.PathLike[str], base_path: str | os.PathLike[str] | None, policy: str) -> list[str]:
        if policy not in POLICIES:
            raise ValueError(f"save(policy=...) must be one of {', '.join(POLICIES)}, got {policy!r}")
        pattern, base = _pattern_and_base(glob_str, base_path)
        matches = _matches(pattern, base)
        if policy == "end":
            with self._lock:
                self._end.append((pattern, base))
            return [str(_target(self._run, path, name)) for path, name in matches]
        saved = [str(self.copy(path, name, policy)) for path, name in matches]
        if policy == "live":
            with self._lock:
                self._live.append((pattern, base))
            self._start_watching()
        return saved

    def poll_live(self) -> int:
        """Copies every live file that is new or changed since its last copy; returns how many."""
        copied = 0
        with self._lock:
            watched = list(self._live)
        for pattern, base in watched:
            for path, name in _matches(pattern, base):
                try:
                    stat = path.stat()
                except OSError:
                    continue
                if self._seen.get(str(path)) == (stat.st_mtime_ns, stat.st_size):
                    continue
                self.copy(path, name, "live")
                copied += 1
        return copied

    # the watcher -----------------------------------------------------------------------------
    def _start_watching(self) -> None:
        with self._lock:
            if self._thread is not None:
                return
            self._thread = threading.Thread(target=self._watch, name=f"jt-files-{self._run.id}", daemon=True)
            self._thread.start()

    def _watch(self) -> None:
        while not self._stop.wait(self.poll_interval):
            self._safe(self.poll_live)

    def _safe(self, action: Any) -> None:
        try:
            action()
        except Exception as error:  # a vanished or unreadable file must not break the training loop
            console.warn_once("run-files", f"could not save a file with the run ({type(error).__name__}: {error})")

    def _at_finish(self, _run: Any) -> None:
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(10.0)
        self._safe(self.poll_live)
        with self._lock:
            ends = list(self._end)
        for pattern, base in ends:
            for path, name in _matches(pattern, base):
                self._safe(lambda path=path, name=name: self.copy(path, name, "end"))


def _pattern_and_base(glob_str: str | os.PathLike[str], base_path: str | os.PathLike[str] | None) -> tuple[str, Path]:
    pattern = os.path.abspath(os.path.expanduser(os.fspath(glob_str)))
    if base_path is not None:
        base = Path(os.path.abspath(os.path.expanduser(os.fspath(base_path))))
        if not (pattern + os.sep).startswith(str(base).rstrip(os.sep) + os.sep):
            raise ValueError(f"save({os.fspath(glob_str)!r}): the glob must lie inside base_path {os.fspath(base_path)!r}")
        return pattern, base
    if os.path.isabs(os.fspath(glob_str)):
        # as wandb: an absolute glob without base_path keeps names from its first wildcard on
        parts = Path(pattern).parts
        fixed = list(_leading_fixed(parts))
        base = Path(*fixed[:-1]) if len(fixed) == len(parts) else Path(*fixed)
        return pattern, base
    return pattern, Path(os.getcwd())


def _leading_fixed(parts: tuple[str, ...]) -> Iterable[str]:
    for part in parts:
        if _GLOB_CHARS.intersection(part):
            return
        yield part


def _matches(pattern: str, base: Path) -> list[tuple[Path, str]]:
    found = []
    for match in sorted(glob.glob(pattern, recursive=True)):
        path = Path(match)
        if not path.is_file():
            continue
        relative = os.path.relpath(match, base)
        found.append((path, validate_name(PurePosixPath(*Path(relative).parts).as_posix())))
    return found


def run_files(run: Any) -> RunFiles:
    """The :class:`RunFiles` of ``run``, created on first use."""
    existing = getattr(run, "_run_files", None)
    if existing is None:
        existing = RunFiles(run)
        run._run_files = existing
    return existing


def save_files(run: Any, glob_str: str | os.PathLike[str], base_path: str | os.PathLike[str] | None = None,
               policy: str = "live") -> list[str]:
    """Copies the files matching ``glob_str`` into ``run``'s ``files/``; returns their paths there.

    Names keep their path relative to ``base_path`` (default: the current directory, or for an
    absolute glob the folder before its first wildcard).

    >>> run.save("checkpoints/*.pt", policy="end")  # doctest: +SKIP
    """
    return run_files(run).save(glob_str, base_path, policy)
