"""Where things live inside the store root and inside one run directory."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

RUN_LOG_NAME = "run.jtlog"
OUTPUT_LOG_NAME = "output.log"
INDEX_NAME = "index.sqlite"
#: beside the index: the digest of the last run-directory listing the index held whole (store/index.py)
LISTING_NAME = "index.listing"
#: the sync part's record of what the server has (``sync/sync_state.py`` writes it)
SYNC_STATE_NAME = "sync.json"
FILES_DIR_NAME = "files"
MEDIA_DIR_NAME = "media"
#: the run directory's own entries; everything else in it is the user's (``run.dir`` as wandb's)
OWN_ENTRIES = frozenset({RUN_LOG_NAME, OUTPUT_LOG_NAME, SYNC_STATE_NAME, FILES_DIR_NAME, MEDIA_DIR_NAME})


def run_dir_name(run_id: str, started: float) -> str:
    """``run-YYYYMMDD_HHMMSS-<id>``, as wandb names its run directories."""
    return "run-" + time.strftime("%Y%m%d_%H%M%S", time.localtime(started)) + "-" + run_id


def run_id_from_dir(path: Path) -> str:
    return Path(path).name.rsplit("-", 1)[-1]


def find_run_dir(root: Path, run_id: str) -> Path | None:
    """The newest directory of ``run_id`` under ``root``, or None."""
    if not root.is_dir():
        return None
    matches = sorted(root.glob(f"run-*-{run_id}"))
    matches = [path for path in matches if (path / RUN_LOG_NAME).exists()]
    return matches[-1] if matches else None


def iter_run_dirs(root: Path) -> list[Path]:
    if not root.is_dir():
        return []
    return sorted(path for path in root.glob("run-*-*") if (path / RUN_LOG_NAME).exists())


def run_log_path(run_dir: Path) -> Path:
    return Path(run_dir) / RUN_LOG_NAME


def keep_damaged_copy(run_dir: Path) -> Path:
    """Copies a damaged run log aside (``run.jtlog.damaged-YYYYMMDD_HHMMSS``) before it is repaired."""
    source = run_log_path(run_dir)
    stamp = time.strftime("%Y%m%d_%H%M%S")
    target = source.with_name(f"{RUN_LOG_NAME}.damaged-{stamp}")
    number = 1
    while target.exists():
        number += 1
        target = source.with_name(f"{RUN_LOG_NAME}.damaged-{stamp}-{number}")
    shutil.copy2(source, target)
    return target


def files_dir(run_dir: Path) -> Path:
    return Path(run_dir) / FILES_DIR_NAME


def media_dir(run_dir: Path) -> Path:
    return Path(run_dir) / MEDIA_DIR_NAME


def is_own_entry(name: str) -> bool:
    """True for an entry the store keeps in the run directory itself (run log, its damaged copies,
    output.log, sync state, ``files/``, ``media/``) or a hidden one (the store's temporary files)."""
    return name in OWN_ENTRIES or name.startswith((".", RUN_LOG_NAME + "."))


def _walk_files(folder: Path) -> list[Path]:
    found = []
    for directory, subdirectories, names in os.walk(folder):
        subdirectories.sort()
        for file_name in sorted(names):
            path = Path(directory) / file_name
            if path.is_file():
                found.append(path)
    return found


def user_files(run_dir: Path) -> dict[str, Path]:
    """Files the user or a framework wrote into the run directory itself (wandb users write
    checkpoints into ``run.dir``), by their path relative to it; the store's own entries are left out."""
    run_dir = Path(run_dir)
    found: dict[str, Path] = {}
    if not run_dir.is_dir():
        return found
    for entry in sorted(os.scandir(run_dir), key=lambda item: item.name):
        if is_own_entry(entry.name):
            continue
        path = Path(entry.path)
        if entry.is_dir(follow_symlinks=False):
            for inner in _walk_files(path):
                found[inner.relative_to(run_dir).as_posix()] = inner
        elif path.is_file():
            found[entry.name] = path
    return found


def stored_files(run_dir: Path) -> dict[str, Path]:
    """A run's files by the name the Api and the server use: ``files/x`` as ``x``, ``media/...``, ``output.log``,
    and what was written into the run directory itself (``run.dir/model.pt`` as ``model.pt``).

    A saved file (``files/x``) wins over a file of the same name written into the run directory.
    Symbolic links to directories are not followed, so nothing outside the run is listed.
    """
    run_dir = Path(run_dir)
    found: dict[str, Path] = {}
    for folder, prefix in ((files_dir(run_dir), ""), (media_dir(run_dir), "media/")):
        if folder.is_dir():
            for path in _walk_files(folder):
                found[prefix + path.relative_to(folder).as_posix()] = path
    output = run_dir / OUTPUT_LOG_NAME
    if output.is_file():
        found[OUTPUT_LOG_NAME] = output
    for name, path in user_files(run_dir).items():
        found.setdefault(name, path)
    return found
