"""Usage analytics over the caller's own usage records: aggregates computed in SQL, portable to PostgreSQL.

Where the numbers come from:
- Sums (requests, tokens, cost, errors, mean latency, mean time to first token) are read from the per-day
  rollups (server.domain.usage_stats): `usage_daily` for totals and the date / model / provider / endpoint
  groupings and models, `usage_daily_sessions` for group_by=session_id and /analytics/sessions,
  `usage_daily_clients` for group_by=client_ip. Date filters are whole UTC days, so the rollup rows of the
  range sum exactly the records of the range; their size is days x models (x sessions / clients), however many
  records there are. Only a session_id filter reads the records (one session's, through its index).
- Latency percentiles are nearest-rank and exact, read from the latency index (`usage_latencies`, one row per
  record): for each group on the page, `ORDER BY duration_ms LIMIT 1 OFFSET k` over an index whose key is
  (user_id, group, duration_ms, ...), so the database walks at most half of that group's index entries (5% for
  p95) and sorts nothing. The lookups of all the page's groups are sent together, as scalar subqueries of one
  SELECT.
- The rollups and the latency index are derived from the records (server.domain.usage_index): each answer
  first brings them up to date, then reads one snapshot, and reads records only up to the watermark of that
  snapshot, so all its numbers describe the same requests.
- Money stays integer nano-USD here; conversion to USD happens when the response is built.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Date, and_, bindparam, case, column, func, or_, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from server.db.models import UsageDaily, UsageDailyClient, UsageDailySession, UsageRecord, utc_day
from server.domain import clock, usage_index
from server.domain.usage_stats import day_bounds, day_range, snapshot
from server.domain.validation import Checker

if TYPE_CHECKING:
    from server.hub import Hub

GROUP_BYS = ("date", "model", "provider", "endpoint", "session_id", "client_ip")
ENDPOINTS = (
    "chat",
    "completion",
    "embedding",
    "image",
    "tts",
    "stt",
    "translation",
    "video",
    # the OpenAI-compatible surface at /v1 (server.services.openai_compat)
    "openai.chat",
    "openai.responses",
    "openai.embedding",
    "openai.image",
    "openai.tts",
    "openai.stt",
    "openai.translation",
)
MAX_PAGE = 1000
DEFAULT_RECORDS = 100
DEFAULT_GROUPS = 1000
DEFAULT_SESSIONS = 50
INTERACTIONS_PER_SESSION = 1000
PERCENTILES_PER_STATEMENT = 300


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
    upto: int | None = None  # the highest record id to read: the derived tables' watermark (usage_index)

    @property
    def uses_rollup(self) -> bool:
        """A session filter reads that session's records (few, through their index) rather than a rollup."""
        return self.session_id is None


def _text(value: str | None) -> str | None:
    return value if value else None


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
    start, end = day_range(checker, start_date, end_date, all_time=session_id is not None)
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
    start, end = day_range(checker, start_date, end_date, all_time=session_id is not None)
    limit, offset = _page(checker, limit, offset, DEFAULT_SESSIONS)
    checker.done()
    return Filters(user_id, start, end, session_id=session_id), limit, offset


def model_query(
    user_id: int, *, start_date: str | None = None, end_date: str | None = None, provider: str | None = None
) -> Filters:
    checker = Checker()
    start, end = day_range(checker, start_date, end_date)
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
    if f.upto is not None:
        conds.append(UsageRecord.id <= f.upto)
    if dates and f.start is not None:
        lo, hi = day_bounds(f.start, f.end)
        conds += [UsageRecord.created_at >= lo, UsageRecord.created_at < hi]
    conds += _dimensions(UsageRecord, f)
    if f.session_id is not None:
        conds.append(UsageRecord.session_id == f.session_id)
    return conds


def _rollup_conds(f: Filters, table=UsageDaily) -> list:
    conds = [table.user_id == f.user_id]
    if f.start is not None:
        conds += [table.day >= f.start, table.day <= f.end]
    return conds + _dimensions(table, f)


