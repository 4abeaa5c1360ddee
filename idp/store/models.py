"""Durable tables (SQLAlchemy 2 declarative), portable across SQLite and PostgreSQL.

Conventions: every timestamp is a float of epoch seconds (UTC by definition, no time-zone
handling, cheap to compare); secrets and tokens are stored as SHA-256 hex, never raw;
personal data is stored encrypted (``*_enc`` columns hold ciphertext made by the caller).
``idp/store/migrations/versions`` must match this module exactly (a test compares them).
JSON columns are plain ``JSON``: assign a new value to change one (in-place mutation of
a dict is not tracked).
"""
from __future__ import annotations

import time

from sqlalchemy import JSON, BigInteger, Boolean, Double, ForeignKey, Integer, LargeBinary, MetaData, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# Stable constraint names, so later migrations (and SQLite batch mode) can refer to them.
NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_name)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


def _cascade(target: str) -> ForeignKey:
    return ForeignKey(target, ondelete="CASCADE")


class Client(Base):
    __tablename__ = "clients"

    client_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    client_secret_hash: Mapped[str | None] = mapped_column(String(64))
    secret_expires_at: Mapped[float | None] = mapped_column(Double)
    client_name: Mapped[str] = mapped_column(String(200), unique=True)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    # Registration metadata (RFC 7591 / OIDC Dynamic Registration names) plus local flags.
    metadata_: Mapped[dict] = mapped_column("metadata", JSON, default=dict)
    created_at: Mapped[float] = mapped_column(Double, default=time.time)
    updated_at: Mapped[float] = mapped_column(Double, default=time.time, onupdate=time.time)


class Grant(Base):
    """One authorization: the family of tokens issued from it is revoked together."""

    __tablename__ = "grants"

    grant_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    client_id: Mapped[str] = mapped_column(String(64), _cascade("clients.client_id"), index=True)
    subject: Mapped[str] = mapped_column(String(128), index=True)  # internal key, never an ID number
    sid: Mapped[str | None] = mapped_column(String(64), index=True)
    scope: Mapped[str] = mapped_column(Text, default="")
    claims_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    auth_time: Mapped[float] = mapped_column(Double)
    acr: Mapped[str | None] = mapped_column(String(64))
    amr: Mapped[list] = mapped_column(JSON, default=list)
    created_at: Mapped[float] = mapped_column(Double, default=time.time)
    expires_at: Mapped[float] = mapped_column(Double)
    revoked_at: Mapped[float | None] = mapped_column(Double)
    revoked_reason: Mapped[str | None] = mapped_column(String(64))


class RefreshToken(Base):
    __tablename__ = "refresh_tokens"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    grant_id: Mapped[str] = mapped_column(String(64), _cascade("grants.grant_id"), index=True)
    client_id: Mapped[str] = mapped_column(String(64))
    scope: Mapped[str] = mapped_column(Text, default="")
    issued_at: Mapped[float] = mapped_column(Double, default=time.time)
    expires_at: Mapped[float] = mapped_column(Double)
    used_at: Mapped[float | None] = mapped_column(Double)  # set on rotation; a second use is reuse
    revoked_at: Mapped[float | None] = mapped_column(Double)


class Consent(Base):
    __tablename__ = "consents"

    subject: Mapped[str] = mapped_column(String(128), primary_key=True)
    client_id: Mapped[str] = mapped_column(String(64), _cascade("clients.client_id"), primary_key=True)
    scope: Mapped[str] = mapped_column(Text, default="")  # space-separated
    granted_at: Mapped[float] = mapped_column(Double, default=time.time)
    expires_at: Mapped[float] = mapped_column(Double)


