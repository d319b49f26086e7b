"""The user's usage statistics (UsageResponse), and the per-day rollups they and analytics are read from.

`usage_daily` holds, per user, UTC day, endpoint, provider and model, the sums of the usage records;
`usage_daily_sessions` and `usage_daily_clients` the same per session id / client IP as well. Reading them
costs days x models (x sessions) rows however many records there are. They are derived from the records by
server.domain.usage_index (on SQLite off the request path, elsewhere by `add_to_rollup` in the transaction
that writes each record), so readers bring them up to date first.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.ext.asyncio import AsyncSession

from server.db.ledger import FLUSH
from server.db.models import UsageDaily, UsageDailyClient, UsageDailySession, User
from server.db.prepared import run_sql
from server.domain import clock, usage_index
from server.domain.validation import Checker
from server.errors import ValidationFailed

if TYPE_CHECKING:
    from server.hub import Hub

DEFAULT_DAYS = 30
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
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
        if not _DAY.fullmatch(value):  # fromisoformat alone also takes 20260131 and 2026-W05-6
            raise ValueError
        return date.fromisoformat(value)
    except ValueError:
        raise ValidationFailed.single(
            [location, field_name], f"Invalid date {value!r}: expected YYYY-MM-DD", "date_from_datetime_parsing"
        ) from None


def day_range(
    checker: Checker, start_s: str | None, end_s: str | None, *, all_time: bool = False
) -> tuple[date | None, date | None]:
    """Inclusive UTC days, problems added to `checker`. Neither given: the last 30 days up to today (or all
    time, (None, None), when `all_time`); only start_date: up to today; only end_date: the 30 days before it."""
    start = end = None
    try:
        start = parse_day(start_s, "start_date")
    except ValidationFailed as exc:
        checker.errors += exc.errors
    try:
        end = parse_day(end_s, "end_date")
    except ValidationFailed as exc:
        checker.errors += exc.errors
    if checker.errors or (start is None and end is None and all_time):
        return None, None
    today = clock.now().date()
    end = end or max(today, start or today)
    start = start or end - timedelta(days=DEFAULT_DAYS - 1)
    if start > end:
        checker.add(["query", "start_date"], "start_date must not be after end_date")
    elif (end - start).days >= MAX_DAYS:
        checker.add(["query", "start_date"], f"The range is limited to {MAX_DAYS} days")
    return start, end


def date_range(start_s: str | None, end_s: str | None) -> tuple[date, date]:
    """day_range, raising 422 with every problem."""
    checker = Checker()
    start, end = day_range(checker, start_s, end_s)
    checker.done()
    return start, end


def day_bounds(start: date, end: date) -> tuple[datetime, datetime]:
    """[start 00:00, end+1 00:00) in UTC: an index-friendly half-open range."""
    lo = datetime.combine(start, time.min, tzinfo=clock.now().tzinfo)
    return lo, datetime.combine(end + timedelta(days=1), time.min, tzinfo=lo.tzinfo)


# --- the rollups -------------------------------------------------------------------------------------------

_SUMS = ("requests", "errors", "input_tokens", "output_tokens", "cost_nanos", "duration_ms")
_DIMENSIONS = ("endpoint", "provider", "model")
# table -> (its key after user_id and day, the columns it sums)
ROLLUPS = {
    UsageDaily: (_DIMENSIONS, (*_SUMS, "streams", "ttft_ms")),
    UsageDailySession: (("session_id", *_DIMENSIONS), _SUMS),
    UsageDailyClient: (("client_ip", *_DIMENSIONS), _SUMS),
}


def rollup_values(row: dict[str, Any]) -> dict[str, Any]:
    """The rollup increments of one usage record (the dict billing inserts), for every rollup table."""
    ttft = row.get("ttft_ms")
    created = clock.as_utc(row["created_at"])
    return {
        "user_id": row["user_id"],
        "day": created.date(),
        "session_id": row.get("session_id") or "",
        "client_ip": row.get("client_ip") or "",
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
        "first_at": created,
        "last_at": created,
    }


_UPSERTS: dict[str, list] = {}


def _upserts(dialect: Dialect) -> list[tuple[str, tuple[str, ...], list, bool]]:
    """Per rollup table, INSERT ... ON CONFLICT (key) DO UPDATE SET sum = sum + excluded.sum: one atomic
    statement, the same on SQLite and PostgreSQL. Compiled once per dialect to (SQL, parameter names, their
    bind processors, positional?) and run with `run_sql` (the driver's cursor): this runs for every
    request, where the Core statement path would cost several times the statement itself."""
    if dialect.name not in _UPSERTS:
        least, greatest = (func.least, func.greatest) if dialect.name == "postgresql" else (func.min, func.max)
        compiled = []
        for table, (key, sums) in ROLLUPS.items():
            ins = (postgresql.insert if dialect.name == "postgresql" else sqlite.insert)(table)
            changes = {name: getattr(table, name) + getattr(ins.excluded, name) for name in sums}
            if table is UsageDailySession:
                changes["first_at"] = least(table.first_at, ins.excluded.first_at)
                changes["last_at"] = greatest(table.last_at, ins.excluded.last_at)
            stmt = ins.on_conflict_do_update(index_elements=["user_id", "day", *key], set_=changes)
            c = stmt.compile(dialect=dialect, column_keys=[col.name for col in table.__table__.columns])
            names = tuple(c.positiontup or (col.name for col in table.__table__.columns))
            processors = [table.__table__.c[n].type.dialect_impl(dialect).bind_processor(dialect) for n in names]
            compiled.append((str(c), names, processors, bool(c.positiontup)))
        _UPSERTS[dialect.name] = compiled
    return _UPSERTS[dialect.name]


class _RollupBatch:
    """The rollup increments of the usage records of one ledger transaction, summed per rollup row and
    written just before it commits (one upsert per row touched instead of three per request)."""

    def __init__(self) -> None:
        self.rows: dict[tuple, dict[str, Any]] = {}

    def add(self, values: dict[str, Any]) -> None:
        key = tuple(values[k] for k in _BATCH_KEY)
        known = self.rows.get(key)
        if known is None:
            self.rows[key] = dict(values)
            return
        for name in _ADDED:
            known[name] += values[name]
        known["first_at"] = min(known["first_at"], values["first_at"])
        known["last_at"] = max(known["last_at"], values["last_at"])

    def flush(self, conn: Connection) -> None:
        for values in self.rows.values():
            _write_rollups(conn, values)
        self.rows.clear()


_BATCH_KEY = ("user_id", "day", "session_id", "client_ip", "endpoint", "provider", "model")
_ADDED = ("requests", "errors", "input_tokens", "output_tokens", "cost_nanos", "duration_ms", "streams", "ttft_ms")


def add_to_rollup(conn: Connection, row: dict[str, Any]) -> None:
    """Adds one usage record (the dict billing inserts) to its rollup rows, in the caller's transaction: at
    its end when the ledger runs it (summed with the batch's other records), else at once."""
    values = rollup_values(row)
    deferred = conn.info.get(FLUSH)
    if deferred is not None:
        deferred.setdefault("rollups", _RollupBatch()).add(values)
        return
    _write_rollups(conn, values)


def _write_rollups(conn: Connection, values: dict[str, Any]) -> None:
    if conn.dialect.name in ("sqlite", "postgresql"):
        for sql, names, processors, positional in _upserts(conn.dialect):
            params = [values[n] if p is None else p(values[n]) for n, p in zip(names, processors, strict=True)]
            run_sql(conn, sql, params if positional else dict(zip(names, params, strict=True))).close()
        return
    for table, (key, sums) in ROLLUPS.items():  # any other database: update, else insert
        changes = {name: getattr(table, name) + values[name] for name in sums}
        if table is UsageDailySession:
            changes["last_at"] = values["last_at"]
        match = [getattr(table, k) == values[k] for k in ("user_id", "day", *key)]
        if conn.execute(update(table).where(*match).values(changes)).rowcount == 0:
            conn.execute(insert(table), {c.name: values[c.name] for c in table.__table__.columns})


async def snapshot(session: AsyncSession) -> None:
    """Makes the session's reads one consistent snapshot, so that the numbers of one answer agree with each
    other even while requests settle: PostgreSQL REPEATABLE READ; on SQLite an explicit (deferred) BEGIN,
    whose snapshot is taken at the first read (the driver would otherwise read each statement afresh)."""
    if session.bind.dialect.name == "postgresql":
        await session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
    elif session.bind.dialect.name == "sqlite":
        await (await session.connection()).exec_driver_sql("BEGIN")


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
    await usage_index.bring_up_to_date(hub)
    async with hub.sessions() as session:
        await snapshot(session)
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
