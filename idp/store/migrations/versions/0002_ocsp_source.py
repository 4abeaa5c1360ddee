"""Licence authorities: optional OCSP source beside the CRL source.

``ocsp_source`` is an http(s) URL of the CA's OCSP responder, or ``aia`` for the responder
named in each certificate's authorityInformationAccess extension (RFC 6960, RFC 5280
section 4.2.2.1); NULL means no OCSP checking for that CA.

Revision ID: 0002
Revises: 0001
Create Date: 2025-12-01
"""
from alembic import op
import sqlalchemy as sa

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("licence_authorities") as batch:
        batch.add_column(sa.Column("ocsp_source", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("licence_authorities") as batch:
        batch.drop_column("ocsp_source")
