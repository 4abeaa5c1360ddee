"""Signed audit checkpoints, the archive anchor, and data keys wrapped by the root secret.

``audit_checkpoints`` holds every signed chain head (issue 15); ``audit_anchor`` (one row)
names the checkpoint the chain in ``audit_events`` starts after once older events are
archived; ``data_keys`` holds the HMAC keys of subjects and registry row keys, sealed under
the current root secret so that ``IDP_SECRET_KEYS`` can rotate without changing them.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-04
"""
from alembic import op
import sqlalchemy as sa

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit_checkpoints",
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("ts", sa.Double(), nullable=False),
        sa.Column("jws", sa.Text(), nullable=False),
        sa.Column("sent_at", sa.Double(), nullable=True),
        sa.PrimaryKeyConstraint("seq", name="pk_audit_checkpoints"),
    )
    op.create_table(
        "audit_anchor",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("checkpoint_jws", sa.Text(), nullable=False),
        sa.Column("archived_at", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_audit_anchor"),
    )
    op.create_table(
        "data_keys",
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("wrapped", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.Double(), nullable=False),
        sa.Column("updated_at", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_data_keys"),
    )


def downgrade() -> None:
    op.drop_table("data_keys")
    op.drop_table("audit_anchor")
    op.drop_table("audit_checkpoints")
