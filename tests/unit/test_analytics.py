"""Analytics and /user/usage against a real database (SQLite; also PostgreSQL when HUB_TEST_POSTGRES_URL is set),
with usage written through billing.reserve/settle: the rollup kept in settle's transaction equals a recompute
from the records, the totals agree with the credit ledger, and every grouping, filter and percentile equals a
straightforward Python reference computed from the records themselves."""

from __future__ import annotations

import random
import tempfile
import uuid
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, text

from server.config import Settings
from server.db.migrate import upgrade
from server.db.models import Transaction, UsageRecord, User
from server.domain import analytics, billing, clock, usage_index, usage_stats
from server.errors import ValidationFailed
from server.hub import Hub
from tests.postgres import database_kinds, fresh_database_url

DAY0 = datetime(2026, 3, 1, tzinfo=UTC)
MODELS = [
    ("chat", "openai", "gpt-4o-mini"),
    ("chat", "openai", "gpt-4o"),
    ("chat", "anthropic", "claude-3-5-haiku"),
    ("chat", "groq", "meta-llama/llama-3-70b"),
    ("embedding", "openai", "text-embedding-3-small"),
    ("image", "openai", "dall-e-3"),
    ("tts", "openai", "tts-1"),
]


@pytest.fixture(scope="module", params=database_kinds())
async def world(request):
    """A migrated database with two users whose usage went through reserve/settle over six UTC days."""
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{Path(tempfile.mkdtemp(prefix='hub-analytics-')) / 'hub.db'}"
    else:
        url = await fresh_database_url()
    await _to_thread(upgrade, url)
    hub = Hub.create(Settings(database_url=url, jwt_secret="x" * 32))
    hub.ledger.start()
    async with hub.sessions() as s, s.begin():
        users = []
        for _ in range(2):
            user = User(email=f"{uuid.uuid4().hex}@x.test", username="u", balance_nanos=10**12)
            s.add(user)
            users.append(user)
    await _settle_many(hub, [u.id for u in users])
    yield hub, users[0].id, users[1].id
    await hub.ledger.stop()
    await hub.engine.dispose()


async def _to_thread(fn, *args):
    import asyncio

    return await asyncio.to_thread(fn, *args)


async def _settle_many(hub: Hub, user_ids: list[int]) -> None:
    rnd = random.Random(7)
    real_now = clock.now
    moments = sorted(DAY0 + timedelta(seconds=rnd.uniform(-3600, 6 * 86400)) for _ in range(400))
    # Exactly at a day boundary and one microsecond before it.
    moments += [DAY0 + timedelta(days=2), DAY0 + timedelta(days=2) - timedelta(microseconds=1)]
    try:
        for i, moment in enumerate(moments):
            clock.now = lambda m=moment: m  # settle stamps the record with clock.now()
            user = user_ids[0] if i % 5 else user_ids[1]
            endpoint, provider, model = rnd.choice(MODELS)
            byok = rnd.random() < 0.1
            res = await billing.reserve(
                hub,
                user_id=user,
                api_key_id=None,
                amount_nanos=50_000_000,
                byok=byok,
                session_id=rnd.choice([None, None, "s-a", "s-b", f"s-{i % 17}"]),
                client_ip=rnd.choice([None, "10.0.0.1", "10.0.0.2"]),
            )
            status = rnd.choices(["success", "error", "stopped"], [85, 10, 5])[0]
            await billing.settle(
                hub,
                res,
                billing.Outcome(
                    endpoint=endpoint,
                    provider=provider,
                    model=model,
                    status=status,
                    cost_nanos=rnd.randint(1, 60_000_000),  # sometimes more than reserved: charged min()
                    input_tokens=rnd.randint(0, 900),
                    output_tokens=rnd.randint(0, 400),
                    duration_ms=round(rnd.uniform(5, 3000), 3),
                    ttft_ms=round(rnd.uniform(1, 200), 3) if endpoint == "chat" and rnd.random() < 0.5 else None,
                ),
            )
    finally:
        clock.now = real_now


async def _latencies(hub: Hub) -> list:
    async with hub.sessions() as s:
        return list((await s.execute(text("SELECT * FROM usage_latencies ORDER BY record_id"))).all())


async def _records(hub: Hub, user_id: int) -> list:
    async with hub.sessions() as s:
        return list((await s.execute(select(UsageRecord).where(UsageRecord.user_id == user_id))).scalars())


def _day(r) -> date:
    return clock.as_utc(r.created_at).date()


def _matches(r, f: analytics.Filters) -> bool:
    if f.start is not None and not f.start <= _day(r) <= f.end:
        return False
    if f.provider and r.provider != f.provider:
        return False
    if f.model and f.model not in (r.model, f"{r.provider}/{r.model}"):
        return False
    if f.endpoint and r.endpoint != f.endpoint:
        return False
    return not (f.session_id and r.session_id != f.session_id)


