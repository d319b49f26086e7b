"""The hot path's database work after the performance changes, on a real database (SQLite; PostgreSQL too when
HUB_TEST_POSTGRES_URL is set): prepared statements write exactly what SQLAlchemy Core writes and raise the same
errors; operations of one event-loop iteration share one transaction, a cancelled one never runs; concurrent
settlements, whose rollups are summed per batch, still leave rollups equal to a recompute and a balance equal
to the ledger."""

from __future__ import annotations

import asyncio
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import insert, select, text
from sqlalchemy.exc import IntegrityError

from server.config import Settings
from server.db.ledger import FLUSH
from server.db.migrate import upgrade
from server.db.models import Transaction, UsageRecord, User
from server.db.prepared import PreparedInsert
from server.domain import billing, usage_index, usage_stats
from server.hub import Hub
from tests.postgres import database_kinds, fresh_database_url


async def _hub(kind: str) -> Hub:
    if kind == "sqlite":
        url = f"sqlite+aiosqlite:///{Path(tempfile.mkdtemp(prefix='hub-hot-')) / 'hub.db'}"
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
    """The inline connection (one transaction per loop iteration) exists on SQLite only."""
    hub = await _hub("sqlite")
    yield hub
    await hub.ledger.stop()
    await hub.engine.dispose()


async def _user(hub: Hub, balance: int) -> int:
    async with hub.sessions() as s, s.begin():
        user = User(email=f"{uuid.uuid4().hex}@x.test", username="u", balance_nanos=balance)
        s.add(user)
    return user.id


def _usage(user_id: int, request_id: str, **changes) -> dict:
    row = {
        "request_id": request_id,
        "user_id": user_id,
        "api_key_id": None,
        "endpoint": "chat",
        "provider": "openai",
        "model": "gpt-4o-mini",
        "input_tokens": 9,
        "output_tokens": 12,
        "cached_tokens": 0,
        "reasoning_tokens": 0,
        "cost_nanos": 1234,
        "duration_ms": 1.5,
        "ttft_ms": None,
        "status": "success",
        "session_id": "s",
        "client_ip": "10.0.0.1",
        "error": None,
        "byok": False,
        "request_content": {"messages": [{"role": "user", "content": "héllo"}]},
        "response_content": {"text": "hi"},
        "created_at": datetime(2026, 3, 1, 12, 30, 15, 123456, tzinfo=UTC),
    }
    return {**row, **changes}


async def test_prepared_insert_writes_what_core_writes_and_raises_the_same_errors(hub) -> None:
    uid = await _user(hub, 0)
    prepared = PreparedInsert(UsageRecord)
    await hub.ledger.run(lambda c: prepared.execute(c, _usage(uid, "r-prepared")))
    await hub.ledger.run(lambda c: c.execute(insert(UsageRecord), _usage(uid, "r-core")))
    async with hub.sessions() as s:
        rows = {r.request_id: r for r in (await s.execute(select(UsageRecord))).scalars()}
    columns = [c.name for c in UsageRecord.__table__.columns if c.name not in ("id", "request_id")]
    assert {c: getattr(rows["r-prepared"], c) for c in columns} == {c: getattr(rows["r-core"], c) for c in columns}
    with pytest.raises(IntegrityError):  # the unique request id, as conn.execute would raise it
        await hub.ledger.run(lambda c: prepared.execute(c, _usage(uid, "r-core")))


async def test_operations_of_one_loop_iteration_share_a_transaction_and_a_cancelled_one_never_runs(
    sqlite_hub,
) -> None:
    hub = sqlite_hub
    seen: list[int] = []

    def op(c):
        seen.append(id(c.get_transaction()))
        return len(seen)

    assert sorted(await asyncio.gather(*(hub.ledger.run(op) for _ in range(5)))) == [1, 2, 3, 4, 5]
    assert len(set(seen)) == 1  # one transaction, one commit

    ran: list[str] = []
    doomed = asyncio.ensure_future(hub.ledger.run(lambda c: ran.append("cancelled one")))
    await asyncio.sleep(0)  # queued for this iteration's batch
    doomed.cancel()
    await hub.ledger.run(lambda c: ran.append("next one"))
    assert ran == ["next one"]


async def test_deferred_work_runs_before_the_commit_and_is_dropped_with_a_failed_batch(hub) -> None:
    class Marker:
        def __init__(self, value: str) -> None:
            self.value = value

        def flush(self, c) -> None:
            c.execute(
                insert(Transaction),
                {
                    "transaction_id": self.value,
                    "user_id": uid,
                    "amount_nanos": 0,
                    "transaction_type": "usage",
                    "payment_method": "credits",
                    "created_at": datetime.now(UTC),
                },
            )

    uid = await _user(hub, 0)

    def defer(value: str, fail: bool = False):
        def op(c):
            c.info[FLUSH][value] = Marker(value)
            if fail:
                raise RuntimeError("this operation fails")
            return value

        return op

    results = await asyncio.gather(
        hub.ledger.run(defer("t-ok")), hub.ledger.run(defer("t-bad", fail=True)), return_exceptions=True
    )
    assert results[0] == "t-ok" and isinstance(results[1], RuntimeError)
    async with hub.sessions() as s:
        ids = set((await s.execute(select(Transaction.transaction_id))).scalars())
    assert ids == {"t-ok"}  # the failing operation's deferred work went with it; the other one's committed


