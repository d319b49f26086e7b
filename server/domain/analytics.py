"""Usage analytics over the caller's own usage records: aggregates computed in SQL, portable to PostgreSQL.

Where the numbers come from:
- Sums (requests, tokens, cost, errors, mean latency, mean time to first token) are read from the per-day
  rollup `usage_daily` (server.domain.usage_stats) whenever the filters allow it (no session_id filter) and the
  grouping is one of its columns (date, model, provider, endpoint). Its size is days x models, however many
  records there are. Otherwise (session_id, client_ip, or a session filter) they are a GROUP BY over the
  records of the range, through the (user_id, ...) indexes.
- Latency percentiles are nearest-rank and exact, read from the records: for each group on the page,
  `ORDER BY duration_ms LIMIT 1 OFFSET k` over an index whose key is (user_id, group, duration_ms, ...), so the
  database walks at most half of that group's index entries (5% for p95) and sorts nothing. Many small groups
  (sessions, say) are answered together by one ROW_NUMBER() window query instead.
- Money stays integer nano-USD here; conversion to USD happens when the response is built.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, func, or_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from server.db.models import UsageDaily, UsageRecord, utc_day
from server.domain import clock
from server.domain.usage_stats import DEFAULT_DAYS, MAX_DAYS, day_bounds
from server.domain.validation import Checker
from server.hub import Hub

GROUP_BYS = ("date", "model", "provider", "endpoint", "session_id", "client_ip")
ROLLUP_GROUPS = ("date", "model", "provider", "endpoint")
ENDPOINTS = ("chat", "completion", "embedding", "image", "tts", "stt", "translation", "video")
MAX_PAGE = 1000
DEFAULT_RECORDS = 100
DEFAULT_GROUPS = 1000
DEFAULT_SESSIONS = 50
INTERACTIONS_PER_SESSION = 1000
SMALL_GROUP = 200  # groups up to this many records get their percentiles from one shared window query ...
WINDOW_ROWS = 20_000  # ... of at most this many records


# --- requests ---------------------------------------------------------------------------------------------


@dataclass
class Filters:
    user_id: int
    start: date | None  # None: all time
    end: date | None
    provider: str | None = None
    model: str | None = None
    endpoint: str | None = None
    session_id: str | None = None

    @property
    def uses_rollup(self) -> bool:
        """The rollup has no session column: a session filter needs the records."""
        return self.session_id is None


def _text(value: str | None) -> str | None:
    return value if value else None


def _day(checker: Checker, value: str | None, name: str) -> date | None:
    if not value:
        return None
    try:
        if len(value) != 10:
            raise ValueError
        return date.fromisoformat(value)
    except ValueError:
        checker.add(["query", name], f"Invalid date {value!r}: expected YYYY-MM-DD", "date_from_datetime_parsing")
        return None


def _range(checker: Checker, start_s: str | None, end_s: str | None, all_time: bool) -> tuple[date | None, date | None]:
    """Inclusive UTC days. Neither given: the last 30 days, or all time when `all_time` (a session filter)."""
    start, end = _day(checker, start_s, "start_date"), _day(checker, end_s, "end_date")
    if checker.errors:
        return None, None
    if start is None and end is None and all_time:
        return None, None
    today = clock.now().date()
    end = end or max(today, start or today)
    start = start or end - timedelta(days=DEFAULT_DAYS - 1)
    if start > end:
        checker.add(["query", "start_date"], "start_date must not be after end_date")
    elif (end - start).days >= MAX_DAYS:
        checker.add(["query", "start_date"], f"The range is limited to {MAX_DAYS} days")
    return start, end


def _page(checker: Checker, limit: int | None, offset: int | None, default: int) -> tuple[int, int]:
    if limit is not None and not 1 <= limit <= MAX_PAGE:
        checker.add(["query", "limit"], f"Input should be between 1 and {MAX_PAGE}", "value_error")
    if offset is not None and offset < 0:
        checker.add(["query", "offset"], "Input should be greater than or equal to 0", "greater_than_equal")
    return limit or default, offset or 0


def _endpoint(checker: Checker, value: str | None) -> str | None:
    value = _text(value)
    if value is not None and value not in ENDPOINTS:
        checker.add(["query", "endpoint"], f"Input should be one of {', '.join(ENDPOINTS)}", "literal_error")
    return value


@dataclass
class UsageQuery:
    filters: Filters
    group_by: str | None
    include_content: bool
    limit: int
    offset: int


def usage_query(
    user_id: int,
    *,
    start_date: str | None = None,
    end_date: str | None = None,
    group_by: str | None = None,
    provider: str | None = None,
    model: str | None = None,
    session_id: str | None = None,
    endpoint: str | None = None,
    include_content: bool = False,
    limit: int | None = None,
    offset: int | None = None,
) -> UsageQuery:
    """Validates /analytics/usage's parameters, all problems at once (422)."""
    checker = Checker()
    session_id = _text(session_id)
    start, end = _range(checker, start_date, end_date, all_time=session_id is not None)
    group_by = _text(group_by)
    if group_by is not None and group_by not in GROUP_BYS:
        checker.add(["query", "group_by"], f"Input should be one of {', '.join(GROUP_BYS)}", "literal_error")
    ep = _endpoint(checker, endpoint)
    limit, offset = _page(checker, limit, offset, DEFAULT_GROUPS if group_by else DEFAULT_RECORDS)
    checker.done()
    filters = Filters(user_id, start, end, _text(provider), _text(model), ep, session_id)
    return UsageQuery(filters, group_by, bool(include_content), limit, offset)


