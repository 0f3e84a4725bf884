"""``Artifact``: a versioned set of files (datasets, models) logged by one run and used by others.

Built as in wandb: ``Artifact(name, type)``, then ``add_file``/``add_dir``/``new_file``/
``add_reference``, then ``run.log_artifact(artifact, aliases=["best"])``. Once logged it is a
version (``v0, v1, ...``) that ``run.use_artifact("name:best")`` or ``Api().artifact(...)`` gives
back, and ``download()`` puts its files in a folder. Contents are hashed (SHA-256) when added.
"""

from __future__ import annotations

import contextlib
import datetime as _datetime
import os
import shutil
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import IO, Any
from urllib.parse import unquote, urlsplit

from jupyter_tracker.artifacts.manifest import (
    ArtifactManifestEntry,
    ManifestError,
    check_entry_path,
    entries_from_json,
    file_digest,
    is_sha256,
    manifest_digest,
)
from jupyter_tracker.artifacts.names import LATEST, check_alias, check_name
from jupyter_tracker.artifacts.registry import decode_metadata

_REFERENCE_SCHEMES = ("file", "http", "https")


class ArtifactFinalizedError(RuntimeError):
    """A logged artifact's files cannot change; make a new ``Artifact`` of the same name instead."""


class ArtifactVerificationError(ValueError):
    """A folder does not hold exactly the artifact's files; the message lists what differs."""


def _default_cache_dir() -> Path:
    from jupyter_tracker.settings import cache_dir

    return cache_dir()


