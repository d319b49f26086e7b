"""The hot path's database access: one thread, one held connection, prebuilt statements, group commit.

Every request authenticates, reserves credits and settles them. Through the async engine each of those
costs a thread hop, a pool checkout and statement construction (about 1 ms on SQLite); on one held
connection with prebuilt statements a statement costs tens of microseconds. Operations queued while a
batch runs are committed together in one transaction, so under load the commit is shared as well.

Operations are plain functions `fn(conn) -> result` written with SQLAlchemy Core, so the same code runs on
SQLite (pysqlite) and PostgreSQL (psycopg). A batch that fails is retried one operation per transaction,
so one failing operation never takes others down with it.

On SQLite, when nothing is queued, operations run on the event loop's own held connection: those issued
during one loop iteration are committed together right after it (group commit without a thread hop: a few
tens of microseconds per operation, one commit per batch). That connection never waits for a lock
(busy_timeout 0), so the loop is never blocked behind a transaction that needs the loop to finish. A batch
that finds another connection writing (another server process on the same file, a checkpoint) is tried
again on the loop a little later (`locked_retries`: 1, 2, 4, 8 ms), with what arrived meanwhile; only after
that does it go to the thread, which waits for the lock. With two processes on one file a seventh of the
loop's batches found the lock taken, and sending each of them to the thread at once put about a third of all
operations there: every one a thread hop and a contest for the GIL with the loop.

Under load the loop's iterations are short, so a batch would hold about one operation and each request would
pay its own commits. When requests queue (`QueueWait`: how long they waited between Envoy receiving them and
their handler starting) and the loop's thread is saturated (`LoopSaturation`: running, or waiting for a CPU), a
batch first waits for more operations: a quarter of the queueing, from MIN_DELAY up to `commit_delay` seconds
(PostgreSQL's commit_delay, with queueing in place of commit_siblings). Then waiting costs no throughput: the
loop serves queued requests meanwhile, and shared commits give CPU back (a batch of 16 costs about half as much
per operation as a batch of 4). Without a queue a wait would only idle the requests it parks (a fixed 15 ms
wait cost a quarter of the throughput at 8 concurrent callers), so an unqueued or unsaturated loop (c=1, light
load) never waits.

`read()` runs a read-only operation at once on the loop's connection (in WAL mode a read never waits for a
writer), without a transaction, a commit or a wait for the batch: how every request is authenticated.

On SQLite the ledger thread also runs the `maintenance` tasks every `maintenance_seconds`: work derived from
what requests wrote, kept off the request path (server.domain.usage_index). They run on a connection of their
own in autocommit mode, each statement its own transaction, so a task does what must be atomic in one
statement: then it holds the write lock only inside SQLite, never while this thread waits for the GIL between
statements (up to the interpreter's 5 ms switch interval while the loop runs, each a stall for the loop's
batches, which find the database locked).

Each transaction carries `conn.info[FLUSH]`, a dict of objects with `flush(conn)` that operations may add to
(e.g. per-day rollups summed over the batch, server.domain.usage_stats); they run just before the commit.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import create_engine as create_sync_engine
from sqlalchemy import event
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import OperationalError

from server.db.session import WAL_SIZE_LIMIT, sqlite_pragmas
from server.metrics import LEDGER_BATCH, LEDGER_LOCKED

log = logging.getLogger("hub.ledger")

T = TypeVar("T")
MAX_BATCH = 256
CHECKPOINT_IDLE_SECONDS = 0.25  # the ledger thread checkpoints at least this often (idle or not)
WAL_RESTART_FRAMES = 4096  # a WAL longer than this (16 MB of 4 KB pages) is restarted from its beginning
SATURATION_WINDOW = 0.1  # seconds over which the loop thread's busy time is measured
SATURATION_THRESHOLD = 0.8  # busy fraction (running or waiting for a CPU) from which the loop is saturated
QUEUE_FACTOR = 4  # a batch waits at most this fraction (1/QUEUE_FACTOR) of how long requests queue
# Seconds: no shorter wait. Requests that wait less than QUEUE_FACTOR times this are not queueing (at c=1 the
# stack alone takes about 1.5 ms from Envoy to the handler), and a shorter wait gathers little.
MIN_DELAY = 0.002
QUEUE_WAIT_WEIGHT = 1 / 32  # weight of each request in the moving average of queueing
MAX_PLAUSIBLE_WAIT = 60.0  # seconds: a longer "wait" is a clock skew or a forged header, and is ignored
# Seconds a batch that found the database locked waits before its next try on the loop; after the last, the
# thread. Another process's batch holds the lock for a few milliseconds.
LOCKED_RETRIES = (0.001, 0.002, 0.004, 0.008)
_STOP = object()
_LOOP_BATCHES = LEDGER_BATCH.labels("loop")
_THREAD_BATCHES = LEDGER_BATCH.labels("thread")
_LOCKED_RETRIED = LEDGER_LOCKED.labels("retry")
_LOCKED_TO_THREAD = LEDGER_LOCKED.labels("thread")
FLUSH = "ledger.flush"  # conn.info key: work an operation defers to the end of its batch's transaction


def sync_url(url: str) -> str:
    """The synchronous driver for the configured database (aiosqlite -> pysqlite, asyncpg -> psycopg)."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    driver = {"sqlite": "pysqlite", "postgresql": "psycopg"}.get(backend)
    return parsed.set(drivername=f"{backend}+{driver}" if driver else backend).render_as_string(hide_password=False)


