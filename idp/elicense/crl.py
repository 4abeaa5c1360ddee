"""Revocation by CRL (RFC 5280 sections 5 and 6.3), failing closed.

A ``CrlProvider`` answers "is this serial revoked by that CA?" from the CA's CRL, found at a
*source*: a file path (re-read when the file changes) or an http(s) URL (fetched with a
timeout and a size limit, kept until its ``nextUpdate``, re-fetched every ``refresh`` seconds
so a new CRL is seen early).  A CRL is used only when it parses, names the CA as issuer, is
signed by the CA's key, has no critical extension this code does not process, has a
``nextUpdate`` (section 5.1.2.5) and its scope (issuing distribution point, section
5.2.5) covers the certificate.  No usable CRL means the certificate is not accepted:
``crl_stale`` when the best one found is past its ``nextUpdate``, ``crl_unavailable`` otherwise.
"""
from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass
from typing import Callable, Sequence

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509.oid import ExtensionOID

from . import keys
from .errors import LicenceError
from .fetch import fetch

log = logging.getLogger(__name__)
MAX_CRL_BYTES = 10 * 1024 * 1024


@dataclass(frozen=True)
class CrlInfo:
    source: str
    revoked: frozenset
    this_update: float
    next_update: float
    only_user: bool
    only_ca: bool


def http_fetch(url: str, timeout: float, max_bytes: int) -> bytes:
    """GET a CRL: bounded time and size, no redirects (the URL comes from a signed certificate)."""
    return fetch("GET", url, timeout=timeout, max_bytes=max_bytes,
                 headers={"Accept": "application/pkix-crl"})


def _unusable(source: str, why: str) -> LicenceError:
    return LicenceError("crl_unavailable", f"CRL from {source}: {why}")


def parse_crl(raw: bytes, source: str, issuer: x509.Certificate, issuer_key: keys.PublicKey) -> CrlInfo:
    """Parse and check one CRL against its issuing CA (RFC 5280 section 6.3.3 (f)-(g))."""
    try:
        crl = (x509.load_pem_x509_crl(raw) if raw.lstrip().startswith(b"-----BEGIN")
               else x509.load_der_x509_crl(raw))
        if crl.issuer != issuer.subject:
            raise _unusable(source, "issued by another CA")
        if not keys.verify_signed(crl, crl.tbs_certlist_bytes, issuer_key):
            raise _unusable(source, "signature does not verify with the CA key")
        only_user = only_ca = False
        for ext in crl.extensions:
            if ext.oid == ExtensionOID.ISSUING_DISTRIBUTION_POINT:
                idp = ext.value
                if idp.indirect_crl or idp.only_some_reasons or idp.only_contains_attribute_certs:
                    raise _unusable(source, "indirect or partitioned CRLs are not supported")
                only_user, only_ca = idp.only_contains_user_certs, idp.only_contains_ca_certs
            elif ext.critical:  # includes deltaCRLIndicator: delta CRLs are not supported
                raise _unusable(source, f"critical extension {ext.oid.dotted_string}")
        revoked = set()
        for entry in crl:
            if any(e.critical for e in entry.extensions):  # section 5.3: unknown critical entry ext
                raise _unusable(source, "critical CRL entry extension")
            revoked.add(entry.serial_number)
        if crl.next_update_utc is None:
            raise _unusable(source, "no nextUpdate")
        return CrlInfo(source, frozenset(revoked), crl.last_update_utc.timestamp(),
                       crl.next_update_utc.timestamp(), only_user, only_ca)
    except LicenceError:
        raise
    except Exception as exc:  # malformed DER, bad extensions: never anything but a reason
        raise _unusable(source, f"not a valid CRL ({type(exc).__name__})") from None


@dataclass
class _Entry:
    info: CrlInfo | None
    stamp: object  # file (mtime, size, inode) or fetch time
    error: LicenceError | None = None


