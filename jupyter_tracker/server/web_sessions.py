"""Server-side sessions of the web pages: made at sign-in, checked on every request, ended at sign-out.

The browser's cookie holds only a random 256-bit session id; the database keeps its SHA-256
(table ``web_sessions``), the API key it was signed in with, and when it was made, last used and
ends. So a session ends for good, even in a copied cookie, when the user signs out (its row is
deleted), when it passes its absolute lifetime or sits idle too long (refused, then purged), and
when its key is revoked or rotated after it was made (checked against ``api_keys`` on every
lookup, whichever process or command changed the key).

Forms of a signed-in page carry a CSRF token derived from the session id (HMAC-SHA256 keyed by
it): it is only valid with that session's cookie, and it says nothing about the session id.

>>> sessions = WebSessions(storage)  # doctest: +SKIP
>>> session_id = sessions.start("0123456789ab")  # the cookie's value  # doctest: +SKIP
>>> sessions.find(session_id).key_id  # doctest: +SKIP
'0123456789ab'
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import string
import time
from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa

from jupyter_tracker.server import schema as t
from jupyter_tracker.server.storage import KeyRecord, Principal, Storage

SESSION_COOKIE = "jt_session"
#: the double-submit token of the sign-in form, before there is a session to bind a token to
SIGN_IN_CSRF_COOKIE = "jt_csrf"
#: the absolute lifetime of a session, however active
SESSION_SECONDS = 12 * 3600
#: a session with no request for this long ends
IDLE_SECONDS = 2 * 3600
#: last_seen is written at most this often per session (a write per request would queue behind ingest)
TOUCH_SECONDS = 60
_SESSION_ID_BYTES = 32
_SESSION_ID_LENGTH = 43  # secrets.token_urlsafe(32)
_SESSION_ID_CHARACTERS = frozenset(string.ascii_letters + string.digits + "-_")


@dataclass(frozen=True)
class WebSession:
    """One live session as stored (never its id): the key it acts with and its times."""

    session_hash: str
    key_id: str
    created: float
    last_seen: float
    expires: float
    idle_timeout: float


def _hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode("ascii")).hexdigest()


def _well_formed(session_id: str | None) -> bool:
    return (
        session_id is not None
        and len(session_id) == _SESSION_ID_LENGTH
        and all(character in _SESSION_ID_CHARACTERS for character in session_id)
    )


def csrf_token(session_id: str) -> str:
    """The CSRF token of a session's forms: valid only beside that session's cookie."""
    return hmac.new(session_id.encode("ascii"), b"jupyter_tracker web csrf", hashlib.sha256).hexdigest()


def csrf_matches(session_id: str | None, token: str | None) -> bool:
    """True when ``token`` is the CSRF token of ``session_id`` (constant-time)."""
    if not _well_formed(session_id) or not token:
        return False
    return hmac.compare_digest(csrf_token(str(session_id)), token)


def principal_of(record: KeyRecord) -> Principal:
    """Who a key acts as: its user with the user's teams, or the team of a service key."""
    if record.kind == "service":
        return Principal(record.key_id, "service", record.entity, [record.entity], record.entity)
    return Principal(record.key_id, "user", record.entity, [record.entity, *record.teams], record.entity)


def _successor_of_session_key() -> sa.Select[tuple[str]]:
    """Keys rotated from a session's key after the session began (correlated to ``web_sessions``)."""
    sessions, successors = t.web_sessions, t.api_keys.alias("successors")
    return (
        sa.select(successors.c.key_id)
        .where(successors.c.rotated_from == sessions.c.key_id, successors.c.created >= sessions.c.created)
        .correlate(sessions)
    )


