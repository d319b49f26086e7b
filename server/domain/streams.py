"""Streams in flight, so that their owner can stop them (stop-stream endpoints) from any server process.

Each stream has a row in `active_streams`. A stop request marks the row (only the owner's: anyone else's
stream looks absent) and wakes the stream at once when it runs in this process; streams of other processes
notice the mark within one poll interval.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import timedelta
from typing import TYPE_CHECKING

from sqlalchemy import bindparam, delete, exists, insert, select, update
from sqlalchemy.engine import Connection

from server.db.models import ActiveStream, Instance
from server.domain import clock

if TYPE_CHECKING:
    from server.hub import Hub

log = logging.getLogger("hub.streams")

POLL_SECONDS = 0.25
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
        self._poller: asyncio.Task | None = None

    async def start(self) -> None:
        cutoff = clock.now() - STALE_AFTER
        await self.hub.ledger.run(
            lambda conn: conn.execute(delete(ActiveStream).where(ActiveStream.created_at < cutoff))
        )
        self._poller = asyncio.create_task(self._poll())

    async def stop_polling(self) -> None:
        if self._poller:
            self._poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._poller

    async def open(self, stream_id: str, user_id: int) -> asyncio.Event:
        row = {"stream_id": stream_id, "user_id": user_id, "stop_requested": False, "created_at": clock.now()}
        row["instance_id"] = self.hub.instance_id  # a stopped process's rows go with its lease (domain.instances)
        await self.hub.ledger.run(lambda conn: conn.execute(_INSERT, row))
        event = self._local[stream_id] = asyncio.Event()
        return event

    async def close(self, stream_id: str) -> None:
        self._local.pop(stream_id, None)
        await self.hub.ledger.run(lambda conn: conn.execute(_DELETE, {"b_sid": stream_id}))

    async def stop(self, stream_id: str, user_id: int) -> bool:
        """True when the stream is running and belongs to user_id."""

        def op(conn: Connection) -> bool:
            return conn.execute(_MARK, {"b_sid": stream_id, "b_uid": user_id}).rowcount == 1

        if not await self.hub.ledger.run(op):
            return False
        local = self._local.get(stream_id)
        if local is not None:
            local.set()
        return True

    async def _poll(self) -> None:
        while True:
            await asyncio.sleep(POLL_SECONDS)
            waiting = [sid for sid, event in self._local.items() if not event.is_set()]
            if not waiting:
                continue
            try:
                marked = await self.hub.ledger.run(
                    lambda conn, ids=waiting: [r[0] for r in conn.execute(_MARKED, {"b_ids": ids})]
                )
            except Exception:
                log.exception("polling stop requests failed")
                continue
            for sid in marked:
                event = self._local.get(sid)
                if event is not None:
                    event.set()


_ORPHANED = delete(ActiveStream).where(
    ActiveStream.instance_id.is_not(None), ~exists().where(Instance.id == ActiveStream.instance_id)
)


async def forget_orphaned(hub: Hub) -> int:
    """Removes the rows of streams whose process is gone (its lease expired); their holds are refunded by
    billing.release_orphaned_holds."""
    return await hub.ledger.run(lambda conn: conn.execute(_ORPHANED).rowcount)
