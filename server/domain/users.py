"""Accounts, API keys and the credit ledger's credit side. Every function is scoped to one user id."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError

from server.db.models import (
    ActiveStream,
    ApiKey,
    CreditHold,
    Transaction,
    UsageDaily,
    UsageDailyClient,
    UsageDailySession,
    UsageRecord,
    User,
    VideoJob,
)
from server.domain import billing, clock, keys, limits
from server.domain.money import usd_to_nanos
from server.errors import BadRequest, Conflict, NotFound, ValidationFailed

if TYPE_CHECKING:
    from server.hub import Hub

MAX_KEY_NAME = 200


@dataclass
class CreatedKey:
    row: ApiKey
    plaintext: str  # shown once, never stored


def _new_key_row(user_id: int, name: str, days: int | None) -> CreatedKey:
    plaintext = keys.generate_key()
    created = clock.now()
    row = ApiKey(
        user_id=user_id,
        name=name,
        key_hash=keys.hash_key(plaintext),
        masked=keys.mask_key(plaintext),
        is_active=True,
        created_at=created,
        expires_at=keys.expiry(created, days),
    )
    return CreatedKey(row, plaintext)


async def create_user(
    hub: Hub, email: str, credits_usd: float = 0.0, username: str | None = None
) -> tuple[User, CreatedKey]:
    email = email.strip().lower()
    if "@" not in email or len(email) > 320:
        raise BadRequest(f"Invalid email address: {email!r}")
    if credits_usd < 0:
        raise BadRequest("Starting credits cannot be negative")
    now = clock.now()
    async with hub.sessions() as session, session.begin():
        user = User(
            email=email,
            username=username or email.split("@")[0],
            is_active=True,
            account_tier="free",
            balance_nanos=0,
            created_at=now,
        )
        session.add(user)
        try:
            await session.flush()
        except IntegrityError:
            raise Conflict(f"A user with email {email} already exists") from None
        created = _new_key_row(user.id, "Default key", None)
        session.add(created.row)
        if credits_usd:
            await billing.top_up(session, user.id, usd_to_nanos(credits_usd), "Initial credits", now)
            await session.refresh(user, ["balance_nanos"])
    return user, created


async def add_credits(hub: Hub, email: str, amount_usd: float, description: str | None = None) -> tuple[User, str]:
    """Adds credits and its ledger row in one transaction; the balance update is atomic in SQL."""
    if amount_usd <= 0:
        raise BadRequest("Amount must be positive")
    amount = usd_to_nanos(amount_usd)
    async with hub.sessions() as session, session.begin():
        user_id = (await session.execute(select(User.id).where(User.email == email.strip().lower()))).scalar()
        if user_id is None:
            raise NotFound(f"User {email} not found")
        transaction_id = await billing.top_up(
            session, user_id, amount, description or "Credits added by operator", clock.now()
        )
        user = await session.get(User, user_id, populate_existing=True)
    return user, transaction_id


async def get_user(hub: Hub, user_id: int) -> User:
    async with hub.sessions() as session:
        user = await session.get(User, user_id)
    if user is None:
        raise NotFound("User not found")
    return user


async def list_transactions(hub: Hub, user_id: int, limit: int, offset: int) -> tuple[list[Transaction], int]:
    async with hub.sessions() as session:
        total = (await session.execute(select(func.count()).where(Transaction.user_id == user_id))).scalar_one()
        rows = (
            await session.execute(
                select(Transaction)
                .where(Transaction.user_id == user_id)
                .order_by(Transaction.created_at.desc(), Transaction.id.desc())
                .limit(limit)
                .offset(offset)
            )
        ).scalars()
        return list(rows), total


async def create_api_key(
    hub: Hub, user_id: int, name: str | None, days: int | None, key_limits: dict | None = None
) -> CreatedKey:
    """A new key; `key_limits` (JSON-like values, see limits.validate) override the user's default limits."""
    name = "API Key" if name is None else name.strip()
    errors = []
    if not name or len(name) > MAX_KEY_NAME:
        errors.append(
            {"loc": ["body", "name"], "msg": f"Name must be 1 to {MAX_KEY_NAME} characters", "type": "value_error"}
        )
    if days is not None and not 1 <= days <= 3650:
        errors.append(
            {
                "loc": ["body", "expiration_time"],
                "msg": "Expiration time must be between 1 and 3650 days",
                "type": "value_error",
            }
        )
    given = {}
    try:
        given = limits.validate(key_limits or {})
    except ValidationFailed as exc:
        errors.extend(exc.errors)
    if errors:
        raise ValidationFailed(errors)
    created = _new_key_row(user_id, name, days)
    async with hub.sessions() as session, session.begin():
        user = await session.get(User, user_id)
        if user is not None:
            for column in LIMIT_COLUMNS:
                setattr(created.row, column, given.get(column, getattr(user, f"default_{column}")))
        if created.row.budget_nanos is not None and created.row.budget_period is None:
            created.row.budget_period = "total"
        session.add(created.row)
    return created