def session_query(
    user_id: int,
    *,
    start_date: str | None = None,
    end_date: str | None = None,
    session_id: str | None = None,
    limit: int | None = None,
    offset: int | None = None,
) -> tuple[Filters, int, int]:
    checker = Checker()
    session_id = _text(session_id)
    start, end = _range(checker, start_date, end_date, all_time=session_id is not None)
    limit, offset = _page(checker, limit, offset, DEFAULT_SESSIONS)
    checker.done()
    return Filters(user_id, start, end, session_id=session_id), limit, offset


def model_query(
    user_id: int, *, start_date: str | None = None, end_date: str | None = None, provider: str | None = None
) -> Filters:
    checker = Checker()
    start, end = _range(checker, start_date, end_date, all_time=False)
    checker.done()
    return Filters(user_id, start, end, provider=_text(provider))


# --- results ----------------------------------------------------------------------------------------------


@dataclass
class Agg:
    requests: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_nanos: int = 0
    errors: int = 0
    duration_ms: float = 0.0  # sum

    @property
    def avg_latency_ms(self) -> float:
        return self.duration_ms / self.requests if self.requests else 0.0

    @classmethod
    def of(cls, values: Sequence[Any]) -> Agg:
        requests, inp, out, cost, errors, duration = values
        return cls(
            int(requests or 0), int(inp or 0), int(out or 0), int(cost or 0), int(errors or 0), float(duration or 0)
        )


@dataclass
class Group:
    key: tuple  # (day,), (provider, model) or (value,)
    agg: Agg
    p95_latency_ms: float = 0.0

    @property
    def label(self) -> str:
        if len(self.key) == 2:
            return f"{self.key[0]}/{self.key[1]}"
        value = self.key[0]
        if isinstance(value, date):
            return value.isoformat()
        return "" if value is None else str(value)


@dataclass
class UsageData:
    query: UsageQuery
    totals: Agg
    total_count: int
    groups: list[Group] = field(default_factory=list)
    records: list[Any] = field(default_factory=list)  # rows with UsageRecord's column names


@dataclass
class Session:
    session_id: str
    agg: Agg
    started_at: datetime
    ended_at: datetime
    interactions: list[Any] = field(default_factory=list)
    more: bool = False


@dataclass
class ModelStats:
    provider: str
    model: str
    agg: Agg
    streams: int
    ttft_ms: float  # sum
    p50_latency_ms: float = 0.0
    p95_latency_ms: float = 0.0


# --- conditions -------------------------------------------------------------------------------------------


