"""What analytics read besides the usage records: the per-day rollups (server.domain.usage_stats) and the
latency index (`usage_latencies`), both derived from `usage_records`.

Why they are derived rather than written by each settlement: a usage record's rollup upserts and its six
duration index entries (each at a random page) were the largest write of every request. Where they are made:

- SQLite: off the request path, by record id. SQLite assigns a new rowid under the write lock that is held
  until commit, so committed record ids only grow: every record up to the latency index's highest
  `record_id` (the watermark) is derived, none after it. `catch_up` derives the next records after the
  watermark in ONE statement (an INSERT ... SELECT into the latency index, whose trigger adds each row to the
  three rollups, migration 0008): it takes the write lock, reads the watermark and derives under that lock, so
  two processes never derive one record twice, and it needs no Python (no GIL) while it holds the lock. The
  ledger thread runs it every MAINTENANCE_SECONDS in autocommit mode; every reader of the derived tables first
  brings them up to date (`bring_up_to_date`), so an answer includes every request settled before it was asked.
- PostgreSQL: ids come from a sequence and commit out of order, so a watermark could pass a record still being
  committed. There `on_record` writes both in the settlement's own transaction (the rollups summed per ledger
  batch), and `catch_up` has nothing to do.

Readers take the watermark inside their snapshot (`watermark`) and read the records up to it only, so the
rollups, the latency index and the records of one answer always describe the same requests.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncSession

from server.db.models import UsageLatency
from server.domain import usage_stats

if TYPE_CHECKING:
    from server.hub import Hub

CHUNK = 2000  # records derived per statement: about a millisecond of the write lock per 100
MAINTENANCE_SECONDS = 0.05  # how often the ledger thread catches up (about 75 records at 1,500 requests/s)
COLUMNS = "user_id, endpoint, provider, model, session_id, client_ip, duration_ms, created_at"
_NEXT = text(
    f"INSERT INTO usage_latencies (record_id, {COLUMNS}) SELECT id, {COLUMNS} FROM usage_records"
    " WHERE id > (SELECT COALESCE(MAX(record_id), 0) FROM usage_latencies) ORDER BY id LIMIT :chunk"
)
# Read without a lock (in autocommit, or before a transaction's first write): an idle gateway stops here.
_PENDING = text(
    "SELECT (SELECT COALESCE(MAX(id), 0) FROM usage_records)"
    " > (SELECT COALESCE(MAX(record_id), 0) FROM usage_latencies)"
)
_OF_REQUEST = text(
    f"INSERT INTO usage_latencies (record_id, {COLUMNS}) SELECT id, {COLUMNS} FROM usage_records"
    " WHERE request_id = :rid"
)


def derived_by_catch_up(dialect: str) -> bool:
    """Whether records are derived after they are written (SQLite) rather than with them."""
    return dialect == "sqlite"


def on_record(conn: Connection, row: dict[str, Any]) -> None:
    """Called right after a usage record is inserted, in its transaction: derives it there unless `catch_up`
    will (SQLite)."""
    if derived_by_catch_up(conn.dialect.name):
        return
    usage_stats.add_to_rollup(conn, row)
    conn.execute(_OF_REQUEST, {"rid": row["request_id"]})


def catch_up(conn: Connection, chunk: int = CHUNK) -> bool:
    """Derives up to `chunk` records after the watermark (one statement, atomic in autocommit mode too); True
    when more may be waiting. Nothing to do where records are derived as they are written."""
    if not derived_by_catch_up(conn.dialect.name) or not conn.execute(_PENDING).scalar():
        return False
    return conn.execute(_NEXT, {"chunk": chunk}).rowcount >= chunk


async def bring_up_to_date(hub: Hub) -> None:
    """Derives every record committed so far (on SQLite; elsewhere they are derived already)."""
    if not derived_by_catch_up(hub.engine.dialect.name):
        return
    while await hub.ledger.run(catch_up):
        pass


async def watermark(session: AsyncSession) -> int:
    """The highest record id the derived tables include, in the session's snapshot."""
    return int((await session.execute(select(func.coalesce(func.max(UsageLatency.record_id), 0)))).scalar())


def rollups_from_records_sql(dialect: str) -> list[str]:
    """INSERT ... SELECT of the three rollups from every record, grouped (into empty rollup tables)."""
    day = "CAST(timezone('UTC', created_at) AS DATE)" if dialect == "postgresql" else "date(created_at)"
    sums = (
        "COUNT(*), SUM(CASE WHEN status = 'error' THEN 1 ELSE 0 END), SUM(input_tokens), SUM(output_tokens),"
        " SUM(cost_nanos), SUM(duration_ms)"
    )
    columns = "requests, errors, input_tokens, output_tokens, cost_nanos, duration_ms"
    return [
        f"INSERT INTO usage_daily (user_id, day, endpoint, provider, model, {columns}, streams, ttft_ms)"
        f" SELECT user_id, {day}, endpoint, provider, model, {sums}, COUNT(ttft_ms), COALESCE(SUM(ttft_ms), 0)"
        f" FROM usage_records GROUP BY user_id, {day}, endpoint, provider, model",
        "INSERT INTO usage_daily_sessions"
        f" (user_id, day, session_id, endpoint, provider, model, {columns}, first_at, last_at)"
        f" SELECT user_id, {day}, COALESCE(session_id, ''), endpoint, provider, model, {sums},"
        " MIN(created_at), MAX(created_at)"
        f" FROM usage_records GROUP BY user_id, {day}, COALESCE(session_id, ''), endpoint, provider, model",
        f"INSERT INTO usage_daily_clients (user_id, day, client_ip, endpoint, provider, model, {columns})"
        f" SELECT user_id, {day}, COALESCE(client_ip, ''), endpoint, provider, model, {sums}"
        f" FROM usage_records GROUP BY user_id, {day}, COALESCE(client_ip, ''), endpoint, provider, model",
    ]


def rebuild_sql(dialect: str) -> list[str]:
    """Statements that derive both again from every usage record, in one transaction (tests and the benchmarks
    use them after writing records straight into the database). On SQLite the latency index's trigger
    derives the rollups as the index is filled."""
    rollups = [] if derived_by_catch_up(dialect) else rollups_from_records_sql(dialect)
    return [
        "DELETE FROM usage_latencies",
        "DELETE FROM usage_daily",
        "DELETE FROM usage_daily_sessions",
        "DELETE FROM usage_daily_clients",
        f"INSERT INTO usage_latencies (record_id, {COLUMNS}) SELECT id, {COLUMNS} FROM usage_records",
        *rollups,
    ]
