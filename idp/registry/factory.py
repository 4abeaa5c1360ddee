"""Build the configured registry; ``create_app`` and the CLI call this, nothing else does.

``make_registry("local", database=db, secret_key=...)`` or
``make_registry("http", secret_key=..., url="https://registry.example/", token="...")``.

Both keys of the local registry come from the server secret by HKDF with distinct purposes,
so one leaked key does not give the other.  With versioned root secrets (a ``SecretRing``)
the field key of every secret in the ring is known (rows record which one sealed them and
``idp secrets rotate`` re-encrypts them), and the row key (an HMAC of the ID number, which
cannot be recomputed without the number) is a data key that survives rotation
(``rootsecrets/datakeys.py``).  A plain secret string keeps the single-secret behaviour.
"""
from __future__ import annotations

from .base import Registry
from .crypto import FieldCipher, derive_key

HASH_KEY_PURPOSE = "registry/id-hash/v1"
FIELD_KEY_PURPOSE = "registry/field-encryption/v1"
KINDS = ("local", "http")


def field_cipher(ring) -> FieldCipher:
    return FieldCipher({kid: derive_key(secret, FIELD_KEY_PURPOSE) for kid, secret in ring.entries})


def make_registry(kind: str, *, database=None, secret_key, url: str | None = None,
                  token: str | None = None, timeout: float = 2.0, retries: int = 2,
                  data_keys=None) -> Registry:
    """``secret_key``: one secret string, or a ``SecretRing`` (then ``data_keys``, the
    ``DataKeys`` store, may be shared with the provider; else one is made)."""
    if kind == "local":
        if database is None:
            raise ValueError("the local registry needs the database")
        from .local import LocalRegistry

        if isinstance(secret_key, str):
            return LocalRegistry(database, FieldCipher(derive_key(secret_key, FIELD_KEY_PURPOSE)),
                                 derive_key(secret_key, HASH_KEY_PURPOSE))
        from ..rootsecrets.datakeys import DataKeys

        store = data_keys or DataKeys(database, secret_key)
        return LocalRegistry(database, field_cipher(secret_key), lambda: store.get(
            HASH_KEY_PURPOSE, lambda secret: derive_key(secret, HASH_KEY_PURPOSE)))
    if kind == "http":
        if not url:
            raise ValueError("the http registry needs its URL")
        from .http import HttpRegistry

        return HttpRegistry(url, token=token, timeout=timeout, retries=retries)
    raise ValueError(f"unknown registry kind {kind!r}; expected one of {', '.join(KINDS)}")
