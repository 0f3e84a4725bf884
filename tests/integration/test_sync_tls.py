"""A tracking server behind TLS with a private CA: the client trusts REQUESTS_CA_BUNDLE or SSL_CERT_FILE."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from jupyter_tracker.server.config import CONFIG_ENVIRONMENT_NAME, ServerConfig
from jupyter_tracker.server.storage import open_storage
from jupyter_tracker.sync.transport import TrackerClient, TransientError
from tests.integration.server_fixtures import free_port

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command to make a private CA"),
]


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def make_private_ca(directory: Path) -> tuple[Path, Path, Path]:
    """(CA certificate, server certificate for 127.0.0.1, server key), signed by a throwaway CA."""
    _openssl(
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "2",
        "-subj",
        "/CN=jupyter_tracker test CA",
        cwd=directory,
    )
    _openssl(
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
        "-subj",
        "/CN=127.0.0.1",
        cwd=directory,
    )
    (directory / "ext.cnf").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    _openssl(
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "server.pem",
        "-days",
        "2",
        "-extfile",
        "ext.cnf",
        cwd=directory,
    )
    return directory / "ca.pem", directory / "server.pem", directory / "server.key"


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str, Path]]:
    """(https base URL, an API key, the CA certificate) of the real server app under uvicorn with TLS."""
    directory = tmp_path_factory.mktemp("tls")
    ca, certificate, key_file = make_private_ca(directory)
    config = ServerConfig(db_url=f"sqlite:///{directory / 'server.sqlite'}", data_dir=directory / "files")
    storage = open_storage(config.db_url)
    api_key = storage.create_key(user="alice").key
    storage.close()
    port = free_port()
    log_path = directory / "server.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "jupyter_tracker.server.app:app_from_environment",
                "--factory",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--ssl-certfile",
                str(certificate),
                "--ssl-keyfile",
                str(key_file),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**_environment(), CONFIG_ENVIRONMENT_NAME: config.to_json()},
        )
    try:
        _wait_for_health(f"https://127.0.0.1:{port}", process, ca)
        yield f"https://127.0.0.1:{port}", api_key, ca
    finally:
        process.terminate()
        process.wait(timeout=10)


def _wait_for_health(base_url: str, process: subprocess.Popen[bytes], ca: Path) -> None:
    import ssl

    import httpx

    context = ssl.create_default_context(cafile=str(ca))
    deadline = time.monotonic() + 60.0
    while time.monotonic() < deadline:
        assert process.poll() is None, "the TLS server exited"
        try:
            if httpx.get(f"{base_url}/api/v1/health", timeout=1.0, verify=context).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    raise AssertionError("the TLS server did not answer within 60 s")


def _environment() -> dict[str, str]:
    import os

    return {name: value for name, value in os.environ.items() if name not in ("REQUESTS_CA_BUNDLE", "SSL_CERT_FILE")}


def test_private_ca_is_refused_without_a_bundle(
    tls_server: tuple[str, str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    base_url, api_key, _ca = tls_server
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    with TrackerClient(base_url, api_key) as client, pytest.raises(TransientError, match="CERTIFICATE_VERIFY_FAILED"):
        client.viewer()


@pytest.mark.parametrize("variable", ["REQUESTS_CA_BUNDLE", "SSL_CERT_FILE"])
def test_ca_bundle_from_the_environment_is_trusted(
    tls_server: tuple[str, str, Path], monkeypatch: pytest.MonkeyPatch, variable: str
) -> None:
    base_url, api_key, ca = tls_server
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.setenv(variable, str(ca))
    with TrackerClient(base_url, api_key) as client:
        assert client.viewer()["username"] == "alice"
