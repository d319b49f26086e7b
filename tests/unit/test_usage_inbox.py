"""The usage inbox (server.db.usage_inbox), on a real database (SQLite; PostgreSQL too when HUB_TEST_POSTGRES_URL
is set): settlements write their records into the inbox, a move carries every column into usage_records exactly
once and in settlement order, readers see every record settled before they asked, and the loop's own ledger
batches wait while a move runs on the thread."""

from __future__ import annotations

import asyncio
import tempfile
import threading
import uuid
from pathlib import Path

import pytest
from sqlalchemy import insert, select

from server.config import Settings
from server.db.migrate import upgrade
from server.db.models import UsageInbox, UsageRecord, User
from server.db.usage_inbox import UsageMover, move
from server.domain import analytics, billing
from server.hub import Hub
from tests.postgres import database_kinds, fresh_database_url


async def _hub(kind: str) -> Hub:
    if kind == "sqlite":
        url = f"sqlite+aiosqlite:///{Path(tempfile.mkdtemp(prefix='hub-inbox-')) / 'hub.db'}"
    else:
        url = await fresh_database_url()
    await asyncio.to_thread(upgrade, url)
    hub = Hub.create(Settings(database_url=url, jwt_secret="x" * 32))
    hub.ledger.start()
    return hub


@pytest.fixture(params=database_kinds())
async def hub(request):
    hub = await _hub(request.param)
    yield hub
    await hub.ledger.stop()
    await hub.engine.dispose()


@pytest.fixture
async def sqlite_hub():
    """The inline connection (whose batches wait for a move) exists on SQLite only."""
    hub = await _hub("sqlite")
    yield hub
    await hub.ledger.stop()
    await hub.engine.dispose()


async def _user(hub: Hub) -> int:
    async with hub.sessions() as s, s.begin():
        user = User(email=f"{uuid.uuid4().hex}@x.test", username="u", balance_nanos=10**12)
        s.add(user)
    return user.id


async def _settle(hub: Hub, user_id: int, i: int, **fields) -> str:
    res = await billing.reserve(hub, user_id=user_id, api_key_id=None, amount_nanos=10**6, byok=False)
    res.session_id, res.client_ip = f"s-{i % 3}", "10.0.0.9"
    outcome = billing.Outcome(
        endpoint="chat",
        provider="openai",
        model="gpt-4o-mini",
        status="success",
        cost_nanos=1000 + i,
        input_tokens=i,
        output_tokens=2 * i,
        duration_ms=10.0 + i,
        ttft_ms=float(i) if i % 2 else None,
        **fields,
    )
    await billing.settle(hub, res, outcome)
    return res.request_id


def _columns(row) -> dict:
    return {c.name: getattr(row, c.name) for c in UsageRecord.__table__.columns if c.name != "id"}


async def _rows(hub: Hub, model) -> list:
    async with hub.sessions() as s:
        return list((await s.execute(select(model).order_by(model.id))).scalars())


async def test_settlement_writes_the_inbox_and_a_drain_moves_every_column_in_order(hub) -> None:
    uid = await _user(hub)
    ids = [await _settle(hub, uid, i, error="boom" if i == 3 else None) for i in range(6)]
    inbox = await _rows(hub, UsageInbox)
    assert [r.request_id for r in inbox] == ids and await _rows(hub, UsageRecord) == []
    expected = [_columns(r) for r in inbox]

    await hub.usage_mover.drain()

    records = await _rows(hub, UsageRecord)
    assert [_columns(r) for r in records] == expected  # every column, in settlement order
    assert records[3].error == "boom" and records[1].ttft_ms == 1.0 and records[0].ttft_ms is None
    assert await _rows(hub, UsageInbox) == []


async def test_a_move_takes_the_oldest_rows_and_a_drain_repeats_until_the_inbox_is_empty(hub) -> None:
    uid = await _user(hub)
    ids = [await _settle(hub, uid, i) for i in range(20)]
    moved = await hub.ledger.run_exclusive(lambda conn: move(conn, 7))
    assert moved == 7
    assert [r.request_id for r in await _rows(hub, UsageRecord)] == ids[:7]
    assert [r.request_id for r in await _rows(hub, UsageInbox)] == ids[7:]

    await UsageMover(hub.ledger, rows=7).drain()  # 13 left: moves of 7 and 6
    assert [r.request_id for r in await _rows(hub, UsageRecord)] == ids
    assert await _rows(hub, UsageInbox) == []


async def test_a_record_already_in_usage_records_stays_and_the_inbox_copy_goes(hub) -> None:
    uid = await _user(hub)
    rid = await _settle(hub, uid, 1)
    (pending,) = await _rows(hub, UsageInbox)
    async with hub.sessions() as s, s.begin():  # as if an earlier move had copied it and not deleted it
        await s.execute(insert(UsageRecord), {**_columns(pending), "cost_nanos": 42})
    await hub.usage_mover.drain()
    (record,) = await _rows(hub, UsageRecord)
    assert record.request_id == rid and record.cost_nanos == 42
    assert await _rows(hub, UsageInbox) == []


async def test_racing_drains_and_settlements_move_every_record_exactly_once(hub) -> None:
    uid = await _user(hub)
    mover = UsageMover(hub.ledger, rows=5)

    async def settle_some(start: int) -> list[str]:
        return [await _settle(hub, uid, start + i) for i in range(15)]

    results = await asyncio.gather(*(settle_some(k * 100) for k in range(4)), *(mover.drain() for _ in range(6)))
    await mover.drain()
    settled = sorted(rid for ids in results[:4] for rid in ids)
    assert sorted(r.request_id for r in await _rows(hub, UsageRecord)) == settled
    assert await _rows(hub, UsageInbox) == []


async def test_analytics_answers_include_records_still_in_the_inbox(hub) -> None:
    uid = await _user(hub)
    for i in range(4):
        await _settle(hub, uid, i)
    assert len(await _rows(hub, UsageInbox)) == 4
    data = await analytics.usage_data(hub, analytics.usage_query(uid))
    assert data.total_count == 4 and len(data.records) == 4  # records, and totals from the rollups, agree
    grouped = await analytics.usage_data(hub, analytics.usage_query(uid, group_by="model"))
    (group,) = grouped.groups
    assert group.agg.requests == 4 and group.p95_latency_ms == 13.0  # nearest rank over the four records
    assert await _rows(hub, UsageInbox) == []


async def test_the_loops_batches_wait_for_a_running_move(sqlite_hub) -> None:
    hub = sqlite_hub
    order: list[str] = []
    started, release = threading.Event(), threading.Event()

    def exclusive(conn) -> str:
        started.set()
        release.wait(10)
        order.append("exclusive")
        return "moved"

    running = asyncio.ensure_future(hub.ledger.run_exclusive(exclusive))
    await asyncio.to_thread(started.wait, 10)
    inline = asyncio.ensure_future(hub.ledger.run(lambda conn: order.append("inline") or "inline"))
    for _ in range(5):  # loop iterations in which an unheld batch would have run (it runs at call_soon)
        await asyncio.sleep(0)
    assert order == [] and not inline.done()
    release.set()
    assert await running == "moved" and await inline == "inline"
    assert order == ["exclusive", "inline"]