def _key(r, group_by: str) -> tuple:
    if group_by == "date":
        return (_day(r),)
    if group_by == "model":
        return (r.provider, r.model)
    return (getattr(r, group_by),)


def _pct(values: list[float], p: int) -> float:
    ordered = sorted(values)
    return ordered[analytics.nearest_rank(p, len(ordered)) - 1]


async def _rollups(hub: Hub) -> dict:
    out = {}
    async with hub.sessions() as s:
        for table in usage_stats.ROLLUPS:
            key = [c.name for c in table.__table__.primary_key]
            rows = (await s.execute(select(table))).scalars().all()
            out[table.__tablename__] = {
                tuple(getattr(r, k) for k in key): {
                    c.name: getattr(r, c.name) for c in table.__table__.columns if c.name not in key
                }
                for r in rows
            }
    return out


async def test_derived_rollups_and_latency_index_equal_a_recompute_from_the_records(world) -> None:
    hub, _, _ = world
    await usage_index.bring_up_to_date(hub)
    maintained = await _rollups(hub)
    latencies = await _latencies(hub)
    async with hub.sessions() as s, s.begin():
        for stmt in usage_index.rebuild_sql(hub.engine.dialect.name):
            await s.execute(text(stmt))
    rebuilt = await _rollups(hub)
    assert latencies == await _latencies(hub) and len(latencies) == 402
    for name, rows in rebuilt.items():
        assert set(maintained[name]) == set(rows) and len(rows) > 20, name
        for key, values in rows.items():
            for column, value in values.items():
                if isinstance(value, float):
                    assert maintained[name][key][column] == pytest.approx(value), (name, key, column)
                else:
                    assert maintained[name][key][column] == value, (name, key, column)
    assert any(k[2] == "" for k in rebuilt["usage_daily_sessions"])  # records without a session id


async def test_totals_agree_with_each_other_and_with_the_ledger(world) -> None:
    hub, user, _ = world
    async with hub.sessions() as s:
        spent = -(
            await s.execute(
                select(text("coalesce(sum(amount_nanos), 0)"))
                .select_from(Transaction)
                .where(Transaction.user_id == user, Transaction.transaction_type == "usage")
            )
        ).scalar()
        balance = (await s.execute(select(User.balance_nanos).where(User.id == user))).scalar()
    records = await _records(hub, user)
    assert spent == sum(r.cost_nanos for r in records) == sum(r.cost_nanos for r in records if not r.byok) > 0
    assert all(r.cost_nanos == 0 for r in records if r.byok or r.status == "error")
    summary = await usage_stats.summarize(hub, user, "2026-02-28", "2026-03-08")
    assert summary.balance_nanos == balance == 10**12 - spent
    assert summary.total.cost_nanos == spent == sum(b.cost_nanos for b in summary.days.values())
    for breakdown in (summary.endpoints, summary.providers, summary.models, summary.days):
        assert sum(b.cost_nanos for b in breakdown.values()) == spent
        assert sum(b.requests for b in breakdown.values()) == len(records) == summary.total.requests
        assert sum(b.input_tokens for b in breakdown.values()) == sum(r.input_tokens for r in records)
    assert summary.days[date(2026, 3, 2)].requests == sum(1 for r in records if _day(r) == date(2026, 3, 2))
    data = await analytics.usage_data(hub, analytics.usage_query(user, start_date="2026-02-28", end_date="2026-03-08"))
    assert data.totals.cost_nanos == spent and data.total_count == len(records)


FILTERS = [
    {},
    {"start_date": "2026-03-02", "end_date": "2026-03-03"},
    {"start_date": "2026-03-03", "end_date": "2026-03-03"},
    {"provider": "openai"},
    {"model": "gpt-4o"},
    {"model": "groq/meta-llama/llama-3-70b"},
    {"model": "meta-llama/llama-3-70b"},
    {"endpoint": "chat"},
    {"session_id": "s-a"},
    {"session_id": "s-b", "endpoint": "chat", "start_date": "2026-03-01", "end_date": "2026-03-04"},
]


