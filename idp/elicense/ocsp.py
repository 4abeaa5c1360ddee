"""Revocation by OCSP (RFC 6960), where configured, failing closed.

A licence authority may name an OCSP *source* beside its CRL source: an http(s) URL of its
responder, or ``aia`` for the responder named in each certificate it issued
(authorityInformationAccess id-ad-ocsp, RFC 5280 section 4.2.2.1).  For a (certificate,
issuer) pair, ``OcspChecker.check`` POSTs an OCSP request (``application/ocsp-request``,
RFC 6960 appendix A.1; no redirects, a short timeout, a bounded body), checks the response
(ocsp_response.py) and answers good, or raises ``LicenceError``:

- ``revoked`` (400) for a revoked certificate, with the responder's revocation reason;
- ``ocsp_unknown`` when the responder does not know the certificate;
- ``ocsp_unavailable`` when no answer could be had (connection refused, timeout, HTTP error,
  too large, or a non-successful OCSP status such as tryLater);
- ``ocsp_invalid`` when the answer cannot be trusted (garbage, bad signature, responder not
  authorised by the CA, wrong CertID, nonce mismatch);
- ``ocsp_stale`` when the answer is past its nextUpdate.

All but ``revoked`` are 503, like the CRL failures.  Good answers are cached (bounded LRU,
thread-safe) until their ``nextUpdate`` and asked again after ``refresh`` seconds; if that
re-check cannot get an answer, the cached one stays authoritative until its ``nextUpdate``.
A responder that could not be reached is not asked again for ``retry_after`` seconds, so an
outage does not make every login wait for the timeout.
"""
from __future__ import annotations

import logging
import os
import threading
from collections import OrderedDict
from typing import Callable
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.x509.oid import AuthorityInformationAccessOID

from .chain import CertInfo
from .errors import LicenceError
from .fetch import fetch
from .ocsp_response import CERT_ID_HASHES, OcspResult, build_request, check_response

log = logging.getLogger(__name__)
MAX_OCSP_BYTES = 256 * 1024
AIA = "aia"
__all__ = ["AIA", "MAX_OCSP_BYTES", "OcspChecker", "OcspResult", "http_post", "parse_ocsp_source",
           "responder_urls"]


def parse_ocsp_source(value: str) -> str:
    """``aia`` or an http(s) URL with a host (no credentials, no fragment); ValueError otherwise."""
    value = value.strip()
    if value.lower() == AIA:
        return AIA
    try:
        parts = urlsplit(value)
        ok = parts.scheme in ("http", "https") and bool(parts.hostname) and \
            not (parts.username or parts.password) and parts.port != 0  # .port checks the range
    except ValueError:  # e.g. a bad port or IPv6 literal
        ok = False
    if not ok or "#" in value or any(ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in value):
        raise ValueError("an OCSP source is an http(s) URL of the responder, or 'aia'")
    return value


def http_post(url: str, body: bytes, timeout: float, max_bytes: int) -> bytes:
    """POST an OCSP request: bounded time (in total) and size, no redirects."""
    return fetch("POST", url, body=body, timeout=timeout, max_bytes=max_bytes, total_deadline=True,
                 headers={"Content-Type": "application/ocsp-request",
                          "Accept": "application/ocsp-response"})


def responder_urls(cert: x509.Certificate, source: str) -> list[str]:
    """The responder URLs to ask about ``cert``: the configured one, or its AIA OCSP URLs."""
    if source != AIA:
        return [source]
    try:
        aia = cert.extensions.get_extension_for_class(x509.AuthorityInformationAccess).value
    except x509.ExtensionNotFound:
        aia = []
    urls = [d.access_location.value for d in aia
            if d.access_method == AuthorityInformationAccessOID.OCSP
            and isinstance(d.access_location, x509.UniformResourceIdentifier)
            and d.access_location.value.startswith(("http://", "https://"))]
    if not urls:
        raise LicenceError("ocsp_unavailable", f"certificate serial {cert.serial_number:x} names no "
                                               "http(s) OCSP responder (authorityInformationAccess)")
    return list(dict.fromkeys(urls))