def _dimensions(table, f: Filters) -> list:
    conds = []
    if f.provider is not None:
        conds.append(table.provider == f.provider)
    if f.model is not None:
        if "/" in f.model:  # "provider/model", as the keys of model groups; or a model id with a slash
            provider, model = f.model.split("/", 1)
            conds.append(or_(table.model == f.model, and_(table.provider == provider, table.model == model)))
        else:
            conds.append(table.model == f.model)
    if f.endpoint is not None:
        conds.append(table.endpoint == f.endpoint)
    return conds


def _record_conds(f: Filters, *, dates: bool = True) -> list:
    conds = [UsageRecord.user_id == f.user_id]
    if dates and f.start is not None:
        lo, hi = day_bounds(f.start, f.end)
        conds += [UsageRecord.created_at >= lo, UsageRecord.created_at < hi]
    conds += _dimensions(UsageRecord, f)
    if f.session_id is not None:
        conds.append(UsageRecord.session_id == f.session_id)
    return conds


def _rollup_conds(f: Filters) -> list:
    conds = [UsageDaily.user_id == f.user_id]
    if f.start is not None:
        conds += [UsageDaily.day >= f.start, UsageDaily.day <= f.end]
    return conds + _dimensions(UsageDaily, f)


def _rollup_sums() -> list:
    return [
        func.sum(UsageDaily.requests),
        func.sum(UsageDaily.input_tokens),
        func.sum(UsageDaily.output_tokens),
        func.sum(UsageDaily.cost_nanos),
        func.sum(UsageDaily.errors),
        func.sum(UsageDaily.duration_ms),
    ]


def _record_sums() -> list:
    return [
        func.count(),
        func.sum(UsageRecord.input_tokens),
        func.sum(UsageRecord.output_tokens),
        func.sum(UsageRecord.cost_nanos),
        func.sum(case((UsageRecord.status == "error", 1), else_=0)),
        func.sum(UsageRecord.duration_ms),
    ]


def _group_columns(group_by: str, rollup: bool) -> list:
    table = UsageDaily if rollup else UsageRecord
    if group_by == "date":
        return [UsageDaily.day if rollup else utc_day(UsageRecord.created_at)]
    if group_by == "model":
        return [table.provider, table.model]
    return [getattr(table, group_by)]


def _group_match(group_by: str, key: tuple) -> list:
    """The records of one group (for its percentiles)."""
    if group_by == "date":
        return [utc_day(UsageRecord.created_at) == key[0]]
    if group_by == "model":
        return [UsageRecord.provider == key[0], UsageRecord.model == key[1]]
    column = getattr(UsageRecord, group_by)
    return [column.is_(None) if key[0] is None else column == key[0]]


# --- percentiles ------------------------------------------------------------------------------------------


