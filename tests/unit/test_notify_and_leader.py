"""The cross-process primitives behind replicas, in one process with several instances (each instance behaves
like its own process): messages between processes (server.db.notify) and the single lock holder
(server.db.leader), on SQLite files and, when the test run provides one, on a real PostgreSQL."""

from __future__ import annotations

import asyncio
import fcntl
import os
import socket
import tempfile
import time
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy import create_engine

from server.config import Settings
from server.db.leader import AdvisoryLock, FileLock, file_lock_holder, leadership_for, lock_key
from server.db.migrate import upgrade
from server.db.notify import LocalSocketNotifier, PostgresNotifier, notifier_for, socket_dir
from server.domain.videos import VideoWorker
from server.hub import Hub
from tests.postgres import database_kinds, fresh_database_url


def _db() -> Path:
    return Path(tempfile.mkdtemp(prefix="hub-replicas-")) / "hub.db"


async def _eventually(check) -> None:
    """For a state only visible by looking (pg_locks): looks until it holds, for up to 10 s."""
    deadline = time.monotonic() + 10
    while not await check():
        assert time.monotonic() < deadline, "condition not met"
        await asyncio.sleep(0.02)


@pytest.mark.parametrize("kind", database_kinds())
async def test_notifier_reaches_the_other_processes(kind: str) -> None:
    if kind == "postgresql":
        await _postgres_notifier_delivers_on_commit_and_reconnects()
        return
    db = _db()
    got: dict[str, asyncio.Queue] = {"a": asyncio.Queue(), "b": asyncio.Queue(), "c": asyncio.Queue()}
    notifiers = {name: LocalSocketNotifier("hub_stop_stream", db) for name in got}
    for name, notifier in notifiers.items():
        await notifier.start(got[name].put_nowait)
    # A process that died without cleaning up leaves its socket file behind.
    dead = notifiers["a"].directory / "999999-deadbeef.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as gone:
        gone.bind(str(dead))
    try:
        await notifiers["a"].after_commit("stream-1")
        assert await asyncio.wait_for(got["b"].get(), 5) == "stream-1"
        assert await asyncio.wait_for(got["c"].get(), 5) == "stream-1"
        assert got["a"].empty()  # the sender handles its own streams directly
        assert not dead.exists()
        delays = []
        for i in range(5):
            sent = time.perf_counter()
            await notifiers["a"].after_commit(f"timed-{i}")
            assert await asyncio.wait_for(got["b"].get(), 5) == f"timed-{i}"
            delays.append(time.perf_counter() - sent)
        assert sorted(delays)[2] < 0.1, delays
    finally:
        for notifier in notifiers.values():
            await notifier.close()
    assert not list(notifiers["a"].directory.glob("*.sock"))


def test_socket_directory_stays_short_enough_for_a_socket_address() -> None:
    assert socket_dir(Path("/tmp/x/hub.db"), "ch") == Path("/tmp/x/hub.db.ch")
    deep = Path("/tmp") / ("d" * 120) / "hub.db"
    short = socket_dir(deep, "ch")
    assert len(str(short)) < 60 and short.name.startswith("hub-ch-")
    assert short == socket_dir(deep, "ch")  # every process of that database finds the same one


async def _file_lock_has_one_holder_and_the_next_one_takes_over() -> None:
    db = _db()
    first, second = FileLock("video-poller", db.with_name("hub.db.video-poller.lock")), None
    assert isinstance(leadership_for(f"sqlite+aiosqlite:///{db}", "video-poller"), FileLock)
    await first.acquire()
    assert first.held and file_lock_holder(db, "video-poller") == os.getpid()
    second = FileLock("video-poller", first.path)
    waiting = asyncio.ensure_future(second.acquire())
    probe = os.open(first.path, os.O_RDWR)
    try:
        with pytest.raises(BlockingIOError):  # held: nobody else gets it
            fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)
    finally:
        os.close(probe)
    assert not waiting.done()
    await first.release()
    await asyncio.wait_for(waiting, 5)
    assert second.held and not first.held
    await second.release()
    assert file_lock_holder(db, "video-poller") is None


async def test_a_waiting_file_lock_can_be_given_up() -> None:
    db = _db()
    holder = FileLock("video-poller", db.with_name("hub.db.video-poller.lock"))
    await holder.acquire()
    waiter = FileLock("video-poller", holder.path)
    waiting = asyncio.ensure_future(waiter.acquire())
    await asyncio.sleep(0)
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    await holder.release()
    third = FileLock("video-poller", holder.path)  # the abandoned waiter never keeps the lock
    await asyncio.wait_for(third.acquire(), 5)
    await third.release()


