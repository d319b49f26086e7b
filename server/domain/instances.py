"""Instance ids and heartbeat leases: crash recovery that needs no clock.

Each server process registers a row in `instances` and owns the credit holds and active streams it creates
(their `instance_id`). Every HEARTBEAT_SECONDS it bumps its row's `beats` counter and sweeps: a process whose
counter has not moved for LEASE_SECONDS (measured on the sweeper's own monotonic clock, so clocks of different
machines never need to agree) has stopped. The first sweeper to delete its row, conditionally on the counter it
saw, claims it; then every hold whose instance row is gone is refunded and every such stream row removed, each
exactly once (billing.release_orphaned_holds, streams.forget_orphaned). Live replicas keep beating, so their holds
are never touched.

A process that died on this same machine (same hostname, boot and pid namespace; pid no longer running) is
recognised at once, so a restart after kill -9 refunds everything within its first sweep. A process that finds its
own row gone (it was paused for longer than the lease) registers again; the holds it had were refunded, and their
settle then charges nothing, which may cost the operator an answer but never charges a user twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.engine import Connection

from server.db.models import Instance
from server.domain import billing, clock, streams

if TYPE_CHECKING:
    from server.hub import Hub

log = logging.getLogger("hub.instances")

HEARTBEAT_SECONDS = 1.0
LEASE_SECONDS = 5.0

_BEAT = update(Instance).where(Instance.id == bindparam("b_id")).values(beats=Instance.beats + 1)
_CLAIM = delete(Instance).where(Instance.id == bindparam("b_id"), Instance.beats == bindparam("b_beats"))
_OTHERS = select(Instance.id, Instance.host, Instance.pid, Instance.beats).where(Instance.id != bindparam("b_id"))


def machine_identity() -> str:
    """hostname|boot id|pid namespace: equal only for processes that can see each other's pids."""
    parts = [socket.gethostname()]
    for source in (
        lambda: Path("/proc/sys/kernel/random/boot_id").read_text().strip(),
        lambda: os.readlink("/proc/self/ns/pid"),
    ):
        try:
            parts.append(source())
        except OSError:
            parts.append("?")
    return "|".join(parts)[:255]


def _pid_running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class Instances:
    """This process's lease, and the sweeper that releases what stopped processes left behind."""

    def __init__(
        self, hub: Hub, *, heartbeat_seconds: float = HEARTBEAT_SECONDS, lease_seconds: float = LEASE_SECONDS
    ) -> None:
        self.hub = hub
        self.id = "inst_" + uuid.uuid4().hex
        self.heartbeat_seconds = heartbeat_seconds
        self.lease_seconds = lease_seconds
        self._host = machine_identity()
        self._seen: dict[str, tuple[int, float]] = {}  # other instance -> (beats, monotonic time first seen)
        self._task: asyncio.Task | None = None

    async def start(self) -> None:
        """Registers this process (before it serves anything), sweeps once, then beats in the background."""
        await self._register()
        self.hub.instance_id = self.id
        await self.sweep()
        self._task = asyncio.create_task(self._loop())

    async def stop(self) -> None:
        """Graceful stop: unregisters, so whatever this process still holds is released at once."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.hub.ledger.run(lambda conn: conn.execute(delete(Instance).where(Instance.id == self.id)))
        await billing.release_orphaned_holds(self.hub)
        await streams.forget_orphaned(self.hub)

    async def _register(self) -> None:
        row = {"id": self.id, "host": self._host, "pid": os.getpid(), "beats": 0, "started_at": clock.now()}
        await self.hub.ledger.run(lambda conn: conn.execute(insert(Instance), row))

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self.heartbeat_seconds)
            try:
                await self.beat()
                await self.sweep()
            except Exception:  # the database may be briefly unreachable: try again next beat
                log.exception("heartbeat failed")

    async def beat(self) -> None:
        alive = await self.hub.ledger.run(lambda conn: conn.execute(_BEAT, {"b_id": self.id}).rowcount == 1)
        if not alive:
            log.warning("instance %s was taken for stopped (paused longer than the lease): registering again", self.id)
            await self._register()

    def _expired(self, instance_id: str, host: str, pid: int, beats: int, now: float) -> bool:
        if host == self._host and (pid == os.getpid() or not _pid_running(pid)):
            return True  # a process of this machine that is gone (or an earlier run that had our pid)
        seen = self._seen.get(instance_id)
        if seen is None or seen[0] != beats:
            self._seen[instance_id] = (beats, now)
            return False
        return now - seen[1] >= self.lease_seconds

    async def sweep(self) -> int:
        """Claims stopped instances and releases everything no live instance owns; returns holds released."""
        others = await self.hub.ledger.run(lambda conn: conn.execute(_OTHERS, {"b_id": self.id}).all())
        now = time.monotonic()
        expired = [(row.id, row.beats) for row in others if self._expired(row.id, row.host, row.pid, row.beats, now)]
        self._seen = {k: v for k, v in self._seen.items() if any(row.id == k for row in others)}
        if expired:

            def claim(conn: Connection) -> list[str]:
                return [i for i, b in expired if conn.execute(_CLAIM, {"b_id": i, "b_beats": b}).rowcount == 1]

            for instance_id in await self.hub.ledger.run(claim):
                log.warning("server instance %s stopped: releasing its holds and streams", instance_id)
                self._seen.pop(instance_id, None)
        # also after a claim that crashed half-way: rows of instances that no longer exist are orphans
        released = await billing.release_orphaned_holds(self.hub)
        await streams.forget_orphaned(self.hub)
        return released