def nearest_rank(p: int, n: int) -> int:
    """1-based rank of the p-th percentile among n ascending values: ceil(p * n / 100), at least 1."""
    return max(1, (p * n + 99) // 100)


async def _percentile(session: AsyncSession, conds: list, p: int, n: int) -> float:
    rank = nearest_rank(p, n)
    ascending = rank - 1 <= n - rank  # walk from the nearer end
    order = UsageRecord.duration_ms.asc() if ascending else UsageRecord.duration_ms.desc()
    stmt = select(UsageRecord.duration_ms).where(*conds).order_by(order).limit(1)
    stmt = stmt.offset(rank - 1 if ascending else n - rank)
    value = (await session.execute(stmt)).scalar()
    return float(value) if value is not None else 0.0


async def _window_percentiles(
    session: AsyncSession, f: Filters, group_by: str, keys: list[tuple], ps: Sequence[int]
) -> dict[tuple, dict[int, float]]:
    """Percentiles of many small groups in one query: ROW_NUMBER() over each group's records by duration."""
    columns = _group_columns(group_by, rollup=False)
    match = columns[0].in_([k[0] for k in keys]) if len(columns) == 1 else tuple_(*columns).in_(keys)
    numbered = (
        select(
            *(c.label(f"k{i}") for i, c in enumerate(columns)),
            UsageRecord.duration_ms,
            func.row_number().over(partition_by=columns, order_by=UsageRecord.duration_ms).label("rn"),
            func.count().over(partition_by=columns).label("n"),
        )
        .where(*_record_conds(f, dates=group_by != "date"), match)
        .subquery()
    )
    ranks = [numbered.c.rn == (numbered.c.n * p + 99) // 100 for p in ps]  # nearest_rank() in SQL (n >= 1)
    key_columns = [numbered.c[f"k{i}"] for i in range(len(columns))]
    stmt = select(*key_columns, numbered.c.duration_ms, numbered.c.rn, numbered.c.n).where(or_(*ranks))
    out: dict[tuple, dict[int, float]] = {}
    for row in (await session.execute(stmt)).all():
        *key, duration, rn, n = row
        for p in ps:
            if nearest_rank(p, int(n)) == rn:
                out.setdefault(tuple(key), {})[p] = float(duration)
    return out


async def percentiles(
    session: AsyncSession, f: Filters, group_by: str, groups: list[tuple[tuple, int]], ps: Sequence[int]
) -> dict[tuple, dict[int, float]]:
    """{group key: {p: latency}} for the given (key, record count) groups under the filters."""
    out: dict[tuple, dict[int, float]] = {}
    small, budget = [], WINDOW_ROWS
    for key, n in groups:
        if n <= 0:
            continue
        if n <= SMALL_GROUP and None not in key and n <= budget:
            small.append(key)
            budget -= n
            continue
        conds = _record_conds(f, dates=group_by != "date") + _group_match(group_by, key)
        out[key] = {p: await _percentile(session, conds, p, n) for p in ps}
    if small:
        out.update(await _window_percentiles(session, f, group_by, small, ps))
    return out


# --- queries ----------------------------------------------------------------------------------------------


async def _totals(session: AsyncSession, f: Filters) -> Agg:
    if f.uses_rollup:
        stmt = select(*_rollup_sums()).where(*_rollup_conds(f))
    else:
        stmt = select(*_record_sums()).where(*_record_conds(f))
    return Agg.of((await session.execute(stmt)).one())


async def _groups(session: AsyncSession, q: UsageQuery) -> tuple[list[Group], int]:
    f = q.filters
    rollup = f.uses_rollup and q.group_by in ROLLUP_GROUPS
    columns = _group_columns(q.group_by, rollup)
    sums = _rollup_sums() if rollup else _record_sums()
    requests = sums[0]
    if q.group_by == "date":
        order = list(columns)
    else:
        order = [requests.desc(), *(func.coalesce(c, "") for c in columns)]
    stmt = (
        select(*columns, *sums, func.count().over())
        .where(*(_rollup_conds(f) if rollup else _record_conds(f)))
        .group_by(*columns)
        .order_by(*order)
        .limit(q.limit)
        .offset(q.offset)
    )
    rows = (await session.execute(stmt)).all()
    width = len(columns)
    groups = [Group(tuple(row[:width]), Agg.of(row[width : width + 6])) for row in rows]
    if rows:
        count = int(rows[0][-1])
    else:  # past the last page: count the groups alone
        inner = select(*columns).where(*(_rollup_conds(f) if rollup else _record_conds(f))).group_by(*columns)
        count = int((await session.execute(select(func.count()).select_from(inner.subquery()))).scalar() or 0)
    p95 = await percentiles(session, f, q.group_by, [(g.key, g.agg.requests) for g in groups], (95,))
    for g in groups:
        g.p95_latency_ms = p95.get(g.key, {}).get(95, 0.0)
    return groups, count


_RECORD_COLUMNS = (
    UsageRecord.request_id,
    UsageRecord.created_at,
    UsageRecord.endpoint,
    UsageRecord.provider,
    UsageRecord.model,
    UsageRecord.input_tokens,
    UsageRecord.output_tokens,
    UsageRecord.cached_tokens,
    UsageRecord.reasoning_tokens,
    UsageRecord.cost_nanos,
    UsageRecord.duration_ms,
    UsageRecord.status,
    UsageRecord.session_id,
    UsageRecord.client_ip,
    UsageRecord.error,
    UsageRecord.byok,
)


async def _records(session: AsyncSession, q: UsageQuery) -> list[Any]:
    columns = list(_RECORD_COLUMNS)
    if q.include_content:
        columns += [UsageRecord.request_content, UsageRecord.response_content]
    stmt = (
        select(*columns)
        .where(*_record_conds(q.filters))
        .order_by(UsageRecord.created_at.desc(), UsageRecord.id.desc())
        .limit(q.limit)
        .offset(q.offset)
    )
    return list((await session.execute(stmt)).all())


async def usage_data(hub: Hub, q: UsageQuery) -> UsageData:
    async with hub.sessions() as session:
        totals = await _totals(session, q.filters)
        if q.group_by:
            groups, count = await _groups(session, q)
            return UsageData(q, totals, count, groups=groups)
        records = await _records(session, q) if totals.requests > q.offset else []
        return UsageData(q, totals, totals.requests, records=records)


async def session_data(hub: Hub, f: Filters, limit: int, offset: int) -> tuple[list[Session], int]:
    """Sessions with records in the range, most recently active first, with their interactions (oldest first)."""
    conds = [*_record_conds(f), UsageRecord.session_id.is_not(None)]
    last = func.max(UsageRecord.created_at)
    page = (
        select(UsageRecord.session_id, *_record_sums(), func.min(UsageRecord.created_at), last, func.count().over())
        .where(*conds)
        .group_by(UsageRecord.session_id)
        .order_by(last.desc(), UsageRecord.session_id)
        .limit(limit)
        .offset(offset)
    )
    async with hub.sessions() as session:
        rows = (await session.execute(page)).all()
        if rows:
            total = int(rows[0][-1])
        else:
            inner = select(UsageRecord.session_id).where(*conds).group_by(UsageRecord.session_id).subquery()
            total = int((await session.execute(select(func.count()).select_from(inner))).scalar() or 0)
        sessions = {
            row[0]: Session(row[0], Agg.of(row[1:7]), clock.as_utc(row[7]), clock.as_utc(row[8])) for row in rows
        }
        if sessions:
            numbered = (
                select(
                    *_RECORD_COLUMNS,
                    func.row_number()
                    .over(partition_by=UsageRecord.session_id, order_by=(UsageRecord.created_at, UsageRecord.id))
                    .label("rn"),
                )
                .where(*conds, UsageRecord.session_id.in_(list(sessions)))
                .subquery()
            )
            stmt = (
                select(numbered)
                .where(numbered.c.rn <= INTERACTIONS_PER_SESSION)
                .order_by(numbered.c.session_id, numbered.c.rn)
            )
            for row in (await session.execute(stmt)).all():
                sessions[row.session_id].interactions.append(row)
    result = list(sessions.values())
    for s in result:
        s.more = s.agg.requests > len(s.interactions)
    return result, total


async def model_performance(hub: Hub, f: Filters) -> list[ModelStats]:
    """Per model, most requested first: sums from the rollup, exact p50 / p95 latency from the records."""
    requests = func.sum(UsageDaily.requests)
    stmt = (
        select(
            UsageDaily.provider,
            UsageDaily.model,
            *_rollup_sums(),
            func.sum(UsageDaily.streams),
            func.sum(UsageDaily.ttft_ms),
        )
        .where(*_rollup_conds(f))
        .group_by(UsageDaily.provider, UsageDaily.model)
        .order_by(requests.desc(), UsageDaily.provider, UsageDaily.model)
    )
    async with hub.sessions() as session:
        rows = (await session.execute(stmt)).all()
        models = [ModelStats(r[0], r[1], Agg.of(r[2:8]), int(r[8] or 0), float(r[9] or 0.0)) for r in rows]
        found = await percentiles(
            session, f, "model", [((m.provider, m.model), m.agg.requests) for m in models], (50, 95)
        )
    for m in models:
        values = found.get((m.provider, m.model), {})
        m.p50_latency_ms, m.p95_latency_ms = values.get(50, 0.0), values.get(95, 0.0)
    return models
