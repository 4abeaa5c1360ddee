"""Staged audit events: committed with the request that caused them, chained shortly after
by a sequencer (``idp/store/audit_staging.py``).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-05
"""
from alembic import op
import sqlalchemy as sa

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit_pending",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True,
                  nullable=False),
        sa.Column("ts", sa.Double(), nullable=False),
        sa.Column("event", sa.String(64), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("client_id", sa.String(64), nullable=True),
        sa.Column("subject", sa.String(128), nullable=True),
        sa.Column("ip", sa.String(64), nullable=True),
        sa.Column("method", sa.String(32), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_audit_pending"),
    )


def downgrade() -> None:
    staged = op.get_bind().execute(sa.text("SELECT count(*) FROM audit_pending")).scalar()
    if staged:  # never drop an event: chain them first (``idp audit checkpoint`` does)
        raise RuntimeError(f"{staged} audit events are staged and not yet chained; run "
                           "`idp audit checkpoint` with the current version first")
    op.drop_table("audit_pending")
