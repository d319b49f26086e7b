"""The ledger: operations run once each, failures stay with their operation, and SQLite's WAL is copied into
the database by the ledger thread (the hot connections never checkpoint on commit)."""

from __future__ import annotations

import asyncio
import itertools
import os
import sqlite3
import tempfile
import threading
import time
from pathlib import Path

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import text

from server.db.ledger import (
    CHECKPOINT_IDLE_SECONDS,
    FLUSH,
    MAX_PLAUSIBLE_WAIT,
    MIN_DELAY,
    QUEUE_FACTOR,
    LedgerThread,
    LoopSaturation,
    QueueWait,
)


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


async def _commits_at_once(ledger: LedgerThread) -> bool:
    """Whether a new batch commits right after the loop iteration it was issued in (else it waits)."""
    first = asyncio.ensure_future(ledger.run(_transaction_of))
    for _ in range(4):  # the task starts, its batch commits after that iteration (unless delayed), it resumes
        await asyncio.sleep(0)
    at_once = first.done()
    second = await ledger.run(_transaction_of)
    assert (await first is second) is not at_once  # a waiting batch takes the next operation in too
    return at_once


async def test_a_saturated_loop_with_queued_requests_commits_operations_of_several_iterations_together() -> None:
    path = Path(tempfile.mkdtemp(prefix="hub-ledger-")) / "l.db"
    ledger = LedgerThread(f"sqlite+aiosqlite:///{path}", commit_delay=0.05)
    ledger.start()
    try:
        queued = QUEUE_FACTOR * ledger.commit_delay  # requests wait this long before their handler starts
        ledger.queue_wait.seconds = queued
        ledger._saturation = _Saturated(True)
        assert ledger._delay() == pytest.approx(ledger.commit_delay)
        assert not await _commits_at_once(ledger)

        ledger._saturation = _Saturated(False)  # not saturated: each iteration's batch commits at once
        assert await _commits_at_once(ledger)

        ledger._saturation = _Saturated(True)
        ledger.queue_wait.seconds = 0.0  # saturated, but nothing queues: a wait would only idle its requests
        assert await _commits_at_once(ledger)

        ledger.queue_wait.seconds = queued / 5  # the wait is a fraction of the queueing, up to commit_delay
        assert ledger._delay() == pytest.approx(ledger.commit_delay / 5)
        ledger.queue_wait.seconds = queued * 10
        assert ledger._delay() == pytest.approx(ledger.commit_delay)
        ledger.queue_wait.seconds = QUEUE_FACTOR * MIN_DELAY * 0.9  # the stack's own latency (c=1), no queue
        assert ledger._delay() == 0.0
    finally:
        await ledger.stop()


def test_queue_wait_averages_the_envoy_stamps_and_ignores_what_cannot_be_a_wait() -> None:
    wait = QueueWait()
    for _ in range(300):
        wait.observe(f"{time.time() - 0.1:.6f}")  # Envoy received each request 100 ms ago
    assert 0.09 < wait.seconds < 0.12
    before = wait.seconds
    for stamp in (None, "", "soon", f"{time.time() + 5:.6f}", f"{time.time() - 2 * MAX_PLAUSIBLE_WAIT:.6f}"):
        wait.observe(stamp)  # absent (direct gRPC), malformed, in the future, implausibly old
    assert wait.seconds == before
    for _ in range(300):
        wait.observe(f"{time.time():.6f}")  # the queue drained
    assert wait.seconds < 0.01


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
        # again and again, not once: without restarts the WAL only grows (to about everything written). How
        # late the last restart comes depends on the machine (a RESTART waits for the writer of the moment).
        cut_backs = sum(1 for before, after in itertools.pairwise(sizes) if after < before / 2)
        assert cut_backs >= 2 and min(later) < written / 4
    finally:
        await ledger.stop()


def _lock_writer(path: Path) -> sqlite3.Connection:
    """Another connection (as another server process would) holding the write lock until it commits."""
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    return other


class _Insert:
    """An operation that records on which thread each try ran, and sets `tried` once it has run `times` times
    (from whichever thread)."""

    def __init__(self, times: int) -> None:
        self.where: list[str] = []
        self.times = times
        self.tried = asyncio.Event()
        self._loop = asyncio.get_running_loop()

    def __call__(self, c) -> int:
        self.where.append(threading.current_thread().name)
        if len(self.where) == self.times:
            self._loop.call_soon_threadsafe(self.tried.set)
        return c.execute(text("INSERT INTO t (v) VALUES ('x')")).rowcount


def _locked_batches(then: str) -> float:
    return REGISTRY.get_sample_value("hub_ledger_locked_batches_total", {"then": then}) or 0.0


async def test_a_batch_that_finds_the_database_locked_is_tried_again_on_the_loop(ledger) -> None:
    ledger, path = ledger
    retried, to_thread = _locked_batches("retry"), _locked_batches("thread")
    other = _lock_writer(path)
    insert = _Insert(times=2)
    task = asyncio.create_task(ledger.run(insert))
    await insert.tried.wait()  # tried, found it locked, tried again: still locked
    assert ledger._pending == 0  # not handed to the thread meanwhile
    assert _locked_batches("retry") - retried >= 2 and _locked_batches("thread") == to_thread
    other.commit()
    assert await task == 1
    assert set(insert.where) == {threading.current_thread().name}  # every try on the loop's connection
    assert await ledger.run(lambda c: c.execute(text("SELECT count(*) FROM t")).scalar()) == 1
    other.close()


async def test_a_lock_held_longer_than_the_retries_sends_the_batch_to_the_thread_which_waits() -> None:
    path = Path(tempfile.mkdtemp(prefix="hub-ledger-")) / "l.db"
    ledger = LedgerThread(f"sqlite+aiosqlite:///{path}", locked_retries=(0.001, 0.001))
    ledger.start()
    try:
        await ledger.run(lambda c: c.exec_driver_sql("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)"))
        other = _lock_writer(path)
        to_thread = _locked_batches("thread")
        insert = _Insert(times=4)  # three tries on the loop, then the thread's
        task = asyncio.create_task(ledger.run(insert))
        await insert.tried.wait()
        other.commit()  # the thread was waiting for the lock meanwhile
        assert await task == 1
        assert insert.where == [threading.current_thread().name] * 3 + ["ledger"]
        assert _locked_batches("thread") == to_thread + 1
        other.close()
    finally:
        await ledger.stop()


async def test_stopping_runs_a_batch_still_waiting_for_its_turn(ledger) -> None:
    ledger, path = ledger
    other = _lock_writer(path)
    insert = _Insert(times=1)
    task = asyncio.create_task(ledger.run(insert))
    await insert.tried.wait()  # found it locked: now waiting for its retry
    other.commit()
    other.close()
    await ledger.stop()
    assert await asyncio.wait_for(task, 10) == 1  # without the hand-over its caller would wait forever
    assert insert.where[-1] == "ledger"
