"""API keys: how they are made, what of them is stored (a keyed hash of the secret) and how one is checked.

A key reads ``jt_<key id>_<secret>``. The key id is not secret: it finds the stored row, and it
is what ``jupyter-tracker keys list|revoke|rotate`` show and take. Only a hash of the secret
is stored, so a key can be shown once, at creation, and never again.

The secret is 256 random bits, so a slow password hash buys nothing against guessing and costs
the server ~16 MB and ~70 ms per check, which a flood of wrong secrets turns into a denial of
service. New keys are stored as HMAC-SHA256 of the secret under a per-key salt (microseconds to
check). Keys made by earlier versions hold a scrypt hash: they keep working, and the server
rewrites their hash to the fast form the first time one is presented correctly.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

PREFIX = "jt_"
FAST_SCHEME = "hmac-sha256"
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


def _keyed(secret: str, salt: bytes) -> bytes:
    return hmac.new(salt, secret.encode("utf-8"), hashlib.sha256).digest()


def hash_secret(secret: str) -> str:
    """The stored form of a key's secret: ``hmac-sha256$<salt>$<digest>``."""
    salt = secrets.token_bytes(16)
    return f"{FAST_SCHEME}${salt.hex()}${_keyed(secret, salt).hex()}"


def scrypt_hash_secret(secret: str) -> str:
    """The scrypt form earlier versions stored (``scrypt$n$r$p$salt$hash``); still verified, never made anew."""
    salt = secrets.token_bytes(16)
    digest = _scrypt(secret, salt, _SCRYPT_N, _SCRYPT_R, _SCRYPT_P)
    return f"scrypt${_SCRYPT_N}${_SCRYPT_R}${_SCRYPT_P}${salt.hex()}${digest.hex()}"


def is_slow_hash(stored: str) -> bool:
    """True for a scrypt hash: costly to check, and worth rewriting once the secret is known good."""
    return stored.startswith("scrypt$")


def verify_secret(secret: str, stored: str) -> bool:
    """True when ``secret`` hashes to ``stored`` (constant-time comparison), in either stored form."""
    try:
        if stored.startswith(FAST_SCHEME + "$"):
            _scheme, salt, digest = stored.split("$")
            computed = _keyed(secret, bytes.fromhex(salt))
        else:
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
