"""Certification path building and validation for licences (RFC 5280 section 6.1).

The path is the ``x5c`` chain as sent -- each certificate certified by the next one (RFC 7515
section 4.1.6) -- continued through configured intermediates to a configured trust anchor.
Candidates are matched by name (section 6.1.3 (a)(4)) and, when both sides carry them, by
authority/subject key identifier (sections 4.2.1.1-2), and accepted only when the signature
verifies.  The search is depth-limited and never revisits a certificate, so loops end.
Then every certificate is checked: validity dates (section 6.1.3 (a)(2)), basic constraints
and path length (section 6.1.4 (k)-(m)), key usage (section 6.1.4 (n); the licence needs
digitalSignature), and no unprocessed critical extension (section 6.1.4 (o)).  Revocation is
left to the caller (``crl.CrlProvider``, and ``ocsp.OcspChecker`` for CAs with an OCSP source),
which gets the CRL sources of each certificate here.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Sequence

from cryptography import x509
from cryptography.hazmat.primitives import hashes

from . import keys
from .errors import LicenceError
from .profile import HOLDER_INFO_OID

MAX_PATH = 6  # certificates, licence and anchor included
_MAX_SIGNATURE_CHECKS = 24  # bounds the search when many configured CAs share a name
# critical extensions this module (or profile.py) processes; any other critical one rejects
_PROCESSED = {x509.OID_BASIC_CONSTRAINTS, x509.OID_KEY_USAGE, x509.OID_SUBJECT_ALTERNATIVE_NAME,
              HOLDER_INFO_OID}


@dataclass(frozen=True)
class CertInfo:
    cert: x509.Certificate
    key: keys.PublicKey
    fingerprint: bytes
    ski: bytes | None
    aki: bytes | None
    crl_source: str | None = None  # where this CA's own CRL is published (configured CAs)
    ocsp_source: str | None = None  # its OCSP responder URL, or "aia" (configured CAs)


def cert_info(cert: x509.Certificate, crl_source: str | None = None,
              ocsp_source: str | None = None) -> CertInfo:
    """Parse what path building needs; ValueError when malformed, keys.UnsupportedKey for keys."""
    # cryptography parses fields lazily: touch every one used later so that a malformed
    # certificate fails here, once, and not in the middle of path building
    exts = cert.extensions  # raises ValueError on duplicate or malformed extensions
    fields = (cert.subject.rfc4514_string(), cert.issuer.rfc4514_string(), hash(cert.subject),
              hash(cert.issuer), cert.not_valid_before_utc, cert.not_valid_after_utc, cert.version,
              cert.signature_algorithm_oid, cert.tbs_certificate_bytes, [e.value for e in exts])
    del fields
    if cert.serial_number <= 0:  # RFC 5280 section 4.1.2.2: a positive integer
        raise ValueError("non-positive serial number")
    try:
        ski = exts.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest
    except x509.ExtensionNotFound:
        ski = None
    try:
        aki = exts.get_extension_for_class(x509.AuthorityKeyIdentifier).value.key_identifier
    except x509.ExtensionNotFound:
        aki = None
    return CertInfo(cert, keys.public_key_of(cert), cert.fingerprint(hashes.SHA256()), ski, aki,
                    crl_source, ocsp_source)


class TrustStore:
    """Configured licence authorities: trust anchors and helper intermediates, each with its
    CRL source and optional OCSP source."""

    def __init__(self, anchors: Iterable, intermediates: Iterable = ()):
        self.anchors = [self._entry(a) for a in anchors]
        self.intermediates = [self._entry(i) for i in intermediates]
        self._by_fingerprint = {i.fingerprint: (i, False) for i in self.intermediates}
        self._by_fingerprint.update({a.fingerprint: (a, True) for a in self.anchors})
        self._by_subject: dict[x509.Name, list[tuple[CertInfo, bool]]] = {}
        for info in self.anchors:
            self._by_subject.setdefault(info.cert.subject, []).append((info, True))
        for info in self.intermediates:
            self._by_subject.setdefault(info.cert.subject, []).append((info, False))

    @staticmethod
    def _entry(item) -> CertInfo:
        if isinstance(item, CertInfo):
            return item
        if isinstance(item, x509.Certificate):
            return cert_info(item)
        cert, crl_source, ocsp_source = (tuple(item) + (None,))[:3]  # (cert, crl[, ocsp])
        return cert_info(cert, crl_source, ocsp_source)

    def candidates(self, issuer: x509.Name) -> list[tuple[CertInfo, bool]]:
        return self._by_subject.get(issuer, [])

    def known(self, fingerprint: bytes) -> tuple[CertInfo, bool] | None:
        """The configured entry (and whether it is an anchor) for a certificate, if any."""
        return self._by_fingerprint.get(fingerprint)


def _issued_by(child: CertInfo, parent: CertInfo) -> bool:
    if child.cert.issuer != parent.cert.subject:
        return False
    if child.aki is not None and parent.ski is not None and child.aki != parent.ski:
        return False
    if not keys.signature_algorithm_accepted(child.cert):
        raise LicenceError("unsupported_signature_algorithm",
                           f"signature algorithm {child.cert.signature_algorithm_oid.dotted_string}")
    return keys.verify_signed(child.cert, child.cert.tbs_certificate_bytes, parent.key)


def parse_x5c(certs_der: Sequence[bytes]) -> list[CertInfo]:
    infos = []
    for raw in certs_der:
        try:
            cert = x509.load_der_x509_certificate(raw)
        except Exception:
            raise LicenceError("x5c_malformed", "an x5c entry is not a DER X.509 certificate") from None
        try:
            infos.append(cert_info(cert))
        except keys.UnsupportedKey as exc:
            raise LicenceError("unsupported_key", f"x5c certificate: {exc}") from None
        except Exception:  # malformed names, dates, extensions
            raise LicenceError("x5c_malformed", "an x5c certificate cannot be processed") from None
    return infos


def _extend(path: list[CertInfo], store: TrustStore, budget: list[int]) -> list[CertInfo]:
    """Depth-first search from path[-1] to an anchor; LicenceError with the best reason if none."""
    top = path[-1]
    seen = {c.fingerprint for c in path}
    candidates = [(c, a) for c, a in store.candidates(top.cert.issuer) if c.fingerprint not in seen]
    if not candidates:
        raise LicenceError("unknown_anchor", "no configured licence authority issued "
                                             f"{top.cert.issuer.rfc4514_string()[:200]}")
    failure = LicenceError("broken_chain", "no configured CA with that name signed the certificate")
    for candidate, is_anchor in sorted(candidates, key=lambda ca: not ca[1]):  # anchors first
        if budget[0] <= 0:
            break
        budget[0] -= 1
        if not _issued_by(top, candidate):
            continue
        if is_anchor:
            return path + [candidate]
        if len(path) + 1 >= MAX_PATH:
            failure = LicenceError("chain_too_long", f"no anchor within {MAX_PATH} certificates")
            continue
        try:
            return _extend(path + [candidate], store, budget)
        except LicenceError as exc:
            failure = exc
    raise failure


def build_path(x5c: list[CertInfo], store: TrustStore) -> list[CertInfo]:
    """The path leaf..anchor: x5c in its given order, then configured CAs."""
    path = [x5c[0]]
    for nxt in x5c[1:]:
        if any(c.fingerprint == nxt.fingerprint for c in path):
            raise LicenceError("broken_chain", "x5c repeats a certificate (a loop)")
        known, is_anchor = store.known(nxt.fingerprint) or (nxt, False)
        if not _issued_by(path[-1], known):
            raise LicenceError("broken_chain", f"x5c[{len(path)}] did not sign x5c[{len(path) - 1}]")
        path.append(known)  # the configured copy carries the CA's CRL source
        if is_anchor:  # reached a trust anchor: certificates after it are not needed
            return path
    return _extend(path, store, [_MAX_SIGNATURE_CHECKS])


def _key_usage(cert: x509.Certificate):
    try:
        return cert.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        return None


def _basic_constraints(cert: x509.Certificate):
    try:
        return cert.extensions.get_extension_for_class(x509.BasicConstraints).value
    except x509.ExtensionNotFound:
        return None


def check_path(path: Sequence[CertInfo], now: float) -> tuple[float, float]:
    """Check every certificate of a built path; return (latest notBefore, earliest notAfter)."""
    not_before, not_after = max(c.cert.not_valid_before_utc.timestamp() for c in path), \
        min(c.cert.not_valid_after_utc.timestamp() for c in path)
    for c in path:
        name = c.cert.subject.rfc4514_string()[:200]
        if now < c.cert.not_valid_before_utc.timestamp():
            raise LicenceError("cert_not_yet_valid", f"{name} is not valid yet")
        if now > c.cert.not_valid_after_utc.timestamp():  # notAfter is inclusive (section 4.1.2.5)
            raise LicenceError("cert_expired", f"{name} has expired")
    for depth, c in enumerate(path):
        bc, ku = _basic_constraints(c.cert), _key_usage(c.cert)
        if depth == 0:
            if bc is not None and bc.ca:
                raise LicenceError("leaf_is_ca")
            if ku is None or not ku.digital_signature:
                raise LicenceError("key_usage", "the licence key usage lacks digitalSignature")
        else:
            if bc is None or not bc.ca:
                raise LicenceError("not_ca", f"{c.cert.subject.rfc4514_string()[:200]} is not a CA")
            # section 6.1.4 (l)-(m): intermediates below this CA, the licence not counted
            if bc.path_length is not None and depth - 1 > bc.path_length:
                raise LicenceError("path_length_exceeded")
            if ku is not None and not (ku.key_cert_sign and ku.crl_sign):
                raise LicenceError("key_usage", "a CA key usage lacks keyCertSign or cRLSign")
        for ext in c.cert.extensions:
            if ext.critical and ext.oid not in _PROCESSED:
                raise LicenceError("unknown_critical_extension",
                                   f"critical extension {ext.oid.dotted_string}")
    return not_before, not_after


def crl_sources(child: CertInfo, issuer: CertInfo) -> tuple[str, ...]:
    """Where the issuer's CRL covering ``child`` is: configured source first, then the CDP URLs."""
    sources = [issuer.crl_source] if issuer.crl_source else []
    try:
        cdp = child.cert.extensions.get_extension_for_class(x509.CRLDistributionPoints).value
    except x509.ExtensionNotFound:
        cdp = []
    for point in cdp:
        if point.crl_issuer or point.reasons:  # indirect or partitioned: not supported
            continue
        for name in point.full_name or ():
            if isinstance(name, x509.UniformResourceIdentifier) and \
                    name.value.startswith(("http://", "https://")):
                sources.append(name.value)
    return tuple(dict.fromkeys(sources))
