"""One holder among the processes sharing a database (e.g. the one video poller), taken over when it dies.

PostgreSQL: a session advisory lock (`pg_advisory_lock`) on a dedicated connection. Waiting replicas block
in that call, so when the holder's connection ends (the process died: the kernel closes its socket) the
next one gets the lock within milliseconds; TCP keepalives end the session of a holder that vanished from
the network within about 15 s. The holder pings its connection and gives up when it stops answering. The
holder is visible in `pg_stat_activity` (application_name `hub-<name>:<pid>`, lock granted in `pg_locks`).

SQLite (the processes of one machine): an exclusive `flock` on `<db file>.<name>.lock`, waited for in a
thread; the kernel releases it when the holder exits however it exits. The holder writes its pid into the
file (for operators and tests).
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import hashlib
import logging
import os
import threading
from pathlib import Path

from sqlalchemy.engine import make_url

log = logging.getLogger("hub.leader")

RECONNECT_SECONDS = 1.0
PING_SECONDS = 5.0
# PostgreSQL ends the session (and frees the lock) of a holder whose machine stopped answering.
KEEPALIVES = {"tcp_keepalives_idle": "5", "tcp_keepalives_interval": "2", "tcp_keepalives_count": "3"}


class Leadership:
    """Always held: the process is alone (an in-memory SQLite database)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.lost = asyncio.Event()  # set when a held lock is lost (the connection dropped)

    @property
    def held(self) -> bool:
        return not self.lost.is_set()

    async def acquire(self) -> None:
        """Returns once this process holds the lock (waits as long as another process does)."""
        self.lost.clear()

    async def release(self) -> None:
        self.lost.set()


def lock_key(name: str) -> int:
    """A stable signed 64-bit advisory lock key for this name."""
    return int.from_bytes(hashlib.sha256(f"indoxhub:{name}".encode()).digest()[:8], "big", signed=True)


class AdvisoryLock(Leadership):
    def __init__(self, name: str, database_url: str) -> None:
        super().__init__(name)
        self.key = lock_key(name)
        self.dsn = make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)
        self._conn = None
        self._pinger: asyncio.Task | None = None
        self.lost.set()

    async def acquire(self) -> None:
        while True:
            conn = None
            try:
                settings = {"application_name": f"hub-{self.name}:{os.getpid()}", **KEEPALIVES}
                import asyncpg  # here, not at the top: only PostgreSQL deployments load it (3 MB)

                conn = await asyncpg.connect(self.dsn, server_settings=settings)
                await conn.execute("SELECT pg_advisory_lock($1)", self.key)
            except asyncio.CancelledError:
                if conn is not None:
                    conn.terminate()
                raise
            except Exception as exc:
                if conn is not None:
                    conn.terminate()
                log.warning("waiting for the %s lock failed (%s); retrying", self.name, exc)
                await asyncio.sleep(RECONNECT_SECONDS)
                continue
            self._conn = conn
            self.lost.clear()
            conn.add_termination_listener(lambda _conn: self.lost.set())
            self._pinger = asyncio.create_task(self._ping(conn), name=f"lock-{self.name}")
            return

    async def _ping(self, conn) -> None:
        while not self.lost.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.lost.wait(), PING_SECONDS)
                return
            try:
                await asyncio.wait_for(conn.fetchval("SELECT 1"), PING_SECONDS)
            except Exception:
                log.warning("the %s lock connection stopped answering: giving the lock up", self.name)
                self.lost.set()
                conn.terminate()

    async def release(self) -> None:
        self.lost.set()
        if self._pinger is not None:
            self._pinger.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._pinger
            self._pinger = None
        if self._conn is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._conn.close(), 2)  # ending the session frees the lock
            self._conn.terminate()
            self._conn = None


class FileLock(Leadership):
    def __init__(self, name: str, path: Path) -> None:
        super().__init__(name)
        self.path = path
        self._fd: int | None = None
        self.lost.set()

    async def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        loop = asyncio.get_running_loop()
        got = loop.create_future()

        def deliver(error: OSError | None) -> None:
            if error is None and not got.done():
                got.set_result(None)
                return
            os.close(fd)  # given up while waiting (or failed): closing frees the lock if it was taken
            if error is not None and not got.done():
                got.set_exception(error)

        def wait() -> None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                error = None
            except OSError as exc:
                error = exc
            try:
                loop.call_soon_threadsafe(deliver, error)
            except RuntimeError:  # the loop is gone
                os.close(fd)

        # A daemon thread, not the loop's executor: a process that never gets the lock must still exit.
        threading.Thread(target=wait, name=f"lock-{self.name}", daemon=True).start()
        try:
            await asyncio.shield(got)
        except asyncio.CancelledError:
            got.cancel()  # deliver() then closes the file when the thread returns
            raise
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._fd = fd
        self.lost.clear()

    async def release(self) -> None:
        self.lost.set()
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.ftruncate(self._fd, 0)
            os.close(self._fd)
            self._fd = None


def leadership_for(database_url: str, name: str) -> Leadership:
    """The lock for this database: advisory lock (PostgreSQL), file lock (SQLite file), none (in memory)."""
    url = make_url(database_url)
    if url.get_backend_name() == "postgresql":
        return AdvisoryLock(name, database_url)
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        database = Path(url.database).resolve()
        return FileLock(name, database.with_name(f"{database.name}.{name}.lock"))
    return Leadership(name)


def file_lock_holder(database_path: Path, name: str) -> int | None:
    """The pid written by the holder of a SQLite file lock (None when nobody holds it)."""
    path = database_path.resolve().with_name(f"{database_path.name}.{name}.lock")
    try:
        text = path.read_text().strip()
    except FileNotFoundError:
        return None
    return int(text) if text.isdigit() else None
