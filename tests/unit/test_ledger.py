"""The ledger: operations run once each, failures stay with their operation, and SQLite's WAL is copied into
the database by the ledger thread (the hot connections never checkpoint on commit)."""

from __future__ import annotations

import asyncio
import os
import tempfile
import time
from pathlib import Path

import pytest
from sqlalchemy import text

from server.db.ledger import CHECKPOINT_IDLE_SECONDS, FLUSH, LedgerThread, LoopSaturation


@pytest.fixture
async def ledger():
    path = Path(tempfile.mkdtemp(prefix="hub-ledger-")) / "l.db"
    ledger = LedgerThread(f"sqlite+aiosqlite:///{path}")
    ledger.start()
    await ledger.run(lambda c: c.exec_driver_sql("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)"))
    yield ledger, path
    await ledger.stop()


async def test_concurrent_operations_each_commit_once_and_failures_stay_alone(ledger) -> None:
    ledger, _ = ledger

    def insert(i: int):
        return lambda c: c.execute(text("INSERT INTO t (id, v) VALUES (:i, 'x')"), {"i": i}).rowcount

    results = await asyncio.gather(
        *(ledger.run(insert(i)) for i in range(200)), ledger.run(insert(5)), return_exceptions=True
    )
    assert results[:200] == [1] * 200
    assert isinstance(results[200], Exception)  # duplicate key: only that operation fails
    count = await ledger.run(lambda c: c.execute(text("SELECT count(*) FROM t")).scalar())
    assert count == 200


async def test_wal_is_checkpointed_by_the_ledger_thread(ledger) -> None:
    ledger, path = ledger
    payload = "y" * 2000

    def fill(c) -> None:
        for _ in range(500):
            c.execute(text("INSERT INTO t (v) VALUES (:v)"), {"v": payload})

    await ledger.run(fill)
    before = path.stat().st_size
    await asyncio.sleep(CHECKPOINT_IDLE_SECONDS * 3)
    after = path.stat().st_size
    assert before < 500 * 2000 <= after


class _Saturated:
    def __init__(self, busy: bool) -> None:
        self.value = busy

    def busy(self) -> bool:
        return self.value


class _Marker:
    def flush(self, _conn) -> None:
        pass


def _transaction_of(conn) -> _Marker:
    return conn.info[FLUSH].setdefault("test-marker", _Marker())  # one per ledger transaction


async def test_a_saturated_loop_waits_to_commit_operations_of_several_iterations_together() -> None:
    path = Path(tempfile.mkdtemp(prefix="hub-ledger-")) / "l.db"
    ledger = LedgerThread(f"sqlite+aiosqlite:///{path}", commit_delay=0.05)
    ledger.start()
    try:
        ledger._saturation = _Saturated(True)
        first = asyncio.ensure_future(ledger.run(_transaction_of))
        for _ in range(3):  # later loop iterations, before the delay ends
            await asyncio.sleep(0)
        second = await ledger.run(_transaction_of)
        assert await first is second

        ledger._saturation = _Saturated(False)  # not saturated: each iteration's batch commits at once
        first = asyncio.ensure_future(ledger.run(_transaction_of))
        for _ in range(4):  # the task starts, its batch commits after that iteration, the task resumes
            await asyncio.sleep(0)
        assert first.done()
        assert await first is not await ledger.run(_transaction_of)
    finally:
        await ledger.stop()


def test_loop_saturation_follows_the_threads_own_cpu_use() -> None:
    saturation = LoopSaturation(window=0.02, threshold=0.2)
    end = time.monotonic() + 0.1
    while time.monotonic() < end:  # CPU-bound
        pass
    assert saturation.busy()
    time.sleep(0.1)  # idle: what is measured here is time without CPU use
    assert not saturation.busy()


async def test_the_wal_stays_bounded_under_constant_writes() -> None:
    """A PASSIVE checkpoint alone never completes while writes keep coming, and the WAL then grows without end;
    the ledger thread restarts it once it is past its bound."""
    path = Path(tempfile.mkdtemp(prefix="hub-ledger-")) / "l.db"
    ledger = LedgerThread(f"sqlite+aiosqlite:///{path}", wal_restart_frames=64, wal_size_limit=256 * 1024)
    ledger.start()
    wal = Path(f"{path}-wal")
    try:
        await ledger.run(lambda c: c.exec_driver_sql("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)"))
        payload = "z" * 8000
        written, sizes = 0, []
        end = time.monotonic() + 6 * CHECKPOINT_IDLE_SECONDS
        while time.monotonic() < end:  # writes without a pause, on the inline connection
            await ledger.run(lambda c: c.execute(text("INSERT INTO t (v) VALUES (:v)"), {"v": payload}))
            written += len(payload)
            sizes.append(os.stat(wal).st_size)
        assert written > 4 * 1024 * 1024
        later = sizes[len(sizes) // 2 :]
        assert min(later) < max(sizes) / 2  # restarted and cut back while the writes went on
        assert sizes[-1] < written / 2
    finally:
        await ledger.stop()