async def test_concurrent_settlements_keep_rollups_and_balance_exact(hub) -> None:
    start = 10**12
    uid = await _user(hub, start)

    async def one(i: int) -> int:
        res = await billing.reserve(
            hub,
            user_id=uid,
            api_key_id=None,
            amount_nanos=50_000_000,
            byok=False,
            session_id=["s-a", None, "s-b"][i % 3],
            client_ip=["10.0.0.1", None][i % 2],
        )
        outcome = billing.Outcome(
            endpoint="chat",
            provider="openai",
            model=["gpt-4o-mini", "gpt-4o"][i % 2],
            status=["success", "success", "error", "stopped"][i % 4],
            cost_nanos=1_000 + i,
            input_tokens=i,
            output_tokens=2 * i,
            duration_ms=float(i),
            ttft_ms=float(i) if i % 5 == 0 else None,
        )
        return await billing.settle(hub, res, outcome)

    charges = await asyncio.gather(*(one(i) for i in range(240)))
    async with hub.sessions() as s:
        balance = (await s.execute(select(User.balance_nanos).where(User.id == uid))).scalar_one()
        ledger = (await s.execute(select(Transaction.amount_nanos).where(Transaction.user_id == uid))).scalars().all()
        records = (await s.execute(select(UsageRecord.cost_nanos))).scalars().all()
        holds = (await s.execute(text("SELECT count(*) FROM credit_holds"))).scalar_one()
    assert balance == start - sum(charges) == start + sum(ledger)
    assert len(records) == 240 and sum(records) == sum(charges) and holds == 0

    await usage_index.bring_up_to_date(hub)
    maintained = await _rollups(hub)
    async with hub.sessions() as s, s.begin():
        for stmt in usage_index.rebuild_sql(hub.engine.dialect.name):
            await s.execute(text(stmt))
    rebuilt = await _rollups(hub)
    assert maintained.keys() == rebuilt.keys()
    for name, rows in rebuilt.items():
        assert set(maintained[name]) == set(rows), name
        for key, values in rows.items():
            for column, value in values.items():
                expected = pytest.approx(value) if isinstance(value, float) else value
                assert maintained[name][key][column] == expected, (name, key, column)


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


def test_request_and_ledger_ids_are_unique_and_sort_in_the_order_they_were_made() -> None:
    ids = [billing.new_request_id() for _ in range(2000)]
    assert len(set(ids)) == len(ids)
    assert all(i.startswith("resp_") and len(i) == 37 and int(i[5:], 16) >= 0 for i in ids)
    times = [i[5:17] for i in ids]  # the millisecond part, in the order the ids were made
    assert times == sorted(times)
    assert abs(int(times[-1], 16) - time.time() * 1000) < 60_000
    assert billing.sortable_id("txn_").startswith("txn_")


async def test_content_is_stored_only_when_logged_and_otherwise_left_null(hub) -> None:
    """With HUB_LOG_CONTENT off (the default) the usage record's content columns are SQL NULL, not an encoded
    JSON null; with it on they hold what the request and its answer carried."""
    uid = await _user(hub, 10**12)
    logged = Hub.create(hub.settings.model_copy(update={"log_content": True}))
    logged.ledger = hub.ledger  # the same database and ledger, only the setting differs

    async def settle(on: Hub, request_id: str) -> None:
        res = await billing.reserve(
            on, user_id=uid, api_key_id=None, amount_nanos=1_000, byok=False, request_id=request_id
        )
        outcome = billing.Outcome(endpoint="chat", provider="openai", model="gpt-4o", status="success", cost_nanos=10)
        outcome.request_content, outcome.response_content = {"messages": [{"role": "user", "content": "hé"}]}, {"ok": 1}
        await billing.settle(on, res, outcome)

    await settle(hub, "resp_off")
    await settle(logged, "resp_on")
    async with hub.sessions() as s:
        raw = dict(
            (r[0], r[1:])
            for r in await s.execute(text("SELECT request_id, request_content, response_content FROM usage_records"))
        )
        stored = (await s.execute(select(UsageRecord).where(UsageRecord.request_id == "resp_on"))).scalar_one()
    assert raw["resp_off"] == (None, None)
    assert stored.request_content == {"messages": [{"role": "user", "content": "hé"}]}
    assert stored.response_content == {"ok": 1}
    await logged.engine.dispose()