LIMIT_COLUMNS = ("requests_per_minute", "tokens_per_minute", "max_concurrent_requests", "budget_nanos", "budget_period")


async def update_api_key(hub: Hub, user_id: int, key_id: int, name: str | None, changes: dict) -> ApiKey:
    """Renames a key and/or changes its limits (`changes`: JSON-like values, None removes a limit)."""
    values = limits.validate(changes)
    if name is not None:
        name = name.strip()
        if not name or len(name) > MAX_KEY_NAME:
            raise ValidationFailed.single(["body", "name"], f"Name must be 1 to {MAX_KEY_NAME} characters")
        values["name"] = name
    async with hub.sessions() as session, session.begin():
        key = (
            await session.execute(select(ApiKey).where(ApiKey.id == key_id, ApiKey.user_id == user_id))
        ).scalar_one_or_none()
        if key is None:
            raise NotFound(f"API key {key_id} not found")
        for column, value in values.items():
            setattr(key, column, value)
        if key.budget_nanos is not None and key.budget_period is None:
            key.budget_period = "total"
    return key


async def set_default_limits(hub: Hub, email: str, key_limits: dict) -> User:
    """Replaces a user's default limits (given to the keys they create from now on)."""
    values = limits.validate(key_limits)
    if values.get("budget_nanos") is not None and values.get("budget_period") is None:
        values["budget_period"] = "total"
    async with hub.sessions() as session, session.begin():
        user = (await session.execute(select(User).where(User.email == email.strip().lower()))).scalar_one_or_none()
        if user is None:
            raise NotFound(f"User {email} not found")
        for column in LIMIT_COLUMNS:
            setattr(user, f"default_{column}", values.get(column))
    return user


async def key_use(hub: Hub, rows: list[ApiKey]) -> dict[int, limits.KeyUse]:
    """The current use of each key's limits (window, in flight, spend in period)."""
    now = clock.now()
    return await hub.ledger.run(lambda conn: limits.current_use(conn, rows, now))


async def list_api_keys(hub: Hub, user_id: int) -> list[ApiKey]:
    async with hub.sessions() as session:
        rows = await session.execute(
            select(ApiKey).where(ApiKey.user_id == user_id).order_by(ApiKey.created_at.desc(), ApiKey.id.desc())
        )
        return list(rows.scalars())


async def _owned_key_change(hub: Hub, user_id: int, key_id: int, stmt) -> None:
    """Runs an update/delete on one key of this user; another user's key id is simply not found."""
    async with hub.sessions() as session, session.begin():
        result = await session.execute(stmt.where(ApiKey.id == key_id, ApiKey.user_id == user_id))
        if result.rowcount == 0:
            raise NotFound(f"API key {key_id} not found")


async def delete_api_key(hub: Hub, user_id: int, key_id: int) -> None:
    await _owned_key_change(hub, user_id, key_id, delete(ApiKey))


async def set_api_key_active(hub: Hub, user_id: int, key_id: int, active: bool) -> None:
    await _owned_key_change(hub, user_id, key_id, update(ApiKey).values(is_active=active))


async def delete_account(hub: Hub, user_id: int) -> None:
    """Irreversible: the user's jobs, usage, ledger, keys and the user go in one transaction."""
    async with hub.sessions() as session, session.begin():
        user_tables = (VideoJob, UsageRecord, UsageDaily, UsageDailySession, UsageDailyClient, Transaction, CreditHold)
        for model in (*user_tables, ActiveStream, ApiKey):
            await session.execute(delete(model).where(model.user_id == user_id))
        await session.execute(delete(User).where(User.id == user_id))