@pytest.mark.parametrize("per_statement", [1, 300])
@pytest.mark.parametrize("group_by", analytics.GROUP_BYS)
async def test_every_grouping_and_filter_equals_the_reference(world, monkeypatch, group_by, per_statement) -> None:
    hub, user, other = world
    monkeypatch.setattr(analytics, "PERCENTILES_PER_STATEMENT", per_statement)
    records = await _records(hub, user)
    for params in FILTERS:
        params = {"start_date": "2026-02-20", "end_date": "2026-03-10", **params}
        q = analytics.usage_query(user, group_by=group_by, **params)
        data = await analytics.usage_data(hub, q)
        chosen = [r for r in records if _matches(r, q.filters)]
        expected: dict[tuple, list] = {}
        for r in chosen:
            expected.setdefault(_key(r, group_by), []).append(r)
        assert data.total_count == len(expected), params
        assert data.totals.requests == len(chosen)
        assert data.totals.cost_nanos == sum(r.cost_nanos for r in chosen)
        got = {g.key: g for g in data.groups}
        assert set(got) == set(expected), params
        for key, rows in expected.items():
            g = got[key]
            assert g.agg.requests == len(rows)
            assert g.agg.cost_nanos == sum(r.cost_nanos for r in rows)
            assert g.agg.input_tokens == sum(r.input_tokens for r in rows)
            assert g.agg.output_tokens == sum(r.output_tokens for r in rows)
            assert g.agg.errors == sum(r.status == "error" for r in rows)
            assert g.agg.avg_latency_ms == pytest.approx(sum(r.duration_ms for r in rows) / len(rows))
            assert g.p95_latency_ms == _pct([r.duration_ms for r in rows], 95), (params, key)
        order = [g.key for g in data.groups]
        if group_by == "date":
            assert order == sorted(order)
        else:
            assert [g.agg.requests for g in data.groups] == sorted((g.agg.requests for g in data.groups), reverse=True)
        assert sum(g.agg.cost_nanos for g in data.groups) == data.totals.cost_nanos
    # The other user's records never leak into a grouping.
    other_keys = {_key(r, "session_id") for r in await _records(hub, other)}
    mine = {_key(r, "session_id") for r in records}
    q = analytics.usage_query(user, group_by="session_id", start_date="2026-02-20", end_date="2026-03-10")
    assert {g.key for g in (await analytics.usage_data(hub, q)).groups} == mine != other_keys | mine


async def test_group_pages_and_record_pages(world) -> None:
    hub, user, _ = world
    base = {"start_date": "2026-02-20", "end_date": "2026-03-10"}
    full = await analytics.usage_data(hub, analytics.usage_query(user, group_by="session_id", **base))
    paged = []
    for offset in range(0, full.total_count + 3, 3):
        page = await analytics.usage_data(
            hub, analytics.usage_query(user, group_by="session_id", limit=3, offset=offset, **base)
        )
        assert page.total_count == full.total_count
        paged += [g.key for g in page.groups]
    assert paged == [g.key for g in full.groups]
    records = await _records(hub, user)
    newest = sorted(records, key=lambda r: (clock.as_utc(r.created_at), r.id), reverse=True)
    page = await analytics.usage_data(hub, analytics.usage_query(user, limit=7, offset=5, **base))
    assert [r.request_id for r in page.records] == [r.request_id for r in newest[5:12]]
    assert page.total_count == len(records)


@pytest.mark.parametrize("per_statement", [3, 300])
async def test_sessions_and_models_equal_the_reference(world, monkeypatch, per_statement) -> None:
    hub, user, _ = world
    monkeypatch.setattr(analytics, "PERCENTILES_PER_STATEMENT", per_statement)  # p50 and p95 split apart
    records = await _records(hub, user)
    by_session: dict[str, list] = {}
    for r in records:
        if r.session_id and date(2026, 3, 2) <= _day(r) <= date(2026, 3, 4):
            by_session.setdefault(r.session_id, []).append(r)
    # From the session rollup (a range), then from one session's records (a session filter).
    f, limit, offset = analytics.session_query(user, start_date="2026-03-02", end_date="2026-03-04", limit=1000)
    sessions, total = await analytics.session_data(hub, f, limit, offset)
    f, limit, offset = analytics.session_query(user, start_date="2026-03-02", end_date="2026-03-04", session_id="s-a")
    one, one_total = await analytics.session_data(hub, f, limit, offset)
    assert one_total == 1 and [s.session_id for s in one] == ["s-a"]
    same = next(s.agg for s in sessions if s.session_id == "s-a")
    assert one[0].agg.duration_ms == pytest.approx(same.duration_ms)  # float sums, in another order
    assert replace(one[0].agg, duration_ms=0) == replace(same, duration_ms=0)
    assert total == len(by_session) == len(sessions)
    last = [s.ended_at for s in sessions]
    assert last == sorted(last, reverse=True)
    for s in sessions:
        rows = sorted(by_session[s.session_id], key=lambda r: (clock.as_utc(r.created_at), r.id))
        assert [i.request_id for i in s.interactions] == [r.request_id for r in rows]
        assert s.agg.cost_nanos == sum(r.cost_nanos for r in rows) == sum(i.cost_nanos for i in s.interactions)
        assert s.started_at == clock.as_utc(rows[0].created_at) and s.ended_at == clock.as_utc(rows[-1].created_at)

    for provider in (None, "openai"):
        f = analytics.model_query(user, start_date="2026-02-20", end_date="2026-03-10", provider=provider)
        models = await analytics.model_performance(hub, f)
        expected: dict[tuple, list] = {}
        for r in records:
            if provider is None or r.provider == provider:
                expected.setdefault((r.provider, r.model), []).append(r)
        assert {(m.provider, m.model) for m in models} == set(expected)
        for m in models:
            rows = expected[(m.provider, m.model)]
            durations = [r.duration_ms for r in rows]
            ttfts = [r.ttft_ms for r in rows if r.ttft_ms is not None]
            assert m.agg.requests == len(rows) and m.agg.errors == sum(r.status == "error" for r in rows)
            assert m.p50_latency_ms == _pct(durations, 50) and m.p95_latency_ms == _pct(durations, 95)
            assert m.streams == len(ttfts) and m.ttft_ms == pytest.approx(sum(ttfts))


