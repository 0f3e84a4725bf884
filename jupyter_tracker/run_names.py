"""The rules for entity, project and run names: one place that ``init`` and the server both apply.

A name becomes a path segment of the server's URLs and of the local store, so a name the server
would refuse must be refused by ``init`` at once, not when the run syncs hours later. Pure: no IO.

>>> check_name("mnist", "project")
'mnist'
>>> name_problem("a/b", "project")
"project 'a/b' is not allowed: no slashes, backslashes, control characters, '.' or '..'"
"""

from __future__ import annotations

#: the longest entity, project or run name (characters)
NAME_MAX_CHARS = 128
#: the project a run goes to when none is named
DEFAULT_PROJECT = "uncategorized"
_FORBIDDEN_CHARACTERS = "/\\\x00"


class InvalidNameError(ValueError):
    """An entity, project or run name the server would refuse; the message names which one."""


class EmptyProjectWarning(UserWarning):
    """``init(project="")`` was given: the run goes to :data:`DEFAULT_PROJECT`, and the user is told."""


def name_problem(value: object, what: str) -> str | None:
    """Why ``value`` cannot be an entity, project or run name (``what`` says which), or None if it can."""
    if not isinstance(value, str):
        return f"{what} must be a str, not {type(value).__name__}"
    if not value or len(value) > NAME_MAX_CHARS:
        shown = f"{value[:20]!r}... ({len(value):,} characters)" if len(value) > NAME_MAX_CHARS else repr(value)
        return f"{what} must be 1 to {NAME_MAX_CHARS} characters, not {shown}"
    if value in (".", "..") or any(char in value for char in _FORBIDDEN_CHARACTERS) or not value.isprintable():
        return f"{what} {value!r} is not allowed: no slashes, backslashes, control characters, '.' or '..'"
    return None


def check_name(value: object, what: str) -> str:
    """Returns ``value`` when it is a valid name; raises :class:`InvalidNameError` naming ``what`` otherwise."""
    problem = name_problem(value, what)
    if problem is not None:
        raise InvalidNameError(problem)
    return value  # type: ignore[return-value]  # name_problem has checked that it is a str
