"""Trending models: aggregates over every user's usage records, with no per-user data in the answer."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from sqlalchemy import distinct, func, select

from server.db.models import UsageRecord
from server.domain import clock
from server.domain.validation import Checker

if TYPE_CHECKING:
    from server.hub import Hub


@dataclass
class TrendingRow:
    provider: str
    model: str
    requests: int
    tokens: int
    users: int


def check_window(days: int | None, limit: int | None) -> tuple[int, int]:
    checker = Checker()
    if days is not None and not 1 <= days <= 365:
        checker.add(["query", "days"], "Input should be between 1 and 365")
    if limit is not None and not 1 <= limit <= 100:
        checker.add(["query", "limit"], "Input should be between 1 and 100")
    checker.done()
    return days or 7, limit or 10


async def trending(hub: Hub, days: int, limit: int) -> tuple[list[TrendingRow], int]:
    """The most requested models since `days` ago, and the number of requests of all models."""
    since = clock.now() - timedelta(days=days)
    requests = func.count().label("requests")
    stmt = (
        select(
            UsageRecord.provider,
            UsageRecord.model,
            requests,
            func.coalesce(func.sum(UsageRecord.input_tokens + UsageRecord.output_tokens), 0),
            func.count(distinct(UsageRecord.user_id)),
        )
        .where(UsageRecord.created_at >= since, UsageRecord.status != "error")
        .group_by(UsageRecord.provider, UsageRecord.model)
        .order_by(requests.desc(), UsageRecord.provider, UsageRecord.model)
    )
    async with hub.sessions() as session:
        rows = (await session.execute(stmt)).all()
    total = sum(int(r[2]) for r in rows)
    return [TrendingRow(p, m, int(n), int(t), int(u)) for p, m, n, t, u in rows[:limit]], total
