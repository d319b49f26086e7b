"""usage_latencies: the latency percentile indexes move off usage_records into a table derived from it

Every settlement inserted a usage record into eleven B-trees, six of them the duration indexes whose new entry
lands at a random page. They now index `usage_latencies`, which server.domain.usage_index derives from the
records (with the per-day rollups) off the request path on SQLite. The backfill copies every existing record,
so the derived tables start level with the records (the rollups already were). On SQLite, where the
records are derived after they are written, a trigger adds each new latency row's record to the three
rollups, so that one INSERT ... SELECT derives a batch of records atomically.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 14:10:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

COLUMNS = "user_id, endpoint, provider, model, session_id, client_ip, duration_ms, created_at"
# name -> columns, on usage_latencies now and on usage_records before (the day index is an expression index)
WALK_INDEXES = {
    "model": ["user_id", "provider", "model", "duration_ms", "created_at"],
    "provider": ["user_id", "provider", "duration_ms", "created_at"],
    "endpoint": ["user_id", "endpoint", "duration_ms", "created_at"],
    "ip": ["user_id", "client_ip", "duration_ms", "created_at"],
    "session": ["user_id", "session_id", "duration_ms", "created_at"],
}


_SUMS = "requests, errors, input_tokens, output_tokens, cost_nanos, duration_ms"
_ADD = ", ".join(f"{c} = {c} + excluded.{c}" for c in _SUMS.split(", "))
_ONE = "1, status = 'error', input_tokens, output_tokens, cost_nanos, duration_ms"
ROLLUP_TRIGGER = f"""
CREATE TRIGGER usage_latencies_rollups AFTER INSERT ON usage_latencies
BEGIN
  INSERT INTO usage_daily (user_id, day, endpoint, provider, model, {_SUMS}, streams, ttft_ms)
    SELECT user_id, date(created_at), endpoint, provider, model, {_ONE}, ttft_ms IS NOT NULL, COALESCE(ttft_ms, 0)
    FROM usage_records WHERE id = NEW.record_id
    ON CONFLICT (user_id, day, endpoint, provider, model) DO UPDATE SET {_ADD},
      streams = streams + excluded.streams, ttft_ms = ttft_ms + excluded.ttft_ms;
  INSERT INTO usage_daily_sessions (user_id, day, session_id, endpoint, provider, model, {_SUMS}, first_at, last_at)
    SELECT user_id, date(created_at), COALESCE(session_id, ''), endpoint, provider, model, {_ONE},
      created_at, created_at
    FROM usage_records WHERE id = NEW.record_id
    ON CONFLICT (user_id, day, session_id, endpoint, provider, model) DO UPDATE SET {_ADD},
      first_at = MIN(first_at, excluded.first_at), last_at = MAX(last_at, excluded.last_at);
  INSERT INTO usage_daily_clients (user_id, day, client_ip, endpoint, provider, model, {_SUMS})
    SELECT user_id, date(created_at), COALESCE(client_ip, ''), endpoint, provider, model, {_ONE}
    FROM usage_records WHERE id = NEW.record_id
    ON CONFLICT (user_id, day, client_ip, endpoint, provider, model) DO UPDATE SET {_ADD};
END
"""


def _day_index(table: str, name: str) -> None:
    """Same expression as server.db.models.utc_day (the index only serves queries that spell it identically)."""
    day = (
        "CAST(timezone('UTC', created_at) AS DATE)"
        if op.get_bind().dialect.name == "postgresql"
        else "date(created_at)"
    )
    op.execute(f"CREATE INDEX {name} ON {table} (user_id, {day}, duration_ms, created_at, endpoint, provider, model)")


def upgrade() -> None:
    id_type = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
    op.create_table(
        "usage_latencies",
        sa.Column("record_id", id_type, autoincrement=False, nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("endpoint", sa.String(length=32), nullable=False),
        sa.Column("provider", sa.String(length=64), nullable=False),
        sa.Column("model", sa.String(length=200), nullable=False),
        sa.Column("session_id", sa.String(length=200), nullable=True),
        sa.Column("client_ip", sa.String(length=64), nullable=True),
        sa.Column("duration_ms", sa.Float(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["record_id"], ["usage_records.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("record_id"),
    )
    op.execute(f"INSERT INTO usage_latencies (record_id, {COLUMNS}) SELECT id, {COLUMNS} FROM usage_records")
    for group, columns in WALK_INDEXES.items():
        op.create_index(f"ix_latency_user_{group}_duration", "usage_latencies", columns, unique=False)
    _day_index("usage_latencies", "ix_latency_user_day_duration")
    if op.get_bind().dialect.name == "sqlite":  # elsewhere records are derived in their own transaction
        op.execute(ROLLUP_TRIGGER)
    op.drop_index("ix_usage_user_day_duration", table_name="usage_records")
    for group in WALK_INDEXES:
        op.drop_index(f"ix_usage_user_{group}_duration", table_name="usage_records")


def downgrade() -> None:
    for group, columns in WALK_INDEXES.items():
        op.create_index(f"ix_usage_user_{group}_duration", "usage_records", columns, unique=False)
    _day_index("usage_records", "ix_usage_user_day_duration")
    op.drop_table("usage_latencies")
