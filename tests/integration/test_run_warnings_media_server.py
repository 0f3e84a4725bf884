"""A synced run's warnings, audio, video, HTML and tables on a real tracking server process: the
server's pages answer them to a signed-in session only (``/_pages/api/warnings``, ``/media``,
``/table``), and JupyterLab reading the server through its HTTP API (``RemoteBackend``) gets the same
media and table rows."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import httpx
import numpy as np
import pytest

import jupyter_tracker as jt
from jupyter_tracker.lab import run_views
from jupyter_tracker.lab.handlers import run_file_path
from tests.integration.server_fixtures import client_with_server, online, remote_backend

pytestmark = pytest.mark.integration
MARKUP = '<img src=x onerror="alert(1)">'


@pytest.fixture(scope="module")
def synced(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    root = tmp_path_factory.mktemp("run-warnings-media-server")
    with client_with_server(root) as server:
        settings = online(server, live="off")
        run = jt.init(project="media", dir=root / "runs", settings=settings)
        with pytest.warns(UserWarning, match="one logged value"):
            run.log({f"blob {MARKUP}": "x" * 1_100_000})
        for step in range(3):
            run.log({"speech": jt.Audio(np.zeros(800), sample_rate=8000, caption=MARKUP),
                     "page": jt.Html(f"<h1>step {step}</h1>"),
                     "predictions": jt.Table(columns=["id", "label"], data=[[i, f"{MARKUP}{i}"] for i in range(5)])})
        quiet = jt.init(project="media", dir=root / "runs", settings=settings)
        quiet.log({"loss": 1.0})
        quiet.finish()
        run.finish()
        backend = remote_backend(server)
        yield {"server": server, "run": run, "quiet": quiet, "backend": backend,
               "bob_key": server.create_key(user="bob")}
        backend.close()


@contextlib.contextmanager
def _signed_in(base_url: str, key: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base_url, timeout=30) as client:
        client.get("/sign-in")
        client.post("/_pages/sign-in", data={"api_key": key, "csrf": client.cookies["jt_csrf"]})
        yield client


def test_the_server_pages_answer_warnings_media_and_tables(synced: dict[str, Any]) -> None:
    server, run = synced["server"], synced["run"]
    prefix = f"/_pages/api/%s/{server.username}/media/{run.id}"
    with _signed_in(server.base_url, server.api_key) as client:
        [warning] = client.get(prefix % "warnings").json()["warnings"]
        assert warning["kind"] == "value_size" and warning["subject"] == f"blob {MARKUP}"
        assert "more than the recommended 1,000,000" in warning["message"] and warning["advice"]
        quiet = client.get(f"/_pages/api/warnings/{server.username}/media/{synced['quiet'].id}").json()
        assert quiet == {"warnings": []}

        media = client.get(prefix % "media").json()["media"]
        assert {key: media[key]["kind"] for key in media} == {"speech": "audio", "page": "html", "predictions": "table"}
        table = media["predictions"]["steps"][-1]["files"][0]
        rows = client.get(f"{prefix % 'table'}/{table['file']}").json()
        assert rows["columns"] == ["id", "label"] and rows["nrows"] == 5 and rows["rows"][0] == [0, f"{MARKUP}0"]

        clip = media["speech"]["steps"][0]["files"][0]["file"]
        answer = client.get(f"{prefix % 'file'}/{clip}")
        assert answer.status_code == 200 and answer.headers["content-type"] == "audio/wav"
        assert answer.content[:4] == b"RIFF" and "sandbox" in answer.headers["content-security-policy"]
        page = client.get(f"{prefix % 'file'}/{media['page']['steps'][0]['files'][0]['file']}")
        assert page.headers["content-disposition"].startswith("attachment"), "an HTML page is never served as one"
        assert "media-src 'self'" in client.get(f"/{server.username}/media/runs/{run.id}").headers[
            "content-security-policy"], "the run page may play the run's audio and video"

        assert client.get(f"{prefix % 'table'}/notes.txt").status_code == 404
        assert client.get(f"{prefix % 'table'}/{clip}").status_code == 400, "only a table is read as one"
        assert client.get(f"{prefix % 'table'}/..%2F..%2Fserver.sqlite").status_code in (400, 404)

    with httpx.Client(base_url=server.base_url, timeout=30) as stranger:
        assert stranger.get(prefix % "warnings").status_code == 401
        assert stranger.get(f"{prefix % 'table'}/{table['file']}").status_code == 401
    with _signed_in(server.base_url, synced["bob_key"]) as bob:
        assert bob.get(prefix % "warnings").status_code == 403
        assert bob.get(f"{prefix % 'table'}/{table['file']}").status_code == 403


def test_jupyterlab_over_the_server_gets_the_same_media_and_table_rows(synced: dict[str, Any], tmp_path: Any) -> None:
    backend, run = synced["backend"], synced["run"]
    media = run_views.run_media(backend, "media", run.id)["media"]
    assert media["speech"]["kind"] == "audio" and media["speech"]["logged"] == 3
    assert media["speech"]["steps"][0]["files"][0]["caption"] == MARKUP
    name = media["predictions"]["steps"][0]["files"][0]["file"]
    rows = run_views.table_rows(run_file_path(backend, "media", run.id, name, tmp_path), name)
    assert rows["nrows"] == 5 and rows["rows"][4] == [4, f"{MARKUP}4"]
