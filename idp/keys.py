"""Signing key ring: key files under ``keys/``, key metadata in SQL, JWKS, rotation.

Private keys live in ``keys/<kid>.pem`` (PKCS#8, encrypted with ``IDP_KEYS_PASSPHRASE`` when
it is set); which key signs, and which are published, is decided by the ``signing_keys``
table so that every process of a cluster agrees.  A key's life is driven by timestamps:

* published from ``created_at`` until ``remove_after`` (None: for ever);
* signs from ``activated_at`` until a newer key of the same algorithm activates.

``rotate`` creates a key that is published at once but activates only after
``publish_delay`` seconds (longer than the JWKS cache lifetime), so relying parties already
know it when the first token it signed reaches them; the key it replaces stays published for
``retire_grace`` seconds after that, i.e. until every token it signed has expired.
"""
from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from joserfc.jwk import ECKey, RSAKey
from sqlalchemy import select

from .errors import ConfigError, DatabaseUnavailable, IdpError
from .store.models import SigningKey

log = logging.getLogger(__name__)
ALGORITHMS = ("RS256", "ES256")


@dataclass(frozen=True)
class KeyInfo:
    kid: str
    alg: str
    created_at: float
    activated_at: float | None
    remove_after: float | None

    def status(self, now: float, signer_kids: set[str]) -> str:
        if self.kid in signer_kids:
            return "active"
        if self.activated_at and self.activated_at > now:
            return "next"
        if self.remove_after is not None and self.remove_after <= now:
            return "removed"
        return "retired"

    def to_dict(self, now: float, signer_kids: set[str]) -> dict:
        return {"kid": self.kid, "alg": self.alg, "status": self.status(now, signer_kids),
                "created_at": int(self.created_at),
                "activated_at": int(self.activated_at) if self.activated_at else None,
                "remove_after": int(self.remove_after) if self.remove_after else None}


def _generate(alg: str):
    if alg == "RS256":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    if alg == "ES256":
        return ec.generate_private_key(ec.SECP256R1())
    raise ConfigError(f"unsupported signing algorithm {alg}")


def _to_jwk(private_key, alg: str):
    cls = RSAKey if alg == "RS256" else ECKey
    key = cls.import_key(private_key)
    kid = key.thumbprint()
    return cls.import_key(private_key, {"kid": kid, "alg": alg, "use": "sig"}), kid


