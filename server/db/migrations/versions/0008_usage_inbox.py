"""usage_inbox: settled usage records on their way to usage_records (server.db.usage_inbox)

A settlement writes its usage record into this table, which has no secondary index, instead of into
usage_records and its nine; the ledger thread moves the rows over in bulk.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 20:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "usage_inbox",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("request_id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("api_key_id", sa.Integer(), nullable=True),
        sa.Column("endpoint", sa.String(length=32), nullable=False),
        sa.Column("provider", sa.String(length=64), nullable=False),
        sa.Column("model", sa.String(length=200), nullable=False),
        sa.Column("input_tokens", sa.Integer(), nullable=False),
        sa.Column("output_tokens", sa.Integer(), nullable=False),
        sa.Column("cached_tokens", sa.Integer(), nullable=False),
        sa.Column("reasoning_tokens", sa.Integer(), nullable=False),
        sa.Column("cost_nanos", sa.BigInteger(), nullable=False),
        sa.Column("duration_ms", sa.Float(), nullable=False),
        sa.Column("ttft_ms", sa.Float(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("session_id", sa.String(length=200), nullable=True),
        sa.Column("client_ip", sa.String(length=64), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("byok", sa.Boolean(), nullable=False),
        sa.Column("request_content", sa.JSON(), nullable=True),
        sa.Column("response_content", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("request_id"),
    )


def downgrade() -> None:
    # Whatever is still in the inbox belongs in usage_records.
    columns = (
        "request_id, user_id, api_key_id, endpoint, provider, model, input_tokens, output_tokens, cached_tokens,"
        " reasoning_tokens, cost_nanos, duration_ms, ttft_ms, status, session_id, client_ip, error, byok,"
        " request_content, response_content, created_at"
    )
    op.execute(f"INSERT INTO usage_records ({columns}) SELECT {columns} FROM usage_inbox ORDER BY id")
    op.drop_table("usage_inbox")
