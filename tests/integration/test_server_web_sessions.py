"""The server pages' sessions against a real server process (SQLite, and PostgreSQL where the tests
have one): a copied cookie is refused after sign-out, key revocation or rotation, expiry or idling;
forged session ids and missing or foreign CSRF tokens are refused with a clear error; a session of
one user never reads another user's runs, whose runs JSON comes gzipped to a browser and shows
every change of a run at once."""

from __future__ import annotations

import contextlib
import gzip
import re
import secrets
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from jupyter_tracker.server import schema as t
from jupyter_tracker.server.storage import open_storage
from tests.integration.server_fixtures import ServerProcess, shared_server  # noqa: F401  (fixture)

pytestmark = pytest.mark.integration

SESSION = "jt_session"
PROTECTED = ("/_pages/api/projects", "/_pages/api/runs/alice/proj")


@contextlib.contextmanager
def sign_in(server: ServerProcess, key: str) -> Iterator[httpx.Client]:
    """A client holding a session signed in with ``key`` (as a browser would: the form, then the cookie)."""
    with httpx.Client(base_url=server.base_url, timeout=30) as client:
        client.get("/sign-in")
        answer = client.post("/_pages/sign-in", data={"api_key": key, "csrf": client.cookies["jt_csrf"], "next": "/"},
                             follow_redirects=False)
        assert answer.status_code == 303, answer.text
        cookie = answer.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=strict" in cookie and key not in cookie
        yield client


def page_csrf(client: httpx.Client) -> str:
    """The CSRF token of the signed-in page's sign-out form."""
    found = re.search(r'name="csrf" value="([^"]+)"', client.get("/").text)
    assert found is not None
    return found.group(1)


def replay(server: ServerProcess, session_id: str) -> int:
    """The status of the runs JSON for a bare copy of a session cookie (no other state)."""
    with httpx.Client(base_url=server.base_url, timeout=30, cookies={SESSION: session_id}) as copy:
        return copy.get("/_pages/api/runs/alice/proj").status_code


def refused_everywhere(server: ServerProcess, session_id: str) -> bool:
    with httpx.Client(base_url=server.base_url, timeout=30, cookies={SESSION: session_id}) as copy:
        pages = copy.get("/alice/proj", follow_redirects=False)
        return pages.status_code == 303 and all(copy.get(path).status_code == 401 for path in PROTECTED)


def change_session_rows(server: ServerProcess, **values: float) -> None:
    storage = open_storage(server.db_url)
    try:
        with storage.write() as connection:
            connection.execute(sa.update(t.web_sessions).values(**values))
    finally:
        storage.close()


def session_count(server: ServerProcess) -> int:
    storage = open_storage(server.db_url)
    try:
        with storage.engine.connect() as connection:
            return int(connection.execute(sa.select(sa.func.count()).select_from(t.web_sessions)).scalar() or 0)
    finally:
        storage.close()


@pytest.fixture(scope="module")
def server(shared_server: ServerProcess) -> Iterator[ServerProcess]:  # noqa: F811
    """The module's server with a run in alice's project ``proj`` and one in bob's ``secret``."""
    storage = open_storage(shared_server.db_url)
    try:
        storage.ensure_user("bob")
        storage.upsert_run("alice", "proj", "alice-run", {"name": "alice's run"}, created_by="alice")
        storage.upsert_run("bob", "secret", "bob-run", {"name": "bob's run"}, created_by="bob")
    finally:
        storage.close()
    yield shared_server


@pytest.fixture
def fresh_sessions(server: ServerProcess) -> Iterator[None]:
    """Tests that change every session row start and end with none."""
    change_session_rows(server, expires=0.0)
    yield
    change_session_rows(server, expires=0.0)


def test_a_signed_out_cookie_replayed_is_refused(server: ServerProcess) -> None:
    with sign_in(server, server.api_key) as client:
        session_id = client.cookies[SESSION]
        assert len(session_id) == 43 and server.api_key not in session_id
        assert replay(server, session_id) == 200  # the copy works while the session lives
        answer = client.post("/_pages/sign-out", data={"csrf": page_csrf(client)}, follow_redirects=False)
        assert answer.status_code == 303 and answer.headers["location"] == "/sign-in"
    assert refused_everywhere(server, session_id)


def test_revoking_or_rotating_the_key_ends_its_sessions(server: ServerProcess) -> None:
    revoked, rotated = server.create_key(user="alice"), server.create_key(user="alice")
    with sign_in(server, revoked) as first, sign_in(server, rotated) as second:
        of_revoked, of_rotated = first.cookies[SESSION], second.cookies[SESSION]
        assert replay(server, of_revoked) == 200 and replay(server, of_rotated) == 200
        server.revoke_key(revoked)
        storage = open_storage(server.db_url)
        try:
            storage.rotate_key(rotated.split("_")[1])
        finally:
            storage.close()
        assert refused_everywhere(server, of_revoked)
        assert refused_everywhere(server, of_rotated)
        # the rotated key stays valid until revoked: signing in with it again makes a working session
        with sign_in(server, rotated) as again:
            assert again.get("/_pages/api/runs/alice/proj").status_code == 200


def test_expired_and_idle_sessions_are_refused_and_purged(server: ServerProcess, fresh_sessions: None) -> None:
    with sign_in(server, server.api_key) as client:
        session_id = client.cookies[SESSION]
        change_session_rows(server, expires=time.time() - 1)
        assert refused_everywhere(server, session_id)
        assert session_count(server) == 0  # the refused session was deleted
    with sign_in(server, server.api_key) as client:
        session_id = client.cookies[SESSION]
        change_session_rows(server, last_seen=time.time() - 10_000, idle_timeout=3600.0)
        assert refused_everywhere(server, session_id)
        assert session_count(server) == 0


