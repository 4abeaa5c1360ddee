"""Initial schema: clients, grants, refresh tokens, consents, audit trail, key metadata,
the SQL short-lived store, registry persons, admin users, licence authorities.

Timestamps are float epoch seconds (``sa.Double``).  Must match ``idp.store.models``
exactly; ``tests/store/test_migrations.py`` compares the two on SQLite and PostgreSQL.

Revision ID: 0001
Revises:
Create Date: 2025-11-26
"""
from alembic import op
import sqlalchemy as sa

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _ts(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.Double(), nullable=nullable)


def _id(name: str, length: int = 64, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.String(length), nullable=nullable)


def _fk(column: str, target: str, table: str) -> sa.ForeignKeyConstraint:
    ref_table = target.split(".")[0]
    return sa.ForeignKeyConstraint([column], [target], ondelete="CASCADE",
                                   name=f"fk_{table}_{column}_{ref_table}")


def _index(table: str, *columns: str) -> None:
    for column in columns:
        op.create_index(f"ix_{table}_{column}", table, [column], unique=False)


def upgrade() -> None:
    op.create_table(
        "clients",
        _id("client_id"),
        _id("client_secret_hash", nullable=True),
        _ts("secret_expires_at", nullable=True),
        sa.Column("client_name", sa.String(200), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("is_admin", sa.Boolean(), nullable=False),
        sa.Column("metadata", sa.JSON(), nullable=False),
        _ts("created_at"),
        _ts("updated_at"),
        sa.PrimaryKeyConstraint("client_id", name="pk_clients"),
        sa.UniqueConstraint("client_name", name="uq_clients_client_name"),
    )
    op.create_table(
        "grants",
        _id("grant_id"),
        _id("client_id"),
        _id("subject", 128),
        _id("sid", nullable=True),
        sa.Column("scope", sa.Text(), nullable=False),
        sa.Column("claims_enc", sa.LargeBinary(), nullable=True),
        _ts("auth_time"),
        _id("acr", nullable=True),
        sa.Column("amr", sa.JSON(), nullable=False),
        _ts("created_at"),
        _ts("expires_at"),
        _ts("revoked_at", nullable=True),
        _id("revoked_reason", nullable=True),
        _fk("client_id", "clients.client_id", "grants"),
        sa.PrimaryKeyConstraint("grant_id", name="pk_grants"),
    )
    _index("grants", "client_id", "sid", "subject")
    op.create_table(
        "refresh_tokens",
        _id("token_hash"),
        _id("grant_id"),
        _id("client_id"),
        sa.Column("scope", sa.Text(), nullable=False),
        _ts("issued_at"),
        _ts("expires_at"),
        _ts("used_at", nullable=True),
        _ts("revoked_at", nullable=True),
        _fk("grant_id", "grants.grant_id", "refresh_tokens"),
        sa.PrimaryKeyConstraint("token_hash", name="pk_refresh_tokens"),
    )
    _index("refresh_tokens", "grant_id")
    op.create_table(
        "consents",
        _id("subject", 128),
        _id("client_id"),
        sa.Column("scope", sa.Text(), nullable=False),
        _ts("granted_at"),
        _ts("expires_at"),
        _fk("client_id", "clients.client_id", "consents"),
        sa.PrimaryKeyConstraint("subject", "client_id", name="pk_consents"),
    )
    op.create_table(
        "audit_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        _ts("ts"),
        _id("event"),
        _id("outcome", 16),
        _id("client_id", nullable=True),
        _id("subject", 128, nullable=True),
        _id("ip", nullable=True),
        _id("method", 32, nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("details", sa.JSON(), nullable=False),
        _id("prev_hash"),
        _id("hash"),
        sa.PrimaryKeyConstraint("id", name="pk_audit_events"),
    )
    _index("audit_events", "client_id", "outcome", "ts")
    op.create_table(
        "signing_keys",
        _id("kid"),
        _id("alg", 16),
        _id("state", 16),
        _ts("created_at"),
        _ts("activated_at", nullable=True),
        _ts("retired_at", nullable=True),
        _ts("remove_after", nullable=True),
        sa.PrimaryKeyConstraint("kid", name="pk_signing_keys"),
    )
    op.create_table(
        "ephemeral",
        _id("key", 255),
        sa.Column("value", sa.Text(), nullable=False),
        _ts("expires_at"),
        sa.PrimaryKeyConstraint("key", name="pk_ephemeral"),
    )
    _index("ephemeral", "expires_at")
    op.create_table(
        "registry_persons",
        _id("id_hash"),
        sa.Column("name_enc", sa.LargeBinary(), nullable=False),
        sa.Column("template_enc", sa.LargeBinary(), nullable=True),
        _id("source", 32),
        _ts("created_at"),
        _ts("updated_at"),
        sa.PrimaryKeyConstraint("id_hash", name="pk_registry_persons"),
    )
    op.create_table(
        "admin_users",
        _id("username"),
        _id("password_hash", 255),
        _id("role", 16),
        sa.Column("totp_secret_enc", sa.LargeBinary(), nullable=True),
        sa.Column("recovery_codes", sa.JSON(), nullable=False),
        sa.Column("failed_attempts", sa.Integer(), nullable=False),
        _ts("locked_until", nullable=True),
        _ts("created_at"),
        _ts("last_login_at", nullable=True),
        sa.PrimaryKeyConstraint("username", name="pk_admin_users"),
    )
    op.create_table(
        "licence_authorities",
        _id("id"),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("cert_pem", sa.Text(), nullable=False),
        sa.Column("is_anchor", sa.Boolean(), nullable=False),
        sa.Column("crl_source", sa.Text(), nullable=True),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        _ts("created_at"),
        sa.PrimaryKeyConstraint("id", name="pk_licence_authorities"),
    )


def downgrade() -> None:
    for table in ("licence_authorities", "admin_users", "registry_persons", "ephemeral",
                  "signing_keys", "audit_events", "consents", "refresh_tokens", "grants",
                  "clients"):
        op.drop_table(table)
