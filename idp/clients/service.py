"""The client service: every change to a relying party goes through here (CLI, console, API).

Each change and its audit event are written in one transaction, so a failed change leaves
neither a partial client nor a misleading audit row.
"""
from __future__ import annotations

import secrets
import threading
import time

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from ..errors import Conflict, NotFound
from ..store.audit import append_event
from ..store.models import Client
from .model import OAuthClient, hash_secret
from .validation import InvalidClientMetadata, validate_metadata


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def new_client_id() -> str:
    """A random id that never starts with "-", so it is never read as a CLI option."""
    while True:
        client_id = secrets.token_urlsafe(18)
        if client_id[0].isalnum():
            return client_id


class ClientService:
    def __init__(self, database, *, cache_seconds: float = 1.0):
        self.db = database
        self.cache_seconds = cache_seconds
        self._cache: dict[str, tuple[float, OAuthClient | None]] = {}
        self._lock = threading.Lock()
        self._loading: set[str] = set()  # client ids some thread is reading from the database

    # -- reads ----------------------------------------------------------------------------
    def get(self, client_id) -> OAuthClient | None:
        """The enabled-or-not client, or None; cached briefly for the token endpoint."""
        if not isinstance(client_id, str) or not client_id or len(client_id) > 64:
            return None
        now = time.monotonic()
        hit = self._cache.get(client_id)
        if hit and now - hit[0] < self.cache_seconds:
            return hit[1]
        # When the entry has just expired, one thread reads the row again and the others keep
        # the entry they have until it is back, instead of every thread of every worker
        # querying the same row at once (measured under the code-flow benchmark: those
        # queries were 6 % of a worker's time).  Changes made here drop the entry at once.
        with self._lock:
            if hit and client_id in self._loading:
                return hit[1]
            self._loading.add(client_id)
        try:
            with self.db.session(write=False) as s:
                row = s.get(Client, client_id)
                client = OAuthClient.from_row(row) if row else None
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[client_id] = (now, client)
        finally:
            with self._lock:
                self._loading.discard(client_id)
        return client

    def active(self, client_id) -> OAuthClient | None:
        client = self.get(client_id)
        return client if client and client.enabled else None

    def require(self, client_id) -> OAuthClient:
        client = self.get(client_id)
        if client is None:
            raise NotFound(f"no client {client_id!r}")
        return client

    def list(self) -> list[OAuthClient]:
        with self.db.session(write=False) as s:
            rows = s.execute(select(Client).order_by(Client.created_at)).scalars().all()
            return [OAuthClient.from_row(r) for r in rows]

    # -- writes ---------------------------------------------------------------------------
    def create(self, metadata: dict, *, is_admin: bool = False, actor: str = "cli") -> tuple[OAuthClient, str | None]:
        """Create a client; return it and its secret (None for public clients), shown once."""
        meta = validate_metadata(metadata)
        if is_admin and "client_credentials" not in meta["grant_types"]:
            raise InvalidClientMetadata("an admin client must use the client_credentials grant")
        secret = None if meta["token_endpoint_auth_method"] in {"none", "private_key_jwt"} else new_secret()
        client_id = new_client_id()
        row = Client(client_id=client_id, client_secret_hash=hash_secret(secret) if secret else None,
                     client_name=meta["client_name"], enabled=True, is_admin=is_admin,
                     metadata_=meta, created_at=time.time(), updated_at=time.time())
        self._write(lambda s: s.add(row), "client.create", client_id, actor,
                    {"client_name": meta["client_name"], "admin": is_admin})
        return OAuthClient.from_row(row), secret

    def update(self, client_id: str, changes: dict, *, actor: str = "cli") -> OAuthClient:
        changes = dict(changes)
        enabled = changes.pop("enabled", None)
        allowed_admin = changes.pop("is_admin", None)
        result = {}

        def apply(s):
            row = self._row(s, client_id)
            meta = validate_metadata(changes, current=row.metadata_)
            # keep server-side values (set_private_metadata) that validation does not know
            private = {k: v for k, v in (row.metadata_ or {}).items() if k not in meta}
            row.metadata_ = {**meta, **private}
            row.client_name = meta["client_name"]
            if meta["token_endpoint_auth_method"] in {"none", "private_key_jwt"}:
                row.client_secret_hash = None
            if enabled is not None:
                row.enabled = bool(enabled)
            if allowed_admin is not None:
                row.is_admin = bool(allowed_admin)
            row.updated_at = time.time()
            result["client"] = OAuthClient.from_row(row)

        self._write(apply, "client.update", client_id, actor, {"fields": sorted(changes)})
        return result["client"]

    def rotate_secret(self, client_id: str, *, actor: str = "cli") -> str:
        secret = new_secret()

        def apply(s):
            row = self._row(s, client_id)
            method = (row.metadata_ or {}).get("token_endpoint_auth_method")
            if method in {"none", "private_key_jwt"}:
                raise InvalidClientMetadata(f"a client using {method} has no secret to rotate")
            row.client_secret_hash = hash_secret(secret)
            row.updated_at = time.time()

        self._write(apply, "client.rotate_secret", client_id, actor, {})
        return secret

    def set_enabled(self, client_id: str, enabled: bool, *, actor: str = "cli") -> None:
        def apply(s):
            self._row(s, client_id).enabled = enabled

        self._write(apply, "client.enable" if enabled else "client.disable", client_id, actor, {})

    def delete(self, client_id: str, *, actor: str = "cli") -> None:
        def apply(s):
            self._row(s, client_id)
            s.execute(delete(Client).where(Client.client_id == client_id))

        self._write(apply, "client.delete", client_id, actor, {})

    def set_private_metadata(self, client_id: str, values: dict, *, actor: str = "cli") -> None:
        """Store server-side values beside the registration metadata (e.g. the hash of an
        RFC 7592 registration access token); a value of None removes the key.  Only keys
        ``validate_metadata`` does not know are accepted, so this cannot bypass validation."""
        known = set(validate_metadata({"client_name": "x", "redirect_uris": ["https://x.invalid/"]}))
        if not values or any(not isinstance(k, str) or k in known for k in values):
            raise InvalidClientMetadata("private metadata keys must not be registration fields")

        def apply(s):
            row = self._row(s, client_id)
            meta = dict(row.metadata_ or {})
            for key, value in values.items():
                if value is None:
                    meta.pop(key, None)
                else:
                    meta[key] = value
            row.metadata_ = meta
            row.updated_at = time.time()

        self._write(apply, "client.update", client_id, actor, {"fields": sorted(values)})

    # -- helpers --------------------------------------------------------------------------
    @staticmethod
    def _row(session, client_id):
        row = session.get(Client, client_id) if isinstance(client_id, str) else None
        if row is None:
            raise NotFound(f"no client {client_id!r}")
        return row

    def _write(self, apply, event: str, client_id: str, actor: str, details: dict) -> None:
        try:
            with self.db.session() as s:
                apply(s)
                s.flush()
                append_event(s, event=event, outcome="success", client_id=client_id,
                             method="admin", details={"actor": actor, **details})
        except IntegrityError:
            raise Conflict("a client with this name already exists") from None
        self._cache.pop(client_id, None)
