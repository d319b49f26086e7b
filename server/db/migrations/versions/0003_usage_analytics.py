"""usage analytics: the per-day rollups (backfilled from existing records) and the latency indexes

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24 19:41:54.105446
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


# The latency percentile indexes (server.db.models), but for the day one, an expression index made below.
WALK_INDEXES = {
    "ix_usage_user_model_duration": ["user_id", "provider", "model", "duration_ms", "created_at"],
    "ix_usage_user_provider_duration": ["user_id", "provider", "duration_ms", "created_at"],
    "ix_usage_user_endpoint_duration": ["user_id", "endpoint", "duration_ms", "created_at"],
    "ix_usage_user_ip_duration": ["user_id", "client_ip", "duration_ms", "created_at"],
    "ix_usage_user_session_duration": ["user_id", "session_id", "duration_ms", "created_at"],
}


def _utc_day(bind) -> str:
    """Same expression as server.db.models.utc_day (the index only serves queries that spell it identically)."""
    if bind.dialect.name == "postgresql":
        return "CAST(timezone('UTC', created_at) AS DATE)"
    return "date(created_at)"


def upgrade() -> None:
    op.create_table(
        "usage_daily",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("endpoint", sa.String(length=32), nullable=False),
        sa.Column("provider", sa.String(length=64), nullable=False),
        sa.Column("model", sa.String(length=200), nullable=False),
        sa.Column("requests", sa.BigInteger(), nullable=False),
        sa.Column("errors", sa.BigInteger(), nullable=False),
        sa.Column("input_tokens", sa.BigInteger(), nullable=False),
        sa.Column("output_tokens", sa.BigInteger(), nullable=False),
        sa.Column("cost_nanos", sa.BigInteger(), nullable=False),
        sa.Column("duration_ms", sa.Float(), nullable=False),
        sa.Column("streams", sa.BigInteger(), nullable=False),
        sa.Column("ttft_ms", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("user_id", "day", "endpoint", "provider", "model"),
        sqlite_with_rowid=False,
    )
    for name, column, width in (("usage_daily_sessions", "session_id", 200), ("usage_daily_clients", "client_ip", 64)):
        extra = []
        if column == "session_id":
            extra = [
                sa.Column("first_at", sa.DateTime(timezone=True), nullable=False),
                sa.Column("last_at", sa.DateTime(timezone=True), nullable=False),
            ]
        op.create_table(
            name,
            sa.Column("user_id", sa.Integer(), nullable=False),
            sa.Column("day", sa.Date(), nullable=False),
            sa.Column(column, sa.String(length=width), nullable=False),
            sa.Column("endpoint", sa.String(length=32), nullable=False),
            sa.Column("provider", sa.String(length=64), nullable=False),
            sa.Column("model", sa.String(length=200), nullable=False),
            sa.Column("requests", sa.BigInteger(), nullable=False),
            sa.Column("errors", sa.BigInteger(), nullable=False),
            sa.Column("input_tokens", sa.BigInteger(), nullable=False),
            sa.Column("output_tokens", sa.BigInteger(), nullable=False),
            sa.Column("cost_nanos", sa.BigInteger(), nullable=False),
            sa.Column("duration_ms", sa.Float(), nullable=False),
            *extra,
            sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
            sa.PrimaryKeyConstraint("user_id", "day", column, "endpoint", "provider", "model"),
            sqlite_with_rowid=False,
        )
    with op.batch_alter_table("usage_records", schema=None) as batch_op:
        for name, columns in WALK_INDEXES.items():
            batch_op.create_index(name, columns, unique=False)
    bind = op.get_bind()
    day = _utc_day(bind)
    op.execute(
        "CREATE INDEX ix_usage_user_day_duration ON usage_records"
        f" (user_id, {day}, duration_ms, created_at, endpoint, provider, model)"
    )
    # Backfill: the rollups of the records written before they existed (server.domain.usage_stats).
    sums = (
        "COUNT(*), SUM(CASE WHEN status = 'error' THEN 1 ELSE 0 END), SUM(input_tokens), SUM(output_tokens),"
        " SUM(cost_nanos), SUM(duration_ms)"
    )
    columns = "requests, errors, input_tokens, output_tokens, cost_nanos, duration_ms"
    op.execute(
        f"INSERT INTO usage_daily (user_id, day, endpoint, provider, model, {columns}, streams, ttft_ms)"
        f" SELECT user_id, {day}, endpoint, provider, model, {sums}, COUNT(ttft_ms), COALESCE(SUM(ttft_ms), 0)"
        f" FROM usage_records GROUP BY user_id, {day}, endpoint, provider, model"
    )
    op.execute(
        "INSERT INTO usage_daily_sessions"
        f" (user_id, day, session_id, endpoint, provider, model, {columns}, first_at, last_at)"
        f" SELECT user_id, {day}, COALESCE(session_id, ''), endpoint, provider, model, {sums},"
        " MIN(created_at), MAX(created_at)"
        f" FROM usage_records GROUP BY user_id, {day}, COALESCE(session_id, ''), endpoint, provider, model"
    )
    op.execute(
        f"INSERT INTO usage_daily_clients (user_id, day, client_ip, endpoint, provider, model, {columns})"
        f" SELECT user_id, {day}, COALESCE(client_ip, ''), endpoint, provider, model, {sums}"
        f" FROM usage_records GROUP BY user_id, {day}, COALESCE(client_ip, ''), endpoint, provider, model"
    )


def downgrade() -> None:
    op.drop_index("ix_usage_user_day_duration", table_name="usage_records")
    with op.batch_alter_table("usage_records", schema=None) as batch_op:
        for name in WALK_INDEXES:
            batch_op.drop_index(name)

    op.drop_table("usage_daily_clients")
    op.drop_table("usage_daily_sessions")
    op.drop_table("usage_daily")
