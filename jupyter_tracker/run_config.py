"""A run's config: hyperparameters with attribute and item access, recorded on every change."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, MutableMapping
from typing import Any

from jupyter_tracker.values import MAX_NESTING, DottedValues, normalise_mapping

#: config names keep up to three dots; deeper nesting stays a nested value
CONFIG_MAX_DOTS = 3


class ConfigWarning(UserWarning):
    """A config change was refused or is suspicious (a locked key)."""


class ConfigError(TypeError, ValueError):
    """A config value the store cannot keep (wandb's ``ConfigError``); the message names the key."""


class Config(DottedValues, MutableMapping[str, Any]):
    """Hyperparameters of a run.

    >>> config = Config()
    >>> config.update({"lr": 0.1, "opt": {"name": "adam"}})
    >>> config.lr, config["opt.name"], config.opt
    (0.1, 'adam', {'name': 'adam'})
    """

    def __init__(
        self,
        on_change: Callable[[dict[str, Any]], None] | None = None,
        on_warning: Callable[[Warning], None] | None = None,
    ) -> None:
        object.__setattr__(self, "_values", {})
        object.__setattr__(self, "_locked", {})
        object.__setattr__(self, "_on_change", on_change)
        object.__setattr__(self, "_on_warning", on_warning)

    # mapping protocol (reading comes from DottedValues) ---------------------------------
    def __setitem__(self, key: str, value: Any) -> None:
        self.update({key: value})

    def __delitem__(self, key: str) -> None:
        raise TypeError("config keys cannot be deleted; set a new value instead")

    def __setattr__(self, name: str, value: Any) -> None:
        self.update({name: value})

    def __repr__(self) -> str:
        return f"Config({self._values!r})"

    @property  # type: ignore[misc]
    def __dict__(self) -> dict[str, Any]:  # type: ignore[override]
        """``vars(config)``: the user's keys as a plain dict (dotted names), as :meth:`as_dict`.

        Only the name ``__dict__`` is redefined: the instance keeps its own attribute storage, so
        ``config.lr`` and the internal state are untouched.
        """
        return dict(self._values)

    def __getstate__(self) -> dict[str, Any]:
        """Copies and pickles take the internal state (``__dict__`` now answers the user's keys)."""
        return {name: object.__getattribute__(self, name) for name in ("_values", "_locked", "_on_change", "_on_warning")}

    def __setstate__(self, state: Mapping[str, Any]) -> None:
        for name, value in state.items():
            object.__setattr__(self, name, value)

    # wandb's config methods --------------------------------------------------------------
    def update(self, data: Any = None, allow_val_change: bool = False, **kwargs: Any) -> None:  # type: ignore[override]
        """Adds or changes keys; nested dicts flatten to dotted names up to three dots.

        ``data`` may be a dict, an ``argparse.Namespace`` or any object with ``__dict__``.
        """
        incoming = _as_mapping(data)
        incoming.update(kwargs)
        flat = _normalised(incoming)
        changes: dict[str, Any] = {}
        for key, value in flat.items():
            if key in self._locked and self._locked[key] != value:
                self._warn(ConfigWarning(
                    f"config key {key!r} is locked (set by {self._locked[key]!r}); "
                    f"the change to {value!r} was ignored"
                ))
                continue
            if key in self._values and not _same(self._values[key], value) and not allow_val_change:
                self._warn(ConfigWarning(
                    f"config key {key!r} changed from {self._values[key]!r} to {value!r}"
                ))
            changes[key] = value
        if not changes:
            return
        self._values.update(changes)
        if self._on_change is not None:
            self._on_change(changes)

    def setdefaults(self, data: Mapping[str, Any]) -> None:
        """Sets only the keys that have no value yet."""
        flat = _normalised(_as_mapping(data))
        self.update({key: value for key, value in flat.items() if key not in self._values})

    def lock(self, keys: Mapping[str, Any], owner: str = "sweep") -> None:
        """Fixes keys (as a sweep agent does); later changes warn and are ignored."""
        self.update(keys, allow_val_change=True)
        for key, value in normalise_mapping(keys, CONFIG_MAX_DOTS, "config").items():
            self._locked[key] = value

    def as_dict(self) -> dict[str, Any]:
        """A plain copy with dotted names."""
        return dict(self._values)

    def size_bytes(self) -> int:
        return len(json.dumps(self._values, default=lambda value: list(getattr(value, "shape", ())) or str(value)))

    def _load(self, values: Mapping[str, Any]) -> None:
        """Restores the config of a resumed run without recording it again."""
        self._values.update(values)

    def _warn(self, warning: Warning) -> None:
        if self._on_warning is not None:
            self._on_warning(warning)


def _normalised(data: Mapping[Any, Any]) -> dict[str, Any]:
    """Checked, flattened values; keys that are not strings (``id2label``'s ints) become strings, as in wandb."""
    try:
        return normalise_mapping(_string_keys(data, ()), CONFIG_MAX_DOTS, "config")
    except (TypeError, ValueError) as error:
        raise ConfigError(str(error).replace("cannot log", "cannot set config").replace("log key", "config key")) from None


def _string_keys(data: Mapping[Any, Any], path: tuple[int, ...]) -> dict[str, Any]:
    if id(data) in path or len(path) > MAX_NESTING:
        return dict(data)  # left as is: the flattening below names the cyclic or too-deep key
    inner = (*path, id(data))
    return {
        (key if isinstance(key, str) else str(key)): (_string_keys(value, inner) if isinstance(value, Mapping) else value)
        for key, value in data.items()
    }


def _same(old: Any, new: Any) -> bool:
    try:
        return bool(old == new)
    except Exception:
        return old is new


def _as_mapping(data: Any) -> dict[str, Any]:
    if data is None:
        return {}
    if isinstance(data, Mapping):
        return dict(data)
    if hasattr(data, "__dict__"):
        return {key: value for key, value in vars(data).items() if not key.startswith("_")}
    raise TypeError(f"config.update() takes a dict or an object with attributes, not {type(data).__name__}")
