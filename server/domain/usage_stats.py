"""The user's usage statistics (UsageResponse), and the per-day rollup they are read from.

`usage_daily` holds, per user, UTC day, endpoint, provider and model, the sums of the usage records. It is
updated by `add_to_rollup` in the transaction that writes each usage record (server.domain.billing.settle),
so it always equals the records it sums, and reading it costs days x models rows however many records there
are. `rollup_rebuild_sql` recomputes it from the records (the migration's backfill; tests and the benchmark
use it after inserting records directly).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from server.db.models import UsageDaily, User
from server.domain import clock
from server.errors import ValidationFailed
from server.hub import Hub

DEFAULT_DAYS = 30
MAX_DAYS = 3660

_SUMS = ("requests", "errors", "input_tokens", "output_tokens", "cost_nanos", "duration_ms", "streams", "ttft_ms")
_KEYS = ("user_id", "day", "endpoint", "provider", "model")


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
        if len(value) != 10:
            raise ValueError
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


# --- the rollup ---------------------------------------------------------------------------------------------


def rollup_values(row: dict[str, Any]) -> dict[str, Any]:
    """The rollup increments of one usage record (the dict billing inserts)."""
    ttft = row.get("ttft_ms")
    return {
        "user_id": row["user_id"],
        "day": clock.as_utc(row["created_at"]).date(),
        "endpoint": row["endpoint"],
        "provider": row["provider"],
        "model": row["model"],
        "requests": 1,
        "errors": 1 if row["status"] == "error" else 0,
        "input_tokens": row.get("input_tokens") or 0,
        "output_tokens": row.get("output_tokens") or 0,
        "cost_nanos": row.get("cost_nanos") or 0,
        "duration_ms": float(row.get("duration_ms") or 0.0),
        "streams": 0 if ttft is None else 1,
        "ttft_ms": 0.0 if ttft is None else float(ttft),
    }


_UPSERTS: dict[str, Any] = {}


def _upsert(dialect: str):
    """INSERT ... ON CONFLICT (key) DO UPDATE SET sums = sums + excluded: one statement, the same on SQLite and
    PostgreSQL, built once per dialect."""
    if dialect not in _UPSERTS:
        ins = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(UsageDaily)
        _UPSERTS[dialect] = ins.on_conflict_do_update(
            index_elements=list(_KEYS),
            set_={name: getattr(UsageDaily, name) + getattr(ins.excluded, name) for name in _SUMS},
        )
    return _UPSERTS[dialect]


def add_to_rollup(conn: Connection, row: dict[str, Any]) -> None:
    """Adds one usage record (the dict billing inserts) to its rollup row, in the caller's transaction."""
    values = rollup_values(row)
    dialect = conn.dialect.name
    if dialect in ("sqlite", "postgresql"):
        conn.execute(_upsert(dialect), values)
        return
    # Any other database: update, else insert.
    done = conn.execute(
        update(UsageDaily)
        .where(*(getattr(UsageDaily, k) == values[k] for k in _KEYS))
        .values({name: getattr(UsageDaily, name) + values[name] for name in _SUMS})
    )
    if done.rowcount == 0:
        conn.execute(insert(UsageDaily), values)


def rollup_rebuild_sql(dialect: str, user_id: int | None = None) -> list[str]:
    """Statements that recompute the rollup from the usage records (of one user, or everyone)."""
    day = "CAST(timezone('UTC', created_at) AS DATE)" if dialect == "postgresql" else "date(created_at)"
    where = f" WHERE user_id = {int(user_id)}" if user_id is not None else ""
    return [
        f"DELETE FROM usage_daily{where}",
        "INSERT INTO usage_daily (user_id, day, endpoint, provider, model, requests, errors, input_tokens,"
        " output_tokens, cost_nanos, duration_ms, streams, ttft_ms)"
        f" SELECT user_id, {day}, endpoint, provider, model, COUNT(*),"
        " SUM(CASE WHEN status = 'error' THEN 1 ELSE 0 END), SUM(input_tokens), SUM(output_tokens),"
        " SUM(cost_nanos), SUM(duration_ms), COUNT(ttft_ms), COALESCE(SUM(ttft_ms), 0)"
        f" FROM usage_records{where} GROUP BY user_id, {day}, endpoint, provider, model",
    ]


# --- /user/usage ------------------------------------------------------------------------------------------


def _sums(*keys):
    return (
        *keys,
        func.sum(UsageDaily.requests),
        func.sum(UsageDaily.cost_nanos),
        func.sum(UsageDaily.input_tokens),
        func.sum(UsageDaily.output_tokens),
    )


async def summarize(hub: Hub, user_id: int, start_s: str | None, end_s: str | None) -> UsageSummary:
    """Totals, per-endpoint / provider / model and per-day sums over the range, each a GROUP BY over the
    rollup (one row per day x endpoint x model): the same records, so every breakdown adds up to the total."""
    start, end = date_range(start_s, end_s)
    where = (UsageDaily.user_id == user_id, UsageDaily.day >= start, UsageDaily.day <= end)
    by_day = select(*_sums(UsageDaily.day)).where(*where).group_by(UsageDaily.day)
    by_endpoint = select(*_sums(UsageDaily.endpoint)).where(*where).group_by(UsageDaily.endpoint)
    by_provider = select(*_sums(UsageDaily.provider)).where(*where).group_by(UsageDaily.provider)
    by_model = (
        select(*_sums(UsageDaily.provider, UsageDaily.model))
        .where(*where)
        .group_by(UsageDaily.provider, UsageDaily.model)
    )
    async with hub.sessions() as session:
        balance = (await session.execute(select(User.balance_nanos).where(User.id == user_id))).scalar() or 0
        days = (await session.execute(by_day)).all()
        endpoints = (await session.execute(by_endpoint)).all()
        providers = (await session.execute(by_provider)).all()
        models = (await session.execute(by_model)).all()
    summary = UsageSummary(start, end, balance)

    def bucket(values) -> Bucket:
        out = Bucket()
        out.add(*(int(v or 0) for v in values))
        return out

    for day_value, *values in days:
        key = day_value if isinstance(day_value, date) else date.fromisoformat(str(day_value))
        summary.days[key] = bucket(values)
        summary.total.add(*(int(v or 0) for v in values))
    summary.endpoints = {k: bucket(v) for k, *v in endpoints}
    summary.providers = {k: bucket(v) for k, *v in providers}
    summary.models = {f"{p}/{m}": bucket(v) for p, m, *v in models}
    return summary