class LedgerThread:
    def __init__(
        self,
        url: str,
        commit_delay: float = 0.0,
        wal_restart_frames: int = WAL_RESTART_FRAMES,
        wal_size_limit: int = WAL_SIZE_LIMIT,
        locked_retries: tuple[float, ...] = LOCKED_RETRIES,
        maintenance: tuple[Callable[[Connection], bool], ...] = (),
        maintenance_seconds: float = CHECKPOINT_IDLE_SECONDS,
    ):
        self.engine = create_sync_engine(sync_url(url), pool_size=1, max_overflow=0)
        self._maintenance_engine = None
        if self.engine.dialect.name == "sqlite":
            pragmas = sqlite_pragmas(autocheckpoint=False, wal_size_limit=wal_size_limit)
            event.listen(self.engine, "connect", pragmas)
            if maintenance:
                self._maintenance_engine = create_sync_engine(
                    self.engine.url, pool_size=1, max_overflow=0, isolation_level="AUTOCOMMIT"
                )
                event.listen(self._maintenance_engine, "connect", pragmas)
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pending = 0  # operations handed to the thread and not yet delivered
        self._inline: Connection | None = None
        self._tick: list[tuple[Callable[[Connection], Any], asyncio.Future]] = []  # the inline batch
        self._tick_handle: asyncio.TimerHandle | asyncio.Handle | None = None
        self.commit_delay = commit_delay
        self.locked_retries = locked_retries
        self.maintenance = maintenance  # fn(conn) -> whether more is waiting; conn in autocommit mode
        self.maintenance_seconds = min(maintenance_seconds, CHECKPOINT_IDLE_SECONDS)
        self._locked_tries = 0  # consecutive inline batches that found the database locked
        self.wal_restart_frames = wal_restart_frames
        self.wal_size_limit = wal_size_limit
        self._saturation = LoopSaturation()
        self.queue_wait = QueueWait()  # fed by server.rpc from each request's Envoy arrival time

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        if self.engine.dialect.name == "sqlite":  # first: two connections switching a new file to WAL can deadlock
            inline_engine = create_sync_engine(self.engine.url, pool_size=1, max_overflow=0)
            pragmas = sqlite_pragmas(busy_timeout_ms=0, autocheckpoint=False, wal_size_limit=self.wal_size_limit)
            event.listen(inline_engine, "connect", pragmas)
            self._inline = inline_engine.connect()
        self._thread = threading.Thread(target=self._run, name="ledger", daemon=True)
        self._thread.start()

    async def stop(self) -> None:
        if self._tick_handle is not None:  # a batch waiting for its turn (or its retry) runs on the thread
            self._tick_handle.cancel()
            self._tick_handle = None
        waiting, self._tick = self._tick, []
        for op, future in waiting:
            if not future.done():
                self._to_thread(op, future)
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
        future = self._loop.create_future()
        if self._inline is not None and self._pending == 0:
            self._tick.append((op, future))
            if len(self._tick) == 1:
                delay = self._delay()
                if delay:
                    self._tick_handle = self._loop.call_later(delay, self._run_tick)
                else:
                    self._tick_handle = self._loop.call_soon(self._run_tick)
            elif len(self._tick) == MAX_BATCH and isinstance(self._tick_handle, asyncio.TimerHandle):
                self._tick_handle.cancel()  # a full batch goes at once
                self._tick_handle = self._loop.call_soon(self._run_tick)
        else:
            self._to_thread(op, future)
        return await future

    def _delay(self) -> float:
        """How long a new batch waits for more operations: a fraction of how long requests queue, at most
        commit_delay, and nothing unless the loop is saturated."""
        delay = min(self.commit_delay, self.queue_wait.seconds / QUEUE_FACTOR)
        return delay if delay >= MIN_DELAY and self._saturation.busy() else 0.0

    async def read(self, op: Callable[[Connection], T]) -> T:
        """Runs a read-only op(conn): at once on the loop's connection on SQLite, else like run()."""
        if self._inline is not None:
            try:
                return op(self._inline)
            except OperationalError as exc:  # e.g. a checkpoint emptying the WAL at this moment: wait for it
                if not _locked(exc):
                    raise
                self._inline.rollback()
        future = self._loop.create_future()
        self._to_thread(op, future)
        return await future

    def _to_thread(self, op: Callable[[Connection], Any], future: asyncio.Future) -> None:
        self._pending += 1
        future.add_done_callback(self._delivered)
        self._queue.put((op, future))

    def _delivered(self, _future: asyncio.Future) -> None:
        self._pending -= 1

    def _run_tick(self) -> None:
        """Commits the operations of the loop iteration that just ended on the inline connection; those that
        found the database locked by another connection are tried again (`_retry_locked`)."""
        batch, self._tick = [item for item in self._tick if not item[1].done()], []  # cancelled: never run
        self._tick_handle = None
        if self._inline is None:  # stopped meanwhile
            for op, future in batch:
                self._to_thread(op, future)
            return
        _LOOP_BATCHES.observe(len(batch))
        results = self._execute(self._inline, batch)
        locked = []
        for (op, _), (future, value, exc) in zip(batch, results, strict=True):
            if exc is not None and _locked(exc):
                locked.append((op, future))
            else:
                _deliver([(future, value, exc)])
        if locked:
            self._retry_locked(locked)
        else:
            self._locked_tries = 0

    def _retry_locked(self, items: list[tuple[Callable[[Connection], Any], asyncio.Future]]) -> None:
        """Operations whose batch found the database locked: on the loop again after the next of
        `locked_retries`, ahead of those that arrive meanwhile; after the last, on the thread."""
        if self._locked_tries >= len(self.locked_retries):
            self._locked_tries = 0
            _LOCKED_TO_THREAD.inc()
            for op, future in items:
                self._to_thread(op, future)
            return
        delay = self.locked_retries[self._locked_tries]
        self._locked_tries += 1
        _LOCKED_RETRIED.inc()
        self._tick[:0] = items  # _run_tick cleared the handle and nothing has scheduled another since
        self._tick_handle = self._loop.call_later(delay, self._run_tick)

    def _run(self) -> None:
        sqlite = self.engine.dialect.name == "sqlite"
        last_checkpoint = last_maintenance = time.monotonic()
        wake = (self.maintenance_seconds if self.maintenance else CHECKPOINT_IDLE_SECONDS) if sqlite else None
        maintained = self._maintenance_engine.connect() if self._maintenance_engine is not None else None
        with self.engine.connect() as conn:
            while True:
                try:
                    first = self._queue.get(timeout=wake)
                except queue.Empty:
                    first = None
                if maintained is not None and time.monotonic() - last_maintenance >= self.maintenance_seconds:
                    self._maintain(maintained)
                    last_maintenance = time.monotonic()
                if sqlite and time.monotonic() - last_checkpoint >= CHECKPOINT_IDLE_SECONDS:
                    self._checkpoint(conn)
                    last_checkpoint = time.monotonic()
                if first is None:
                    continue
                if first is _STOP:
                    if maintained is not None:
                        maintained.close()
                        self._maintenance_engine.dispose()
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
                _THREAD_BATCHES.observe(len(batch))
                self._loop.call_soon_threadsafe(_deliver, self._execute(conn, batch))

    def _maintain(self, conn: Connection) -> None:
        """Each maintenance task, step after step, until it has nothing more waiting."""
        for task in self.maintenance:
            try:
                while task(conn):
                    pass
            except Exception:  # tried again at the next turn
                log.warning("ledger maintenance %s failed", getattr(task, "__name__", task), exc_info=True)

    def _checkpoint(self, conn: Connection) -> None:
        """Copies the WAL into the database off the request path (the hot connections never do it).

        A PASSIVE checkpoint never waits, but under constant writes it never catches up either, and a WAL is
        only reused from its start after a complete one: it would grow without end (gigabytes within
        minutes). So when it has grown past `wal_restart_frames`, the PASSIVE pass (which copied nearly
        everything) is followed by a RESTART pass: it waits for the writer of the moment and for
        readers of older snapshots (the inline connection's batches meanwhile queue here), copies the rest,
        and the next write starts the WAL from its beginning; `journal_size_limit` then cuts the file back."""
        try:
            _busy, frames, _copied = conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)").one()
            if frames > self.wal_restart_frames:
                conn.exec_driver_sql("PRAGMA wal_checkpoint(RESTART)").one()
            conn.commit()
        except Exception:  # a skipped checkpoint is retried later
            log.warning("WAL checkpoint failed", exc_info=True)

    def _execute(self, conn: Connection, batch: list) -> list[tuple[asyncio.Future, Any, BaseException | None]]:
        try:
            return _transaction(conn, batch)
        except Exception as exc:
            if len(batch) == 1 or (conn is self._inline and _locked(exc)):  # locked: all of it is tried again
                return [(future, None, exc) for _op, future in batch]
        out = []  # retry one operation per transaction: each commits once or fails alone
        for item in batch:
            try:
                out.extend(_transaction(conn, [item]))
            except Exception as exc:
                out.append((item[1], None, exc))
        return out


