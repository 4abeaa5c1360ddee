"""The local registry: the ``registry_persons`` table, filled by ``idp registry import``.

Nothing personal is stored in clear (DESIGN section 13): the row key is an HMAC of the
normalised ID number, the name and the face template are sealed with ``FieldCipher`` and
bound to that key.  The reference photo itself is never stored.
"""
from __future__ import annotations

import logging
import time
from typing import Callable, Iterable

from sqlalchemy import func, select

from ..idnumber import id_hash, parse_id_number
from ..store.models import RegistryPerson
from .base import (Enrolment, PersonRecord, RegistryUnavailable, check_source, check_template,
                   clean_name)
from .crypto import DecryptError, FieldCipher, row_aad

log = logging.getLogger(__name__)


class LocalRegistry:
    kind = "local"

    def __init__(self, database, cipher: FieldCipher, hash_key, *,
                 clock: Callable[[], float] = time.time):
        """``hash_key``: the row key's HMAC key, or a callable giving it (read on first use)."""
        self._db = database
        self._cipher = cipher
        self._hash_key_source = hash_key
        self._clock = clock

    @property
    def _hash_key(self) -> bytes:
        if callable(self._hash_key_source):
            self._hash_key_source = self._hash_key_source()
        return self._hash_key_source

    def key_for(self, id_number: str) -> str:
        """The row key; validates the number first so junk never becomes a key."""
        return id_hash(parse_id_number(id_number).number, self._hash_key)

    def lookup(self, id_number: str) -> PersonRecord | None:
        key = self.key_for(id_number)
        with self._db.session(write=False) as session:
            row = session.get(RegistryPerson, key)
            if row is None:
                return None
            name_enc, template_enc = row.name_enc, row.template_enc
        try:
            name = self._cipher.decrypt(name_enc, row_aad(key, "name")).decode("utf-8")
            template = (None if template_enc is None else
                        self._cipher.decrypt(template_enc, row_aad(key, "template")))
        except (DecryptError, UnicodeDecodeError):
            # Tampered row, or the server secret changed: fail closed, loudly.
            log.error("registry row %s failed to decrypt", key[:12])
            raise RegistryUnavailable("integrity", "a registry row failed to decrypt") from None
        return PersonRecord(name=name, template=template)

    def enrol(self, id_number: str, name: str, template: bytes, source: str) -> None:
        self.enrol_many([Enrolment(id_number, name, template, source)])

    def enrol_many(self, entries: Iterable[Enrolment]) -> int:
        """Create or replace records in one transaction: all of them or none."""
        sealed = [self._seal(entry) for entry in entries]  # validate everything first
        now = self._clock()
        with self._db.session() as session:
            for key, name_enc, template_enc, source in sealed:
                row = session.get(RegistryPerson, key)
                if row is None:
                    session.add(RegistryPerson(id_hash=key, name_enc=name_enc,
                                               template_enc=template_enc, source=source,
                                               created_at=now, updated_at=now))
                else:
                    row.name_enc, row.template_enc = name_enc, template_enc
                    row.source, row.updated_at = source, now
        return len(sealed)

    def count(self) -> int:
        with self._db.session(write=False) as session:
            return session.scalar(select(func.count()).select_from(RegistryPerson)) or 0

    def _seal(self, entry: Enrolment) -> tuple[str, bytes, bytes, str]:
        key = self.key_for(entry.id_number)
        name = clean_name(entry.name).encode("utf-8")
        template = check_template(entry.template)
        return (key, self._cipher.encrypt(name, row_aad(key, "name")),
                self._cipher.encrypt(template, row_aad(key, "template")),
                check_source(entry.source))
