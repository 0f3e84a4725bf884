"""The server pages' session cookies and sign-in redirects: signed, expiring, never holding the key,
and never sending the browser off this server."""

from __future__ import annotations

from pathlib import Path

import pytest

from jupyter_tracker.server.web_pages import SESSION_SECONDS, SessionCookies, _safe_next


def test_a_session_cookie_names_its_key_id_until_it_expires(tmp_path: Path) -> None:
    cookies = SessionCookies(tmp_path)
    cookie = cookies.issue("key123", now=1000.0)
    assert cookies.key_id(cookie, now=1000.0 + SESSION_SECONDS - 1) == "key123"
    assert cookies.key_id(cookie, now=1000.0 + SESSION_SECONDS + 1) is None
    assert (tmp_path / "web_session.secret").stat().st_mode & 0o077 == 0


def test_a_changed_or_foreign_cookie_is_refused(tmp_path: Path) -> None:
    cookies = SessionCookies(tmp_path / "a")
    cookie = cookies.issue("key123", now=1000.0)
    key_id, expires, rest = cookie.split(".", 2)
    assert cookies.key_id(f"other.{expires}.{rest}", now=1000.0) is None
    assert cookies.key_id(f"{key_id}.{int(expires) + 9999}.{rest}", now=1000.0) is None
    assert SessionCookies(tmp_path / "b").key_id(cookie, now=1000.0) is None  # another server's secret
    for junk in ("", "x", "a.b.c.d", "." * 300):
        assert cookies.key_id(junk) is None


def test_every_worker_of_one_data_dir_signs_with_the_same_secret(tmp_path: Path) -> None:
    cookie = SessionCookies(tmp_path).issue("key123")
    assert SessionCookies(tmp_path).key_id(cookie) == "key123"


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
