"""Wakes the other server processes sharing this database, at once, with a short text message.

PostgreSQL: `NOTIFY` sent inside the transaction that made the change (delivered on commit, so a listener
never sees a message before the change is visible), received by every replica through `LISTEN` on one
dedicated asyncpg connection. When that connection drops it is reopened, and `on_reconnect` runs so the
owner can look up whatever it may have missed meanwhile.

SQLite (the processes of one machine): one Unix datagram socket per process in a directory beside the
database file; a message is sent to every socket there after the commit. A socket whose process is gone
refuses the datagram and is removed.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import socket
import uuid
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.engine import Connection, make_url

log = logging.getLogger("hub.notify")

RECONNECT_SECONDS = 1.0
PING_SECONDS = 15.0  # an idle LISTEN connection is checked this often (a dead peer sends nothing)
SUN_PATH_MAX = 100  # bytes of a Unix socket path (108 on Linux, 104 on BSD/macOS), with room to spare

Handler = Callable[[str], None]


class Notifier:
    """One channel of messages among the processes of one database. Subclasses pick the transport."""

    def __init__(self, channel: str) -> None:
        self.channel = channel
        self.handler: Handler | None = None
        self.on_reconnect: Callable[[], object] | None = None

    async def start(self, handler: Handler) -> None:
        self.handler = handler

    def in_transaction(self, conn: Connection, message: str) -> None:
        """Call inside the transaction that made the change (PostgreSQL sends here)."""

    async def after_commit(self, message: str) -> None:
        """Call once that transaction committed (SQLite sends here)."""

    async def close(self) -> None:
        pass

    def _deliver(self, message: str) -> None:
        if self.handler is not None:
            try:
                self.handler(message)
            except Exception:
                log.exception("handling a %s message failed", self.channel)


class PostgresNotifier(Notifier):
    def __init__(self, channel: str, database_url: str) -> None:
        super().__init__(channel)
        self.dsn = make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)
        self._conn = None
        self._task: asyncio.Task | None = None
        self._lost = asyncio.Event()

    async def start(self, handler: Handler) -> None:
        await super().start(handler)
        await self._connect()  # listening before the first request is served
        self._task = asyncio.create_task(self._keep(), name=f"listen-{self.channel}")

    def in_transaction(self, conn: Connection, message: str) -> None:
        conn.execute(select(func.pg_notify(self.channel, message)))

    async def _connect(self) -> None:
        import asyncpg  # here, not at the top: only PostgreSQL deployments load it (3 MB)

        conn = await asyncpg.connect(self.dsn, server_settings={"application_name": f"hub-listen:{os.getpid()}"})
        self._lost.clear()
        conn.add_termination_listener(lambda _conn: self._lost.set())
        await conn.add_listener(self.channel, lambda _c, _pid, _channel, payload: self._deliver(payload))
        self._conn = conn

    async def _keep(self) -> None:
        """Reopens the connection when it drops (and tells the owner); pings it while idle."""
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._lost.wait(), PING_SECONDS)
            if not self._lost.is_set():
                try:
                    await asyncio.wait_for(self._conn.fetchval("SELECT 1"), PING_SECONDS)
                    continue
                except Exception:
                    log.warning("the %s listener connection stopped answering", self.channel)
            with contextlib.suppress(Exception):
                self._conn.terminate()
            while True:
                try:
                    await self._connect()
                    break
                except Exception as exc:
                    log.warning("reconnecting the %s listener failed (%s); retrying", self.channel, exc)
                    await asyncio.sleep(RECONNECT_SECONDS)
            log.info("the %s listener reconnected", self.channel)
            if self.on_reconnect is not None:
                try:
                    await self.on_reconnect()
                except Exception:
                    log.exception("catching up after reconnecting %s failed", self.channel)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._conn is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._conn.close(), 2)
            self._conn = None


def socket_dir(database_path: Path, channel: str) -> Path:
    """`<db file>.<channel>/` beside the database; a short directory in /tmp if that path would be too long for
    a socket address. /tmp and not the temp dir: every process of the database must find the same directory,
    whatever TMPDIR each was started with (and a long TMPDIR would not be short enough either)."""
    beside = database_path.resolve().with_name(f"{database_path.name}.{channel}")
    if len(str(beside).encode()) + 48 <= SUN_PATH_MAX:
        return beside
    digest = hashlib.sha256(str(database_path.resolve()).encode()).hexdigest()[:16]
    return Path("/tmp") / f"hub-{channel}-{digest}"


class LocalSocketNotifier(Notifier):
    def __init__(self, channel: str, database_path: Path) -> None:
        super().__init__(channel)
        self.directory = socket_dir(database_path, channel)
        self.path = self.directory / f"{os.getpid()}-{uuid.uuid4().hex[:8]}.sock"
        self._sock: socket.socket | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    async def start(self, handler: Handler) -> None:
        await super().start(handler)
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sock.bind(str(self.path))
        sock.setblocking(False)
        self._sock = sock
        self._loop = asyncio.get_running_loop()
        self._loop.add_reader(sock.fileno(), self._readable)

    def _readable(self) -> None:
        while self._sock is not None:
            try:
                data = self._sock.recv(4096)
            except (BlockingIOError, InterruptedError):
                return
            self._deliver(data.decode("utf-8", "replace"))

    async def after_commit(self, message: str) -> None:
        data = message.encode()
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as out:
            out.setblocking(False)
            for peer in self.directory.glob("*.sock"):
                if peer == self.path:
                    continue
                try:
                    out.sendto(data, str(peer))
                except (ConnectionRefusedError, FileNotFoundError):  # its process is gone
                    with contextlib.suppress(FileNotFoundError):
                        peer.unlink()
                except OSError as exc:  # e.g. a full queue of a process that is not reading
                    log.warning("could not notify %s on %s: %s", peer.name, self.channel, exc)

    async def close(self) -> None:
        if self._sock is not None:
            self._loop.remove_reader(self._sock.fileno())
            self._sock.close()
            self._sock = None
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()


def notifier_for(database_url: str, channel: str) -> Notifier:
    """The transport for this database; an in-memory SQLite database has one process and needs none."""
    url = make_url(database_url)
    if url.get_backend_name() == "postgresql":
        return PostgresNotifier(channel, database_url)
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        return LocalSocketNotifier(channel, Path(url.database))
    return Notifier(channel)