class QueueWait:
    """A moving average of how long requests waited before their handler started: Envoy stamps each request
    with its arrival time (x-hub-received-at, server/rpc.py reads it). Requests that reach the server without
    the stamp (direct gRPC callers) are not counted."""

    __slots__ = ("seconds",)

    def __init__(self) -> None:
        self.seconds = 0.0

    def observe(self, received_at: str | None) -> None:
        if not received_at:
            return
        try:
            wait = time.time() - float(received_at)
        except ValueError:
            return
        if 0.0 <= wait <= MAX_PLAUSIBLE_WAIT:
            self.seconds += (wait - self.seconds) * QUEUE_WAIT_WEIGHT


class LoopSaturation:
    """Whether the calling thread (the event loop's) was busy for at least `threshold` of the last window:
    running, or ready to run and waiting for a CPU (Linux schedstat: on a machine whose cores are all busy a
    saturated loop gets less than a whole CPU). Refreshed at most once per window, so asking is cheap."""

    def __init__(self, window: float = SATURATION_WINDOW, threshold: float = SATURATION_THRESHOLD) -> None:
        self.window = window
        self.threshold = threshold
        self._since = time.monotonic()
        self._used = _busy_seconds()
        self._busy = False

    def busy(self) -> bool:
        now = time.monotonic()
        elapsed = now - self._since
        if elapsed >= self.window:
            used = _busy_seconds()
            self._busy = (used - self._used) >= self.threshold * elapsed
            self._since, self._used = now, used
        return self._busy


