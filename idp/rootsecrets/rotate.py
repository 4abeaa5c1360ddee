"""``idp secrets rotate``: re-seal durable data under the current root secret.

What is sealed with the root secret and lives long enough to need it:

* ``data_keys`` (subject and registry row-key HMAC keys, ``datakeys.py``);
* ``registry_persons.name_enc`` / ``template_enc`` (``registry/crypto.py``);
* ``grants.claims_enc`` (user claims behind refresh tokens, ``Sealer("claims")``);
* ``admin_users.totp_secret_enc`` (``Sealer("admin-totp")``).

Short-lived state (SSO sessions, codes, login and liveness sessions) is not re-sealed: it
expires within ``IDP_SESSION_TTL``, and the old secret stays in the ring until then.

Each table is walked in primary-key order in batches, each batch one transaction that locks
its rows (``SELECT ... FOR UPDATE`` on PostgreSQL; SQLite's write lock), so a concurrent
import or login never has its write overwritten.  Rows already under the current secret
are skipped, so an interrupted run is resumed by running it again.  A blob no secret of the
ring opens is left alone and counted: the command then exits non-zero, and the old secret
must not be removed.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from sqlalchemy import select

from ..registry.crypto import DecryptError, row_aad
from ..registry.factory import field_cipher
from ..sealing import Sealer
from ..store.models import AdminUser, DataKey, Grant, RegistryPerson


@dataclass
class Column:
    """How to read the key id of, and re-seal, one sealed column."""

    model: type
    pk: str
    column: str
    key_id: Callable[[bytes], str | None]
    reseal: Callable[[bytes, object], bytes]  # (blob, row) -> blob under the current secret


@dataclass
class Outcome:
    resealed: dict = field(default_factory=dict)
    unreadable: dict = field(default_factory=dict)
    by_key: dict = field(default_factory=dict)  # status: {"table.column": {key id: rows}}


def columns(ring) -> list[Column]:
    claims = Sealer(ring, "claims")
    totp = Sealer(ring, "admin-totp")
    wrap = Sealer(ring, "data-key")
    cipher = field_cipher(ring)

    def sealer_reseal(sealer, aad_of):
        def reseal(blob, row):
            aad = aad_of(row)
            plain = sealer.open_bytes(blob, aad)
            if plain is None:
                raise DecryptError("no secret of the ring opens it")
            return sealer.seal_bytes(plain, aad)
        return reseal

    def field_reseal(name):
        def reseal(blob, row):
            aad = row_aad(row.id_hash, name)
            return cipher.encrypt(cipher.decrypt(blob, aad), aad)
        return reseal

    return [
        Column(DataKey, "name", "wrapped", wrap.key_id,
               sealer_reseal(wrap, lambda row: row.name.encode())),
        Column(RegistryPerson, "id_hash", "name_enc", cipher.key_id, field_reseal("name")),
        Column(RegistryPerson, "id_hash", "template_enc", cipher.key_id, field_reseal("template")),
        Column(Grant, "grant_id", "claims_enc", claims.key_id,
               sealer_reseal(claims, lambda row: row.grant_id.encode())),
        Column(AdminUser, "username", "totp_secret_enc", totp.key_id,
               sealer_reseal(totp, lambda row: row.username.encode())),
    ]


def _label(col: Column) -> str:
    return f"{col.model.__tablename__}.{col.column}"


def status(db, ring) -> dict:
    """{"table.column": {key id: rows}} over every sealed column."""
    counts: dict = {}
    with db.session(write=False) as s:
        for col in columns(ring):
            tally = counts.setdefault(_label(col), {})
            for (blob,) in s.execute(select(getattr(col.model, col.column))
                                     .execution_options(yield_per=1000)):
                if blob is not None:
                    kid = col.key_id(blob) or "?"
                    tally[kid] = tally.get(kid, 0) + 1
    return counts


def rotate(db, ring, *, batch: int = 500, progress: Callable[[str, int], None] | None = None
           ) -> Outcome:
    outcome = Outcome()
    current = ring.current_id
    for col in columns(ring):
        label = _label(col)
        outcome.resealed[label] = outcome.unreadable[label] = 0
        pk = getattr(col.model, col.pk)
        last = None
        while True:
            with db.session() as s:
                query = select(col.model).order_by(pk).limit(batch).with_for_update()
                if last is not None:
                    query = query.where(pk > last)
                rows = s.execute(query).scalars().all()
                for row in rows:
                    blob = getattr(row, col.column)
                    if blob is None or col.key_id(blob) == current:
                        continue
                    try:
                        setattr(row, col.column, col.reseal(blob, row))
                        outcome.resealed[label] += 1
                    except DecryptError:
                        outcome.unreadable[label] += 1
                if rows:
                    last = getattr(rows[-1], col.pk)
            if progress:
                progress(label, outcome.resealed[label])
            if len(rows) < batch:
                break
    return outcome
