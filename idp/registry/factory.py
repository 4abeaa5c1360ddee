"""Build the configured registry; ``create_app`` and the CLI call this, nothing else does.

``make_registry("local", database=db, secret_key=...)`` or
``make_registry("http", secret_key=..., url="https://registry.example/", token="...")``.

Both keys of the local registry come from the server secret by HKDF with distinct purposes,
so one leaked key does not give the other, and changing the secret makes the stored rows
unreadable (lookups then fail closed): re-import the registry after rotating the secret.
"""
from __future__ import annotations

from .base import Registry
from .crypto import FieldCipher, derive_key

HASH_KEY_PURPOSE = "registry/id-hash/v1"
FIELD_KEY_PURPOSE = "registry/field-encryption/v1"
KINDS = ("local", "http")


def make_registry(kind: str, *, database=None, secret_key: str, url: str | None = None,
                  token: str | None = None, timeout: float = 2.0, retries: int = 2) -> Registry:
    if kind == "local":
        if database is None:
            raise ValueError("the local registry needs the database")
        from .local import LocalRegistry

        return LocalRegistry(database, FieldCipher(derive_key(secret_key, FIELD_KEY_PURPOSE)),
                             derive_key(secret_key, HASH_KEY_PURPOSE))
    if kind == "http":
        if not url:
            raise ValueError("the http registry needs its URL")
        from .http import HttpRegistry

        return HttpRegistry(url, token=token, timeout=timeout, retries=retries)
    raise ValueError(f"unknown registry kind {kind!r}; expected one of {', '.join(KINDS)}")
