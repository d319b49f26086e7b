"""credit_holds: one B-tree per hold (SQLite WITHOUT ROWID, no secondary indexes)

Every request writes a hold and deletes it again; on SQLite each B-tree it touches is one more page in
the WAL per commit. The table only ever holds what is in flight (and running video jobs), so the sweeps
that looked holds up by user or instance scan it instead.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 12:20:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

COLUMNS = (
    "request_id, user_id, amount_nanos, created_at, api_key_id, slot, limit_tokens, budget_nanos,"
    " budget_period_key, instance_id"
)


def _table(name: str, *, with_rowid: bool) -> None:
    op.create_table(
        name,
        sa.Column("request_id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("amount_nanos", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("api_key_id", sa.Integer(), nullable=True),
        sa.Column("slot", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("limit_tokens", sa.Integer(), server_default="0", nullable=False),
        sa.Column("budget_nanos", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("budget_period_key", sa.String(length=10), nullable=True),
        sa.Column("instance_id", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("request_id"),
        sqlite_with_rowid=with_rowid,
    )


def _rebuild(*, with_rowid: bool) -> None:
    _table("credit_holds_new", with_rowid=with_rowid)
    op.execute(f"INSERT INTO credit_holds_new ({COLUMNS}) SELECT {COLUMNS} FROM credit_holds")
    op.drop_table("credit_holds")
    op.rename_table("credit_holds_new", "credit_holds")


def upgrade() -> None:
    op.drop_index("ix_credit_holds_instance_id", table_name="credit_holds")
    op.drop_index("ix_credit_holds_user_id", table_name="credit_holds")
    if op.get_bind().dialect.name == "sqlite":
        _rebuild(with_rowid=False)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _rebuild(with_rowid=True)
    op.create_index("ix_credit_holds_user_id", "credit_holds", ["user_id"], unique=False)
    op.create_index("ix_credit_holds_instance_id", "credit_holds", ["instance_id"], unique=False)
