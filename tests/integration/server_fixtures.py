"""A real tracking server process for tests: temp database and data dir, free loopback port, a key.

Import the fixtures into a test module (``from tests.integration.server_fixtures import server,
server_backend, server_factory``) or use :func:`start_server` directly (benchmarks do). Every server runs
``jupyter-tracker server`` in a subprocess; the ``server_backend`` fixture runs each test on
SQLite and, when ``JT_TEST_POSTGRES_DSN`` is set, again on PostgreSQL with a database of its own.

>>> with start_server(Path("/tmp/jt-doc")) as srv:  # doctest: +SKIP
...     httpx.get(srv.base_url + "/api/v1/viewer", headers=srv.headers)
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from jupyter_tracker.server.embedded import wait_until_healthy

POSTGRES_ENVIRONMENT = "JT_TEST_POSTGRES_DSN"
STARTUP_TIMEOUT = 60.0
#: high enough that ordinary tests never meet the limit; rate-limit tests pass their own
TEST_RATE_LIMIT = "1000000/minute"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def postgres_available() -> bool:
    return bool(os.environ.get(POSTGRES_ENVIRONMENT))


def _admin_engine():  # type: ignore[no-untyped-def]
    import sqlalchemy as sa

    from jupyter_tracker.server.storage import normalise_url

    return sa.create_engine(normalise_url(os.environ[POSTGRES_ENVIRONMENT]), isolation_level="AUTOCOMMIT")


@contextlib.contextmanager
def postgres_database() -> Iterator[str]:
    """A fresh, uniquely named PostgreSQL database on the test cluster; dropped afterwards."""
    import sqlalchemy as sa

    name = f"jt_test_{uuid.uuid4().hex[:16]}"
    engine = _admin_engine()
    with engine.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = engine.url.set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        with engine.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()


@dataclass
class ServerProcess:
    """One running ``jupyter-tracker server``; ``api_key`` belongs to user ``username``."""

    base_url: str
    api_key: str
    username: str
    db_url: str
    data_dir: Path
    log_path: Path
    port: int
    backend: str
    args: list[str]
    process: subprocess.Popen[bytes] | None = None
    _log_handles: list[Any] = field(default_factory=list)

    @property
    def headers(self) -> dict[str, str]:
        """Authorization header of the test user's key."""
        return {"Authorization": f"Bearer {self.api_key}"}

    def client(self, api_key: str | None = None, **kwargs: Any) -> httpx.Client:
        """An httpx client on the base URL with the test key (or ``api_key``; "" for none)."""
        key = self.api_key if api_key is None else api_key
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        headers.update(kwargs.pop("headers", {}))
        return httpx.Client(base_url=self.base_url, headers=headers, timeout=kwargs.pop("timeout", 30.0), **kwargs)

    def create_key(self, user: str | None = None, team: str | None = None, service: bool = False) -> str:
        """A new key in the server's database (the server sees it at once)."""
        from jupyter_tracker.server.storage import open_storage

        storage = open_storage(self.db_url)
        try:
            return storage.create_key(user=user, team=team, service=service).key
        finally:
            storage.close()

    def revoke_key(self, key: str) -> None:
        from jupyter_tracker.server.api_keys import parse_key
        from jupyter_tracker.server.storage import open_storage

        parsed = parse_key(key)
        assert parsed is not None
        storage = open_storage(self.db_url)
        try:
            storage.revoke_key(parsed[0])
        finally:
            storage.close()

    def log_text(self) -> str:
        """Everything the server printed so far (stdout and stderr)."""
        return self.log_path.read_text(encoding="utf-8", errors="replace") if self.log_path.exists() else ""

    def start(self) -> None:
        """Starts the process (again, after :meth:`kill`/:meth:`stop`) and waits for health."""
        handle = self.log_path.open("ab")
        self._log_handles.append(handle)
        command = [sys.executable, "-c", "from jupyter_tracker.cli import main; main()", "server", *self.args]
        self.process = subprocess.Popen(command, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            wait_until_healthy(self.base_url, self.process, self.log_path, STARTUP_TIMEOUT)
        except RuntimeError as error:
            self.stop()
            raise RuntimeError(f"{error}:\n{self.log_text()[-4000:]}") from None

    def kill(self) -> None:
        """SIGKILL, as a crash would (the whole process group, uvicorn workers included)."""
        self._signal(signal.SIGKILL)

    def stop(self) -> None:
        """A clean shutdown (SIGTERM), escalating to SIGKILL after 10 s."""
        self._signal(signal.SIGTERM)

    def _signal(self, number: int) -> None:
        process = self.process
        if process is None or process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, number)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)

    def restart(self) -> None:
        self.kill()
        self.start()

    def close(self) -> None:
        self.stop()
        for handle in self._log_handles:
            handle.close()
        self._log_handles.clear()


