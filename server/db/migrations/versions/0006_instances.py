"""instances: each server process's heartbeat, and which process owns each credit hold and active stream

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 09:20:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "instances",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("beats", sa.BigInteger(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    for table in ("credit_holds", "active_streams"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("instance_id", sa.String(length=64), nullable=True))
            batch_op.create_index(batch_op.f(f"ix_{table}_instance_id"), ["instance_id"], unique=False)


def downgrade() -> None:
    for table in ("active_streams", "credit_holds"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(batch_op.f(f"ix_{table}_instance_id"))
            batch_op.drop_column("instance_id")
    op.drop_table("instances")