def test_a_forged_or_unknown_session_id_is_refused(server: ServerProcess) -> None:
    with sign_in(server, server.api_key):
        pass  # a live session exists; guesses still find nothing
    for forged in (secrets.token_urlsafe(32), "x", "a" * 43, "' OR 1=1 --", "." * 500):
        assert refused_everywhere(server, forged), forged


def test_csrf_missing_wrong_or_of_another_session_is_refused_with_a_clear_error(server: ServerProcess) -> None:
    with sign_in(server, server.api_key) as client, sign_in(server, server.api_key) as other:
        for form in ({}, {"csrf": ""}, {"csrf": "guess"}, {"csrf": page_csrf(other)}):
            answer = client.post("/_pages/sign-out", data=form, follow_redirects=False)
            assert answer.status_code == 403
            assert "Sign-out refused: the form's CSRF token is missing or does not belong to this session" in answer.text
        cross_site = client.post("/_pages/sign-out", data={"csrf": page_csrf(client)},
                                 headers={"Origin": "https://evil.example"}, follow_redirects=False)
        assert cross_site.status_code == 403
        assert client.get("/_pages/api/runs/alice/proj").status_code == 200  # nothing was signed out
    with httpx.Client(base_url=server.base_url, timeout=30) as browser:
        browser.get("/sign-in")
        answer = browser.post("/_pages/sign-in", data={"api_key": server.api_key}, follow_redirects=False)
        assert answer.status_code == 403 and SESSION not in answer.headers.get("set-cookie", "")
        assert "CSRF token is missing or wrong" in answer.text and answer.text.count("Sign-in refused") == 1


def test_a_session_of_one_user_cannot_read_another_users_runs(server: ServerProcess) -> None:
    bob_key = server.create_key(user="bob")
    with sign_in(server, server.api_key) as alice, sign_in(server, bob_key) as bob:
        runs = alice.get("/_pages/api/runs/alice/proj")
        ids = [run["id"] for run in runs.json()["runs"]]
        assert runs.status_code == 200 and "alice-run" in ids and "bob-run" not in ids
        for path in ("/_pages/api/runs/bob/secret", "/_pages/api/run/bob/secret/bob-run"):
            answer = alice.get(path)
            assert answer.status_code == 403 and "bob" in answer.json()["error"]
        assert alice.get("/bob/secret", follow_redirects=False).status_code == 403
        assert [p["name"] for p in alice.get("/_pages/api/projects").json()["projects"]] == ["proj"]
        assert bob.get("/_pages/api/runs/alice/proj").status_code == 403
        assert [p["name"] for p in bob.get("/_pages/api/projects").json()["projects"]] == ["secret"]


def test_the_runs_json_is_gzipped_for_a_browser_and_shows_a_change_at_once(server: ServerProcess) -> None:
    with sign_in(server, server.api_key) as client:
        plain = client.get("/_pages/api/runs/alice/proj", headers={"Accept-Encoding": "identity"})
        assert "content-encoding" not in plain.headers and plain.headers["content-type"] == "application/json"
        assert plain.headers["cache-control"] == "no-store" and plain.headers["vary"] == "Accept-Encoding"
        with client.stream("GET", "/_pages/api/runs/alice/proj", headers={"Accept-Encoding": "gzip"}) as packed:
            assert packed.headers["content-encoding"] == "gzip"
            assert "frame-ancestors 'none'" in packed.headers["content-security-policy"]
            assert gzip.decompress(b"".join(packed.iter_raw())) == plain.content
        storage = open_storage(server.db_url)
        try:
            storage.upsert_run("alice", "proj", "newer-run", {"name": "newer"}, created_by="alice")
            storage.apply_batch("alice", "proj", "alice-run", 1, [["h", 0, 1_700_000_000.0, 1.0, {"acc": 0.5}]])
        finally:
            storage.close()
        runs = client.get("/_pages/api/runs/alice/proj").json()["runs"]
        assert [run["id"] for run in runs] == ["newer-run", "alice-run"]
        assert runs[1]["summary"] == {"acc": 0.5}


def test_the_runs_page_has_its_json_fetched_while_its_script_loads(server: ServerProcess) -> None:
    with sign_in(server, server.api_key) as client:
        page = client.get("/alice/proj").text
        assert '<link rel="preload" href="/_pages/api/runs/alice/proj" as="fetch" crossorigin="anonymous">' in page
        assert 'rel="preload"' not in client.get("/alice/proj?compare=a,b").text  # the compare view reads other JSON
        assert 'rel="preload"' not in client.get("/").text


def test_the_session_cookie_is_secure_when_served_over_tls(tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from jupyter_tracker.server.app import create_app
    from jupyter_tracker.server.config import ServerConfig

    config = ServerConfig(db_url=f"sqlite:///{tmp_path / 'server.sqlite'}", data_dir=tmp_path / "files")
    storage = open_storage(config.db_url)
    key = storage.create_key(user="alice").key
    try:
        with TestClient(create_app(config, storage), base_url="https://testserver") as client:
            client.get("/sign-in")
            answer = client.post("/_pages/sign-in", data={"api_key": key, "csrf": client.cookies["jt_csrf"]},
                                 follow_redirects=False)
            assert answer.status_code == 303
            cookie = answer.headers["set-cookie"]
            assert cookie.startswith(f"{SESSION}=") and "Secure" in cookie and "HttpOnly" in cookie
            assert "SameSite=strict" in cookie
    finally:
        storage.close()
