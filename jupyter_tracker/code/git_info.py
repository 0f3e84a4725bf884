"""Reads a repository's state through the ``git`` command (no GitPython): commit, branch, remote, diff.

Every function returns None (or an empty result) where there is no git, no repository or no
commit; nothing here raises for a missing repository.
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

_TIMEOUT_S = 10.0


class GitError(RuntimeError):
    """A git command failed; the message holds git's own words."""


def run_git(args: list[str], cwd: str | Path, check: bool = True,
            timeout: float = _TIMEOUT_S) -> subprocess.CompletedProcess[bytes]:
    """Runs ``git args`` in ``cwd`` without prompts or locks; raises :class:`GitError` when ``check``."""
    environment = dict(os.environ, GIT_TERMINAL_PROMPT="0", GIT_OPTIONAL_LOCKS="0", LC_ALL="C")
    try:
        result = subprocess.run(["git", *args], cwd=str(cwd), capture_output=True, timeout=timeout,
                                env=environment, check=False)
    except (OSError, subprocess.TimeoutExpired) as error:
        raise GitError(f"git {' '.join(args)}: {error}") from error
    if check and result.returncode != 0:
        message = result.stderr.decode("utf-8", "replace").strip() or f"exit status {result.returncode}"
        raise GitError(f"git {' '.join(args)}: {message}")
    return result


def _output(args: list[str], cwd: str | Path) -> str | None:
    try:
        result = run_git(args, cwd, check=False)
    except GitError:
        return None
    if result.returncode != 0:
        return None
    return result.stdout.decode("utf-8", "replace").strip()


def strip_credentials(url: str) -> str:
    """Removes what a remote URL may carry as secret: the password, and for http(s) the user too.

    >>> strip_credentials("https://user:token@host/repo.git")
    'https://host/repo.git'
    >>> strip_credentials("ssh://git:secret@host:22/repo.git")
    'ssh://git@host:22/repo.git'
    >>> strip_credentials("git@github.com:org/repo.git")
    'git@github.com:org/repo.git'
    """
    if "://" not in url:
        return url  # scp-like syntax (user@host:path) holds no password
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    if "@" not in parts.netloc:
        return url
    userinfo, _, hostport = parts.netloc.rpartition("@")
    user = userinfo.split(":", 1)[0]
    keep_user = parts.scheme not in ("http", "https") and user
    netloc = f"{user}@{hostport}" if keep_user else hostport
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


@dataclasses.dataclass(frozen=True)
class GitInfo:
    """A repository's state at one moment, as a run records it."""

    root: str
    commit: str | None
    branch: str | None
    remote: str | None
    dirty: bool

    def as_record(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def repository_root(cwd: str | Path) -> Path | None:
    """The top of the work tree holding ``cwd``, or None outside a repository (or without git)."""
    top = _output(["rev-parse", "--show-toplevel"], cwd)
    return Path(top) if top else None


def read_git_info(cwd: str | Path) -> GitInfo | None:
    """Commit, branch (None when detached), remote URL without credentials and dirty flag.

    Three git calls (the run's ``init`` waits for them): the top of the work tree, one
    ``status --porcelain=v2 --branch`` for commit, branch and changes, and the remotes' URLs.
    """
    root = repository_root(cwd)
    if root is None:
        return None
    status = _output(["status", "--porcelain=v2", "--branch", "--untracked-files=no"], root) or ""
    commit = branch = None
    dirty = False
    for line in status.splitlines():
        if line.startswith("# branch.oid "):
            value = line[len("# branch.oid "):]
            commit = None if value == "(initial)" else value
        elif line.startswith("# branch.head "):
            value = line[len("# branch.head "):]
            branch = None if value == "(detached)" else value
        elif line and not line.startswith("#"):
            dirty = True
    return GitInfo(root=str(root), commit=commit, branch=branch, remote=_remote_url(root), dirty=dirty)


def _remote_url(root: Path) -> str | None:
    """``origin``'s URL (else the first remote's), credentials stripped; None without remotes."""
    listed = _output(["config", "--get-regexp", r"^remote\..*\.url$"], root) or ""
    urls: dict[str, str] = {}
    for line in listed.splitlines():
        key, _, url = line.partition(" ")
        name = key[len("remote."):-len(".url")]
        urls.setdefault(name, url)
    if not urls:
        return None
    url = urls.get("origin") or next(iter(urls.values()))
    return strip_credentials(url)


def uncommitted_diff(root: str | Path) -> bytes:
    """The diff of the work tree and index against HEAD (binary-safe, ``git apply``-able); empty if none."""
    if _output(["rev-parse", "--verify", "--quiet", "HEAD"], root) is None:
        return b""
    try:
        result = run_git(["diff", "HEAD", "--binary", "--no-color", "--no-ext-diff"], root)
    except GitError:
        return b""
    return result.stdout


def has_uncommitted_changes(root: str | Path) -> bool:
    """True when tracked files differ from HEAD (staged or not): work a checkout would overwrite."""
    status = _output(["status", "--porcelain", "--untracked-files=no"], root)
    return bool(status)