class AuditEvent(Base):
    """Append-only; ``hash`` chains each row to the previous one (see ``audit.py``)."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ts: Mapped[float] = mapped_column(Double, index=True)
    event: Mapped[str] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(16), index=True)  # success / failure / info
    # Not a foreign key: the trail outlives deleted clients.
    client_id: Mapped[str | None] = mapped_column(String(64), index=True)
    subject: Mapped[str | None] = mapped_column(String(128))  # masked or pairwise only
    ip: Mapped[str | None] = mapped_column(String(64))
    method: Mapped[str | None] = mapped_column(String(32))
    reason: Mapped[str | None] = mapped_column(Text)
    details: Mapped[dict] = mapped_column(JSON, default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditPending(Base):
    """Audit events committed but not yet in the chain (PostgreSQL; ``audit_staging.py``)."""

    __tablename__ = "audit_pending"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"),
                                    primary_key=True, autoincrement=True)
    ts: Mapped[float] = mapped_column(Double)
    event: Mapped[str] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(16))
    client_id: Mapped[str | None] = mapped_column(String(64))
    subject: Mapped[str | None] = mapped_column(String(128))
    ip: Mapped[str | None] = mapped_column(String(64))
    method: Mapped[str | None] = mapped_column(String(32))
    reason: Mapped[str | None] = mapped_column(Text)
    details: Mapped[dict] = mapped_column(JSON, default=dict)


class AuditCheckpoint(Base):
    """A signed head of the audit chain (see ``idp/audittrail/checkpoints.py``)."""

    __tablename__ = "audit_checkpoints"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    event_id: Mapped[int] = mapped_column(Integer)
    hash: Mapped[str] = mapped_column(String(64))
    count: Mapped[int] = mapped_column(Integer)  # events in the chain up to event_id, archived ones too
    ts: Mapped[float] = mapped_column(Double)
    jws: Mapped[str] = mapped_column(Text)
    sent_at: Mapped[float | None] = mapped_column(Double)  # handed to the syslog/http sink


class AuditAnchor(Base):
    """Where the chain in the table starts once older events are archived: a checkpoint."""

    __tablename__ = "audit_anchor"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)  # always 1
    event_id: Mapped[int] = mapped_column(Integer)
    hash: Mapped[str] = mapped_column(String(64))
    count: Mapped[int] = mapped_column(Integer)
    checkpoint_jws: Mapped[str] = mapped_column(Text)
    archived_at: Mapped[float] = mapped_column(Double)


class DataKey(Base):
    """A key that must outlive root-secret rotation (subject and row-key HMACs), stored
    wrapped (sealed) under the current root secret; see ``idp/rootkeys.py``."""

    __tablename__ = "data_keys"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    wrapped: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[float] = mapped_column(Double, default=time.time)
    updated_at: Mapped[float] = mapped_column(Double, default=time.time)


class SigningKey(Base):
    """Key metadata shared by every node; the key material lives in ``keys/``."""

    __tablename__ = "signing_keys"

    kid: Mapped[str] = mapped_column(String(64), primary_key=True)
    alg: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16))  # next (published) / active / retired
    created_at: Mapped[float] = mapped_column(Double, default=time.time)
    activated_at: Mapped[float | None] = mapped_column(Double)
    retired_at: Mapped[float | None] = mapped_column(Double)
    remove_after: Mapped[float | None] = mapped_column(Double)  # leaves the JWKS after this


class Ephemeral(Base):
    """Rows of the SQL short-lived store (``sql_store.py`` uses Core, not this class)."""

    __tablename__ = "ephemeral"

    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    value: Mapped[str] = mapped_column(Text)  # JSON text
    expires_at: Mapped[float] = mapped_column(Double, index=True)


class RegistryPerson(Base):
    __tablename__ = "registry_persons"

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)  # HMAC of the ID number
    name_enc: Mapped[bytes] = mapped_column(LargeBinary)
    template_enc: Mapped[bytes | None] = mapped_column(LargeBinary)  # face template, encrypted
    source: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[float] = mapped_column(Double, default=time.time)
    updated_at: Mapped[float] = mapped_column(Double, default=time.time, onupdate=time.time)


class AdminUser(Base):
    __tablename__ = "admin_users"

    username: Mapped[str] = mapped_column(String(64), primary_key=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    totp_secret_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    recovery_codes: Mapped[list] = mapped_column(JSON, default=list)  # hashes, never raw codes
    failed_attempts: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[float | None] = mapped_column(Double)
    created_at: Mapped[float] = mapped_column(Double, default=time.time)
    last_login_at: Mapped[float | None] = mapped_column(Double)


class LicenceAuthority(Base):
    __tablename__ = "licence_authorities"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # SHA-256 hex of the cert DER
    name: Mapped[str] = mapped_column(String(200))
    cert_pem: Mapped[str] = mapped_column(Text)
    is_anchor: Mapped[bool] = mapped_column(Boolean, default=False)
    crl_source: Mapped[str | None] = mapped_column(Text)  # file path or URL
    ocsp_source: Mapped[str | None] = mapped_column(Text)  # http(s) URL or "aia"
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[float] = mapped_column(Double, default=time.time)