@contextlib.contextmanager
def start_server(
    directory: Path,
    backend: str = "sqlite",
    rate_limit: str = TEST_RATE_LIMIT,
    username: str = "alice",
    extra_args: tuple[str, ...] = (),
    db_url: str | None = None,
    migrate: bool = True,
) -> Iterator[ServerProcess]:
    """Starts a server with its own database and data dir under ``directory``; stops it afterwards.

    ``migrate=False`` leaves the schema of ``db_url`` as it is (a server of an older revision
    refuses a database this checkout has migrated further).
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    with contextlib.ExitStack() as stack:
        if db_url is None:
            if backend == "sqlite":
                db_url = f"sqlite:///{directory / 'server.sqlite'}"
            elif backend == "postgresql":
                db_url = stack.enter_context(postgres_database())
            else:
                raise ValueError(f"unknown backend {backend!r}")
        from jupyter_tracker.server.storage import open_storage

        storage = open_storage(db_url, migrate=migrate)
        try:
            key = storage.create_key(user=username).key
        finally:
            storage.close()
        port = free_port()
        data_dir = directory / "files"
        args = [
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--db",
            db_url,
            "--data-dir",
            str(data_dir),
            "--rate-limit",
            rate_limit,
            *extra_args,
        ]
        server = ServerProcess(
            base_url=f"http://127.0.0.1:{port}",
            api_key=key,
            username=username,
            db_url=db_url,
            data_dir=data_dir,
            log_path=directory / "server.log",
            port=port,
            backend=backend,
            args=args,
        )
        stack.callback(server.close)
        server.start()
        yield server


# pytest fixtures ------------------------------------------------------------------------------
def require_postgres_or_step_aside() -> None:
    """CI sets ``JT_REQUIRE_POSTGRES=1`` where PostgreSQL is installed: then its absence fails."""
    if not postgres_available():
        pytest.fail(f"JT_REQUIRE_POSTGRES=1 but {POSTGRES_ENVIRONMENT} is not set (scripts/test.sh starts PostgreSQL)")


#: backends the server tests run on: PostgreSQL where scripts/test.sh started one (or CI requires it)
BACKENDS = ["sqlite"] + (["postgresql"] if postgres_available() or os.environ.get("JT_REQUIRE_POSTGRES") == "1" else [])


@pytest.fixture(params=BACKENDS)
def server_backend(request: pytest.FixtureRequest) -> str:
    """Each test runs on SQLite, and on PostgreSQL when ``JT_TEST_POSTGRES_DSN`` is set."""
    if request.param == "postgresql":
        require_postgres_or_step_aside()
    return str(request.param)


@pytest.fixture
def server_factory(tmp_path: Path, server_backend: str) -> Iterator[Callable[..., ServerProcess]]:
    """``server_factory(rate_limit=..., extra_args=(...))`` starts a server; all stop after the test."""
    with contextlib.ExitStack() as stack:
        count = 0

        def make(**options: Any) -> ServerProcess:
            nonlocal count
            count += 1
            options.setdefault("backend", server_backend)
            return stack.enter_context(start_server(tmp_path / f"server-{count}", **options))

        yield make


@pytest.fixture
def server(server_factory: Callable[..., ServerProcess]) -> ServerProcess:
    """A running server with the default options; ``server.api_key`` is user alice's key."""
    return server_factory()


@pytest.fixture(scope="module", params=BACKENDS)
def shared_server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """One server per test module and backend, for tests that use run ids of their own."""
    if request.param == "postgresql":
        require_postgres_or_step_aside()
    with start_server(tmp_path_factory.mktemp(f"shared-{request.param}"), backend=str(request.param)) as running:
        yield running


#: variables of the machine running the tests that must not reach a client talking to a test server
CLIENT_ENVIRONMENT = (
    "WANDB_BASE_URL",
    "WANDB_API_KEY",
    "WANDB_MODE",
    "WANDB_SILENT",
    "WANDB_DIR",
    "WANDB_PROJECT",
    "WANDB_ENTITY",
    "WANDB_RUN_ID",
    "WANDB_CONSOLE",
)


@pytest.fixture(autouse=True)
def isolated_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No login file, server or mode from the machine running the tests leaks in (autouse where imported)."""
    monkeypatch.setenv("JUPYTER_TRACKER_HOME", str(tmp_path / "home"))
    for name in CLIENT_ENVIRONMENT:
        monkeypatch.delenv(name, raising=False)


@contextlib.contextmanager
def client_with_server(root: Path) -> Iterator[ServerProcess]:
    """A test module's client side under ``root`` (as ``isolated_environment``, working in ``root``) and its server."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("JUPYTER_TRACKER_HOME", str(root / "home"))
        for name in CLIENT_ENVIRONMENT:
            patch.delenv(name, raising=False)
        patch.chdir(root)
        with start_server(root / "server") as server:
            yield server


def remote_backend(server: ServerProcess) -> Any:
    """The Api's backend reading ``server`` with its key, as JupyterLab configured for it does."""
    from jupyter_tracker.api.remote import RemoteBackend
    from jupyter_tracker.settings import resolve

    return RemoteBackend(resolve({"base_url": server.base_url, "api_key": server.api_key, "mode": "online"}))


def online(server: ServerProcess, **extra: Any) -> dict[str, Any]:
    """``init(settings=...)`` of a run that syncs to ``server`` quickly and quietly; ``extra`` overrides."""
    values: dict[str, Any] = {
        "base_url": server.base_url,
        "api_key": server.api_key,
        "sync_interval": 0.2,
        "sync_timeout": 60,
        "console": "off",
        "sync_unsynced_on_init": False,
    }
    values.update(extra)
    return values


# building request bodies ------------------------------------------------------------------------
def pack_batch(first_seq: int, batch: list[Any]) -> bytes:
    """A records POST body: exactly a run-log frame payload, msgpack ``[first_seq, [record, ...]]``."""
    from jupyter_tracker.store import records

    return records.make_packer()([first_seq, batch])


def history_record(step: int, values: dict[str, Any], timestamp: float = 1_700_000_000.0) -> list[Any]:
    """A history record as the run log holds it: ``["h", step, unix time, runtime, row]``."""
    return ["h", step, timestamp + step, float(step) / 10.0, values]


MSGPACK_HEADERS = {"Content-Type": "application/msgpack"}
