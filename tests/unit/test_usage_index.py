"""The derived analytics tables (server.domain.usage_index) on a real SQLite file: a settlement writes no
rollup or latency row on the request path; the ledger thread derives them soon after, in chunks, and two
processes on one file never derive a record twice; readers bring them up to date first and read records only
up to the watermark. Also the migration that moved the latency indexes: its backfill and its downgrade."""

from __future__ import annotations

import asyncio
import sqlite3
import tempfile
import time
import uuid
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import create_engine, text

from server.config import Settings
from server.db.migrate import alembic_config, upgrade
from server.db.models import User
from server.domain import analytics, billing, usage_index, usage_stats
from server.hub import Hub

DEADLINE_SECONDS = 10.0


def _url(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


async def _hub(path: Path, *, held: bool = False) -> Hub:
    """A hub on the file; `held`: its ledger thread does not catch up (until maintenance_seconds is lowered)."""
    hub = Hub.create(Settings(database_url=_url(path), jwt_secret="x" * 32))
    hub.ledger.start()  # (its thread wakes at the interval it starts with, and reads the attribute each time)
    if held:
        hub.ledger.maintenance_seconds = 3600.0
    return hub


async def _user(hub: Hub) -> int:
    async with hub.sessions() as s, s.begin():
        user = User(email=f"{uuid.uuid4().hex}@x.test", username="u", balance_nanos=10**12)
        s.add(user)
    return user.id


async def _settle(hub: Hub, user: int, i: int) -> None:
    res = await billing.reserve(
        hub, user_id=user, api_key_id=None, amount_nanos=10_000, byok=False, session_id=f"s{i % 3}"
    )
    outcome = billing.Outcome(
        endpoint="chat",
        provider="openai",
        model=["gpt-4o-mini", "gpt-4o"][i % 2],
        status=["success", "error"][i % 5 == 0],
        cost_nanos=100 + i,
        input_tokens=i,
        output_tokens=2 * i,
        duration_ms=float(i % 17),
        ttft_ms=float(i) if i % 4 == 0 else None,
    )
    await billing.settle(hub, res, outcome)


def _count(path: Path, table: str) -> int:
    db = sqlite3.connect(path, timeout=30)
    try:
        return db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    finally:
        db.close()


def _derived(path: Path) -> dict[str, list]:
    db = sqlite3.connect(path, timeout=30)
    try:
        out = {"usage_latencies": db.execute("SELECT * FROM usage_latencies ORDER BY record_id").fetchall()}
        for table in ("usage_daily", "usage_daily_sessions", "usage_daily_clients"):
            out[table] = sorted(db.execute(f"SELECT * FROM {table}").fetchall())
        return out
    finally:
        db.close()


def _rebuilt(path: Path) -> dict[str, list]:
    """The derived tables recomputed from every record, in a copy of the database (the original is unchanged)."""
    copy = path.with_name(f"copy-{uuid.uuid4().hex}.db")
    source, target = sqlite3.connect(path, timeout=30), sqlite3.connect(copy)
    source.backup(target)
    source.close()
    with target:
        for stmt in usage_index.rebuild_sql("sqlite"):
            target.execute(stmt)
    target.close()
    return _derived(copy)


async def _wait_until(condition) -> None:
    deadline = time.monotonic() + DEADLINE_SECONDS
    while not condition():
        assert time.monotonic() < deadline, "the ledger thread did not derive the records in time"
        await asyncio.sleep(0.01)


@pytest.fixture
def db_path() -> Path:
    path = Path(tempfile.mkdtemp(prefix="hub-derived-")) / "hub.db"
    upgrade(_url(path))
    return path


async def test_settlements_write_no_derived_rows_and_the_ledger_thread_derives_them(db_path: Path) -> None:
    hub = await _hub(db_path, held=True)  # what the request path itself wrote is visible first
    try:
        user = await _user(hub)
        for i in range(30):
            await _settle(hub, user, i)
        assert _count(db_path, "usage_records") == 30
        assert _count(db_path, "usage_latencies") == _count(db_path, "usage_daily") == 0
        hub.ledger.maintenance_seconds = 0.01
        await _wait_until(lambda: _count(db_path, "usage_latencies") == 30)
        assert _derived(db_path) == _rebuilt(db_path)
    finally:
        await hub.close()


async def test_catch_up_goes_in_chunks_and_never_derives_a_record_twice(db_path: Path) -> None:
    hub = await _hub(db_path, held=True)
    try:
        user = await _user(hub)
        for i in range(23):
            await _settle(hub, user, i)
        engine = create_engine(f"sqlite:///{db_path}")
        steps = 0
        with engine.connect() as conn:
            while True:
                with conn.begin():
                    more = usage_index.catch_up(conn, chunk=5)
                steps += 1
                if not more:
                    break
            with conn.begin():
                assert usage_index.catch_up(conn, chunk=5) is False  # nothing left: nothing added
        engine.dispose()
        assert steps == 5  # 5 + 5 + 5 + 5 + 3
        assert _derived(db_path) == _rebuilt(db_path)
    finally:
        await hub.close()


async def test_two_processes_on_one_file_derive_every_record_exactly_once(db_path: Path) -> None:
    """Two hubs (as two server processes) settle at once while both ledger threads catch up every 1 ms."""
    hubs = [await _hub(db_path), await _hub(db_path)]
    for hub in hubs:
        hub.ledger.maintenance_seconds = 0.001
    try:
        user = await _user(hubs[0])
        await asyncio.gather(*(_settle(hubs[i % 2], user, i) for i in range(300)))
        for hub in hubs:
            await usage_index.bring_up_to_date(hub)
        assert _count(db_path, "usage_latencies") == 300
        assert _derived(db_path) == _rebuilt(db_path)
    finally:
        for hub in hubs:
            await hub.close()


async def test_readers_bring_the_derived_tables_up_to_date_and_read_records_up_to_the_watermark(
    db_path: Path,
) -> None:
    hub = await _hub(db_path, held=True)
    try:
        user = await _user(hub)
        for i in range(12):
            await _settle(hub, user, i)
        summary = await usage_stats.summarize(hub, user, None, None)  # derives first: all 12 counted
        assert summary.total.requests == 12
        data = await analytics.usage_data(hub, analytics.usage_query(user, group_by="model"))
        assert sum(g.agg.requests for g in data.groups) == 12
        assert {g.key for g in data.groups} == {("openai", "gpt-4o-mini"), ("openai", "gpt-4o")}

        await _settle(hub, user, 12)  # settled, not derived yet: past the watermark
        async with hub.sessions() as session:
            f = await analytics._derived_snapshot(session, analytics.usage_query(user).filters)
            assert (
                f.upto
                == await usage_index.watermark(session)
                < (await session.execute(text("SELECT max(id) FROM usage_records"))).scalar()
            )
            listed = await analytics._records(session, analytics.UsageQuery(f, None, False, 100, 0))
            assert len(listed) == 12  # the 13th is not read until it is derived
        data = await analytics.usage_data(hub, analytics.usage_query(user))
        assert data.total_count == len(data.records) == 13
    finally:
        await hub.close()


def test_the_migration_moves_the_latency_indexes_and_backfills_the_index(db_path: Path) -> None:
    url = _url(db_path)
    command.downgrade(alembic_config(url), "0007")
    db = sqlite3.connect(db_path)

    def indexes(table: str) -> set[str]:
        rows = db.execute("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = ?", (table,))
        return {name for (name,) in rows if "duration" in name}

    try:
        assert len(indexes("usage_records")) == 6
        with db:  # (sqlite3 enforces no foreign keys: the user need not exist)
            for i in range(5):
                db.execute(
                    "INSERT INTO usage_records (request_id, user_id, endpoint, provider, model, input_tokens,"
                    " output_tokens, cached_tokens, reasoning_tokens, cost_nanos, duration_ms, status, byok,"
                    " created_at) VALUES (?, 1, 'chat', 'openai', 'gpt-4o', 1, 1, 0, 0, 1, ?, 'success', 0,"
                    " '2026-12-01 10:00:00.000000')",
                    (f"m{i}", float(i)),
                )
        upgrade(url)
        assert indexes("usage_records") == set()
        assert len(indexes("usage_latencies")) == 6
        assert db.execute("SELECT record_id, duration_ms FROM usage_latencies ORDER BY record_id").fetchall() == [
            (i + 1, float(i)) for i in range(5)
        ]
        command.downgrade(alembic_config(url), "0007")
        assert len(indexes("usage_records")) == 6
        assert db.execute("SELECT count(*) FROM sqlite_master WHERE name = 'usage_latencies'").fetchone() == (0,)
    finally:
        db.close()