class KeyRing:
    def __init__(self, keys_dir: str | Path, database, *, passphrase: str = "",
                 publish_delay: int = 600, retire_grace: int = 660, cache_seconds: float = 1.0,
                 clock=time.time):
        self.dir = Path(keys_dir)
        self.db = database
        self.passphrase = passphrase.encode() if passphrase else None
        self.publish_delay = publish_delay
        self.retire_grace = retire_grace
        self.cache_seconds = cache_seconds
        self.clock = clock
        self._lock = threading.Lock()
        self._loaded_at = 0.0
        self._infos: list[KeyInfo] = []
        self._private: dict[str, object] = {}  # kid -> joserfc key with private part
        self._jwks: dict = {"keys": []}

    # -- files ---------------------------------------------------------------------------
    def _path(self, kid: str) -> Path:
        return self.dir / f"{kid}.pem"

    def _write(self, private_key, kid: str) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        ignore = self.dir / ".gitignore"
        if not ignore.exists():  # private keys never reach a repository, wherever keys_dir is
            ignore.write_text("# Signing keys are generated per deployment; never commit them.\n"
                              "*\n!.gitignore\n")
        enc = (serialization.BestAvailableEncryption(self.passphrase) if self.passphrase
               else serialization.NoEncryption())
        pem = private_key.private_bytes(serialization.Encoding.PEM,
                                        serialization.PrivateFormat.PKCS8, enc)
        tmp = self._path(kid).with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(pem)
        os.replace(tmp, self._path(kid))

    def _read(self, info: KeyInfo):
        path = self._path(info.kid)
        try:
            data = path.read_bytes()
        except OSError:
            raise ConfigError(f"signing key file {path} is missing; restore it or run "
                              "`idp keys rotate`") from None
        try:
            private = serialization.load_pem_private_key(data, self.passphrase)
        except (TypeError, ValueError):
            raise ConfigError(f"cannot load signing key {path}: wrong or missing "
                              "IDP_KEYS_PASSPHRASE, or a corrupt file") from None
        key, kid = _to_jwk(private, info.alg)
        if kid != info.kid:
            raise ConfigError(f"signing key file {path} does not match its kid")
        return key

    # -- lifecycle -------------------------------------------------------------------------
    def _create(self, session, alg: str, activated_at: float) -> str:
        private = _generate(alg)
        _, kid = _to_jwk(private, alg)
        self._write(private, kid)
        session.add(SigningKey(kid=kid, alg=alg, state="next", created_at=self.clock(),
                               activated_at=activated_at, retired_at=None, remove_after=None))
        return kid

    def init(self) -> list[str]:
        """Make sure one key per algorithm exists and signs; return the kids created."""
        created = []
        with self.db.session() as s:
            for alg in ALGORITHMS:
                exists = s.execute(select(SigningKey.kid).where(SigningKey.alg == alg)).first()
                if not exists:
                    created.append(self._create(s, alg, self.clock()))
        # Load every published key now, so a wrong IDP_KEYS_PASSPHRASE or a missing file
        # fails at start with a ConfigError, not at the first token.
        self._loaded_at = 0.0
        self._refresh()
        return created

    def rotate(self, algs=ALGORITHMS, *, activate_in: int | None = None) -> list[str]:
        """Publish a new key per algorithm now; it signs after ``activate_in`` seconds."""
        now = self.clock()
        delay = self.publish_delay if activate_in is None else activate_in
        created = []
        with self.db.session() as s:
            for alg in algs:
                rows = s.execute(select(SigningKey).where(SigningKey.alg == alg)).scalars().all()
                kid = self._create(s, alg, now + delay)
                created.append(kid)
                for row in rows:
                    # Every older key stops signing when the new one activates and stays
                    # published until the tokens it signed have expired.
                    if row.remove_after is None:
                        row.remove_after = now + delay + self.retire_grace
                        row.state = "retired"
                        row.retired_at = now + delay
        self._loaded_at = 0.0
        return created

    def retire(self, kid: str) -> None:
        """Withdraw a key at once (compromise): it neither signs nor is published."""
        with self.db.session() as s:
            row = s.get(SigningKey, kid)
            if row is None:
                raise IdpError(f"no signing key {kid}", error="not_found", status=404)
            # Only a key of the current generation (not itself on its way out) may take
            # over; an older retired key must never sign again.
            others = s.execute(select(SigningKey).where(
                SigningKey.alg == row.alg, SigningKey.kid != kid,
                SigningKey.remove_after.is_(None))).scalars().all()
            if not others:
                raise IdpError(f"{kid} is the only current {row.alg} key; rotate first",
                               error="invalid_request", status=409)
            now = self.clock()
            row.remove_after = now
            row.retired_at = now
            row.state = "retired"
            for other in others:  # the successor takes over signing at once
                if other.activated_at and other.activated_at > now:
                    other.activated_at = now
        self._loaded_at = 0.0

    # -- reads ---------------------------------------------------------------------------
    def _refresh(self) -> None:
        now = time.monotonic()
        if now - self._loaded_at < self.cache_seconds:
            return
        # Past the cache window one thread reloads while the others go on with the keys
        # already loaded, rather than queueing behind its database query (whose latency
        # would land on the token endpoint's p99 once a second).  Before the first load,
        # and after rotate/retire in this process (which reset _loaded_at), everyone waits.
        if self._loaded_at and self._infos:
            if not self._lock.acquire(blocking=False):
                return
        else:
            self._lock.acquire()
        try:
            if time.monotonic() - self._loaded_at < self.cache_seconds:
                return
            self._reload(now)
        finally:
            self._lock.release()

    def _reload(self, now: float) -> None:
        try:
            with self.db.session(write=False) as s:
                rows = s.execute(select(SigningKey)).scalars().all()
                infos = [KeyInfo(r.kid, r.alg, r.created_at, r.activated_at, r.remove_after)
                         for r in rows]
        except DatabaseUnavailable:
            if not self._infos:
                raise
            # Keep signing and publishing with the last known keys while the database
            # is away; look again after the cache window.
            log.warning("signing key metadata unavailable; using the last known keys")
            self._loaded_at = now
            return
        wall = self.clock()
        published = [i for i in infos if i.remove_after is None or i.remove_after > wall]
        private = {}
        for info in published:
            private[info.kid] = self._private.get(info.kid) or self._read(info)
        jwks = {"keys": [private[i.kid].as_dict(private=False)
                         for i in sorted(published, key=lambda i: i.created_at)]}
        self._infos = infos
        self._private = private
        if jwks != self._jwks:  # the same object while unchanged: idp.ops.fastpath keys on it
            self._jwks = jwks
        self._loaded_at = now

    def infos(self) -> list[KeyInfo]:
        self._refresh()
        return list(self._infos)

    def signer_kids(self) -> set[str]:
        return {kid for kid in (self._signer_kid(alg) for alg in ALGORITHMS) if kid}

    def _signer_kid(self, alg: str) -> str | None:
        now = self.clock()
        candidates = [i for i in self._infos if i.alg == alg and i.kid in self._private
                      and i.activated_at is not None and i.activated_at <= now]
        if not candidates:
            return None
        return max(candidates, key=lambda i: (i.activated_at, i.created_at)).kid

    def signing_key(self, alg: str = "RS256"):
        """The joserfc private key that signs ``alg`` tokens now (its ``kid`` set)."""
        self._refresh()
        kid = self._signer_kid(alg)
        if kid is None:
            raise ConfigError(f"no active {alg} signing key: run `idp init`")
        return self._private[kid]

    def public_key(self, kid: str):
        """A published key by kid (for verifying tokens this OP issued), or None.

        A kid this process has not loaded may have been activated on another node since its
        last load (or another thread is reloading right now, see ``_refresh``): look again,
        waiting for that reload, before calling the token unknown.  At most every quarter of
        the cache window, so tokens with made-up kids cannot make each request query the
        database."""
        self._refresh()
        key = self._private.get(kid)
        if key is None and time.monotonic() - self._loaded_at >= self.cache_seconds / 4:
            with self._lock:
                now = time.monotonic()
                if now - self._loaded_at >= self.cache_seconds / 4:
                    self._reload(now)
            key = self._private.get(kid)
        return key

    def history(self) -> tuple[dict, dict]:
        """Every key this OP has held whose file is still in ``keys/`` (published, retired
        or removed), public part only, and when each could sign: ``({kid: key},
        {kid: (activated_at, retired_at)})``, for checking old signed records."""
        with self.db.session(write=False) as s:
            rows = s.execute(select(SigningKey)).scalars().all()
            infos = [(KeyInfo(r.kid, r.alg, r.created_at, r.activated_at, r.remove_after),
                      r.retired_at) for r in rows]
        keys, windows = {}, {}
        for info, retired_at in infos:
            try:
                private = self._private.get(info.kid) or self._read(info)
            except ConfigError:
                log.warning("signing key %s is not in %s: records it signed cannot be checked",
                            info.kid, self.dir)
                continue
            public = type(private).import_key(private.as_dict(private=False))
            keys[info.kid] = public
            windows[info.kid] = (info.activated_at, retired_at)
        return keys, windows

    def jwks(self) -> dict:
        self._refresh()
        return self._jwks

    def ready(self) -> bool:
        try:
            return all(self.signing_key(alg) for alg in ALGORITHMS)
        except IdpError:
            return False
