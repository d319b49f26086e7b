"""Moves settled usage records from `usage_inbox` into `usage_records`, off the request path.

A settlement writes its usage record into the inbox (server.domain.billing): one insert at the end of a table
without secondary indexes, in the transaction that moves the credits, so a record is as durable and as
exactly-once as its charge. `usage_records` has nine indexes, six in latency order for the analytics
percentiles, where each new record lands on a page of its own: about three quarters of a settlement's
database time on SQLite when written on the request path, and growing with the table.

The ledger thread moves the inbox over in bulk: one INSERT ... SELECT and one DELETE per MOVE_ROWS records,
statements that run inside SQLite (or PostgreSQL) without holding the GIL, so the event loop keeps serving
meanwhile; the loop's own ledger batches wait for the move (`LedgerThread.run_exclusive`) instead of
contending for the write lock. The mover runs every MOVE_INTERVAL seconds while the inbox holds rows, and once
when the process starts (what a crashed process left). Whoever reads `usage_records` calls `drain()` first, so
every record settled before the read is in it: analytics, trending, the rollup recompute.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING

from sqlalchemy import bindparam, delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection

from server.db.models import UsageInbox, UsageRecord
from server.db.prepared import Prepared

if TYPE_CHECKING:
    from server.db.ledger import LedgerThread

log = logging.getLogger("hub.usage_inbox")

MOVE_INTERVAL = 0.1  # seconds between moves while records arrive (about 60 records at 600 requests/s)
MOVE_ROWS = 512  # records per move: the loop's batches wait for one move (a few ms per hundred records)

_COLUMNS = [c.name for c in UsageRecord.__table__.columns if c.name != "id"]
_OLDEST = select(UsageInbox.id).order_by(UsageInbox.id).limit(bindparam("n"))
_ANY = Prepared(select(UsageInbox.id).limit(1))


def _sqlite_move(conn: Connection, limit: int) -> int:
    """The oldest `limit` records, copied then deleted: both statements see the same rows, because from the
    INSERT on this transaction holds SQLite's write lock (no one else can add or remove inbox rows)."""
    oldest = UsageInbox.id.in_(_OLDEST)
    rows = select(*(UsageInbox.__table__.c[name] for name in _COLUMNS)).where(oldest).order_by(UsageInbox.id)
    copy = sqlite_insert(UsageRecord).from_select(_COLUMNS, rows).on_conflict_do_nothing(index_elements=["request_id"])
    conn.execute(copy, {"n": limit})
    return conn.execute(delete(UsageInbox).where(oldest), {"n": limit}).rowcount


def _postgresql_move(conn: Connection, limit: int) -> int:
    """One statement: DELETE ... RETURNING feeds the INSERT, so what is copied is exactly what was deleted,
    and concurrent movers (replicas) skip each other's rows."""
    oldest = select(UsageInbox.id).order_by(UsageInbox.id).limit(limit).with_for_update(skip_locked=True)
    moved = (
        delete(UsageInbox)
        .where(UsageInbox.id.in_(oldest.scalar_subquery()))
        .returning(UsageInbox.id, *(UsageInbox.__table__.c[name] for name in _COLUMNS))
        .cte("moved")
    )
    rows = select(*(moved.c[name] for name in _COLUMNS)).order_by(moved.c.id)
    copy = pg_insert(UsageRecord).from_select(_COLUMNS, rows).on_conflict_do_nothing(index_elements=["request_id"])
    # counted from RETURNING: with a data-modifying CTE the driver reports no rowcount
    return len(conn.execute(copy.add_cte(moved).returning(UsageRecord.id)).all())


def move(conn: Connection, limit: int = MOVE_ROWS) -> int:
    """Moves the oldest `limit` inbox records into usage_records (a record already there stays as it is);
    returns how many were moved."""
    if conn.dialect.name == "postgresql":
        return _postgresql_move(conn, limit)
    return _sqlite_move(conn, limit)


def _has_records(conn: Connection) -> bool:
    return _ANY.first(conn, {}) is not None


class UsageMover:
    """Drains the inbox: periodically while serving (`start`/`stop`), and on demand before a read (`drain`)."""

    def __init__(self, ledger: LedgerThread, interval: float = MOVE_INTERVAL, rows: int = MOVE_ROWS) -> None:
        self.ledger = ledger
        self.interval = interval
        self.rows = rows
        self._task: asyncio.Task | None = None

    async def drain(self) -> None:
        """Returns when every record settled before the call is in usage_records."""
        while await self.ledger.run_exclusive(lambda conn: move(conn, self.rows)) >= self.rows:
            pass

    def start(self) -> None:
        self._task = asyncio.ensure_future(self._run())

    async def stop(self) -> None:
        """Stops the periodic mover, then moves what is left (a clean stop leaves the inbox empty)."""
        if self._task is None:
            return
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None
        await self.drain()

    async def _run(self) -> None:
        while True:
            try:
                if await self.ledger.read(_has_records):
                    await self.drain()
            except asyncio.CancelledError:
                raise
            except Exception:  # e.g. the database briefly unreachable: the next round retries
                log.warning("moving usage records failed; retrying", exc_info=True)
            await asyncio.sleep(self.interval)