class OcspChecker:
    """Asks OCSP responders, checks and caches their answers; see the module docstring."""

    def __init__(self, *, post: Callable[[str, bytes, float, int], bytes] = http_post,
                 timeout: float = 5.0, max_bytes: int = MAX_OCSP_BYTES, cert_id_hash: str = "sha1",
                 use_nonce: bool = True, skew: float = 120.0, max_age: float = 600.0,
                 refresh: float = 300.0, retry_after: float = 10.0, cache_size: int = 10000):
        if cert_id_hash not in CERT_ID_HASHES:
            raise ValueError(f"CertID hash must be one of {sorted(CERT_ID_HASHES)}")
        self.post, self.timeout, self.max_bytes = post, timeout, max_bytes
        self.cert_id_hash, self.use_nonce = cert_id_hash, use_nonce
        self.skew, self.max_age, self.refresh, self.retry_after = skew, max_age, refresh, retry_after
        self.cache_size = cache_size
        self._good: OrderedDict[tuple, tuple[OcspResult, float]] = OrderedDict()
        self._down: dict[str, tuple[float, LicenceError]] = {}
        self._lock = threading.Lock()

    def query(self, cert: x509.Certificate, issuer: CertInfo, url: str, now: float) -> OcspResult:
        """Ask ``url`` about ``cert`` now (no cache); LicenceError unless the answer is usable."""
        nonce = os.urandom(32) if self.use_nonce else None
        request = build_request(cert, issuer.cert, self.cert_id_hash, nonce)
        try:
            raw = self.post(url, request, self.timeout, self.max_bytes)
            if len(raw) > self.max_bytes:
                raise OSError(f"response larger than {self.max_bytes} bytes")
        except Exception as exc:  # any transport failure, from the default poster or another
            raise LicenceError("ocsp_unavailable", f"OCSP responder {url}: {exc}") from None
        return check_response(raw, cert=cert, issuer=issuer, nonce=nonce, now=now,
                              skew=self.skew, max_age=self.max_age, source=url)

    def _ask(self, cert, issuer: CertInfo, url: str, now: float) -> OcspResult:
        key = (url, issuer.fingerprint, cert.serial_number)
        with self._lock:
            cached = self._good.get(key)
            if cached is not None and now >= cached[0].next_update:
                del self._good[key]
                cached = None
            if cached is not None:
                self._good.move_to_end(key)
            down = self._down.get(url)
        if cached is not None and now - cached[1] < self.refresh:
            return cached[0]
        if down is not None and now - down[0] < self.retry_after:
            if cached is not None:
                return cached[0]
            raise down[1]  # recently unreachable: do not make every login wait for the timeout
        try:
            result = self.query(cert, issuer, url, now)
        except LicenceError as exc:
            log.warning("OCSP check failed: %s", exc.description)
            if exc.reason == "ocsp_unavailable":
                with self._lock:
                    self._down[url] = (now, exc)
                    while len(self._down) > 1000:
                        self._down.pop(next(iter(self._down)))
            if cached is not None and exc.reason == "ocsp_unavailable":
                return cached[0]  # still before its nextUpdate: authoritative (RFC 5019 section 4)
            raise
        with self._lock:
            self._down.pop(url, None)
            if result.status == "good" and result.next_update is not None and now < result.next_update:
                self._good[key] = (result, now)
                self._good.move_to_end(key)
                while len(self._good) > self.cache_size:
                    self._good.popitem(last=False)
            else:
                self._good.pop(key, None)
        return result

    def check(self, cert: x509.Certificate, issuer: CertInfo, source: str, now: float) -> OcspResult:
        """Raise LicenceError unless a responder says ``cert`` (issued by ``issuer``) is good."""
        failure = None
        for url in responder_urls(cert, source):
            try:
                result = self._ask(cert, issuer, url, now)
            except LicenceError as exc:
                if exc.reason != "ocsp_unavailable":
                    raise
                failure = failure or exc  # try the next responder the certificate names
                continue
            if result.status == "revoked":
                raise LicenceError("revoked", f"certificate serial {cert.serial_number:x} is revoked "
                                              f"(OCSP {url}: {result.reason})")
            if result.status == "unknown":
                raise LicenceError("ocsp_unknown", f"OCSP responder {url} does not know "
                                                   f"certificate serial {cert.serial_number:x}")
            return result
        raise failure
