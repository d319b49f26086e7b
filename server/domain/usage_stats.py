"""The user's usage statistics (UsageResponse), aggregated in SQL from usage records."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from sqlalchemy import func, select

from server.db.models import UsageRecord, User
from server.domain import clock
from server.errors import ValidationFailed
from server.hub import Hub

DEFAULT_DAYS = 30
MAX_DAYS = 3660


@dataclass
class Bucket:
    requests: int = 0
    cost_nanos: int = 0
    input_tokens: int = 0
    output_tokens: int = 0

    def add(self, requests: int, cost: int, inp: int, out: int) -> None:
        self.requests += requests
        self.cost_nanos += cost
        self.input_tokens += inp
        self.output_tokens += out


@dataclass
class UsageSummary:
    start: date
    end: date
    balance_nanos: int
    total: Bucket = field(default_factory=Bucket)
    endpoints: dict[str, Bucket] = field(default_factory=dict)
    providers: dict[str, Bucket] = field(default_factory=dict)
    models: dict[str, Bucket] = field(default_factory=dict)
    days: dict[date, Bucket] = field(default_factory=dict)


def parse_day(value: str | None, field_name: str, location: str = "query") -> date | None:
    if value is None or value == "":
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValidationFailed.single(
            [location, field_name], f"Invalid date {value!r}: expected YYYY-MM-DD", "date_from_datetime_parsing"
        ) from None


def date_range(start_s: str | None, end_s: str | None) -> tuple[date, date]:
    """Inclusive UTC day range; defaults to the last 30 days."""
    end = parse_day(end_s, "end_date") or clock.now().date()
    start = parse_day(start_s, "start_date") or end - timedelta(days=DEFAULT_DAYS - 1)
    if start > end:
        raise ValidationFailed.single(["query", "start_date"], "start_date must not be after end_date")
    if (end - start).days > MAX_DAYS:
        raise ValidationFailed.single(["query", "start_date"], f"Range is limited to {MAX_DAYS} days")
    return start, end


def day_bounds(start: date, end: date) -> tuple[datetime, datetime]:
    """[start 00:00, end+1 00:00) in UTC: an index-friendly half-open range."""
    lo = datetime.combine(start, time.min, tzinfo=clock.now().tzinfo)
    return lo, datetime.combine(end + timedelta(days=1), time.min, tzinfo=lo.tzinfo)


async def summarize(hub: Hub, user_id: int, start_s: str | None, end_s: str | None) -> UsageSummary:
    start, end = date_range(start_s, end_s)
    lo, hi = day_bounds(start, end)
    day = func.date(UsageRecord.created_at)
    stmt = (
        select(
            day,
            UsageRecord.endpoint,
            UsageRecord.provider,
            UsageRecord.model,
            func.count(),
            func.coalesce(func.sum(UsageRecord.cost_nanos), 0),
            func.coalesce(func.sum(UsageRecord.input_tokens), 0),
            func.coalesce(func.sum(UsageRecord.output_tokens), 0),
        )
        .where(UsageRecord.user_id == user_id, UsageRecord.created_at >= lo, UsageRecord.created_at < hi)
        .group_by(day, UsageRecord.endpoint, UsageRecord.provider, UsageRecord.model)
    )
    async with hub.sessions() as session:
        balance = (await session.execute(select(User.balance_nanos).where(User.id == user_id))).scalar() or 0
        rows = (await session.execute(stmt)).all()
    summary = UsageSummary(start, end, balance)
    for day_value, endpoint, provider, model, count, cost, inp, out in rows:
        values = (int(count), int(cost), int(inp), int(out))
        summary.total.add(*values)
        summary.endpoints.setdefault(endpoint, Bucket()).add(*values)
        summary.providers.setdefault(provider, Bucket()).add(*values)
        summary.models.setdefault(f"{provider}/{model}", Bucket()).add(*values)
        key = day_value if isinstance(day_value, date) else date.fromisoformat(str(day_value))
        summary.days.setdefault(key, Bucket()).add(*values)
    return summary