def test_nearest_rank() -> None:
    assert [analytics.nearest_rank(95, n) for n in (1, 2, 19, 20, 21, 100)] == [1, 2, 19, 19, 20, 95]
    assert [analytics.nearest_rank(50, n) for n in (1, 2, 3, 4)] == [1, 1, 2, 2]


@pytest.mark.parametrize(
    ("params", "loc"),
    [
        ({"start_date": "2026-13-01"}, "start_date"),
        ({"end_date": "20260101"}, "end_date"),
        ({"start_date": "2026-03-02", "end_date": "2026-03-01"}, "start_date"),
        ({"start_date": "2000-01-01", "end_date": "2026-03-01"}, "start_date"),
        ({"group_by": "user"}, "group_by"),
        ({"endpoint": "speech"}, "endpoint"),
        ({"limit": 0}, "limit"),
        ({"limit": 1001}, "limit"),
        ({"offset": -1}, "offset"),
    ],
)
def test_invalid_parameters_are_422(params, loc) -> None:
    with pytest.raises(ValidationFailed) as err:
        analytics.usage_query(1, **params)
    assert [e["loc"] for e in err.value.errors] == [["query", loc]]


def test_default_range_is_the_last_30_days_or_all_time_for_a_session() -> None:
    q = analytics.usage_query(1)
    today = clock.now().date()
    assert (q.filters.start, q.filters.end) == (today - timedelta(days=29), today)
    assert analytics.usage_query(1, session_id="abc").filters.start is None
    assert analytics.usage_query(1, session_id="abc", end_date="2026-01-31").filters.start == date(2026, 1, 2)
    assert analytics.usage_query(1, group_by="").group_by is None


async def test_long_sessions_list_their_first_interactions_and_say_there_are_more(world, monkeypatch) -> None:
    hub, user, _ = world
    monkeypatch.setattr(analytics, "INTERACTIONS_PER_SESSION", 2)
    f, limit, offset = analytics.session_query(user, start_date="2026-02-20", end_date="2026-03-10", session_id="s-a")
    sessions, _ = await analytics.session_data(hub, f, limit, offset)
    (s,) = sessions
    assert s.agg.requests > 2 and len(s.interactions) == 2 and s.more
    assert [i.created_at for i in s.interactions] == sorted(i.created_at for i in s.interactions)
    assert clock.as_utc(s.interactions[0].created_at) == s.started_at


async def test_one_answer_reads_one_snapshot(world) -> None:
    """Numbers of one answer come from one snapshot: a request settling meanwhile shows in the next answer."""
    hub, user, _ = world
    count = select(text("count(*)")).select_from(UsageRecord).where(UsageRecord.user_id == user)
    async with hub.sessions() as reader:
        await usage_stats.snapshot(reader)
        before = (await reader.execute(count)).scalar()
        res = await billing.reserve(hub, user_id=user, api_key_id=None, amount_nanos=1, byok=False)
        await billing.settle(hub, res, billing.Outcome(endpoint="chat", provider="openai", model="m", status="success"))
        assert (await reader.execute(count)).scalar() == before
    async with hub.sessions() as reader:
        assert (await reader.execute(count)).scalar() == before + 1
    async with hub.sessions() as s, s.begin():  # leave the records as the other tests expect them
        await s.execute(text("DELETE FROM usage_records WHERE request_id = :r"), {"r": res.request_id})
        for stmt in usage_index.rebuild_sql(hub.engine.dialect.name):
            await s.execute(text(stmt))