def _busy_seconds() -> float:
    """This thread's time on a CPU plus its time waiting in a run queue, in seconds (CPU time alone where the
    kernel does not report the wait)."""
    try:
        with open("/proc/thread-self/schedstat", "rb") as f:
            running_ns, waiting_ns, _slices = f.read().split()
        return (int(running_ns) + int(waiting_ns)) / 1e9
    except (OSError, ValueError):
        return time.thread_time()


def _transaction(conn: Connection, batch: list) -> list[tuple[asyncio.Future, Any, None]]:
    """The batch's operations in one transaction, then what they deferred (conn.info[FLUSH]), then commit."""
    conn.info[FLUSH] = {}
    try:
        with conn.begin():
            out = [(future, op(conn), None) for op, future in batch]
            for deferred in conn.info[FLUSH].values():
                deferred.flush(conn)
        return out
    finally:
        conn.info.pop(FLUSH, None)


def _locked(exc: BaseException) -> bool:
    return isinstance(exc, OperationalError) and ("locked" in str(exc) or "busy" in str(exc))


def _deliver(results: list[tuple[asyncio.Future, Any, BaseException | None]]) -> None:
    for future, value, exc in results:
        if future.done():
            continue
        if exc is not None:
            future.set_exception(exc)
        else:
            future.set_result(value)
