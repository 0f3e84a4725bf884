"""Resolves every option once, and is the only module that reads the environment.

Precedence, highest first: an explicit argument, a ``WANDB_*`` environment variable, the
directory settings file written by ``jupyter-tracker offline|online``, the default.
"""

from __future__ import annotations

import configparser
import contextlib
import dataclasses
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

SETTINGS_FILE_NAME = "settings"
_TRUE_WORDS = frozenset({"1", "true", "yes", "on", "y", "t"})
_FALSE_WORDS = frozenset({"0", "false", "no", "off", "n", "f", ""})
_MODES = ("online", "offline", "dryrun", "disabled")
_CONSOLE_MODES = ("wrap", "off", "auto", "redirect")
_RESUME_CHOICES = ("allow", "must", "never", "auto")

#: environment variable name for each setting that honours one
ENVIRONMENT_NAMES: dict[str, str] = {
    "mode": "WANDB_MODE",
    "silent": "WANDB_SILENT",
    "console": "WANDB_CONSOLE",
    "dir": "WANDB_DIR",
    "project": "WANDB_PROJECT",
    "entity": "WANDB_ENTITY",
    "name": "WANDB_NAME",
    "run_id": "WANDB_RUN_ID",
    "group": "WANDB_RUN_GROUP",
    "tags": "WANDB_TAGS",
    "resume": "WANDB_RESUME",
    "api_key": "WANDB_API_KEY",
    "base_url": "WANDB_BASE_URL",
    "username": "WANDB_USERNAME",
    "disable_code": "WANDB_DISABLE_CODE",
    "ignore_globs": "WANDB_IGNORE_GLOBS",
    "notebook_name": "WANDB_NOTEBOOK_NAME",
    "notes": "WANDB_NOTES",
    "job_type": "WANDB_JOB_TYPE",
    "sweep_id": "WANDB_SWEEP_ID",
    "sweep_param_path": "WANDB_SWEEP_PARAM_PATH",
    "console_output": "JUPYTER_TRACKER_CONSOLE_OUTPUT",
    "flush_interval": "JUPYTER_TRACKER_FLUSH_INTERVAL",
    "live": "JUPYTER_TRACKER_LIVE",
    "sync_timeout": "JUPYTER_TRACKER_SYNC_TIMEOUT",
    "sync_interval": "JUPYTER_TRACKER_SYNC_INTERVAL",
    "sync_unsynced_on_init": "JUPYTER_TRACKER_SYNC_UNSYNCED_ON_INIT",
    "system_sample_interval": "JUPYTER_TRACKER_SYSTEM_SAMPLE_INTERVAL",
    "system_window": "JUPYTER_TRACKER_SYSTEM_WINDOW",
    "disable_system_metrics": "JUPYTER_TRACKER_DISABLE_SYSTEM_METRICS",
}


class SettingsError(ValueError):
    """An option has a value the library cannot use; the message names the option."""


def parse_bool(text: str | bool | None, name: str = "value") -> bool:
    """Reads a boolean the way users write it in environment variables (``true``, ``1``, ``yes``)."""
    if isinstance(text, bool):
        return text
    if text is None:
        return False
    word = str(text).strip().lower()
    if word in _TRUE_WORDS:
        return True
    if word in _FALSE_WORDS:
        return False
    raise SettingsError(f"{name}: expected true/false, got {text!r}")


def environment_value(name: str) -> str | None:
    """Returns one environment variable; the console calls this each time it speaks."""
    return os.environ.get(name)


def ca_bundle() -> str | None:
    """The CA certificates to trust for a server with a private CA, as requests and ssl read them.

    ``REQUESTS_CA_BUNDLE`` first (what wandb users set for requests), then ``SSL_CERT_FILE``;
    None means the system's default store.
    """
    for name in ("REQUESTS_CA_BUNDLE", "SSL_CERT_FILE"):
        value = os.environ.get(name)
        if value:
            return value
    return None


#: the opt-in that makes ``import wandb`` give jupyter_tracker, inherited by subprocesses
AS_WANDB_ENVIRONMENT_NAME = "JUPYTER_TRACKER_AS_WANDB"


def as_wandb_requested() -> bool:
    """``JUPYTER_TRACKER_AS_WANDB`` is true: this process serves ``import wandb`` (a word that is not a boolean is off)."""
    value = os.environ.get(AS_WANDB_ENVIRONMENT_NAME)
    return value is not None and value.strip().lower() in _TRUE_WORDS


def set_as_wandb(flag: bool) -> None:
    """Passes the opt-in to subprocesses (launchers, workers) started from now on."""
    if flag:
        os.environ[AS_WANDB_ENVIRONMENT_NAME] = "1"
    else:
        os.environ.pop(AS_WANDB_ENVIRONMENT_NAME, None)