def _rollup_sums(table=UsageDaily) -> list:
    return [
        func.sum(table.requests),
        func.sum(table.input_tokens),
        func.sum(table.output_tokens),
        func.sum(table.cost_nanos),
        func.sum(table.errors),
        func.sum(table.duration_ms),
    ]


def _rollup_for(f: Filters, group_by: str | None):
    """The rollup table that can answer this grouping under these filters, or None (read the records)."""
    if not f.uses_rollup:
        return None
    return {"session_id": UsageDailySession, "client_ip": UsageDailyClient}.get(group_by, UsageDaily)


def _record_sums() -> list:
    return [
        func.count(),
        func.sum(UsageRecord.input_tokens),
        func.sum(UsageRecord.output_tokens),
        func.sum(UsageRecord.cost_nanos),
        func.sum(case((UsageRecord.status == "error", 1), else_=0)),
        func.sum(UsageRecord.duration_ms),
    ]


def _group_columns(group_by: str, table) -> list:
    """The GROUP BY columns on a rollup table or on the records (where `date` is the UTC day of created_at)."""
    if group_by == "date":
        return [utc_day(UsageRecord.created_at) if table is UsageRecord else table.day]
    if group_by == "model":
        return [table.provider, table.model]
    return [getattr(table, group_by)]


# --- percentiles ------------------------------------------------------------------------------------------


