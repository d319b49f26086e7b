"""API key material: generation, hashing and masking. Keys are shown once and stored only as hashes.

SHA-256 (not a slow password hash) is right here: keys carry 256 bits of randomness, so there is nothing
to brute-force, and the lookup on every request must stay cheap.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

KEY_PREFIX = "ihk_"


def generate_key() -> str:
    """A new key: recognisable prefix plus 43 URL-safe characters (32 random bytes)."""
    return KEY_PREFIX + secrets.token_urlsafe(32)


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def mask_key(key: str) -> str:
    """What listings show: the prefix and the last four characters."""
    return f"{KEY_PREFIX}****{key[-4:]}"


def looks_like_key(token: str) -> bool:
    return token.startswith(KEY_PREFIX)


def expiry(created: datetime, days: int | None) -> datetime | None:
    return None if days is None else created + timedelta(days=days)


def is_expired(expires_at: datetime | None, at: datetime) -> bool:
    return expires_at is not None and expires_at <= at
