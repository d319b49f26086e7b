"""Async engine and sessions. SQLite gets WAL and a busy timeout; other databases are used as configured."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine


def _ensure_sqlite_dir(url: str) -> None:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)


WAL_SIZE_LIMIT = 16 * 1024 * 1024  # bytes a WAL file is cut back to when it restarts (server.db.ledger)


def sqlite_pragmas(
    busy_timeout_ms: int = 10_000, autocheckpoint: bool = True, wal_size_limit: int = WAL_SIZE_LIMIT
) -> Callable[[Any, Any], None]:
    """A "connect" listener giving each SQLite connection WAL, NORMAL sync, foreign keys and this busy timeout:
    the same settings for the async engine and the ledger's connections. The ledger's connections do not
    checkpoint on commit (a checkpoint syncs the database file: milliseconds on the request path); the ledger
    thread checkpoints instead (server.db.ledger)."""

    def on_connect(dbapi_conn, _record) -> None:
        cur = dbapi_conn.cursor()
        # Switching a new database to WAL takes an exclusive lock: wait for it (two connections opening at
        # once, e.g. the ledger thread's and the inline one, would otherwise fail at once), whatever timeout
        # the connection keeps afterwards.
        cur.execute(f"PRAGMA busy_timeout={max(int(busy_timeout_ms), 10_000)}")
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cur.execute("PRAGMA foreign_keys=ON")
        if not autocheckpoint:
            cur.execute("PRAGMA wal_autocheckpoint=0")
            cur.execute(f"PRAGMA journal_size_limit={int(wal_size_limit)}")
        cur.close()

    return on_connect


def create_engine(url: str) -> AsyncEngine:
    _ensure_sqlite_dir(url)
    is_sqlite = make_url(url).get_backend_name() == "sqlite"
    kwargs = {} if is_sqlite else {"pool_size": 20, "max_overflow": 20, "pool_pre_ping": True}
    engine = create_async_engine(url, **kwargs)
    if is_sqlite:
        event.listen(engine.sync_engine, "connect", sqlite_pragmas())
    return engine


def session_factory(engine: AsyncEngine) -> async_sessionmaker:
    return async_sessionmaker(engine, expire_on_commit=False)
