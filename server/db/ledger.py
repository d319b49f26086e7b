"""The hot path's database access: one thread, one held connection, prebuilt statements, group commit.

Every request authenticates, reserves credits and settles them. Through the async engine each of those
costs a thread hop, a pool checkout and statement construction (about 1 ms on SQLite); on one held
connection with prebuilt statements a statement costs tens of microseconds. Operations queued while a
batch runs are committed together in one transaction, so under load the commit is shared as well.

Operations are plain functions `fn(conn) -> result` written with SQLAlchemy Core, so the same code runs on
SQLite (pysqlite) and PostgreSQL (psycopg). A batch that fails is retried one operation per transaction,
so one failing operation never takes others down with it.

On SQLite, when nothing is queued, an operation runs at once on the event loop's own held connection: a
few tens of microseconds, cheaper than the two thread wake-ups of a hand-off. That connection never waits
for a lock (busy_timeout 0): if another connection is writing, the operation goes to the thread instead,
so the loop is never blocked behind a transaction that needs the loop to finish.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import create_engine as create_sync_engine
from sqlalchemy import event
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import OperationalError

from server.db.session import sqlite_pragmas

log = logging.getLogger("hub.ledger")

T = TypeVar("T")
MAX_BATCH = 256
CHECKPOINT_IDLE_SECONDS = 0.5  # checkpoint when the ledger has been idle this long...
CHECKPOINT_EVERY = 2000  # ...or after this many operations, so the WAL stays bounded under constant load
_STOP = object()


def sync_url(url: str) -> str:
    """The synchronous driver for the configured database (aiosqlite -> pysqlite, asyncpg -> psycopg)."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    driver = {"sqlite": "pysqlite", "postgresql": "psycopg"}.get(backend)
    return parsed.set(drivername=f"{backend}+{driver}" if driver else backend).render_as_string(hide_password=False)


class LedgerThread:
    def __init__(self, url: str):
        self.engine = create_sync_engine(sync_url(url), pool_size=1, max_overflow=0)
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", sqlite_pragmas(autocheckpoint=False))
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pending = 0  # operations handed to the thread and not yet delivered
        self._inline: Connection | None = None

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._thread = threading.Thread(target=self._run, name="ledger", daemon=True)
        self._thread.start()
        if self.engine.dialect.name == "sqlite":
            inline_engine = create_sync_engine(self.engine.url, pool_size=1, max_overflow=0)
            event.listen(inline_engine, "connect", sqlite_pragmas(busy_timeout_ms=0, autocheckpoint=False))
            self._inline = inline_engine.connect()

    async def stop(self) -> None:
        if self._inline is not None:
            engine = self._inline.engine
            self._inline.close()
            engine.dispose()
            self._inline = None
        if self._thread is not None:
            self._queue.put(_STOP)
            await asyncio.to_thread(self._thread.join)
            self._thread = None
        self.engine.dispose()

    async def run(self, op: Callable[[Connection], T]) -> T:
        """Runs op(conn) inside a transaction (inline when idle on SQLite, else on the thread)."""
        if self._inline is not None and self._pending == 0:
            try:
                with self._inline.begin():
                    return op(self._inline)
            except OperationalError as exc:
                if "locked" not in str(exc) and "busy" not in str(exc):
                    raise
        future = self._loop.create_future()
        self._pending += 1
        self._queue.put((op, future))
        try:
            return await future
        finally:
            self._pending -= 1

    def _run(self) -> None:
        sqlite = self.engine.dialect.name == "sqlite"
        since_checkpoint = 0
        with self.engine.connect() as conn:
            while True:
                try:
                    first = self._queue.get(timeout=CHECKPOINT_IDLE_SECONDS if sqlite else None)
                except queue.Empty:
                    first = None
                if sqlite and (first is None or since_checkpoint >= CHECKPOINT_EVERY):
                    self._checkpoint(conn)
                    since_checkpoint = 0
                if first is None:
                    continue
                if first is _STOP:
                    return
                batch = [first]
                while len(batch) < MAX_BATCH:
                    try:
                        item = self._queue.get_nowait()
                    except queue.Empty:
                        break
                    if item is _STOP:
                        self._queue.put(_STOP)
                        break
                    batch.append(item)
                since_checkpoint += len(batch)
                self._loop.call_soon_threadsafe(_deliver, self._execute(conn, batch))

    def _checkpoint(self, conn: Connection) -> None:
        """Copies the WAL into the database off the request path (the hot connections never do it)."""
        try:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")
            conn.commit()
        except Exception:  # a skipped checkpoint is retried later
            log.warning("WAL checkpoint failed", exc_info=True)

    def _execute(self, conn: Connection, batch: list) -> list[tuple[asyncio.Future, Any, BaseException | None]]:
        try:
            with conn.begin():
                return [(future, op(conn), None) for op, future in batch]
        except Exception as exc:
            if len(batch) == 1:
                return [(batch[0][1], None, exc)]
        out = []  # retry one operation per transaction: each commits once or fails alone
        for op, future in batch:
            try:
                with conn.begin():
                    out.append((future, op(conn), None))
            except Exception as exc:
                out.append((future, None, exc))
        return out


def _deliver(results: list[tuple[asyncio.Future, Any, BaseException | None]]) -> None:
    for future, value, exc in results:
        if future.done():
            continue
        if exc is not None:
            future.set_exception(exc)
        else:
            future.set_result(value)
