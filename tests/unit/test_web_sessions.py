"""The server pages' sessions, kept in the database: the cookie's id is random and stored only as a
hash; sign-out, expiry, idling and revoking or rotating the key end a session; CSRF tokens are bound
to one session; sign-in redirects never send the browser off this server."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from jupyter_tracker.server import schema as t
from jupyter_tracker.server.storage import Storage, open_storage
from jupyter_tracker.server.web_pages import _safe_next
from jupyter_tracker.server.web_sessions import (
    IDLE_SECONDS,
    SESSION_SECONDS,
    TOUCH_SECONDS,
    WebSessions,
    csrf_matches,
    csrf_token,
)


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def storage(tmp_path: Path) -> Iterator[Storage]:
    opened = open_storage(f"sqlite:///{tmp_path / 'server.sqlite'}")
    yield opened
    opened.close()


def stored_rows(storage: Storage) -> list[sa.Row]:
    with storage.engine.connect() as connection:
        return list(connection.execute(sa.select(t.web_sessions)))


def test_a_session_id_is_random_256_bits_and_only_its_hash_is_stored(storage: Storage) -> None:
    key = storage.create_key(user="alice")
    sessions = WebSessions(storage)
    first, second = sessions.start(key.key_id), sessions.start(key.key_id)
    assert first != second and len(first) == 43
    rows = stored_rows(storage)
    assert {row.session_hash for row in rows} == {hashlib.sha256(s.encode()).hexdigest() for s in (first, second)}
    assert all(first not in str(tuple(row)) for row in rows)
    session = sessions.find(first)
    assert session is not None and session.key_id == key.key_id
    assert session.expires - session.created == SESSION_SECONDS and session.idle_timeout == IDLE_SECONDS
    principal = sessions.principal(first)
    assert principal is not None and principal.username == "alice" and principal.entities == ["alice"]


def test_sign_out_ends_the_session_for_every_copy_of_the_cookie(storage: Storage) -> None:
    key = storage.create_key(user="alice")
    sessions = WebSessions(storage)
    session_id = sessions.start(key.key_id)
    assert sessions.end(session_id) is True
    assert sessions.find(session_id) is None and sessions.principal(session_id) is None
    assert sessions.end(session_id) is False


def test_expired_and_idle_sessions_are_refused_and_purged(storage: Storage) -> None:
    key = storage.create_key(user="alice")
    clock = Clock()
    sessions = WebSessions(storage, clock=clock, lifetime=3600.0, idle_timeout=600.0)
    active, idle = sessions.start(key.key_id), sessions.start(key.key_id)
    for _ in range(10):  # a request every 5 minutes keeps one alive past the idle timeout
        clock.now += 300.0
        assert sessions.find(active) is not None
    assert sessions.find(idle) is None  # 50 minutes without a request
    assert len(stored_rows(storage)) == 1
    clock.now += 700.0  # past the absolute lifetime, however active
    assert sessions.find(active) is None
    assert stored_rows(storage) == []


def test_last_seen_is_written_at_most_once_a_minute(storage: Storage) -> None:
    key = storage.create_key(user="alice")
    clock = Clock()
    sessions = WebSessions(storage, clock=clock)
    session_id = sessions.start(key.key_id)
    clock.now += TOUCH_SECONDS / 2
    sessions.find(session_id)
    assert stored_rows(storage)[0].last_seen == 1_000_000.0
    clock.now += TOUCH_SECONDS
    sessions.find(session_id)
    assert stored_rows(storage)[0].last_seen == clock.now


def test_purge_drops_expired_sessions_of_every_user_when_one_signs_in(storage: Storage) -> None:
    alice, bob = storage.create_key(user="alice"), storage.create_key(user="bob")
    clock = Clock()
    sessions = WebSessions(storage, clock=clock, lifetime=100.0)
    sessions.start(alice.key_id)
    clock.now += 200.0
    kept = sessions.start(bob.key_id)
    assert [row.key_id for row in stored_rows(storage)] == [bob.key_id]
    assert sessions.find(kept) is not None


def test_revoking_or_rotating_the_key_ends_its_sessions(storage: Storage) -> None:
    revoked, rotated = storage.create_key(user="alice"), storage.create_key(user="alice")
    clock = Clock()  # sessions made at 1970 + 11 days: the rotated key (made at wall time) is newer
    sessions = WebSessions(storage, clock=clock)
    of_revoked, of_rotated = sessions.start(revoked.key_id), sessions.start(rotated.key_id)
    storage.revoke_key(revoked.key_id)
    assert sessions.find(of_revoked) is None
    storage.rotate_key(rotated.key_id)
    assert sessions.find(of_rotated) is None
    # the rotated key stays valid for the API until revoked, so signing in with it again works
    clock.now = 4_000_000_000.0
    again = sessions.start(rotated.key_id)
    assert sessions.find(again) is not None
    storage.revoke_key(rotated.key_id)
    assert sessions.purge() == 1 and stored_rows(storage) == []


@pytest.mark.parametrize("forged", ["", "x", "a" * 43, "a" * 42 + "!", "." * 300, None])
def test_an_unknown_or_malformed_session_id_is_refused(storage: Storage, forged: str | None) -> None:
    sessions = WebSessions(storage)
    sessions.start(storage.create_key(user="alice").key_id)
    assert sessions.find(forged) is None and sessions.principal(forged) is None


def test_a_csrf_token_belongs_to_one_session() -> None:
    first, second = "A" * 43, "B" * 43
    assert csrf_matches(first, csrf_token(first))
    assert not csrf_matches(second, csrf_token(first))
    assert not csrf_matches(first, "") and not csrf_matches(None, csrf_token(first))
    assert first not in csrf_token(first)


@pytest.mark.parametrize("target, followed", [
    ("/alice/proj/runs/abc", "/alice/proj/runs/abc"),
    ("//evil.example/x", "/"),
    ("https://evil.example/", "/"),
    ("/\\evil.example", "/"),
    ("javascript:alert(1)", "/"),
    ("", "/"),
])
def test_after_sign_in_only_a_path_on_this_server_is_followed(target: str, followed: str) -> None:
    assert _safe_next(target) == followed
