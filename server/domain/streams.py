"""Streams in flight, so that their owner can stop them (stop-stream endpoints) from any server process.

Each stream has a row in `active_streams`. A stop request marks the row (only the owner's: anyone else's
stream looks absent) and wakes the stream at once when it runs in this process; the processes sharing the
database are woken by a message naming the stream (server.db.notify: LISTEN/NOTIFY on PostgreSQL, Unix
datagrams among the processes of one machine on SQLite), and the one running it stops it. No polling: after
a lost PostgreSQL listener connection is reopened, the marks it may have missed are read once.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from typing import TYPE_CHECKING

from sqlalchemy import bindparam, delete, exists, insert, select, update
from sqlalchemy.engine import Connection

from server.db.models import ActiveStream, Instance
from server.db.notify import notifier_for
from server.domain import clock

if TYPE_CHECKING:
    from server.hub import Hub

log = logging.getLogger("hub.streams")

CHANNEL = "hub_stop_stream"
STALE_AFTER = timedelta(days=1)

_INSERT = insert(ActiveStream)
_DELETE = delete(ActiveStream).where(ActiveStream.stream_id == bindparam("b_sid"))
_MARK = (
    update(ActiveStream)
    .where(ActiveStream.stream_id == bindparam("b_sid"), ActiveStream.user_id == bindparam("b_uid"))
    .values(stop_requested=True)
)
_MARKED = select(ActiveStream.stream_id).where(
    ActiveStream.stop_requested.is_(True), ActiveStream.stream_id.in_(bindparam("b_ids", expanding=True))
)


class ActiveStreams:
    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self._local: dict[str, asyncio.Event] = {}
        self._notifier = notifier_for(hub.settings.database_url, CHANNEL)

    async def start(self) -> None:
        cutoff = clock.now() - STALE_AFTER
        await self.hub.ledger.run(
            lambda conn: conn.execute(delete(ActiveStream).where(ActiveStream.created_at < cutoff))
        )
        self._notifier.on_reconnect = self._catch_up
        await self._notifier.start(self._wake)

    async def stop_listening(self) -> None:
        await self._notifier.close()

    async def open(self, stream_id: str, user_id: int) -> asyncio.Event:
        # Registered before the row exists: a stop from another process can only follow the insert.
        event = self._local[stream_id] = asyncio.Event()
        row = {"stream_id": stream_id, "user_id": user_id, "stop_requested": False, "created_at": clock.now()}
        row["instance_id"] = self.hub.instance_id  # a stopped process's rows go with its lease (domain.instances)
        try:
            await self.hub.ledger.run(lambda conn: conn.execute(_INSERT, row))
        except BaseException:
            self._local.pop(stream_id, None)
            raise
        return event

    async def close(self, stream_id: str) -> None:
        self._local.pop(stream_id, None)
        await self.hub.ledger.run(lambda conn: conn.execute(_DELETE, {"b_sid": stream_id}))

    async def stop(self, stream_id: str, user_id: int) -> bool:
        """True when the stream is running and belongs to user_id."""

        def op(conn: Connection) -> bool:
            marked = conn.execute(_MARK, {"b_sid": stream_id, "b_uid": user_id}).rowcount == 1
            if marked and stream_id not in self._local:
                self._notifier.in_transaction(conn, stream_id)
            return marked

        if not await self.hub.ledger.run(op):
            return False
        local = self._local.get(stream_id)
        if local is not None:
            local.set()
        else:
            await self._notifier.after_commit(stream_id)
        return True

    def _wake(self, stream_id: str) -> None:
        """A stop request from another process: stops the stream if it runs here."""
        event = self._local.get(stream_id)
        if event is not None:
            event.set()

    async def _catch_up(self) -> None:
        """After a lost listener connection: the stop marks of local streams that it may have missed."""
        waiting = [sid for sid, event in self._local.items() if not event.is_set()]
        if not waiting:
            return
        marked = await self.hub.ledger.run(lambda conn: [r[0] for r in conn.execute(_MARKED, {"b_ids": waiting})])
        for sid in marked:
            self._wake(sid)


_ORPHANED = delete(ActiveStream).where(
    ActiveStream.instance_id.is_not(None), ~exists().where(Instance.id == ActiveStream.instance_id)
)


async def forget_orphaned(hub: Hub) -> int:
    """Removes the rows of streams whose process is gone (its lease expired); their holds are refunded by
    billing.release_orphaned_holds."""
    return await hub.ledger.run(lambda conn: conn.execute(_ORPHANED).rowcount)
