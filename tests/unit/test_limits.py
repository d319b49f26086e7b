"""server.domain.limits on real databases: what a hold takes comes back exactly once, whether the request
settles or a crash leaves the hold to the recovery pass; the sliding window and the UTC budget periods."""

from __future__ import annotations

import asyncio
import tempfile
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from server.config import Settings
from server.db.migrate import upgrade
from server.db.models import ApiKey, CreditHold, KeyWindowEvent, User
from server.domain import billing, clock, limits, users
from server.errors import InsufficientCredits, RateLimited, ValidationFailed
from server.hub import Hub
from tests.postgres import database_kinds, fresh_database_url


@pytest.fixture(scope="module", params=database_kinds())
async def hub(request) -> AsyncIterator[Hub]:
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{Path(tempfile.mkdtemp(prefix='hub-limits-')) / 'hub.db'}"
    else:
        url = await fresh_database_url()
    await asyncio.to_thread(upgrade, url)
    hub = Hub.create(Settings(database_url=url, jwt_secret="x" * 32, video_worker=False))
    hub.ledger.start()
    yield hub
    await hub.ledger.stop()
    await hub.engine.dispose()


async def _key(hub: Hub, credits_nanos: int = 10**10, **key_limits) -> tuple[int, int]:
    user, _ = await users.create_user(hub, f"{uuid.uuid4().hex}@x.test")
    async with hub.sessions() as session, session.begin():
        await session.execute(User.__table__.update().where(User.id == user.id).values(balance_nanos=credits_nanos))
    created = await users.create_api_key(hub, user.id, "k", None, key_limits)
    return user.id, created.row.id


async def _row(hub: Hub, model, *where):
    async with hub.sessions() as session:
        return (await session.execute(select(model).where(*where))).scalars().all()


def _reserve(hub: Hub, user_id: int, key_id: int, amount: int = 1000, tokens: int = 100, slot: bool = True):
    return billing.reserve(
        hub, user_id=user_id, api_key_id=key_id, amount_nanos=amount, byok=False, limited=True, tokens=tokens, slot=slot
    )


def _outcome(status: str = "success", cost: int = 100, tokens: int = 10) -> billing.Outcome:
    return billing.Outcome("chat", "openai", "gpt-4o-mini", status, cost, input_tokens=tokens)


async def test_settling_gives_back_the_slot_the_unused_budget_and_the_unused_tokens(hub: Hub) -> None:
    user_id, key_id = await _key(hub, max_concurrent_requests=1, budget_usd=0.000002, tokens_per_minute=150)
    res = await _reserve(hub, user_id, key_id, amount=1500)
    [key] = await _row(hub, ApiKey, ApiKey.id == key_id)
    assert key.in_flight == 1 and key.budget_spent_nanos == 1500
    with pytest.raises(RateLimited, match="max_concurrent_requests"):
        await _reserve(hub, user_id, key_id)
    assert await billing.settle(hub, res, _outcome(cost=300, tokens=7)) == 300
    [key] = await _row(hub, ApiKey, ApiKey.id == key_id)
    assert key.in_flight == 0 and key.budget_spent_nanos == 300
    [event] = await _row(hub, KeyWindowEvent, KeyWindowEvent.api_key_id == key_id)
    assert event.tokens == 7  # settled to the real usage
    with pytest.raises(InsufficientCredits, match="budget_usd"):
        await _reserve(hub, user_id, key_id, amount=1800)  # 300 + 1800 > 2000
    [user] = await _row(hub, User, User.id == user_id)
    assert user.balance_nanos == 10**10 - 300  # the refusals moved no credits
    assert len(await _row(hub, CreditHold, CreditHold.user_id == user_id)) == 0


async def test_a_crashed_request_gives_its_slot_and_budget_back_through_recovery(hub: Hub) -> None:
    user_id, key_id = await _key(hub, max_concurrent_requests=1, budget_usd=1.0)
    await _reserve(hub, user_id, key_id, amount=5000)  # never settled: its process "died"
    with pytest.raises(RateLimited):
        await _reserve(hub, user_id, key_id)
    assert await billing.release_stale_holds(hub, older_than=timedelta(0)) >= 1
    [key] = await _row(hub, ApiKey, ApiKey.id == key_id)
    [user] = await _row(hub, User, User.id == user_id)
    assert key.in_flight == 0 and key.budget_spent_nanos == 0 and user.balance_nanos == 10**10
    res = await _reserve(hub, user_id, key_id)
    await billing.settle(hub, res, _outcome())


async def test_the_window_slides_and_retry_after_says_when_a_request_could_pass(hub: Hub) -> None:
    user_id, key_id = await _key(hub, requests_per_minute=2)
    start = datetime(2026, 12, 1, 12, 0, 0, tzinfo=UTC)
    with pytest.MonkeyPatch.context() as patch:
        for offset in (0, 20):
            patch.setattr(clock, "now", lambda o=offset: start + timedelta(seconds=o))
            await billing.settle(hub, await _reserve(hub, user_id, key_id), _outcome())
        patch.setattr(clock, "now", lambda: start + timedelta(seconds=45))
        with pytest.raises(RateLimited) as refused:
            await _reserve(hub, user_id, key_id)
        assert refused.value.retry_after == 15  # the first request leaves the window at 60 s
        patch.setattr(clock, "now", lambda: start + timedelta(seconds=60.5))
        await billing.settle(hub, await _reserve(hub, user_id, key_id), _outcome())  # a sliding, not fixed, window


def test_budget_periods_are_utc_calendar_periods() -> None:
    at = datetime(2026, 12, 3, 23, 59, tzinfo=UTC)  # a Thursday
    assert limits.period_key("day", at) == "2026-12-03"
    assert limits.period_key("week", at) == "2026-11-30"
    assert limits.period_key("month", at) == "2026-12-01"
    assert limits.period_key("total", at) == limits.period_key(None, at) == "total"


def test_limit_values_are_validated() -> None:
    assert limits.validate({"requests_per_minute": 5.0, "budget_usd": 0.5}) == {
        "requests_per_minute": 5,
        "budget_nanos": 500_000_000,
    }
    assert limits.validate({"tokens_per_minute": None}) == {"tokens_per_minute": None}
    with pytest.raises(ValidationFailed) as bad:
        limits.validate({"requests_per_minute": True, "tokens_per_minute": 1.5, "budget_period": "year"})
    assert [e["loc"][-1] for e in bad.value.errors] == ["requests_per_minute", "tokens_per_minute", "budget_period"]