def is_silent() -> bool:
    """``WANDB_SILENT`` read now, so setting it after ``import`` or ``init`` still silences output."""
    value = os.environ.get("WANDB_SILENT")
    if value is None:
        return False
    return value.strip().lower() in _TRUE_WORDS


def child_environment(values: Mapping[str, str]) -> dict[str, str]:
    """This process's environment with ``values`` set: what a sweep agent's trial program inherits."""
    return {**os.environ, **values}


def set_silent(flag: bool) -> None:
    """``%tracker silent on|off``: sets ``WANDB_SILENT`` for this process, as ``%env`` would."""
    os.environ["WANDB_SILENT"] = "true" if flag else "false"


def console_output() -> str:
    """Where the console writes: ``stdout`` (default), ``logging`` or ``file:PATH``."""
    return os.environ.get(ENVIRONMENT_NAMES["console_output"], "stdout") or "stdout"


def default_root() -> Path:
    """Directory that holds run directories: ``WANDB_DIR`` or ``./jupyter_tracker``."""
    base = os.environ.get("WANDB_DIR")
    if base:
        path = Path(base).expanduser()
        return path if path.name == "jupyter_tracker" else path / "jupyter_tracker"
    return Path.cwd() / "jupyter_tracker"


def cache_dir() -> Path:
    """Where downloaded artifact files and staged ``new_file`` writes live: ``WANDB_CACHE_DIR`` or ``~/.cache/jupyter_tracker``."""
    base = os.environ.get("WANDB_CACHE_DIR")
    return Path(base).expanduser() if base else Path.home() / ".cache" / "jupyter_tracker"


def login_file_path() -> Path:
    """Where ``jupyter-tracker login`` keeps server addresses and their keys (mode 0600)."""
    return user_config_dir() / "login.json"


