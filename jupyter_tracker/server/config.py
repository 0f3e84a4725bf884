"""The options of one tracking server, with their defaults, passed whole to each worker process."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

from jupyter_tracker import settings
from jupyter_tracker.server.rate_limit import parse_rate

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8600
DEFAULT_RATE_LIMIT = "200/minute"
DEFAULT_MAX_BATCH_BYTES = 16 * 1024 * 1024
DEFAULT_MAX_FILE_BYTES = 100 * 1024 * 1024
#: one records payload sent in parts: room for a 25 MB log call (the guideline) and then some
DEFAULT_MAX_RECORD_BYTES = 64 * 1024 * 1024
#: the environment variable that carries the configuration to uvicorn's worker processes
CONFIG_ENVIRONMENT_NAME = "JUPYTER_TRACKER_SERVER_CONFIG"


def default_db_url() -> str:
    """``sqlite:///~/.jupyter_tracker/server.sqlite`` (under ``settings.user_config_dir()``)."""
    return f"sqlite:///{settings.user_config_dir() / 'server.sqlite'}"


def default_data_dir() -> Path:
    return settings.user_config_dir() / "files"


@dataclasses.dataclass(frozen=True)
class ServerConfig:
    """Everything a server process needs; ``to_json``/``from_json`` carry it to workers."""

    db_url: str = dataclasses.field(default_factory=default_db_url)
    data_dir: Path = dataclasses.field(default_factory=default_data_dir)
    rate_limit: str = DEFAULT_RATE_LIMIT
    max_batch_bytes: int = DEFAULT_MAX_BATCH_BYTES
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES
    max_record_bytes: int = DEFAULT_MAX_RECORD_BYTES

    def __post_init__(self) -> None:
        parse_rate(self.rate_limit)  # fail at start, not at the first request
        object.__setattr__(self, "data_dir", Path(self.data_dir).expanduser())

    def to_json(self) -> str:
        values: dict[str, Any] = dataclasses.asdict(self)
        values["data_dir"] = str(self.data_dir)
        return json.dumps(values)

    @classmethod
    def from_json(cls, text: str) -> ServerConfig:
        return cls(**json.loads(text))

    @classmethod
    def from_environment(cls) -> ServerConfig:
        text = settings.environment_value(CONFIG_ENVIRONMENT_NAME)
        return cls.from_json(text) if text else cls()