def nearest_rank(p: int, n: int) -> int:
    """1-based rank of the p-th percentile among n ascending values: ceil(p * n / 100), at least 1."""
    return max(1, (p * n + 99) // 100)


_GROUP_SQL = {"model": ("provider", "model"), "provider": ("provider",), "endpoint": ("endpoint",)}
_GROUP_SQL |= {"session_id": ("session_id",), "client_ip": ("client_ip",)}


def _term(column: str, condition: str, indexable: bool = False) -> str:
    """`column condition`, or when not `indexable` `COALESCE(column, column) condition`: the same value, but no
    index can serve it. Filters that must not steer the planner away from the index chosen for the walk (a
    fresh SQLite database has no statistics) are written so; the walk's index covers them, so they are still
    checked inside it."""
    return f"{column if indexable else f'COALESCE({column}, {column})'} {condition}"


def _where_sql(f: Filters, dates: bool, params: dict[str, Any], binds: list, by_session: bool) -> str:
    """The filters of _record_conds as SQL text with named parameters (one copy shared by every subquery).
    Only user_id, and the session filter when `by_session`, may be used to choose an index."""
    parts = ["user_id = :f_user"]
    params["f_user"] = f.user_id
    if dates and f.start is not None:
        params["f_lo"], params["f_hi"] = day_bounds(f.start, f.end)
        binds += [
            bindparam("f_lo", type_=UsageRecord.created_at.type),
            bindparam("f_hi", type_=UsageRecord.created_at.type),
        ]
        parts += [_term("created_at", ">= :f_lo"), _term("created_at", "< :f_hi")]
    if f.provider is not None:
        parts.append(_term("provider", "= :f_provider"))
        params["f_provider"] = f.provider
    if f.model is not None:
        params["f_model"] = f.model
        if "/" in f.model:
            params["f_mp"], params["f_mm"] = f.model.split("/", 1)
            either = (_term("model", "= :f_model"), _term("provider", "= :f_mp"), _term("model", "= :f_mm"))
            parts.append("({} OR ({} AND {}))".format(*either))
        else:
            parts.append(_term("model", "= :f_model"))
    if f.endpoint is not None:
        parts.append(_term("endpoint", "= :f_endpoint"))
        params["f_endpoint"] = f.endpoint
    if f.session_id is not None:
        parts.append(_term("session_id", "= :f_session", by_session))
        params["f_session"] = f.session_id
    return " AND ".join(parts)


async def percentiles(
    session: AsyncSession, f: Filters, group_by: str, groups: list[tuple[tuple, int]], ps: Sequence[int]
) -> dict[tuple, dict[int, float]]:
    """{group key: {p: latency}} for the given (key, record count) groups under the filters.

    Each value is `SELECT duration_ms ... ORDER BY duration_ms LIMIT 1 OFFSET k`, walking an index whose key
    is (user_id, group, duration_ms, ...) from its nearer end, or with a session filter the session's
    (user_id, session_id, duration_ms, ...): nothing is sorted and at most half the entries are read (5% for
    p95). All of them are sent as scalar subqueries of one SELECT (per 300): a statement's round trip costs
    far more than such a walk."""
    dialect = session.bind.dialect
    by_session = f.session_id is not None  # a session is small: walk it rather than the group
    day_sql = str(utc_day(column("created_at")).compile(dialect=dialect))
    shared: dict[str, Any] = {}
    shared_binds: list = []
    where = _where_sql(f, group_by != "date", shared, shared_binds, by_session)
    # (key, p, SQL, its own parameters, their typed binds)
    subqueries: list[tuple[tuple, int, str, dict[str, Any], list]] = []
    for i, (key, n) in enumerate(groups):
        if n <= 0:
            continue
        own: dict[str, Any] = {}
        binds: list = []
        if group_by == "date":
            match = _term(day_sql, f"= :g{i}_0", indexable=not by_session)
            own[f"g{i}_0"] = key[0]
            binds.append(bindparam(f"g{i}_0", type_=Date()))
        else:
            terms = []
            for j, name in enumerate(_GROUP_SQL[group_by]):
                if key[j] is None:  # the group of records without a session id / client IP
                    terms.append(_term(name, "IS NULL", indexable=not by_session))
                else:
                    terms.append(_term(name, f"= :g{i}_{j}", indexable=not by_session))
                    own[f"g{i}_{j}"] = key[j]
            match = " AND ".join(terms)
        for p in ps:
            rank = nearest_rank(p, n)
            ascending = rank - 1 <= n - rank
            offset = rank - 1 if ascending else n - rank
            sql = (
                f"(SELECT duration_ms FROM usage_latencies WHERE {where} AND {match}"
                f" ORDER BY duration_ms {'ASC' if ascending else 'DESC'} LIMIT 1 OFFSET {int(offset)})"
            )
            subqueries.append((key, p, sql, own, binds))
    out: dict[tuple, dict[int, float]] = {}
    for first in range(0, len(subqueries), PERCENTILES_PER_STATEMENT):
        chunk = subqueries[first : first + PERCENTILES_PER_STATEMENT]
        params, binds = dict(shared), {b.key: b for b in shared_binds}
        for *_, own, own_binds in chunk:
            params.update(own)
            binds.update((b.key, b) for b in own_binds)
        stmt = text("SELECT " + ", ".join(f"{sql} AS v{i}" for i, (_, _, sql, _, _) in enumerate(chunk)))
        row = (await session.execute(stmt.bindparams(*binds.values()), params)).one()
        for (key, p, *_), value in zip(chunk, row, strict=True):
            out.setdefault(key, {})[p] = float(value) if value is not None else 0.0
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
    rollup = _rollup_for(f, q.group_by)
    table = rollup if rollup is not None else UsageRecord
    columns = _group_columns(q.group_by, table)
    sums = _rollup_sums(rollup) if rollup is not None else _record_sums()
    where = _rollup_conds(f, rollup) if rollup is not None else _record_conds(f)
    if q.group_by == "date":
        order = list(columns)
    else:  # no session id / client IP: '' in the rollups, NULL in the records; both sort as ''
        order = [sums[0].desc(), *(func.coalesce(c, "") for c in columns)]
    stmt = select(*columns, *sums, func.count().over()).where(*where).group_by(*columns)
    rows = (await session.execute(stmt.order_by(*order).limit(q.limit).offset(q.offset))).all()
    width = len(columns)
    # No session id / client IP is '' in the rollups, NULL in the records: None in the key either way.
    groups = [Group(tuple(v if v != "" else None for v in row[:width]), Agg.of(row[width : width + 6])) for row in rows]
    if rows:
        count = int(rows[0][-1])
    else:  # past the last page: count the groups alone
        inner = select(*columns).where(*where).group_by(*columns).subquery()
        count = int((await session.execute(select(func.count()).select_from(inner))).scalar() or 0)
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


async def _derived_snapshot(session: AsyncSession, f: Filters) -> Filters:
    """Starts the session's snapshot with the derived tables up to date; `f` bounded to their watermark."""
    await snapshot(session)
    return replace(f, upto=await usage_index.watermark(session))


async def usage_data(hub: Hub, q: UsageQuery) -> UsageData:
    await usage_index.bring_up_to_date(hub)
    async with hub.sessions() as session:
        q = replace(q, filters=await _derived_snapshot(session, q.filters))
        totals = await _totals(session, q.filters)
        if q.group_by:
            groups, count = await _groups(session, q)
            return UsageData(q, totals, count, groups=groups)
        records = await _records(session, q) if totals.requests > q.offset else []
        return UsageData(q, totals, totals.requests, records=records)


async def session_data(hub: Hub, f: Filters, limit: int, offset: int) -> tuple[list[Session], int]:
    """Sessions with records in the range, most recently active first, with their interactions (oldest first).
    Totals and first / last times come from the per-day session rollup (the range is whole days, so its rows
    in the range are exactly the records in the range); one session (a session filter) from its records."""
    await usage_index.bring_up_to_date(hub)
    async with hub.sessions() as session:
        f = await _derived_snapshot(session, f)
        if f.session_id is None:
            t = UsageDailySession
            where = [*_rollup_conds(f, t), t.session_id != ""]
            last = func.max(t.last_at)
            # The page's ids first (sorting narrow rows), then the sums of those sessions only.
            page = select(t.session_id, func.count().over()).where(*where).group_by(t.session_id)
            page = page.order_by(last.desc(), t.session_id).limit(limit).offset(offset)
            ids = (await session.execute(page)).all()
            sums = select(t.session_id, *_rollup_sums(t), func.min(t.first_at), last)
            sums = sums.where(*where, t.session_id.in_([i for i, _ in ids])).group_by(t.session_id)
            found = {row[0]: row for row in (await session.execute(sums)).all()} if ids else {}
            rows = [(*found[i], n) for i, n in ids if i in found]
        else:
            t = UsageRecord
            where = [*_record_conds(f), t.session_id.is_not(None)]
            last = func.max(t.created_at)
            page = select(t.session_id, *_record_sums(), func.min(t.created_at), last, func.count().over())
            page = page.where(*where).group_by(t.session_id).order_by(last.desc(), t.session_id)
            rows = (await session.execute(page.limit(limit).offset(offset))).all()
        if rows:
            total = int(rows[0][-1])
        else:
            inner = select(t.session_id).where(*where).group_by(t.session_id).subquery()
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
                .where(*_record_conds(f), UsageRecord.session_id.in_(list(sessions)))
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
    await usage_index.bring_up_to_date(hub)
    async with hub.sessions() as session:
        f = await _derived_snapshot(session, f)
        rows = (await session.execute(stmt)).all()
        models = [ModelStats(r[0], r[1], Agg.of(r[2:8]), int(r[8] or 0), float(r[9] or 0.0)) for r in rows]
        found = await percentiles(
            session, f, "model", [((m.provider, m.model), m.agg.requests) for m in models], (50, 95)
        )
    for m in models:
        values = found.get((m.provider, m.model), {})
        m.p50_latency_ms, m.p95_latency_ms = values.get(50, 0.0), values.get(95, 0.0)
    return models