def read_login_file() -> dict[str, Any]:
    """``{"current": url, "hosts": {url: {"key": ...}}}`` from the login file, or nothing."""
    import json

    try:
        values = json.loads(login_file_path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return values if isinstance(values, dict) else {}


def _login_fallback(values: dict[str, Any]) -> None:
    """``base_url``/``api_key`` not given explicitly nor by the environment: from the login file."""
    if values.get("base_url") and values.get("api_key"):
        return
    stored = read_login_file()
    listed = stored.get("hosts")
    hosts: dict[str, Any] = listed if isinstance(listed, dict) else {}
    base_url = values.get("base_url") or stored.get("current")
    if not base_url:
        return
    values.setdefault("base_url", base_url)
    entry = hosts.get(str(base_url).rstrip("/")) or {}
    if not values.get("api_key") and isinstance(entry, dict) and entry.get("key"):
        values["api_key"] = entry["key"]


def user_config_dir() -> Path:
    """Holds the login file and the server's default database (``~/.jupyter_tracker``)."""
    override = os.environ.get("JUPYTER_TRACKER_HOME")
    return Path(override).expanduser() if override else Path.home() / ".jupyter_tracker"


def settings_file_path(directory: Path | None = None) -> Path:
    """The directory settings file that ``jupyter-tracker offline|online`` writes."""
    base = Path(directory) if directory is not None else Path.cwd()
    return base / "jupyter_tracker" / SETTINGS_FILE_NAME


def read_settings_file(directory: Path | None = None) -> dict[str, str]:
    """Returns the options stored in the directory settings file, or nothing when absent."""
    path = settings_file_path(directory)
    if not path.is_file():
        return {}
    parser = configparser.ConfigParser()
    try:
        parser.read(path, encoding="utf-8")
    except configparser.Error as exc:
        raise SettingsError(f"settings file {path} is unreadable: {exc}") from exc
    return dict(parser["default"]) if parser.has_section("default") else {}


def write_settings_file(values: Mapping[str, str], directory: Path | None = None) -> Path:
    """Merges ``values`` into the directory settings file (used by ``offline``/``online``)."""
    path = settings_file_path(directory)
    path.parent.mkdir(parents=True, exist_ok=True)
    parser = configparser.ConfigParser()
    if path.is_file():
        parser.read(path, encoding="utf-8")
    if not parser.has_section("default"):
        parser.add_section("default")
    for key, value in values.items():
        parser.set("default", key, str(value))
    with path.open("w", encoding="utf-8") as handle:
        parser.write(handle)
    return path


@dataclasses.dataclass(frozen=True)
class Settings:
    """Every option of one run, resolved once at ``init``."""

    mode: str = "online"
    project: str = "uncategorized"
    entity: str | None = None
    name: str | None = None
    run_id: str | None = None
    group: str | None = None
    tags: tuple[str, ...] = ()
    notes: str | None = None
    job_type: str | None = None
    resume: str | None = None
    root: Path = dataclasses.field(default_factory=default_root)
    console: str = "wrap"
    api_key: str | None = None
    base_url: str | None = None
    username: str | None = None
    disable_code: bool = False
    ignore_globs: tuple[str, ...] = ()
    notebook_name: str | None = None
    flush_interval: float = 0.2
    live: str = "auto"
    sync_timeout: float = 30.0
    sync_interval: float = 5.0
    sync_unsynced_on_init: bool = True
    save_code: bool = False
    system_sample_interval: float = 2.0
    system_window: float = 15.0
    disable_system_metrics: bool = False
    #: set by a sweep agent: the sweep and the file holding this trial's suggested parameters
    sweep_id: str | None = None
    sweep_param_path: str | None = None
    extra: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    @property
    def offline(self) -> bool:
        return self.mode in ("offline", "dryrun")

    @property
    def disabled(self) -> bool:
        return self.mode == "disabled"


def _normalise_mode(value: str) -> str:
    mode = str(value).strip().lower()
    if mode == "run":
        mode = "online"
    if mode not in _MODES:
        raise SettingsError(f"mode: expected one of {', '.join(_MODES)}, got {value!r}")
    return mode


def _normalise_resume(value: Any) -> str | None:
    if value is None or value is False:
        return None
    if value is True:
        return "allow"
    word = str(value).strip().lower()
    if word in _TRUE_WORDS:
        return "allow"
    if word in ("", "false", "0", "no"):
        return None
    if word not in _RESUME_CHOICES:
        raise SettingsError(f"resume: expected True, 'allow', 'must' or 'never', got {value!r}")
    return "allow" if word == "auto" else word


def _split_list(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return tuple(part.strip() for part in value.split(",") if part.strip())
    return tuple(str(part) for part in value)


#: what an in-process sweep agent sets for the run its function starts (see :func:`sweep_trial`)
_sweep_trial: dict[str, Any] = {}


@contextlib.contextmanager
def sweep_trial(values: Mapping[str, Any]) -> Iterator[None]:
    """Inside ``agent(function=...)``: ``init()`` gets the trial's run id, project and parameter file.

    They win over ``init()``'s own arguments, as the environment a wandb agent sets does in wandb.
    """
    _sweep_trial.update(values)
    try:
        yield
    finally:
        _sweep_trial.clear()


def resolve(arguments: Mapping[str, Any] | None = None, directory: Path | None = None) -> Settings:
    """Builds the settings of one run from explicit arguments, the environment and the file.

    >>> resolve({"mode": "offline"}).offline
    True
    """
    explicit = {key: value for key, value in (arguments or {}).items() if value is not None}
    explicit.update(_sweep_trial)
    from_file = read_settings_file(directory)
    values: dict[str, Any] = {}
    for key in dataclasses.fields(Settings):
        name = key.name
        if name in explicit:
            values[name] = explicit[name]
            continue
        env_name = ENVIRONMENT_NAMES.get(name)
        if env_name and os.environ.get(env_name) not in (None, ""):
            values[name] = os.environ[env_name]
            continue
        if name in from_file:
            values[name] = from_file[name]
    _login_fallback(values)
    if "dir" in explicit:
        root = Path(explicit["dir"]).expanduser()
        values["root"] = root if root.name == "jupyter_tracker" else root / "jupyter_tracker"
    if "mode" in values:
        values["mode"] = _normalise_mode(values["mode"])
    if "resume" in values:
        values["resume"] = _normalise_resume(values["resume"])
    for name in ("tags", "ignore_globs"):
        if name in values:
            values[name] = _split_list(values[name])
    for name in ("disable_code", "save_code", "disable_system_metrics", "sync_unsynced_on_init"):
        if name in values:
            values[name] = parse_bool(values[name], name)
    for name in ("flush_interval", "sync_timeout", "sync_interval", "system_sample_interval", "system_window"):
        if name in values:
            try:
                values[name] = float(values[name])
            except (TypeError, ValueError) as exc:
                raise SettingsError(f"{name}: expected a number, got {values[name]!r}") from exc
    if "console" in values:
        console = str(values["console"]).strip().lower()
        if console not in _CONSOLE_MODES:
            raise SettingsError(f"console: expected wrap or off, got {values['console']!r}")
        values["console"] = "wrap" if console in ("auto", "redirect") else console
    if "live" in values:
        live = str(values["live"]).strip().lower()
        if live not in ("auto", "widget", "static", "off"):
            raise SettingsError(f"live: expected auto, widget, static or off, got {values['live']!r}")
        values["live"] = live
    known = {field.name for field in dataclasses.fields(Settings)}
    values["extra"] = {key: value for key, value in explicit.items() if key not in known and key != "dir"}
    values = {key: value for key, value in values.items() if key in known}
    return Settings(**values)