class CrlProvider:
    """Fetches, checks and caches CRLs; see the module docstring."""

    def __init__(self, *, fetch: Callable[[str, float, int], bytes] = http_fetch,
                 timeout: float = 5.0, max_bytes: int = MAX_CRL_BYTES, refresh: float = 300.0,
                 retry_after: float = 30.0, skew: float = 300.0):
        self.fetch, self.timeout, self.max_bytes = fetch, timeout, max_bytes
        self.refresh, self.retry_after, self.skew = refresh, retry_after, skew
        self._cache: dict[tuple[str, bytes], _Entry] = {}
        self._lock = threading.Lock()

    def _from_file(self, path: str, issuer, issuer_key, key) -> CrlInfo:
        try:
            st = os.stat(path)
            stamp = (st.st_mtime_ns, st.st_size, st.st_ino)
            entry = self._cache.get(key)
            if entry is not None and entry.stamp == stamp:
                return entry.info
            if st.st_size > self.max_bytes:
                raise _unusable(path, "file too large")
            with open(path, "rb") as fh:
                raw = fh.read(self.max_bytes + 1)
        except OSError as exc:
            raise _unusable(path, exc.strerror or str(exc)) from None
        info = parse_crl(raw, path, issuer, issuer_key)
        with self._lock:
            self._cache[key] = _Entry(info, stamp)
        return info

    def _from_url(self, url: str, issuer, issuer_key, key, now: float) -> CrlInfo:
        entry = self._cache.get(key)
        fresh = entry is not None and entry.info is not None and now < entry.info.next_update
        if fresh and now - entry.stamp < self.refresh:
            return entry.info
        if entry is not None and entry.error is not None and now - entry.stamp < self.retry_after:
            if fresh:
                return entry.info
            raise entry.error  # recently failed: do not hammer the CA, nor hang every login
        try:
            raw = self.fetch(url, self.timeout, self.max_bytes)
            if len(raw) > self.max_bytes:
                raise OSError("CRL too large")
            info = parse_crl(raw, url, issuer, issuer_key)
        except Exception as exc:  # any fetch failure, from the default fetcher or a custom one
            error = exc if isinstance(exc, LicenceError) else _unusable(url, f"unreachable ({exc})")
            log.warning("CRL fetch failed: %s", error.description)
            with self._lock:
                self._cache[key] = _Entry(entry.info if fresh else None, now, error)
            if fresh:  # a CRL still before its nextUpdate stays authoritative (section 5.1.2.5)
                return entry.info
            raise error from None
        with self._lock:
            self._cache[key] = _Entry(info, now)
        return info

    def crl_info(self, source: str, issuer: x509.Certificate, issuer_key: keys.PublicKey,
                 now: float, issuer_id: bytes | None = None) -> CrlInfo:
        key = (source, issuer_id or issuer.fingerprint(hashes.SHA256()))
        if source.startswith(("http://", "https://")):
            return self._from_url(source, issuer, issuer_key, key, now)
        path = source[len("file://"):] if source.startswith("file://") else source
        return self._from_file(path, issuer, issuer_key, key)

    def check(self, serial: int, *, is_ca: bool, issuer: x509.Certificate,
              issuer_key: keys.PublicKey, sources: Sequence[str], now: float,
              issuer_id: bytes | None = None) -> float:
        """Raise LicenceError unless a usable CRL shows ``serial`` not revoked; return its nextUpdate.

        ``issuer_id`` (the issuer's SHA-256 fingerprint) saves hashing the certificate per call.
        """
        failure = None
        for source in sources:
            try:
                info = self.crl_info(source, issuer, issuer_key, now, issuer_id)
            except LicenceError as exc:
                failure = failure or exc
                continue
            if (is_ca and info.only_user) or (not is_ca and info.only_ca):
                failure = failure or _unusable(source, "its scope does not cover this certificate")
                continue
            if info.this_update > now + self.skew:
                failure = failure or _unusable(source, "thisUpdate is in the future")
                continue
            if now >= info.next_update:  # section 6.3.3 (a)(2): past nextUpdate, not usable
                failure = LicenceError("crl_stale", f"CRL from {source} is past its nextUpdate")
                continue
            if serial in info.revoked:
                raise LicenceError("revoked", f"certificate serial {serial:x} is revoked")
            return info.next_update
        if failure is None:
            failure = LicenceError("crl_unavailable", "no CRL source for this certificate's issuer")
        raise failure
