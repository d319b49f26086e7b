"""Signed access tokens for the official client's token exchange (PyJWT, HS256).

A token names the API key it was made from; every use re-checks that key, so revoking or deleting the
key cuts its tokens off at once.
"""

from __future__ import annotations

import jwt

from server.domain import clock

ALGORITHM = "HS256"


def issue(secret: str, user_id: int, api_key_id: int, ttl_seconds: int) -> str:
    issued = int(clock.now().timestamp())
    claims = {"sub": str(user_id), "kid": api_key_id, "iat": issued, "exp": issued + ttl_seconds, "typ": "access"}
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def verify(secret: str, token: str) -> tuple[int, int] | None:
    """(user_id, api_key_id) of a valid, unexpired token; None otherwise."""
    try:
        claims = jwt.decode(token, secret, algorithms=[ALGORITHM], options={"require": ["exp", "sub", "kid"]})
    except jwt.PyJWTError:
        return None
    if claims.get("typ") != "access":
        return None
    return int(claims["sub"]), int(claims["kid"])