class WebSessions:
    """The ``web_sessions`` table of one storage; ``clock`` and the lifetimes are injectable for tests."""

    def __init__(
        self,
        storage: Storage,
        clock: Callable[[], float] = time.time,
        lifetime: float = SESSION_SECONDS,
        idle_timeout: float = IDLE_SECONDS,
    ) -> None:
        self.storage = storage
        self.clock = clock
        self.lifetime = lifetime
        self.idle_timeout = idle_timeout

    def start(self, key_id: str) -> str:
        """A new session for ``key_id``; returns the session id for the cookie (stored only as its hash).

        Expired sessions of every user are purged on the way, so the table holds live ones only.
        """
        session_id = secrets.token_urlsafe(_SESSION_ID_BYTES)
        now = self.clock()
        with self.storage.write() as connection:
            self._purge(connection, now)
            connection.execute(
                sa.insert(t.web_sessions).values(
                    session_hash=_hash(session_id),
                    key_id=key_id,
                    created=now,
                    last_seen=now,
                    expires=now + self.lifetime,
                    idle_timeout=self.idle_timeout,
                )
            )
        return session_id

    def find(self, session_id: str | None) -> WebSession | None:
        """The live session of a cookie's id; None when unknown, ended, expired, idle, or its key ended.

        An expired or idle session found here is deleted at once.
        """
        if not _well_formed(session_id):
            return None
        sessions, keys = t.web_sessions, t.api_keys
        successor = _successor_of_session_key()
        query = (
            sa.select(sessions, keys.c.revoked, sa.exists(successor).label("rotated"))
            .join(keys, keys.c.key_id == sessions.c.key_id)
            .where(sessions.c.session_hash == _hash(str(session_id)))
        )
        now = self.clock()
        with self.storage.engine.connect() as connection:
            row = connection.execute(query).first()
        if row is None:
            return None
        session = WebSession(row.session_hash, row.key_id, row.created, row.last_seen, row.expires, row.idle_timeout)
        if row.revoked is not None or row.rotated or now >= session.expires or now >= session.last_seen + session.idle_timeout:
            with self.storage.write() as connection:
                connection.execute(sa.delete(sessions).where(sessions.c.session_hash == session.session_hash))
            return None
        if now - session.last_seen >= TOUCH_SECONDS:
            with self.storage.write() as connection:
                connection.execute(
                    sa.update(sessions).where(sessions.c.session_hash == session.session_hash).values(last_seen=now)
                )
        return session

    def end(self, session_id: str | None) -> bool:
        """Signs a session out (its row deleted); False when there was none."""
        if not _well_formed(session_id):
            return False
        with self.storage.write() as connection:
            result = connection.execute(
                sa.delete(t.web_sessions).where(t.web_sessions.c.session_hash == _hash(str(session_id)))
            )
        return bool(result.rowcount)

    def end_for_key(self, key_id: str) -> int:
        """Ends every session signed in with ``key_id``; how many there were."""
        with self.storage.write() as connection:
            result = connection.execute(sa.delete(t.web_sessions).where(t.web_sessions.c.key_id == key_id))
        return int(result.rowcount or 0)

    def purge(self) -> int:
        """Deletes expired and idle sessions and those of revoked keys; how many went."""
        with self.storage.write() as connection:
            return self._purge(connection, self.clock())

    def principal(self, session_id: str | None) -> Principal | None:
        """Who a session acts as, or None (no live session, or its key is gone)."""
        session = self.find(session_id)
        if session is None:
            return None
        record = self.storage.key_record(session.key_id)
        if record is None or record.revoked is not None:
            return None
        return principal_of(record)

    @staticmethod
    def _purge(connection: sa.Connection, now: float) -> int:
        sessions, keys = t.web_sessions, t.api_keys
        revoked = sa.select(keys.c.key_id).where(keys.c.revoked.is_not(None))
        successor = _successor_of_session_key()
        result = connection.execute(
            sa.delete(sessions).where(
                sa.or_(
                    sessions.c.expires <= now,
                    sessions.c.last_seen + sessions.c.idle_timeout <= now,
                    sessions.c.key_id.in_(revoked),
                    sa.exists(successor),
                )
            )
        )
        return int(result.rowcount or 0)
