"""Artifact names and the paths that point at one version: ``name:alias``, ``project/name:v3``.

Pure: no IO. An artifact name is what wandb accepts (letters, digits, ``-``, ``_``, ``.``); a
version is ``v<N>``; an alias is any other such word (``latest``, ``best``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,128}$")
_VERSION = re.compile(r"^v(\d+)$")
LATEST = "latest"


class ArtifactNameError(ValueError):
    """An artifact name, type, alias or path that cannot be used; the message names it."""


def check_name(name: object, what: str = "artifact name") -> str:
    """Returns ``name`` when it is a valid artifact name, else raises :class:`ArtifactNameError`.

    >>> check_name("mnist-model")
    'mnist-model'
    """
    if not isinstance(name, str) or not _NAME.match(name):
        raise ArtifactNameError(
            f"{what} {name!r} is not allowed: use 1 to 128 letters, digits, '-', '_' or '.' (no ':' or '/')"
        )
    return name


def check_alias(alias: object) -> str:
    """An alias is a name that is not a version number (``v3`` is the version's own name)."""
    text = check_name(alias, "artifact alias")
    if _VERSION.match(text):
        raise ArtifactNameError(f"artifact alias {text!r} is not allowed: 'v<N>' names a version")
    return text


def version_number(selector: str) -> int | None:
    """``"v3"`` → 3; an alias → None.

    >>> version_number("v12"), version_number("best")
    (12, None)
    """
    match = _VERSION.match(selector)
    return int(match.group(1)) if match else None


@dataclass(frozen=True)
class ArtifactPath:
    """Where one artifact version is: entity and project may be None (the defaults apply)."""

    entity: str | None
    project: str | None
    name: str
    selector: str

    def __str__(self) -> str:
        prefix = "/".join(part for part in (self.entity, self.project) if part)
        return f"{prefix + '/' if prefix else ''}{self.name}:{self.selector}"


def parse_path(path: str) -> ArtifactPath:
    """Parses ``name[:alias]``, ``project/name[:alias]`` or ``entity/project/name[:alias]``.

    >>> parse_path("mnist/model:best")
    ArtifactPath(entity=None, project='mnist', name='model', selector='best')
    """
    text = str(path).strip()
    parts = text.split("/")
    if not 1 <= len(parts) <= 3:
        raise ArtifactNameError(f"artifact path {text!r}: use 'name:alias', 'project/name:alias' or 'entity/project/name:alias'")
    last = parts[-1]
    name, _, selector = last.partition(":")
    check_name(name)
    selector = selector or LATEST
    check_name(selector, "artifact version or alias")
    entity = parts[0] if len(parts) == 3 else None
    project = parts[-2] if len(parts) >= 2 else None
    for part, what in ((entity, "entity"), (project, "project")):
        if part is not None and not part:
            raise ArtifactNameError(f"artifact path {text!r} has an empty {what}")
    return ArtifactPath(entity, project, name, selector)