def _plain(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


@pytest.mark.parametrize("kind", database_kinds())
async def test_lock_has_one_holder_and_is_handed_over(kind: str) -> None:
    if kind == "sqlite":
        await _file_lock_has_one_holder_and_the_next_one_takes_over()
        return
    url = await fresh_database_url()
    first, second = AdvisoryLock("video-poller", url), AdvisoryLock("video-poller", url)
    admin = await asyncpg.connect(_plain(url))
    try:
        await first.acquire()
        waiting = asyncio.ensure_future(second.acquire())

        async def one_waiting() -> bool:
            rows = await admin.fetch(
                "SELECT granted FROM pg_locks WHERE locktype = 'advisory' AND objid = $1::bigint::bit(32)::int"
                " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
                lock_key("video-poller") & 0xFFFFFFFF,
            )
            return sorted(r["granted"] for r in rows) == [False, True]

        await _eventually(one_waiting)
        await first.release()  # ending the session hands the lock over
        await asyncio.wait_for(waiting, 5)
        assert second.held
        # The holder's session killed from outside (e.g. the server restarted): the holder notices.
        await admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1",
            f"hub-video-poller:{os.getpid()}",
        )
        await asyncio.wait_for(second.lost.wait(), 10)
        assert not second.held
        await second.release()
    finally:
        await admin.close()


async def _postgres_notifier_delivers_on_commit_and_reconnects() -> None:
    url = await fresh_database_url()
    received: asyncio.Queue = asyncio.Queue()
    caught_up = asyncio.Event()
    listener = notifier_for(url, "hub_test_channel")
    assert isinstance(listener, PostgresNotifier)

    async def catch_up() -> None:
        caught_up.set()

    listener.on_reconnect = catch_up
    await listener.start(received.put_nowait)
    sender = create_engine(url.replace("+asyncpg", "+psycopg", 1))
    admin = await asyncpg.connect(_plain(url))
    try:
        with sender.begin() as conn:
            listener.in_transaction(conn, "before")
        assert await asyncio.wait_for(received.get(), 5) == "before"
        delays = []
        for i in range(5):
            with sender.begin() as conn:
                listener.in_transaction(conn, f"timed-{i}")
            committed = time.perf_counter()
            assert await asyncio.wait_for(received.get(), 5) == f"timed-{i}"
            delays.append(time.perf_counter() - committed)
        assert sorted(delays)[2] < 0.1, delays  # from commit to the other process's handler
        await admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1",
            f"hub-listen:{os.getpid()}",
        )
        await asyncio.wait_for(caught_up.wait(), 10)
        with sender.begin() as conn:
            listener.in_transaction(conn, "after")
        assert await asyncio.wait_for(received.get(), 5) == "after"
        with sender.connect() as conn:  # rolled back: never delivered
            listener.in_transaction(conn, "rolled back")
            conn.rollback()
        with sender.begin() as conn:
            listener.in_transaction(conn, "last")
        assert await asyncio.wait_for(received.get(), 5) == "last"
    finally:
        await admin.close()
        sender.dispose()
        await listener.close()


async def _worker_hubs(kind: str, count: int) -> list:
    """`count` Hubs on one migrated database, each with an electing VideoWorker (as many processes would)."""
    url = f"sqlite+aiosqlite:///{_db()}" if kind == "sqlite" else await fresh_database_url()
    await asyncio.to_thread(upgrade, url)
    hubs = []
    for _ in range(count):
        hub = Hub.create(Settings(database_url=url, jwt_secret="x" * 32))
        hub.ledger.start()
        hub.video_worker = VideoWorker(hub, 0.05, elect=True)
        hub.video_worker.start()
        hubs.append(hub)
    return hubs


@pytest.mark.parametrize("kind", database_kinds())
async def test_video_workers_elect_one_poller_and_the_next_takes_over(kind: str) -> None:
    hubs = await _worker_hubs(kind, 2)
    try:

        async def one_leads() -> bool:
            return sum(h.video_worker.election.held for h in hubs) == 1

        await _eventually(one_leads)
        leader = next(h for h in hubs if h.video_worker.election.held)
        other = next(h for h in hubs if h is not leader)
        if kind == "postgresql":  # the leader's lock session ends under it: it notices and waits again
            admin = await asyncpg.connect(_plain(leader.settings.database_url))
            try:
                await admin.execute(
                    "SELECT pg_terminate_backend(l.pid) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid"
                    " WHERE l.locktype = 'advisory' AND l.granted AND a.application_name LIKE 'hub-video-poller:%'"
                    # only this test's database: other tests' replicas share the PostgreSQL server
                    " AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())"
                )
            finally:
                await admin.close()
        else:
            await leader.video_worker.stop()

        async def handed_over() -> bool:
            return other.video_worker.election.held and not leader.video_worker.election.held

        await _eventually(handed_over)
    finally:
        for hub in hubs:
            await hub.close()
