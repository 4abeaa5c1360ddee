"""Keys that must not change when the root secret rotates, stored wrapped by it.

Some values derived from the secret are identifiers, not ciphertexts: the internal subject
key and the pairwise ``sub`` every relying party stores (OIDC Core section 8.1), and the
registry's row key (an HMAC of the ID number, which is not kept anywhere to recompute it).
Deriving them from whatever secret is current would change every ``sub`` at a rotation.

So each such key is a *data key*: made once, then stored in ``data_keys`` sealed (AES-GCM)
under the current root secret and re-sealed by ``idp secrets rotate``.  For a deployment
that existed before versioned secrets, a data key is first made exactly as it used to be
derived from the legacy secret (id ``0``), so no ``sub`` changes at the upgrade; a fresh
deployment without id ``0`` gets random keys.  Once re-sealed, the old secret can be
removed: nothing needs it any more.  (The alternative, keeping the old secret for subject
derivation only, would keep a possibly leaked secret in every node's configuration for
ever.)  The limit, stated plainly: a leaked secret together with a copy of the database
taken before the rotation reveals these keys, and they cannot change without changing every
``sub``; what rotation does protect is everything sealed after it.
"""
from __future__ import annotations

import os
import threading
import time
from typing import Callable

from sqlalchemy.exc import IntegrityError

from ..errors import ConfigError
from ..sealing import Sealer
from ..store.models import DataKey
from . import LEGACY_ID, as_ring

KEY_BYTES = 32


class DataKeys:
    def __init__(self, db, ring):
        self.db = db
        self.ring = as_ring(ring)
        self.sealer = Sealer(self.ring, "data-key")
        self._cache: dict[str, bytes] = {}
        self._lock = threading.Lock()

    def get(self, name: str, legacy: Callable[[str], bytes]) -> bytes:
        """The data key ``name``; made on first use (``legacy(secret0)`` or random)."""
        key = self._cache.get(name)
        if key is not None:
            return key
        with self._lock:
            if name not in self._cache:
                self._cache[name] = self._load(name, legacy)
            return self._cache[name]

    def _load(self, name: str, legacy) -> bytes:
        with self.db.session(write=False) as s:
            row = s.get(DataKey, name)
            wrapped = row.wrapped if row else None
        if wrapped is None:
            old = self.ring.get(LEGACY_ID)
            value = legacy(old) if old else os.urandom(KEY_BYTES)
            now = time.time()
            try:
                with self.db.session() as s:
                    s.add(DataKey(name=name, wrapped=self.sealer.seal_bytes(value, name.encode()),
                                  created_at=now, updated_at=now))
            except IntegrityError:
                pass  # another node made it first: use theirs
            with self.db.session(write=False) as s:
                wrapped = s.get(DataKey, name).wrapped
        key = self.sealer.open_bytes(wrapped, name.encode())
        if key is None:
            raise ConfigError(f"data key {name!r} is sealed under root secret id "
                              f"{self.sealer.key_id(wrapped)!r}, which IDP_SECRET_KEYS does not "
                              "hold (or it changed): restore that secret")
        return key