class Artifact:
    """A set of files with a name and a type, versioned when logged.

    >>> model = Artifact("mnist-cnn", type="model", metadata={"acc": 0.98})  # doctest: +SKIP
    >>> model.add_file("model.pt")  # doctest: +SKIP
    >>> run.log_artifact(model, aliases=["best"])  # doctest: +SKIP
    >>> run.use_artifact("mnist-cnn:best").download()  # doctest: +SKIP
    'artifacts/mnist-cnn:v0'
    """

    def __init__(
        self,
        name: str,
        type: str,  # noqa: A002 - wandb's name
        description: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        incremental: bool = False,
        use_as: str | None = None,
    ) -> None:
        self._base_name = check_name(name)
        self.type = check_name(type, "artifact type")
        self.description = description
        if metadata is not None and not isinstance(metadata, Mapping):
            raise TypeError(f"Artifact(metadata=...) must be a dict, not {metadata.__class__.__name__}")
        self.metadata: dict[str, Any] = dict(metadata or {})
        self._entries: dict[str, ArtifactManifestEntry] = {}
        self._record: dict[str, Any] | None = None
        self._source: Any = None
        self.aliases: list[str] = []

    # identity ----------------------------------------------------------------------------------
    @property
    def name(self) -> str:
        """``name`` before logging, ``name:v<N>`` once logged (as wandb)."""
        return f"{self._base_name}:{self.version}" if self._record else self._base_name

    @property
    def source_name(self) -> str:
        return self.name

    @property
    def collection_name(self) -> str:
        return self._base_name

    @property
    def version(self) -> str | None:
        """``v<N>`` once logged, else None."""
        return f"v{self._record['version']}" if self._record else None

    @property
    def project(self) -> str | None:
        return self._record["project"] if self._record else None

    @property
    def entity(self) -> str | None:
        return self._record["entity"] if self._record else None

    @property
    def qualified_name(self) -> str:
        prefix = "/".join(part for part in (self.entity, self.project) if part)
        return f"{prefix}/{self.name}" if prefix else self.name

    @property
    def id(self) -> str | None:
        return f"{self.qualified_name}@{self.digest[:12]}" if self._record else None

    @property
    def state(self) -> str:
        return "COMMITTED" if self._record else "PENDING"

    @property
    def digest(self) -> str:
        """SHA-256 over the files' paths and contents: equal contents, equal digest."""
        return self._record["digest"] if self._record else manifest_digest(self._entries.values())

    @property
    def size(self) -> int:
        """Bytes of the files (references not counted)."""
        return sum(entry.size or 0 for entry in self._entries.values() if entry.ref is None)

    @property
    def file_count(self) -> int:
        return len(self._entries)

    @property
    def manifest(self) -> dict[str, Any]:
        return {"entries": {path: entry.to_json() for path, entry in sorted(self._entries.items())}}

    @property
    def created_at(self) -> str | None:
        if not self._record:
            return None
        moment = _datetime.datetime.fromtimestamp(self._record["created"], tz=_datetime.timezone.utc)
        return moment.strftime("%Y-%m-%dT%H:%M:%S")

    def __repr__(self) -> str:
        return f"<Artifact {self.qualified_name} type={self.type} files={len(self._entries)}>"

    # building ----------------------------------------------------------------------------------
    def _check_open(self) -> None:
        if self._record is not None:
            raise ArtifactFinalizedError(
                f"artifact {self.name} is logged and its files cannot change; create Artifact({self._base_name!r}, "
                f"{self.type!r}) with the new files (a new version is logged only if they differ)"
            )

    def _put(self, entry: ArtifactManifestEntry, overwrite: bool) -> ArtifactManifestEntry:
        existing = self._entries.get(entry.path)
        if existing is not None and not overwrite and (existing.digest, existing.ref) != (entry.digest, entry.ref):
            raise ValueError(f"artifact {self._base_name} already has a file {entry.path!r}; pass overwrite=True to replace it")
        entry._artifact = self
        self._entries[entry.path] = entry
        return entry

    def add_file(self, local_path: str | os.PathLike[str], name: str | None = None, is_tmp: bool = False,
                 skip_cache: bool = False, policy: str = "mutable", overwrite: bool = False) -> ArtifactManifestEntry:
        """Adds one file, as ``name`` (default: its base name); its content is hashed now."""
        self._check_open()
        path = Path(local_path)
        if not path.is_file():
            raise FileNotFoundError(f"add_file: {local_path} is not a file")
        entry_name = check_entry_path(name if name is not None else path.name)
        digest, size = file_digest(path)
        return self._put(ArtifactManifestEntry(entry_name, digest, size, local_path=str(path.resolve()),
                                               is_tmp=is_tmp), overwrite)

    def add_dir(self, local_path: str | os.PathLike[str], name: str | None = None, skip_cache: bool = False,
                policy: str = "mutable", merge: bool = False) -> None:
        """Adds every file under a folder, keeping their relative paths (under ``name/`` when given)."""
        self._check_open()
        root = Path(local_path)
        if not root.is_dir():
            raise NotADirectoryError(f"add_dir: {local_path} is not a folder")
        prefix = check_entry_path(name) + "/" if name else ""
        for directory, folders, files in os.walk(root):
            folders.sort()
            for file_name in sorted(files):
                path = Path(directory) / file_name
                relative = path.relative_to(root).as_posix()
                self.add_file(path, prefix + relative, overwrite=merge)

    @contextlib.contextmanager
    def new_file(self, name: str, mode: str = "x", encoding: str | None = None) -> Iterator[IO[Any]]:
        """Opens a new file to write into the artifact (staged under the cache, ``WANDB_CACHE_DIR``)."""
        self._check_open()
        entry_name = check_entry_path(name)
        if entry_name in self._entries:
            raise ValueError(f"artifact {self._base_name} already has a file {entry_name!r}")
        staging = _default_cache_dir() / "artifacts" / "staging" / uuid.uuid4().hex
        target = staging / entry_name
        target.parent.mkdir(parents=True, exist_ok=True)
        if "b" not in mode and encoding is None:
            encoding = "utf-8"
        with open(target, mode, encoding=encoding) as handle:
            yield handle
        self.add_file(target, entry_name, is_tmp=True)

    def add_reference(self, uri: str, name: str | None = None, checksum: bool = True,
                      max_objects: int | None = None) -> list[ArtifactManifestEntry]:
        """Records a reference: ``file://`` (checksummed now, copied on download) or ``http(s)://`` (not fetched).

        A ``file://`` folder adds one reference per file under it.
        """
        self._check_open()
        parts = urlsplit(str(uri))
        if parts.scheme not in _REFERENCE_SCHEMES:
            raise ValueError(f"add_reference: {uri!r} is not a file://, http:// or https:// URI")
        if parts.scheme != "file":
            entry_name = check_entry_path(name or (Path(unquote(parts.path)).name or parts.netloc))
            return [self._put(ArtifactManifestEntry(entry_name, str(uri), None, ref=str(uri)), overwrite=True)]
        local = Path(unquote(parts.path))
        if local.is_dir():
            added = []
            files = sorted(path for path in local.rglob("*") if path.is_file())
            for path in files[:max_objects] if max_objects else files:
                relative = path.relative_to(local).as_posix()
                entry_name = check_entry_path(f"{name}/{relative}" if name else relative)
                added.append(self._file_reference(path, entry_name, checksum))
            return added
        if not local.is_file():
            raise FileNotFoundError(f"add_reference: {uri} names no file or folder")
        return [self._file_reference(local, check_entry_path(name or local.name), checksum)]

    def _file_reference(self, path: Path, entry_name: str, checksum: bool) -> ArtifactManifestEntry:
        uri = path.resolve().as_uri()
        digest, size = file_digest(path) if checksum else (uri, path.stat().st_size)
        return self._put(ArtifactManifestEntry(entry_name, digest, size, ref=uri), overwrite=True)

    def add(self, obj: Any, name: str, overwrite: bool = False) -> ArtifactManifestEntry:
        """Adds a media object (``Table``, ``Image``, ``Histogram``) as ``<name>.<kind>.json`` and its files."""
        self._check_open()
        from jupyter_tracker.artifacts.media_entries import add_media, media_entry_name

        if media_entry_name(self, name) is not None and not overwrite:
            raise ValueError(f"artifact {self._base_name} already has an object {name!r}; pass overwrite=True")
        return add_media(self, obj, name)

    def get(self, name: str) -> Any:
        """The media object added as ``name``, rebuilt (a ``Table``, ``Image``, ``Histogram``)."""
        from jupyter_tracker.artifacts.media_entries import get_media

        return get_media(self, name)

    def remove(self, item: str | ArtifactManifestEntry) -> None:
        """Takes a file (or every file under a folder name) out of the artifact."""
        self._check_open()
        path = item.path if isinstance(item, ArtifactManifestEntry) else check_entry_path(item)
        removed = [key for key in self._entries if key == path or key.startswith(path + "/")]
        if not removed:
            raise FileNotFoundError(f"artifact {self._base_name} has no file {path!r}")
        for key in removed:
            del self._entries[key]

    # reading -----------------------------------------------------------------------------------
    def get_entry(self, name: str) -> ArtifactManifestEntry:
        """The entry of one file (``entry.digest``, ``entry.size``, ``entry.ref``, ``entry.download()``)."""
        entry = self._entries.get(check_entry_path(name))
        if entry is None:
            raise KeyError(f"artifact {self.name} has no file {name!r}")
        return entry

    get_path = get_entry

    def files(self, names: list[str] | None = None, per_page: int = 50) -> list[ArtifactManifestEntry]:
        """The artifact's files (entries), in path order; ``names`` keeps only those."""
        wanted = set(names) if names else None
        return [entry for path, entry in sorted(self._entries.items()) if wanted is None or path in wanted]

    def _default_root(self) -> Path:
        return Path("artifacts") / (self.name if self._record else f"{self._base_name}:draft")

    def download(self, root: str | os.PathLike[str] | None = None, allow_missing_references: bool = False,
                 skip_cache: bool | None = None, path_prefix: str | None = None) -> str:
        """Puts the artifact's files under ``root`` (default ``./artifacts/<name>:v<N>``); returns it.

        ``http(s)`` references are not fetched (their entries keep the URI); ``file://`` ones are copied.
        """
        target_root = Path(root) if root is not None else self._default_root()
        target_root.mkdir(parents=True, exist_ok=True)
        for path, entry in sorted(self._entries.items()):
            if path_prefix and not path.startswith(path_prefix):
                continue
            self._download_entry(entry, target_root, allow_missing_references)
        return str(target_root)

    def _download_entry(self, entry: ArtifactManifestEntry, root: str | os.PathLike[str] | None,
                        allow_missing_references: bool = False) -> str:
        target_root = Path(root) if root is not None else self._default_root()
        target = target_root / entry.path
        if target_root.resolve() not in target.resolve().parents:
            raise ManifestError(f"artifact file {entry.path!r} would land outside {target_root}")
        if entry.ref is not None:
            return self._download_reference(entry, target, allow_missing_references)
        if target.is_file() and target.stat().st_size == entry.size and file_digest(target)[0] == entry.digest:
            return str(target)
        if entry.local_path is not None and self._source is None:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(entry.local_path, target)
        else:
            self._source.fetch(self._record, entry.digest, target)
        return str(target)

    def _download_reference(self, entry: ArtifactManifestEntry, target: Path, allow_missing: bool) -> str:
        assert entry.ref is not None
        parts = urlsplit(entry.ref)
        if parts.scheme != "file":
            return entry.ref  # recorded, not fetched
        source = Path(unquote(parts.path))
        if not source.is_file():
            if allow_missing:
                return str(target)
            raise FileNotFoundError(f"artifact {self.name}: the referenced file {entry.ref} is gone")
        if is_sha256(entry.digest) and file_digest(source)[0] != entry.digest:
            raise ArtifactVerificationError(f"artifact {self.name}: the referenced file {entry.ref} changed since it was logged")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
        return str(target)

    def checkout(self, root: str | os.PathLike[str] | None = None) -> str:
        """Makes ``root`` hold exactly the artifact's files: downloads them, deletes any other file."""
        target_root = Path(self.download(root))
        wanted = {path for path, entry in self._entries.items() if not _is_remote_ref(entry)}
        for path in sorted(target_root.rglob("*"), reverse=True):
            relative = path.relative_to(target_root).as_posix()
            if path.is_file() and relative not in wanted:
                path.unlink()
            elif path.is_dir() and not any(path.iterdir()):
                path.rmdir()
        return str(target_root)

    def verify(self, root: str | os.PathLike[str] | None = None) -> None:
        """Raises :class:`ArtifactVerificationError` unless ``root`` holds exactly the artifact's files."""
        target_root = Path(root) if root is not None else self._default_root()
        problems = []
        wanted = {path: entry for path, entry in self._entries.items() if not _is_remote_ref(entry)}
        for path, entry in sorted(wanted.items()):
            file = target_root / path
            if not file.is_file():
                problems.append(f"{path}: missing")
            elif is_sha256(entry.digest) and file_digest(file)[0] != entry.digest:
                problems.append(f"{path}: content differs")
        if target_root.is_dir():
            for file in sorted(target_root.rglob("*")):
                relative = file.relative_to(target_root).as_posix()
                if file.is_file() and relative not in wanted:
                    problems.append(f"{relative}: not in the artifact")
        if problems:
            raise ArtifactVerificationError(f"{target_root} does not match artifact {self.name}: " + "; ".join(problems))

    # lineage and aliases -------------------------------------------------------------------------
    def logged_by(self) -> Any:
        """The run that logged this version (a public-API ``Run``), or None."""
        if not self._record or not self._record.get("logged_by"):
            return None
        return self._source.run(self._record, self._record["logged_by"])

    def used_by(self) -> list[Any]:
        """The runs that used this version (public-API ``Run`` objects)."""
        if not self._record:
            return []
        return [self._source.run(self._record, run_id) for run_id in self._source.used_by(self._record)]

    def save(self) -> None:
        """Stores changes to a logged version's ``aliases`` (``artifact.aliases.append("best")``)."""
        if not self._record:
            raise ArtifactFinalizedError(f"artifact {self._base_name} is not logged yet; use run.log_artifact(artifact)")
        aliases = [alias if alias == LATEST else check_alias(alias) for alias in self.aliases]
        self._bind(self._source.set_aliases(self._record, aliases), self._source)

    def wait(self, timeout: float | None = None) -> Artifact:
        return self

    def is_draft(self) -> bool:
        return self._record is None

    # binding to a stored version ------------------------------------------------------------------
    def _bind(self, record: dict[str, Any], source: Any) -> Artifact:
        self._record = record
        self._source = source
        self.aliases = list(record.get("aliases") or [])
        self.metadata = decode_metadata(dict(record.get("metadata") or {}))
        for path, stored in entries_from_json(record["manifest"]).items():
            entry = self._entries.get(path)
            if entry is None:
                entry = self._entries[path] = stored
            entry.digest, entry.size, entry.ref = stored.digest, stored.size, stored.ref
            entry.local_path, entry.is_tmp = None, False
            entry._artifact = self
        return self

    @classmethod
    def _from_record(cls, record: dict[str, Any], source: Any) -> Artifact:
        artifact = cls(record["name"], record["type"], record.get("description"), record.get("metadata") or {})
        return artifact._bind(record, source)


def _is_remote_ref(entry: ArtifactManifestEntry) -> bool:
    return entry.ref is not None and not entry.ref.startswith("file:")
