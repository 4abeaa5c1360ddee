"""Versioned root secrets (issue 15): ``IDP_SECRET_KEYS`` or ``IDP_SECRET_KEYS_FILE``.

The ring is a list of ``id:secret`` entries, the current one first; the older ones are kept
only to read what they sealed until ``idp secrets rotate`` has re-sealed it.  New sealed
data and MACs use the current secret and record its id; reads use the recorded id.  A lone
``IDP_SECRET_KEY`` (or the generated instance secret) is the ring ``0:<secret>``: data
sealed before versioning carries no id and is read with id ``0``.

Rotation, on every node: (1) add the new secret *after* the current one (all nodes can read
what it will seal), (2) move it first (it now seals), (3) ``idp secrets rotate``, (4) once
``idp secrets status`` shows nothing under the old id and the short-lived state has expired
(``IDP_SESSION_TTL``), remove the old entry.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from ..errors import ConfigError

LEGACY_ID = "0"
_ID = re.compile(r"^[A-Za-z0-9_-]{1,16}$")
MIN_SECRET = 32


@dataclass(frozen=True)
class SecretRing:
    entries: tuple  # ((id, secret), ...), current first

    @property
    def current_id(self) -> str:
        return self.entries[0][0]

    @property
    def current(self) -> str:
        return self.entries[0][1]

    @property
    def ids(self) -> list[str]:
        return [kid for kid, _ in self.entries]

    def get(self, kid: str) -> str | None:
        for key_id, secret in self.entries:
            if key_id == kid:
                return secret
        return None

    def __repr__(self) -> str:  # never print the secrets
        return f"SecretRing(ids={self.ids})"


def parse_ring(text: str, origin: str = "IDP_SECRET_KEYS") -> SecretRing:
    """``id:secret`` entries separated by commas or new lines; ``#`` starts a comment line."""
    entries, seen = [], set()
    for raw in re.split(r"[,\n]", text):
        item = raw.strip()
        if not item or item.startswith("#"):
            continue
        kid, sep, secret = item.partition(":")
        kid, secret = kid.strip(), secret.strip()
        if not sep or not _ID.match(kid):
            raise ConfigError(f"{origin}: each entry is id:secret, the id 1-16 letters, digits, "
                              "'-' or '_'")
        if kid in seen:
            raise ConfigError(f"{origin}: key id {kid!r} appears twice")
        if len(secret) < MIN_SECRET:
            raise ConfigError(f"{origin}: the secret of key id {kid!r} must be at least "
                              f"{MIN_SECRET} characters")
        seen.add(kid)
        entries.append((kid, secret))
    if not entries:
        raise ConfigError(f"{origin} holds no id:secret entry")
    return SecretRing(tuple(entries))


@lru_cache(maxsize=32)
def _ring(secret_keys: str, secret_key: str) -> SecretRing:
    if secret_keys:
        return parse_ring(secret_keys)
    return SecretRing(((LEGACY_ID, secret_key),))


def secret_ring(settings) -> SecretRing:
    """The ring of these settings (after ``config.ensure_secret_key``)."""
    return _ring(settings.secret_keys, settings.secret_key)


def as_ring(secret) -> SecretRing:
    """A ring, or a single secret string as the legacy ring ``0:<secret>``."""
    if isinstance(secret, SecretRing):
        return secret
    if not isinstance(secret, str) or not secret:
        raise ValueError("a root secret (string) or a SecretRing is needed")
    return SecretRing(((LEGACY_ID, secret),))
