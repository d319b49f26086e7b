"""Who is calling: resolves `authorization: Bearer <api key | access token>` to a principal.

No cache: every request reads the key row, so revocation, deletion and expiry act on the very next
request on every replica.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from sqlalchemy import bindparam, or_, select, update

from server.db.models import ApiKey, User
from server.db.prepared import Prepared
from server.domain import access_tokens, clock, keys
from server.errors import Unauthorized

if TYPE_CHECKING:
    from server.hub import Hub

LAST_USED_RESOLUTION = timedelta(minutes=1)  # last_used_at is written at most once a minute per key


@dataclass(frozen=True)
class Principal:
    user_id: int
    api_key_id: int
    limited: bool = False  # the key has a limit or budget (server.domain.limits), checked with each reservation


def bearer_token(metadata: dict[str, str]) -> str:
    value = metadata.get("authorization", "")
    scheme, _, token = value.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        cookie = _cookie_token(metadata.get("cookie", ""))
        if cookie:
            return cookie
        raise Unauthorized("Not authenticated")
    return token.strip()


def _cookie_token(cookie_header: str) -> str | None:
    for part in cookie_header.split(";"):
        name, _, value = part.strip().partition("=")
        if name == "access_token" and value:
            return value.removeprefix("Bearer ").strip('"')
    return None


async def principal_for_key(hub: Hub, raw_key: str) -> Principal:
    """Checks a raw API key; used by every request and by the token exchange."""
    if not keys.looks_like_key(raw_key):
        raise Unauthorized("Invalid API key")
    return await _check(hub, _BY_HASH, keys.hash_key(raw_key), "Invalid API key")


async def authenticate(hub: Hub, metadata: dict[str, str]) -> Principal:
    token = bearer_token(metadata)
    if keys.looks_like_key(token):
        return await principal_for_key(hub, token)
    claims = access_tokens.verify(hub.jwt_secret, token)
    if claims is None:
        raise Unauthorized("Invalid or expired access token")
    user_id, key_id = claims
    principal = await _check(hub, _BY_ID, key_id, "Access token's API key is no longer valid")
    if principal.user_id != user_id:
        raise Unauthorized("Invalid access token")
    return principal


_LIMITED = or_(
    ApiKey.requests_per_minute.is_not(None),
    ApiKey.tokens_per_minute.is_not(None),
    ApiKey.max_concurrent_requests.is_not(None),
    ApiKey.budget_nanos.is_not(None),
)
_KEY_COLUMNS = (
    ApiKey.id,
    ApiKey.user_id,
    ApiKey.is_active,
    ApiKey.expires_at,
    ApiKey.last_used_at,
    User.is_active,
    _LIMITED,
)
_KEY_TYPES = (None, None, None, ApiKey.expires_at.type, ApiKey.last_used_at.type)  # the datetimes need converting
_BY_HASH = Prepared(
    select(*_KEY_COLUMNS).join(User, User.id == ApiKey.user_id).where(ApiKey.key_hash == bindparam("b_key")),
    _KEY_TYPES,
)
_BY_ID = Prepared(
    select(*_KEY_COLUMNS).join(User, User.id == ApiKey.user_id).where(ApiKey.id == bindparam("b_key")), _KEY_TYPES
)
_TOUCH = Prepared(update(ApiKey).where(ApiKey.id == bindparam("b_id")).values(last_used_at=bindparam("b_now")))


async def _check(hub: Hub, stmt: Prepared, value: str | int, failure: str) -> Principal:
    now = clock.now()
    row = await hub.ledger.read(lambda conn: stmt.first(conn, {"b_key": value}))
    if row is not None:
        last_used = clock.as_utc(row[4])
        if row[2] and (last_used is None or now - last_used > LAST_USED_RESOLUTION):
            await hub.ledger.run(lambda conn: _TOUCH.execute(conn, {"b_id": row[0], "b_now": now}).close())
    if row is None:
        raise Unauthorized(failure)
    key_id, user_id, key_active, expires_at, _last_used, user_active, limited = row
    if not key_active:
        raise Unauthorized("API key has been revoked")
    if keys.is_expired(clock.as_utc(expires_at), now):
        raise Unauthorized("API key has expired")
    if not user_active:
        raise Unauthorized("User account is inactive")
    return Principal(user_id=user_id, api_key_id=key_id, limited=bool(limited))
