"""API keys: how they are made, what of them is stored (a salted scrypt hash) and how one is checked.

A key reads ``jt_<key id>_<secret>``. The key id is not secret: it finds the stored row, and it
is what ``jupyter-tracker keys list|revoke|rotate`` show and take. Only the hash of the secret
is stored, so a key can be shown once, at creation, and never again.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

PREFIX = "jt_"
_SCRYPT_N = 1 << 14
_SCRYPT_R = 8
_SCRYPT_P = 1
_KEY_ID_BYTES = 6
_SECRET_BYTES = 32


@dataclass(frozen=True)
class NewKey:
    """A key just made: ``key`` is shown once; ``secret_hash`` is what the database keeps."""

    key_id: str
    key: str
    secret_hash: str


def _scrypt(secret: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(secret.encode("utf-8"), salt=salt, n=n, r=r, p=p, dklen=32, maxmem=128 * n * r * 2)


def hash_secret(secret: str) -> str:
    """A salted scrypt hash of a key's secret, with its parameters, as one string."""
    salt = secrets.token_bytes(16)
    digest = _scrypt(secret, salt, _SCRYPT_N, _SCRYPT_R, _SCRYPT_P)
    return f"scrypt${_SCRYPT_N}${_SCRYPT_R}${_SCRYPT_P}${salt.hex()}${digest.hex()}"


def verify_secret(secret: str, stored: str) -> bool:
    """True when ``secret`` hashes to ``stored`` (constant-time comparison)."""
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        computed = _scrypt(secret, bytes.fromhex(salt), int(n), int(r), int(p))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(computed, bytes.fromhex(digest))


def new_key() -> NewKey:
    """Makes a fresh key.

    >>> key = new_key()
    >>> parse_key(key.key) == (key.key_id, key.key.rsplit("_", 1)[1])
    True
    """
    key_id = secrets.token_hex(_KEY_ID_BYTES)
    secret = secrets.token_urlsafe(_SECRET_BYTES).replace("_", "-")
    return NewKey(key_id=key_id, key=f"{PREFIX}{key_id}_{secret}", secret_hash=hash_secret(secret))


def parse_key(key: str) -> tuple[str, str] | None:
    """Splits a presented key into (key id, secret); None when it is not shaped like one of ours."""
    if not key.startswith(PREFIX):
        return None
    body = key[len(PREFIX) :]
    key_id, sep, secret = body.partition("_")
    if not sep or len(key_id) != 2 * _KEY_ID_BYTES or not secret or len(secret) > 128:
        return None
    if any(ch not in "0123456789abcdef" for ch in key_id):
        return None
    return key_id, secret
